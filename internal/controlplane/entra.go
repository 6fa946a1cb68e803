package controlplane

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/entra"
)

// AzureRBACPrefix is where serve answers the API servers' authorization
// webhook calls: {ARM endpoint}{AzureRBACPrefix}{cluster UID}.
const AzureRBACPrefix = "/localaks/azure-rbac/"

// writeEntraConfigs writes the API server's configuration for an Entra ID
// cluster: a JWT authenticator for the tokens localaks's Entra issues in
// the cluster's tenant for the AKS server application — the issuer's
// discovery document and keys come from serve, trusted through its CA —
// with the user named by its UPN (users) or object ID (service
// principals), its groups from the groups claim and its object ID as uid;
// and, for Azure RBAC, an authorization chain Node → the Azure RBAC
// webhook (for Entra principals only; no opinion falls through) → RBAC,
// as AKS chains guard.
func writeEntraConfigs(l clusterspec.Layout, s *clusterspec.Spec) error {
	e := s.Entra
	if e == nil {
		return nil
	}
	if s.Cloud.ARMEndpoint == "" || s.Cloud.CAFile == "" {
		return fmt.Errorf("entra: the spec has no ARM endpoint or CA")
	}
	ca, err := os.ReadFile(s.Cloud.CAFile)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(s.Cloud.ARMEndpoint, "/")
	issuer := base + "/" + e.TenantID + "/"
	authn := map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1",
		"kind":       "AuthenticationConfiguration",
		"jwt": []any{map[string]any{
			"issuer": map[string]any{
				"url":                  issuer,
				"discoveryURL":         issuer + ".well-known/openid-configuration",
				"certificateAuthority": string(ca),
				"audiences":            []string{entra.AKSServerAppID, "spn:" + entra.AKSServerAppID},
				"audienceMatchPolicy":  "MatchAny",
			},
			"claimValidationRules": []any{map[string]any{
				"expression": fmt.Sprintf("claims.tid == %q", e.TenantID),
				"message":    "the token was issued in another tenant than the cluster's",
			}},
			"claimMappings": map[string]any{
				"username": map[string]any{"expression": "has(claims.upn) ? claims.upn : claims.oid"},
				"groups":   map[string]any{"expression": "has(claims.groups) ? claims.groups : []"},
				"uid":      map[string]any{"claim": "oid"},
			},
		}},
	}
	if err := writeYAML(l.AuthenticationConfig(), authn); err != nil {
		return err
	}
	if !e.AzureRBAC {
		return nil
	}
	kubeconfig := map[string]any{
		"apiVersion": "v1", "kind": "Config",
		"clusters": []any{map[string]any{"name": "azure-rbac", "cluster": map[string]any{
			"server": base + AzureRBACPrefix + s.UID, "certificate-authority": s.Cloud.CAFile}}},
		"users":           []any{map[string]any{"name": "apiserver", "user": map[string]any{"token": e.WebhookToken}}},
		"contexts":        []any{map[string]any{"name": "azure-rbac", "context": map[string]any{"cluster": "azure-rbac", "user": "apiserver"}}},
		"current-context": "azure-rbac",
	}
	if err := writeYAML(l.AzureRBACKubeconfig(), kubeconfig); err != nil {
		return err
	}
	authz := map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1",
		"kind":       "AuthorizationConfiguration",
		"authorizers": []any{
			map[string]any{"type": "Node", "name": "node"},
			map[string]any{"type": "Webhook", "name": "azure-rbac", "webhook": map[string]any{
				// Role assignments take effect within seconds (AKS says up
				// to five minutes).
				"authorizedTTL": "5s", "unauthorizedTTL": "1s", "timeout": "5s",
				"subjectAccessReviewVersion":               "v1",
				"matchConditionSubjectAccessReviewVersion": "v1",
				"failurePolicy":                            "NoOpinion",
				"connectionInfo":                           map[string]any{"type": "KubeConfigFile", "kubeConfigFile": l.AzureRBACKubeconfig()},
				// Entra principals only: the API server's own users,
				// nodes and service accounts go straight to RBAC.
				"matchConditions": []any{map[string]any{"expression": "!request.user.startsWith('system:')"}},
			}},
			map[string]any{"type": "RBAC", "name": "rbac"},
		},
	}
	return writeYAML(l.AuthorizationConfig(), authz)
}

func writeYAML(path string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
