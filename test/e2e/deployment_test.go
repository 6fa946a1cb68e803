package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// TestAzDeployment: az deployment group create with an ARM template (with
// comments and trailing commas, as az sends them): a VNet, a copy loop of
// public IPs and an Azure CNI cluster in the VNet's subnet, outputs that
// use reference(); deployment show/list/operations; a deployment whose
// resource the provider refuses fails with the provider's error; az
// commands built on deployments (az network lb create) work.
func TestAzDeployment(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	mustAz(t, s.localaksAz("group", "create", "-n", "tpl", "-l", "westeurope"))
	template := filepath.Join("testdata", "aks-template.json")
	var d struct {
		Name       string
		Properties struct {
			ProvisioningState string
			Outputs           map[string]struct{ Value string }
			OutputResources   []struct{ ID string }
			Parameters        map[string]struct{ Value any }
		}
	}
	mustAz(t, s.localaksAz("deployment", "group", "validate", "-g", "tpl", "--template-file", template, "--parameters", "prefix=demo"))
	mustAz(t, s.localaksAz("deployment", "group", "create", "-g", "tpl", "-n", "d1", "--template-file", template,
		"--parameters", "prefix=demo", "nodeCount=3")).json(t, &d)
	p := d.Properties
	if d.Name != "d1" || p.ProvisioningState != "Succeeded" || len(p.OutputResources) != 5 || p.Parameters["nodeCount"].Value != float64(3) {
		t.Errorf("deployment = %+v", d)
	}
	var mc struct {
		Fqdn, NodeResourceGroup string
		AgentPoolProfiles       []struct {
			Count        int
			VnetSubnetID string
		}
	}
	mustAz(t, s.localaksAz("aks", "show", "-g", "tpl", "-n", "demo-aks")).json(t, &mc)
	if p.Outputs["fqdn"].Value != mc.Fqdn || p.Outputs["nodeResourceGroup"].Value != "MC_tpl_demo-aks_westeurope" ||
		mc.AgentPoolProfiles[0].Count != 3 || !strings.HasSuffix(mc.AgentPoolProfiles[0].VnetSubnetID, "/virtualNetworks/demo-vnet/subnets/nodes") {
		t.Errorf("outputs %+v, cluster %+v", p.Outputs, mc)
	}
	// The role assignment on the VNet is for the cluster's kubelet identity.
	var kubelet string
	mustAz(t, s.localaksAz("aks", "show", "-g", "tpl", "-n", "demo-aks", "--query", "identityProfile.kubeletidentity.objectId")).json(t, &kubelet)
	_, _, ras := s.request("GET", s.sub()+"/resourceGroups/tpl/providers/Microsoft.Network/virtualNetworks/demo-vnet/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", "")
	// atScope() lists what applies there, inherited ones too (the built-in
	// principal's Owner on the subscription); the VNet's own is one.
	var own []map[string]any
	list, _ := ras["value"].([]any)
	for _, a := range list {
		props := a.(map[string]any)["properties"].(map[string]any)
		if strings.HasSuffix(props["scope"].(string), "/virtualNetworks/demo-vnet") {
			own = append(own, props)
		}
	}
	if len(own) != 1 || kubelet == "" || own[0]["principalId"] != kubelet {
		t.Errorf("role assignments on the VNet: %v (kubelet %s)", ras, kubelet)
	}
	var ip string
	mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", "tpl", "--query", "[?name=='demo-ip0'].ipAddress | [0]")).json(t, &ip)
	if ip == "" || p.Outputs["ip0"].Value != ip {
		t.Errorf("ip0 output %q, address %q", p.Outputs["ip0"].Value, ip)
	}
	kc := s.credentials(t, "tpl", "demo-aks")
	if nodes := strings.Fields(mustKubectl(t, kc, "get", "nodes", "-o", "name")); len(nodes) != 3 {
		t.Errorf("nodes = %v", nodes)
	}
	var ops []string
	mustAz(t, s.localaksAz("deployment", "operation", "group", "list", "-g", "tpl", "-n", "d1",
		"--query", "[].properties.targetResource.resourceName")).json(t, &ops)
	if len(ops) != 5 || !slices.Equal(ops[:4], []string{"demo-vnet", "demo-ip0", "demo-ip1", "demo-aks"}) {
		t.Errorf("deployment operations = %v", ops)
	}
	var names []string
	mustAz(t, s.localaksAz("resource", "list", "-g", "tpl", "--query", "[].name")).json(t, &names)
	if slices.Contains(names, "d1") || len(names) != 4 {
		t.Errorf("resources in the group = %v (deployments are not resources)", names)
	}

	// A resource the provider refuses fails the deployment with its error.
	bad := filepath.Join(t.TempDir(), "bad.json")
	writeFile(t, bad, `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0", "parameters": {"name": {"type": "string"}},
  "resources": [{"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-02-01", "name": "[parameters('name')]",
    "location": "westeurope", "identity": {"type": "SystemAssigned"},
    "properties": {"dnsPrefix": "bad", "agentPoolProfiles": [{"name": "system", "count": 0, "vmSize": "Standard_DS2_v2", "mode": "System"}]}}]}`)
	r := s.localaksAz("deployment", "group", "create", "-g", "tpl", "-n", "bad", "--template-file", bad, "--parameters", "name=x")
	if r.code == 0 || !strings.Contains(r.stderr, "DeploymentFailed") || !strings.Contains(r.stderr, "agentPoolProfile.count was 0. It must be greater or equal to minCount:1") {
		t.Errorf("failing deployment: exit %d %s", r.code, r.stderr)
	}
	var state []string
	mustAz(t, s.localaksAz("deployment", "group", "show", "-g", "tpl", "-n", "bad", "--query", "[properties.provisioningState, properties.error.code]")).json(t, &state)
	if !slices.Equal(state, []string{"Failed", "DeploymentFailed"}) {
		t.Errorf("failed deployment shows %v", state)
	}
	// A template error is InvalidTemplate, before anything is deployed.
	invalid := filepath.Join(t.TempDir(), "invalid.json")
	writeFile(t, invalid, `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-04-01",
    "name": "[nope('x')]", "location": "westeurope"}]}`)
	r = s.localaksAz("deployment", "group", "create", "-g", "tpl", "-n", "invalid", "--template-file", invalid)
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidTemplate") || !strings.Contains(r.stderr, "'nope' is not valid") {
		t.Errorf("unknown parameter: exit %d %s", r.code, r.stderr)
	}

	// az commands that deploy templates themselves.
	mustAz(t, s.localaksAz("network", "lb", "create", "-g", "tpl", "-n", "mylb", "--sku", "Standard"))
	var lbs []string
	mustAz(t, s.localaksAz("network", "lb", "list", "-g", "tpl", "--query", "[].name")).json(t, &lbs)
	if !slices.Equal(lbs, []string{"mylb"}) {
		t.Errorf("load balancers = %v", lbs)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSDKDeployment deploys a template with armresources' DeploymentsClient
// and reads its outputs.
func TestSDKDeployment(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	groups, _ := armresources.NewResourceGroupsClient(s.Client.SubscriptionID, cred, armOpts)
	if _, err := groups.CreateOrUpdate(ctx, "sdk-tpl", armresources.ResourceGroup{Location: to.Ptr("northeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	deployments, err := armdeployments.NewDeploymentsClient(s.Client.SubscriptionID, cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	var template map[string]any
	json.Unmarshal([]byte(`{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
	  "contentVersion": "1.0.0.0", "parameters": {"name": {"type": "string"}},
	  "resources": [{"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "[parameters('name')]",
	    "location": "[resourceGroup().location]", "properties": {"addressSpace": {"addressPrefixes": ["10.5.0.0/16"]}}}],
	  "outputs": {"id": {"type": "string", "value": "[resourceId('Microsoft.Network/virtualNetworks', parameters('name'))]"},
	    "prefixes": {"type": "array", "value": "[reference(parameters('name')).addressSpace.addressPrefixes]"}}}`), &template)
	poller, err := deployments.BeginCreateOrUpdate(ctx, "sdk-tpl", "vnet", armdeployments.Deployment{Properties: &armdeployments.DeploymentProperties{
		Mode: to.Ptr(armdeployments.DeploymentModeIncremental), Template: template,
		Parameters: map[string]*armdeployments.DeploymentParameter{"name": {Value: "net1"}},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := poller.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	outputs, _ := res.Properties.Outputs.(map[string]any)
	id, _ := outputs["id"].(map[string]any)
	prefixes, _ := outputs["prefixes"].(map[string]any)
	if *res.Properties.ProvisioningState != armdeployments.ProvisioningStateSucceeded || !strings.HasSuffix(fmt.Sprint(id["value"]), "/virtualNetworks/net1") ||
		fmt.Sprint(prefixes["value"]) != "[10.5.0.0/16]" {
		t.Errorf("deployment = %+v, outputs %v", res.Properties, outputs)
	}
	vnets, _ := armnetwork.NewVirtualNetworksClient(s.Client.SubscriptionID, cred, armOpts)
	if _, err := vnets.Get(ctx, "sdk-tpl", "net1", nil); err != nil {
		t.Errorf("deployed VNet: %v", err)
	}
}

// TestKillDuringDeployment: serve dies while a deployment's cluster is
// being created; after the restart both the cluster's operation and the
// deployment finish, each resource deployed once.
func TestKillDuringDeployment(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServeEnv(t, dataDir, []string{"LOCALAKS_FAILPOINTS=aks:after:virtual network"})
	if status, _, body := s.request("PUT", s.sub()+"/resourcegroups/tk?api-version=2021-04-01", `{"location":"eastus"}`); status != 201 {
		t.Fatalf("group: %d %v", status, body)
	}
	path := s.sub() + "/resourceGroups/tk/providers/Microsoft.Resources/deployments/d?api-version=2022-09-01"
	status, hdr, body := s.request("PUT", path, `{"properties":{"mode":"Incremental","template":{
	  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0",
	  "resources": [
	    {"type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-04-01", "name": "ip", "location": "eastus", "sku": {"name": "Standard"},
	     "properties": {"publicIPAllocationMethod": "Static"}},
	    {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2025-10-01", "name": "c1", "location": "eastus", "dependsOn": ["ip"],
	     "identity": {"type": "SystemAssigned"}, "properties": {"dnsPrefix": "c1", "agentPoolProfiles": [{"name": "system", "count": 2, "mode": "System"}]}}]}}}`)
	if status != 201 || hdr.Get("Location") == "" {
		t.Fatalf("deploy: %d %v", status, body)
	}
	s.waitDead()
	s = startServe(t, dataDir)
	deadline := time.Now().Add(90 * time.Second)
	for {
		status, _, body = s.request("GET", path, "")
		props, _ := body["properties"].(map[string]any)
		if props["provisioningState"] == "Succeeded" {
			break
		}
		if status != 200 || props["provisioningState"] != "Running" || time.Now().After(deadline) {
			t.Fatalf("deployment after restart: %d %v", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, _, ops := s.request("GET", strings.Replace(path, "?", "/operations?", 1), "")
	var targets []string
	for _, o := range ops["value"].([]any) {
		p := o.(map[string]any)["properties"].(map[string]any)
		targets = append(targets, p["targetResource"].(map[string]any)["resourceName"].(string)+" "+p["provisioningState"].(string))
	}
	if !slices.Equal(targets, []string{"ip Succeeded", "c1 Succeeded"}) {
		t.Errorf("deployment operations after restart: %v", targets)
	}
	_, _, mc := s.request("GET", s.sub()+"/resourceGroups/tk/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2025-10-01", "")
	if ps := mc["properties"].(map[string]any)["provisioningState"]; ps != "Succeeded" {
		t.Errorf("cluster after restart: %v", ps)
	}
}
