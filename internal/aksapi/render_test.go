package aksapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares v, as indented JSON, with testdata/name.golden.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from %s (run go test -update to accept):\n%s", name, path, cmp.Diff(string(want), string(got)))
	}
}

const (
	clusterID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	nodeRG    = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/MC_rg1_c1_eastus"
)

// storedCluster is a cluster record as the store holds it: API properties,
// defaulted profiles kept as sent, and the hidden localaks state.
func storedCluster(t *testing.T) *aks.Cluster {
	t.Helper()
	c, err := aks.DecodeCluster(&store.Resource{
		ID: clusterID, Type: aks.ClusterType, Name: "c1", Location: "eastus",
		Tags:     map[string]string{"env": "dev"},
		SKU:      json.RawMessage(`{"name":"Base","tier":"Free"}`),
		Identity: json.RawMessage(`{"type":"SystemAssigned","principalId":"11111111-1111-1111-1111-111111111111","tenantId":"22222222-2222-2222-2222-222222222222"}`),
		Properties: json.RawMessage(`{
			"provisioningState":"Succeeded","powerState":{"code":"Running"},"maxAgentPools":100,
			"kubernetesVersion":"1.36","currentKubernetesVersion":"1.36.3","dnsPrefix":"c1",
			"fqdn":"c1-0a1b2c3d.hcp.eastus.azmk8s.io","azurePortalFQDN":"c1-0a1b2c3d.portal.hcp.eastus.azmk8s.io",
			"servicePrincipalProfile":{"clientId":"msi"},"nodeResourceGroup":"MC_rg1_c1_eastus","enableRBAC":true,"disableLocalAccounts":false,
			"networkProfile":{"networkPlugin":"kubenet","podCidr":"10.244.0.0/16","serviceCidr":"10.0.0.0/16","dnsServiceIP":"10.0.0.10",
				"outboundType":"loadBalancer","loadBalancerSku":"standard",
				"loadBalancerProfile":{"managedOutboundIPs":{"count":1},"backendPoolType":"nodeIPConfiguration",
					"effectiveOutboundIPs":[{"id":"` + nodeRG + `/providers/Microsoft.Network/publicIPAddresses/33333333-3333-3333-3333-333333333333"}]},
				"podCidrs":["10.244.0.0/16"],"serviceCidrs":["10.0.0.0/16"],"ipFamilies":["IPv4"]},
			"oidcIssuerProfile":{"enabled":true,"issuerURL":"https://localhost:7443/oidc/eastus/22222222-2222-2222-2222-222222222222/44444444-4444-4444-4444-444444444444/"},
			"identityProfile":{"kubeletidentity":{"resourceId":"` + nodeRG + `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool",
				"clientId":"55555555-5555-5555-5555-555555555555","objectId":"66666666-6666-6666-6666-666666666666"}},
			"storageProfile":{"diskCSIDriver":{"enabled":true},"fileCSIDriver":{"enabled":true},"snapshotController":{"enabled":true}},
			"autoUpgradeProfile":{"nodeOSUpgradeChannel":"NodeImage"},"securityProfile":{},
			"supportPlan":"KubernetesOfficial","resourceUID":"0123456789abcdef01234567",
			"localaks":{"id":"12345678","fqdnHash":"0a1b2c3d","vnetSubnetId":"` + nodeRG + `/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678/subnets/aks-subnet",
				"apiServerPort":40001,"advertiseAddress":"198.18.0.7","cloudClientId":"77777777-7777-7777-7777-777777777777","cloudSecret":"cloud-secret"}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func storedPool(t *testing.T, name, mode string, count int) *aks.Pool {
	t.Helper()
	vmss := nodeRG + "/providers/Microsoft.Compute/virtualMachineScaleSets/aks-" + name + "-12345678-vmss"
	props, err := json.Marshal(map[string]any{
		"count": count, "vmSize": "Standard_DS2_v2", "osDiskSizeGB": 128, "osDiskType": "Managed", "kubeletDiskType": "OS",
		"maxPods": 110, "osType": "Linux", "osSKU": "Ubuntu", "enableAutoScaling": false, "type": "VirtualMachineScaleSets", "mode": mode,
		"orchestratorVersion": "1.36", "currentOrchestratorVersion": "1.36.3", "nodeImageVersion": aks.Versions.NodeImage,
		"upgradeSettings": map[string]any{"maxSurge": "10%"}, "provisioningState": "Succeeded", "powerState": map[string]any{"code": "Running"},
		"enableNodePublicIP": false, "scaleSetPriority": "Regular", "enableFIPS": false, "enableEncryptionAtHost": false, "enableUltraSSD": false,
		"nodeLabels": map[string]string{"tier": name},
		"localaks":   map[string]any{"vmss": vmss, "deleteMachines": []string{"aks-" + name + "-12345678-vmss000001"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := aks.DecodePool(&store.Resource{ID: clusterID + "/agentPools/" + name, Type: aks.PoolType, Name: name, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func getRequest(apiVersion string) *arm.Request {
	return &arm.Request{HTTP: httptest.NewRequest(http.MethodGet, clusterID, nil), APIVersion: apiVersion}
}

func TestShapeForVersion(t *testing.T) {
	tests := []struct {
		name, version string
		props, want   map[string]any
	}{
		{"old version gets the docker bridge", "2022-11-01",
			map[string]any{"networkProfile": map[string]any{"networkPlugin": "kubenet"}},
			map[string]any{"networkProfile": map[string]any{"networkPlugin": "kubenet", "dockerBridgeCidr": "172.17.0.1/16"}}},
		{"old preview version", "2023-04-02-preview",
			map[string]any{"networkProfile": map[string]any{}},
			map[string]any{"networkProfile": map[string]any{"dockerBridgeCidr": "172.17.0.1/16"}}},
		{"old version keeps a stored bridge", "2021-05-01",
			map[string]any{"networkProfile": map[string]any{"dockerBridgeCidr": "172.18.0.1/16"}},
			map[string]any{"networkProfile": map[string]any{"dockerBridgeCidr": "172.18.0.1/16"}}},
		{"2023-05-01 drops it", "2023-05-01",
			map[string]any{"networkProfile": map[string]any{"networkPlugin": "azure", "dockerBridgeCidr": "172.17.0.1/16"}},
			map[string]any{"networkProfile": map[string]any{"networkPlugin": "azure"}}},
		{"later preview drops it", "2023-05-02-preview",
			map[string]any{"networkProfile": map[string]any{"dockerBridgeCidr": "172.17.0.1/16"}},
			map[string]any{"networkProfile": map[string]any{}}},
		{"current version has none", "2025-10-01",
			map[string]any{"networkProfile": map[string]any{"networkPlugin": "kubenet"}},
			map[string]any{"networkProfile": map[string]any{"networkPlugin": "kubenet"}}},
		{"no network profile", "2022-11-01",
			map[string]any{"dnsPrefix": "c1"},
			map[string]any{"dnsPrefix": "c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shapeForVersion(tt.version, tt.props)
			if diff := cmp.Diff(tt.want, tt.props); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A cluster renders with its pools as agentPoolProfiles (named, in order),
// as the api-version has it, and without localaks's hidden state.
func TestRenderCluster(t *testing.T) {
	for _, version := range []string{"2022-11-01", "2025-10-01"} {
		t.Run(version, func(t *testing.T) {
			c := storedCluster(t)
			pools := []*aks.Pool{storedPool(t, "nodepool1", "System", 3), storedPool(t, "user", "User", 2)}
			body, err := (&Provider{}).render(getRequest(version), c, pools)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, hidden := range []string{"localaks", "cloud-secret", "deleteMachines", "fqdnHash", "apiServerPort"} {
				if strings.Contains(string(raw), hidden) {
					t.Errorf("the body shows hidden state %q", hidden)
				}
			}
			if body.Type != "Microsoft.ContainerService/ManagedClusters" {
				t.Errorf("type = %q", body.Type)
			}
			var names []string
			for _, p := range body.Properties["agentPoolProfiles"].([]map[string]any) {
				names = append(names, p["name"].(string))
			}
			if diff := cmp.Diff([]string{"nodepool1", "user"}, names); diff != "" {
				t.Errorf("agentPoolProfiles names (-want +got):\n%s", diff)
			}
			_, bridge := body.Properties["networkProfile"].(map[string]any)["dockerBridgeCidr"]
			if want := version < "2023-05-01"; bridge != want {
				t.Errorf("dockerBridgeCidr shown %v, want %v", bridge, want)
			}
			golden(t, "cluster-"+version, body)
		})
	}
}

// A cluster without pools (a list of its own) shows no agentPoolProfiles.
func TestRenderClusterWithoutPools(t *testing.T) {
	body, err := (&Provider{}).render(getRequest("2025-10-01"), storedCluster(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := body.Properties["agentPoolProfiles"]; ok {
		t.Errorf("agentPoolProfiles = %v, want none", body.Properties["agentPoolProfiles"])
	}
	if body.ID != clusterID || body.Name != "c1" || body.Location != "eastus" || string(body.SKU) != `{"name":"Base","tier":"Free"}` ||
		!cmp.Equal(body.Tags, map[string]string{"env": "dev"}) {
		t.Errorf("envelope = %s %s %s %s %v", body.ID, body.Name, body.Location, body.SKU, body.Tags)
	}
}

// An agent pool renders without its name in the properties and without
// hidden state.
func TestRenderPool(t *testing.T) {
	body, err := renderPool(storedPool(t, "user", "User", 2))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "localaks") || strings.Contains(string(raw), "deleteMachines") {
		t.Error("the pool body shows hidden state")
	}
	if _, ok := body.Properties["name"]; ok {
		t.Error("the pool's properties carry its name")
	}
	if body.ID != clusterID+"/agentPools/user" || body.Name != "user" || body.Type != "Microsoft.ContainerService/managedClusters/agentPools" {
		t.Errorf("envelope = %s %s %s", body.ID, body.Name, body.Type)
	}
	golden(t, "agentpool", body)
}

func TestMaintenanceBody(t *testing.T) {
	created := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := &store.Resource{ID: clusterID + "/maintenanceConfigurations/default", Type: aks.MaintenanceType, Name: "default",
		Properties: json.RawMessage(`{"timeInWeek":[{"day":"Monday","hourSlots":[1,2]}]}`),
		SystemData: store.SystemData{CreatedBy: "user@example.com", CreatedByType: "User", CreatedAt: created}}
	got, err := maintenanceBody(r)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": clusterID + "/maintenanceConfigurations/default", "name": "default",
		"type":       "Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
		"properties": map[string]any{"timeInWeek": []any{map[string]any{"day": "Monday", "hourSlots": []any{1.0, 2.0}}}},
		"systemData": store.SystemData{CreatedBy: "user@example.com", CreatedByType: "User", CreatedAt: created},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	r.Properties = json.RawMessage(`[`)
	if _, err := maintenanceBody(r); err == nil || !strings.HasPrefix(err.Error(), "maintenance configuration "+r.ID+": ") {
		t.Errorf("undecodable properties: %v", err)
	}
}

// commandResults shows a command running, its result once it succeeded,
// and the reason once it failed. (The tests take provisioningState in any
// case: the reference's SPEC examples spell it in lower case, az compares
// it capitalised.)
func TestRunCommandResult(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	end := start.Add(5 * time.Second)
	tests := []struct {
		name  string
		op    *store.Operation
		state string
		want  map[string]any // properties without provisioningState
	}{
		{"running", &store.Operation{ID: "abc123", Status: store.StatusInProgress, StartTime: start},
			"running", map[string]any{"startedAt": "2026-11-25T10:00:00Z"}},
		{"succeeded", &store.Operation{ID: "abc123", Status: store.StatusSucceeded, StartTime: start, EndTime: end,
			Result: json.RawMessage(`{"id":"abc123","properties":{"provisioningState":"Succeeded","exitCode":3,"logs":"namespace dummy created\n","startedAt":"2026-11-25T10:00:00Z","finishedAt":"2026-11-25T10:00:05Z"}}`)},
			"succeeded", map[string]any{"exitCode": 3.0, "logs": "namespace dummy created\n", "startedAt": "2026-11-25T10:00:00Z", "finishedAt": "2026-11-25T10:00:05Z"}},
		{"failed", &store.Operation{ID: "abc123", Status: store.StatusFailed, StartTime: start, EndTime: end,
			Error: &store.OperationError{Code: "InternalError", Message: "the API server did not answer"}},
			"failed", map[string]any{"startedAt": "2026-11-25T10:00:00Z", "finishedAt": "2026-11-25T10:00:05Z", "reason": "the API server did not answer"}},
		{"canceled", &store.Operation{ID: "abc123", Status: store.StatusCanceled, StartTime: start, EndTime: end},
			"failed", map[string]any{"startedAt": "2026-11-25T10:00:00Z", "finishedAt": "2026-11-25T10:00:05Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCommandResult(tt.op)
			if got["id"] != "abc123" {
				t.Errorf("id = %v", got["id"])
			}
			props, ok := got["properties"].(map[string]any)
			if !ok {
				t.Fatalf("properties = %#v", got["properties"])
			}
			state, _ := props["provisioningState"].(string)
			if !strings.EqualFold(state, tt.state) {
				t.Errorf("provisioningState = %q, want %q", state, tt.state)
			}
			rest := map[string]any{}
			for k, v := range props {
				if k != "provisioningState" {
					rest[k] = v
				}
			}
			if diff := cmp.Diff(tt.want, rest); diff != "" {
				t.Errorf("properties (-want +got):\n%s", diff)
			}
		})
	}
}

// A machine is a scale set instance named by its node name.
func TestMachine(t *testing.T) {
	poolID := clusterID + "/agentPools/user"
	vmss := nodeRG + "/providers/Microsoft.Compute/virtualMachineScaleSets/aks-user-12345678-vmss"
	props := &compute.InstanceProperties{}
	props.OSProfile.ComputerName = "aks-user-12345678-vmss000002"
	props.Localaks.PrivateIP = "10.224.0.6"
	want := map[string]any{
		"id": poolID + "/machines/aks-user-12345678-vmss000002", "name": "aks-user-12345678-vmss000002",
		"type": "Microsoft.ContainerService/managedClusters/agentPools/machines",
		"properties": map[string]any{
			"network":    map[string]any{"ipAddresses": []map[string]string{{"family": "IPv4", "ip": "10.224.0.6"}}},
			"resourceId": vmss + "/virtualMachines/2",
		},
	}
	got := machine(poolID, &store.Resource{ID: vmss + "/virtualMachines/2", Name: "2"}, props)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("machine (-want +got):\n%s", diff)
	}
	want["zones"] = []string{"2"}
	got = machine(poolID, &store.Resource{ID: vmss + "/virtualMachines/2", Name: "2", Zones: []string{"2"}}, props)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zonal machine (-want +got):\n%s", diff)
	}
}
