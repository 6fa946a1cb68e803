package e2e

import (
	"context"
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

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
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
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	kc := s.smallCluster(t, "oi")
	// The kubeconfig's local-account token (as AKS's carry, Terraform's
	// kube_config password) signs in on its own.
	tok := mustKubectl(t, kc, "config", "view", "--raw", "--minify", "-o", "jsonpath={.users[0].user.token}")
	if r := kubectl(t, tokenKubeconfig(t, kc, tok), "auth", "whoami"); tok == "" || r.code != 0 || !strings.Contains(r.stdout, "masterclient") {
		t.Errorf("the kubeconfig's token %q: exit %d\n%s%s", tok, r.code, r.stdout, r.stderr)
	}
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

	// Workload identity federation: an identity trusts the cluster's issuer
	// for the app service account; that account's token signs in to Entra
	// as the identity — with az login --federated-token and with
	// azidentity's WorkloadIdentityCredential, as a pod would.
	var mi struct{ ClientID, PrincipalID string }
	mustAz(t, s.localaksAz("identity", "create", "-g", "oi", "-n", "app-id")).json(t, &mi)
	const exchange = "api://AzureADTokenExchange"
	mustAz(t, s.localaksAz("identity", "federated-credential", "create", "-g", "oi", "--identity-name", "app-id", "-n", "app",
		"--issuer", issuer, "--subject", "system:serviceaccount:default:app", "--audiences", exchange))
	var fcs []struct {
		Name, Issuer, Subject string
		Audiences             []string
	}
	mustAz(t, s.localaksAz("identity", "federated-credential", "list", "-g", "oi", "--identity-name", "app-id")).json(t, &fcs)
	if len(fcs) != 1 || fcs[0].Issuer != issuer || fcs[0].Subject != "system:serviceaccount:default:app" || len(fcs[0].Audiences) != 1 {
		t.Errorf("federated credentials = %+v", fcs)
	}
	r := s.localaksAz("identity", "federated-credential", "create", "-g", "oi", "--identity-name", "app-id", "-n", "two",
		"--issuer", issuer, "--subject", "x", "--audiences", exchange, "other")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidFederatedIdentityCredentialsAudienceLength") {
		t.Errorf("two audiences: exit %d %s", r.code, r.stderr)
	}
	federated := strings.TrimSpace(mustKubectl(t, kc, "create", "token", "app", "--audience", exchange))
	env := []string{"AZURE_CONFIG_DIR=" + t.TempDir(), "REQUESTS_CA_BUNDLE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem")}
	mustAz(t, az(t, env, "cloud", "register", "-n", "localaks", "--endpoint-resource-manager", s.URL+"/"))
	mustAz(t, az(t, env, "cloud", "set", "-n", "localaks"))
	// Without a role the identity sees no subscription (ARM lists only
	// those a principal has a role in).
	if r := az(t, env, "login", "--service-principal", "-u", mi.ClientID, "--federated-token", federated, "--tenant", s.Client.TenantID); r.code == 0 ||
		!strings.Contains(r.stderr, "No subscriptions found") {
		t.Fatalf("login of the identity without a role: %d %s", r.code, r.stderr)
	}
	s.grant(t, s.sub()+"/resourceGroups/oi", readerRole, mi.PrincipalID)
	mustAz(t, az(t, env, "login", "--service-principal", "-u", mi.ClientID, "--federated-token", federated, "--tenant", s.Client.TenantID))
	access := strings.TrimSpace(mustAz(t, az(t, env, "account", "get-access-token", "--query", "accessToken", "-o", "tsv")).stdout)
	var got jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(access, &got); err != nil || got["oid"] != mi.PrincipalID || got["appid"] != mi.ClientID {
		t.Errorf("token for the identity: %v (%v), want oid %s", got, err, mi.PrincipalID)
	}
	// It reads its group, and no more than Reader lets it.
	mustAz(t, az(t, env, "group", "show", "-n", "oi"))
	if r := az(t, env, "group", "update", "-n", "oi", "--tags", "a=b"); r.code == 0 || !strings.Contains(r.stderr, "AuthorizationFailed") {
		t.Fatalf("a Reader identity's write: %d %s", r.code, r.stderr)
	}
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	os.WriteFile(tokenFile, []byte(federated), 0o600)
	opts, armOpts := s.sdkOptions("https://management.core.windows.net/")
	wi, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: opts,
		ClientID: mi.ClientID, TenantID: s.Client.TenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := armresources.NewResourceGroupsClient(s.Client.SubscriptionID, wi, armOpts)
	if _, err := groups.Get(context.Background(), "oi", nil); err != nil {
		t.Errorf("SDK with WorkloadIdentityCredential: %v", err)
	}
	// With securityProfile.workloadIdentity (REST: az 2.45 has no flag) the
	// webhook gives labelled pods the identity's client ID and the token.
	c1 := s.sub() + "/resourceGroups/oi/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2025-10-01"
	setWorkloadIdentity := func(on bool) {
		t.Helper()
		status, hdr, body := s.request("PUT", c1, fmt.Sprintf(`{"location":"eastus","properties":{"securityProfile":{"workloadIdentity":{"enabled":%v}}}}`, on))
		if status != 200 {
			t.Fatalf("workload identity %v: %d %v", on, status, body)
		}
		if st := s.waitOperation(hdr.Get("Azure-AsyncOperation")); st != "Succeeded" {
			t.Fatalf("workload identity %v: %s", on, st)
		}
	}
	setWorkloadIdentity(true)
	until(t, 60*time.Second, func() bool {
		return kubectl(t, kc, "get", "mutatingwebhookconfiguration", "azure-wi-webhook-mutating-webhook-configuration").code == 0
	})
	mustKubectl(t, kc, "-n", "kube-system", "get", "deployment", "azure-wi-webhook-controller-manager")
	mustKubectl(t, kc, "annotate", "serviceaccount", "app", "azure.workload.identity/client-id="+mi.ClientID)
	mustKubectl(t, kc, "run", "wi", "--image=app", "--labels=azure.workload.identity/use=true", "--overrides", `{"spec":{"serviceAccountName":"app"}}`)
	var pod struct {
		Spec struct {
			Containers []struct {
				Env          []struct{ Name, Value string }
				VolumeMounts []struct{ Name, MountPath string }
			}
			Volumes []struct {
				Name      string
				Projected *struct {
					Sources []struct {
						ServiceAccountToken *struct{ Audience, Path string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(mustKubectl(t, kc, "get", "pod", "wi", "-o", "json")), &pod); err != nil {
		t.Fatal(err)
	}
	injected := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		injected[e.Name] = e.Value
	}
	if injected["AZURE_CLIENT_ID"] != mi.ClientID || injected["AZURE_TENANT_ID"] != s.Client.TenantID ||
		injected["AZURE_FEDERATED_TOKEN_FILE"] != "/var/run/secrets/azure/tokens/azure-identity-token" || injected["AZURE_AUTHORITY_HOST"] != s.URL+"/" {
		t.Errorf("injected environment = %v", injected)
	}
	projected := false
	for _, v := range pod.Spec.Volumes {
		if v.Name == "azure-identity-token" && v.Projected != nil && v.Projected.Sources[0].ServiceAccountToken.Audience == exchange {
			projected = true
		}
	}
	if !projected {
		t.Errorf("no projected token volume: %+v", pod.Spec.Volumes)
	}
	setWorkloadIdentity(false)
	until(t, 60*time.Second, func() bool {
		return kubectl(t, kc, "get", "mutatingwebhookconfiguration", "azure-wi-webhook-mutating-webhook-configuration").code != 0 &&
			kubectl(t, kc, "-n", "kube-system", "get", "deployment", "azure-wi-webhook-controller-manager").code != 0
	})

	// Another service account's token is not trusted.
	mustKubectl(t, kc, "create", "serviceaccount", "other")
	other := strings.TrimSpace(mustKubectl(t, kc, "create", "token", "other", "--audience", exchange))
	if r := az(t, env, "login", "--service-principal", "-u", mi.ClientID, "--federated-token", other, "--tenant", s.Client.TenantID); r.code == 0 ||
		!strings.Contains(r.stderr, "AADSTS70021") {
		t.Errorf("login with an untrusted subject: exit %d %s", r.code, r.stderr)
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
	// Workload identity needs the issuer.
	status, _, body = s.request("PUT", c2, `{"location":"eastus","properties":{"securityProfile":{"workloadIdentity":{"enabled":true}}}}`)
	if status != 400 || body["code"] != "BadRequest" || body["target"] != "securityProfile.workloadIdentity.enabled" {
		t.Errorf("workload identity without the issuer: %d %v", status, body)
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
