package authorization

import (
	"context"
	"github.com/google/uuid"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

func TestRoleDefinition(t *testing.T) {
	e := newEnv(t)
	acr := func(id string) map[string]any {
		return map[string]any{"id": id, "name": acrPull, "type": "Microsoft.Authorization/roleDefinitions", "properties": map[string]any{
			"roleName": "AcrPull", "type": "BuiltInRole", "description": "acr pull", "assignableScopes": []any{"/"},
			"permissions": []any{map[string]any{"actions": []any{"Microsoft.ContainerRegistry/registries/pull/read"},
				"notActions": []any{}, "dataActions": []any{}, "notDataActions": []any{}}},
		}}
	}
	for _, tt := range []struct {
		path string
		want map[string]any
	}{
		{subPath + "/providers/Microsoft.Authorization/roleDefinitions/" + acrPull, acr(roleID(acrPull))},
		// A role is the same at any scope, and IDs are matched in any case.
		{rgID + "/providers/Microsoft.Authorization/roleDefinitions/" + strings.ToUpper(acrPull), acr(roleID(acrPull))},
		{vnetID + "/providers/Microsoft.Authorization/roleDefinitions/" + acrPull, acr(roleID(acrPull))},
		{"/providers/Microsoft.Authorization/roleDefinitions/" + acrPull, acr("/providers/Microsoft.Authorization/roleDefinitions/" + acrPull)},
	} {
		r := e.must("GET", tt.path+apiV, "", 200)
		if diff := cmp.Diff(tt.want, r.body); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
	}
	r := e.do("GET", subPath+"/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000"+apiV, "")
	if diff := cmp.Diff(apiError{404, "RoleDefinitionDoesNotExist", "The specified role definition with ID '00000000-0000-0000-0000-000000000000' does not exist."}, r.err()); diff != "" {
		t.Errorf("unknown role (-want +got):\n%s", diff)
	}
	r = e.do("GET", subPath+"/providers/Microsoft.Authorization/roleDefinitions/"+acrPull+"?api-version=2099-01-01", "")
	if got := r.err(); got.Status != 400 || got.Code != "InvalidApiVersionParameter" {
		t.Errorf("unknown api-version: %+v", got)
	}
}

func TestListRoleDefinitions(t *testing.T) {
	e := newEnv(t)
	all := []string{}
	for _, r := range builtinRoles {
		all = append(all, r.Name)
	}
	for _, tt := range []struct {
		scope, filter string
		want          []string
	}{
		{subPath, "", all},
		{subPath, "roleName eq 'AcrPull'", []string{"AcrPull"}},
		{subPath, "roleName eq 'network contributor'", []string{"Network Contributor"}},
		{subPath, "  RoleName eq 'Reader'  ", []string{"Reader"}},
		{subPath, "roleName eq 'Nobody'", []string{}},
		{subPath, "roleName eq 'Azure Kubernetes Service Cluster User Role'", []string{"Azure Kubernetes Service Cluster User Role"}},
		{subPath, "type eq 'BuiltInRole'", all},
		{rgID, "roleName eq 'Owner'", []string{"Owner"}},
		{"", "roleName eq 'AcrPush'", []string{"AcrPush"}},
	} {
		q := url.Values{"api-version": {"2022-04-01"}}
		if tt.filter != "" {
			q.Set("$filter", tt.filter)
		}
		r := e.must("GET", tt.scope+"/providers/Microsoft.Authorization/roleDefinitions?"+q.Encode(), "", 200)
		got := []string{}
		for _, v := range r.body["value"].([]any) {
			got = append(got, v.(map[string]any)["properties"].(map[string]any)["roleName"].(string))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q at %q (-want +got):\n%s", tt.filter, tt.scope, diff)
		}
	}
	q := url.Values{"api-version": {"2022-04-01"}, "$filter": {"startswith(roleName,'Acr')"}}
	r := e.do("GET", subPath+"/providers/Microsoft.Authorization/roleDefinitions?"+q.Encode(), "")
	if diff := cmp.Diff(apiError{400, "InvalidFilter", "The filter 'startswith(roleName,'Acr')' is not supported; use roleName eq '{name}' or type eq 'CustomRole'."}, r.err()); diff != "" {
		t.Errorf("unsupported filter (-want +got):\n%s", diff)
	}
}

const (
	principal  = "5f3c1a2b-8d7e-4f6a-9b0c-1d2e3f4a5b6c"
	principal2 = "6a4d2b3c-9e8f-4a7b-8c1d-2e3f4a5b6c7d"
	a1         = "00000000-0000-0000-0000-0000000000a1"
	a2         = "00000000-0000-0000-0000-0000000000a2"
	a3         = "00000000-0000-0000-0000-0000000000a3"
	a4         = "00000000-0000-0000-0000-0000000000a4"
)

func TestRoleAssignment(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name, scope, role string
		want              string // the scope in the body
	}{
		{a1, subPath, roleID(acrPull), subPath},
		{a2, rgID, rgID + "/providers/Microsoft.Authorization/roleDefinitions/" + acrPull, rgID},
		{a3, vnetID, "/providers/Microsoft.Authorization/roleDefinitions/" + strings.ToUpper(acrPull), vnetID},
		{a4, otherRG, acrPull, otherRG},
	} {
		r := e.must("PUT", assignmentPath(tt.scope, tt.name)+apiV, assignment(tt.role, strings.ToUpper(principal), "ServicePrincipal"), 201)
		want := map[string]any{"id": assignmentPath(tt.scope, tt.name), "name": tt.name, "type": "Microsoft.Authorization/roleAssignments",
			"properties": map[string]any{
				"roleDefinitionId": roleID(acrPull), // always the subscription's, whatever form was sent
				"principalId":      principal,       // lower case
				"principalType":    "ServicePrincipal",
				"scope":            tt.want,
				"condition":        nil, "conditionVersion": nil,
				"createdOn": "2026-03-01T12:00:00Z", "updatedOn": "2026-03-01T12:00:00Z",
				"createdBy": callerOID, "updatedBy": callerOID,
			}}
		if diff := cmp.Diff(want, r.body); diff != "" {
			t.Errorf("PUT at %s (-want +got):\n%s", tt.scope, diff)
		}
		if diff := cmp.Diff(want, e.must("GET", assignmentPath(tt.scope, tt.name)+apiV, "", 200).body); diff != "" {
			t.Errorf("GET at %s (-want +got):\n%s", tt.scope, diff)
		}
	}

	// A second PUT of the same assignment updates it: 200, creation kept.
	e.p.now = func() time.Time { return created.Add(time.Hour) }
	r := e.must("PUT", assignmentPath(subPath, a1)+apiV, `{"properties":{"roleDefinitionId":"`+roleID(acrPull)+`","principalId":"`+principal+`",
		"principalType":"ServicePrincipal","description":"kubelet pulls images","condition":"true","conditionVersion":"2.0"}}`, 200)
	props := r.body["properties"].(map[string]any)
	for k, want := range map[string]any{"createdOn": "2026-03-01T12:00:00Z", "updatedOn": "2026-03-01T13:00:00Z",
		"description": "kubelet pulls images", "condition": "true", "conditionVersion": "2.0"} {
		if props[k] != want {
			t.Errorf("updated %s = %v, want %v", k, props[k], want)
		}
	}
}

func TestPrincipalTypes(t *testing.T) {
	e := newEnv(t)
	for i, tt := range []struct{ sent, want string }{
		{"", "User"},
		{"user", "User"},
		{"SERVICEPRINCIPAL", "ServicePrincipal"},
		{"group", "Group"},
		{"foreignGroup", "ForeignGroup"},
		{"Device", "Device"},
	} {
		// One principal per case: an assignment exists once per principal.
		p := strings.Replace(principal, "5f3c", "5f3"+string(rune('0'+i)), 1)
		name := strings.Replace(a1, "a1", "b"+string(rune('0'+i)), 1)
		r := e.must("PUT", assignmentPath(subPath, name)+apiV, assignment(roleID(reader), p, tt.sent), 201)
		if got := r.body["properties"].(map[string]any)["principalType"]; got != tt.want {
			t.Errorf("principalType %q stored as %v, want %s", tt.sent, got, tt.want)
		}
	}
}

// Every rule of a role assignment PUT; a refused PUT writes nothing.
func TestRoleAssignmentValidation(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", assignmentPath(rgID, a1)+apiV, assignment(roleID(acrPull), principal, ""), 201)
	for _, tt := range []struct {
		name, scope, assignment, body string
		want                          apiError
	}{
		{"name not a GUID", subPath, "kubelet-acrpull", assignment(roleID(acrPull), principal, ""),
			apiError{400, "InvalidRoleAssignmentId", "The role assignment ID 'kubelet-acrpull' is not valid. The role assignment ID must be a GUID."}},
		{"unknown role", subPath, a2, assignment(roleID("00000000-0000-0000-0000-000000000001"), principal, ""),
			apiError{400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '00000000-0000-0000-0000-000000000001' does not exist."}},
		{"role by name", subPath, a2, assignment("AcrPull", principal, ""),
			apiError{400, "RoleDefinitionDoesNotExist", "The specified role definition with ID 'AcrPull' does not exist."}},
		{"no role", subPath, a2, assignment("", principal, ""),
			apiError{400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '' does not exist."}},
		{"principal not a GUID", subPath, a2, assignment(roleID(acrPull), "kubelet", ""),
			apiError{400, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment."}},
		{"no principal", subPath, a2, assignment(roleID(acrPull), "", ""),
			apiError{400, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment."}},
		{"principal not in the directory", subPath, a2, assignment(roleID(acrPull), "0badc0de-0000-4000-8000-000000000000", ""),
			apiError{400, "PrincipalNotFound", "Principal 0badc0de000040008000000000000000 does not exist in the directory " + tenantID + ". Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"}},
		{"unknown principal type", subPath, a2, assignment(roleID(acrPull), principal, "Robot"),
			apiError{400, "InvalidPrincipalType", "The principal type 'Robot' is not valid."}},
		{"missing resource group", subPath + "/resourceGroups/nope", a2, assignment(roleID(acrPull), principal, ""),
			apiError{404, "ResourceGroupNotFound", "Resource group 'nope' could not be found."}},
		{"missing resource", rgID + "/providers/Microsoft.Network/virtualNetworks/nope", a2, assignment(roleID(acrPull), principal, ""),
			apiError{404, "ResourceNotFound", "The Resource 'nope' under resource group 'rg' was not found."}},
		{"missing subnet of a virtual network", vnetID + "/subnets/nope", a2, assignment(roleID(acrPull), principal, ""),
			apiError{404, "ResourceNotFound", "The Resource 'nope' under resource group 'rg' was not found."}},
		{"no body", subPath, a2, "",
			apiError{400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'."}},
		{"mistyped body", subPath, a2, `{"properties":{"principalId":7}}`, apiError{400, "InvalidRequestContent", ""}},
		{"same role and principal at the scope, another name", rgID, a2, assignment(roleID(acrPull), strings.ToUpper(principal), "User"),
			apiError{409, "RoleAssignmentExists", "The role assignment already exists."}},
		{"changing the principal", rgID, a1, assignment(roleID(acrPull), principal2, ""),
			apiError{400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."}},
		{"changing the role", rgID, a1, assignment(roleID(reader), principal, ""),
			apiError{400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."}},
	} {
		got := e.do("PUT", assignmentPath(tt.scope, tt.assignment)+apiV, tt.body).err()
		if tt.want.Message == "" {
			got.Message = ""
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// Only a1 exists, unchanged.
	r := e.must("GET", rgID+"/providers/Microsoft.Authorization/roleAssignments"+apiV, "", 200)
	if diff := cmp.Diff([]string{a1}, names(r)); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
	if got := r.body["value"].([]any)[0].(map[string]any)["properties"].(map[string]any)["roleDefinitionId"]; got != roleID(acrPull) {
		t.Errorf("a1's role = %v", got)
	}
	// The same principal and role elsewhere, or another role at the same
	// scope, is a new assignment.
	e.must("PUT", assignmentPath(subPath, a2)+apiV, assignment(roleID(acrPull), principal, ""), 201)
	e.must("PUT", assignmentPath(rgID, a3)+apiV, assignment(roleID(reader), principal, ""), 201)
	// A subnet (a child kept in its virtual network's record) is a scope.
	e.must("PUT", assignmentPath(vnetID+"/subnets/nodes", a2)+apiV, assignment(roleID(reader), principal, ""), 201)
}

func TestGetAndDeleteRoleAssignment(t *testing.T) {
	e := newEnv(t)
	notFound := apiError{404, "RoleAssignmentNotFound", "The role assignment '" + a1 + "' is not found."}
	if diff := cmp.Diff(notFound, e.do("GET", assignmentPath(rgID, a1)+apiV, "").err()); diff != "" {
		t.Errorf("GET before PUT (-want +got):\n%s", diff)
	}
	put := e.must("PUT", assignmentPath(rgID, a1)+apiV, assignment(roleID(netContrib), principal, "ServicePrincipal"), 201)
	del := e.must("DELETE", assignmentPath(rgID, a1)+apiV, "", 200)
	if diff := cmp.Diff(put.body, del.body); diff != "" {
		t.Errorf("DELETE answers the deleted assignment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(notFound, e.do("GET", assignmentPath(rgID, a1)+apiV, "").err()); diff != "" {
		t.Errorf("GET after DELETE (-want +got):\n%s", diff)
	}
	if r := e.do("DELETE", assignmentPath(rgID, a1)+apiV, ""); r.status != 204 || len(r.raw) != 0 {
		t.Errorf("second DELETE: %d %s", r.status, r.raw)
	}
	// The pair is free again.
	e.must("PUT", assignmentPath(rgID, a2)+apiV, assignment(roleID(netContrib), principal, "ServicePrincipal"), 201)
}

// Listing at a scope shows what applies there: assignments at and above it,
// and below it unless atScope(); principalId eq and assignedTo() filter.
func TestListRoleAssignments(t *testing.T) {
	e := newEnv(t)
	for _, a := range []struct{ name, scope, role, principal string }{
		{a1, subPath, reader, principal},
		{a2, rgID, acrPull, principal},
		{a3, vnetID, netContrib, principal2},
		{a4, otherRG, contributor, principal2},
	} {
		e.must("PUT", assignmentPath(a.scope, a.name)+apiV, assignment(roleID(a.role), a.principal, ""), 201)
	}
	for _, tt := range []struct {
		scope, filter string
		want          []string
	}{
		{subPath, "", []string{a1, a2, a3, a4}},
		{subPath, "atScope()", []string{a1}},
		{rgID, "", []string{a1, a2, a3}},
		{rgID, "atScope()", []string{a1, a2}},
		{vnetID, "", []string{a1, a2, a3}},
		{otherRG, "", []string{a1, a4}},
		{subPath, "principalId eq '" + principal2 + "'", []string{a3, a4}},
		{subPath, "principalId eq '" + strings.ToUpper(principal2) + "'", []string{a3, a4}},
		{rgID, "assignedTo('" + principal + "')", []string{a1, a2}},
		{rgID, "atScope() and assignedTo('" + principal2 + "')", []string{}},
		{"", "", []string{a1, a2, a3, a4}},
	} {
		q := url.Values{"api-version": {"2022-04-01"}}
		if tt.filter != "" {
			q.Set("$filter", tt.filter)
		}
		r := e.must("GET", tt.scope+"/providers/Microsoft.Authorization/roleAssignments?"+q.Encode(), "", 200)
		got := names(r)
		sort.Strings(got)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("list at %q, filter %q (-want +got):\n%s", tt.scope, tt.filter, diff)
		}
	}
}

func TestActionMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.ContainerRegistry/registries/push/write", true},
		{"*/read", "Microsoft.ContainerRegistry/registries/pull/read", true},
		{"*/read", "Microsoft.ContainerRegistry/registries/push/write", false},
		{"Microsoft.ContainerRegistry/registries/pull/read", "microsoft.containerregistry/Registries/PULL/read", true},
		{"Microsoft.Network/*", "Microsoft.Network/virtualNetworks/subnets/join/action", true},
		{"Microsoft.Network/*", "Microsoft.Compute/virtualMachines/read", false},
		// "/*/" also stands for "/": Managed Identity Operator assigns.
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentitiesX/assign/action", false},
		{"a/*/b/*/c", "a/b/c", true},
		{"a/*/b/*/c", "a/x/b/c", true},
		{"a/*/b/*/c", "a/bc", false},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/x/assign/action", true},
		{"a*a", "a", false},
	} {
		if got := ActionMatches(tc.pattern, tc.action); got != tc.want {
			t.Errorf("ActionMatches(%q, %q) = %v", tc.pattern, tc.action, got)
		}
	}
}

func definitionPath(scope, id string) string {
	return scope + "/providers/Microsoft.Authorization/roleDefinitions/" + id
}

// A custom role: created at a scope, listed and read where it is
// assignable, assignable only there, its notActions taken out of what it
// grants, unique by name, and kept while assignments use it.
func TestCustomRoleDefinition(t *testing.T) {
	e := newEnv(t)
	const roleGUID = "11111111-2222-4333-8444-555555555555"
	body := `{"properties":{"roleName":"Network Reader Plus","description":"reads networks, joins subnets, writes nothing else",
		"permissions":[{"actions":["Microsoft.Network/*"],"notActions":["Microsoft.Network/*/write","Microsoft.Network/*/delete"]}],
		"assignableScopes":["` + rgID + `"]}}`
	r := e.must("PUT", definitionPath(rgID, roleGUID)+apiV, body, 201)
	props := r.body["properties"].(map[string]any)
	if props["type"] != "CustomRole" || props["roleName"] != "Network Reader Plus" {
		t.Fatalf("created: %s", r.raw)
	}
	// Read by ID at any scope; listed at the group, not at the other group.
	e.must("GET", definitionPath(subPath, roleGUID)+apiV, "", 200)
	list := func(scope, filter string) int {
		r := e.must("GET", scope+"/providers/Microsoft.Authorization/roleDefinitions"+apiV+filter, "", 200)
		return len(r.body["value"].([]any))
	}
	if n := list(rgID, "&$filter=type+eq+'CustomRole'"); n != 1 {
		t.Errorf("custom roles at the group: %d", n)
	}
	if n := list(otherRG, "&$filter=type+eq+'CustomRole'"); n != 0 {
		t.Errorf("custom roles at another group: %d", n)
	}
	if n := list(rgID, "&$filter="+url.QueryEscape("roleName eq 'Network Reader Plus'")); n != 1 {
		t.Errorf("by name: %d", n)
	}
	// Same name, another ID: refused.
	r = e.do("PUT", definitionPath(rgID, "21111111-2222-4333-8444-555555555555")+apiV, body)
	if got := r.err(); got.Status != 409 || got.Code != "RoleDefinitionWithSameNameExists" {
		t.Errorf("duplicate name: %+v", got)
	}
	// Assignable at the group and below, not at the other group.
	e.must("PUT", assignmentPath(vnetID, a1)+apiV, assignment(definitionPath(subPath, roleGUID), principal, "ServicePrincipal"), 201)
	r = e.do("PUT", assignmentPath(otherRG, a2)+apiV, assignment(definitionPath(subPath, roleGUID), principal, "ServicePrincipal"))
	if got := r.err(); got.Status != 403 || got.Code != "RoleDefinitionNotAssignableAtScope" {
		t.Errorf("assignment outside the assignable scopes: %+v", got)
	}
	// What it grants, on the virtual network.
	for action, want := range map[string]bool{
		"Microsoft.Network/virtualNetworks/read":                true,
		"Microsoft.Network/virtualNetworks/subnets/join/action": true,
		"Microsoft.Network/virtualNetworks/write":               false,
		"Microsoft.Network/virtualNetworks/subnets/delete":      false,
		"Microsoft.Compute/virtualMachineScaleSets/read":        false,
	} {
		var got bool
		if err := e.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			got, err = Permits(tx, principal, vnetID+"/subnets/nodes", action)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %v, want %v", action, got, want)
		}
	}
	// In use: kept; unused: deleted (200 with the role, then 204).
	r = e.do("DELETE", definitionPath(rgID, roleGUID)+apiV, "")
	if got := r.err(); got.Status != 409 || got.Code != "RoleDefinitionHasAssignments" {
		t.Errorf("delete in use: %+v", got)
	}
	e.must("DELETE", assignmentPath(vnetID, a1)+apiV, "", 200)
	e.must("DELETE", definitionPath(rgID, roleGUID)+apiV, "", 200)
	e.must("DELETE", definitionPath(rgID, roleGUID)+apiV, "", 204)
	r = e.do("GET", definitionPath(subPath, roleGUID)+apiV, "")
	if got := r.err(); got.Status != 404 || got.Code != "RoleDefinitionDoesNotExist" {
		t.Errorf("after delete: %+v", got)
	}
	// Built-in roles cannot be written; Contributor cannot write role assignments.
	if r := e.do("PUT", definitionPath(subPath, contributor)+apiV, body); r.status != 403 {
		t.Errorf("PUT of a built-in role: %d", r.status)
	}
	c, _, _ := lookupRole(nil, contributor)
	if c.grants("Microsoft.Authorization/roleAssignments/write") || !c.grants("Microsoft.Network/virtualNetworks/write") {
		t.Error("Contributor's notActions")
	}
}

// With enforcement on, a request needs a role assignment whose role grants
// its action at its scope or above: none gets ARM's AuthorizationFailed;
// Reader reads but cannot write; notActions take away.
func TestEnforcedRBAC(t *testing.T) {
	e := newEnv(t)
	enforced := *e
	enforced.srv = arm.NewServer(arm.Config{Store: e.st, Registry: e.reg, Directory: e.dir, Signer: e.signer, Entra: http.NotFoundHandler(), Authorize: e.p.Authorize})
	list := rgID + "/providers/Microsoft.Authorization/roleAssignments" + apiV
	r := enforced.do("GET", list, "")
	want := apiError{403, "AuthorizationFailed", "The client 'app' with object id '" + callerOID +
		"' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '" + rgID +
		"' or the scope is invalid. If access was recently granted, please refresh your credentials."}
	if diff := cmp.Diff(want, r.err()); diff != "" {
		t.Fatalf("no assignment (-want +got):\n%s", diff)
	}
	// Headers claiming another identity (one that is Owner) change
	// nothing: the caller is the token's.
	e.must("PUT", assignmentPath(subPath, "00000000-0000-0000-0000-0000000000c1")+apiV, assignment(ownerRoleID, principal2, "User"), 201)
	forged := enforced.do("GET", list, "", "x-ms-client-object-id", principal2, "x-ms-client-principal-id", principal2,
		"x-ms-client-principal-name", "user2@localaks.onmicrosoft.com", "x-ms-client-tenant-id", tenantID, "x-ms-client-app-id", "other")
	if diff := cmp.Diff(want, forged.err()); diff != "" {
		t.Fatalf("forged identity headers (-want +got):\n%s", diff)
	}
	// Reader on the subscription (given through the open front door).
	e.must("PUT", assignmentPath(subPath, a1)+apiV, assignment(reader, callerOID, "ServicePrincipal"), 201)
	enforced.must("GET", list, "", 200)
	r = enforced.do("PUT", assignmentPath(rgID, a2)+apiV, assignment(acrPull, principal, "ServicePrincipal"))
	if got := r.err(); got.Status != 403 || got.Code != "AuthorizationFailed" || !strings.Contains(got.Message, "'Microsoft.Authorization/roleAssignments/write'") {
		t.Fatalf("Reader's write: %+v", got)
	}
	// Contributor cannot assign roles (its notActions); Owner can.
	e.must("PUT", assignmentPath(rgID, a3)+apiV, assignment(contributor, callerOID, "ServicePrincipal"), 201)
	if r := enforced.do("PUT", assignmentPath(rgID, a2)+apiV, assignment(acrPull, principal, "ServicePrincipal")); r.status != 403 {
		t.Fatalf("Contributor's role assignment: %d %s", r.status, r.raw)
	}
	e.must("PUT", assignmentPath(rgID, a4)+apiV, assignment(ownerRoleID, callerOID, "ServicePrincipal"), 201)
	enforced.must("PUT", assignmentPath(rgID, a2)+apiV, assignment(acrPull, principal, "ServicePrincipal"), 201)
	// The Owner assignment is at the group: the other group stays closed.
	if r := enforced.do("PUT", assignmentPath(otherRG, "00000000-0000-0000-0000-0000000000b1")+apiV, assignment(acrPull, principal, "ServicePrincipal")); r.status != 403 {
		t.Fatalf("write in another group: %d", r.status)
	}
}

// Checks are cached per (principal, scope, action) until access changes:
// a new assignment grants at once; one that went with its scope (deleted
// with a resource group, which writes no access count) no longer does.
func TestDecisionCache(t *testing.T) {
	e := newEnv(t)
	check := func() bool {
		t.Helper()
		var got bool
		if err := e.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			got, err = Permits(tx, principal, vnetID, "Microsoft.Network/virtualNetworks/read")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if check() {
		t.Fatal("allowed before any assignment")
	}
	e.must("PUT", assignmentPath(rgID, a1)+apiV, assignment(definitionPath(subPath, reader), principal, "ServicePrincipal"), 201)
	for range 2 { // computed, then cached
		if !check() {
			t.Fatal("not allowed after Reader on the group")
		}
	}
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.Delete(rgID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if check() {
		t.Fatal("still allowed after the group and its assignment were deleted")
	}
}

// Management groups are scopes: a role assigned at one reaches the
// subscriptions placed below it (and what is in them) until they move
// away; a custom role assignable at a group is assignable below it; a
// group that does not exist is no scope.
func TestManagementGroupScopes(t *testing.T) {
	e := newEnv(t)
	const mgV = "?api-version=2021-04-01"
	platform := "/providers/Microsoft.Management/managementGroups/platform"
	e.must("PUT", platform+mgV, `{"properties":{"displayName":"Platform"}}`, 200)
	e.must("PUT", platform+"/subscriptions/"+subID+mgV, "", 200)
	check := func(action string) bool {
		t.Helper()
		var got bool
		if err := e.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			got, err = Permits(tx, principal, vnetID, action)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	e.must("PUT", assignmentPath(platform, a1)+apiV, assignment("/providers/Microsoft.Authorization/roleDefinitions/"+reader, principal, ""), 201)
	if !check("Microsoft.Network/virtualNetworks/read") || check("Microsoft.Network/virtualNetworks/write") {
		t.Fatal("Reader at the group: want read, not write, below it")
	}
	const roleGUID = "31111111-2222-4333-8444-555555555555"
	e.must("PUT", definitionPath(platform, roleGUID)+apiV, `{"properties":{"roleName":"Platform Writer","permissions":[{"actions":["Microsoft.Network/*"]}],
		"assignableScopes":["`+platform+`"]}}`, 201)
	e.must("PUT", assignmentPath(rgID, a2)+apiV, assignment(definitionPath(subPath, roleGUID), principal, "User"), 201)
	if !check("Microsoft.Network/virtualNetworks/write") {
		t.Fatal("a custom role of the group, assigned below it: no write")
	}
	e.must("DELETE", assignmentPath(rgID, a2)+apiV, "", 200)
	// Back under the tenant root: the group's role no longer reaches.
	e.must("DELETE", platform+"/subscriptions/"+subID+mgV, "", 200)
	if check("Microsoft.Network/virtualNetworks/read") {
		t.Fatal("Reader at the group still reaches the subscription it left")
	}
	if r := e.do("PUT", assignmentPath(rgID, a2)+apiV, assignment(definitionPath(subPath, roleGUID), principal, "User")); r.err().Code != "RoleDefinitionNotAssignableAtScope" {
		t.Errorf("the group's custom role outside it: %+v", r.err())
	}
	if r := e.do("PUT", assignmentPath("/providers/Microsoft.Management/managementGroups/nowhere", a2)+apiV, assignment(definitionPath(subPath, reader), principal, "User")); r.status != 404 {
		t.Errorf("an assignment at a group that does not exist: %d %s", r.status, r.raw)
	}
}

// The built-in roles are Azure's: hundreds of them, unique GUIDs and
// names, and what the roles AKS set-ups use grant (and do not).
func TestBuiltinRolesData(t *testing.T) {
	if len(builtinRoles) < 450 {
		t.Fatalf("%d built-in roles, want Azure's list (450+)", len(builtinRoles))
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for _, r := range builtinRoles {
		if _, err := uuid.Parse(r.ID); err != nil || ids[r.ID] || names[strings.ToLower(r.Name)] || len(r.Permissions) == 0 {
			t.Errorf("role %q (%s): bad or repeated ID or name, or no permissions", r.Name, r.ID)
		}
		ids[r.ID], names[strings.ToLower(r.Name)] = true, true
	}
	for _, c := range []struct {
		role, action string
		want         bool
	}{
		{"b24988ac-6180-42a0-ab88-20f7382dd24c", "Microsoft.Network/virtualNetworks/write", true},               // Contributor
		{"b24988ac-6180-42a0-ab88-20f7382dd24c", "Microsoft.Authorization/roleAssignments/write", false},        // Contributor's notActions
		{"4d97b98b-1d4f-4787-a291-c67834d212e7", "Microsoft.Network/virtualNetworks/subnets/join/action", true}, // Network Contributor
		{"4d97b98b-1d4f-4787-a291-c67834d212e7", "Microsoft.Compute/virtualMachines/write", false},
		{"7f951dda-4ed3-4680-a7ca-43fe172d538d", "Microsoft.ContainerRegistry/registries/pull/read", true},     // AcrPull
		{"7f6c6a51-bcf8-42ba-9220-52d62157d7db", "Microsoft.ContainerService/managedClusters/pods/read", true}, // AKS RBAC Reader
		{"7f6c6a51-bcf8-42ba-9220-52d62157d7db", "Microsoft.ContainerService/managedClusters/secrets/read", false},
		{"3498e952-d568-435e-9b2c-8d77e338d7f7", "Microsoft.ContainerService/managedClusters/namespaces/write", false},   // AKS RBAC Admin's notDataActions
		{"f1a07417-d97a-45cb-824c-7a7467783830", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true}, // Managed Identity Operator
		{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Microsoft.Resources/subscriptions/resourceGroups/read", true},          // Reader
		{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Microsoft.Resources/subscriptions/resourceGroups/write", false},
	} {
		r, ok, err := lookupRole(nil, c.role)
		if err != nil || !ok {
			t.Fatalf("role %s: %v %v", c.role, ok, err)
		}
		if got := r.grants(c.action); got != c.want {
			t.Errorf("%s grants %s: %v, want %v", r.Name, c.action, got, c.want)
		}
	}
}
