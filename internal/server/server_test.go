package server

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/pki"
)

// instance is a localaks running in-process on a free loopback port.
type instance struct {
	t      testing.TB
	srv    *Server
	dir    datadir.Dir
	http   *http.Client
	token  string
	client datadir.Client
}

func start(t testing.TB, cfg Config) *instance {
	t.Helper()
	if cfg.DataDir.Path == "" {
		cfg.DataDir = datadir.Dir{Path: t.TempDir()}
	}
	cfg.Listen = []string{"127.0.0.1:0"}
	srv, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	caPEM, err := os.ReadFile(cfg.DataDir.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	in := &instance{t: t, srv: srv, dir: cfg.DataDir, client: srv.Client(),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	tok, status, body := in.tokenFor(in.client.TenantID, in.client.ClientID, in.client.ClientSecret, "https://management.core.windows.net//.default")
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	in.token = tok
	return in
}

func (in *instance) tokenFor(tenant, id, secret, scope string) (string, int, map[string]any) {
	in.t.Helper()
	resp, err := in.http.PostForm(in.srv.URL()+"/"+tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {scope},
	})
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	tok, _ := body["access_token"].(string)
	return tok, resp.StatusCode, body
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r reply) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

func (r reply) message() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		m, _ := e["message"].(string)
		return m
	}
	return ""
}

func (in *instance) do(method, path, body string, header ...string) reply {
	in.t.Helper()
	req, err := http.NewRequest(method, in.srv.URL()+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+in.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := in.http.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

func (in *instance) sub() string { return "/subscriptions/" + in.client.SubscriptionID }

const v = "?api-version=2021-04-01"

func TestAuthenticationErrors(t *testing.T) {
	in := start(t, Config{})
	key, err := pki.ReadKey(filepath.Join(in.dir.PKI(), "entra-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signer := entra.NewSigner(key.(*rsa.PrivateKey))
	now := time.Now()
	sign := func(c entra.Claims) string {
		tok, err := signer.Sign(&c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := entra.Claims{Audience: "https://management.core.windows.net/", TenantID: in.client.TenantID, ObjectID: "o", AppID: "a",
		Issuer:   in.srv.URL() + "/" + in.client.TenantID + "/",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"}
	expired := base
	expired.Expiry, expired.IssuedAt, expired.NotBefore = now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	otherTenant := base
	otherTenant.TenantID = "11111111-2222-3333-4444-555555555555"
	otherIssuer := base
	otherIssuer.Issuer = "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"
	otherKey := mustRSA(t)
	forged, _ := entra.NewSigner(otherKey).Sign(&base)
	graphTok, status, _ := in.tokenFor(in.client.TenantID, in.client.ClientID, in.client.ClientSecret, "https://graph.microsoft.com/.default")
	if status != 200 {
		t.Fatalf("graph token: %d", status)
	}

	tests := []struct {
		name, authz, code, msg string
	}{
		{"missing", "", "AuthenticationFailed", "'Authorization' header is missing"},
		{"not bearer", "Basic Zm9vOmJhcg==", "AuthenticationFailed", "invalid format"},
		{"garbage", "Bearer not.a.jwt", "InvalidAuthenticationToken", "invalid"},
		{"forged", "Bearer " + forged, "InvalidAuthenticationToken", "invalid"},
		{"expired", "Bearer " + sign(expired), "ExpiredAuthenticationToken", "is earlier than current UTC time"},
		{"wrong audience", "Bearer " + graphTok, "InvalidAuthenticationTokenAudience", "https://graph.microsoft.com"},
		{"unknown tenant", "Bearer " + sign(otherTenant), "InvalidAuthenticationTokenTenant", "wrong issuer"},
		{"issuer of another tenant", "Bearer " + sign(otherIssuer), "InvalidAuthenticationTokenTenant", "wrong issuer 'https://sts.windows.net/11111111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := in.do("PUT", in.sub()+"/resourcegroups/authtest"+v, `{"location":"eastus"}`, "Authorization", tt.authz)
			if r.status != 401 || r.code() != tt.code || !strings.Contains(r.message(), tt.msg) {
				t.Errorf("got %d %s %q; want 401 %s containing %q", r.status, r.code(), r.message(), tt.code, tt.msg)
			}
			if wa := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer authorization_uri=") || !strings.Contains(wa, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", wa)
			}
		})
	}
	if r := in.do("HEAD", in.sub()+"/resourcegroups/authtest"+v, ""); r.status != 404 {
		t.Errorf("a rejected PUT created the group: HEAD = %d", r.status)
	}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := loadOrCreateRSA(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBadRequests(t *testing.T) {
	in := start(t, Config{})
	rg := in.sub() + "/resourcegroups/"
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		{"no api-version", "GET", rg + "x", "", 400, "MissingApiVersionParameter", "api-version query parameter"},
		{"bad api-version", "GET", rg + "x?api-version=2099-01-01", "", 400, "InvalidApiVersionParameter", "2021-04-01"},
		{"malformed json", "PUT", rg + "bad-json" + v, `{"location": "eastus",`, 400, "InvalidRequestContent", "could not be deserialized"},
		{"wrong json type", "PUT", rg + "bad-type" + v, `{"location": 5}`, 400, "InvalidRequestContent", "location"},
		{"empty body", "PUT", rg + "empty" + v, ``, 400, "InvalidRequestContent", "empty"},
		{"missing location", "PUT", rg + "noloc" + v, `{}`, 400, "LocationRequired", "location property is required"},
		{"unknown location", "PUT", rg + "badloc" + v, `{"location":"moon"}`, 400, "LocationNotAvailableForResourceGroup", "'moon'"},
		{"invalid characters", "PUT", rg + "bad*name" + v, `{"location":"eastus"}`, 400, "InvalidResourceGroup", "invalid characters: '*'"},
		{"trailing period", "PUT", rg + "ends." + v, `{"location":"eastus"}`, 400, "InvalidResourceGroup", "trailing"},
		{"too long", "PUT", rg + strings.Repeat("a", 91) + v, `{"location":"eastus"}`, 400, "InvalidResourceGroup", "90"},
		{"bad tag name", "PUT", rg + "badtag" + v, `{"location":"eastus","tags":{"a/b":"c"}}`, 400, "InvalidTagNameCharacters", "a/b"},
		{"unknown subscription", "GET", "/subscriptions/00000000-0000-0000-0000-0000000000ff/resourcegroups" + v, "", 404, "SubscriptionNotFound", "could not be found"},
		{"malformed subscription", "GET", "/subscriptions/nope/resourcegroups" + v, "", 400, "InvalidSubscriptionId", "malformed"},
		{"missing group", "GET", rg + "missing" + v, "", 404, "ResourceGroupNotFound", "Resource group 'missing' could not be found."},
		{"unknown path", "GET", in.sub() + "/bogus" + v, "", 404, "NotFound", "bogus"},
		{"unknown namespace", "GET", rg + "x/providers/Microsoft.Nope/things/y" + v, "", 400, "InvalidResourceNamespace", "Microsoft.Nope"},
		{"method not allowed", "POST", rg + "x" + v, "", 405, "MethodNotAllowed", "POST"},
		{"delete method on subscription", "DELETE", in.sub() + v, "", 405, "MethodNotAllowed", "DELETE"},
		{"huge body", "PUT", rg + "huge" + v, `{"location":"eastus","tags":{"a":"` + strings.Repeat("x", 5<<20) + `"}}`, 413, "RequestEntityTooLarge", "maximum size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := in.do(tt.method, tt.path, tt.body)
			if r.status != tt.status || r.code() != tt.code || !strings.Contains(r.message(), tt.msg) {
				t.Errorf("got %d %s %q; want %d %s containing %q", r.status, r.code(), r.message(), tt.status, tt.code, tt.msg)
			}
			if r.header.Get("x-ms-request-id") == "" || r.header.Get("x-ms-correlation-request-id") == "" {
				t.Errorf("missing request id headers: %v", r.header)
			}
		})
	}
	// Nothing the failures named exists.
	list := in.do("GET", strings.TrimSuffix(rg, "/")+v, "")
	if list.status != 200 || len(list.body["value"].([]any)) != 0 {
		t.Errorf("groups after failed writes: %d %s", list.status, list.raw)
	}
}

func TestResourceGroupLifecycle(t *testing.T) {
	in := start(t, Config{PageSize: 2})
	rg := in.sub() + "/resourcegroups/"
	r := in.do("PUT", rg+"Alpha"+v, `{"location":"East US","tags":{"env":"dev"}}`, "x-ms-client-request-id", "cid-1")
	if r.status != 201 || r.body["location"] != "eastus" || r.body["name"] != "Alpha" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	if got := r.body["id"]; got != in.sub()+"/resourceGroups/Alpha" {
		t.Errorf("id = %v, want canonical type casing and the caller's name casing", got)
	}
	if r.header.Get("x-ms-client-request-id") != "cid-1" {
		t.Errorf("client request id not echoed")
	}
	if r := in.do("PUT", rg+"ALPHA"+v, `{"location":"eastus","tags":{"env":"prod"}}`); r.status != 200 || r.body["name"] != "Alpha" {
		t.Errorf("update with other casing: %d %s", r.status, r.raw)
	}
	if r := in.do("PUT", rg+"alpha"+v, `{"location":"westus"}`); r.status != 409 || r.code() != "InvalidResourceGroupLocation" {
		t.Errorf("move location: %d %s", r.status, r.raw)
	}
	if r := in.do("PUT", rg+"alpha"+v, `{"location":"eastus"}`, "If-None-Match", "*"); r.status != 412 || r.code() != "PreconditionFailed" {
		t.Errorf("If-None-Match on existing: %d %s", r.status, r.raw)
	}
	if r := in.do("PATCH", rg+"alpha"+v, `{"tags":{"x":"y"}}`, "If-Match", `"nope"`); r.status != 412 {
		t.Errorf("If-Match mismatch: %d %s", r.status, r.raw)
	}
	for _, name := range []string{"beta", "gamma", "delta"} {
		if r := in.do("PUT", rg+name+v, `{"location":"westeurope","tags":{"team":"`+name+`"}}`); r.status != 201 {
			t.Fatalf("create %s: %d", name, r.status)
		}
	}
	// Paging: page size 2 gives two pages with a nextLink.
	var names []string
	next := strings.TrimSuffix(rg, "/") + v
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := in.do("GET", strings.TrimPrefix(next, in.srv.URL()), "")
		for _, it := range r.body["value"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		next, _ = r.body["nextLink"].(string)
	}
	if strings.Join(names, ",") != "Alpha,beta,delta,gamma" {
		t.Errorf("paged names = %v", names)
	}
	// $filter on tags.
	r = in.do("GET", strings.TrimSuffix(rg, "/")+v+"&%24filter="+url.QueryEscape("tagName eq 'team' and tagValue eq 'gamma'"), "")
	if vals := r.body["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["name"] != "gamma" {
		t.Errorf("tag filter: %s", r.raw)
	}
	if r := in.do("GET", strings.TrimSuffix(rg, "/")+v+"&%24filter="+url.QueryEscape("foo eq 'x'"), ""); r.status != 400 {
		t.Errorf("bad filter: %d", r.status)
	}
	// Tags at scope.
	r = in.do("PATCH", rg+"beta/providers/Microsoft.Resources/tags/default"+v, `{"operation":"Merge","properties":{"tags":{"owner":"me"}}}`)
	if tags := r.body["properties"].(map[string]any)["tags"].(map[string]any); r.status != 200 || tags["owner"] != "me" || tags["team"] != "beta" {
		t.Errorf("merge tags: %d %s", r.status, r.raw)
	}
	// Delete: 202 + Location, the operation completes on its own.
	r = in.do("DELETE", rg+"beta"+v, "")
	loc := r.header.Get("Location")
	if r.status != 202 || !strings.Contains(loc, "/operationresults/") || r.header.Get("Retry-After") != "1" {
		t.Fatalf("delete: %d %v", r.status, r.header)
	}
	deadline := time.Now().Add(10 * time.Second)
	for in.do("HEAD", rg+"beta"+v, "").status != 404 {
		if time.Now().After(deadline) {
			t.Fatal("group not deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := in.do("GET", strings.TrimPrefix(loc, in.srv.URL()), ""); r.status != 200 {
		t.Errorf("operation result after delete: %d %s", r.status, r.raw)
	}
	if r := in.do("DELETE", rg+"beta"+v, ""); r.status != 404 || r.code() != "ResourceGroupNotFound" {
		t.Errorf("delete missing: %d %s", r.status, r.raw)
	}
}

func TestTokenEndpoint(t *testing.T) {
	in := start(t, Config{ServicePrincipals: map[string]string{"AppOne": "s3cret"}})
	tests := []struct {
		name, tenant, id, secret, scope string
		status                          int
		errCode                         string
	}{
		{"configured pair", in.client.TenantID, "appone", "s3cret", "https://management.azure.com/.default", 200, ""},
		{"built-in pair", "organizations", in.client.ClientID, in.client.ClientSecret, "https://management.azure.com/.default", 200, ""},
		{"wrong secret", in.client.TenantID, "AppOne", "nope", "https://management.azure.com/.default", 401, "invalid_client"},
		{"unknown app", in.client.TenantID, "other", "x", "https://management.azure.com/.default", 400, "unauthorized_client"},
		{"unknown tenant", "99999999-9999-9999-9999-999999999999", "AppOne", "s3cret", "https://management.azure.com/.default", 400, "invalid_tenant"},
		{"scope without .default", in.client.TenantID, "AppOne", "s3cret", "https://management.azure.com/user_impersonation", 400, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, status, body := in.tokenFor(tt.tenant, tt.id, tt.secret, tt.scope)
			if status != tt.status || (tt.errCode != "" && body["error"] != tt.errCode) {
				t.Errorf("got %d %v, want %d %s", status, body, tt.status, tt.errCode)
			}
			if tt.errCode != "" && !strings.HasPrefix(fmt.Sprint(body["error_description"]), "AADSTS") {
				t.Errorf("error_description = %v", body["error_description"])
			}
		})
	}
	// ADFS-style discovery, as az 2.45 reads it.
	resp, err := in.http.Get(in.srv.URL() + "/adfs/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["issuer"] != in.srv.URL()+"/adfs" || doc["token_endpoint"] != in.srv.URL()+"/adfs/oauth2/token" {
		t.Errorf("adfs discovery = %v", doc)
	}
}

func TestMetadataEndpoints(t *testing.T) {
	in := start(t, Config{})
	get := func(version string) []byte {
		resp, err := in.http.Get(in.srv.URL() + "//metadata/endpoints?api-version=" + version)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", version, resp.StatusCode, b)
		}
		return b
	}
	var old struct {
		Auth struct {
			LoginEndpoint string `json:"loginEndpoint"`
		} `json:"authentication"`
		Graph string `json:"graphEndpoint"`
	}
	json.Unmarshal(get("2015-01-01"), &old)
	if old.Auth.LoginEndpoint != in.srv.URL()+"/adfs/" || old.Graph == "" {
		t.Errorf("2015-01-01 form = %+v", old)
	}
	var list []map[string]any
	if err := json.Unmarshal(get("2019-05-01"), &list); err != nil || len(list) != 1 {
		t.Errorf("2019-05-01 form is not a one-element array: %v", err)
	}
	var tf struct {
		ResourceManager string `json:"resourceManager"`
		Graph           string `json:"microsoftGraphResourceId"`
		Auth            struct {
			Tenant, IdentityProvider string
		} `json:"authentication"`
	}
	json.Unmarshal(get("2022-09-01"), &tf)
	if tf.Auth.Tenant != "common" || tf.Auth.IdentityProvider != "AAD" || tf.Graph == "" || tf.ResourceManager != in.srv.URL()+"/" {
		t.Errorf("2022-09-01 form = %+v", tf)
	}
}
