package realnode

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/localaks/localaks/internal/acrprovider"
	"github.com/localaks/localaks/internal/clusterspec"
)

// The kubelet's image credential provider for container registries, as
// AKS configures its nodes: the kubelet runs cloud-provider-azure's
// acr-credential-provider (package acrprovider) for images of
// *.azurecr.io; it signs in with the node's managed identity (the kubelet
// identity, at the instance metadata service, platform.go) and exchanges
// that token at the registry for an ACR refresh token, the password of the
// null-GUID user. Whether the pull then succeeds is the registry's call:
// AcrPull for the kubelet identity, as on AKS.

// providerBuild is the outcome of ensureCredentialProvider.
type providerBuild struct {
	path string
	err  error
}

// ensureCredentialProvider builds the provider when s has real nodes and
// a kubelet identity (minutes the first time on a machine), before Sync
// takes the manager's lock. A failure is kept and logged: nodes then pull
// without it (anonymously), as a node whose plugin is missing does.
func (m *Manager) ensureCredentialProvider(ctx context.Context, s *clusterspec.Spec) {
	if len(s.RealNodes()) == 0 || s.Cloud.KubeletClientID == "" || s.Cloud.ARMEndpoint == "" {
		return
	}
	m.providerMu.Lock()
	defer m.providerMu.Unlock()
	if m.provider.path != "" || m.provider.err != nil {
		return
	}
	cache, err := acrprovider.CacheDir()
	if err == nil {
		start := time.Now()
		m.log.Info("building the kubelet's ACR credential provider (cloud-provider-azure " + acrprovider.Release + ") from its Go module; minutes the first time on this machine")
		var path string
		if path, err = acrprovider.Ensure(ctx, cache); err == nil {
			m.provider.path = path
			m.log.Info("ACR credential provider built", "path", path, "took", time.Since(start).Round(time.Millisecond))
			return
		}
	}
	if ctx.Err() == nil {
		m.log.Warn("the kubelet's ACR credential provider cannot be built; nodes pull from registries anonymously", "err", err)
		m.provider.err = err
	}
}

// credentialProviderConfig is the kubelet's CredentialProviderConfig, as
// AKS writes it.
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
  - name: SSL_CERT_FILE
    value: %s
`, acrprovider.Name, q(azureJSON), q(caFile))
}

// nodeAzureJSON is the node's /etc/kubernetes/azure.json as AKS writes it
// for a managed-identity cluster (the fields the provider reads).
type nodeAzureJSON struct {
	Cloud                       string `json:"cloud"`
	TenantID                    string `json:"tenantId"`
	SubscriptionID              string `json:"subscriptionId"`
	AADClientID                 string `json:"aadClientId"`
	AADClientSecret             string `json:"aadClientSecret"`
	ResourceGroup               string `json:"resourceGroup"`
	Location                    string `json:"location"`
	VMType                      string `json:"vmType"`
	UseManagedIdentityExtension bool   `json:"useManagedIdentityExtension"`
	UserAssignedIdentityID      string `json:"userAssignedIdentityID"`
}

// writeCredentialProvider writes the provider's configuration and
// azure.json into dir and links the provider's binary into its plugin
// directory.
func writeCredentialProvider(dir, provider string, cloud clusterspec.Cloud) (config, binDir string, err error) {
	binDir = filepath.Join(dir, "credential-provider")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", "", err
	}
	link := filepath.Join(binDir, acrprovider.Name)
	os.Remove(link) //nolint:errcheck // replaced below
	if err := os.Symlink(provider, link); err != nil {
		return "", "", err
	}
	azureJSON := filepath.Join(dir, "azure.json")
	raw, _ := json.MarshalIndent(nodeAzureJSON{Cloud: "AzurePublicCloud", TenantID: cloud.TenantID, SubscriptionID: cloud.SubscriptionID,
		AADClientID: "msi", AADClientSecret: "msi", ResourceGroup: cloud.ResourceGroup, Location: cloud.Location, VMType: "vmss",
		UseManagedIdentityExtension: true, UserAssignedIdentityID: cloud.KubeletClientID}, "", "  ")
	if err := os.WriteFile(azureJSON, raw, 0o600); err != nil {
		return "", "", err
	}
	config = filepath.Join(dir, "credential-provider.yaml")
	return config, binDir, os.WriteFile(config, []byte(credentialProviderConfig(azureJSON, cloud.CAFile)), 0o600)
}
