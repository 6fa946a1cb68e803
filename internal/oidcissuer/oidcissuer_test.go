package oidcissuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	issuer := URL("https://localhost:7443/", "eastus", "t1", "g1")
	if issuer != "https://localhost:7443/oidc/eastus/t1/g1/" {
		t.Fatalf("URL = %s", issuer)
	}
	h := Handler(func(_ context.Context, path string) (string, [][]byte, bool, error) {
		if path != "/oidc/eastus/t1/g1/" {
			return "", nil, false, nil
		}
		return issuer, [][]byte{pemKey}, true, nil
	})
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}

	rec := get("/oidc/eastus/t1/g1/.well-known/openid-configuration")
	var doc map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil || doc["issuer"] != issuer || doc["jwks_uri"] != issuer+"openid/v1/jwks" {
		t.Errorf("discovery: %d %s", rec.Code, rec.Body)
	}
	rec = get("/oidc/eastus/t1/g1/openid/v1/jwks")
	var set struct {
		Keys []struct{ Kid, Kty, Alg, Use, N, E string }
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &set) != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %d %s", rec.Code, rec.Body)
	}
	kid, _ := KeyID(&key.PublicKey)
	if k := set.Keys[0]; k.Kid != kid || k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.E != "AQAB" {
		t.Errorf("jwk = %+v, kid %s", k, kid)
	}
	for _, p := range []string{"/oidc/eastus/t1/other/openid/v1/jwks", "/oidc/eastus/t1/g1/", "/oidc/eastus/t1/g1/keys"} {
		if rec := get(p); rec.Code != 404 {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oidc/eastus/t1/g1/openid/v1/jwks", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}
