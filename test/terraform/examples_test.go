package terraform

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// examples are the provider's own AKS examples (examples/kubernetes in its
// module) run unchanged but for their outputs; missing names what
// localaks lacks for the others.
var examples = []struct {
	dir, missing string
	// vars are the example's own variables, beyond prefix and location.
	vars []string
}{
	{dir: "basic-cluster"},
	{dir: "public-ip"},
	{dir: "spot-node-pool"},
	{dir: "nodes-on-internal-network"},
	{dir: "egress-with-udr-kubenet", vars: []string{"fwprivate_ip=10.1.0.4", "service_principal_pw=unused"}},
	{dir: "egress-with-udr-azure-cni", vars: []string{"fwprivate_ip=10.1.0.4"}},
	{dir: "network-policy-calico"},
	{dir: "private-api-server"},
	{dir: "monitoring-log-analytics", missing: "Log Analytics workspaces (Microsoft.OperationalInsights) are not served yet"},
	{dir: "aci_connector_linux", missing: "the virtual node (ACI connector) add-on is not served"},
}

// examplesDir is the provider module's examples/kubernetes, in the module
// cache.
func examplesDir(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", AzurermPackage)
	cmd.Dir = toolsDir("terraform")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("the azurerm module's directory: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "examples", "kubernetes")
}

// TestProviderExamples: each of the provider's AKS examples applies with
// its variables set, plans clean and is destroyed with nothing left.
func TestProviderExamples(t *testing.T) {
	needTerraform(t)
	root := examplesDir(t)
	for _, ex := range examples {
		t.Run(ex.dir, func(t *testing.T) {
			if ex.missing != "" {
				t.Skip(ex.missing)
			}
			t.Parallel()
			var config strings.Builder
			files, _ := filepath.Glob(filepath.Join(root, ex.dir, "*.tf"))
			// Their outputs.tf fail Terraform's own validation ("Output
			// refers to sensitive values": written before Terraform 0.15
			// made that an error), whatever the cloud; the rest runs as is.
			files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "outputs.tf" })
			if len(files) == 0 {
				t.Fatalf("no configuration in %s", filepath.Join(root, ex.dir))
			}
			w := newWorkspace(t, "")
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(w.dir, filepath.Base(f)), raw, 0o644); err != nil {
					t.Fatal(err)
				}
				config.Write(raw)
			}
			vars := []string{"-var", "prefix=ex", "-var", "location=eastus"}
			for _, v := range ex.vars {
				vars = append(vars, "-var", v)
			}
			w.must(append([]string{"apply", "-auto-approve", "-input=false"}, vars...)...)
			// The examples leave upgrade settings out, so AKS's maxSurge
			// default is the one drift, as on Azure.
			w.planOnly("apply", maxSurgeDrift, vars...)
			w.must(append([]string{"destroy", "-auto-approve", "-input=false"}, vars...)...)
			if r := w.get("/resourcegroups/ex-k8s-resources?api-version=2021-04-01"); r != 404 && strings.Contains(config.String(), `"${var.prefix}-k8s-resources"`) {
				t.Errorf("resource group after destroy: %d, want 404", r)
			}
		})
	}
}
