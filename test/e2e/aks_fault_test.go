package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

const mcAPI = "?api-version=2025-10-01"

// waitDead waits for a serve that a failpoint kills.
func (s *serve) waitDead() {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.t.Fatal("serve did not hit its failpoint")
	}
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		s.t.Fatalf("serve ended with %v, not by its failpoint's SIGKILL", s.cmd.ProcessState)
	}
}

// waitOperation polls an Azure-AsyncOperation URL (rebased on s) until the
// operation ends, and returns its status.
func (s *serve) waitOperation(aao string) string {
	s.t.Helper()
	u, err := url.Parse(aao)
	if err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute) // a loaded machine creates real nodes slowly
	for {
		status, _, body := s.request("GET", u.RequestURI(), "")
		if st, _ := body["status"].(string); status == 200 && st != "InProgress" {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("operation %s did not finish: %d %v", aao, status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inventory is a sorted "type name" list of a resource group's resources.
func (s *serve) inventory(rg string) []string {
	s.t.Helper()
	_, _, body := s.request("GET", s.sub()+"/resourceGroups/"+rg+"/resources?api-version=2021-04-01", "")
	var out []string
	for _, v := range body["value"].([]any) {
		r := v.(map[string]any)
		out = append(out, fmt.Sprint(r["type"], " ", r["name"]))
	}
	sort.Strings(out)
	return out
}

// instances counts a scale set's instances and returns their names.
func (s *serve) instanceNames(rg, vmss string) []string {
	s.t.Helper()
	_, _, body := s.request("GET", s.sub()+"/resourceGroups/"+rg+"/providers/Microsoft.Compute/virtualMachineScaleSets/"+vmss+"/virtualMachines?api-version=2024-07-01", "")
	var out []string
	for _, v := range body["value"].([]any) {
		out = append(out, v.(map[string]any)["properties"].(map[string]any)["osProfile"].(map[string]any)["computerName"].(string))
	}
	return out
}

func (s *serve) routes(rg, table string) int {
	s.t.Helper()
	_, _, body := s.request("GET", s.sub()+"/resourceGroups/"+rg+"/providers/Microsoft.Network/routeTables/"+table+"/routes?api-version=2024-07-01", "")
	return len(body["value"].([]any))
}

// TestKillDuringClusterOperations kills serve (SIGKILL, from failpoints in
// the reconciler and the operation engine) in the middle of a create, a
// scale and a delete. After each restart the operation completes on its own
// and the node resource group has exactly what it should: nothing missing,
// nothing twice.
func TestKillDuringClusterOperations(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	if status, _, body := s.request("PUT", s.sub()+"/resourcegroups/rg1?api-version=2021-04-01", `{"location":"eastus"}`); status != 201 {
		t.Fatalf("group: %d %v", status, body)
	}
	s.kill(syscall.SIGTERM)
	cluster := "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1" + mcAPI
	body := `{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"c1",
		"agentPoolProfiles":[{"name":"nodepool1","count":3,"mode":"System"}],"networkProfile":{"networkPlugin":"kubenet"}}}`

	// Create, killed right after the virtual network step.
	s = startServeEnv(t, dataDir, []string{"LOCALAKS_FAILPOINTS=aks:after:virtual network"})
	status, hdr, resp := s.request("PUT", fmt.Sprintf(cluster, s.Client.SubscriptionID), body)
	if status != 201 {
		t.Fatalf("create: %d %v", status, resp)
	}
	aao := hdr.Get("Azure-AsyncOperation")
	s.waitDead()
	s = startServe(t, dataDir)
	if st := s.waitOperation(aao); st != "Succeeded" {
		t.Fatalf("create after restart: %s", st)
	}
	_, _, mc := s.request("GET", fmt.Sprintf(cluster, s.Client.SubscriptionID), "")
	if ps := mc["properties"].(map[string]any)["provisioningState"]; ps != "Succeeded" {
		t.Errorf("cluster state after resumed create: %v", ps)
	}
	inv := s.inventory("MC_rg1_c1_eastus")
	if len(inv) != 7 {
		t.Errorf("node resource group after resumed create:\n%s", strings.Join(inv, "\n"))
	}
	var vmss, table string
	for _, r := range inv {
		if name, ok := strings.CutPrefix(r, "Microsoft.Compute/virtualMachineScaleSets "); ok {
			vmss = name
		}
		if name, ok := strings.CutPrefix(r, "Microsoft.Network/routeTables "); ok {
			table = name
		}
	}
	if got := s.instanceNames("MC_rg1_c1_eastus", vmss); len(got) != 3 || s.routes("MC_rg1_c1_eastus", table) != 3 {
		t.Errorf("after resumed create: instances %v, routes %d", got, s.routes("MC_rg1_c1_eastus", table))
	}
	s.kill(syscall.SIGTERM)

	// Scale to 5, killed after the scale sets step (before the operation
	// records its end).
	s = startServeEnv(t, dataDir, []string{"LOCALAKS_FAILPOINTS=aks:after:scale sets"})
	pool := strings.Replace(fmt.Sprintf(cluster, s.Client.SubscriptionID), mcAPI, "/agentPools/nodepool1"+mcAPI, 1)
	status, hdr, resp = s.request("PUT", pool, `{"properties":{"count":5}}`)
	if status != 200 {
		t.Fatalf("scale: %d %v", status, resp)
	}
	aao = hdr.Get("Azure-AsyncOperation")
	s.waitDead()
	s = startServe(t, dataDir)
	if st := s.waitOperation(aao); st != "Succeeded" {
		t.Fatalf("scale after restart: %s", st)
	}
	if got := s.instanceNames("MC_rg1_c1_eastus", vmss); len(got) != 5 || s.routes("MC_rg1_c1_eastus", table) != 5 {
		t.Errorf("after resumed scale: instances %v, routes %d", got, s.routes("MC_rg1_c1_eastus", table))
	}
	_, _, pl := s.request("GET", pool, "")
	if props := pl["properties"].(map[string]any); props["count"] != float64(5) || props["provisioningState"] != "Succeeded" {
		t.Errorf("pool after resumed scale: %v", props)
	}
	s.kill(syscall.SIGTERM)

	// Delete, killed after the node resource group is gone but before the
	// operation records its end.
	// A delete is answered once its operation has ended when that takes
	// under 300 ms, so the crash may come before the answer: the
	// operation was stored first and resumes all the same.
	s = startServeEnv(t, dataDir, []string{"LOCALAKS_FAILPOINTS=arm:before-finish:Microsoft.ContainerService/managedClusters/delete"})
	status, hdr, resp, err := s.tryRequest("DELETE", fmt.Sprintf(cluster, s.Client.SubscriptionID), "")
	aao = ""
	switch {
	case err != nil:
		t.Logf("delete: no answer before the crash (%v)", err)
	case status != 202:
		t.Fatalf("delete: %d %v", status, resp)
	default:
		aao = hdr.Get("Azure-AsyncOperation")
	}
	s.waitDead()
	s = startServe(t, dataDir)
	if aao != "" {
		if st := s.waitOperation(aao); st != "Succeeded" {
			t.Fatalf("delete after restart: %s", st)
		}
	}
	until(t, 60*time.Second, func() bool {
		status, _, _ := s.request("GET", fmt.Sprintf(cluster, s.Client.SubscriptionID), "")
		return status == 404
	})
	if status, _, _ := s.request("GET", s.sub()+"/resourcegroups/MC_rg1_c1_eastus?api-version=2021-04-01", ""); status != 404 {
		t.Errorf("node resource group after resumed delete: %d", status)
	}
	// Nothing is left anywhere in the subscription but the user's group.
	_, _, all := s.request("GET", s.sub()+"/resources?api-version=2021-04-01", "")
	if left := all["value"].([]any); len(left) != 0 {
		raw, _ := json.Marshal(left)
		t.Errorf("resources left: %s", raw)
	}
}

// TestNodeResourceGroupLockdown: restrictionLevel ReadOnly denies writes to
// the node resource group (reads still work) with ARM's deny-assignment
// error; Unrestricted lifts it.
func TestNodeResourceGroupLockdown(t *testing.T) {
	t.Parallel()
	s := startServe(t, "")
	s.request("PUT", s.sub()+"/resourcegroups/rg1?api-version=2021-04-01", `{"location":"eastus"}`)
	cluster := s.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/locked" + mcAPI
	status, hdr, resp := s.request("PUT", cluster, `{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"locked",
		"nodeResourceGroupProfile":{"restrictionLevel":"ReadOnly"},"agentPoolProfiles":[{"name":"np","count":1,"mode":"System"}]}}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, resp)
	}
	if st := s.waitOperation(hdr.Get("Azure-AsyncOperation")); st != "Succeeded" {
		t.Fatalf("create: %s", st)
	}
	nsg := s.sub() + "/resourceGroups/MC_rg1_locked_eastus/providers/Microsoft.Network/networkSecurityGroups/mine?api-version=2024-07-01"
	status, _, resp = s.request("PUT", nsg, `{"location":"eastus"}`)
	e, _ := resp["error"].(map[string]any)
	if status != 403 || e["code"] != "DenyAssignmentAuthorizationFailed" || !strings.Contains(fmt.Sprint(e["message"]), "Microsoft.Network/networkSecurityGroups/write") {
		t.Errorf("write to the locked node resource group: %d %v", status, resp)
	}
	if status, _, _ := s.request("GET", s.sub()+"/resourceGroups/MC_rg1_locked_eastus/resources?api-version=2021-04-01", ""); status != 200 {
		t.Errorf("read of the locked node resource group: %d", status)
	}
	status, hdr, resp = s.request("PUT", cluster, `{"location":"eastus","properties":{"nodeResourceGroupProfile":{"restrictionLevel":"Unrestricted"}}}`)
	if status != 200 {
		t.Fatalf("unlock: %d %v", status, resp)
	}
	if st := s.waitOperation(hdr.Get("Azure-AsyncOperation")); st != "Succeeded" {
		t.Fatalf("unlock: %s", st)
	}
	if status, _, resp := s.request("PUT", nsg, `{"location":"eastus"}`); status != 201 {
		t.Errorf("write after unlock: %d %v", status, resp)
	}
}

// TestAbort: abort cancels a running create; the operation and the cluster
// end Canceled, and a second abort finds nothing to abort.
func TestAbort(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--operation-min-duration", "2m")
	s.request("PUT", s.sub()+"/resourcegroups/rg1?api-version=2021-04-01", `{"location":"eastus"}`)
	cluster := s.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	status, hdr, resp := s.request("PUT", cluster+mcAPI, `{"location":"eastus","properties":{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"np","count":1,"mode":"System"}]}}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, resp)
	}
	if status, _, resp := s.request("POST", cluster+"/abort"+mcAPI, ""); status != 204 {
		t.Fatalf("abort: %d %v", status, resp)
	}
	if st := s.waitOperation(hdr.Get("Azure-AsyncOperation")); st != "Canceled" {
		t.Errorf("aborted operation ended %s", st)
	}
	_, _, mc := s.request("GET", cluster+mcAPI, "")
	if ps := mc["properties"].(map[string]any)["provisioningState"]; ps != "Canceled" {
		t.Errorf("cluster after abort: %v", ps)
	}
	status, _, resp = s.request("POST", cluster+"/abort"+mcAPI, "")
	if status != 409 || resp["code"] != "OperationNotAllowed" {
		t.Errorf("second abort: %d %v", status, resp)
	}
}
