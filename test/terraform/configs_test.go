package terraform

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// providerBlock is the head of every configuration.
const providerBlock = `
terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm" }
  }
}

provider "azurerm" {
  features {}
  resource_provider_registrations = "none"
}
`

// kubenetConfig: a kubenet cluster with the identities a hardened setup
// gives it — a user-assigned control-plane identity that is Managed
// Identity Operator on a user-assigned kubelet identity, a container
// registry (admin user on) with AcrPull on it for the kubelet identity,
// the OIDC issuer and workload identity with a federated credential for a
// service account, an autoscaled system pool with an autoscaler profile,
// a tainted user pool, the auto-upgrade and node-OS maintenance windows,
// the AGIC add-on on a gateway of its own, and a role assignment on the
// cluster for a deployer identity.
const kubenetConfig = providerBlock + `
variable "kubernetes_version" { default = "1.35" }
variable "extra_pools" { default = 0 }
variable "env" { default = "dev" }

resource "azurerm_resource_group" "rg" {
  name     = "tf-kubenet"
  location = "westeurope"
}

resource "azurerm_user_assigned_identity" "cp" {
  name                = "aks-cp"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_user_assigned_identity" "kubelet" {
  name                = "kubelet"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_user_assigned_identity" "workload" {
  name                = "workload"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_role_assignment" "kubelet_operator" {
  scope                = azurerm_user_assigned_identity.kubelet.id
  role_definition_name = "Managed Identity Operator"
  principal_id         = azurerm_user_assigned_identity.cp.principal_id
}

resource "azurerm_container_registry" "acr" {
  name                = "tfkubenetacr"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  sku                 = "Standard"
  admin_enabled       = true
  tags                = { env = var.env }
}

resource "azurerm_role_assignment" "acr_pull" {
  scope                = azurerm_container_registry.acr.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_kubernetes_cluster.aks.kubelet_identity[0].object_id
}

resource "azurerm_role_assignment" "deployer" {
  scope                = azurerm_kubernetes_cluster.aks.id
  role_definition_name = "Azure Kubernetes Service Cluster User Role"
  principal_id         = azurerm_user_assigned_identity.workload.principal_id
}

resource "azurerm_kubernetes_cluster" "aks" {
  name                      = "tf-kubenet"
  location                  = azurerm_resource_group.rg.location
  resource_group_name       = azurerm_resource_group.rg.name
  dns_prefix                = "tfkubenet"
  kubernetes_version        = var.kubernetes_version
  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  default_node_pool {
    name                 = "system"
    vm_size              = "Standard_D4s_v5"
    orchestrator_version = var.kubernetes_version
    auto_scaling_enabled = true
    min_count            = 1
    max_count            = 3
    max_pods             = 60
    os_disk_size_gb      = 64
    zones                = ["1", "2", "3"]
    only_critical_addons_enabled = true

    upgrade_settings {
      max_surge = "33%"
    }
  }

  node_provisioning_profile {
    mode = "Manual"
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.cp.id]
  }

  kubelet_identity {
    client_id                 = azurerm_user_assigned_identity.kubelet.client_id
    object_id                 = azurerm_user_assigned_identity.kubelet.principal_id
    user_assigned_identity_id = azurerm_user_assigned_identity.kubelet.id
  }

  network_profile {
    network_plugin    = "kubenet"
    network_policy    = "calico"
    pod_cidr          = "10.244.0.0/16"
    service_cidr      = "10.0.0.0/16"
    dns_service_ip    = "10.0.0.10"
    load_balancer_sku = "standard"
  }

  auto_scaler_profile {
    balance_similar_node_groups      = true
    expander                         = "least-waste"
    max_graceful_termination_sec     = 300
    scan_interval                    = "20s"
    scale_down_delay_after_add       = "5m"
    scale_down_unneeded              = "5m"
    scale_down_utilization_threshold = 0.6
    skip_nodes_with_local_storage    = false
  }

  maintenance_window_auto_upgrade {
    frequency   = "Weekly"
    interval    = 1
    duration    = 4
    day_of_week = "Sunday"
    start_time  = "02:00"
    utc_offset  = "+00:00"
  }

  maintenance_window_node_os {
    frequency  = "Daily"
    interval   = 1
    duration   = 6
    start_time = "03:00"
    utc_offset = "+01:00"
  }

  ingress_application_gateway {
    gateway_name = "tf-kubenet-agw"
    subnet_cidr  = "10.225.0.0/24"
  }

  tags = { env = var.env }

  depends_on = [azurerm_role_assignment.kubelet_operator]
}

resource "azurerm_kubernetes_cluster_node_pool" "user" {
  name                  = "apps"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.aks.id
  vm_size               = "Standard_D4s_v5"
  orchestrator_version  = var.kubernetes_version
  auto_scaling_enabled  = true
  min_count             = 1
  max_count             = 5
  mode                  = "User"
  node_labels           = { workload = "apps" }
  node_taints           = ["workload=apps:NoSchedule"]
  zones                 = ["1", "2"]

  upgrade_settings {
    max_surge = "10%"
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "extra" {
  count                 = var.extra_pools
  name                  = "extra${count.index}"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.aks.id
  vm_size               = "Standard_D2s_v5"
  node_count            = 1

  upgrade_settings {
    max_surge = "10%"
  }
}

resource "azurerm_federated_identity_credential" "workload" {
  name                      = "app-sa"
  user_assigned_identity_id = azurerm_user_assigned_identity.workload.id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = azurerm_kubernetes_cluster.aks.oidc_issuer_url
  subject                   = "system:serviceaccount:apps:app"
}

output "oidc_issuer_url" {
  value = azurerm_kubernetes_cluster.aks.oidc_issuer_url
}

output "kubelet_object_id" {
  value = azurerm_kubernetes_cluster.aks.kubelet_identity[0].object_id
}

output "acr_admin_password" {
  value     = azurerm_container_registry.acr.admin_password
  sensitive = true
}

output "acr_login_server" {
  value = azurerm_container_registry.acr.login_server
}

output "agic_gateway_id" {
  value = azurerm_kubernetes_cluster.aks.ingress_application_gateway[0].effective_gateway_id
}
`

// overlayConfig: Azure CNI overlay with Cilium on a BYO subnet, a
// system-assigned identity with Network Contributor on the subnet given
// after the cluster exists (as teams write it), a user pool, and a
// maintenance window of the older shape.
const overlayConfig = providerBlock + `
variable "node_count" { default = 1 }
variable "extra_pools" { default = 0 }
variable "env" { default = "dev" }

resource "azurerm_resource_group" "rg" {
  name     = "tf-overlay"
  location = "northeurope"
}

resource "azurerm_virtual_network" "vnet" {
  name                = "overlay-vnet"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.20.0.0/16"]
}

resource "azurerm_subnet" "nodes" {
  name                 = "nodes"
  resource_group_name  = azurerm_resource_group.rg.name
  virtual_network_name = azurerm_virtual_network.vnet.name
  address_prefixes     = ["10.20.0.0/22"]
}

resource "azurerm_kubernetes_cluster" "aks" {
  name                = "tf-overlay"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  dns_prefix          = "tfoverlay"
  sku_tier            = "Standard"

  default_node_pool {
    name           = "system"
    node_count     = var.node_count
    vm_size        = "Standard_D2s_v5"
    vnet_subnet_id = azurerm_subnet.nodes.id
    os_sku         = "AzureLinux"

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

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = "192.168.0.0/16"
    service_cidr        = "10.0.0.0/16"
    dns_service_ip      = "10.0.0.10"
  }

  maintenance_window {
    allowed {
      day   = "Saturday"
      hours = [1, 2, 3]
    }
    not_allowed {
      start = "2026-12-24T00:00:00Z"
      end   = "2026-12-27T00:00:00Z"
    }
  }

  tags = { env = var.env }
}

resource "azurerm_role_assignment" "subnet" {
  scope                = azurerm_subnet.nodes.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.aks.identity[0].principal_id
}

resource "azurerm_kubernetes_cluster_node_pool" "extra" {
  count                 = var.extra_pools
  name                  = "extra${count.index}"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.aks.id
  vm_size               = "Standard_D2s_v5"
  node_count            = 2
  vnet_subnet_id        = azurerm_subnet.nodes.id
  node_labels           = { pool = "extra${count.index}" }

  upgrade_settings {
    max_surge = "10%"
  }
}
`

// cycle takes a workspace through apply → plan clean → the in-place
// change vars → plan clean → state rm and import of imports → plan clean →
// destroy, and checks that the groups are gone.
func (w *workspace) cycle(afterApply, afterChange func(), vars []string, changed string, imports []string, groups ...string) {
	t := w.t
	t.Helper()
	w.must("apply", "-auto-approve", "-input=false")
	w.planClean("apply")
	if afterApply != nil {
		afterApply()
	}

	out := w.must(append([]string{"apply", "-auto-approve", "-input=false"}, vars...)...)
	if !regexp.MustCompile(changed).MatchString(out) {
		t.Errorf("the change did not do %q:\n%s", changed, out)
	}
	w.planClean("an in-place change", vars...)
	if afterChange != nil {
		afterChange()
	}

	for _, addr := range imports {
		show := w.must("state", "show", "-no-color", addr)
		m := regexp.MustCompile(`(?m)^\s*id\s*=\s*"([^"]+)"`).FindStringSubmatch(show)
		if m == nil {
			t.Fatalf("no id of %s in state:\n%s", addr, show)
		}
		w.must("state", "rm", addr)
		w.must(append([]string{"import", "-input=false"}, append(vars, addr, m[1])...)...)
	}
	w.planClean("an import", vars...)

	w.must(append([]string{"destroy", "-auto-approve", "-input=false"}, vars...)...)
	for _, rg := range groups {
		if r := w.get("/resourcegroups/" + rg + "?api-version=2021-04-01"); r != 404 {
			t.Errorf("resource group %s after destroy: %d, want 404", rg, r)
		}
	}
}

// TestKubenetHardened: the kubenet configuration goes through the whole
// cycle; its change is a Kubernetes upgrade of the cluster and its pools,
// a tag and an added pool.
func TestKubenetHardened(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, kubenetConfig)
	vars := []string{"-var", "kubernetes_version=1.36", "-var", "extra_pools=1", "-var", "env=test"}
	downgrade := func() {
		// Back to 1.35: AKS refuses, Terraform shows AKS's code, and the
		// state still says 1.36.
		code, out := w.run("apply", "-auto-approve", "-input=false", "-var", "kubernetes_version=1.35", "-var", "extra_pools=1", "-var", "env=test")
		if code == 0 || !strings.Contains(out, "NotAllowedDowngrade") {
			t.Errorf("a downgrade: exit %d, want AKS's NotAllowedDowngrade\n%s", code, out)
		}
		w.planClean("a refused downgrade", vars...)
	}
	w.cycle(func() { checkKubenetOutputs(t, w) }, downgrade, vars,
		`1 added, 3 changed, 0 destroyed`,
		[]string{"azurerm_kubernetes_cluster.aks", "azurerm_kubernetes_cluster_node_pool.user", "azurerm_federated_identity_credential.workload", "azurerm_role_assignment.acr_pull", "azurerm_container_registry.acr"},
		"tf-kubenet", "MC_tf-kubenet_tf-kubenet_westeurope")
}

// TestOverlayCilium: the overlay configuration goes through the whole
// cycle; its change is the node count, a tag and an added pool.
func TestOverlayCilium(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, overlayConfig)
	w.cycle(nil, nil, []string{"-var", "node_count=3", "-var", "extra_pools=1", "-var", "env=test"},
		`1 added, 1 changed, 0 destroyed`,
		[]string{"azurerm_kubernetes_cluster.aks", "azurerm_kubernetes_cluster_node_pool.extra[0]", "azurerm_role_assignment.subnet"},
		"tf-overlay", "MC_tf-overlay_tf-overlay_northeurope")
}

// The outputs a kubenet apply gives are AKS's.
func checkKubenetOutputs(t *testing.T, w *workspace) {
	t.Helper()
	if out := w.must("output", "-raw", "oidc_issuer_url"); !strings.HasPrefix(out, "https://") {
		t.Errorf("oidc_issuer_url = %q", out)
	}
	login := w.must("output", "-raw", "acr_login_server")
	if login != "tfkubenetacr.azurecr.io" {
		t.Errorf("acr_login_server = %q", login)
	}
	// The registry Terraform made takes a push with its admin password
	// (as a pipeline would use the outputs), through serve's tunnel.
	pass := w.must("output", "-raw", "acr_admin_password")
	caPEM, err := os.ReadFile(w.caFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	proxy, _ := url.Parse("http://" + strings.TrimPrefix(w.srv.URL(), "https://"))
	opts := []remote.Option{remote.WithTransport(&http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}),
		remote.WithAuth(&authn.Basic{Username: "tfkubenetacr", Password: pass})}
	img, _ := random.Image(1024, 1)
	ref, _ := name.ParseReference(login + "/app:v1")
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Errorf("push to the registry with the admin_password output: %v", err)
	} else if _, err := remote.Head(ref, opts...); err != nil {
		t.Errorf("the pushed image: %v", err)
	}
	if out := w.must("output", "-raw", "agic_gateway_id"); !strings.HasSuffix(out, "/resourceGroups/MC_tf-kubenet_tf-kubenet_westeurope/providers/Microsoft.Network/applicationGateways/tf-kubenet-agw") {
		t.Errorf("agic_gateway_id = %q", out)
	}
}
