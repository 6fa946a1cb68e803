package realnode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	credv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

	"github.com/localaks/localaks/internal/nodeapps"
)

// The kubelet's image credential provider for container registries, as
// AKS configures its nodes: the kubelet runs acr-credential-provider for
// images of *.azurecr.io, which signs in with the node's managed identity
// (the kubelet identity, at the instance metadata service) and exchanges
// that token at the registry for an ACR refresh token, the password of
// the null-GUID user. Whether the pull then succeeds is the registry's
// call: AcrPull for the kubelet identity, as on AKS.
//
// cloud-provider-azure's acr-credential-provider is not built from its
// module here (the module proxy does not serve sigs.k8s.io/cloud-provider-
// azure), so this program speaks the kubelet's plugin protocol
// (credentialprovider.kubelet.k8s.io/v1) and ACR's token exchange in its
// place: the kubelet runs this binary under that name.

// credentialProvider is the plugin's name, the binary's name in the
// kubelet's plugin directory.
const credentialProvider = "acr-credential-provider"

func init() { nodeapps.Register(credentialProvider, runCredentialProvider) }

// credentialProviderConfig is the kubelet's CredentialProviderConfig.
func credentialProviderConfig(azureJSON, caFile string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
- name: %s
  matchImages: ["*.azurecr.io", "*.azurecr.cn", "*.azurecr.de", "*.azurecr.us"]
  defaultCacheDuration: 10m
  apiVersion: credentialprovider.kubelet.k8s.io/v1
  args: [%s]
  env:
  - name: LOCALAKS_NODEAPP
    value: "1"
  - name: SSL_CERT_FILE
    value: %s
`, credentialProvider, q(azureJSON), q(caFile))
}

// nodeAzureJSON is what the provider reads of /etc/kubernetes/azure.json.
type nodeAzureJSON struct {
	TenantID                    string `json:"tenantId"`
	UseManagedIdentityExtension bool   `json:"useManagedIdentityExtension"`
	UserAssignedIdentityID      string `json:"userAssignedIdentityID"`
}

// writeCredentialProvider writes the provider's configuration and
// azure.json into dir and links the binary under the provider's name.
func writeCredentialProvider(dir, self, caFile, tenant, clientID string) (config, binDir string, err error) {
	binDir = filepath.Join(dir, "credential-provider")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", "", err
	}
	link := filepath.Join(binDir, credentialProvider)
	os.Remove(link) //nolint:errcheck // replaced below
	if err := os.Symlink(self, link); err != nil {
		return "", "", err
	}
	azureJSON := filepath.Join(dir, "azure.json")
	raw, _ := json.MarshalIndent(nodeAzureJSON{TenantID: tenant, UseManagedIdentityExtension: true, UserAssignedIdentityID: clientID}, "", "  ")
	if err := os.WriteFile(azureJSON, raw, 0o600); err != nil {
		return "", "", err
	}
	config = filepath.Join(dir, "credential-provider.yaml")
	return config, binDir, os.WriteFile(config, []byte(credentialProviderConfig(azureJSON, caFile)), 0o600)
}

func runCredentialProvider(args []string) int {
	if err := credentialProviderMain(args, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, credentialProvider+":", err)
		return 1
	}
	return 0
}

func credentialProviderMain(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: acr-credential-provider AZURE_JSON (run by the kubelet)")
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var cfg nodeAzureJSON
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	var req credv1.CredentialProviderRequest
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return fmt.Errorf("read the kubelet's request: %w", err)
	}
	registry := req.Image
	if i := strings.IndexByte(registry, '/'); i >= 0 {
		registry = registry[:i]
	}
	password, err := acrRefreshToken(registry, cfg)
	if err != nil {
		return err
	}
	resp := credv1.CredentialProviderResponse{
		CacheKeyType:  credv1.RegistryPluginCacheKeyType,
		CacheDuration: nil,
		Auth: map[string]credv1.AuthConfig{
			registry: {Username: "00000000-0000-0000-0000-000000000000", Password: password},
		},
	}
	resp.Kind, resp.APIVersion = "CredentialProviderResponse", credv1.SchemeGroupVersion.String()
	return json.NewEncoder(stdout).Encode(resp)
}

// acrRefreshToken signs in as the node's managed identity and exchanges
// the token at the registry's realm, as ACR's AAD flow does.
func acrRefreshToken(registry string, cfg nodeAzureJSON) (string, error) {
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil}}
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.core.windows.net/"}}
	if cfg.UserAssignedIdentityID != "" {
		q.Set("client_id", cfg.UserAssignedIdentityID)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+IMDSAddress+"/metadata/identity/oauth2/token?"+q.Encode(), nil)
	req.Header.Set("Metadata", "true")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("instance metadata: %w", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("instance metadata: %d %s %v", resp.StatusCode, tok.Error, err)
	}
	// The registry's challenge names its token service.
	resp, err = client.Get("https://" + registry + "/v2/")
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	realm, service := challengeParams(resp.Header.Get("WWW-Authenticate"))
	if realm == "" || service == "" {
		return "", fmt.Errorf("%s answered /v2/ with %d and no Bearer challenge", registry, resp.StatusCode)
	}
	u, err := url.Parse(realm)
	if err != nil {
		return "", err
	}
	resp, err = client.PostForm("https://"+u.Host+"/oauth2/exchange", url.Values{
		"grant_type": {"access_token"}, "service": {service}, "tenant": {cfg.TenantID}, "access_token": {tok.AccessToken}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var ex struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ex); err != nil || resp.StatusCode != http.StatusOK || ex.RefreshToken == "" {
		return "", fmt.Errorf("token exchange at %s: %d %v", u.Host, resp.StatusCode, err)
	}
	return ex.RefreshToken, nil
}

// challengeParams reads realm and service of a Bearer challenge.
func challengeParams(h string) (realm, service string) {
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ""
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		switch strings.ToLower(k) {
		case "realm":
			realm = v
		case "service":
			service = v
		}
	}
	return realm, service
}
