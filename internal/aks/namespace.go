package aks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/localaks/localaks/internal/store"
)

// Managed namespaces: Kubernetes namespaces of a cluster managed as Azure
// resources, with their labels, annotations and default resource quota and
// network policy.

// ManagedNamespaceType is the managed namespace type.
const ManagedNamespaceType = ClusterType + "/managedNamespaces"

var namespaceNameRule = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// reservedNamespaces are the cluster's own namespaces, which cannot be
// managed as resources.
var reservedNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true,
	"app-routing-system": true, "gatekeeper-system": true, "calico-system": true, "tigera-operator": true}

// ValidateNamespaceName applies the Kubernetes name rule (1–63 lowercase
// letters, digits and hyphens) and refuses the cluster's own namespaces.
func ValidateNamespaceName(name string) error {
	if len(name) > 63 || !namespaceNameRule.MatchString(name) {
		return invalidParameter("managedNamespaceName",
			"Managed namespace name '%s' is invalid: 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.", name)
	}
	if reservedNamespaces[name] || strings.HasPrefix(name, "kube-") {
		return invalidParameter("managedNamespaceName", "Namespace '%s' is reserved for the system and cannot be a managed namespace.", name)
	}
	return nil
}

// NamespaceProperties are a managed namespace's properties.
type NamespaceProperties struct {
	ProvisioningState    string            `json:"provisioningState,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	Annotations          map[string]string `json:"annotations,omitempty"`
	DefaultResourceQuota *ResourceQuota    `json:"defaultResourceQuota,omitempty"`
	DefaultNetworkPolicy *NetworkPolicies  `json:"defaultNetworkPolicy,omitempty"`
	AdoptionPolicy       string            `json:"adoptionPolicy,omitempty"`
	DeletePolicy         string            `json:"deletePolicy,omitempty"`
	// Localaks is state the API does not show: the operation in flight.
	Localaks *struct {
		Operation string `json:"operation,omitempty"`
	} `json:"localaks,omitempty"`
}

// ResourceQuota is a namespace's default quota.
type ResourceQuota struct {
	CPURequest    string `json:"cpuRequest,omitempty"`
	CPULimit      string `json:"cpuLimit,omitempty"`
	MemoryRequest string `json:"memoryRequest,omitempty"`
	MemoryLimit   string `json:"memoryLimit,omitempty"`
}

// NetworkPolicies are a namespace's default ingress and egress rules.
type NetworkPolicies struct {
	Ingress string `json:"ingress,omitempty"`
	Egress  string `json:"egress,omitempty"`
}

// DecodeNamespace reads a managed namespace record's properties.
func DecodeNamespace(r *store.Resource) (*NamespaceProperties, error) {
	var np NamespaceProperties
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &np); err != nil {
			return nil, fmt.Errorf("managed namespace %s: %w", r.ID, err)
		}
	}
	return &np, nil
}

// CheckNamespaceOperation refuses a managed namespace write while the
// cluster is in an operation or stopped (its API server is needed).
func CheckNamespaceOperation(c *Cluster) error {
	if err := CheckTerminal(c, nil); err != nil {
		return err
	}
	return stoppedRefusal(c, "managed namespace operations")
}

// PrepareNamespace checks and completes a managed namespace PUT of cluster
// c (existing: the record before, nil on create) as operation opID: AKS's
// defaults (ingress AllowSameNamespace, egress AllowAll, adoption Never,
// delete Keep), its enums, quantities a quota can hold, the cluster's
// location (required, as for every tracked resource), and no operation
// already in flight on it.
func PrepareNamespace(c *Cluster, r, existing *store.Resource, opID string) error {
	if err := CheckNamespaceOperation(c); err != nil {
		return err
	}
	if !strings.EqualFold(strings.ReplaceAll(r.Location, " ", ""), strings.ReplaceAll(c.Record.Location, " ", "")) {
		return invalidParameter("location", "A managed namespace is in its cluster's location %s, not %s.", c.Record.Location, r.Location)
	}
	np, err := DecodeNamespace(r)
	if err != nil {
		return badRequest("InvalidRequestContent", "properties", "The managed namespace's properties could not be read: %v", err)
	}
	if existing != nil {
		old, err := DecodeNamespace(existing)
		if err != nil {
			return err
		}
		if !Terminal(old.ProvisioningState) {
			return notAllowed("Operation is not allowed: Another operation (%s) is in progress on managed namespace %s, please wait for it to finish before starting a new operation.", old.ProvisioningState, r.Name)
		}
	}
	if np.DefaultNetworkPolicy == nil {
		np.DefaultNetworkPolicy = &NetworkPolicies{}
	}
	if np.DefaultNetworkPolicy.Ingress == "" {
		np.DefaultNetworkPolicy.Ingress = "AllowSameNamespace"
	}
	if np.DefaultNetworkPolicy.Egress == "" {
		np.DefaultNetworkPolicy.Egress = "AllowAll"
	}
	for target, v := range map[string]string{"properties.defaultNetworkPolicy.ingress": np.DefaultNetworkPolicy.Ingress, "properties.defaultNetworkPolicy.egress": np.DefaultNetworkPolicy.Egress} {
		if v != "DenyAll" && v != "AllowAll" && v != "AllowSameNamespace" {
			return invalidParameter(target, "Network policy rule '%s' is invalid: the rules are DenyAll, AllowAll and AllowSameNamespace.", v)
		}
	}
	if np.AdoptionPolicy == "" {
		np.AdoptionPolicy = "Never"
	}
	if np.AdoptionPolicy != "Never" && np.AdoptionPolicy != "IfIdentical" && np.AdoptionPolicy != "Always" {
		return invalidParameter("properties.adoptionPolicy", "Adoption policy '%s' is invalid: the policies are Never, IfIdentical and Always.", np.AdoptionPolicy)
	}
	if np.DeletePolicy == "" {
		np.DeletePolicy = "Keep"
	}
	if np.DeletePolicy != "Keep" && np.DeletePolicy != "Delete" {
		return invalidParameter("properties.deletePolicy", "Delete policy '%s' is invalid: the policies are Keep and Delete.", np.DeletePolicy)
	}
	if q := np.DefaultResourceQuota; q != nil {
		for target, v := range map[string]string{"cpuRequest": q.CPURequest, "cpuLimit": q.CPULimit, "memoryRequest": q.MemoryRequest, "memoryLimit": q.MemoryLimit} {
			if v == "" {
				continue
			}
			if _, err := resource.ParseQuantity(v); err != nil {
				return invalidParameter("properties.defaultResourceQuota."+target, "'%s' is not a Kubernetes quantity: %v", v, err)
			}
		}
	}
	np.ProvisioningState = StateCreating
	if existing != nil {
		np.ProvisioningState = StateUpdating
	}
	np.Localaks = &struct {
		Operation string `json:"operation,omitempty"`
	}{opID}
	r.Properties, err = json.Marshal(np)
	return err
}

// PublicNamespace is a managed namespace's properties as the API shows
// them.
func PublicNamespace(r *store.Resource) (*NamespaceProperties, error) {
	np, err := DecodeNamespace(r)
	if err != nil {
		return nil, err
	}
	np.Localaks = nil
	return np, nil
}
