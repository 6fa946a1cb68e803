// Package gobuild builds a program of another Go module — one that cannot
// be linked into localaks (a main package over internal ones, or another
// Kubernetes minor) — with this machine's go command and the module proxy,
// once per machine: from a go.mod and go.sum given as bytes, into a cache
// directory keyed by them and the Go version, other processes that build
// the same waiting on a lock file.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/localaks/localaks/internal/fsutil"
)

// Program is what to build.
type Program struct {
	// Mod and Sum are the build module's go.mod and go.sum.
	Mod, Sum []byte
	// Package is the main package's import path; Output the binary's name.
	Package, Output string
	// LDFlags are passed to the linker.
	LDFlags string
	// Main, when set, is the source of a main package written into the
	// build module (Package is then "."): a small program over the
	// module's dependencies.
	Main []byte
	// TestOf, when set, makes the build a test binary (go test -c) of
	// Package, a package of the module TestOf, built inside that module's
	// own directory (the module cache's, read-only) so that its go.sum,
	// which lists its tests' dependencies, applies.
	TestOf string
	// Then, when set, runs after the build with the module directory of
	// Module (the module cache's, read-only) and the bundle's directory,
	// to copy what else of the module the bundle needs.
	Module string
	Then   func(moduleDir, bundleDir string) error
}

// CacheDir is dir under the user's cache directory for localaks (or under
// LOCALAKS_CACHE_DIR).
func CacheDir(dir string) (string, error) {
	if d := os.Getenv("LOCALAKS_CACHE_DIR"); d != "" {
		return filepath.Join(d, dir), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "localaks", dir), nil
}

// Ensure returns the directory holding p's build (the binary p.Output and
// what Then copied), building it when cacheDir has none.
func Ensure(ctx context.Context, cacheDir string, p Program) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%s is built from its Go module on first use, and this machine has no go command: %w", p.Package, err)
	}
	ver, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	sum := sha256.New()
	for _, b := range [][]byte{p.Mod, p.Sum, []byte(p.Package), []byte(p.LDFlags), p.Main, []byte(p.TestOf), bytes.TrimSpace(ver)} {
		sum.Write(b)
		sum.Write([]byte{0})
	}
	dir := filepath.Join(cacheDir, hex.EncodeToString(sum.Sum(nil)[:8]))
	if done(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
	if done(dir) {
		return dir, nil
	}
	if err := build(ctx, gobin, dir, p); err != nil {
		os.RemoveAll(dir) //nolint:errcheck // a partial build
		return "", fmt.Errorf("build %s: %w", p.Package, err)
	}
	return dir, nil
}

// done tells whether dir was completely built (its stamp is written last).
func done(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "complete"))
	return err == nil
}

func build(ctx context.Context, gobin, dir string, p Program) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	src := filepath.Join(dir, "module")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	if err := errors.Join(os.WriteFile(filepath.Join(src, "go.mod"), p.Mod, 0o644),
		os.WriteFile(filepath.Join(src, "go.sum"), p.Sum, 0o644)); err != nil {
		return err
	}
	if p.Main != nil {
		if err := os.WriteFile(filepath.Join(src, "main.go"), p.Main, 0o644); err != nil {
			return err
		}
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	moduleDir := func(module string) (string, error) {
		list := exec.CommandContext(ctx, gobin, "mod", "download", "-json", module)
		list.Dir, list.Env = src, env
		out, err := list.Output()
		if err != nil {
			return "", fmt.Errorf("go mod download %s: %w", module, err)
		}
		var m struct{ Dir string }
		if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
			return "", fmt.Errorf("go mod download %s: no module directory (%v)", module, err)
		}
		return m.Dir, nil
	}
	args := []string{"build", "-trimpath", "-o", filepath.Join(dir, p.Output)}
	if p.TestOf != "" {
		args[0] = "test"
		args = append(args, "-c")
	}
	if p.LDFlags != "" {
		args = append(args, "-ldflags", p.LDFlags)
	}
	cmd := exec.CommandContext(ctx, gobin, append(args, p.Package)...)
	cmd.Dir, cmd.Env = src, env
	if p.TestOf != "" {
		d, err := moduleDir(p.TestOf)
		if err != nil {
			return err
		}
		cmd.Dir = d
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	if p.Then != nil {
		mdir, err := moduleDir(p.Module)
		if err != nil {
			return err
		}
		if err := p.Then(mdir, dir); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, "complete"), nil, 0o644)
}
