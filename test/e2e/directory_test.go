package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// TestAzDirectory: the directory through az ad, and what it is for. az ad
// sp create-for-rbac registers a pipeline's service principal whose secret
// then signs it in (az login); a group holds it; Reader given to the
// group on one resource group lets it read there and nothing else; a role
// assignment to a principal the directory does not know is
// PrincipalNotFound; the service principal may not manage the directory;
// deleted, it no longer signs in.
func TestAzDirectory(t *testing.T) {
	needAz(t)
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	ctx := context.Background()
	for _, g := range []string{"team", "other"} {
		mustAz(t, s.localaksAz("group", "create", "-n", g, "-l", "eastus", "-o", "none"))
	}

	var created struct{ AppID, Password, Tenant, DisplayName string }
	mustAz(t, s.localaksAz("ad", "sp", "create-for-rbac", "-n", "ci-pipeline")).json(t, &created)
	if created.Tenant != s.Client.TenantID || created.DisplayName != "ci-pipeline" || len(created.Password) != 40 {
		t.Fatalf("create-for-rbac: %+v", created)
	}
	var sp struct {
		ID, AppID, DisplayName, ServicePrincipalType string
		ServicePrincipalNames                        []string
		PasswordCredentials                          []struct{ Hint, SecretText *string }
	}
	mustAz(t, s.localaksAz("ad", "sp", "show", "--id", created.AppID)).json(t, &sp)
	if sp.AppID != created.AppID || sp.DisplayName != "ci-pipeline" || sp.ServicePrincipalType != "Application" || len(sp.ServicePrincipalNames) == 0 {
		t.Fatalf("sp show: %+v", sp)
	}
	var app struct {
		PasswordCredentials []struct {
			Hint       string
			SecretText *string
		}
	}
	mustAz(t, s.localaksAz("ad", "app", "show", "--id", created.AppID)).json(t, &app)
	if len(app.PasswordCredentials) != 1 || app.PasswordCredentials[0].SecretText != nil || app.PasswordCredentials[0].Hint != created.Password[:3] {
		t.Fatalf("app's password credentials: %+v", app.PasswordCredentials)
	}
	var listed []struct{ AppID string }
	mustAz(t, s.localaksAz("ad", "sp", "list", "--display-name", "ci-pipeline")).json(t, &listed)
	if len(listed) != 1 || listed[0].AppID != created.AppID {
		t.Fatalf("sp list --display-name: %+v", listed)
	}

	// A group with the service principal in it.
	var group struct{ ID, DisplayName string }
	mustAz(t, s.localaksAz("ad", "group", "create", "--display-name", "deployers", "--mail-nickname", "deployers")).json(t, &group)
	mustAz(t, s.localaksAz("ad", "group", "member", "add", "-g", "deployers", "--member-id", sp.ID))
	var check struct{ Value bool }
	mustAz(t, s.localaksAz("ad", "group", "member", "check", "-g", "deployers", "--member-id", sp.ID)).json(t, &check)
	if !check.Value {
		t.Fatal("member check: not a member")
	}
	var members []struct{ ID string }
	mustAz(t, s.localaksAz("ad", "group", "member", "list", "-g", group.ID)).json(t, &members)
	if len(members) != 1 || members[0].ID != sp.ID {
		t.Fatalf("member list: %+v", members)
	}
	if r := s.localaksAz("ad", "group", "member", "add", "-g", "deployers", "--member-id", sp.ID); r.code == 0 ||
		!strings.Contains(r.stderr, "One or more added object references already exist") {
		t.Fatalf("adding a member twice: %d %s", r.code, r.stderr)
	}

	// Reader for the group on one resource group (az 2.45's role commands
	// are broken client-side: the SDK assigns).
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")
	assignments, _ := armauthorization.NewRoleAssignmentsClient(s.Client.SubscriptionID, s.credential(t, s.Client.TenantID), armOpts)
	teamScope := s.sub() + "/resourceGroups/team"
	reader := s.sub() + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	a, err := assignments.Create(ctx, teamScope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr(reader), PrincipalID: to.Ptr(group.ID)}}, nil)
	if err != nil || *a.Properties.PrincipalType != armauthorization.PrincipalTypeGroup {
		t.Fatalf("assignment to the group: %+v %v", a, err)
	}
	_, err = assignments.Create(ctx, teamScope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr(reader), PrincipalID: to.Ptr(uuid.NewString())}}, nil)
	if re := respErr(err); re == nil || re.StatusCode != 400 || re.ErrorCode != "PrincipalNotFound" || !strings.Contains(err.Error(), "does not exist in the directory "+s.Client.TenantID) {
		t.Fatalf("assignment to an unknown principal: %v", err)
	}

	// Signed in as the pipeline.
	env := []string{"AZURE_CONFIG_DIR=" + t.TempDir(), "REQUESTS_CA_BUNDLE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem")}
	mustAz(t, az(t, env, "cloud", "register", "-n", "localaks", "--cloud-config",
		`{"endpoints":{"resourceManager":"`+s.URL+`/","microsoftGraphResourceId":"`+s.URL+`/graph/"}}`))
	mustAz(t, az(t, env, "cloud", "set", "-n", "localaks"))
	if r := az(t, env, "login", "--service-principal", "-u", created.AppID, "-p", "not-the-secret", "--tenant", s.Client.TenantID); r.code == 0 ||
		!strings.Contains(r.stderr, "AADSTS7000215: Invalid client secret provided") {
		t.Fatalf("login with a wrong secret: %d %s", r.code, r.stderr)
	}
	mustAz(t, az(t, env, "login", "--service-principal", "-u", created.AppID, "-p", created.Password, "--tenant", s.Client.TenantID, "-o", "none"))
	mustAz(t, az(t, env, "group", "show", "-n", "team", "-o", "none"))
	r := az(t, env, "group", "update", "-n", "team", "--tags", "x=y")
	if r.code == 0 || !strings.Contains(r.stderr, "AuthorizationFailed") ||
		!strings.Contains(r.stderr, "does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '"+teamScope+"'") {
		t.Fatalf("Reader's write: %d %s", r.code, r.stderr)
	}
	if r := az(t, env, "group", "show", "-n", "other"); r.code == 0 || !strings.Contains(r.stderr, "AuthorizationFailed") {
		t.Fatalf("read of another group: %d %s", r.code, r.stderr)
	}
	// It holds no directory role: Graph refuses it.
	if r := az(t, env, "ad", "sp", "list", "--all"); r.code == 0 || !strings.Contains(r.stderr, "Insufficient privileges to complete the operation") {
		t.Fatalf("directory listing by a plain service principal: %d %s", r.code, r.stderr)
	}
	// Removed from the group, it loses the group's role.
	mustAz(t, s.localaksAz("ad", "group", "member", "remove", "-g", "deployers", "--member-id", sp.ID))
	if r := az(t, env, "group", "show", "-n", "team"); r.code == 0 || !strings.Contains(r.stderr, "AuthorizationFailed") {
		t.Fatalf("read after leaving the group: %d %s", r.code, r.stderr)
	}

	// Deleted, it no longer signs in.
	mustAz(t, s.localaksAz("ad", "sp", "delete", "--id", created.AppID))
	mustAz(t, s.localaksAz("ad", "app", "delete", "--id", created.AppID))
	if r := az(t, env, "login", "--service-principal", "-u", created.AppID, "-p", created.Password, "--tenant", s.Client.TenantID); r.code == 0 ||
		!strings.Contains(r.stderr, "AADSTS700016") {
		t.Fatalf("login after deletion: %d %s", r.code, r.stderr)
	}
}

// TestAzUserSignIn: users sign in with their passwords (az login -u -p,
// OAuth's password grant), see the subscriptions they have a role in and
// nothing else, are named by their principal name in ARM's refusals, read
// themselves through Graph (az ad signed-in-user show), and lose their
// sessions when their password is reset.
func TestAzUserSignIn(t *testing.T) {
	needAz(t)
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "team", "-l", "eastus", "-o", "none"))
	dana, pw, danaOID := s.newUser(t, "dana")
	eve, evePW, _ := s.newUser(t, "eve")
	readers := s.graphCall(t, "POST", "/groups", map[string]any{"displayName": "readers", "mailNickname": "readers", "mailEnabled": false, "securityEnabled": true}, 201)["id"].(string)
	s.graphCall(t, "POST", "/groups/"+readers+"/members/$ref", map[string]any{"@odata.id": s.URL + "/graph/v1.0/directoryObjects/" + danaOID}, 204)
	teamScope := s.sub() + "/resourceGroups/team"
	s.grant(t, teamScope, "acdd72a7-3385-48ef-bd42-f606fba81ae7", readers)

	signedIn := func() []string {
		env := []string{"AZURE_CONFIG_DIR=" + t.TempDir(), "REQUESTS_CA_BUNDLE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem")}
		mustAz(t, az(t, env, "cloud", "register", "-n", "localaks", "--cloud-config",
			`{"endpoints":{"resourceManager":"`+s.URL+`/","microsoftGraphResourceId":"`+s.URL+`/graph/"}}`))
		mustAz(t, az(t, env, "cloud", "set", "-n", "localaks"))
		return env
	}
	env := signedIn()
	if r := az(t, env, "login", "-u", dana, "-p", "not-her-password"); r.code == 0 || !strings.Contains(r.stderr, "AADSTS50126") {
		t.Fatalf("login with a wrong password: %d %s", r.code, r.stderr)
	}
	if r := az(t, env, "login", "-u", "nobody@"+strings.SplitN(dana, "@", 2)[1], "-p", pw); r.code == 0 || !strings.Contains(r.stderr, "AADSTS50034") {
		t.Fatalf("login of an unknown user: %d %s", r.code, r.stderr)
	}
	var subs []struct {
		ID   string
		User struct{ Name, Type string }
	}
	mustAz(t, az(t, env, "login", "-u", dana, "-p", pw)).json(t, &subs)
	if len(subs) != 1 || subs[0].ID != s.Client.SubscriptionID || subs[0].User.Name != dana || subs[0].User.Type != "user" {
		t.Fatalf("dana's subscriptions: %+v", subs)
	}
	var me struct{ ID, UserPrincipalName string }
	mustAz(t, az(t, env, "ad", "signed-in-user", "show")).json(t, &me)
	if me.ID != danaOID || me.UserPrincipalName != dana {
		t.Fatalf("signed-in-user: %+v", me)
	}
	mustAz(t, az(t, env, "group", "show", "-n", "team", "-o", "none"))
	if r := az(t, env, "group", "update", "-n", "team", "--tags", "x=y"); r.code == 0 ||
		!strings.Contains(r.stderr, "The client '"+dana+"' with object id '"+danaOID+"' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/write'") {
		t.Fatalf("a reader's write: %d %s", r.code, r.stderr)
	}
	// Users read the directory but do not write it.
	if r := az(t, env, "ad", "group", "create", "--display-name", "mine", "--mail-nickname", "mine"); r.code == 0 || !strings.Contains(r.stderr, "Insufficient privileges") {
		t.Fatalf("a user's directory write: %d %s", r.code, r.stderr)
	}

	// A user with no role sees no subscription.
	other := signedIn()
	if r := az(t, other, "login", "-u", eve, "-p", evePW); r.code == 0 || !strings.Contains(r.stderr, "No subscriptions found for "+eve) {
		t.Fatalf("login of a user without roles: %d %s", r.code, r.stderr)
	}
	mustAz(t, az(t, other, "login", "-u", eve, "-p", evePW, "--allow-no-subscriptions", "-o", "none"))

	// A reset password revokes the sessions: the refresh token no longer
	// gets tokens for another resource.
	mustAz(t, s.localaksAz("ad", "user", "update", "--id", dana, "--password", "An0ther!password"))
	if r := az(t, env, "account", "get-access-token", "--resource", "https://storage.azure.com"); r.code == 0 || !strings.Contains(r.stderr, "AADSTS50173") {
		t.Fatalf("refresh after a password reset: %d %s", r.code, r.stderr)
	}
	mustAz(t, az(t, env, "login", "-u", dana, "-p", "An0ther!password", "-o", "none"))
	mustAz(t, az(t, env, "account", "get-access-token", "--resource", "https://storage.azure.com", "-o", "none"))
}

// TestAppRolesClaim: an API's app role, assigned through Graph to a
// service principal, is in the roles claim of that principal's tokens for
// the API — and not in its tokens for ARM.
func TestAppRolesClaim(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	const role = "5c3a0000-0000-4000-8000-0000000000a1"
	api := s.graphCall(t, "POST", "/applications", map[string]any{"displayName": "orders-api", "identifierUris": []any{"api://orders"},
		"appRoles": []any{map[string]any{"id": role, "value": "Orders.Read", "allowedMemberTypes": []any{"Application"}, "isEnabled": true,
			"displayName": "Read orders", "description": "Read orders"}}}, 201)
	apiSP := s.graphCall(t, "POST", "/servicePrincipals", map[string]any{"appId": api["appId"]}, 201)["id"].(string)
	app, secret, oid := s.newServicePrincipal(t, "worker")
	s.graphCall(t, "POST", "/servicePrincipals/"+apiSP+"/appRoleAssignedTo", map[string]any{"principalId": oid, "resourceId": apiSP, "appRoleId": role}, 201)
	for scope, want := range map[string]string{"api://orders/.default": "Orders.Read", "https://management.core.windows.net//.default": ""} {
		resp, err := s.http.PostForm(s.URL+"/"+s.Client.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {app}, "client_secret": {secret}, "scope": {scope}})
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok) //nolint:errcheck // checked below
		resp.Body.Close()
		var claims jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &claims); err != nil {
			t.Fatalf("%s: %v", scope, err)
		}
		got := ""
		if roles, ok := claims["roles"].([]any); ok && len(roles) == 1 {
			got, _ = roles[0].(string)
		}
		if got != want {
			t.Errorf("%s: roles %v, want %q", scope, claims["roles"], want)
		}
	}
}
