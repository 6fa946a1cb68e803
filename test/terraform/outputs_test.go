package terraform

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The localaks binary, built once for the tests that run control planes.
var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func localaksBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "localaks-tf-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "localaks")
		_, file, _, _ := runtime.Caller(0)
		build := exec.Command("go", "build", "-o", binary, "./cmd/localaks")
		build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = err
			binary = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build localaks: %v\n%s", buildErr, binary)
	}
	return binary
}

// outputsConfig is a cluster whose kubeconfig leaves Terraform as the
// kubernetes and helm providers take it: the raw kubeconfig, and host,
// client certificate and key, CA and password of kube_config[0].
const outputsConfig = providerBlock + `
resource "azurerm_resource_group" "rg" {
  name     = "tf-outputs"
  location = "eastus"
}

resource "azurerm_kubernetes_cluster" "aks" {
  name                = "tf-outputs"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  dns_prefix          = "tfoutputs"

  default_node_pool {
    name       = "system"
    node_count = 2
    vm_size    = "Standard_D2s_v5"

    upgrade_settings {
      max_surge = "10%"
    }
  }

  node_provisioning_profile {
    mode = "Manual"
  }

  identity {
    type = "SystemAssigned"
  }
}

output "kube_config_raw" {
  value     = azurerm_kubernetes_cluster.aks.kube_config_raw
  sensitive = true
}

output "host" {
  value     = azurerm_kubernetes_cluster.aks.kube_config[0].host
  sensitive = true
}

output "client_certificate" {
  value     = azurerm_kubernetes_cluster.aks.kube_config[0].client_certificate
  sensitive = true
}

output "client_key" {
  value     = azurerm_kubernetes_cluster.aks.kube_config[0].client_key
  sensitive = true
}

output "cluster_ca_certificate" {
  value     = azurerm_kubernetes_cluster.aks.kube_config[0].cluster_ca_certificate
  sensitive = true
}

output "password" {
  value     = azurerm_kubernetes_cluster.aks.kube_config[0].password
  sensitive = true
}
`

// TestOutputsDriveTheCluster: with control planes on, the cluster's
// outputs reach its API server the two ways Terraform users hand them on —
// the raw kubeconfig, and host + client certificate + key + CA (what the
// kubernetes and helm providers' configurations take; those providers
// cannot be built from the module proxy, see docs/terraform.md), or host
// + CA + the password as a bearer token — and a namespace and a
// Deployment created through them become available on the cluster's
// nodes; destroy removes the cluster with its control plane.
func TestOutputsDriveTheCluster(t *testing.T) {
	t.Parallel()
	bin := localaksBinary(t)
	w := newWorkspaceWith(t, outputsConfig, []string{bin, "controlplane"})
	w.must("apply", "-auto-approve", "-input=false")
	w.planClean("apply")

	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	decoded := func(output string) string {
		b, err := base64.StdEncoding.DecodeString(w.must("output", "-raw", output))
		if err != nil {
			t.Fatalf("output %s: %v", output, err)
		}
		return string(b)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"kubectl"}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+write("empty", ""))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	raw := write("kubeconfig", w.must("output", "-raw", "kube_config_raw"))
	host := w.must("output", "-raw", "host")
	ca := write("ca.pem", decoded("cluster_ca_certificate"))
	byCert := []string{"--server", host, "--certificate-authority", ca,
		"--client-certificate", write("client.pem", decoded("client_certificate")), "--client-key", write("client-key.pem", decoded("client_key"))}
	byToken := []string{"--server", host, "--certificate-authority", ca, "--token", w.must("output", "-raw", "password")}

	kubectl("--kubeconfig", raw, "create", "namespace", "apps")
	kubectl(append(byCert, "create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", "apps")...)
	kubectl(append(byToken, "wait", "--for=condition=Available", "deployment/web", "-n", "apps", "--timeout=120s")...)
	if out := kubectl(append(byToken, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")...); out != "masterclient" {
		t.Errorf("the password signs in as %q, want masterclient", out)
	}

	w.must("destroy", "-auto-approve", "-input=false")
	for _, rg := range []string{"tf-outputs", "MC_tf-outputs_tf-outputs_eastus"} {
		if r := w.get("/resourcegroups/" + rg + "?api-version=2021-04-01"); r != 404 {
			t.Errorf("resource group %s after destroy: %d, want 404", rg, r)
		}
	}
}
