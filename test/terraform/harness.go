// Package terraform runs Terraform configurations that platform teams
// write for AKS against localaks, with the real azurerm provider built from
// the Go module proxy (the nested module tools/terraform, kept out of
// localaks's go.mod) and the terraform binary on PATH, else OpenTofu's
// (tofu on PATH, else built from the module proxy, tools/tofu). Terraform
// finds the provider through a development override in its CLI
// configuration, so nothing contacts a registry.
package terraform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/localaks/localaks/internal/gobuild"
)

// AzurermPackage is the azurerm provider's main package.
const AzurermPackage = "github.com/hashicorp/terraform-provider-azurerm"

// toolsDir is the nested module dir (tools/terraform, tools/tofu).
func toolsDir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tools", name)
}

// program is the build of a main package of the nested module name.
func program(name, pkg, output string) (gobuild.Program, error) {
	mod, err := os.ReadFile(filepath.Join(toolsDir(name), "go.mod"))
	if err != nil {
		return gobuild.Program{}, err
	}
	sum, err := os.ReadFile(filepath.Join(toolsDir(name), "go.sum"))
	if err != nil {
		return gobuild.Program{}, err
	}
	return gobuild.Program{Mod: mod, Sum: sum, Package: pkg, Output: output, LDFlags: "-s -w"}, nil
}

// EnsureProvider returns the directory holding terraform-provider-azurerm,
// built once per machine (cold: about 9 minutes on two cores).
func EnsureProvider(ctx context.Context) (string, error) {
	p, err := program("terraform", AzurermPackage, "terraform-provider-azurerm")
	if err != nil {
		return "", err
	}
	cache, err := gobuild.CacheDir("terraform-provider-azurerm")
	if err != nil {
		return "", err
	}
	return gobuild.Ensure(ctx, cache, p)
}

// FindTerraform returns the Terraform CLI to run: terraform or tofu on
// PATH (LOCALAKS_TERRAFORM names another), else OpenTofu built from the
// module proxy.
func FindTerraform(ctx context.Context) (string, error) {
	if p := os.Getenv("LOCALAKS_TERRAFORM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	p, err := program("tofu", "github.com/opentofu/opentofu/cmd/tofu", "tofu")
	if err != nil {
		return "", fmt.Errorf("no terraform or tofu on PATH, and OpenTofu cannot be built: %w", err)
	}
	cache, err := gobuild.CacheDir("opentofu")
	if err != nil {
		return "", err
	}
	dir, err := gobuild.Ensure(ctx, cache, p)
	if err != nil {
		return "", errors.Join(errors.New("no terraform or tofu on PATH"), err)
	}
	return filepath.Join(dir, "tofu"), nil
}
