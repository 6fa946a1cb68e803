// Package ingressnginx builds the image of the application routing
// add-on's managed NGINX: the upstream ingress-nginx controller, compiled
// from its Go module (k8s.io/ingress-nginx's cmd/nginx, whose internal
// packages only that module can build), with Debian's nginx and its Lua
// module for the nginx process it drives.
//
// The controller cannot be linked into localaks's binary (it is a main
// package over internal ones, at another Kubernetes minor), so it is
// built once per machine, on first use, with the go command and the module
// proxy, from build.mod and build.sum, and cached under the user's cache
// directory. Its nginx configuration files (Lua, the template) come from
// the same module; the template is adapted to Debian's nginx 1.22 (see
// template.go). Debian packages neither lua-resty-balancer, lua-resty-lock
// nor stream Lua; lua/ holds plain-Lua modules with their APIs, and the
// controller's TCP/UDP services (stream Lua) are not served.
package ingressnginx

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/localaks/localaks/internal/fsutil"
)

// Module is the ingress-nginx module built; Release names its release
// (the commit follows the v1.11.0 tag).
const (
	Module  = "k8s.io/ingress-nginx"
	Release = "v1.11.0"
	commit  = "52c50467d67d"
	mainPkg = Module + "/cmd/nginx"
)

// build.mod and build.sum are the build module's go.mod and go.sum: it
// requires Module and nothing else.
var (
	//go:embed build.mod
	buildMod []byte
	//go:embed build.sum
	buildSum []byte
)

// Bundle is a built controller: Dir holds nginx-ingress-controller and
// etc/nginx (the module's nginx configuration files).
type Bundle struct {
	Dir string
}

// Controller is the controller's binary.
func (b Bundle) Controller() string { return filepath.Join(b.Dir, "nginx-ingress-controller") }

// NginxConf is the module's /etc/nginx.
func (b Bundle) NginxConf() string { return filepath.Join(b.Dir, "etc", "nginx") }

// CacheDir is where bundles are kept: the user's cache directory (or
// LOCALAKS_CACHE_DIR).
func CacheDir() (string, error) {
	if d := os.Getenv("LOCALAKS_CACHE_DIR"); d != "" {
		return filepath.Join(d, "ingress-nginx"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "localaks", "ingress-nginx"), nil
}

// Ensure returns the bundle built from build.mod with this machine's go
// command, building it (minutes the first time, the module's packages
// then being in Go's build cache) when cacheDir has none. Builders in
// other processes wait for each other on a lock file.
func Ensure(ctx context.Context, cacheDir string) (Bundle, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return Bundle{}, fmt.Errorf("ingress-nginx is built from its Go module on first use, and this machine has no go command: %w", err)
	}
	ver, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return Bundle{}, fmt.Errorf("go env GOVERSION: %w", err)
	}
	sum := sha256.New()
	for _, b := range [][]byte{buildMod, buildSum, bytes.TrimSpace(ver)} {
		sum.Write(b)
		sum.Write([]byte{0})
	}
	b := Bundle{Dir: filepath.Join(cacheDir, hex.EncodeToString(sum.Sum(nil)[:8]))}
	if done(b) {
		return b, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return Bundle{}, err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return Bundle{}, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return Bundle{}, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
	if done(b) {
		return b, nil
	}
	if err := build(ctx, gobin, b); err != nil {
		os.RemoveAll(b.Dir) //nolint:errcheck // a partial bundle
		return Bundle{}, fmt.Errorf("build %s: %w", mainPkg, err)
	}
	return b, nil
}

// done tells whether b was completely built (its stamp is written last).
func done(b Bundle) bool {
	_, err := os.Stat(filepath.Join(b.Dir, "complete"))
	return err == nil
}

func build(ctx context.Context, gobin string, b Bundle) error {
	if err := os.RemoveAll(b.Dir); err != nil {
		return err
	}
	src := filepath.Join(b.Dir, "module")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	if err := errors.Join(os.WriteFile(filepath.Join(src, "go.mod"), buildMod, 0o644),
		os.WriteFile(filepath.Join(src, "go.sum"), buildSum, 0o644)); err != nil {
		return err
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	pkg := "k8s.io/ingress-nginx/version"
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-o", b.Controller(),
		"-ldflags", fmt.Sprintf("-s -w -X %s.RELEASE=%s -X %s.COMMIT=%s -X %s.REPO=https://github.com/kubernetes/ingress-nginx", pkg, Release, pkg, commit, pkg),
		mainPkg)
	cmd.Dir, cmd.Env = src, env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	list := exec.CommandContext(ctx, gobin, "list", "-m", "-json", Module)
	list.Dir, list.Env = src, env
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("go list -m %s: %w", Module, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return fmt.Errorf("go list -m %s: no module directory (%v)", Module, err)
	}
	if err := copyTree(filepath.Join(m.Dir, "rootfs", "etc", "nginx"), b.NginxConf()); err != nil {
		return err
	}
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(b.Dir, "complete"), nil, 0o644)
}

// copyTree copies the regular files under from (a read-only module
// directory) to to, leaving out tests.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			if d.Name() == "test" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, "_test.lua") {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), raw, 0o644)
	})
}
