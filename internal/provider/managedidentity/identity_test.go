package managedidentity

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/store"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestIdentity(t *testing.T) {
	e := newEnv(t)
	// What the client sends as properties is ignored: they are read-only.
	r := e.must("PUT", identityID("c1-agentpool")+apiV, `{"location":"East US","tags":{"a":"b"},"properties":{"principalId":"mine","clientId":"mine"}}`, 201)
	props := r.body["properties"].(map[string]any)
	for _, k := range []string{"principalId", "clientId"} {
		if s, _ := props[k].(string); !guid.MatchString(s) {
			t.Errorf("%s = %v, want a GUID", k, props[k])
		}
	}
	if props["principalId"] == props["clientId"] {
		t.Errorf("principal and client IDs are the same: %v", props["clientId"])
	}
	want := map[string]any{"id": identityID("c1-agentpool"), "name": "c1-agentpool", "type": Type, "location": "eastus",
		"tags": map[string]any{"a": "b"},
		"properties": map[string]any{"tenantId": "tenant-of-" + subID, "principalId": props["principalId"], "clientId": props["clientId"],
			"isolationScope": "None"}}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("PUT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.must("GET", identityID("c1-agentpool")+apiV, "", 200).body); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{subID}, e.asked); diff != "" {
		t.Errorf("tenant asked for (-want +got):\n%s", diff)
	}
	// An update keeps the identity's service principal.
	r = e.must("PUT", identityID("c1-agentpool")+apiV, `{"location":"eastus","tags":{"c":"d"}}`, 200)
	want["tags"] = map[string]any{"c": "d"}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}

	e.must("PUT", identityID("another")+apiV, `{"location":"eastus"}`, 201)
	for _, scope := range []string{rgID, subPath} {
		l := e.must("GET", scope+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities"+apiV, "", 200)
		if diff := cmp.Diff([]string{"another", "c1-agentpool"}, names(l)); diff != "" {
			t.Errorf("list at %s (-want +got):\n%s", scope, diff)
		}
	}

	if r := e.do("DELETE", identityID("c1-agentpool")+apiV, ""); r.status != 200 {
		t.Errorf("DELETE: %d %s", r.status, r.raw)
	}
	notFound := apiError{404, "ResourceNotFound", "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}
	if diff := cmp.Diff(notFound, e.do("GET", identityID("c1-agentpool")+apiV, "").err()); diff != "" {
		t.Errorf("GET after DELETE (-want +got):\n%s", diff)
	}
	if r := e.do("DELETE", identityID("c1-agentpool")+apiV, ""); r.status != 204 {
		t.Errorf("second DELETE: %d %s", r.status, r.raw)
	}
	// A new identity of the same name is a new service principal.
	again := e.must("PUT", identityID("c1-agentpool")+apiV, `{"location":"eastus"}`, 201)
	if got := again.body["properties"].(map[string]any)["clientId"]; got == props["clientId"] {
		t.Errorf("re-created identity has the old client ID %v", got)
	}
}

func TestIdentityValidation(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", identityID("exists")+apiV, `{"location":"eastus"}`, 201)
	badName := func(n string) apiError {
		return apiError{400, "InvalidResourceName", "Resource name '" + n + "' is invalid. The name must be 3 to 128 characters: letters, digits, '-' and '_', starting with a letter or digit."}
	}
	for _, tt := range []struct {
		name, body string
		want       apiError
	}{
		{"abc", `{"location":"eastus"}`, apiError{Status: 201}},
		{"a_b-c", `{"location":"eastus"}`, apiError{Status: 201}},
		{"9lives", `{"location":"eastus"}`, apiError{Status: 201}},
		{strings.Repeat("x", 128), `{"location":"eastus"}`, apiError{Status: 201}},
		{strings.Repeat("x", 129), `{"location":"eastus"}`, badName(strings.Repeat("x", 129))},
		{"ab", `{"location":"eastus"}`, badName("ab")},
		{"-abc", `{"location":"eastus"}`, badName("-abc")},
		{"_abc", `{"location":"eastus"}`, badName("_abc")},
		{"a.bc", `{"location":"eastus"}`, badName("a.bc")},
		{"noloc", `{}`, apiError{400, "LocationRequired", "The location property is required for this definition."}},
		{"noloc", `{"location":"  "}`, apiError{400, "LocationRequired", "The location property is required for this definition."}},
		{"badloc", `{"location":"moon"}`, apiError{400, "LocationNotAvailableForResourceType", ""}},
		{"exists", `{"location":"westus"}`, apiError{400, "InvalidResourceLocation", ""}},
		{"nobody", ``, apiError{400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'."}},
	} {
		got := e.do("PUT", identityID(tt.name)+apiV, tt.body).err()
		if tt.want.Message == "" {
			got.Message = ""
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("PUT %s %s (-want +got):\n%s", tt.name, tt.body, diff)
		}
	}
	got := e.do("PUT", subPath+"/resourceGroups/nope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/abc"+apiV, `{"location":"eastus"}`).err()
	if diff := cmp.Diff(apiError{404, "ResourceGroupNotFound", "Resource group 'nope' could not be found."}, got); diff != "" {
		t.Errorf("PUT in a missing group (-want +got):\n%s", diff)
	}
}

// Ensure is how the AKS reconciler makes kubelet and add-on identities.
func TestEnsure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ensure := func(r *store.Resource) *Properties {
		t.Helper()
		var props *Properties
		if err := e.st.Update(ctx, func(tx store.Tx) error {
			var err error
			props, err = e.p.Ensure(tx, r)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return props
	}
	first := ensure(&store.Resource{ID: identityID("c1-agentpool"), Name: "c1-agentpool", Location: "eastus", Tags: map[string]string{"v": "1"}})
	if !guid.MatchString(first.PrincipalID) || !guid.MatchString(first.ClientID) || first.TenantID != "tenant-of-"+subID || first.IsolationScope != "None" {
		t.Errorf("Ensure of a new identity = %+v", first)
	}
	// The record is a complete identity, served by the API.
	r := e.must("GET", identityID("c1-agentpool")+apiV, "", 200)
	if diff := cmp.Diff(map[string]any{"id": identityID("c1-agentpool"), "name": "c1-agentpool", "type": Type, "location": "eastus",
		"tags":       map[string]any{"v": "1"},
		"properties": map[string]any{"tenantId": first.TenantID, "principalId": first.PrincipalID, "clientId": first.ClientID, "isolationScope": "None"}}, r.body); diff != "" {
		t.Errorf("GET of an ensured identity (-want +got):\n%s", diff)
	}
	// Ensuring it again changes nothing, not even the tags.
	second := ensure(&store.Resource{ID: identityID("c1-agentpool"), Name: "c1-agentpool", Location: "eastus", Tags: map[string]string{"v": "2"}})
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Ensure (-want +got):\n%s", diff)
	}
	if got := e.must("GET", identityID("c1-agentpool")+apiV, "", 200).body["tags"]; !cmp.Equal(got, map[string]any{"v": "1"}) {
		t.Errorf("tags after a second Ensure = %v", got)
	}
	// An identity the user made is used as it is.
	put := e.must("PUT", identityID("mine")+apiV, `{"location":"eastus"}`, 201).body["properties"].(map[string]any)
	mine := ensure(&store.Resource{ID: identityID("mine"), Name: "mine", Location: "eastus"})
	if mine.ClientID != put["clientId"] || mine.PrincipalID != put["principalId"] {
		t.Errorf("Ensure of an existing identity = %+v, want the PUT's %v", mine, put)
	}
	// The tenant is the identity's subscription's.
	other := "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"
	if got := ensure(&store.Resource{ID: other, Name: "x", Location: "eastus"}); got.TenantID != "tenant-of-11111111-2222-3333-4444-555555555555" {
		t.Errorf("tenant of an identity in another subscription = %q", got.TenantID)
	}
}

func TestFederatedCredential(t *testing.T) {
	e := newEnv(t)
	const issuer = "https://localhost:7443/oidc/c1/"
	e.must("PUT", identityID("wiid")+apiV, `{"location":"eastus"}`, 201)
	r := e.must("PUT", credentialID("wiid", "kubernetes-federated-credential")+apiV,
		`{"properties":{"issuer":"`+issuer+`","subject":"system:serviceaccount:default:workload","audiences":["api://AzureADTokenExchange"],"description":"dropped"}}`, 201)
	want := map[string]any{"id": credentialID("wiid", "kubernetes-federated-credential"), "name": "kubernetes-federated-credential", "type": FederatedType,
		"properties": map[string]any{"issuer": issuer, "subject": "system:serviceaccount:default:workload", "audiences": []any{"api://AzureADTokenExchange"}}}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("PUT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.must("GET", credentialID("wiid", "kubernetes-federated-credential")+apiV, "", 200).body); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	// The same credential may be written again; a changed subject is an update.
	e.must("PUT", credentialID("wiid", "kubernetes-federated-credential")+apiV, credential(issuer, "system:serviceaccount:default:workload", "api://AzureADTokenExchange"), 200)
	r = e.must("PUT", credentialID("wiid", "kubernetes-federated-credential")+apiV, credential(issuer, "system:serviceaccount:apps:web", "api://AzureADTokenExchange"), 200)
	if got := r.body["properties"].(map[string]any)["subject"]; got != "system:serviceaccount:apps:web" {
		t.Errorf("updated subject = %v", got)
	}
	e.must("PUT", credentialID("wiid", "second")+apiV, credential(issuer, "system:serviceaccount:default:workload", "api://AzureADTokenExchange"), 201)
	if diff := cmp.Diff([]string{"kubernetes-federated-credential", "second"}, names(e.must("GET", identityID("wiid")+"/federatedIdentityCredentials"+apiV, "", 200))); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if r := e.do("DELETE", credentialID("wiid", "second")+apiV, ""); r.status != 200 {
		t.Errorf("DELETE: %d %s", r.status, r.raw)
	}
	if r := e.do("DELETE", credentialID("wiid", "second")+apiV, ""); r.status != 204 {
		t.Errorf("second DELETE: %d %s", r.status, r.raw)
	}
	// Deleting the identity deletes its credentials.
	e.must("DELETE", identityID("wiid")+apiV, "", 200)
	var left []*store.Resource
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		left, err = tx.List(store.Query{Type: FederatedType})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("credentials left after the identity went: %d", len(left))
	}
}

func TestFederatedCredentialValidation(t *testing.T) {
	e := newEnv(t)
	const (
		issuer = "https://localhost:7443/oidc/c1/"
		aud    = "api://AzureADTokenExchange"
	)
	e.must("PUT", identityID("wiid")+apiV, `{"location":"eastus"}`, 201)
	e.must("PUT", credentialID("wiid", "existing")+apiV, credential(issuer, "system:serviceaccount:default:taken", aud), 201)
	missing := apiError{400, "BadRequest", "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'."}
	badName := func(n string) apiError {
		return apiError{400, "InvalidResourceName", "Resource name '" + n + "' is invalid. The name must be 3 to 120 characters: letters, digits, '-' and '_', starting with a letter or digit."}
	}
	for _, tt := range []struct {
		name, path, body string
		want             apiError
	}{
		{"no issuer", credentialID("wiid", "fc1"), credential("", "s", aud), missing},
		{"no subject", credentialID("wiid", "fc1"), credential(issuer, "", aud), missing},
		{"no audience", credentialID("wiid", "fc1"), credential(issuer, "s"), missing},
		{"no properties", credentialID("wiid", "fc1"), `{}`, missing},
		{"two audiences", credentialID("wiid", "fc1"), credential(issuer, "s", aud, "other"),
			apiError{400, "InvalidFederatedIdentityCredentialsAudienceLength", "Federated identity credentials must have exactly 1 audience."}},
		{"http issuer", credentialID("wiid", "fc1"), credential("http://localhost/oidc", "s", aud),
			apiError{400, "BadRequest", "The issuer 'http://localhost/oidc' is not a valid URL: it must start with 'https://'."}},
		{"issuer without host", credentialID("wiid", "fc1"), credential("https://", "s", aud),
			apiError{400, "BadRequest", "The issuer 'https://' is not a valid URL: it must start with 'https://'."}},
		{"issuer not a URL", credentialID("wiid", "fc1"), credential("localhost", "s", aud),
			apiError{400, "BadRequest", "The issuer 'localhost' is not a valid URL: it must start with 'https://'."}},
		{"long subject", credentialID("wiid", "fc1"), credential(issuer, strings.Repeat("s", 601), aud),
			apiError{400, "BadRequest", "Subject and audience must be at most 600 characters."}},
		{"long audience", credentialID("wiid", "fc1"), credential(issuer, "s", strings.Repeat("a", 601)),
			apiError{400, "BadRequest", "Subject and audience must be at most 600 characters."}},
		{"mistyped audiences", credentialID("wiid", "fc1"), `{"properties":{"issuer":"` + issuer + `","subject":"s","audiences":"` + aud + `"}}`,
			apiError{400, "InvalidRequestContent", ""}},
		{"issuer and subject taken", credentialID("wiid", "fc1"), credential(issuer, "system:serviceaccount:default:taken", aud),
			apiError{400, "BadRequest", "Federated identity credential 'existing' already has issuer '" + issuer + "' and subject 'system:serviceaccount:default:taken'; an identity may trust each pair once."}},
		{"short name", credentialID("wiid", "fc"), credential(issuer, "s", aud), badName("fc")},
		{"long name", credentialID("wiid", strings.Repeat("n", 121)), credential(issuer, "s", aud), badName(strings.Repeat("n", 121))},
		{"name with a dot", credentialID("wiid", "f.c"), credential(issuer, "s", aud), badName("f.c")},
		{"missing identity", credentialID("nope", "fc1"), credential(issuer, "s", aud),
			apiError{404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource 'nope' not found."}},
	} {
		got := e.do("PUT", tt.path+apiV, tt.body).err()
		if tt.want.Message == "" {
			got.Message = ""
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// The refused PUTs wrote nothing.
	if diff := cmp.Diff([]string{"existing"}, names(e.must("GET", identityID("wiid")+"/federatedIdentityCredentials"+apiV, "", 200))); diff != "" {
		t.Errorf("credentials after refused PUTs (-want +got):\n%s", diff)
	}
	// The limits: 600 characters, 120 in a name.
	e.must("PUT", credentialID("wiid", strings.Repeat("n", 120))+apiV, credential(issuer, strings.Repeat("s", 600), strings.Repeat("a", 600)), 201)
	// Another identity may trust the same pair.
	e.must("PUT", identityID("wiid2")+apiV, `{"location":"eastus"}`, 201)
	e.must("PUT", credentialID("wiid2", "existing")+apiV, credential(issuer, "system:serviceaccount:default:taken", aud), 201)
	// Federated credentials came with api-version 2022-01-31-preview.
	if got := e.do("PUT", credentialID("wiid", "old")+"?api-version=2018-11-30", credential(issuer, "s", aud)).err(); got.Status != 400 || got.Code != "NoRegisteredProviderFound" {
		t.Errorf("PUT with an api-version without credentials: %+v", got)
	}
}

// An identity trusts at most 20 issuer/subject pairs.
func TestFederatedCredentialLimit(t *testing.T) {
	e := newEnv(t)
	const issuer = "https://localhost:7443/oidc/c1/"
	e.must("PUT", identityID("wiid")+apiV, `{"location":"eastus"}`, 201)
	for i := range 20 {
		n := string(rune('a'+i)) + "fc"
		e.must("PUT", credentialID("wiid", n)+apiV, credential(issuer, "sa-"+n, "api://AzureADTokenExchange"), 201)
	}
	got := e.do("PUT", credentialID("wiid", "one-too-many")+apiV, credential(issuer, "sa-21", "api://AzureADTokenExchange")).err()
	want := apiError{400, "BadRequest", "Too many Federated Identity Credentials are written to Managed Identity '" + identityID("wiid") + "': at most 20 are allowed."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("21st credential (-want +got):\n%s", diff)
	}
	// The 20 can still be changed.
	e.must("PUT", credentialID("wiid", "afc")+apiV, credential(issuer, "sa-changed", "api://AzureADTokenExchange"), 200)
}

// Federated is what Entra asks when a workload exchanges its token.
func TestFederated(t *testing.T) {
	e := newEnv(t)
	const issuer = "https://localhost:7443/oidc/c1/"
	client := e.must("PUT", identityID("wiid")+apiV, `{"location":"eastus"}`, 201).body["properties"].(map[string]any)["clientId"].(string)
	bare := e.must("PUT", identityID("bare")+apiV, `{"location":"eastus"}`, 201).body["properties"].(map[string]any)["clientId"].(string)
	e.must("PUT", credentialID("wiid", "cred-b")+apiV, credential(issuer, "system:serviceaccount:apps:web", "api://AzureADTokenExchange"), 201)
	e.must("PUT", credentialID("wiid", "cred-a")+apiV, credential(issuer, "system:serviceaccount:default:workload", "api://AzureADTokenExchange"), 201)
	type result struct {
		Props *Properties
		Creds []FederatedCredential
		OK    bool
	}
	lookup := func(clientID string) result {
		t.Helper()
		var r result
		if err := e.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			r.Props, r.Creds, r.OK, err = Federated(tx, clientID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	got := lookup(strings.ToUpper(client))
	if !got.OK || got.Props == nil || got.Props.ClientID != client || got.Props.TenantID != "tenant-of-"+subID {
		t.Fatalf("Federated(%s) = %+v", client, got)
	}
	if diff := cmp.Diff([]FederatedCredential{
		{Issuer: issuer, Subject: "system:serviceaccount:default:workload", Audiences: []string{"api://AzureADTokenExchange"}},
		{Issuer: issuer, Subject: "system:serviceaccount:apps:web", Audiences: []string{"api://AzureADTokenExchange"}},
	}, got.Creds); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if got := lookup(bare); !got.OK || got.Props.ClientID != bare || len(got.Creds) != 0 {
		t.Errorf("identity without credentials = %+v", got)
	}
	if got := lookup("00000000-0000-0000-0000-000000000000"); got.OK || got.Props != nil || got.Creds != nil {
		t.Errorf("unknown client ID = %+v", got)
	}
}

func TestTrusts(t *testing.T) {
	fc := FederatedCredential{Issuer: "https://issuer/", Subject: "system:serviceaccount:default:wi", Audiences: []string{"api://AzureADTokenExchange"}}
	for _, tt := range []struct {
		name            string
		issuer, subject string
		audiences       []string
		want            bool
	}{
		{"exact", "https://issuer/", "system:serviceaccount:default:wi", []string{"api://AzureADTokenExchange"}, true},
		{"one of the token's audiences", "https://issuer/", "system:serviceaccount:default:wi", []string{"other", "api://AzureADTokenExchange"}, true},
		{"other issuer", "https://issuer", "system:serviceaccount:default:wi", []string{"api://AzureADTokenExchange"}, false},
		{"other subject", "https://issuer/", "system:serviceaccount:default:other", []string{"api://AzureADTokenExchange"}, false},
		{"subject in another case", "https://issuer/", "system:serviceaccount:default:WI", []string{"api://AzureADTokenExchange"}, false},
		{"audience in another case", "https://issuer/", "system:serviceaccount:default:wi", []string{"api://azureadtokenexchange"}, false},
		{"no audience", "https://issuer/", "system:serviceaccount:default:wi", nil, false},
	} {
		if got := fc.Trusts(tt.issuer, tt.subject, tt.audiences); got != tt.want {
			t.Errorf("%s: Trusts = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Stored credentials are exactly the validated fields.
func TestFederatedStoredForm(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", identityID("wiid")+apiV, `{"location":"eastus"}`, 201)
	e.must("PUT", credentialID("wiid", "fc1")+apiV, `{"properties":{"issuer":"https://i/","subject":"s","audiences":["a"],"extra":1}}`, 201)
	var raw json.RawMessage
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		r, err := tx.Get(credentialID("wiid", "fc1"))
		if err == nil {
			raw = r.Properties
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"issuer":"https://i/","subject":"s","audiences":["a"]}` {
		t.Errorf("stored properties = %s", raw)
	}
}

// An identity's isolation scope and the properties localaks does not model
// come back as sent; the read-only ones stay localaks's.
func TestIdentityPropertiesRoundTrip(t *testing.T) {
	e := newEnv(t)
	r := e.must("PUT", identityID("regional")+apiV, `{"location":"eastus","properties":{"isolationScope":"Regional","futureSetting":{"a":1},"principalId":"mine"}}`, 201)
	props := r.body["properties"].(map[string]any)
	if props["isolationScope"] != "Regional" || props["principalId"] == "mine" || !reflect.DeepEqual(props["futureSetting"], map[string]any{"a": float64(1)}) {
		t.Errorf("properties = %v", props)
	}
	if got := e.must("GET", identityID("regional")+apiV, "", 200).body["properties"]; !reflect.DeepEqual(got, props) {
		t.Errorf("GET properties = %v, want %v", got, props)
	}
	if r := e.do("PUT", identityID("bad")+apiV, `{"location":"eastus","properties":{"isolationScope":"Global"}}`); r.status != 400 {
		t.Errorf("isolation scope Global: %d %v", r.status, r.body)
	}
}
