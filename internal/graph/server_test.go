package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/store"
)

const tid = "72f988bf-0000-0000-0000-000000000001"

type tenants struct{}

func (tenants) Tenant(_ context.Context, name string) (string, bool) {
	return tid, strings.EqualFold(name, tid)
}

type env struct {
	t      *testing.T
	d      *Directory
	signer *entra.Signer
	h      *Handler
	admin  string // the administrator's token
}

func newEnv(t *testing.T) *env {
	d := newDirectory(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, d: d, signer: entra.NewSigner(key)}
	e.h = NewHandler(Config{Directory: d, Signer: e.signer, Tenants: tenants{}})
	const adminOID = "0a000000-0000-4000-8000-000000000001"
	if err := d.store.Update(context.Background(), func(tx store.Tx) error {
		return d.EnsureServicePrincipal(tx, tid, "0a000000-0000-4000-8000-0000000000aa", adminOID, "admin", "s3cret", true)
	}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.token(adminOID, "https://graph.microsoft.com", time.Hour)
	return e
}

func (e *env) token(oid, aud string, life time.Duration) string {
	now := time.Now()
	tok, err := e.signer.Sign(&entra.Claims{Issuer: "https://localhost/" + tid + "/", Audience: aud, TenantID: tid, ObjectID: oid, AppID: "x", IDType: "app",
		IssuedAt: now.Unix(), NotBefore: now.Add(-time.Hour).Unix(), Expiry: now.Add(life).Unix(), Version: "1.0"})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// tokenFrom is the administrator's Graph token with another issuer.
func (e *env) tokenFrom(issuer string) string {
	now := time.Now()
	tok, err := e.signer.Sign(&entra.Claims{Issuer: issuer, Audience: "https://graph.microsoft.com", TenantID: tid,
		ObjectID: "0a000000-0000-4000-8000-000000000001", AppID: "x", IDType: "app", IssuedAt: now.Unix(), NotBefore: now.Unix(),
		Expiry: now.Add(time.Hour).Unix(), Version: "1.0"})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) do(tok, method, path string, body any) (int, map[string]any) {
	var rd *bytes.Reader
	data, _ := json.Marshal(body)
	if body == nil {
		data = nil
	}
	rd = bytes.NewReader(data)
	req := httptest.NewRequest(method, "https://localhost:7443/graph/v1.0"+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out) //nolint:errcheck // 204s are empty
	return w.Code, out
}

func errCode(out map[string]any) string {
	if e, ok := out["error"].(map[string]any); ok {
		return e["code"].(string) + ": " + e["message"].(string)
	}
	return ""
}

func TestGraphErrors(t *testing.T) {
	e := newEnv(t)
	code, app := e.do(e.admin, "POST", "/applications", map[string]any{"displayName": "a", "identifierUris": []any{"api://a"}})
	if code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	plain := e.token("0b000000-0000-4000-8000-000000000002", "https://graph.microsoft.com", time.Hour)
	for _, tt := range []struct {
		name, tok, method, path string
		body                    any
		status                  int
		want                    string
	}{
		{"no displayName", e.admin, "POST", "/applications", map[string]any{}, 400, "Request_BadRequest: Invalid value specified for property 'displayName' of resource 'Application'."},
		{"same identifier URI", e.admin, "POST", "/applications", map[string]any{"displayName": "b", "identifierUris": []any{"API://A"}}, 400,
			"Request_BadRequest: Another object with the same value for property identifierUris already exists."},
		{"service principal of no application", e.admin, "POST", "/servicePrincipals", map[string]any{"appId": "0c000000-0000-4000-8000-000000000003"}, 400,
			"Request_BadRequest: The appId '0c000000-0000-4000-8000-000000000003' of the service principal does not reference a valid application object."},
		{"user outside the domain", e.admin, "POST", "/users", map[string]any{"accountEnabled": true, "displayName": "u", "mailNickname": "u",
			"userPrincipalName": "u@example.com", "passwordProfile": map[string]any{"password": "Passw0rd!long"}}, 400,
			"Request_BadRequest: The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."},
		{"group without mailNickname", e.admin, "POST", "/groups", map[string]any{"displayName": "g", "mailEnabled": false, "securityEnabled": true}, 400,
			"Request_BadRequest: Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"read-only appId", e.admin, "PATCH", "/applications/" + app["id"].(string), map[string]any{"appId": "x"}, 400,
			"Request_BadRequest: Property 'appId' is read-only and cannot be set."},
		{"missing object", e.admin, "GET", "/groups/0d000000-0000-4000-8000-000000000004", nil, 404,
			"Request_ResourceNotFound: Resource '0d000000-0000-4000-8000-000000000004' does not exist or one of its queried reference-property objects are not present."},
		{"path traversal", e.admin, "GET", "/groups/..%2f..%2fsubscriptions", nil, 400, "BadRequest: Resource not found for the segment 'subscriptions'."},
		{"bad filter", e.admin, "GET", "/applications?$filter=displayName%20gt%20'a'", nil, 400,
			"Request_UnsupportedQuery: Unsupported or invalid query filter clause specified: unsupported operator \"gt\"."},
		{"no directory role", plain, "GET", "/applications", nil, 403, "Authorization_RequestDenied: Insufficient privileges to complete the operation."},
		{"ARM audience", e.token("0a000000-0000-4000-8000-000000000001", "https://management.core.windows.net/", time.Hour), "GET", "/applications", nil, 401,
			"InvalidAuthenticationToken: Access token validation failure. Invalid audience."},
		{"expired", e.token("0a000000-0000-4000-8000-000000000001", "https://graph.microsoft.com", -time.Hour), "GET", "/applications", nil, 401,
			"InvalidAuthenticationToken: Lifetime validation failed, the token is expired."},
		{"/me as an application", e.admin, "GET", "/me", nil, 400, "BadRequest: /me request is only valid with delegated authentication flow."},
		{"another issuer", e.tokenFrom("https://sts.windows.net/" + tid + "-other/"), "GET", "/applications", nil, 401,
			"InvalidAuthenticationToken: Access token validation failure. Invalid issuer."},
	} {
		code, out := e.do(tt.tok, tt.method, tt.path, tt.body)
		if code != tt.status || errCode(out) != tt.want {
			t.Errorf("%s: %d %q, want %d %q", tt.name, code, errCode(out), tt.status, tt.want)
		}
	}
	// Nothing refused was written: one application.
	if _, out := e.do(e.admin, "GET", "/applications", nil); len(out["value"].([]any)) != 2 { // the admin's own and "a"
		t.Errorf("applications after refusals: %v", out["value"])
	}
}

func TestGraphFilterAndSecrets(t *testing.T) {
	e := newEnv(t)
	_, app := e.do(e.admin, "POST", "/applications", map[string]any{"displayName": "pipeline"})
	_, sp := e.do(e.admin, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	for filter, n := range map[string]int{
		"displayName eq 'PIPELINE'":                                         1,
		"startswith(displayName,'pipe')":                                    1,
		"servicePrincipalNames/any(c:c eq '" + app["appId"].(string) + "')": 1,
		"displayName eq 'pipeline' and appId eq 'nope'":                     0,
		"displayName eq 'nope' or displayName eq 'admin'":                   1,
		"id in ('" + sp["id"].(string) + "','x')":                           1,
	} {
		code, out := e.do(e.admin, "GET", "/servicePrincipals?$filter="+strings.ReplaceAll(filter, " ", "%20"), nil)
		if code != 200 || len(out["value"].([]any)) != n {
			t.Errorf("$filter=%s: %d %v, want %d", filter, code, out["value"], n)
		}
	}
	// A secret that has expired no longer signs in.
	_, pw := e.do(e.admin, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{
		"startDateTime": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339), "endDateTime": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}})
	if _, err := e.d.SignIn(context.Background(), tid, app["appId"].(string), pw["secretText"].(string)); !errors.Is(err, entra.ErrSecretExpired) {
		t.Errorf("expired secret: %v", err)
	}
	_, pw = e.do(e.admin, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{}})
	if oid, err := e.d.SignIn(context.Background(), tid, app["appId"].(string), pw["secretText"].(string)); err != nil || oid != sp["id"] {
		t.Errorf("fresh secret: %s %v", oid, err)
	}
	// Deleting the application deletes its service principal.
	if code, _ := e.do(e.admin, "DELETE", "/applications/"+app["id"].(string), nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := e.do(e.admin, "GET", "/servicePrincipals/"+sp["id"].(string), nil); code != 404 {
		t.Errorf("service principal after its application's deletion: %d", code)
	}
}

// App roles: an API's application defines them, its service principal
// assigns them (appRoleAssignedTo, or appRoleAssignments from the
// principal's side), a group's members get its roles, and the roles claim
// lists what a principal has (Directory.Roles); refusals write nothing.
func TestAppRoles(t *testing.T) {
	e := newEnv(t)
	const readerRole, writerRole = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"
	_, api := e.do(e.admin, "POST", "/applications", map[string]any{"displayName": "orders-api", "identifierUris": []any{"api://orders"},
		"appRoles": []any{
			map[string]any{"id": readerRole, "value": "Orders.Read", "allowedMemberTypes": []any{"Application", "User"}, "isEnabled": true, "displayName": "read"},
			map[string]any{"id": writerRole, "value": "Orders.Write", "allowedMemberTypes": []any{"Application"}, "isEnabled": true, "displayName": "write"}}})
	_, apiSP := e.do(e.admin, "POST", "/servicePrincipals", map[string]any{"appId": api["appId"]})
	_, clientApp := e.do(e.admin, "POST", "/applications", map[string]any{"displayName": "worker"})
	_, client := e.do(e.admin, "POST", "/servicePrincipals", map[string]any{"appId": clientApp["appId"]})
	_, group := e.do(e.admin, "POST", "/groups", map[string]any{"displayName": "g", "mailNickname": "g", "securityEnabled": true, "mailEnabled": false})
	e.do(e.admin, "POST", "/groups/"+group["id"].(string)+"/members/$ref", map[string]any{"@odata.id": "https://localhost:7443/graph/v1.0/directoryObjects/" + client["id"].(string)})
	resource, principal := apiSP["id"].(string), client["id"].(string)

	code, a := e.do(e.admin, "POST", "/servicePrincipals/"+resource+"/appRoleAssignedTo",
		map[string]any{"principalId": principal, "resourceId": resource, "appRoleId": writerRole})
	if code != 201 || a["principalType"] != "ServicePrincipal" || a["resourceDisplayName"] != "orders-api" {
		t.Fatalf("assignment: %d %v", code, a)
	}
	if code, _ := e.do(e.admin, "POST", "/groups/"+group["id"].(string)+"/appRoleAssignments",
		map[string]any{"principalId": group["id"], "resourceId": resource, "appRoleId": readerRole}); code != 201 {
		t.Fatalf("group assignment: %d", code)
	}
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"principalId": principal, "resourceId": resource, "appRoleId": "22222222-0000-4000-8000-000000000000"}, "Permission being assigned was not found"},
		{map[string]any{"principalId": principal, "resourceId": resource, "appRoleId": writerRole}, "already exists"},
		{map[string]any{"principalId": "33333333-0000-4000-8000-000000000000", "resourceId": resource, "appRoleId": writerRole}, "Request_ResourceNotFound"},
	} {
		if code, out := e.do(e.admin, "POST", "/servicePrincipals/"+resource+"/appRoleAssignedTo", c.body); code < 400 || !strings.Contains(errCode(out), c.want) {
			t.Errorf("%v: %d %s, want %q", c.body, code, errCode(out), c.want)
		}
	}
	roles := func(aud string) []string {
		t.Helper()
		r, err := e.d.Roles(context.Background(), tid, principal, aud)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(r)
		return r
	}
	if got := roles("api://orders"); !slices.Equal(got, []string{"Orders.Read", "Orders.Write"}) {
		t.Errorf("roles for the API: %v", got)
	}
	if got := roles("https://management.core.windows.net/"); len(got) != 0 {
		t.Errorf("roles for another audience: %v", got)
	}
	_, listed := e.do(e.admin, "GET", "/servicePrincipals/"+principal+"/appRoleAssignments", nil)
	if v := listed["value"].([]any); len(v) != 1 {
		t.Fatalf("the worker's assignments: %v", listed)
	}
	if code, _ := e.do(e.admin, "DELETE", "/servicePrincipals/"+resource+"/appRoleAssignedTo/"+a["id"].(string), nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if got := roles(api["appId"].(string)); !slices.Equal(got, []string{"Orders.Read"}) {
		t.Errorf("roles after the delete: %v", got)
	}
}
