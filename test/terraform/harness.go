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
	"regexp"
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

// AcceptancePackage is azurerm's package of acceptance tests for AKS (and
// the other container services).
const AcceptancePackage = AzurermPackage + "/internal/services/containers"

// EnsureAcceptance returns azurerm's acceptance-test binary of
// AcceptancePackage, built once per machine inside azurerm's own module
// (cold: about 10 minutes on two cores).
func EnsureAcceptance(ctx context.Context) (string, error) {
	p, err := program("terraform", "./internal/services/containers", "containers.test")
	if err != nil {
		return "", err
	}
	p.TestOf, p.LDFlags = AzurermPackage, ""
	cache, err := gobuild.CacheDir("azurerm-acceptance")
	if err != nil {
		return "", err
	}
	dir, err := gobuild.Ensure(ctx, cache, p)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "containers.test"), nil
}

// placeholderMain is a provider with no resources, data sources or
// settings.
const placeholderMain = `package main

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/hashicorp/terraform-plugin-sdk/v2/plugin"
)

func main() {
	plugin.Serve(&plugin.ServeOpts{ProviderFunc: func() *schema.Provider { return &schema.Provider{} }})
}
`

// harnessProviders finds the utility providers azurerm's acceptance
// harness declares for every test (name → the exact version it pins).
var harnessProviders = regexp.MustCompile(`"(\w+)":\s*\{\s*VersionConstraint:\s*"=([0-9.]+)",\s*Source:\s*"registry\.terraform\.io/hashicorp/(\w+)"`)

// EnsureHarnessMirror returns a Terraform filesystem mirror that holds,
// under each utility provider's name and pinned version (azuread, local,
// random, time, tls), a provider with no resources. azurerm's acceptance
// harness declares those providers for every test, so terraform init
// needs them; the module proxy serves none of them at those versions, and
// the AKS tests do not use them but for two (azuread), which then fail on
// the missing resource types.
func EnsureHarnessMirror(ctx context.Context) (string, error) {
	p, err := program("terraform", ".", "placeholder")
	if err != nil {
		return "", err
	}
	p.Main, p.Module = []byte(placeholderMain), AzurermPackage
	p.Then = func(moduleDir, bundleDir string) error {
		src, err := os.ReadFile(filepath.Join(moduleDir, "internal", "acceptance", "testcase.go"))
		if err != nil {
			return err
		}
		bin, err := os.ReadFile(filepath.Join(bundleDir, "placeholder"))
		if err != nil {
			return err
		}
		found := harnessProviders.FindAllSubmatch(src, -1)
		if len(found) == 0 {
			return errors.New("azurerm's acceptance harness declares no utility providers that can be found (internal/acceptance/testcase.go)")
		}
		for _, m := range found {
			name, version := string(m[3]), string(m[2])
			dir := filepath.Join(bundleDir, "mirror", "registry.terraform.io", "hashicorp", name, version, runtime.GOOS+"_"+runtime.GOARCH)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "terraform-provider-"+name+"_v"+version), bin, 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	cache, err := gobuild.CacheDir("azurerm-harness-mirror")
	if err != nil {
		return "", err
	}
	dir, err := gobuild.Ensure(ctx, cache, p)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "mirror"), nil
}
