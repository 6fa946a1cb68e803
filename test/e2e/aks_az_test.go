package e2e

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"
)

// aksCreate runs az aks create with SSH keys generated into a temp HOME.
func (s *serve) aksCreate(t *testing.T, args ...string) azResult {
	t.Helper()
	return s.localaksAz(append([]string{"aks", "create", "--generate-ssh-keys", "--only-show-errors"}, args...)...)
}

// TestAzAKSLifecycle drives a cluster through az aks: create with az's
// defaults, the node resource group as AKS builds it, scale, node pools,
// stop and start, upgrades and versions, delete.
func TestAzAKSLifecycle(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))

	var mc struct {
		ProvisioningState, NodeResourceGroup, Fqdn, KubernetesVersion, CurrentKubernetesVersion, DNSPrefix string
		ServicePrincipalProfile                                                                            struct{ ClientID string }
		Identity                                                                                           struct{ Type, PrincipalID string }
		IdentityProfile                                                                                    struct {
			Kubeletidentity struct{ ResourceID, ClientID string }
		}
		AgentPoolProfiles []struct {
			Name, Mode, VMSize, ProvisioningState string
			Count, MaxPods                        int
		}
		NetworkProfile struct {
			NetworkPlugin, ServiceCidr, DNSServiceIP, PodCidr, OutboundType string
			LoadBalancerProfile                                             struct {
				EffectiveOutboundIPs []struct{ ID string }
			}
		}
		PowerState struct{ Code string }
	}
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1")).json(t, &mc)
	if mc.ProvisioningState != "Succeeded" || mc.NodeResourceGroup != "MC_rg1_c1_eastus" || mc.ServicePrincipalProfile.ClientID != "msi" ||
		mc.Identity.Type != "SystemAssigned" || mc.Identity.PrincipalID == "" || mc.PowerState.Code != "Running" {
		t.Errorf("aks create = %+v", mc)
	}
	if !regexp.MustCompile(`^c1-rg1-[0-9a-f]{6}-[0-9a-f]{8}\.hcp\.eastus\.azmk8s\.io$`).MatchString(mc.Fqdn) {
		t.Errorf("fqdn = %q", mc.Fqdn)
	}
	if p := mc.AgentPoolProfiles; len(p) != 1 || p[0].Name != "nodepool1" || p[0].Count != 3 || p[0].Mode != "System" || p[0].MaxPods != 110 ||
		p[0].VMSize != "Standard_DS2_v2" {
		t.Errorf("agent pools = %+v", p)
	}
	np := mc.NetworkProfile
	if np.NetworkPlugin != "kubenet" || np.ServiceCidr != "10.0.0.0/16" || np.DNSServiceIP != "10.0.0.10" || np.PodCidr != "10.244.0.0/16" ||
		np.OutboundType != "loadBalancer" || len(np.LoadBalancerProfile.EffectiveOutboundIPs) != 1 {
		t.Errorf("network profile = %+v", np)
	}
	if !strings.HasSuffix(mc.IdentityProfile.Kubeletidentity.ResourceID, "/resourcegroups/MC_rg1_c1_eastus/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool") {
		t.Errorf("kubelet identity = %+v", mc.IdentityProfile)
	}

	// The node resource group holds what AKS puts there, named as AKS names it.
	var res []struct{ Name, Type string }
	mustAz(t, s.localaksAz("resource", "list", "-g", "MC_rg1_c1_eastus")).json(t, &res)
	var got []string
	id := ""
	for _, r := range res {
		if m := regexp.MustCompile(`^aks-nodepool1-(\d{8})-vmss$`).FindStringSubmatch(r.Name); m != nil {
			id = m[1]
		}
	}
	for _, r := range res {
		name := r.Name
		if regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(name) {
			name = "<guid>"
		}
		got = append(got, r.Type+" "+strings.ReplaceAll(name, id, "<id>"))
	}
	sort.Strings(got)
	want := []string{
		"Microsoft.Compute/virtualMachineScaleSets aks-nodepool1-<id>-vmss",
		"Microsoft.ManagedIdentity/userAssignedIdentities c1-agentpool",
		"Microsoft.Network/loadBalancers kubernetes",
		"Microsoft.Network/networkSecurityGroups aks-agentpool-<id>-nsg",
		"Microsoft.Network/publicIPAddresses <guid>",
		"Microsoft.Network/routeTables aks-agentpool-<id>-routetable",
		"Microsoft.Network/virtualNetworks aks-vnet-<id>",
	}
	if id == "" || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("az resource list -g MC_rg1_c1_eastus:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	vmss := "aks-nodepool1-" + id + "-vmss"
	var names []string
	mustAz(t, s.localaksAz("vmss", "list-instances", "-g", "MC_rg1_c1_eastus", "-n", vmss, "--query", "[].osProfile.computerName")).json(t, &names)
	if strings.Join(names, ",") != vmss+"000000,"+vmss+"000001,"+vmss+"000002" {
		t.Errorf("vmss instances = %v", names)
	}
	var subnets []struct {
		Name, AddressPrefix string
		RouteTable          struct{ ID string }
	}
	mustAz(t, s.localaksAz("network", "vnet", "subnet", "list", "-g", "MC_rg1_c1_eastus", "--vnet-name", "aks-vnet-"+id)).json(t, &subnets)
	if len(subnets) != 1 || subnets[0].Name != "aks-subnet" || subnets[0].AddressPrefix != "10.224.0.0/16" || !strings.HasSuffix(subnets[0].RouteTable.ID, "aks-agentpool-"+id+"-routetable") {
		t.Errorf("aks-subnet = %+v", subnets)
	}

	var list []struct{ Name string }
	mustAz(t, s.localaksAz("aks", "list", "-g", "rg1")).json(t, &list)
	if len(list) != 1 || list[0].Name != "c1" {
		t.Errorf("aks list = %+v", list)
	}
	if out := mustAz(t, s.localaksAz("aks", "get-versions", "-l", "eastus", "-o", "table")).stdout; !strings.Contains(out, "1.37.2") || !strings.Contains(out, "1.34.3") {
		t.Errorf("get-versions:\n%s", out)
	}
	var ups struct {
		ControlPlaneProfile struct {
			KubernetesVersion string
			Upgrades          []struct{ KubernetesVersion string }
		}
	}
	mustAz(t, s.localaksAz("aks", "get-upgrades", "-g", "rg1", "-n", "c1")).json(t, &ups)
	if ups.ControlPlaneProfile.KubernetesVersion != mc.CurrentKubernetesVersion || len(ups.ControlPlaneProfile.Upgrades) == 0 {
		t.Errorf("get-upgrades = %+v", ups)
	}

	// Upgrade moves the control plane and the pools.
	next := ups.ControlPlaneProfile.Upgrades[0].KubernetesVersion
	mustAz(t, s.localaksAz("aks", "upgrade", "-g", "rg1", "-n", "c1", "-k", next, "--yes")).json(t, &mc)
	if mc.CurrentKubernetesVersion != next || mc.ProvisioningState != "Succeeded" {
		t.Errorf("after upgrade to %s: %s %s", next, mc.CurrentKubernetesVersion, mc.ProvisioningState)
	}
	r := s.localaksAz("aks", "upgrade", "-g", "rg1", "-n", "c1", "-k", "1.34.3", "--yes")
	if r.code == 0 || !strings.Contains(r.stderr, "Downgrading Kubernetes version") {
		t.Errorf("downgrade: exit %d, %s", r.code, r.stderr)
	}

	// Scale puts the whole cluster; nodes follow.
	mustAz(t, s.localaksAz("aks", "scale", "-g", "rg1", "-n", "c1", "-c", "5"))
	mustAz(t, s.localaksAz("vmss", "list-instances", "-g", "MC_rg1_c1_eastus", "-n", vmss, "--query", "[].instanceId")).json(t, &names)
	if len(names) != 5 {
		t.Errorf("after scale to 5: instances %v", names)
	}
	var pool struct {
		Name, Mode, ProvisioningState string
		Count                         int
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "add", "-g", "rg1", "--cluster-name", "c1", "-n", "np2", "--node-count", "2")).json(t, &pool)
	if pool.Name != "np2" || pool.Mode != "User" || pool.Count != 2 || pool.ProvisioningState != "Succeeded" {
		t.Errorf("nodepool add = %+v", pool)
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "scale", "-g", "rg1", "--cluster-name", "c1", "-n", "np2", "-c", "1")).json(t, &pool)
	mustAz(t, s.localaksAz("aks", "nodepool", "show", "-g", "rg1", "--cluster-name", "c1", "-n", "np2")).json(t, &pool)
	if pool.Count != 1 {
		t.Errorf("nodepool show after scale = %+v", pool)
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "list", "-g", "rg1", "--cluster-name", "c1")).json(t, &list)
	if len(list) != 2 {
		t.Errorf("nodepool list = %+v", list)
	}
	r = s.localaksAz("aks", "nodepool", "delete", "-g", "rg1", "--cluster-name", "c1", "-n", "nodepool1")
	if r.code == 0 || !strings.Contains(r.stderr, "OperationNotAllowed") || !strings.Contains(r.stderr, "last system node pool") {
		t.Errorf("deleting the last system pool: exit %d, %s", r.code, r.stderr)
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "delete", "-g", "rg1", "--cluster-name", "c1", "-n", "np2"))
	mustAz(t, s.localaksAz("resource", "list", "-g", "MC_rg1_c1_eastus", "--resource-type", "Microsoft.Compute/virtualMachineScaleSets")).json(t, &list)
	if len(list) != 1 {
		t.Errorf("scale sets after nodepool delete = %+v", list)
	}

	// Stop and start.
	mustAz(t, s.localaksAz("aks", "stop", "-g", "rg1", "-n", "c1"))
	mustAz(t, s.localaksAz("aks", "show", "-g", "rg1", "-n", "c1")).json(t, &mc)
	if mc.PowerState.Code != "Stopped" || mc.ProvisioningState != "Succeeded" {
		t.Errorf("after stop: %+v %s", mc.PowerState, mc.ProvisioningState)
	}
	r = s.localaksAz("aks", "stop", "-g", "rg1", "-n", "c1")
	if r.code == 0 || !strings.Contains(r.stderr, "stopping cannot be performed") {
		t.Errorf("second stop: exit %d, %s", r.code, r.stderr)
	}
	r = s.localaksAz("aks", "scale", "-g", "rg1", "-n", "c1", "-c", "2")
	if r.code == 0 || !strings.Contains(r.stderr, "Power State(Stopped)") {
		t.Errorf("scale while stopped: exit %d, %s", r.code, r.stderr)
	}
	mustAz(t, s.localaksAz("aks", "start", "-g", "rg1", "-n", "c1"))
	mustAz(t, s.localaksAz("aks", "show", "-g", "rg1", "-n", "c1")).json(t, &mc)
	if mc.PowerState.Code != "Running" {
		t.Errorf("after start: %+v", mc.PowerState)
	}

	mustAz(t, s.localaksAz("aks", "delete", "-g", "rg1", "-n", "c1", "--yes"))
	if out := mustAz(t, s.localaksAz("group", "exists", "-n", "MC_rg1_c1_eastus")).stdout; strings.TrimSpace(out) != "false" {
		t.Errorf("node resource group after delete: exists = %s", out)
	}
	r = s.localaksAz("aks", "show", "-g", "rg1", "-n", "c1")
	if r.code != 3 || !strings.Contains(r.stderr, "ResourceNotFound") {
		t.Errorf("show after delete: exit %d, %s", r.code, r.stderr)
	}
}

// TestAzAKSNetworking: Azure CNI in a custom subnet (the VNet made with az
// network), the subnet-size check, and explicit kubenet.
func TestAzAKSNetworking(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	mustAz(t, s.localaksAz("group", "create", "-n", "net", "-l", "westeurope"))
	mustAz(t, s.localaksAz("network", "vnet", "create", "-g", "net", "-n", "vnet1", "--address-prefixes", "10.10.0.0/16",
		"--subnet-name", "nodes", "--subnet-prefixes", "10.10.0.0/24"))
	mustAz(t, s.localaksAz("network", "vnet", "subnet", "create", "-g", "net", "--vnet-name", "vnet1", "-n", "tiny", "--address-prefixes", "10.10.1.0/28"))
	subnets := s.sub() + "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/"

	var mc struct {
		NetworkProfile    struct{ NetworkPlugin string }
		AgentPoolProfiles []struct {
			MaxPods      int
			VnetSubnetID string
		}
	}
	// Debian's az 2.45 cannot make role assignments (its authorization
	// SDK does not match), so the subnet role assignment is skipped.
	mustAz(t, s.aksCreate(t, "-g", "net", "-n", "cni", "--network-plugin", "azure", "--vnet-subnet-id", subnets+"nodes",
		"--skip-subnet-role-assignment", "--node-count", "3")).json(t, &mc)
	if mc.NetworkProfile.NetworkPlugin != "azure" || mc.AgentPoolProfiles[0].MaxPods != 30 || mc.AgentPoolProfiles[0].VnetSubnetID != subnets+"nodes" {
		t.Errorf("azure CNI cluster = %+v", mc)
	}
	var vmss []string
	mustAz(t, s.localaksAz("vmss", "list", "-g", "MC_net_cni_westeurope", "--query", "[].name")).json(t, &vmss)
	var configs []int
	mustAz(t, s.localaksAz("vmss", "nic", "list", "-g", "MC_net_cni_westeurope", "--vmss-name", vmss[0], "--query", "[].length(ipConfigurations)")).json(t, &configs)
	if len(configs) != 3 || configs[0] != 31 {
		t.Errorf("NIC IP configurations = %v, want 3 NICs with 1+30", configs)
	}
	var res []struct{ Type string }
	mustAz(t, s.localaksAz("resource", "list", "-g", "MC_net_cni_westeurope")).json(t, &res)
	for _, r := range res {
		if r.Type == "Microsoft.Network/virtualNetworks" || r.Type == "Microsoft.Network/routeTables" {
			t.Errorf("Azure CNI in a custom subnet created %s", r.Type)
		}
	}
	r := s.aksCreate(t, "-g", "net", "-n", "small", "--network-plugin", "azure", "--vnet-subnet-id", subnets+"tiny",
		"--skip-subnet-role-assignment", "--node-count", "3")
	if r.code == 0 || !strings.Contains(r.stderr, "InsufficientSubnetSize") || !strings.Contains(r.stderr, "Pre-allocated IPs 124 exceeds IPs available 11") {
		t.Errorf("cluster in a /28: exit %d, %s", r.code, r.stderr)
	}
	r = s.localaksAz("aks", "scale", "-g", "net", "-n", "cni", "-c", "9")
	if r.code == 0 || !strings.Contains(r.stderr, "SubnetIsFull") {
		t.Errorf("scale past the subnet: exit %d, %s", r.code, r.stderr)
	}
	mustAz(t, s.aksCreate(t, "-g", "net", "-n", "kn", "--network-plugin", "kubenet", "--node-count", "2")).json(t, &mc)
	if mc.NetworkProfile.NetworkPlugin != "kubenet" || mc.AgentPoolProfiles[0].MaxPods != 110 {
		t.Errorf("kubenet cluster = %+v", mc)
	}
}

// TestAzAKSConcurrentOperation: while an operation runs, a second one gets
// AKS's 409.
func TestAzAKSConcurrentOperation(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "", "--operation-min-duration", "2m")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--no-wait"))
	var state string
	mustAz(t, s.localaksAz("aks", "show", "-g", "rg1", "-n", "c1", "--query", "provisioningState")).json(t, &state)
	if state != "Creating" {
		t.Errorf("state during create = %q", state)
	}
	r := s.localaksAz("aks", "scale", "-g", "rg1", "-n", "c1", "-c", "2")
	if r.code == 0 || !strings.Contains(r.stderr, "OperationNotAllowed") || !strings.Contains(r.stderr, "Another operation (Creating) is in progress") {
		t.Errorf("scale during create: exit %d, %s", r.code, r.stderr)
	}
}

// TestAzClusterIdentities: clusters whose control-plane identity is a
// user-assigned identity (az aks create --assign-identity) or a service
// principal come up, and
// their cloud controller, which signs in to the subscription's tenant
// whatever the identity, gives a LoadBalancer Service its address.
func TestAzClusterIdentities(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("cloud controllers' errors:\n" + s.controlPlaneLog(10, "does not have authorization"))
		}
	})
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	var cp struct {
		ID          string `json:"id"`
		PrincipalID string `json:"principalId"`
	}
	mustAz(t, s.localaksAz("identity", "create", "-g", "rg1", "-n", "control-plane")).json(t, &cp)
	// (Debian's az 2.45 cannot add --assign-kubelet-identity's role
	// assignment: its authorization client fails before any request.)
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "ua", "--node-count", "1", "--assign-identity", cp.ID))
	var mc struct {
		Identity struct {
			Type                   string         `json:"type"`
			TenantID               string         `json:"tenantId"`
			UserAssignedIdentities map[string]any `json:"userAssignedIdentities"`
		} `json:"identity"`
		IdentityProfile map[string]struct {
			ResourceID string `json:"resourceId"`
		} `json:"identityProfile"`
	}
	mustAz(t, s.localaksAz("aks", "show", "-g", "rg1", "-n", "ua")).json(t, &mc)
	if mc.Identity.Type != "UserAssigned" || mc.Identity.TenantID != "" || len(mc.Identity.UserAssignedIdentities) != 1 || mc.Identity.UserAssignedIdentities[cp.ID] == nil {
		t.Errorf("identity = %+v, want the user-assigned %s", mc.Identity, cp.ID)
	}
	if got := mc.IdentityProfile["kubeletidentity"].ResourceID; !strings.HasSuffix(got, "/userAssignedIdentities/ua-agentpool") {
		t.Errorf("kubelet identity = %q, want AKS's ua-agentpool", got)
	}
	// A service principal of the directory, Contributor of the
	// subscription: the cluster's cloud controller signs in as it.
	var sp struct{ AppID, Password string }
	mustAz(t, s.localaksAz("ad", "sp", "create-for-rbac", "-n", "aks-sp")).json(t, &sp)
	// (az 2.45's role commands fail client-side: armauthorization assigns.)
	spObject := strings.TrimSpace(mustAz(t, s.localaksAz("ad", "sp", "show", "--id", sp.AppID, "--query", "id", "-o", "tsv")).stdout)
	cred := s.credential(t, s.Client.TenantID)
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	assignments, _ := armauthorization.NewRoleAssignmentsClient(s.Client.SubscriptionID, cred, armOpts)
	if _, err := assignments.Create(context.Background(), s.sub(), uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(s.sub() + "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"),
		PrincipalID:      to.Ptr(spObject), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}, nil); err != nil {
		t.Fatal(err)
	}
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "sp", "--node-count", "1", "--service-principal", sp.AppID, "--client-secret", sp.Password))
	for _, name := range []string{"ua", "sp"} {
		kc := s.credentials(t, "rg1", name)
		mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx")
		mustKubectl(t, kc, "expose", "deployment", "web", "--type=LoadBalancer", "--port=80")
		if ip := waitServiceIP(t, kc, "web"); ip == "" {
			t.Errorf("cluster %s: no address for a LoadBalancer Service", name)
		}
	}
	// A new secret replaces the principal's old one; az aks
	// update-credentials gives it to the cluster, whose cloud controller
	// signs in with it for the next Service.
	var reset struct{ Password string }
	mustAz(t, s.localaksAz("ad", "app", "credential", "reset", "--id", sp.AppID)).json(t, &reset)
	if reset.Password == "" || reset.Password == sp.Password {
		t.Fatalf("credential reset: %+v", reset)
	}
	mustAz(t, s.localaksAz("aks", "update-credentials", "-g", "rg1", "-n", "sp", "--reset-service-principal",
		"--service-principal", sp.AppID, "--client-secret", reset.Password, "-o", "none"))
	kc := s.credentials(t, "rg1", "sp")
	mustKubectl(t, kc, "expose", "deployment", "web", "--name=after-reset", "--type=LoadBalancer", "--port=8080", "--target-port=80")
	if ip := waitServiceIP(t, kc, "after-reset"); ip == "" {
		t.Error("no address for a Service after the service principal's reset")
	}
}
