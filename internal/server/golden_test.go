package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/aks"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// normalize replaces what differs from run to run (GUIDs, hashes, times,
// MAC addresses) so bodies can be compared with golden files.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<guid>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`00-0D-3A-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}`), "<mac>"},
	{regexp.MustCompile(`-[0-9a-f]{8}\.(portal\.)?hcp\.`), "-<hash>.${1}hcp."},
	{regexp.MustCompile(`"resourceUID": "[0-9a-f]{24}"`), `"resourceUID": "<hex24>"`},
	{regexp.MustCompile(`_[0-9a-f]{32}"`), `_<hex32>"`},
	{regexp.MustCompile(`https://localhost:\d+/`), `https://localhost:<port>/`},
}

func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, body)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	for _, n := range normalizers {
		pretty = n.re.ReplaceAll(pretty, []byte(n.with))
	}
	pretty = append(pretty, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, pretty) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", name, path, diffLines(string(want), string(pretty)))
	}
}

// diffLines shows the first differing lines.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestGoldenBodies creates a cluster with the exact body az 2.45 sends and
// compares what AKS's API returns — the cluster in two api-versions, a pool,
// and the node resource group's network and compute resources — with golden
// files.
// waitSucceeded polls an operation until it ends, failing the test unless
// it succeeded, and returns the last status body.
func (in *instance) waitSucceeded(t *testing.T, aao string) reply {
	t.Helper()
	aao = strings.TrimPrefix(aao, in.srv.URL())
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := in.do("GET", aao, "")
		if st.body["status"] == "Succeeded" {
			return st
		}
		if st.body["status"] != "InProgress" || time.Now().After(deadline) {
			t.Fatalf("operation: %s", st.raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGoldenBodies(t *testing.T) {
	in := start(t, Config{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", SubscriptionID: "00000000-1111-2222-3333-444444444444"})
	if r := in.do("PUT", in.sub()+"/resourcegroups/rg1"+v, `{"location":"eastus"}`); r.status != 201 {
		t.Fatal(r.status)
	}
	mc := in.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	azBody := `{"location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"kubernetesVersion": "", "dnsPrefix": "c1-rg1-000000",
		"agentPoolProfiles": [{"count": 3, "vmSize": "Standard_DS2_v2", "osDiskSizeGB": 0, "osType": "Linux", "enableAutoScaling": false,
		"type": "VirtualMachineScaleSets", "mode": "System", "orchestratorVersion": "", "upgradeSettings": {}, "enableNodePublicIP": false,
		"scaleSetPriority": "Regular", "scaleSetEvictionPolicy": "Delete", "spotMaxPrice": -1.0, "nodeTaints": [], "enableEncryptionAtHost": false,
		"enableUltraSSD": false, "enableFIPS": false, "name": "nodepool1"}], "linuxProfile": {"adminUsername": "azureuser", "ssh": {"publicKeys":
		[{"keyData": "ssh-rsa AAAAtest"}]}}, "addonProfiles": {}, "enableRBAC": true, "networkProfile": {"networkPlugin": "kubenet",
		"podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10", "dockerBridgeCidr": "172.17.0.1/16",
		"outboundType": "loadBalancer", "loadBalancerSku": "standard"}, "disableLocalAccounts": false, "storageProfile": {}}}`
	r := in.do("PUT", mc+"?api-version=2022-11-01", azBody)
	if r.status != 201 || r.header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	golden(t, "cluster-create-201", r.raw)
	aao := strings.TrimPrefix(r.header.Get("Azure-AsyncOperation"), in.srv.URL())
	if !strings.Contains(aao, "/providers/Microsoft.ContainerService/locations/eastus/operations/") || !strings.HasSuffix(aao, "api-version=2016-03-30") {
		t.Errorf("Azure-AsyncOperation = %s", aao)
	}
	golden(t, "operation-succeeded", in.waitSucceeded(t, aao).raw)
	for _, c := range []struct{ name, path string }{
		{"cluster-2022-11-01", mc + "?api-version=2022-11-01"},
		{"cluster-2025-10-01", mc + "?api-version=2025-10-01"},
		{"agentpool", mc + "/agentPools/nodepool1?api-version=2025-10-01"},
		{"upgradeprofile", mc + "/upgradeProfiles/default?api-version=2025-10-01"},
		{"kubernetesversions", in.sub() + "/providers/Microsoft.ContainerService/locations/eastus/kubernetesVersions?api-version=2025-10-01"},
		{"orchestrators", in.sub() + "/providers/Microsoft.ContainerService/locations/eastus/orchestrators?api-version=2019-04-01&resource-type=managedClusters"},
	} {
		r := in.do("GET", c.path, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", c.name, r.status, r.raw)
		}
		golden(t, c.name, r.raw)
	}
	nrg := in.sub() + "/resourceGroups/MC_rg1_c1_eastus/providers/"
	id := aks.ClusterID("c1-rg1-000000")
	for _, c := range []struct{ name, path string }{
		{"node-loadbalancer", nrg + "Microsoft.Network/loadBalancers/kubernetes?api-version=2024-07-01"},
		{"node-vnet", nrg + "Microsoft.Network/virtualNetworks/aks-vnet-" + id + "?api-version=2024-07-01"},
		{"node-nsg", nrg + "Microsoft.Network/networkSecurityGroups/aks-agentpool-" + id + "-nsg?api-version=2024-07-01"},
		{"node-routetable", nrg + "Microsoft.Network/routeTables/aks-agentpool-" + id + "-routetable?api-version=2024-07-01"},
		{"node-vmss", nrg + "Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-" + id + "-vmss?api-version=2024-07-01"},
		{"node-vmss-instance", nrg + "Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-" + id + "-vmss/virtualMachines/0?api-version=2024-07-01"},
		{"node-vmss-nic", nrg + "Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-" + id + "-vmss/virtualMachines/0/networkInterfaces/aks-nodepool1-" + id + "-vmss?api-version=2018-10-01"},
		{"node-identity", nrg + "Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool?api-version=2023-01-31"},
	} {
		r := in.do("GET", c.path, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", c.name, r.status, r.raw)
		}
		golden(t, c.name, r.raw)
	}
}
