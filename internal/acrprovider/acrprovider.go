// Package acrprovider builds the kubelet's image credential provider for
// Azure Container Registry that AKS installs on its nodes:
// cloud-provider-azure's acr-credential-provider (cmd/acr-credential-
// provider of sigs.k8s.io/cloud-provider-azure), compiled from its Go
// module. It signs in with the node's managed identity at the instance
// metadata service and exchanges the token at the registry for an ACR
// refresh token, which the kubelet hands to containerd.
//
// It cannot be linked into localaks (a main package at another Kubernetes
// minor), so it is built once per machine, on first use, with the go
// command and the module proxy from build.mod and build.sum (package
// gobuild), and cached under the user's cache directory. The build module
// pins pkg/azclient at v0.21.3: the v0.20.8 the release names is not served
// by the module proxy, and v0.21.3 builds it.
package acrprovider

import (
	"context"
	_ "embed"
	"path/filepath"

	"github.com/localaks/localaks/internal/gobuild"
)

// Module is the module built and Release its version.
const (
	Module  = "sigs.k8s.io/cloud-provider-azure"
	Release = "v1.36.2"
	mainPkg = Module + "/cmd/acr-credential-provider"
	// Name is the plugin's name: the binary's in the kubelet's plugin
	// directory and the provider's in its configuration.
	Name = "acr-credential-provider"
)

// build.mod and build.sum are the build module's go.mod and go.sum.
var (
	//go:embed build.mod
	buildMod []byte
	//go:embed build.sum
	buildSum []byte
)

// CacheDir is where builds are kept: the user's cache directory (or
// LOCALAKS_CACHE_DIR).
func CacheDir() (string, error) { return gobuild.CacheDir(Name) }

// Ensure returns the path of the provider's binary, building it (minutes
// the first time on a machine) when cacheDir has none.
func Ensure(ctx context.Context, cacheDir string) (string, error) {
	dir, err := gobuild.Ensure(ctx, cacheDir, gobuild.Program{
		Mod: buildMod, Sum: buildSum, Package: mainPkg, Output: Name, LDFlags: "-s -w",
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, Name), nil
}
