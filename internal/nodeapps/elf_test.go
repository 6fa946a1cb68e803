package nodeapps

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func runnable(t *testing.T, body []byte) string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC || len(f.Progs) != 1 || f.Entry != elfBase+elfHeaders {
		t.Fatalf("machine %v type %v progs %d entry %#x", f.Machine, f.Type, len(f.Progs), f.Entry)
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the program runs on x86-64 only")
	}
	path := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(path, body, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The pause program stays alive until it is killed.
func TestPauseProgram(t *testing.T) {
	cmd := exec.Command(runnable(t, PauseProgram()))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("wait: %v", err)
	}
	if ws := exit.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("pause ended by itself: %v", ws)
	}
}

// A standby says why it stands by, then waits for SIGTERM (or SIGINT)
// and exits 0.
func TestStandbyProgram(t *testing.T) {
	const msg = "kube-proxy: not run on localaks: each node runs its own.\n"
	path := runnable(t, StandbyProgram(msg))
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(path)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(stderr, got); err != nil || string(got) != msg {
			t.Fatalf("stderr %q, %v", got, err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after %v: %v", sig, err)
		}
	}
}

// The init runs its program, passes SIGTERM on to it, and exits as it
// did.
func TestInitProgram(t *testing.T) {
	init := runnable(t, InitProgram())
	exitCode := func(cmd *exec.Cmd) int {
		err := cmd.Wait()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	}
	for script, want := range map[string]int{"exit 3": 3, "exit 0": 0, "kill -9 $$": 137} {
		cmd := exec.Command(init, "/bin/sh", "-c", script)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if got := exitCode(cmd); got != want {
			t.Errorf("%q: exit %d, want %d", script, got, want)
		}
	}
	cmd := exec.Command(init, "/bin/sh", "-c", `trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := exitCode(cmd); got != 7 {
		t.Errorf("after SIGTERM: exit %d, want the child's 7", got)
	}
	missing := exec.Command(init, "/nonexistent")
	if err := missing.Start(); err != nil {
		t.Fatal(err)
	}
	if got := exitCode(missing); got != 127 {
		t.Errorf("no such program: exit %d, want 127", got)
	}
}
