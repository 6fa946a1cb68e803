package containerregistry

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/store"
)

const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID    = "9d2c8a1e-4b7f-4c3a-8e21-5f0d6b3a7c10"
	rgID     = "/subscriptions/" + subID + "/resourceGroups/rg"
	apiV     = "?api-version=2025-11-01"
)

func registryID(name string) string {
	return rgID + "/providers/Microsoft.ContainerRegistry/registries/" + name
}

// serve is an ARM front door with this provider over a fresh store holding
// a subscription and resource group rg; it answers (status, body).
func serve(t *testing.T) func(method, path, body string) (int, map[string]any) {
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
	Register(reg, st)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer := entra.NewSigner(key)
	now := time.Now()
	tok, err := signer.Sign(&entra.Claims{Issuer: "https://localhost/" + tenantID + "/", Audience: arm.ARMAudiences[0], TenantID: tenantID, AppID: "app", ObjectID: "oid",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	srv := arm.NewServer(arm.Config{Store: st, Registry: reg, Directory: dir, Signer: signer, Entra: http.NotFoundHandler()})
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(&store.Resource{ID: rgID + "2", Type: "Microsoft.Resources/resourceGroups", Name: "rg2", Location: "eastus"}); err != nil {
			return err
		}
		return tx.Put(&store.Resource{ID: rgID, Type: "Microsoft.Resources/resourceGroups", Name: "rg", Location: "eastus"})
	}); err != nil {
		t.Fatal(err)
	}
	return func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		var out map[string]any
		if w.Body.Len() > 0 {
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %s: not JSON: %s", method, path, w.Body)
			}
		}
		return w.Code, out
	}
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestRegistryLifecycle(t *testing.T) {
	do := serve(t)
	status, body := do("PUT", registryID("MyRegistry1")+apiV, `{"location":"eastus","sku":{"name":"standard"},"tags":{"a":"b"},"properties":{"futureSetting":"kept"}}`)
	if status != 200 && status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	props := body["properties"].(map[string]any)
	sku := body["sku"].(map[string]any)
	if props["loginServer"] != "myregistry1.azurecr.io" || props["provisioningState"] != "Succeeded" || props["adminUserEnabled"] != false ||
		props["publicNetworkAccess"] != "Enabled" || props["zoneRedundancy"] != "Disabled" || props["futureSetting"] != "kept" ||
		sku["name"] != "Standard" || sku["tier"] != "Standard" || props["localaksAdmin"] != nil || props["policies"] == nil {
		t.Errorf("created registry: %v", body)
	}

	// Names: ACR's rule, and unique across the instance.
	if status, body := do("PUT", registryID("ab-cd")+apiV, `{"location":"eastus","sku":{"name":"Basic"}}`); status != 400 || errCode(body) != "ResourceNameInvalid" {
		t.Errorf("bad name: %d %v", status, body)
	}
	if status, body := do("PUT", "/subscriptions/"+subID+"/resourceGroups/rg2/providers/Microsoft.ContainerRegistry/registries/myregistry1"+apiV, `{"location":"eastus","sku":{"name":"Basic"}}`); status != 400 || errCode(body) != "AlreadyInUse" {
		t.Errorf("the same name in another group: %d %v", status, body)
	}
	if status, body := do("PUT", registryID("otherreg")+apiV, `{"location":"eastus","sku":{"name":"Basic"},"properties":{"publicNetworkAccess":"Disabled"}}`); status != 400 || errCode(body) != "DisablingPublicNetworkAccessNotSupported" {
		t.Errorf("Basic without public access: %d %v", status, body)
	}

	// Admin credentials.
	if status, body := do("POST", registryID("MyRegistry1")+"/listCredentials"+apiV, ""); status != 400 || errCode(body) != "UnAuthorizedForCredentialOperations" {
		t.Errorf("credentials with the admin user off: %d %v", status, body)
	}
	if status, body := do("PATCH", registryID("MyRegistry1")+apiV, `{"properties":{"adminUserEnabled":true}}`); status != 200 {
		t.Fatalf("enable admin: %d %v", status, body)
	}
	_, creds := do("POST", registryID("MyRegistry1")+"/listCredentials"+apiV, "")
	pw := creds["passwords"].([]any)
	if creds["username"] != "MyRegistry1" || len(pw) != 2 {
		t.Fatalf("credentials: %v", creds)
	}
	_, again := do("POST", registryID("MyRegistry1")+"/regenerateCredential"+apiV, `{"name":"password2"}`)
	pw2 := again["passwords"].([]any)
	if pw2[0].(map[string]any)["value"] != pw[0].(map[string]any)["value"] || pw2[1].(map[string]any)["value"] == pw[1].(map[string]any)["value"] {
		t.Errorf("regenerate password2: before %v after %v", pw, pw2)
	}
	if status, _ := do("POST", registryID("MyRegistry1")+"/regenerateCredential"+apiV, `{"name":"password3"}`); status != 400 {
		t.Errorf("regenerate password3: %d", status)
	}

	// Usages, replications, list, delete.
	if status, usages := do("GET", registryID("MyRegistry1")+"/listUsages"+apiV, ""); status != 200 || len(usages["value"].([]any)) != 2 {
		t.Errorf("usages: %d %v", status, usages)
	}
	if status, _ := do("POST", registryID("MyRegistry1")+"/listUsages"+apiV, ""); status != 405 {
		t.Errorf("usages by POST: %d, want 405 (ACR's is a GET)", status)
	}

	// checkNameAvailability, at the provider.
	check := "/subscriptions/" + subID + "/providers/Microsoft.ContainerRegistry/checkNameAvailability" + apiV
	for _, tc := range []struct {
		body, reason string
		available    bool
	}{
		{`{"name":"myregistry1","type":"Microsoft.ContainerRegistry/registries"}`, "AlreadyExists", false},
		{`{"name":"another1","type":"Microsoft.ContainerRegistry/registries"}`, "", true},
		{`{"name":"bad-name","type":"Microsoft.ContainerRegistry/registries"}`, "Invalid", false},
	} {
		status, got := do("POST", check, tc.body)
		if status != 200 || got["nameAvailable"] != tc.available || (tc.reason != "" && got["reason"] != tc.reason) {
			t.Errorf("check %s: %d %v", tc.body, status, got)
		}
	}
	if status, got := do("POST", check, `{"name":"another1","type":"Microsoft.Storage/storageAccounts"}`); status != 400 || errCode(got) != "InvalidRequestContent" {
		t.Errorf("check with a wrong type: %d %v", status, got)
	}
	if status, repl := do("GET", registryID("MyRegistry1")+"/replications"+apiV, ""); status != 200 || len(repl["value"].([]any)) != 0 {
		t.Errorf("replications: %d %v", status, repl)
	}
	if status, list := do("GET", "/subscriptions/"+subID+"/providers/Microsoft.ContainerRegistry/registries"+apiV, ""); status != 200 || len(list["value"].([]any)) != 1 {
		t.Errorf("list: %d %v", status, list)
	}
	if status, _ := do("DELETE", registryID("MyRegistry1")+apiV, ""); status != 200 && status != 202 && status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _ := do("GET", registryID("MyRegistry1")+apiV, ""); status != 404 {
		t.Errorf("after delete: %d", status)
	}
}
