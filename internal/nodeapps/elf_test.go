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
