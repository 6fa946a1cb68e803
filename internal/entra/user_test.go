package entra

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testTenant = "11111111-1111-1111-1111-111111111111"

type fakeDirectory struct{}

func (fakeDirectory) Tenant(_ context.Context, name string) (string, bool) {
	switch strings.ToLower(name) {
	case testTenant, "organizations", "common", "example.com":
		return testTenant, true
	}
	return "", false
}

// fakeUsers has one user, dana@example.com, whose password and state the
// test changes.
type fakeUsers struct {
	password string
	enabled  bool
	exists   bool
}

func (f *fakeUsers) user() User {
	return User{ObjectID: "0d0d0d0d-0000-0000-0000-000000000001", UserPrincipalName: "dana@example.com", DisplayName: "Dana",
		Enabled: f.enabled, Stamp: "stamp-" + f.password}
}

func (f *fakeUsers) SignInUser(_ context.Context, _, upn, password string) (User, error) {
	if !f.exists || !strings.EqualFold(upn, "dana@example.com") {
		return User{}, ErrUnknownUser
	}
	if password != f.password {
		return f.user(), ErrBadPassword
	}
	if !f.enabled {
		return f.user(), ErrUserDisabled
	}
	return f.user(), nil
}

func (f *fakeUsers) User(_ context.Context, _, objectID string) (User, error) {
	if !f.exists || objectID != f.user().ObjectID {
		return User{}, ErrUnknownUser
	}
	return f.user(), nil
}

func (f *fakeUsers) PublicClient(_ context.Context, _, clientID string) (bool, bool, error) {
	switch clientID {
	case "public-app":
		return true, true, nil
	case "confidential-app":
		return true, false, nil
	}
	return false, false, nil
}

type tokenReply struct {
	status int
	body   map[string]any
}

func (r tokenReply) code() string {
	d, _ := r.body["error_description"].(string)
	code, _, _ := strings.Cut(d, ":")
	return code
}

func postToken(t *testing.T, s *Server, path string, form url.Values) tokenReply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://localhost"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: %v: %s", path, err, rec.Body.String())
	}
	return tokenReply{rec.Code, body}
}

func TestUserGrants(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	users := &fakeUsers{password: "Pa55word!", enabled: true, exists: true}
	s := NewServer(Config{Signer: newTestSigner(t), Directory: fakeDirectory{}, Users: users, Now: func() time.Time { return now }})
	azCLI := "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	password := func(client, user, pw string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {client}, "username": {user}, "password": {pw},
			"scope": {"https://management.core.windows.net//.default offline_access openid profile"}}
	}

	// Signed in: an access token naming the user, an ID token for the
	// client, client_info, a refresh token and the scope granted.
	ok := postToken(t, s, "/organizations/oauth2/v2.0/token", password(azCLI, "dana@example.com", "Pa55word!"))
	if ok.status != 200 {
		t.Fatalf("password grant: %d %v", ok.status, ok.body)
	}
	at, err := s.cfg.Signer.Validate(ok.body["access_token"].(string), now)
	if err != nil || at.IDType != "user" || at.UPN != "dana@example.com" || at.TenantID != testTenant || at.AppID != azCLI ||
		at.Audience != "https://management.core.windows.net/" || at.Scope != "user_impersonation" {
		t.Fatalf("access token: %+v %v", at, err)
	}
	id, err := s.cfg.Signer.Validate(ok.body["id_token"].(string), now)
	if err != nil || id.Audience != azCLI || id.PreferredUsername != "dana@example.com" || !strings.HasSuffix(id.Issuer, "/"+testTenant+"/v2.0") {
		t.Fatalf("ID token: %+v %v", id, err)
	}
	if !strings.Contains(ok.body["scope"].(string), "https://management.core.windows.net//.default") || ok.body["client_info"] == "" {
		t.Fatalf("response: %v", ok.body)
	}
	rt := ok.body["refresh_token"].(string)
	refresh := func(client, token string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {token}, "scope": {"https://vault.azure.net/.default"}}
	}
	if r := postToken(t, s, "/"+testTenant+"/oauth2/v2.0/token", refresh(azCLI, rt)); r.status != 200 {
		t.Fatalf("refresh: %d %v", r.status, r.body)
	}

	for _, c := range []struct {
		name, path string
		form       url.Values
		status     int
		code       string
	}{
		{"wrong password", "/organizations/oauth2/v2.0/token", password(azCLI, "dana@example.com", "nope"), 400, "AADSTS50126"},
		{"unknown user", "/organizations/oauth2/v2.0/token", password(azCLI, "eve@example.com", "Pa55word!"), 400, "AADSTS50034"},
		{"no password", "/organizations/oauth2/v2.0/token", password(azCLI, "dana@example.com", ""), 400, "AADSTS900144"},
		{"unknown client", "/organizations/oauth2/v2.0/token", password("not-an-app", "dana@example.com", "Pa55word!"), 400, "AADSTS700016"},
		{"confidential client without a secret", "/organizations/oauth2/v2.0/token", password("confidential-app", "dana@example.com", "Pa55word!"), 401, "AADSTS7000218"},
		{"forged refresh token", "/organizations/oauth2/v2.0/token", refresh(azCLI, rt[:len(rt)-4]+"AAAA"), 400, "AADSTS9002313"},
		{"refresh token of another client", "/organizations/oauth2/v2.0/token", refresh("public-app", rt), 400, "AADSTS70000"},
		{"refresh in another tenant", "/nowhere/oauth2/v2.0/token", refresh(azCLI, rt), 400, "AADSTS90002"},
	} {
		if r := postToken(t, s, c.path, c.form); r.status != c.status || r.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s (%v)", c.name, r.status, r.code(), c.status, c.code, r.body)
		}
	}
	if r := postToken(t, s, "/organizations/oauth2/v2.0/token", password("public-app", "dana@example.com", "Pa55word!")); r.status != 200 {
		t.Errorf("a directory public client: %d %v", r.status, r.body)
	}

	// A new password revokes refresh tokens; a disabled or deleted user
	// gets none; an old refresh token expires.
	users.password = "N3w!password"
	if r := postToken(t, s, "/organizations/oauth2/v2.0/token", refresh(azCLI, rt)); r.code() != "AADSTS50173" {
		t.Errorf("refresh after a password change: %d %v", r.status, r.body)
	}
	fresh := postToken(t, s, "/organizations/oauth2/v2.0/token", password(azCLI, "dana@example.com", "N3w!password")).body["refresh_token"].(string)
	users.enabled = false
	if r := postToken(t, s, "/organizations/oauth2/v2.0/token", refresh(azCLI, fresh)); r.code() != "AADSTS50057" {
		t.Errorf("refresh of a disabled user: %d %v", r.status, r.body)
	}
	users.enabled, users.exists = true, false
	if r := postToken(t, s, "/organizations/oauth2/v2.0/token", refresh(azCLI, fresh)); r.code() != "AADSTS50034" {
		t.Errorf("refresh of a deleted user: %d %v", r.status, r.body)
	}
	users.exists = true
	now = now.Add(91 * 24 * time.Hour)
	if r := postToken(t, s, "/organizations/oauth2/v2.0/token", refresh(azCLI, fresh)); r.code() != "AADSTS700082" {
		t.Errorf("refresh after 91 days: %d %v", r.status, r.body)
	}
}

func TestUserRealm(t *testing.T) {
	s := NewServer(Config{Signer: newTestSigner(t), Directory: fakeDirectory{}, Users: &fakeUsers{}})
	for user, want := range map[string]string{"dana@example.com": "Managed", "someone@elsewhere.test": "Unknown"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://localhost/common/UserRealm/"+user+"?api-version=1.0", nil))
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 || doc["account_type"] != want {
			t.Errorf("%s: %d %s, want %s", user, rec.Code, rec.Body.String(), want)
		}
	}
}

// fakePrincipals signs in one client and gives it roles on one API.
type fakePrincipals struct{}

func (fakePrincipals) SignIn(_ context.Context, _, clientID, secret string) (string, error) {
	if clientID != "worker" || secret != "s" {
		return "", ErrBadSecret
	}
	return "0d0d0d0d-0000-0000-0000-0000000000aa", nil
}
func (fakePrincipals) Register(context.Context, string, string, string) error   { return nil }
func (fakePrincipals) Groups(context.Context, string, string) ([]string, error) { return nil, nil }
func (fakePrincipals) Roles(_ context.Context, _, oid, aud string) ([]string, error) {
	if aud == "api://orders" && oid == "0d0d0d0d-0000-0000-0000-0000000000aa" {
		return []string{"Orders.Read"}, nil
	}
	return nil, nil
}

// Tokens carry the app roles the audience's application gives the client.
func TestRolesClaim(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := NewServer(Config{Signer: newTestSigner(t), Directory: fakeDirectory{}, Principals: fakePrincipals{}, Now: func() time.Time { return now }})
	for aud, want := range map[string]string{"api://orders": "Orders.Read", "https://management.core.windows.net/": ""} {
		r := postToken(t, s, "/"+testTenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"worker"},
			"client_secret": {"s"}, "scope": {aud + "/.default"}})
		if r.status != 200 {
			t.Fatalf("%s: %d %v", aud, r.status, r.body)
		}
		c, err := s.cfg.Signer.Validate(r.body["access_token"].(string), now)
		if err != nil || strings.Join(c.Roles, ",") != want {
			t.Errorf("%s: roles %v (%v), want %q", aud, c.Roles, err, want)
		}
	}
}
