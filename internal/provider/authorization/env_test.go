package authorization

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/graph"
	"github.com/localaks/localaks/internal/provider/management"
	"github.com/localaks/localaks/internal/store"
)

const (
	tenantID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID     = "9d2c8a1e-4b7f-4c3a-8e21-5f0d6b3a7c10"
	callerOID = "0b7c6c2e-1d3f-4a5b-9c8d-7e6f5a4b3c2d"
	subPath   = "/subscriptions/" + subID
	rgID      = subPath + "/resourceGroups/rg"
	otherRG   = subPath + "/resourceGroups/other"
	// vnetID is a resource scope: a record put straight into the store.
	vnetID = rgID + "/providers/Microsoft.Network/virtualNetworks/vnet"
	apiV   = "?api-version=2022-04-01"
)

// Built-in role IDs.
const (
	contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	reader      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	acrPull     = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	netContrib  = "4d97b98b-1d4f-4787-a291-c67834d212e7"
)

var created = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// env is an ARM front door with this provider over a fresh store holding a
// subscription, resource groups rg and other, and a VNet record in rg.
type env struct {
	t      testing.TB
	st     store.Store
	p      *Provider
	srv    *arm.Server
	tok    string
	reg    *arm.Registry
	dir    *arm.Directory
	signer *entra.Signer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := arm.NewDirectory(st)
	if _, err := dir.Bootstrap(ctx, tenantID, subID); err != nil {
		t.Fatal(err)
	}
	reg := arm.NewRegistry()
	p := Register(reg, st)
	p.now = func() time.Time { return created }
	management.Register(reg, management.Config{Store: st})
	key, err := signingKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := entra.NewSigner(key)
	now := time.Now()
	tok, err := signer.Sign(&entra.Claims{Issuer: "https://localhost/" + tenantID + "/", Audience: arm.ARMAudiences[0], TenantID: tenantID, AppID: "app", ObjectID: callerOID,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		for _, r := range []*store.Resource{
			{ID: rgID, Type: "Microsoft.Resources/resourceGroups", Name: "rg", Location: "eastus"},
			{ID: otherRG, Type: "Microsoft.Resources/resourceGroups", Name: "other", Location: "eastus"},
			{ID: vnetID, Type: "Microsoft.Network/virtualNetworks", Name: "vnet", Location: "eastus", Properties: json.RawMessage(`{"subnets":[{"name":"nodes","properties":{}}]}`)},
		} {
			if err := tx.Put(r); err != nil {
				return err
			}
		}
		// The principal the tests assign roles to, a user of the tenant.
		for i := range 10 {
			p := strings.Replace(principal, "5f3c", "5f3"+string(rune('0'+i)), 1)
			if err := graph.EnsureUser(tx, tenantID, p, fmt.Sprintf("user%d@localaks.onmicrosoft.com", i), "user"); err != nil {
				return err
			}
		}
		if err := graph.EnsureUser(tx, tenantID, principal2, "user2@localaks.onmicrosoft.com", "user 2"); err != nil {
			return err
		}
		return graph.EnsureUser(tx, tenantID, principal, "user@localaks.onmicrosoft.com", "user")
	}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, p: p, tok: tok, reg: reg, dir: dir, signer: signer,
		srv: arm.NewServer(arm.Config{Store: st, Registry: reg, Directory: dir, Signer: signer, Entra: http.NotFoundHandler()})}
}

type reply struct {
	status int
	body   map[string]any
	raw    []byte
}

// apiError is what a test compares of an ARM error answer.
type apiError struct {
	Status        int
	Code, Message string
}

func (r reply) err() apiError {
	e, _ := r.body["error"].(map[string]any)
	out := apiError{Status: r.status}
	out.Code, _ = e["code"].(string)
	out.Message, _ = e["message"].(string)
	return out
}

func (e *env) do(method, path, body string, headers ...string) reply {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.tok)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	r := reply{status: w.Code, raw: w.Body.Bytes()}
	if len(r.raw) > 0 { // some answers have no body
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, r.raw)
		}
	}
	return r
}

func (e *env) must(method, path, body string, status int) reply {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != status {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r
}

// assignmentPath is the role assignment name at scope.
func assignmentPath(scope, name string) string {
	return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
}

// assignment is a PUT body.
func assignment(role, principal, principalType string) string {
	props := map[string]any{"roleDefinitionId": role, "principalId": principal}
	if principalType != "" {
		props["principalType"] = principalType
	}
	raw, _ := json.Marshal(map[string]any{"properties": props})
	return string(raw)
}

// roleID is a role definition ID as clients send it.
func roleID(id string) string {
	return subPath + "/providers/Microsoft.Authorization/roleDefinitions/" + id
}

// names lists the "name" of every item of a collection answer.
func names(r reply) []string {
	out := []string{}
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any)["name"].(string))
	}
	return out
}
