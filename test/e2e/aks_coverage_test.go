package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/aksapi"
)

// TestAKSAPICoverage calls every operation of the newest stable AKS spec
// (internal/aksapi/data/operations.json) at every api-version localaks
// accepts from the first that has it. Reads aim at resources that exist
// (a cluster with an Istio mesh profile, its pool and machine, a
// maintenance configuration, a snapshot, a trusted access binding, an
// identity binding, a managed namespace, a command's result) and must answer 200 (a command's result 200 or 202);
// writes and actions aim at a cluster that does not exist, so they cannot
// change what is read, and must be routed (any answer but an unknown
// type or api-version, an unrouted path, 405 or 501). Operations the data
// marks as not served must be unrouted: the README's table, rendered from
// the same data, stays true.
func TestAKSAPICoverage(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	mustAz(t, s.localaksAz("group", "create", "-n", "cov", "-l", "eastus", "-o", "none"))
	mustAz(t, s.aksCreate(t, "-g", "cov", "-n", "c1", "--node-count", "1"))
	token := "Bearer " + s.token("https://management.core.windows.net//.default")
	newest := aks.APIVersions[0]
	for _, v := range aks.APIVersions {
		if !strings.HasSuffix(v, "-preview") {
			newest = v
			break
		}
	}
	call := func(method, path, version string, body any) (int, string, string, http.Header) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, s.URL+path+"?api-version="+version, rd)
		req.Header.Set("Authorization", token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := s.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(raw, &e) //nolint:errcheck // not every answer is an error
		return resp.StatusCode, e.Error.Code, string(raw), resp.Header
	}
	must := func(method, path string, body any, want ...int) (string, http.Header) {
		t.Helper()
		status, _, raw, h := call(method, path, newest, body)
		for _, w := range want {
			if status == w {
				return raw, h
			}
		}
		t.Fatalf("%s %s: %d %s", method, path, status, raw)
		return "", nil
	}
	rg := s.sub() + "/resourceGroups/cov/providers/Microsoft.ContainerService"
	cluster := rg + "/managedClusters/c1"

	// What the reads read: an Istio mesh profile on the cluster, a
	// maintenance configuration, a snapshot, a binding, a command.
	raw, _ := must("GET", cluster, nil, 200)
	var mc map[string]any
	if err := json.Unmarshal([]byte(raw), &mc); err != nil {
		t.Fatal(err)
	}
	mc["properties"].(map[string]any)["serviceMeshProfile"] = map[string]any{"mode": "Istio", "istio": map[string]any{"revisions": []string{"asm-1-26"}}}
	must("PUT", cluster, mc, 200, 201)
	mustAz(t, s.localaksAz("aks", "wait", "-g", "cov", "-n", "c1", "--updated", "--interval", "1"))
	must("PUT", cluster+"/maintenanceConfigurations/default", map[string]any{"properties": map[string]any{
		"timeInWeek": []any{map[string]any{"day": "Monday", "hourSlots": []int{1}}}}}, 200, 201)
	must("PUT", rg+"/snapshots/s1", map[string]any{"location": "eastus", "properties": map[string]any{
		"creationData": map[string]string{"sourceResourceId": cluster + "/agentPools/nodepool1"}}}, 200, 201)
	must("PUT", cluster+"/trustedAccessRoleBindings/b1", map[string]any{"properties": map[string]any{
		"sourceResourceId": s.sub() + "/resourceGroups/cov/providers/Microsoft.MachineLearningServices/workspaces/ml",
		"roles":            []string{"Microsoft.MachineLearningServices/workspaces/reader"}}}, 200, 201)
	must("PUT", cluster+"/managedNamespaces/ns1", map[string]any{"location": "eastus", "properties": map[string]any{}}, 201)
	mustAz(t, s.localaksAz("identity", "create", "-g", "cov", "-n", "ibident", "-o", "none"))
	must("PUT", cluster+"/identityBindings/ib1", map[string]any{"properties": map[string]any{"managedIdentity": map[string]string{
		"resourceId": s.sub() + "/resourceGroups/cov/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ibident"}}}, 200, 201)
	_, h := must("POST", cluster+"/runCommand", map[string]string{"command": "kubectl get ns"}, 202)
	commandID := h.Get("Location")
	commandID = commandID[strings.LastIndex(commandID, "/")+1:]
	commandID, _, _ = strings.Cut(commandID, "?")
	raw, _ = must("GET", cluster+"/agentPools/nodepool1/machines", nil, 200)
	var machines struct{ Value []struct{ Name string } }
	if json.Unmarshal([]byte(raw), &machines) != nil || len(machines.Value) == 0 {
		t.Fatalf("machines: %s", raw)
	}

	params := map[string]string{
		"subscriptionId": s.Client.SubscriptionID, "resourceGroupName": "cov", "location": "eastus", "mode": "istio",
		"agentPoolName": "nodepool1", "machineName": machines.Value[0].Name, "configName": "default", "commandId": commandID,
		"trustedAccessRoleBindingName": "b1", "roleName": "clusterUser", "managedNamespaceName": "ns1",
		"identityBindingName": "ib1", "privateEndpointConnectionName": "pec1",
	}
	unrouted := func(status int, code, raw string) bool {
		switch code {
		case "InvalidResourceType", "NoRegisteredProviderFound", "InvalidApiVersionParameter", "InvalidResourceNamespace":
			return true
		}
		return status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented ||
			status == http.StatusNotFound && strings.Contains(raw, "is not an Azure Resource Manager resource path")
	}
	calls, failures := 0, 0
	for _, op := range aksapi.SpecOperations() {
		read := op.Method == http.MethodGet
		path := op.Path
		for k, v := range params {
			path = strings.ReplaceAll(path, "{"+k+"}", v)
		}
		name := "c1"
		if op.Family() == "Snapshots" {
			name = "s1"
		}
		if !read {
			// Writes and actions aim at a cluster that is not there.
			name = "absent"
		}
		path = strings.ReplaceAll(path, "{resourceName}", name)
		if strings.Contains(path, "{") {
			t.Fatalf("%s: a parameter is left in %s", op.OperationID, path)
		}
		for _, v := range aks.APIVersions {
			since := op.StableSince
			if strings.HasSuffix(v, "-preview") {
				since = op.PreviewSince
			}
			if since == "" && v != newest || since != "" && v < since {
				continue
			}
			var body any
			if op.Method == http.MethodPut || op.Method == http.MethodPatch || op.Method == http.MethodPost {
				body = map[string]any{}
			}
			status, code, raw, _ := call(op.Method, path, v, body)
			calls++
			bad := ""
			switch {
			case !op.Served && !unrouted(status, code, raw):
				bad = "is marked not served but is routed"
			case op.Served && unrouted(status, code, raw):
				bad = "is not routed"
			case op.Served && read && status != 200 && !(op.OperationID == "ManagedClusters_GetCommandResult" && status == 202):
				bad = "does not read what is there"
			}
			if bad != "" {
				failures++
				if failures <= 40 {
					t.Errorf("%s %s (%s) at %s %s: %d %s", op.Method, path, op.OperationID, v, bad, status, raw)
				}
			}
		}
	}
	if failures > 40 {
		t.Errorf("… %d failures in all", failures)
	}
	t.Logf("%d calls of %d operations", calls, len(aksapi.SpecOperations()))
	if calls < len(aksapi.SpecOperations()) {
		t.Errorf("only %d calls", calls)
	}
}
