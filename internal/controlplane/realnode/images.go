package realnode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/ingressnginx"
	"github.com/localaks/localaks/internal/nodeapps"
	"github.com/localaks/localaks/internal/nodehost"
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
	// The system images s's workloads can name; the managed NGINX's is
	// built apart.
	all, err := workloads.ImageRefs(s)
	if err != nil {
		return nil, err
	}
	var refs []string
	ingressRef := ""
	for _, r := range all {
		if isIngressNginx(r) {
			ingressRef = r
		} else {
			refs = append(refs, r)
		}
	}
	system, err := ensureSystemImages(dir, m.self, refs)
	if err != nil {
		return nil, fmt.Errorf("build the system images: %w", err)
	}
	out := []string{pause, system}
	if s.AppRouting {
		m.ingressMu.Lock()
		b := m.ingress
		m.ingressMu.Unlock()
		archive, err := ensureIngressImage(dir, m.self, ingressRef, b)
		if err != nil {
			return nil, fmt.Errorf("build the managed NGINX's image: %w", err)
		}
		out = append(out, archive)
	}
	return out, nil
}

// isIngressNginx tells whether ref is the managed NGINX's image, which is
// built apart (ensureIngressImage).
func isIngressNginx(ref string) bool {
	im, ok := nodeapps.Lookup(ref)
	return ok && im.Entrypoint == ingressnginx.Entrypoint
}

// ensureIngressBundle builds the ingress-nginx controller for s when its
// application routing add-on runs on real nodes (package ingressnginx;
// minutes the first time on a machine), before Sync takes the manager's
// lock. A failure is kept: the image is then a standby that says why.
func (m *Manager) ensureIngressBundle(ctx context.Context, s *clusterspec.Spec) {
	if !s.AppRouting || len(s.RealNodes()) == 0 {
		return
	}
	m.ingressMu.Lock()
	defer m.ingressMu.Unlock()
	if m.ingress.bundle.Dir != "" || m.ingress.err != nil {
		return
	}
	cache, err := ingressnginx.CacheDir()
	if err == nil {
		m.log.Info("building the managed NGINX (ingress-nginx " + ingressnginx.Release + ") from its Go module; minutes the first time on this machine")
		start := time.Now()
		var b ingressnginx.Bundle
		if b, err = ingressnginx.Ensure(ctx, cache); err == nil {
			m.ingress.bundle, m.ingress.err = b, nil
			m.log.Info("managed NGINX built", "dir", b.Dir, "took", time.Since(start).Round(time.Millisecond))
			return
		}
	}
	if ctx.Err() == nil {
		m.log.Warn("the managed NGINX cannot be built; its pods stand by", "err", err)
		m.ingress.err = err
	}
}

// ingressBuild is the outcome of ensureIngressBundle.
type ingressBuild struct {
	bundle ingressnginx.Bundle
	err    error
}

// ensureIngressImage builds (or finds) the archive of the managed NGINX's
// image for s: the controller and Debian's nginx (ingressnginx.Files), or,
// when b has none, a standby that says why. The archive's name says what
// it was made of (the bundle, this binary, which holds the Lua modules and
// the template's patches, and the host's nginx), so an unchanged one is
// found without reading its files again.
func ensureIngressImage(dir, exe, ref string, b ingressBuild) (string, error) {
	if ref == "" {
		return "", errors.New("no workload names the managed NGINX's image")
	}
	why := "it was not built"
	if b.err != nil {
		why = b.err.Error()
	}
	made := []string{ref, b.bundle.Dir, why}
	for _, f := range []string{exe, "/usr/sbin/nginx"} {
		if st, err := os.Stat(f); err == nil {
			made = append(made, fmt.Sprintf("%s %d %d", f, st.Size(), st.ModTime().UnixNano()))
		}
	}
	key := sha256.Sum256([]byte(strings.Join(made, "\n")))
	archive := filepath.Join(dir, "ingress-nginx-"+hex.EncodeToString(key[:6])+".tar")
	if _, err := os.Stat(archive); err == nil {
		return archive, nil
	}
	var files []ociimage.File
	if b.bundle.Dir != "" {
		var err error
		if files, err = ingressnginx.Files(b.bundle); err != nil {
			why, files = err.Error(), nil
		}
	}
	if files == nil {
		msg := fmt.Sprintf("nginx-ingress-controller: not run on localaks: %s. This container holds the pod's place until it is stopped.\n", why)
		files = []ociimage.File{{Path: ingressnginx.Entrypoint, Body: nodeapps.StandbyProgram(msg), Mode: 0o755}}
	}
	layer, err := ociimage.NewLayer(files)
	if err != nil {
		return "", err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "ingress-nginx-*.tar"))
	for _, o := range old {
		os.Remove(o) //nolint:errcheck // an older build's; a node may still hold it open
	}
	return archive, ociimage.Write(archive, []ociimage.Image{{Ref: ref, Entrypoint: []string{ingressnginx.Entrypoint}, Layer: layer}})
}

// importIngressImage imports archive into the running nodes that have not
// got it (a cluster that turns application routing on while its nodes
// run).
func (m *Manager) importIngressImage(ctx context.Context, tools nodehost.Tools, archive string) error {
	var errs []error
	ctr := filepath.Join(filepath.Dir(tools.Containerd), "ctr")
	for name, p := range m.nodes {
		if p.ingressImage == archive || p.pid() == 0 {
			continue
		}
		if err := nodehost.ImportImage(ctx, ctr, nodehost.ContainerdSocket(p.pid()), archive); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", name, err))
			continue
		}
		p.ingressImage = archive
	}
	return errors.Join(errs...)
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
// refs (what the workloads can name, the managed NGINX's apart): links to this binary (which each container
// binds in, hook.go) and standbys (package nodeapps). Its name says which binary and which images it
// holds; archives of another binary are removed.
func ensureSystemImages(dir, exe string, refs []string) (string, error) {
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
