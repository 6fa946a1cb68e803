package realnode

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/nodeapps"
	"github.com/localaks/localaks/internal/ociimage"
	"github.com/localaks/localaks/internal/workloads"
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

// ensureImages builds the images every node of s imports (once per data
// directory, binary and image set) and returns their archives: the pause
// image and the system images s's workloads name.
func (m *Manager) ensureImages(s *clusterspec.Spec) ([]string, error) {
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
	system, err := ensureSystemImages(dir, m.self, s)
	if err != nil {
		return nil, fmt.Errorf("build the system images: %w", err)
	}
	return []string{pause, system}, nil
}

// ensureSystemImages builds (or finds) the archive of the system images
// s's workloads name, all of one layer: this binary and links to it
// (package nodeapps). Its name says which binary and which images it
// holds; archives of another binary are removed.
func ensureSystemImages(dir, exe string, s *clusterspec.Spec) (string, error) {
	refs, err := workloads.ImageRefs(s)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(exe)
	if err != nil {
		return "", err
	}
	bin := sha256.Sum256([]byte(fmt.Sprintf("%s %d %d", exe, st.Size(), st.ModTime().UnixNano())))
	set := sha256.Sum256([]byte(strings.Join(refs, "\n")))
	binKey := hex.EncodeToString(bin[:6])
	archive := filepath.Join(dir, fmt.Sprintf("system-%s-%s.tar", binKey, hex.EncodeToString(set[:6])))
	if _, err := os.Stat(archive); err == nil {
		return archive, nil
	}
	old, _ := filepath.Glob(filepath.Join(dir, "system-*.tar"))
	for _, o := range old {
		if !strings.HasPrefix(filepath.Base(o), "system-"+binKey+"-") {
			os.Remove(o) //nolint:errcheck // an older binary's; a node may still hold it open
		}
	}
	files, err := nodeapps.Layer(exe)
	if err != nil {
		return "", err
	}
	images, err := nodeapps.ImagesFor(refs)
	if err != nil {
		return "", err
	}
	if err := ociimage.Write(archive, files, images); err != nil {
		return "", err
	}
	return archive, nil
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
