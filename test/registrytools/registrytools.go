// Package registrytools builds the registry clients and peers the tests
// and benchmarks run — the OCI distribution-spec conformance suite, crane,
// oras, and the distribution registry run standalone — from the Go module
// proxy, pinned by the nested module tools/registry (kept out of
// localaks's go.mod), once per machine.
package registrytools

import (
	"context"
	"os"
	"path/filepath"
	"runtime"

	"github.com/localaks/localaks/internal/gobuild"
)

// A Tool is one program of tools/registry.
type Tool struct{ Package, Output string }

// The tools.
var (
	Conformance = Tool{"github.com/opencontainers/distribution-spec/conformance", "conformance"}
	Crane       = Tool{"github.com/google/go-containerregistry/cmd/crane", "crane"}
	Oras        = Tool{"oras.land/oras/cmd/oras", "oras"}
	Registry    = Tool{"github.com/distribution/distribution/v3/cmd/registry", "registry"}
)

// All are every tool, in the order CI builds them.
var All = []Tool{Conformance, Crane, Oras, Registry}

// Ensure returns the path of t's binary, building it on first use.
func Ensure(ctx context.Context, t Tool) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "registry")
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", err
	}
	cache, err := gobuild.CacheDir("registry-tools")
	if err != nil {
		return "", err
	}
	out, err := gobuild.Ensure(ctx, cache, gobuild.Program{Mod: mod, Sum: sum, Package: t.Package, Output: t.Output, LDFlags: "-s -w"})
	if err != nil {
		return "", err
	}
	return filepath.Join(out, t.Output), nil
}
