// Package wiwebhook is the Microsoft Entra Workload ID mutating webhook AKS
// runs when securityProfile.workloadIdentity is enabled: pods labelled
// azure.workload.identity/use=true get the environment and the projected
// service-account token that the Azure SDKs' workload identity credential
// reads, with the client and tenant IDs from their service account's
// annotations — as the upstream azure-workload-identity webhook sets them.
package wiwebhook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The webhook's labels, annotations, names and paths (upstream's).
const (
	UseLabel                  = "azure.workload.identity/use"
	ClientIDAnnotation        = "azure.workload.identity/client-id"
	TenantIDAnnotation        = "azure.workload.identity/tenant-id"
	SkipContainersAnnotation  = "azure.workload.identity/skip-containers"
	TokenExpirationAnnotation = "azure.workload.identity/service-account-token-expiration"

	TokenVolume    = "azure-identity-token"
	TokenMountPath = "/var/run/secrets/azure/tokens"
	TokenPath      = "azure-identity-token"
	// Audience is the token audience Entra's token exchange expects.
	Audience = "api://AzureADTokenExchange"

	defaultExpiration = 3600
	minExpiration     = 3600
	maxExpiration     = 86400
)

// Defaults are what the webhook fills when a service account does not say:
// the cluster's tenant and the Entra authority host.
type Defaults struct {
	TenantID      string
	AuthorityHost string
}

// Mutate returns the pod as the webhook admits it: unchanged unless it is
// labelled for workload identity; otherwise every container (and init
// container) not skipped gets AZURE_CLIENT_ID, AZURE_TENANT_ID,
// AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST (variables it sets
// itself win) and the token mounted read-only, and the pod gets the
// projected token volume.
func Mutate(pod *corev1.Pod, sa *corev1.ServiceAccount, d Defaults) (*corev1.Pod, error) {
	if pod.Labels[UseLabel] != "true" {
		return pod, nil
	}
	expiration := int64(defaultExpiration)
	if v := sa.Annotations[TokenExpirationAnnotation]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < minExpiration || n > maxExpiration {
			return nil, fmt.Errorf("token expiration %s not valid. Expected value to be between %d and %d", v, minExpiration, maxExpiration)
		}
		expiration = n
	}
	tenant := sa.Annotations[TenantIDAnnotation]
	if tenant == "" {
		tenant = d.TenantID
	}
	skip := map[string]bool{}
	for _, name := range strings.Split(pod.Annotations[SkipContainersAnnotation], ";") {
		if name = strings.TrimSpace(name); name != "" {
			skip[name] = true
		}
	}
	env := []corev1.EnvVar{
		{Name: "AZURE_CLIENT_ID", Value: sa.Annotations[ClientIDAnnotation]},
		{Name: "AZURE_TENANT_ID", Value: tenant},
		{Name: "AZURE_FEDERATED_TOKEN_FILE", Value: TokenMountPath + "/" + TokenPath},
		{Name: "AZURE_AUTHORITY_HOST", Value: d.AuthorityHost},
	}
	out := pod.DeepCopy()
	inject := func(cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			if skip[c.Name] {
				continue
			}
			for _, e := range env {
				if e.Value != "" && !slices.ContainsFunc(c.Env, func(have corev1.EnvVar) bool { return have.Name == e.Name }) {
					c.Env = append(c.Env, e)
				}
			}
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == TokenVolume }) {
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: TokenVolume, MountPath: TokenMountPath, ReadOnly: true})
			}
		}
	}
	inject(out.Spec.InitContainers)
	inject(out.Spec.Containers)
	if !slices.ContainsFunc(out.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == TokenVolume }) {
		out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: TokenVolume, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Path: TokenPath, ExpirationSeconds: &expiration, Audience: Audience,
			}}}},
		}})
	}
	return out, nil
}
