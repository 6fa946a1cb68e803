package realnode

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
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

// singleFileLayer is a layer holding one executable.
func singleFileLayer(path string, body []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// writeImage writes an image archive (docker-archive, as `docker save`
// writes and `ctr images import` reads) of a one-file image.
func writeImage(path, ref, file string, body []byte, entrypoint []string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	layer, err := singleFileLayer(file, body)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = entrypoint
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return err
	}
	return os.Rename(tmp, path)
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
		if err := writeImage(pause, PauseImage, "pause", pauseProgram(), []string{"/pause"}); err != nil {
			return nil, fmt.Errorf("build the pause image: %w", err)
		}
	}
	return []string{pause}, nil
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
