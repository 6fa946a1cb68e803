package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/uuid"
)

// TestSDKRoleAssignments drives Microsoft.Authorization with
// armauthorization (az 2.45's role commands are broken client-side):
// built-in role definitions by name, assignments at a resource group and
// on a resource, ARM's errors, listing by scope and principal, deletion.
func TestSDKRoleAssignments(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	groups, _ := armresources.NewResourceGroupsClient(sub, cred, armOpts)
	if _, err := groups.CreateOrUpdate(ctx, "rbac", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
	rg := "/subscriptions/" + sub + "/resourceGroups/rbac"
	defs, _ := armauthorization.NewRoleDefinitionsClient(cred, armOpts)
	var acrPull string
	for pager := defs.NewListPager("/subscriptions/"+sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'AcrPull'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			acrPull = *d.ID
		}
	}
	if !strings.HasSuffix(acrPull, "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d") {
		t.Fatalf("AcrPull = %q", acrPull)
	}
	assignments, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, armOpts)
	principal := uuid.NewString()
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(acrPull), PrincipalID: to.Ptr(principal), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}
	name := uuid.NewString()
	created, err := assignments.Create(ctx, rg, name, params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Properties.Scope != rg || *created.Properties.PrincipalID != principal || *created.Type != "Microsoft.Authorization/roleAssignments" {
		t.Errorf("created = %+v", created.Properties)
	}
	// Again under the same name: 200; under another: RoleAssignmentExists.
	if _, err := assignments.Create(ctx, rg, name, params, nil); err != nil {
		t.Errorf("idempotent create: %v", err)
	}
	for _, c := range []struct {
		name   string
		params armauthorization.RoleAssignmentCreateParameters
		status int
		code   string
	}{
		{uuid.NewString(), params, http.StatusConflict, "RoleAssignmentExists"},
		{"not-a-guid", params, http.StatusBadRequest, "InvalidRoleAssignmentId"},
		{uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + uuid.NewString()),
			PrincipalID:      to.Ptr(principal)}}, http.StatusBadRequest, "RoleDefinitionDoesNotExist"},
	} {
		_, err := assignments.Create(ctx, rg, c.name, c.params, nil)
		if re := respErr(err); re == nil || re.StatusCode != c.status || re.ErrorCode != c.code {
			t.Errorf("create %s: %v, want %d %s", c.name, err, c.status, c.code)
		}
	}
	if _, err := assignments.Create(ctx, rg+"/providers/Microsoft.Network/virtualNetworks/missing", uuid.NewString(), params, nil); respErr(err) == nil || respErr(err).StatusCode != 404 {
		t.Errorf("assignment on a missing resource: %v", err)
	}
	n := 0
	for pager := assignments.NewListForResourceGroupPager("rbac", &armauthorization.RoleAssignmentsClientListForResourceGroupOptions{
		Filter: to.Ptr("principalId eq '" + principal + "'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Errorf("%d assignments for the principal", n)
	}
	if _, err := assignments.Delete(ctx, rg, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := assignments.Get(ctx, rg, name, nil); respErr(err) == nil || respErr(err).StatusCode != 404 {
		t.Errorf("get after delete: %v", err)
	}
}

// TestSDKCustomRoleDefinition: a custom role through armauthorization —
// created at a group, read, listed as a custom role there, assigned under
// its assignable scope (not outside it), refused a second role of its name,
// kept while assigned, deleted.
func TestSDKCustomRoleDefinition(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	groups, _ := armresources.NewResourceGroupsClient(sub, cred, armOpts)
	for _, g := range []string{"custom", "elsewhere"} {
		if _, err := groups.CreateOrUpdate(ctx, g, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rg := "/subscriptions/" + sub + "/resourceGroups/custom"
	defs, _ := armauthorization.NewRoleDefinitionsClient(cred, armOpts)
	id := uuid.NewString()
	role := armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("AKS scale-set operator"), Description: to.Ptr("scales node pools' scale sets"), RoleType: to.Ptr("CustomRole"),
		Permissions: []*armauthorization.Permission{{
			Actions:    to.SliceOfPtrs("Microsoft.Compute/virtualMachineScaleSets/*"),
			NotActions: to.SliceOfPtrs("Microsoft.Compute/virtualMachineScaleSets/delete"),
		}},
		AssignableScopes: to.SliceOfPtrs(rg),
	}}
	created, err := defs.CreateOrUpdate(ctx, rg, id, role, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Properties.RoleType != "CustomRole" || *created.Name != id || *created.Properties.Permissions[0].NotActions[0] != "Microsoft.Compute/virtualMachineScaleSets/delete" {
		t.Fatalf("created = %+v", created.Properties)
	}
	if got, err := defs.Get(ctx, rg, id, nil); err != nil || *got.Properties.RoleName != "AKS scale-set operator" {
		t.Fatalf("get: %v %+v", err, got)
	}
	n := 0
	for pager := defs.NewListPager(rg, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'CustomRole'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Errorf("%d custom roles at the group", n)
	}
	again := role
	if _, err := defs.CreateOrUpdate(ctx, rg, uuid.NewString(), again, nil); respErr(err) == nil || respErr(err).ErrorCode != "RoleDefinitionWithSameNameExists" {
		t.Errorf("a second role of the name: %v", err)
	}
	assignments, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, armOpts)
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: created.ID, PrincipalID: to.Ptr(uuid.NewString()), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}
	name := uuid.NewString()
	if _, err := assignments.Create(ctx, rg, name, params, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := assignments.Create(ctx, "/subscriptions/"+sub+"/resourceGroups/elsewhere", uuid.NewString(), params, nil); respErr(err) == nil || respErr(err).StatusCode != 403 {
		t.Errorf("assignment outside the assignable scopes: %v", err)
	}
	if _, err := defs.Delete(ctx, rg, id, nil); respErr(err) == nil || respErr(err).ErrorCode != "RoleDefinitionHasAssignments" {
		t.Errorf("delete while assigned: %v", err)
	}
	if _, err := assignments.Delete(ctx, rg, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := defs.Delete(ctx, rg, id, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := defs.Get(ctx, rg, id, nil); respErr(err) == nil || respErr(err).StatusCode != 404 {
		t.Errorf("get after delete: %v", err)
	}
}

// TestSDKEnforcedRBAC: role assignments are enforced. The built-in
// principal (Owner of the subscription) works as ever; a service principal
// registered in the directory signs in with its secret but may do nothing
// until a role says so: 403 AuthorizationFailed with
// ARM's message; Reader on a group lets it read the group, not write to
// it, and not read another group.
func TestSDKEnforcedRBAC(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	ctx := context.Background()
	owner := s.credential(t, s.Client.TenantID)
	opts, armOpts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	groups, _ := armresources.NewResourceGroupsClient(sub, owner, armOpts)
	for _, g := range []string{"team", "other"} {
		if _, err := groups.CreateOrUpdate(ctx, g, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pipelineID, pipelineSecret, pipelineOID := s.newServicePrincipal(t, "pipeline")
	pipeline, err := azidentity.NewClientSecretCredential(s.Client.TenantID, pipelineID, pipelineSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pipeline.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenObjectID(t, tok.Token); got != pipelineOID {
		t.Fatalf("token oid %s, want the service principal's %s", got, pipelineOID)
	}
	theirs, _ := armresources.NewResourceGroupsClient(sub, pipeline, armOpts)
	_, err = theirs.Get(ctx, "team", nil)
	re := respErr(err)
	want := fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/%s/resourceGroups/team' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		pipelineID, pipelineOID, sub)
	if re == nil || re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" || !strings.Contains(err.Error(), want) {
		t.Fatalf("no role: %v", err)
	}
	// Reader on the group.
	assignments, _ := armauthorization.NewRoleAssignmentsClient(sub, owner, armOpts)
	assign := func(scope, role string) { grantRole(t, assignments, scope, role, pipelineOID) }
	assign("/subscriptions/"+sub+"/resourceGroups/team", "acdd72a7-3385-48ef-bd42-f606fba81ae7")
	if _, err := theirs.Get(ctx, "team", nil); err != nil {
		t.Fatalf("Reader's read: %v", err)
	}
	if _, err := theirs.CreateOrUpdate(ctx, "team", armresources.ResourceGroup{Location: to.Ptr("eastus"), Tags: map[string]*string{"x": to.Ptr("y")}}, nil); respErr(err) == nil || respErr(err).StatusCode != 403 {
		t.Errorf("Reader's write: %v", err)
	}
	if _, err := theirs.Get(ctx, "other", nil); respErr(err) == nil || respErr(err).StatusCode != 403 {
		t.Errorf("read of another group: %v", err)
	}

	// Linked checks: Contributor on its group lets it create a cluster
	// there, but not on a subnet of the other group until it may join it.
	assign("/subscriptions/"+sub+"/resourceGroups/team", "b24988ac-6180-42a0-ab88-20f7382dd24c")
	vnets, _ := armnetwork.NewVirtualNetworksClient(sub, owner, armOpts)
	vp, err := vnets.BeginCreateOrUpdate(ctx, "other", "shared", armnetwork.VirtualNetwork{Location: to.Ptr("eastus"), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
		AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs("10.10.0.0/16")},
		Subnets:      []*armnetwork.Subnet{{Name: to.Ptr("nodes"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.10.0.0/22")}}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	subnet := "/subscriptions/" + sub + "/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/shared/subnets/nodes"
	mcs, _ := armcontainerservice.NewManagedClustersClient(sub, pipeline, armOpts)
	mc := armcontainerservice.ManagedCluster{Location: to.Ptr("eastus"),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{DNSPrefix: to.Ptr("byo"),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{Name: to.Ptr("system"), Count: to.Ptr[int32](1),
				VMSize: to.Ptr("Standard_D2s_v5"), Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem), VnetSubnetID: to.Ptr(subnet)}},
			NetworkProfile: &armcontainerservice.NetworkProfile{NetworkPlugin: to.Ptr(armcontainerservice.NetworkPluginAzure)}}}
	_, err = mcs.BeginCreateOrUpdate(ctx, "team", "byo", mc, nil)
	if re := respErr(err); re == nil || re.StatusCode != 403 || re.ErrorCode != "LinkedAuthorizationFailed" ||
		!strings.Contains(err.Error(), "does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '"+subnet+"'") {
		t.Fatalf("cluster on a subnet it may not join: %v", err)
	}
	vnet := "/subscriptions/" + sub + "/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/shared"
	assign(vnet, "4d97b98b-1d4f-4787-a291-c67834d212e7")
	if _, err := mcs.BeginCreateOrUpdate(ctx, "team", "byo", mc, nil); err != nil {
		t.Fatalf("cluster once it may join the subnet: %v", err)
	}

	// The cluster's own identity, when it is a user-assigned one, must
	// be able to join the subnet too (AKS provisions the nodes as it).
	generic, _ := armresources.NewClient(sub, owner, armOpts)
	idID := "/subscriptions/" + sub + "/resourceGroups/team/providers/Microsoft.ManagedIdentity/userAssignedIdentities/control-plane"
	ip, err := generic.BeginCreateOrUpdateByID(ctx, idID, "2023-01-31", armresources.GenericResource{Location: to.Ptr("eastus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := ip.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	idProps := ident.Properties.(map[string]any)
	cpClient, cpPrincipal := idProps["clientId"].(string), idProps["principalId"].(string)
	uaProps := *mc.Properties
	uaProps.DNSPrefix = to.Ptr("byoua")
	ua := armcontainerservice.ManagedCluster{Location: mc.Location, Properties: &uaProps,
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armcontainerservice.ManagedServiceIdentityUserAssignedIdentitiesValue{idID: {}}}}
	_, err = mcs.BeginCreateOrUpdate(ctx, "team", "byoua", ua, nil)
	if re := respErr(err); re == nil || re.StatusCode != 403 || re.ErrorCode != "LinkedAuthorizationFailed" ||
		!strings.Contains(err.Error(), "The client '"+cpClient+"' with object id '"+cpPrincipal+"'") ||
		!strings.Contains(err.Error(), "'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '"+subnet+"'") {
		t.Fatalf("cluster whose identity may not join the subnet: %v", err)
	}
	grantRole(t, assignments, vnet, "4d97b98b-1d4f-4787-a291-c67834d212e7", cpPrincipal)
	if _, err := mcs.BeginCreateOrUpdate(ctx, "team", "byoua", ua, nil); err != nil {
		t.Fatalf("cluster once its identity may join the subnet: %v", err)
	}
}

// TestAzEnforcedRBACCluster: with role assignments enforced a cluster's own
// components act as its identity and are checked: AKS gives that identity
// Contributor on the node resource group (a role assignment anyone can
// read), so the cloud controller makes a Service's frontend and the
// autoscaler scales the pool; a public IP in another group is refused
// (AuthorizationFailed in the Service's events) until the user gives the
// identity Network Contributor there, as on AKS.
func TestAzEnforcedRBACCluster(t *testing.T) {
	needAz(t)
	t.Parallel()
	s := startServe(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("the control plane's log:\n" + s.controlPlaneLog(30, "byo", "load balancer", "AuthorizationFailed"))
		}
	})
	ctx := context.Background()
	mustAz(t, s.localaksAz("group", "create", "-n", "rbac", "-l", "eastus"))
	mustAz(t, s.localaksAz("group", "create", "-n", "ips", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rbac", "-n", "c1", "--node-count", "1", "--enable-cluster-autoscaler", "--min-count", "1", "--max-count", "3",
		"--cluster-autoscaler-profile", "scan-interval=2s"))
	kc := s.credentials(t, "rbac", "c1")
	principal := strings.TrimSpace(mustAz(t, s.localaksAz("aks", "show", "-g", "rbac", "-n", "c1", "--query", "identity.principalId", "-o", "tsv")).stdout)
	sub := s.Client.SubscriptionID
	cred := s.credential(t, s.Client.TenantID)
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	assignments, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, armOpts)
	found := false
	for pager := assignments.NewListForResourceGroupPager("MC_rbac_c1_eastus", &armauthorization.RoleAssignmentsClientListForResourceGroupOptions{
		Filter: to.Ptr("principalId eq '" + principal + "'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			found = found || strings.HasSuffix(*a.Properties.RoleDefinitionID, "/b24988ac-6180-42a0-ab88-20f7382dd24c") &&
				strings.EqualFold(*a.Properties.Scope, "/subscriptions/"+sub+"/resourceGroups/MC_rbac_c1_eastus")
		}
	}
	if !found {
		t.Fatal("no Contributor on the node resource group for the cluster's identity")
	}
	pip := strings.TrimSpace(mustAz(t, s.localaksAz("network", "public-ip", "create", "-g", "ips", "-n", "mine", "--sku", "Standard",
		"--allocation-method", "Static", "--query", "publicIp.ipAddress", "-o", "tsv")).stdout)
	manifest := filepath.Join(t.TempDir(), "svcs.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: byo
  annotations:
    service.beta.kubernetes.io/azure-load-balancer-resource-group: ips
    service.beta.kubernetes.io/azure-load-balancer-ipv4: "`+pip+`"
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 81}]}
---
`+spreadDeployment("spread", "nodepool1", 2)), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, kc, "apply", "-f", manifest)
	externalIP(t, kc, "web")
	eventually(t, "the other group's IP refused", 60*time.Second, func() string {
		ev := mustKubectl(t, kc, "get", "events", "--field-selector", "involvedObject.name=byo,type=Warning", "-o", "jsonpath={.items[*].message}")
		if !strings.Contains(ev, "AuthorizationFailed") {
			return fmt.Sprintf("events %q", ev)
		}
		return ""
	})
	grantRole(t, assignments, "/subscriptions/"+sub+"/resourceGroups/ips", "4d97b98b-1d4f-4787-a291-c67834d212e7", principal)
	if got := externalIP(t, kc, "byo"); got != pip {
		t.Errorf("byo Service's address %s, want %s", got, pip)
	}
	eventually(t, "the autoscaler's second node", 60*time.Second, func() string {
		running := strings.Count(mustKubectl(t, kc, "get", "pods", "-l", "app=spread", "--field-selector", "status.phase=Running", "-o", "name"), "pod/")
		if n := len(nodes(t, kc)); n != 2 || running != 2 {
			return fmt.Sprintf("%d nodes, %d pods running", n, running)
		}
		return ""
	})
}

// grantRole gives the service principal principal the built-in role
// roleID (a GUID) at scope, as the subscription's owner.
func grantRole(t *testing.T, assignments *armauthorization.RoleAssignmentsClient, scope, roleID, principal string) {
	t.Helper()
	sub := strings.Split(scope, "/")[2]
	if _, err := assignments.Create(context.Background(), scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID),
			PrincipalID: to.Ptr(principal), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}, nil); err != nil {
		t.Fatal(err)
	}
}

// graphCall is one Microsoft Graph request as the built-in principal (a
// directory administrator); it fails the test unless the status is want.
func (s *serve) graphCall(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+"/graph/v1.0"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token(s.URL+"/graph//.default"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	var out map[string]any
	json.Unmarshal(data, &out) //nolint:errcheck // 204s have no body
	return out
}

// newServicePrincipal registers an application with a service principal
// and a client secret in the directory, as az ad sp create-for-rbac does.
func (s *serve) newServicePrincipal(t *testing.T, name string) (appID, secret, objectID string) {
	t.Helper()
	app := s.graphCall(t, "POST", "/applications", map[string]any{"displayName": name}, 201)
	pw := s.graphCall(t, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "rbac"}}, 200)
	sp := s.graphCall(t, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]}, 201)
	return app["appId"].(string), pw["secretText"].(string), sp["id"].(string)
}

// newUser creates a user with a password in the directory, in the
// tenant's default domain, as az ad user create does.
func (s *serve) newUser(t *testing.T, name string) (upn, password, objectID string) {
	t.Helper()
	org := s.graphCall(t, "GET", "/organization", nil, 200)["value"].([]any)[0].(map[string]any)
	domain := org["verifiedDomains"].([]any)[0].(map[string]any)["name"].(string)
	upn, password = name+"@"+domain, "Pa55word!"+name
	u := s.graphCall(t, "POST", "/users", map[string]any{"displayName": name, "mailNickname": name, "userPrincipalName": upn,
		"accountEnabled": true, "passwordProfile": map[string]any{"password": password}}, 201)
	return upn, password, u["id"].(string)
}

// grant gives principal (a service principal) the built-in role roleID at
// scope, as the built-in principal (Owner of the subscription).
func (s *serve) grant(t *testing.T, scope, roleID, principal string) {
	t.Helper()
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	assignments, err := armauthorization.NewRoleAssignmentsClient(s.Client.SubscriptionID, s.credential(t, s.Client.TenantID), armOpts)
	if err != nil {
		t.Fatal(err)
	}
	grantRole(t, assignments, scope, roleID, principal)
}

// Built-in roles the tests give.
const (
	readerRole             = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	networkContributorRole = "4d97b98b-1d4f-4787-a291-c67834d212e7"
)

// TestAzManagementGroups: a management-group hierarchy through az (az
// account management-group), and what it is for: Reader given at a group
// reaches the subscription placed below it — listed at sign-in, readable,
// not writable — until the subscription moves back under the tenant root.
func TestAzManagementGroups(t *testing.T) {
	needAz(t)
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "team", "-l", "eastus", "-o", "none"))
	mg := func(args ...string) azResult {
		return s.localaksAz(append([]string{"account", "management-group"}, args...)...)
	}
	// The first as az does it by default (registering Microsoft.Management).
	mustAz(t, mg("create", "--name", "platform", "--display-name", "Platform", "-o", "none"))
	mustAz(t, mg("create", "--name", "apps", "--parent", "platform", "--no-register", "-o", "none"))
	mustAz(t, mg("subscription", "add", "--name", "apps", "--subscription", s.Client.SubscriptionID, "-o", "none"))
	var tree struct {
		Details  struct{ Parent struct{ Name string } }
		Children []struct {
			Name, Type string
			Children   []struct{ Name, Type string }
		}
	}
	mustAz(t, mg("show", "--name", "platform", "-e", "-r", "--no-register")).json(t, &tree)
	if tree.Details.Parent.Name != s.Client.TenantID || len(tree.Children) != 1 || tree.Children[0].Name != "apps" ||
		len(tree.Children[0].Children) != 1 || tree.Children[0].Children[0].Name != s.Client.SubscriptionID || tree.Children[0].Children[0].Type != "/subscriptions" {
		t.Fatalf("platform's tree: %+v", tree)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"delete", "--name", "platform", "--no-register"}, "has 1 child groups and 0 subscriptions"},
		{[]string{"create", "--name", "bad!name", "--no-register"}, "invalid characters"},
		{[]string{"update", "--name", "platform", "--parent", "apps"}, "cannot be moved under itself or one of its descendants"},
		{[]string{"show", "--name", "nowhere", "--no-register"}, "NotFound"},
	} {
		if r := mg(c.args...); r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("management-group %s: %d %s, want %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}

	// Reader at platform, for a service principal with no other role.
	app, secret, oid := s.newServicePrincipal(t, "auditor")
	s.grant(t, "/providers/Microsoft.Management/managementGroups/platform", readerRole, oid)
	env := []string{"AZURE_CONFIG_DIR=" + t.TempDir(), "REQUESTS_CA_BUNDLE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem")}
	mustAz(t, az(t, env, "cloud", "register", "-n", "localaks", "--cloud-config", `{"endpoints":{"resourceManager":"`+s.URL+`/"}}`))
	mustAz(t, az(t, env, "cloud", "set", "-n", "localaks"))
	mustAz(t, az(t, env, "login", "--service-principal", "-u", app, "-p", secret, "--tenant", s.Client.TenantID, "-o", "none"))
	mustAz(t, az(t, env, "group", "show", "-n", "team", "-o", "none"))
	mustAz(t, az(t, env, "account", "management-group", "show", "--name", "apps", "--no-register", "-o", "none"))
	if r := az(t, env, "group", "update", "-n", "team", "--tags", "x=y"); r.code == 0 || !strings.Contains(r.stderr, "AuthorizationFailed") {
		t.Errorf("a reader's write: %d %s", r.code, r.stderr)
	}
	if r := az(t, env, "account", "management-group", "create", "--name", "mine", "--no-register"); r.code == 0 ||
		!strings.Contains(r.stderr, "AuthorizationFailed") || !strings.Contains(r.stderr, "managementGroups/"+s.Client.TenantID) {
		t.Errorf("a reader creating a group under the tenant root: %d %s", r.code, r.stderr)
	}

	// Back under the tenant root, the subscription is out of its reach.
	mustAz(t, mg("subscription", "remove", "--name", "apps", "--subscription", s.Client.SubscriptionID))
	if r := az(t, env, "group", "show", "-n", "team"); r.code == 0 || !strings.Contains(r.stderr, "AuthorizationFailed") {
		t.Errorf("a read after the subscription left the group: %d %s", r.code, r.stderr)
	}
	mustAz(t, mg("delete", "--name", "apps", "--no-register"))
	mustAz(t, mg("delete", "--name", "platform", "--no-register"))
	var groups []struct{ Name string }
	mustAz(t, mg("list", "--no-register")).json(t, &groups)
	if len(groups) != 1 || groups[0].Name != s.Client.TenantID {
		t.Errorf("groups after deletion: %+v", groups)
	}
}
