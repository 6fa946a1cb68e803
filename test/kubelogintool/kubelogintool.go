// Package kubelogintool builds kubelogin — the Entra ID credential plugin
// for kubectl that AKS's user kubeconfigs run — from the Go module proxy,
// pinned by the nested module tools/kubelogin (kept out of localaks's
// go.mod), once per machine.
package kubelogintool

import (
	"context"
	"os"
	"path/filepath"
	"runtime"

	"github.com/localaks/localaks/internal/gobuild"
)

// Ensure returns the path of the kubelogin binary, building it on first
// use.
func Ensure(ctx context.Context) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "kubelogin")
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", err
	}
	cache, err := gobuild.CacheDir("kubelogin")
	if err != nil {
		return "", err
	}
	out, err := gobuild.Ensure(ctx, cache, gobuild.Program{Mod: mod, Sum: sum, Package: "github.com/Azure/kubelogin", Output: "kubelogin", LDFlags: "-s -w"})
	if err != nil {
		return "", err
	}
	return filepath.Join(out, "kubelogin"), nil
}
