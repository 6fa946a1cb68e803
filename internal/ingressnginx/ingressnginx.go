// Package ingressnginx builds the image of the application routing
// add-on's managed NGINX: the upstream ingress-nginx controller, compiled
// from its Go module (k8s.io/ingress-nginx's cmd/nginx, whose internal
// packages only that module can build), with Debian's nginx and its Lua
// module for the nginx process it drives.
//
// The controller cannot be linked into localaks's binary (it is a main
// package over internal ones, at another Kubernetes minor), so it is
// built once per machine, on first use, with the go command and the module
// proxy, from build.mod and build.sum (package gobuild), and cached under
// the user's cache directory. Its nginx configuration files (Lua, the template) come from
// the same module; the template is adapted to Debian's nginx 1.22 (see
// template.go). Debian packages neither lua-resty-balancer, lua-resty-lock
// nor stream Lua; lua/ holds plain-Lua modules with their APIs, and the
// controller's TCP/UDP services (stream Lua) are not served.
package ingressnginx

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/localaks/localaks/internal/gobuild"
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
func CacheDir() (string, error) { return gobuild.CacheDir("ingress-nginx") }

// Ensure returns the bundle built from build.mod with this machine's go
// command (package gobuild), building it (minutes the first time, the
// module's packages then being in Go's build cache) when cacheDir has none.
func Ensure(ctx context.Context, cacheDir string) (Bundle, error) {
	pkg := Module + "/version"
	dir, err := gobuild.Ensure(ctx, cacheDir, gobuild.Program{
		Mod: buildMod, Sum: buildSum, Package: mainPkg, Output: "nginx-ingress-controller",
		LDFlags: fmt.Sprintf("-s -w -X %s.RELEASE=%s -X %s.COMMIT=%s -X %s.REPO=https://github.com/kubernetes/ingress-nginx", pkg, Release, pkg, commit, pkg),
		Module:  Module,
		Then: func(moduleDir, bundleDir string) error {
			return copyTree(filepath.Join(moduleDir, "rootfs", "etc", "nginx"), filepath.Join(bundleDir, "etc", "nginx"))
		},
	})
	return Bundle{Dir: dir}, err
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
