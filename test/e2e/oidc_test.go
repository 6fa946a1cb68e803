package e2e

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// issuerDocs fetches an OIDC issuer's discovery document and key set from
// localaks.
func (s *serve) issuerDocs(t *testing.T, issuer string) (discovery map[string]any, keys map[string]*rsa.PublicKey) {
	t.Helper()
	get := func(url string, into any) {
		resp, err := s.http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(raw, into) != nil {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, raw)
		}
	}
	get(issuer+".well-known/openid-configuration", &discovery)
	var set struct{ Keys []struct{ Kid, N, E string } }
	get(discovery["jwks_uri"].(string), &set)
	keys = map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return discovery, keys
}

// tokenKubeconfig is a kubeconfig for kc's API server that signs in with a
// bearer token only.
func tokenKubeconfig(t *testing.T, kc, token string) string {
	t.Helper()
	view := func(path string) string {
		return mustKubectl(t, kc, "config", "view", "--raw", "--minify", "-o", "jsonpath={"+path+"}")
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority-data: %q}}]
users: [{name: u, user: {token: %q}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, view(".clusters[0].cluster.server"), view(".clusters[0].cluster.certificate-authority-data"), token)
	path := filepath.Join(t.TempDir(), "token-kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tokenKid is a token's key ID.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// verifyToken checks a service-account token against an issuer's keys as a
// relying party (Entra ID) would, and returns its claims.
func verifyToken(t *testing.T, token, issuer string, keys map[string]*rsa.PublicKey) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		return keys[tok.Header["kid"].(string)], nil
	}, jwt.WithIssuer(issuer), jwt.WithAudience(issuer), jwt.WithValidMethods([]string{"RS256"}))
	if err != nil {
		t.Fatalf("token does not verify against %s: %v", issuer, err)
	}
	return claims
}

// TestOIDCIssuer: new clusters have the OIDC issuer on (AKS's default from
// 1.34); service-account tokens are issued by it and verify against the
// keys its URL serves; an update keeps the URL; disabling is refused; a
// cluster created without it gets it with az aks update
// --enable-oidc-issuer and its API server issues tokens under the new URL.
func TestOIDCIssuer(t *testing.T) {
	needAz(t)
	s := startServe(t, "")
	kc := s.smallCluster(t, "oi")
	var profile struct {
		Enabled   bool
		IssuerURL string `json:"issuerUrl"`
	}
	mustAz(t, s.localaksAz("aks", "show", "-g", "oi", "-n", "c1", "--query", "oidcIssuerProfile")).json(t, &profile)
	prefix := s.URL + "/oidc/eastus/" + s.Client.TenantID + "/"
	if !profile.Enabled || !strings.HasPrefix(profile.IssuerURL, prefix) || !strings.HasSuffix(profile.IssuerURL, "/") {
		t.Fatalf("oidcIssuerProfile = %+v, want enabled under %s", profile, prefix)
	}
	issuer := profile.IssuerURL
	discovery, keys := s.issuerDocs(t, issuer)
	if discovery["issuer"] != issuer || discovery["jwks_uri"] != issuer+"openid/v1/jwks" || len(keys) != 1 {
		t.Errorf("discovery = %v, %d keys", discovery, len(keys))
	}
	mustKubectl(t, kc, "create", "serviceaccount", "app")
	claims := verifyToken(t, strings.TrimSpace(mustKubectl(t, kc, "create", "token", "app")), issuer, keys)
	if claims["sub"] != "system:serviceaccount:default:app" {
		t.Errorf("claims = %v", claims)
	}
	// The API server's own discovery agrees.
	var own map[string]any
	if err := json.Unmarshal([]byte(mustKubectl(t, kc, "get", "--raw", "/.well-known/openid-configuration")), &own); err != nil ||
		own["issuer"] != issuer || own["jwks_uri"] != issuer+"openid/v1/jwks" {
		t.Errorf("API server discovery = %v (%v)", own, err)
	}

	// Rotating the signing keys: new tokens are signed with a new key, the
	// old key stays published (and old tokens valid) until a second
	// rotation.
	old := strings.TrimSpace(mustKubectl(t, kc, "create", "token", "app"))
	oldKid := tokenKid(t, old)
	mustAz(t, s.localaksAz("aks", "oidc-issuer", "rotate-signing-keys", "-g", "oi", "-n", "c1", "--yes"))
	untilAPI(t, kc)
	_, keys = s.issuerDocs(t, issuer)
	fresh := strings.TrimSpace(mustKubectl(t, kc, "create", "token", "app"))
	if len(keys) != 2 || keys[oldKid] == nil || tokenKid(t, fresh) == oldKid {
		t.Errorf("after one rotation: %d keys, old key published %v", len(keys), keys[oldKid] != nil)
	}
	verifyToken(t, fresh, issuer, keys)
	verifyToken(t, old, issuer, keys)
	if r := kubectl(t, tokenKubeconfig(t, kc, old), "auth", "whoami"); r.code != 0 || !strings.Contains(r.stdout, "system:serviceaccount:default:app") {
		t.Errorf("a token from before one rotation is refused: %s", r.stderr)
	}
	mustAz(t, s.localaksAz("aks", "oidc-issuer", "rotate-signing-keys", "-g", "oi", "-n", "c1", "--yes"))
	untilAPI(t, kc)
	if _, keys = s.issuerDocs(t, issuer); len(keys) != 2 || keys[oldKid] != nil {
		t.Errorf("after two rotations: %d keys, old key published %v", len(keys), keys[oldKid] != nil)
	}
	if r := kubectl(t, tokenKubeconfig(t, kc, old), "auth", "whoami"); r.code == 0 || !strings.Contains(r.stderr, "Unauthorized") {
		t.Errorf("a token from before two rotations: exit %d %s", r.code, r.stderr)
	}

	// az aks update PUTs the whole cluster: the URL stays.
	mustAz(t, s.localaksAz("aks", "update", "-g", "oi", "-n", "c1", "--tags", "env=test"))
	mustAz(t, s.localaksAz("aks", "show", "-g", "oi", "-n", "c1", "--query", "oidcIssuerProfile")).json(t, &profile)
	if profile.IssuerURL != issuer {
		t.Errorf("after update issuer = %s, was %s", profile.IssuerURL, issuer)
	}
	path := s.sub() + "/resourceGroups/oi/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2025-10-01"
	status, _, body := s.request("PUT", path, `{"location":"eastus","properties":{"oidcIssuerProfile":{"enabled":false}}}`)
	// (AKS answers its own errors unwrapped, without the "error" envelope.)
	if status != 400 || body["code"] != "BadRequest" || body["target"] != "oidcIssuerProfile.enabled" {
		t.Errorf("disable: %d %v", status, body)
	}

	// A cluster made with the issuer off: tokens come from the in-cluster
	// issuer until az aks update --enable-oidc-issuer.
	c2 := s.sub() + "/resourceGroups/oi/providers/Microsoft.ContainerService/managedClusters/c2?api-version=2025-10-01"
	status, hdr, body := s.request("PUT", c2, `{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"c2",
		"oidcIssuerProfile":{"enabled":false},"agentPoolProfiles":[{"name":"system","count":1,"vmSize":"Standard_DS2_v2","mode":"System"}]}}`)
	if status != 201 {
		t.Fatalf("create c2: %d %v", status, body)
	}
	if st := s.waitOperation(hdr.Get("Azure-AsyncOperation")); st != "Succeeded" {
		t.Fatalf("create c2: %s", st)
	}
	kc2 := s.credentials(t, "oi", "c2")
	mustKubectl(t, kc2, "create", "serviceaccount", "app")
	var plain jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(strings.TrimSpace(mustKubectl(t, kc2, "create", "token", "app")), &plain); err != nil ||
		plain["iss"] != "https://kubernetes.default.svc.cluster.local" {
		t.Errorf("token issuer with the OIDC issuer off: %v (%v)", plain["iss"], err)
	}
	mustAz(t, s.localaksAz("aks", "update", "-g", "oi", "-n", "c2", "--enable-oidc-issuer"))
	mustAz(t, s.localaksAz("aks", "show", "-g", "oi", "-n", "c2", "--query", "oidcIssuerProfile")).json(t, &profile)
	if !profile.Enabled || !strings.HasPrefix(profile.IssuerURL, prefix) || profile.IssuerURL == issuer {
		t.Fatalf("after --enable-oidc-issuer: %+v", profile)
	}
	_, keys2 := s.issuerDocs(t, profile.IssuerURL)
	var token string
	until(t, 60*time.Second, func() bool {
		r := kubectl(t, kc2, "create", "token", "app")
		token = strings.TrimSpace(r.stdout)
		var c jwt.MapClaims
		_, _, err := jwt.NewParser().ParseUnverified(token, &c)
		return err == nil && c["iss"] == profile.IssuerURL
	})
	verifyToken(t, token, profile.IssuerURL, keys2)
}
