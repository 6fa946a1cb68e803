package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPoolFollowsItsScaleSet: a client's capacity PUT on a pool's scale set
// (the cluster autoscaler's scale-up body) and a delete of one of its
// instances (its scale-down) run as the pool's own operations: the pool's
// count follows, the instances are AKS's (computer names, pod ranges), and
// the deleted instance is the one that goes.
func TestPoolFollowsItsScaleSet(t *testing.T) {
	in := start(t, Config{})
	if r := in.do("PUT", in.sub()+"/resourcegroups/rg1"+v, `{"location":"eastus"}`); r.status != 201 {
		t.Fatal(r.status)
	}
	mc := in.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	r := in.do("PUT", mc+"?api-version=2025-10-01", `{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"c1",
		"agentPoolProfiles":[{"name":"system","count":1,"vmSize":"Standard_DS2_v2","mode":"System"},
		{"name":"user","count":1,"vmSize":"Standard_D2s_v5","mode":"User","enableAutoScaling":true,"minCount":1,"maxCount":5}],
		"networkProfile":{"networkPlugin":"kubenet"}}}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	in.waitSucceeded(t, r.header.Get("Azure-AsyncOperation"))
	nodeRG := in.sub() + "/resourceGroups/MC_rg1_c1_eastus"
	var vmss string
	for _, s := range in.do("GET", nodeRG+"/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=2022-03-01", "").body["value"].([]any) {
		if id := s.(map[string]any)["id"].(string); strings.Contains(id, "aks-user-") {
			vmss = id
		}
	}
	if vmss == "" {
		t.Fatal("no scale set for pool user")
	}
	instances := func() []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, i := range in.do("GET", vmss+"/virtualMachines?api-version=2022-03-01", "").body["value"].([]any) {
			out = append(out, i.(map[string]any))
		}
		return out
	}
	count := func() float64 {
		t.Helper()
		return in.do("GET", mc+"/agentPools/user?api-version=2025-10-01", "").body["properties"].(map[string]any)["count"].(float64)
	}

	// Scale-up, as cluster-autoscaler's Azure provider sends it.
	up := in.do("PUT", vmss+"?api-version=2022-03-01", `{"name":"x","location":"eastus","sku":{"name":"Standard_D2s_v5","tier":"Standard","capacity":3}}`)
	if up.status != 200 || up.body["sku"].(map[string]any)["capacity"] != float64(3) || up.header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("capacity PUT: %d %s %v", up.status, up.raw, up.header)
	}
	in.waitSucceeded(t, up.header.Get("Azure-AsyncOperation"))
	got := instances()
	if len(got) != 3 || count() != 3 {
		t.Fatalf("after the scale-up: %d instances, count %v", len(got), count())
	}
	// AKS's instances: its computer names, and a pod range each (kubenet).
	for _, i := range got {
		props := i["properties"].(map[string]any)
		name := props["osProfile"].(map[string]any)["computerName"].(string)
		if !strings.HasPrefix(name, "aks-user-") {
			t.Errorf("instance %v: computer name %q", i["instanceId"], name)
		}
	}
	routes := in.do("GET", nodeRG+"/providers/Microsoft.Network/routeTables?api-version=2024-05-01", "")
	raw, _ := json.Marshal(routes.body)
	for _, i := range got {
		name := i["properties"].(map[string]any)["osProfile"].(map[string]any)["computerName"].(string)
		if !strings.Contains(string(raw), name) {
			t.Errorf("no route for %s (kubenet)", name)
		}
	}

	// Scale-down of one chosen instance.
	victim := got[1]["instanceId"].(string)
	down := in.do("POST", vmss+"/delete?api-version=2022-03-01", `{"instanceIds":["`+victim+`"]}`)
	if down.status != 202 || down.header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("delete instances: %d %s", down.status, down.raw)
	}
	in.waitSucceeded(t, down.header.Get("Azure-AsyncOperation"))
	left := instances()
	if len(left) != 2 || count() != 2 {
		t.Fatalf("after the delete: %d instances, count %v", len(left), count())
	}
	for _, i := range left {
		if i["instanceId"] == victim {
			t.Errorf("instance %s is still there", victim)
		}
	}
	// An instance the scale set does not have.
	if r := in.do("POST", vmss+"/delete?api-version=2022-03-01", `{"instanceIds":["999"]}`); r.status != 404 {
		t.Errorf("delete of an instance that does not exist: %d %s", r.status, r.raw)
	}
}
