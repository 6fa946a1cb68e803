package realnode

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/localaks/localaks/internal/ociimage"
)

// Images every real node holds from its start, built here: no registry is
// reachable from this offline host.

// pauseProgram is the sandbox's process: a static x86-64 Linux executable
// of one loop, pause(2) forever. The pod's namespaces live as long as it
// does; containerd ends a sandbox with SIGKILL. (Kubernetes' own pause is a
// small C program that also reaps zombies for pods that share one PID
// namespace; this one leaves them to be reaped when the pod ends.)
func pauseProgram() []byte {
	const base = 0x400000
	code := []byte{
		0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp back to mov
	}
	const ehsize, phsize = 64, 56
	var b bytes.Buffer
	le := binary.LittleEndian
	w := func(v any) { binary.Write(&b, le, v) } //nolint:errcheck // a bytes.Buffer does not fail
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))                      // ET_EXEC
	w(uint16(0x3e))                   // EM_X86_64
	w(uint32(1))                      // EV_CURRENT
	w(uint64(base + ehsize + phsize)) // entry
	w(uint64(ehsize))                 // program headers
	w(uint64(0))                      // no section headers
	w(uint32(0))                      // flags
	w(uint16(ehsize))
	w(uint16(phsize))
	w(uint16(1)) // one program header
	w(uint16(0))
	w(uint16(0))
	w(uint16(0))
	size := uint64(ehsize + phsize + len(code))
	w(uint32(1)) // PT_LOAD
	w(uint32(5)) // R+X
	w(uint64(0))
	w(uint64(base))
	w(uint64(base))
	w(size)
	w(size)
	w(uint64(0x1000))
	b.Write(code)
	return b.Bytes()
}

// ensureImages builds the images every node imports (once per data
// directory) and returns their archives.
func (m *Manager) ensureImages() ([]string, error) {
	dir := filepath.Join(filepath.Dir(filepath.Dir(string(m.layout))), "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pause := filepath.Join(dir, "pause.tar")
	if _, err := os.Stat(pause); os.IsNotExist(err) {
		if runtime.GOARCH != "amd64" {
			return nil, fmt.Errorf("the pause image is built for x86-64 only")
		}
		if err := ociimage.WriteExecutable(pause, PauseImage, "/pause", pauseProgram()); err != nil {
			return nil, fmt.Errorf("build the pause image: %w", err)
		}
	}
	return []string{pause}, nil
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
