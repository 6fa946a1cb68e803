package terraform

import (
	"strings"
	"testing"
)

// aksConfig is what a platform team writes for AKS on its own network, in
// azurerm v4/v5 syntax: a virtual network and subnet, a user-assigned
// control-plane identity with Network Contributor on the subnet, a cluster
// on the subnet (Azure CNI) with a user node pool (labels, taints), and
// the kubeconfig as an output.
const aksConfig = providerBlock + `

variable "node_count" { default = 1 }
variable "env" { default = "dev" }

resource "azurerm_resource_group" "rg" {
  name     = "tf-aks"
  location = "eastus"
}

resource "azurerm_virtual_network" "vnet" {
  name                = "aks-vnet"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.10.0.0/16"]
}

resource "azurerm_subnet" "nodes" {
  name                 = "nodes"
  resource_group_name  = azurerm_resource_group.rg.name
  virtual_network_name = azurerm_virtual_network.vnet.name
  address_prefixes     = ["10.10.0.0/20"]
}

resource "azurerm_user_assigned_identity" "cp" {
  name                = "aks-control-plane"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_role_assignment" "subnet" {
  scope                = azurerm_subnet.nodes.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_user_assigned_identity.cp.principal_id
}

resource "azurerm_kubernetes_cluster" "aks" {
  name                = "tf-aks"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  dns_prefix          = "tfaks"

  default_node_pool {
    name           = "system"
    node_count     = var.node_count
    vm_size        = "Standard_DS2_v2"
    vnet_subnet_id = azurerm_subnet.nodes.id

    # AKS returns maxSurge 10% for a pool created without upgrade
    # settings, which azurerm reports as drift unless it is written down,
    # as teams do.
    upgrade_settings {
      max_surge = "10%"
    }
  }

  node_provisioning_profile {
    mode = "Manual"
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.cp.id]
  }

  network_profile {
    network_plugin = "azure"
    service_cidr   = "10.0.0.0/16"
    dns_service_ip = "10.0.0.10"
  }

  tags = { env = var.env }

  depends_on = [azurerm_role_assignment.subnet]
}

resource "azurerm_kubernetes_cluster_node_pool" "user" {
  name                  = "user"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.aks.id
  vm_size               = "Standard_DS2_v2"
  node_count            = 1
  vnet_subnet_id        = azurerm_subnet.nodes.id
  node_labels           = { tier = "app" }
  node_taints           = ["app=true:NoSchedule"]

  upgrade_settings {
    max_surge = "10%"
  }
}

output "kube_config" {
  value     = azurerm_kubernetes_cluster.aks.kube_config_raw
  sensitive = true
}

output "node_resource_group" {
  value = azurerm_kubernetes_cluster.aks.node_resource_group
}
`

// TestAKSOnOwnNetwork: the configuration applies, plans clean, takes an
// in-place change (node count, tags) and plans clean again, is imported
// back after its state is dropped and plans clean, and is destroyed with
// nothing left in either resource group.
func TestAKSOnOwnNetwork(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, aksConfig)
	outputs := func() {
		if out := w.must("output", "-raw", "node_resource_group"); out != "MC_tf-aks_tf-aks_eastus" {
			t.Errorf("node_resource_group = %q", out)
		}
		if out := w.must("output", "-raw", "kube_config"); !strings.Contains(out, "clusterUser_tf-aks_tf-aks") {
			t.Errorf("kube_config:\n%s", out)
		}
	}
	w.cycle(outputs, nil, []string{"-var", "node_count=2", "-var", "env=test"}, `0 added, 1 changed, 0 destroyed`,
		[]string{"azurerm_kubernetes_cluster.aks"}, "tf-aks", "MC_tf-aks_tf-aks_eastus")
}

// TestAKSRefusals: configurations real AKS refuses fail at apply with
// AKS's error code as Terraform shows it, leave no cluster (nor its node
// resource group) behind, and the rest is destroyed cleanly.
func TestAKSRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, code string
	}{
		{"DNS service IP outside the service CIDR", `dns_service_ip = "10.0.0.10"`, `dns_service_ip = "10.1.0.10"`, "DnsServiceIpOutOfServiceCidr"},
		{"service CIDR over the nodes' subnet", "service_cidr   = \"10.0.0.0/16\"\n    dns_service_ip = \"10.0.0.10\"",
			"service_cidr   = \"10.10.0.0/16\"\n    dns_service_ip = \"10.10.0.10\"", "ServiceCidrOverlapExistingSubnetsCidr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(aksConfig, tc.from) {
				t.Fatalf("the configuration has no %q", tc.from)
			}
			w := newWorkspace(t, strings.Replace(aksConfig, tc.from, tc.to, 1))
			code, out := w.run("apply", "-auto-approve", "-input=false")
			if code == 0 || !strings.Contains(out, tc.code) {
				t.Fatalf("apply: exit %d, want a failure with %s\n%s", code, tc.code, out)
			}
			if r := w.get("/resourceGroups/tf-aks/providers/Microsoft.ContainerService/managedClusters/tf-aks?api-version=2025-10-01"); r != 404 {
				t.Errorf("cluster after the refused create: %d, want 404", r)
			}
			if r := w.get("/resourcegroups/MC_tf-aks_tf-aks_eastus?api-version=2021-04-01"); r != 404 {
				t.Errorf("node resource group after the refused create: %d, want 404", r)
			}
			w.must("destroy", "-auto-approve", "-input=false")
			if r := w.get("/resourcegroups/tf-aks?api-version=2021-04-01"); r != 404 {
				t.Errorf("resource group after destroy: %d, want 404", r)
			}
		})
	}
}
