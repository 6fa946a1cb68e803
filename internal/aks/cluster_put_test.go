package aks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// A create with nothing but a pool gets every AKS default, in the cluster
// and in the pool, and shows Creating under the create's operation.
func TestPutClusterCreateDefaults(t *testing.T) {
	e := newEnv(t)
	c, pools, created, err := e.putCluster("c1", clusterBody(`{"agentPoolProfiles":[{"name":"nodepool1","count":3}]}`), "op-create")
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("created = false for a new cluster")
	}
	prefix := "c1-rg1-000000"
	want := ClusterProperties{
		ProvisioningState:        StateCreating,
		PowerState:               &PowerState{Code: PowerRunning},
		MaxAgentPools:            100,
		KubernetesVersion:        "1.36.3",
		CurrentKubernetesVersion: "1.36.3",
		DNSPrefix:                prefix,
		ServicePrincipalProfile:  &ServicePrincipalProfile{ClientID: "msi"},
		NodeResourceGroup:        "MC_rg1_c1_eastus",
		EnableRBAC:               boolp(true),
		DisableLocalAccounts:     boolp(false),
		NetworkProfile: &NetworkProfile{
			NetworkPlugin: "kubenet", PodCIDR: "10.244.0.0/16", ServiceCIDR: "10.0.0.0/16", DNSServiceIP: "10.0.0.10",
			OutboundType: "loadBalancer", LoadBalancerSKU: "standard",
			LoadBalancerProfile: &LoadBalancerProfile{ManagedOutboundIPs: &ManagedOutboundIPs{Count: intp(1)}, BackendPoolType: "nodeIPConfiguration"},
			PodCIDRs:            []string{"10.244.0.0/16"}, ServiceCIDRs: []string{"10.0.0.0/16"}, IPFamilies: []string{"IPv4"},
		},
		OIDCIssuerProfile: &OIDCIssuerProfile{Enabled: boolp(true)},
		SupportPlan:       "KubernetesOfficial",
		Localaks:          &ClusterState{ID: ClusterID(prefix), Operation: "op-create", OperationKind: StateCreating},
	}
	ignore := cmp.Options{
		cmpopts.IgnoreFields(ClusterProperties{}, "FQDN", "AzurePortalFQDN", "ResourceUID"),
		cmpopts.IgnoreFields(ClusterState{}, "FQDNHash"),
		cmpopts.IgnoreFields(OIDCIssuerProfile{}, "IssuerURL"),
	}
	if diff := cmp.Diff(want, c.Props, ignore); diff != "" {
		t.Errorf("cluster properties (-want +got):\n%s", diff)
	}
	hash := c.Props.Localaks.FQDNHash
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(hash) {
		t.Errorf("FQDN hash %q is not 8 hex digits", hash)
	}
	if got, want := c.Props.FQDN, prefix+"-"+hash+".hcp.eastus.azmk8s.io"; got != want {
		t.Errorf("fqdn = %q, want %q", got, want)
	}
	if got, want := c.Props.AzurePortalFQDN, prefix+"-"+hash+".portal.hcp.eastus.azmk8s.io"; got != want {
		t.Errorf("azurePortalFQDN = %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(c.Props.ResourceUID) {
		t.Errorf("resourceUID %q is not 24 hex digits", c.Props.ResourceUID)
	}
	issuer := regexp.MustCompile(`^https://localhost:7443/oidc/eastus/tenant/[0-9a-f-]{36}/$`)
	if !issuer.MatchString(c.Props.OIDCIssuerProfile.IssuerURL) {
		t.Errorf("issuer URL %q", c.Props.OIDCIssuerProfile.IssuerURL)
	}
	if c.Record.Location != "eastus" || string(c.Record.SKU) != `{"name":"Base","tier":"Free"}` {
		t.Errorf("location %q, sku %s", c.Record.Location, c.Record.SKU)
	}
	var ident map[string]string
	if err := json.Unmarshal(c.Record.Identity, &ident); err != nil {
		t.Fatal(err)
	}
	if ident["type"] != "SystemAssigned" || ident["tenantId"] != "tenant" || len(ident["principalId"]) != 36 {
		t.Errorf("identity = %v", ident)
	}
	pub, err := c.Public()
	if err != nil {
		t.Fatal(err)
	}
	extras := map[string]any{}
	for _, k := range []string{"storageProfile", "autoUpgradeProfile", "securityProfile"} {
		extras[k] = pub[k]
	}
	wantExtras := map[string]any{
		"storageProfile":     map[string]any{"diskCSIDriver": map[string]any{"enabled": true}, "fileCSIDriver": map[string]any{"enabled": true}, "snapshotController": map[string]any{"enabled": true}},
		"autoUpgradeProfile": map[string]any{"nodeOSUpgradeChannel": "NodeImage"},
		"securityProfile":    map[string]any{},
	}
	if diff := cmp.Diff(wantExtras, extras); diff != "" {
		t.Errorf("defaulted profiles (-want +got):\n%s", diff)
	}

	if len(pools) != 1 {
		t.Fatalf("%d pools, want 1", len(pools))
	}
	p := pools[0]
	if p.Record.ID != clusterRID("c1").String()+"/agentPools/nodepool1" || p.Record.Name != "nodepool1" || p.Record.Type != PoolType {
		t.Errorf("pool record = %s %s %s", p.Record.ID, p.Record.Name, p.Record.Type)
	}
	wantPool := PoolProperties{
		Count: intp(3), VMSize: "Standard_DS2_v2", OSDiskSizeGB: intp(128), OSDiskType: "Managed", KubeletDiskType: "OS",
		MaxPods: intp(110), OSType: "Linux", OSSKU: "Ubuntu", EnableAutoScaling: boolp(false), Type: "VirtualMachineScaleSets",
		Mode: "System", OrchestratorVersion: "1.36.3", CurrentOrchestratorVersion: "1.36.3", NodeImageVersion: Versions.NodeImage,
		UpgradeSettings: &UpgradeSettings{MaxSurge: "10%"}, ProvisioningState: StateCreating, PowerState: &PowerState{Code: PowerRunning},
		EnableNodePublicIP: boolp(false), ScaleSetPriority: "Regular", EnableFIPS: boolp(false), EnableEncryptionAtHost: boolp(false),
		EnableUltraSSD: boolp(false), Localaks: &PoolState{Operation: "op-create", OperationKind: StateCreating, Nodes: NodesSimulated},
	}
	if diff := cmp.Diff(wantPool, p.Props); diff != "" {
		t.Errorf("pool properties (-want +got):\n%s", diff)
	}
}

// What a create body chooses changes the defaults that depend on it.
func TestPutClusterCreateChoices(t *testing.T) {
	type view struct {
		Plugin, PluginMode, PodCIDR      string
		MaxPods                          int
		DNSPrefix, ID, FQDNStart, NodeRG string
		Version, Current                 string
		PoolVersion, PoolCurrent         string
		Admin                            string
		OIDC                             bool
		Issuer                           bool
		SKU                              string
	}
	base := view{Plugin: "kubenet", PodCIDR: "10.244.0.0/16", MaxPods: 110, DNSPrefix: "c-rg1-000000", ID: ClusterID("c-rg1-000000"),
		FQDNStart: "c-rg1-000000-", NodeRG: "MC_rg1_c_eastus", Version: "1.36.3", Current: "1.36.3", PoolVersion: "1.36.3", PoolCurrent: "1.36.3",
		OIDC: true, Issuer: true, SKU: `{"name":"Base","tier":"Free"}`}
	pool := `"agentPoolProfiles":[{"name":"np","count":1}]`
	tests := []struct {
		name, props, sku string
		change           func(*view)
	}{
		{"defaults", `{` + pool + `}`, "", func(*view) {}},
		{"azure cni", `{"networkProfile":{"networkPlugin":"azure"},` + pool + `}`, "", func(v *view) { v.Plugin, v.PodCIDR, v.MaxPods = "azure", "", 30 }},
		{"azure cni overlay", `{"networkProfile":{"networkPlugin":"Azure","networkPluginMode":"Overlay"},` + pool + `}`, "",
			func(v *view) { v.Plugin, v.PluginMode, v.MaxPods = "azure", "overlay", 250 }},
		{"plugin in capitals", `{"networkProfile":{"networkPlugin":"Kubenet"},` + pool + `}`, "", func(*view) {}},
		{"own pod range", `{"networkProfile":{"podCidr":"10.100.0.0/16"},` + pool + `}`, "", func(v *view) { v.PodCIDR = "10.100.0.0/16" }},
		{"dns prefix", `{"dnsPrefix":"MyPrefix",` + pool + `}`, "", func(v *view) { v.DNSPrefix, v.ID, v.FQDNStart = "MyPrefix", ClusterID("MyPrefix"), "myprefix-" }},
		{"node resource group", `{"nodeResourceGroup":"my-nodes",` + pool + `}`, "", func(v *view) { v.NodeRG = "my-nodes" }},
		{"minor version", `{"kubernetesVersion":"1.35",` + pool + `}`, "",
			func(v *view) { v.Version, v.Current, v.PoolVersion, v.PoolCurrent = "1.35", "1.35.4", "1.35", "1.35.4" }},
		{"patch version", `{"kubernetesVersion":"1.34.3",` + pool + `}`, "",
			func(v *view) {
				v.Version, v.Current, v.PoolVersion, v.PoolCurrent = "1.34.3", "1.34.3", "1.34.3", "1.34.3"
			}},
		{"older pool", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1,"orchestratorVersion":"1.34"}]}`, "",
			func(v *view) { v.Version, v.PoolVersion, v.PoolCurrent = "1.36", "1.34", "1.34.4" }},
		{"admin user default", `{"linuxProfile":{"ssh":{"publicKeys":[{"keyData":"ssh-rsa AAAA"}]}},` + pool + `}`, "", func(v *view) { v.Admin = "azureuser" }},
		{"issuer off", `{"oidcIssuerProfile":{"enabled":false},` + pool + `}`, "", func(v *view) { v.OIDC, v.Issuer = false, false }},
		{"sku tier", `{` + pool + `}`, `{"tier":"Standard"}`, func(v *view) { v.SKU = `{"name":"Base","tier":"Standard"}` }},
		{"legacy sku spellings", `{` + pool + `}`, `{"name":"basic","tier":"paid"}`, func(v *view) { v.SKU = `{"name":"Base","tier":"Standard"}` }},
		{"sku in any case", `{` + pool + `}`, `{"name":"automatic","tier":"PREMIUM"}`, func(v *view) { v.SKU = `{"name":"Automatic","tier":"Premium"}` }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			in := clusterBody(tt.props)
			in.SKU = json.RawMessage(tt.sku)
			c, pools, _, err := e.putCluster("c", in, fmt.Sprint("op-", i))
			if err != nil {
				t.Fatal(err)
			}
			want := base
			tt.change(&want)
			np, pp := c.Props.NetworkProfile, pools[0].Props
			got := view{Plugin: np.NetworkPlugin, PluginMode: np.NetworkPluginMode, PodCIDR: np.PodCIDR, MaxPods: *pp.MaxPods,
				DNSPrefix: c.Props.DNSPrefix, ID: c.Props.Localaks.ID, NodeRG: c.Props.NodeResourceGroup,
				Version: c.Props.KubernetesVersion, Current: c.Props.CurrentKubernetesVersion,
				PoolVersion: pp.OrchestratorVersion, PoolCurrent: pp.CurrentOrchestratorVersion,
				OIDC: *c.Props.OIDCIssuerProfile.Enabled, Issuer: c.Props.OIDCIssuerProfile.IssuerURL != "", SKU: string(c.Record.SKU)}
			if strings.HasPrefix(c.Props.FQDN, want.FQDNStart) {
				got.FQDNStart = want.FQDNStart
			} else {
				got.FQDNStart = c.Props.FQDN
			}
			if c.Props.LinuxProfile != nil {
				got.Admin = c.Props.LinuxProfile.AdminUsername
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutClusterCreateErrors(t *testing.T) {
	pool := `"agentPoolProfiles":[{"name":"np","count":1}]`
	at := func(loc string, props string) *ClusterInput {
		return &ClusterInput{Location: &loc, Properties: json.RawMessage(props)}
	}
	unknownRegion := fmt.Sprintf("No registered resource provider found for location 'mars' and API version '%s' for type 'managedClusters'. The supported api-versions are '%s'. The supported locations are '%s'.",
		APIVersions[0], strings.Join(APIVersions, ", "), strings.Join(regions.List(), ", "))
	tests := []struct {
		name string
		rg   string
		in   *ClusterInput
		sku  string
		want apiError
	}{
		{"no location", "rg1", &ClusterInput{Properties: json.RawMessage(`{` + pool + `}`)}, "",
			apiError{Status: 400, Code: "LocationRequired", Message: "The location property is required for this definition."}},
		{"blank location", "rg1", at("  ", `{`+pool+`}`), "",
			apiError{Status: 400, Code: "LocationRequired", Message: "The location property is required for this definition."}},
		{"unknown location", "rg1", at("mars", `{`+pool+`}`), "",
			apiError{Status: 400, Code: "NoRegisteredProviderFound", Message: unknownRegion}},
		{"no resource group", "rg2", at("eastus", `{`+pool+`}`), "",
			apiError{Status: 404, Code: "ResourceGroupNotFound", Message: "Resource group 'rg2' could not be found."}},
		{"sku name", "rg1", at("eastus", `{`+pool+`}`), `{"name":"Premium"}`,
			aksError(400, "InvalidParameter", "sku.name", "The managed cluster SKU name 'Premium' is not supported; use Base or Automatic.")},
		{"sku tier", "rg1", at("eastus", `{`+pool+`}`), `{"name":"Base","tier":"Gold"}`,
			aksError(400, "InvalidParameter", "sku.tier", "The managed cluster SKU tier 'Gold' is not supported; use Free, Standard or Premium.")},
		{"unsupported version", "rg1", at("eastus", `{"kubernetesVersion":"1.33",`+pool+`}`), "",
			aksError(400, "K8sVersionNotSupported", "kubernetesVersion",
				"Managed cluster c has invalid version 1.33. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list")},
		{"unknown patch", "rg1", at("eastus", `{"kubernetesVersion":"1.36.2",`+pool+`}`), "",
			aksError(400, "K8sVersionNotSupported", "kubernetesVersion",
				"Managed cluster c has invalid version 1.36.2. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list")},
		{"workload identity without issuer", "rg1",
			at("eastus", `{"oidcIssuerProfile":{"enabled":false},"securityProfile":{"workloadIdentity":{"enabled":true}},`+pool+`}`), "",
			aksError(400, "BadRequest", "securityProfile.workloadIdentity.enabled",
				"Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).")},
		{"autoscaler profile in seconds where minutes are due", "rg1",
			at("eastus", `{"autoScalerProfile":{"scale-down-delay-after-add":"30s"},`+pool+`}`), "",
			aksError(400, "InvalidParameter", "autoScalerProfile.scale-down-delay-after-add",
				"Invalid value specified for the cluster-autoscaler parameter 'scale-down-delay-after-add'. Please refer to https://aka.ms/cluster-autoscaler for more details.")},
		{"autoscaler scan interval in minutes", "rg1",
			at("eastus", `{"autoScalerProfile":{"scan-interval":"1m"},`+pool+`}`), "",
			aksError(400, "InvalidParameter", "autoScalerProfile.scan-interval",
				"Invalid value specified for the cluster-autoscaler parameter 'scan-interval'. Please refer to https://aka.ms/cluster-autoscaler for more details.")},
		{"autoscaler expander", "rg1",
			at("eastus", `{"autoScalerProfile":{"expander":"cheapest"},`+pool+`}`), "",
			aksError(400, "InvalidParameter", "autoScalerProfile.expander",
				"Invalid value specified for the cluster-autoscaler parameter 'expander'. Please refer to https://aka.ms/cluster-autoscaler for more details.")},
		{"legacy Azure AD", "rg1",
			at("eastus", `{"aadProfile":{"clientAppID":"a","serverAppID":"b","serverAppSecret":"c"},`+pool+`}`), "",
			aksError(400, "BadRequest", "aadProfile.managed",
				"Azure AD integration (legacy, with clientAppID and serverAppID) is retired; use AKS-managed Microsoft Entra integration (aadProfile.managed: true). See https://aka.ms/aks/managed-aad")},
		{"admin group not a GUID", "rg1",
			at("eastus", `{"aadProfile":{"managed":true,"adminGroupObjectIDs":["admins"]},`+pool+`}`), "",
			aksError(400, "InvalidParameter", "aadProfile.adminGroupObjectIDs", "The value of parameter aadProfile.adminGroupObjectIDs is invalid. Error details: Admin group object ID 'admins' is not a valid GUID. Please see https://aka.ms/aks-naming-rules for more details.")},
		{"Azure RBAC in another tenant", "rg1",
			at("eastus", `{"aadProfile":{"managed":true,"enableAzureRBAC":true,"tenantID":"11111111-2222-3333-4444-555555555555"},`+pool+`}`), "",
			aksError(400, "BadRequest", "aadProfile.enableAzureRBAC",
				"Azure RBAC for Kubernetes authorization requires the Microsoft Entra tenant of the cluster (11111111-2222-3333-4444-555555555555) to be the tenant of its subscription (tenant).")},
		{"local accounts off without Entra ID", "rg1",
			at("eastus", `{"disableLocalAccounts":true,`+pool+`}`), "",
			aksError(400, "BadRequest", "disableLocalAccounts", "Local accounts can only be disabled on clusters with Azure AD integration enabled (aadProfile).")},
		{"node auto-provisioning", "rg1",
			at("eastus", `{"nodeProvisioningProfile":{"mode":"Auto"},`+pool+`}`), "",
			aksError(400, "BadRequest", "nodeProvisioningProfile.mode",
				"Node auto-provisioning (nodeProvisioningProfile.mode 'Auto', AKS's managed Karpenter) is not available in localaks; use the cluster autoscaler on the node pools (enableAutoScaling, minCount, maxCount) instead.")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			id := resourceid.MustParse("/subscriptions/" + sub + "/resourceGroups/" + tt.rg + "/providers/Microsoft.ContainerService/managedClusters/c")
			tt.in.SKU = json.RawMessage(tt.sku)
			err := e.st.Update(context.Background(), func(tx store.Tx) error {
				_, _, _, err := e.val.PutCluster(tx, request(http.MethodPut, id), id, tt.in, "op-1")
				return err
			})
			checkError(t, err, tt.want)
		})
	}
}

func TestPutClusterUpdateErrors(t *testing.T) {
	const base = `{"kubernetesVersion":"1.35","dnsPrefix":"c","linuxProfile":{"adminUsername":"azureuser","ssh":{"publicKeys":[{"keyData":"ssh-rsa AAAA"}]}},
		"agentPoolProfiles":[{"name":"np","count":1}]}`
	immutable := func(name string) apiError {
		return aksError(400, "PropertyChangeNotAllowed", name, "Changing property '"+name+"' is not allowed.")
	}
	inProgress := func(what string) apiError {
		return aksError(409, "OperationNotAllowed", "", "Operation is not allowed: Another "+what+
			" is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details")
	}
	tests := []struct {
		name   string
		create string // base when empty
		setup  func(c *Cluster, pools []*Pool)
		header [2]string
		loc    string // eastus when empty
		sku    string
		props  string
		want   apiError
	}{
		{name: "unsupported version", props: `{"kubernetesVersion":"1.33"}`,
			want: aksError(400, "K8sVersionNotSupported", "kubernetesVersion",
				"Managed cluster c has invalid version 1.33. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list")},
		{name: "downgrade a minor", props: `{"kubernetesVersion":"1.34"}`,
			want: aksError(400, "NotAllowedDowngrade", "kubernetesVersion", "Downgrading Kubernetes version 1.35.4 to 1.34.4 is not allowed. Available upgrades: 1.36.1, 1.36.3.")},
		{name: "downgrade a patch", create: `{"kubernetesVersion":"1.34","agentPoolProfiles":[{"name":"np","count":1}]}`, props: `{"kubernetesVersion":"1.34.3"}`,
			want: aksError(400, "NotAllowedDowngrade", "kubernetesVersion", "Downgrading Kubernetes version 1.34.4 to 1.34.3 is not allowed. Available upgrades: 1.35.1, 1.35.4.")},
		{name: "skip a minor", props: `{"kubernetesVersion":"1.37"}`,
			want: aksError(400, "OperationNotAllowed", "kubernetesVersion",
				"Upgrading Kubernetes version 1.35.4 to 1.37.2 is not allowed. Available upgrades: 1.36.1, 1.36.3. Please see https://aka.ms/aks-supported-k8s-ver for version details.")},
		{name: "dnsPrefix", props: `{"dnsPrefix":"other"}`, want: immutable("dnsPrefix")},
		{name: "fqdnSubdomain", props: `{"fqdnSubdomain":"other"}`, want: immutable("fqdnSubdomain")},
		{name: "nodeResourceGroup", props: `{"nodeResourceGroup":"other-nodes"}`, want: immutable("nodeResourceGroup")},
		{name: "networkPlugin", props: `{"networkProfile":{"networkPlugin":"azure"}}`, want: immutable("networkProfile.networkPlugin")},
		{name: "podCidr", props: `{"networkProfile":{"podCidr":"10.245.0.0/16"}}`, want: immutable("networkProfile.podCidr")},
		{name: "serviceCidr", props: `{"networkProfile":{"serviceCidr":"10.1.0.0/16"}}`, want: immutable("networkProfile.serviceCidr")},
		{name: "dnsServiceIP", props: `{"networkProfile":{"dnsServiceIP":"10.0.0.11"}}`, want: immutable("networkProfile.dnsServiceIP")},
		{name: "loadBalancerSku", props: `{"networkProfile":{"loadBalancerSku":"basic"}}`, want: immutable("networkProfile.loadBalancerSku")},
		{name: "outboundType", props: `{"networkProfile":{"outboundType":"userDefinedRouting"}}`, want: immutable("networkProfile.outboundType")},
		{name: "adminUsername", props: `{"linuxProfile":{"adminUsername":"other","ssh":{"publicKeys":[{"keyData":"ssh-rsa AAAA"}]}}}`,
			want: immutable("linuxProfile.adminUsername")},
		{name: "pool vmSize", props: `{"agentPoolProfiles":[{"name":"np","vmSize":"Standard_D4s_v3"}]}`,
			want: aksError(400, "PropertyChangeNotAllowed", "agentPoolProfile.vmSize", "Changing property 'vmSize' is not allowed.")},
		{name: "new pool", props: `{"agentPoolProfiles":[{"name":"np","count":1},{"name":"extra","count":1}]}`,
			want: aksError(400, "BadRequest", "",
				"A new agent pool was introduced. Adding agent pools to an existing cluster is not allowed through managed cluster operations. For agent pool specific change, please use per agent pool operations: https://aka.ms/agent-pool-rest-api")},
		{name: "pods beyond the pod range", props: `{"agentPoolProfiles":[{"name":"np","count":300}]}`,
			want: aksError(400, "InsufficientSubnetSize", "networkProfile.podCIDR",
				"Pre-allocated IPs 76800 exceeds IPs available 65536 in Subnet Cidr 10.244.0.0/16, Subnet Name networkProfile.podCIDR. http://aka.ms/aks/insufficientsubnetsize")},
		{name: "Entra ID off", create: `{"aadProfile":{"managed":true},"agentPoolProfiles":[{"name":"np","count":1}]}`, props: `{"aadProfile":null}`,
			want: aksError(400, "BadRequest", "aadProfile.managed", "Managed Microsoft Entra integration cannot be disabled once it is enabled.")},
		{name: "issuer off", props: `{"oidcIssuerProfile":{"enabled":false}}`,
			want: aksError(400, "BadRequest", "oidcIssuerProfile.enabled", "The OIDC issuer cannot be disabled once it has been enabled.")},
		{name: "workload identity without issuer", create: `{"oidcIssuerProfile":{"enabled":false},"agentPoolProfiles":[{"name":"np","count":1}]}`,
			props: `{"securityProfile":{"workloadIdentity":{"enabled":true}}}`,
			want: aksError(400, "BadRequest", "securityProfile.workloadIdentity.enabled",
				"Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).")},
		{name: "stopped", setup: func(c *Cluster, pools []*Pool) { setPower(c, pools, PowerStopped) }, props: `{}`,
			want: aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: managed cluster is in Provisioning State(Succeeded) and Power State(Stopped), updating cannot be performed. Please start the cluster first: https://aka.ms/aks/start")},
		{name: "cluster operation running", setup: func(c *Cluster, _ []*Pool) { c.begin("op-other", StateUpgrading) }, props: `{}`,
			want: inProgress("operation (Upgrading)")},
		{name: "pool operation running", setup: func(_ *Cluster, pools []*Pool) { pools[0].begin("op-other", StateScaling) }, props: `{}`,
			want: inProgress("agentpool operation (np - Scaling)")},
		{name: "other location", loc: "westus", props: `{}`,
			want: apiError{Status: 400, Code: "InvalidResourceLocation",
				Message: "The resource 'c' already exists in location 'eastus' in resource group 'rg1'. A resource with the same name cannot be created in location 'westus'. Please select a new resource name."}},
		{name: "sku tier", sku: `{"tier":"Gold"}`, props: `{}`,
			want: aksError(400, "InvalidParameter", "sku.tier", "The managed cluster SKU tier 'Gold' is not supported; use Free, Standard or Premium.")},
		{name: "if-none-match", header: [2]string{"If-None-Match", "*"}, props: `{}`,
			want: apiError{Status: 412, Code: "PreconditionFailed", Message: "The condition specified using HTTP conditional header(s) is not met."}},
		{name: "if-match", header: [2]string{"If-Match", `"stale"`}, props: `{}`,
			want: apiError{Status: 412, Code: "PreconditionFailed", Message: "The condition specified using HTTP conditional header(s) is not met."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			create := tt.create
			if create == "" {
				create = base
			}
			e.ready("c", create)
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			before, beforePools := e.load("c")
			in := clusterBody(tt.props)
			if tt.loc != "" {
				in.Location = &tt.loc
			}
			in.SKU = json.RawMessage(tt.sku)
			req := request(http.MethodPut, clusterRID("c"))
			if tt.header[0] != "" {
				req.HTTP.Header.Set(tt.header[0], tt.header[1])
			}
			_, _, _, err := e.putClusterReq(req, "c", in, "op-update")
			checkError(t, err, tt.want)
			// A refused PUT changes nothing.
			after, afterPools := e.load("c")
			if diff := cmp.Diff(states(before, beforePools), states(after, afterPools)); diff != "" {
				t.Errorf("states changed (-before +after):\n%s", diff)
			}
		})
	}
}

// A PUT's omitted properties keep their values; what it names changes,
// networkProfile member by member.
func TestPutClusterUpdateKeepsOmitted(t *testing.T) {
	const create = `{"kubernetesVersion":"1.35","dnsPrefix":"keep","nodeResourceGroup":"keep-nodes",
		"linuxProfile":{"adminUsername":"ops","ssh":{"publicKeys":[{"keyData":"ssh-rsa AAAA"}]}},
		"networkProfile":{"networkPlugin":"azure","networkPluginMode":"overlay","podCidr":"10.100.0.0/16","serviceCidr":"10.2.0.0/16","dnsServiceIP":"10.2.0.10"},
		"apiServerAccessProfile":{"authorizedIPRanges":["203.0.113.0/24"]},
		"agentPoolProfiles":[{"name":"np","count":2}]}`
	tests := []struct {
		name, props string
		change      func(p *ClusterProperties)
	}{
		{"empty body", `{}`, func(*ClusterProperties) {}},
		{"same values", `{"dnsPrefix":"keep","nodeResourceGroup":"keep-nodes","kubernetesVersion":"1.35"}`, func(*ClusterProperties) {}},
		{"empty version", `{"kubernetesVersion":""}`, func(*ClusterProperties) {}},
		{"null version", `{"kubernetesVersion":null}`, func(*ClusterProperties) {}},
		{"same minor as a patch", `{"kubernetesVersion":"1.35.4"}`, func(p *ClusterProperties) { p.KubernetesVersion = "1.35.4" }},
		{"one network member", `{"networkProfile":{"networkPolicy":"calico"}}`, func(p *ClusterProperties) { p.NetworkProfile.NetworkPolicy = "calico" }},
		{"network enums in another case", `{"networkProfile":{"networkPlugin":"AZURE","loadBalancerSku":"Standard"}}`, func(*ClusterProperties) {}},
		{"read-only properties", `{"provisioningState":"Failed","fqdn":"x.example","currentKubernetesVersion":"1.34.3","maxAgentPools":3,"powerState":{"code":"Stopped"}}`,
			func(*ClusterProperties) {}},
		{"mutable property", `{"apiServerAccessProfile":{"authorizedIPRanges":["198.51.100.0/24"]}}`,
			func(p *ClusterProperties) { p.APIServerAccessProfile.AuthorizedIPRanges = []string{"198.51.100.0/24"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", create)
			before, beforePools := e.load("c")
			c, pools, created, err := e.putCluster("c", clusterBody(tt.props), "op-update")
			if err != nil {
				t.Fatal(err)
			}
			if created {
				t.Error("created = true for an update")
			}
			want := before.Props
			want.ProvisioningState = StateUpdating
			st := *want.Localaks
			st.Operation, st.OperationKind = "op-update", StateUpdating
			want.Localaks = &st
			tt.change(&want)
			if diff := cmp.Diff(want, c.Props); diff != "" {
				t.Errorf("cluster properties (-want +got):\n%s", diff)
			}
			wantPub, _ := before.Public()
			gotPub, _ := c.Public()
			for _, k := range []string{"storageProfile", "autoUpgradeProfile", "securityProfile"} {
				if diff := cmp.Diff(wantPub[k], gotPub[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			// Pools the body does not name are not touched.
			if diff := cmp.Diff(beforePools[0].Props, pools[0].Props); diff != "" {
				t.Errorf("pool (-want +got):\n%s", diff)
			}
		})
	}
}

// Tags are the body's: a PUT replaces them.
func TestPutClusterUpdateTags(t *testing.T) {
	e := newEnv(t)
	in := clusterBody(`{"agentPoolProfiles":[{"name":"np","count":1}]}`)
	in.Tags = map[string]string{"env": "dev", "team": "a"}
	if _, _, _, err := e.putCluster("c", in, "op-create"); err != nil {
		t.Fatal(err)
	}
	e.finish("c", "op-create", store.StatusSucceeded, "")
	in = clusterBody(`{}`)
	in.Tags = map[string]string{"env": "prod"}
	c, _, _, err := e.putCluster("c", in, "op-update")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"env": "prod"}, c.Record.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

// What a PUT changes decides the state the cluster and the pools it
// touches show: Updating, Scaling or Upgrading.
func TestPutClusterUpdateStates(t *testing.T) {
	const create = `{"kubernetesVersion":"1.35","agentPoolProfiles":[{"name":"np","count":1},{"name":"user","count":1,"mode":"User"},
		{"name":"old","count":1,"mode":"User","orchestratorVersion":"1.34"}]}`
	idle := stateOf{State: StateSucceeded, Power: PowerRunning}
	busy := func(state string) stateOf {
		return stateOf{State: state, Operation: "op-2", Kind: state, Power: PowerRunning}
	}
	tests := []struct {
		name, props string
		want        map[string]stateOf
	}{
		{"nothing", `{}`, map[string]stateOf{"cluster": busy(StateUpdating), "np": idle, "user": idle, "old": idle}},
		{"a setting", `{"disableLocalAccounts":false}`, map[string]stateOf{"cluster": busy(StateUpdating), "np": idle, "user": idle, "old": idle}},
		{"a pool's labels", `{"agentPoolProfiles":[{"name":"user","nodeLabels":{"tier":"web"}}]}`,
			map[string]stateOf{"cluster": busy(StateUpdating), "np": idle, "user": busy(StateUpdating), "old": idle}},
		{"a pool's count", `{"agentPoolProfiles":[{"name":"user","count":3}]}`,
			map[string]stateOf{"cluster": busy(StateScaling), "np": idle, "user": busy(StateScaling), "old": idle}},
		{"a pool's version", `{"agentPoolProfiles":[{"name":"old","orchestratorVersion":"1.35"}]}`,
			map[string]stateOf{"cluster": busy(StateUpdating), "np": idle, "user": idle, "old": busy(StateUpgrading)}},
		{"the same minor", `{"kubernetesVersion":"1.35.4"}`, map[string]stateOf{"cluster": busy(StateUpdating), "np": idle, "user": idle, "old": idle}},
		{"the version", `{"kubernetesVersion":"1.36"}`,
			map[string]stateOf{"cluster": busy(StateUpgrading), "np": busy(StateUpgrading), "user": busy(StateUpgrading), "old": idle}},
		{"the version and a count", `{"kubernetesVersion":"1.36.1","agentPoolProfiles":[{"name":"user","count":2}]}`,
			map[string]stateOf{"cluster": busy(StateUpgrading), "np": busy(StateUpgrading), "user": busy(StateScaling), "old": idle}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", create)
			c, pools, _, err := e.putCluster("c", clusterBody(tt.props), "op-2")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, states(c, pools)); diff != "" {
				t.Errorf("returned states (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, states(e.load("c"))); diff != "" {
				t.Errorf("saved states (-want +got):\n%s", diff)
			}
		})
	}
}

// An upgrade of the control plane moves the pools that were at its old
// version with it; pools held back stay where they are.
func TestPutClusterUpgradeMovesPools(t *testing.T) {
	const create = `{"kubernetesVersion":"1.35","agentPoolProfiles":[{"name":"np","count":1},
		{"name":"behind","count":1,"mode":"User","orchestratorVersion":"1.34"},{"name":"named","count":1,"mode":"User"}]}`
	type version struct{ Spec, Current, State string }
	tests := []struct {
		name, props string
		cluster     version
		pools       map[string]version
	}{
		{"version only", `{"kubernetesVersion":"1.36"}`, version{"1.36", "1.36.3", StateUpgrading}, map[string]version{
			"np": {"1.36", "1.36.3", StateUpgrading}, "behind": {"1.34", "1.34.4", StateSucceeded}, "named": {"1.36", "1.36.3", StateUpgrading}}},
		{"a patch", `{"kubernetesVersion":"1.36.1"}`, version{"1.36.1", "1.36.1", StateUpgrading}, map[string]version{
			"np": {"1.36.1", "1.36.1", StateUpgrading}, "behind": {"1.34", "1.34.4", StateSucceeded}, "named": {"1.36.1", "1.36.1", StateUpgrading}}},
		{"pools named with the new version", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"named","orchestratorVersion":"1.36"},{"name":"behind","orchestratorVersion":"1.35"}]}`,
			version{"1.36", "1.36.3", StateUpgrading}, map[string]version{
				"np": {"1.36", "1.36.3", StateUpgrading}, "behind": {"1.35", "1.35.4", StateUpgrading}, "named": {"1.36", "1.36.3", StateUpgrading}}},
		{"a pool named at its version stays", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"named","orchestratorVersion":"1.35"}]}`,
			version{"1.36", "1.36.3", StateUpgrading}, map[string]version{
				"np": {"1.36", "1.36.3", StateUpgrading}, "behind": {"1.34", "1.34.4", StateSucceeded}, "named": {"1.35", "1.35.4", StateUpdating}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", create)
			if _, _, _, err := e.putCluster("c", clusterBody(tt.props), "op-upgrade"); err != nil {
				t.Fatal(err)
			}
			c, pools := e.load("c")
			got := version{c.Props.KubernetesVersion, c.Props.CurrentKubernetesVersion, c.Props.ProvisioningState}
			if diff := cmp.Diff(tt.cluster, got); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			gotPools := map[string]version{}
			for _, p := range pools {
				gotPools[p.Record.Name] = version{p.Props.OrchestratorVersion, p.Props.CurrentOrchestratorVersion, p.Props.ProvisioningState}
			}
			if diff := cmp.Diff(tt.pools, gotPools); diff != "" {
				t.Errorf("pools (-want +got):\n%s", diff)
			}
		})
	}
}

// The OIDC issuer URL is made when the issuer is turned on and kept for the
// cluster's life, whatever a later body says of it.
func TestPutClusterIssuer(t *testing.T) {
	issuerURL := regexp.MustCompile(`^https://localhost:7443/oidc/eastus/tenant/[0-9a-f-]{36}/$`)
	tests := []struct {
		name, create, update string
		on                   bool
		url                  string // "same", "new" or "none"
	}{
		{"omitted keeps it", `{}`, `{}`, true, "same"},
		{"enabled again keeps it", `{}`, `{"oidcIssuerProfile":{"enabled":true}}`, true, "same"},
		{"a sent URL is ignored", `{}`, `{"oidcIssuerProfile":{"enabled":true,"issuerURL":"https://elsewhere.example/"}}`, true, "same"},
		{"off stays off", `{"oidcIssuerProfile":{"enabled":false}}`, `{}`, false, "none"},
		{"turned on", `{"oidcIssuerProfile":{"enabled":false}}`, `{"oidcIssuerProfile":{"enabled":true}}`, true, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			create := strings.TrimSuffix(tt.create, "}")
			if create != "{" {
				create += ","
			}
			e.ready("c", create+`"agentPoolProfiles":[{"name":"np","count":1}]}`)
			before, _ := e.load("c")
			c, _, _, err := e.putCluster("c", clusterBody(tt.update), "op-update")
			if err != nil {
				t.Fatal(err)
			}
			o := c.Props.OIDCIssuerProfile
			if o == nil || o.Enabled == nil || *o.Enabled != tt.on {
				t.Fatalf("issuer profile = %+v, want enabled %v", o, tt.on)
			}
			old := before.Props.OIDCIssuerProfile.IssuerURL
			switch tt.url {
			case "same":
				if o.IssuerURL != old || !issuerURL.MatchString(old) {
					t.Errorf("issuer URL %q, was %q; want it kept", o.IssuerURL, old)
				}
			case "new":
				if old != "" || !issuerURL.MatchString(o.IssuerURL) {
					t.Errorf("issuer URL %q, was %q; want a new one", o.IssuerURL, old)
				}
			case "none":
				if o.IssuerURL != "" {
					t.Errorf("issuer URL %q with the issuer off", o.IssuerURL)
				}
			}
		})
	}
}

// PATCH changes tags only, and carries them to the node resource group
// with AKS's own tags.
func TestPatchTags(t *testing.T) {
	e := newEnv(t)
	e.ready("c", `{"agentPoolProfiles":[{"name":"np","count":1}]}`)
	nrg := "/subscriptions/" + sub + "/resourceGroups/MC_rg1_c_eastus"
	e.update(func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: nrg, Type: "Microsoft.Resources/resourceGroups", Name: "MC_rg1_c_eastus", Location: "eastus",
			Properties: json.RawMessage(`{"provisioningState":"Succeeded"}`)})
	})
	before, _ := e.load("c")
	var c *Cluster
	e.update(func(tx store.Tx) error {
		var err error
		c, _, err = e.val.PatchTags(tx, request(http.MethodPatch, clusterRID("c")), clusterRID("c"), map[string]string{"env": "prod"})
		if err != nil {
			return err
		}
		return Save(tx, c)
	})
	if diff := cmp.Diff(map[string]string{"env": "prod"}, c.Record.Tags); diff != "" {
		t.Errorf("cluster tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(clusterState(before), clusterState(c)); diff != "" {
		t.Errorf("a PATCH changed the state (-before +after):\n%s", diff)
	}
	want := map[string]string{"aks-managed-cluster-name": "c", "aks-managed-cluster-rg": "rg1", "env": "prod"}
	if diff := cmp.Diff(want, e.get(nrg).Tags); diff != "" {
		t.Errorf("node resource group tags (-want +got):\n%s", diff)
	}

	tests := []struct {
		name  string
		id    resourceid.ID
		setup func(c *Cluster, pools []*Pool)
		want  apiError
	}{
		{"missing cluster", clusterRID("nope"), nil, apiError{Status: 404, Code: "ResourceNotFound",
			Message: "The Resource 'Microsoft.ContainerService/managedClusters/nope' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}},
		{"operation running", clusterRID("c"), func(c *Cluster, _ []*Pool) { c.begin("op-x", StateScaling) },
			aksError(409, "OperationNotAllowed", "", "Operation is not allowed: Another operation (Scaling) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			err := e.st.View(context.Background(), func(tx store.Tx) error {
				_, _, err := e.val.PatchTags(tx, request(http.MethodPatch, tt.id), tt.id, nil)
				return err
			})
			checkError(t, err, tt.want)
		})
	}
}
