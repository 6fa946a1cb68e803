package realnode

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
		if err := ociimage.WriteExecutable(pause, PauseImage, "/pause", nodeapps.PauseProgram()); err != nil {
			return nil, fmt.Errorf("build the pause image: %w", err)
		}
	}
	system, err := ensureSystemImages(dir, m.self, s)
	if err != nil {
		return nil, fmt.Errorf("build the system images: %w", err)
	}
	return []string{pause, system}, nil
}

// ensureInit writes the nodes' init (nodeapps.InitProgram) beside the
// images, once, and returns its path.
func (m *Manager) ensureInit() (string, error) {
	path := filepath.Join(filepath.Dir(filepath.Dir(string(m.layout))), "images", "node-init")
	body := nodeapps.InitProgram()
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, body) {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "node-init.*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return "", err
	}
	if err := errors.Join(tmp.Chmod(0o755), tmp.Close()); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// ensureSystemImages builds (or finds) the archive of the system images
// s's workloads can name: links to this binary (which each container
// binds in, hook.go) and standbys (package nodeapps). Its name says which binary and which images it
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
	files, err := nodeapps.BinaryLayer(exe)
	if err != nil {
		return "", err
	}
	binary, err := ociimage.NewLayer(files)
	if err != nil {
		return "", err
	}
	images, err := nodeapps.ImagesFor(refs, binary)
	if err != nil {
		return "", err
	}
	if err := ociimage.Write(archive, images); err != nil {
		return "", err
	}
	return archive, nil
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
