package managedidentity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/store"
)

const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID    = "9d2c8a1e-4b7f-4c3a-8e21-5f0d6b3a7c10"
	subPath  = "/subscriptions/" + subID
	rgID     = subPath + "/resourceGroups/rg"
	apiV     = "?api-version=2023-01-31"
)

func identityID(name string) string {
	return rgID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
}

func credentialID(identity, name string) string {
	return identityID(identity) + "/federatedIdentityCredentials/" + name
}

var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// env is an ARM front door with this provider over a fresh store holding a
// subscription and resource group rg.
type env struct {
	t   *testing.T
	st  store.Store
	p   *Provider
	srv *arm.Server
	tok string
	// asked records the subscriptions the provider asked the tenant of.
	asked []string
}

func newEnv(t *testing.T) *env {
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
	e := &env{t: t, st: st}
	reg := arm.NewRegistry()
	e.p = Register(reg, st, func(sub string) string {
		e.asked = append(e.asked, sub)
		return "tenant-of-" + sub
	})
	key, err := signingKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := entra.NewSigner(key)
	now := time.Now()
	e.tok, err = signer.Sign(&entra.Claims{Issuer: "https://localhost/" + tenantID + "/", Audience: arm.ARMAudiences[0], TenantID: tenantID, AppID: "app", ObjectID: "oid",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = arm.NewServer(arm.Config{Store: st, Registry: reg, Directory: dir, Signer: signer, Entra: http.NotFoundHandler()})
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: rgID, Type: "Microsoft.Resources/resourceGroups", Name: "rg", Location: "eastus"})
	}); err != nil {
		t.Fatal(err)
	}
	return e
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

func (e *env) do(method, path, body string) reply {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.tok)
	req.Header.Set("Content-Type", "application/json")
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

// credential is a federated credential PUT body.
func credential(issuer, subject string, audiences ...string) string {
	raw, _ := json.Marshal(map[string]any{"properties": map[string]any{"issuer": issuer, "subject": subject, "audiences": audiences}})
	return string(raw)
}

// names lists the "name" of every item of a collection answer.
func names(r reply) []string {
	out := []string{}
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any)["name"].(string))
	}
	return out
}
