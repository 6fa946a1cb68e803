// Package aks is the AKS resource provider's core: the managed cluster and
// agent pool model, AKS's validation and defaults, the names AKS gives
// node-resource-group resources, and the pipelines that create, scale,
// stop, start and delete what a cluster consists of.
package aks

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/store"
)

// Types.
const (
	Namespace   = "Microsoft.ContainerService"
	ClusterType = "Microsoft.ContainerService/managedClusters"
	PoolType    = "Microsoft.ContainerService/managedClusters/agentPools"
)

// Provisioning states.
const (
	StateSucceeded = "Succeeded"
	StateFailed    = "Failed"
	StateCanceled  = "Canceled"
	StateCreating  = "Creating"
	StateUpdating  = "Updating"
	StateScaling   = "Scaling"
	StateUpgrading = "Upgrading"
	StateDeleting  = "Deleting"
	StateStarting  = "Starting"
	StateStopping  = "Stopping"
	StateCanceling = "Canceling"
	// StateUpgradingNodeImage is a pool's state during a node image upgrade.
	StateUpgradingNodeImage = "UpgradingNodeImageVersion"
)

// Terminal reports whether a provisioning state is final.
func Terminal(state string) bool {
	return state == "" || state == StateSucceeded || state == StateFailed || state == StateCanceled
}

// PowerState is {"code": "Running" | "Stopped"}.
type PowerState struct {
	Code string `json:"code"`
}

// ClusterProperties are the managed cluster properties localaks acts on;
// the rest of the document is kept as sent (see jsonx).
type ClusterProperties struct {
	ProvisioningState        string                           `json:"provisioningState,omitempty"`
	PowerState               *PowerState                      `json:"powerState,omitempty"`
	MaxAgentPools            int                              `json:"maxAgentPools,omitempty"`
	KubernetesVersion        string                           `json:"kubernetesVersion,omitempty"`
	CurrentKubernetesVersion string                           `json:"currentKubernetesVersion,omitempty"`
	DNSPrefix                string                           `json:"dnsPrefix,omitempty"`
	FQDNSubdomain            string                           `json:"fqdnSubdomain,omitempty"`
	FQDN                     string                           `json:"fqdn,omitempty"`
	AzurePortalFQDN          string                           `json:"azurePortalFQDN,omitempty"`
	PrivateFQDN              string                           `json:"privateFQDN,omitempty"`
	AgentPoolProfiles        []json.RawMessage                `json:"agentPoolProfiles,omitempty"`
	LinuxProfile             *LinuxProfile                    `json:"linuxProfile,omitempty"`
	ServicePrincipalProfile  *ServicePrincipalProfile         `json:"servicePrincipalProfile,omitempty"`
	NodeResourceGroup        string                           `json:"nodeResourceGroup,omitempty"`
	NodeResourceGroupProfile *NodeResourceGroupProfile        `json:"nodeResourceGroupProfile,omitempty"`
	EnableRBAC               *bool                            `json:"enableRBAC,omitempty"`
	NetworkProfile           *NetworkProfile                  `json:"networkProfile,omitempty"`
	AADProfile               json.RawMessage                  `json:"aadProfile,omitempty"`
	APIServerAccessProfile   *APIServerAccessProfile          `json:"apiServerAccessProfile,omitempty"`
	IdentityProfile          map[string]*UserAssignedIdentity `json:"identityProfile,omitempty"`
	DisableLocalAccounts     *bool                            `json:"disableLocalAccounts,omitempty"`
	OIDCIssuerProfile        *OIDCIssuerProfile               `json:"oidcIssuerProfile,omitempty"`
	IngressProfile           *IngressProfile                  `json:"ingressProfile,omitempty"`
	AddonProfiles            map[string]*AddonProfile         `json:"addonProfiles,omitempty"`
	ResourceUID              string                           `json:"resourceUID,omitempty"`
	SupportPlan              string                           `json:"supportPlan,omitempty"`
	// Localaks is state the API does not show.
	Localaks *ClusterState `json:"localaks,omitempty"`
}

// ClusterState is a cluster's hidden state.
type ClusterState struct {
	// ID is the 8-digit ID in node-resource-group names.
	ID string `json:"id"`
	// FQDNHash is the 8 hex digits in the API server's FQDN.
	FQDNHash string `json:"fqdnHash"`
	// Operation is the running operation ("" when none) and what it is.
	Operation     string `json:"operation,omitempty"`
	OperationKind string `json:"operationKind,omitempty"`
	// VNetSubnetID is the subnet the pools use by default (the managed
	// aks-subnet or the BYO subnet of the first pool).
	VNetSubnetID string `json:"vnetSubnetId,omitempty"`
	// RouteTable and NSG are the node resource group's route table
	// (kubenet) and network security group.
	RouteTable string `json:"routeTable,omitempty"`
	NSG        string `json:"nsg,omitempty"`
	// KubeletIdentity is the kubelet identity's resource ID.
	KubeletIdentity string `json:"kubeletIdentity,omitempty"`
	// APIServerPort is the loopback port of the cluster's API server, and
	// AdvertiseAddress the address its `kubernetes` Service shows.
	APIServerPort    int    `json:"apiServerPort,omitempty"`
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`
	// CloudClientID and CloudSecret are the credentials the cluster's cloud
	// controller signs in with, as the cluster's identity.
	CloudClientID string `json:"cloudClientId,omitempty"`
	CloudSecret   string `json:"cloudSecret,omitempty"`
	// KubeletSecret is the credential the nodes' instance metadata
	// service signs in with as the kubelet identity (identityProfile's
	// kubeletidentity): what a VM's managed identity gives its kubelet on
	// AKS (image pulls from a registry with AcrPull).
	KubeletSecret string `json:"kubeletSecret,omitempty"`
}

// LinuxProfile is the node admin user.
type LinuxProfile struct {
	AdminUsername string `json:"adminUsername"`
	SSH           struct {
		PublicKeys []struct {
			KeyData string `json:"keyData"`
		} `json:"publicKeys"`
	} `json:"ssh"`
}

// ServicePrincipalProfile is the cluster's service principal ("msi" for
// managed identity clusters). The secret is write-only.
type ServicePrincipalProfile struct {
	ClientID string `json:"clientId"`
	Secret   string `json:"secret,omitempty"`
}

// NodeResourceGroupProfile is the node resource group lockdown.
type NodeResourceGroupProfile struct {
	RestrictionLevel string `json:"restrictionLevel,omitempty"`
}

// APIServerAccessProfile holds the API server settings localaks reads.
type APIServerAccessProfile struct {
	EnablePrivateCluster  *bool    `json:"enablePrivateCluster,omitempty"`
	DisableRunCommand     *bool    `json:"disableRunCommand,omitempty"`
	AuthorizedIPRanges    []string `json:"authorizedIPRanges,omitempty"`
	PrivateDNSZone        string   `json:"privateDNSZone,omitempty"`
	EnableVnetIntegration *bool    `json:"enableVnetIntegration,omitempty"`
	SubnetID              string   `json:"subnetId,omitempty"`
}

// UserAssignedIdentity is an identity reference with its IDs.
type UserAssignedIdentity struct {
	ResourceID string `json:"resourceId,omitempty"`
	ClientID   string `json:"clientId,omitempty"`
	ObjectID   string `json:"objectId,omitempty"`
}

// IngressProfile holds the application routing add-on.
type IngressProfile struct {
	WebAppRouting *WebAppRouting `json:"webAppRouting,omitempty"`
}

// WebAppRouting is the application routing add-on (managed NGINX).
type WebAppRouting struct {
	Enabled            *bool                 `json:"enabled,omitempty"`
	DNSZoneResourceIDs []string              `json:"dnsZoneResourceIds,omitempty"`
	Nginx              *WebAppRoutingNginx   `json:"nginx,omitempty"`
	Identity           *UserAssignedIdentity `json:"identity,omitempty"`
}

// WebAppRoutingNginx is the default NGINX controller's kind.
type WebAppRoutingNginx struct {
	DefaultIngressControllerType string `json:"defaultIngressControllerType,omitempty"`
}

// AddonProfile is an add-on's settings.
type AddonProfile struct {
	Enabled  bool                  `json:"enabled"`
	Config   map[string]string     `json:"config,omitempty"`
	Identity *UserAssignedIdentity `json:"identity,omitempty"`
}

// AGICAddon is the Application Gateway Ingress Controller add-on's key.
const AGICAddon = "ingressApplicationGateway"

// Addon returns an add-on's profile by key, in any case ("" when absent).
func (p *ClusterProperties) Addon(key string) (string, *AddonProfile) {
	for k, v := range p.AddonProfiles {
		if strings.EqualFold(k, key) && v != nil {
			return k, v
		}
	}
	return "", nil
}

// AGICEnabled reports whether the AGIC add-on is on.
func (p *ClusterProperties) AGICEnabled() bool {
	_, a := p.Addon(AGICAddon)
	return a != nil && a.Enabled
}

// AppRoutingEnabled reports whether the application routing add-on is on.
func (p *ClusterProperties) AppRoutingEnabled() bool {
	return p.IngressProfile != nil && p.IngressProfile.WebAppRouting != nil && isTrue(p.IngressProfile.WebAppRouting.Enabled)
}

// OIDCIssuerProfile is the workload-identity issuer.
type OIDCIssuerProfile struct {
	Enabled   *bool  `json:"enabled,omitempty"`
	IssuerURL string `json:"issuerURL,omitempty"`
}

// NetworkProfile is the cluster network configuration.
type NetworkProfile struct {
	NetworkPlugin       string               `json:"networkPlugin,omitempty"`
	NetworkPluginMode   string               `json:"networkPluginMode,omitempty"`
	NetworkPolicy       string               `json:"networkPolicy,omitempty"`
	NetworkMode         string               `json:"networkMode,omitempty"`
	NetworkDataplane    string               `json:"networkDataplane,omitempty"`
	PodCIDR             string               `json:"podCidr,omitempty"`
	ServiceCIDR         string               `json:"serviceCidr,omitempty"`
	DNSServiceIP        string               `json:"dnsServiceIP,omitempty"`
	DockerBridgeCIDR    string               `json:"dockerBridgeCidr,omitempty"`
	OutboundType        string               `json:"outboundType,omitempty"`
	LoadBalancerSKU     string               `json:"loadBalancerSku,omitempty"`
	LoadBalancerProfile *LoadBalancerProfile `json:"loadBalancerProfile,omitempty"`
	NATGatewayProfile   *NATGatewayProfile   `json:"natGatewayProfile,omitempty"`
	PodCIDRs            []string             `json:"podCidrs,omitempty"`
	ServiceCIDRs        []string             `json:"serviceCidrs,omitempty"`
	IPFamilies          []string             `json:"ipFamilies,omitempty"`
}

// LoadBalancerProfile configures the cluster's outbound load balancer.
type LoadBalancerProfile struct {
	ManagedOutboundIPs                  *ManagedOutboundIPs `json:"managedOutboundIPs,omitempty"`
	OutboundIPPrefixes                  json.RawMessage     `json:"outboundIPPrefixes,omitempty"`
	OutboundIPs                         *OutboundIPs        `json:"outboundIPs,omitempty"`
	EffectiveOutboundIPs                []ResourceReference `json:"effectiveOutboundIPs,omitempty"`
	AllocatedOutboundPorts              *int                `json:"allocatedOutboundPorts,omitempty"`
	IdleTimeoutInMinutes                *int                `json:"idleTimeoutInMinutes,omitempty"`
	EnableMultipleStandardLoadBalancers *bool               `json:"enableMultipleStandardLoadBalancers,omitempty"`
	BackendPoolType                     string              `json:"backendPoolType,omitempty"`
}

// ManagedOutboundIPs is how many outbound IPs AKS manages.
type ManagedOutboundIPs struct {
	Count     *int `json:"count,omitempty"`
	CountIPv6 *int `json:"countIPv6,omitempty"`
}

// OutboundIPs are user-provided outbound IPs.
type OutboundIPs struct {
	PublicIPs []ResourceReference `json:"publicIPs,omitempty"`
}

// NATGatewayProfile configures a managed NAT gateway.
type NATGatewayProfile struct {
	ManagedOutboundIPProfile *ManagedOutboundIPs `json:"managedOutboundIPProfile,omitempty"`
	EffectiveOutboundIPs     []ResourceReference `json:"effectiveOutboundIPs,omitempty"`
	IdleTimeoutInMinutes     *int                `json:"idleTimeoutInMinutes,omitempty"`
}

// ResourceReference is {"id": ...}.
type ResourceReference struct {
	ID string `json:"id"`
}

// PoolProperties are the agent pool properties localaks acts on (the same
// shape in a cluster's agentPoolProfiles, with name, and in an agentPools
// resource).
type PoolProperties struct {
	Name                       string            `json:"name,omitempty"`
	Count                      *int              `json:"count,omitempty"`
	VMSize                     string            `json:"vmSize,omitempty"`
	OSDiskSizeGB               *int              `json:"osDiskSizeGB,omitempty"`
	OSDiskType                 string            `json:"osDiskType,omitempty"`
	KubeletDiskType            string            `json:"kubeletDiskType,omitempty"`
	VnetSubnetID               string            `json:"vnetSubnetID,omitempty"`
	PodSubnetID                string            `json:"podSubnetID,omitempty"`
	MaxPods                    *int              `json:"maxPods,omitempty"`
	OSType                     string            `json:"osType,omitempty"`
	OSSKU                      string            `json:"osSKU,omitempty"`
	MaxCount                   *int              `json:"maxCount,omitempty"`
	MinCount                   *int              `json:"minCount,omitempty"`
	EnableAutoScaling          *bool             `json:"enableAutoScaling,omitempty"`
	ScaleDownMode              string            `json:"scaleDownMode,omitempty"`
	Type                       string            `json:"type,omitempty"`
	Mode                       string            `json:"mode,omitempty"`
	OrchestratorVersion        string            `json:"orchestratorVersion,omitempty"`
	CurrentOrchestratorVersion string            `json:"currentOrchestratorVersion,omitempty"`
	NodeImageVersion           string            `json:"nodeImageVersion,omitempty"`
	UpgradeSettings            *UpgradeSettings  `json:"upgradeSettings,omitempty"`
	ProvisioningState          string            `json:"provisioningState,omitempty"`
	PowerState                 *PowerState       `json:"powerState,omitempty"`
	AvailabilityZones          []string          `json:"availabilityZones,omitempty"`
	EnableNodePublicIP         *bool             `json:"enableNodePublicIP,omitempty"`
	ScaleSetPriority           string            `json:"scaleSetPriority,omitempty"`
	ScaleSetEvictionPolicy     string            `json:"scaleSetEvictionPolicy,omitempty"`
	SpotMaxPrice               *float64          `json:"spotMaxPrice,omitempty"`
	Tags                       map[string]string `json:"tags,omitempty"`
	NodeLabels                 map[string]string `json:"nodeLabels,omitempty"`
	NodeTaints                 []string          `json:"nodeTaints,omitempty"`
	EnableFIPS                 *bool             `json:"enableFIPS,omitempty"`
	EnableEncryptionAtHost     *bool             `json:"enableEncryptionAtHost,omitempty"`
	EnableUltraSSD             *bool             `json:"enableUltraSSD,omitempty"`
	// Localaks is state the API does not show.
	Localaks *PoolState `json:"localaks,omitempty"`
}

// maxSurge is the pool's maxSurge, "" when it has none (Spot pools).
func (pp *PoolProperties) maxSurge() string {
	if pp.UpgradeSettings == nil {
		return ""
	}
	return pp.UpgradeSettings.MaxSurge
}

// UpgradeSettings are a pool's upgrade settings.
type UpgradeSettings struct {
	MaxSurge                  string `json:"maxSurge,omitempty"`
	MaxUnavailable            string `json:"maxUnavailable,omitempty"`
	DrainTimeoutInMinutes     *int   `json:"drainTimeoutInMinutes,omitempty"`
	NodeSoakDurationInMinutes *int   `json:"nodeSoakDurationInMinutes,omitempty"`
}

// PoolState is a pool's hidden state.
type PoolState struct {
	// VMSS is the scale set's resource ID.
	VMSS string `json:"vmss,omitempty"`
	// Operation is the running pool operation ("" when none).
	Operation     string `json:"operation,omitempty"`
	OperationKind string `json:"operationKind,omitempty"`
	// DeleteMachines names machines a running deleteMachines removes.
	DeleteMachines []string `json:"deleteMachines,omitempty"`
	// Nodes is the pool's node mode, NodesSimulated or NodesReal ("" in
	// records from before modes: simulated), fixed at creation.
	Nodes string `json:"nodes,omitempty"`
}

// State is the pool's hidden state (made if absent).
func (p *Pool) State() *PoolState {
	if p.Props.Localaks == nil {
		p.Props.Localaks = &PoolState{}
	}
	return p.Props.Localaks
}

// Cluster is a decoded managed cluster record.
type Cluster struct {
	Record *store.Resource
	Props  ClusterProperties
	extra  jsonx.Object
}

// Pool is a decoded agent pool record.
type Pool struct {
	Record *store.Resource
	Props  PoolProperties
	extra  jsonx.Object
}

// DecodeCluster reads a cluster record.
func DecodeCluster(r *store.Resource) (*Cluster, error) {
	c := &Cluster{Record: r}
	extra, err := jsonx.Decode(r.Properties, &c.Props)
	if err != nil {
		return nil, fmt.Errorf("decode cluster %s: %w", r.ID, err)
	}
	c.extra = extra
	if c.Props.Localaks == nil {
		c.Props.Localaks = &ClusterState{}
	}
	return c, nil
}

// WorkloadIdentityEnabled reports securityProfile.workloadIdentity.enabled.
func (c *Cluster) WorkloadIdentityEnabled() bool {
	var sp struct {
		WorkloadIdentity *struct {
			Enabled bool `json:"enabled"`
		} `json:"workloadIdentity"`
	}
	return json.Unmarshal(c.extra["securityProfile"], &sp) == nil && sp.WorkloadIdentity != nil && sp.WorkloadIdentity.Enabled
}

// Encode writes the typed properties back into the record.
func (c *Cluster) Encode() error {
	c.Props.AgentPoolProfiles = nil
	delete(c.extra, "agentPoolProfiles")
	raw, err := jsonx.Encode(c.extra, &c.Props)
	if err != nil {
		return err
	}
	c.Record.Properties = raw
	return nil
}

// DecodePool reads an agent pool record.
func DecodePool(r *store.Resource) (*Pool, error) {
	p := &Pool{Record: r}
	extra, err := jsonx.Decode(r.Properties, &p.Props)
	if err != nil {
		return nil, fmt.Errorf("decode pool %s: %w", r.ID, err)
	}
	p.extra = extra
	if p.Props.Localaks == nil {
		p.Props.Localaks = &PoolState{}
	}
	return p, nil
}

// DecodePoolJSON reads pool properties from a request (a cluster's
// agentPoolProfiles entry or an agentPools body's properties).
func DecodePoolJSON(raw json.RawMessage) (*Pool, error) {
	p := &Pool{}
	extra, err := jsonx.Decode(raw, &p.Props)
	if err != nil {
		return nil, err
	}
	p.extra = extra
	p.Props.Localaks = &PoolState{}
	return p, nil
}

// Encode writes the typed properties back into the record (which must be
// set).
func (p *Pool) Encode() error {
	p.Props.Name = ""
	delete(p.extra, "name")
	raw, err := jsonx.Encode(p.extra, &p.Props)
	if err != nil {
		return err
	}
	p.Record.Properties = raw
	return nil
}

// publicObject is the pool's API properties (no name) as raw JSON members.
func (p *Pool) publicObject() (jsonx.Object, error) {
	raw, err := jsonx.Encode(p.extra, &p.Props)
	if err != nil {
		return nil, err
	}
	var out jsonx.Object
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	delete(out, "localaks")
	delete(out, "name")
	return out, nil
}

// Public renders pool properties for the API: without hidden state, with
// the name when asked (cluster agentPoolProfiles).
func (p *Pool) Public(withName bool) (map[string]any, error) {
	raw, err := jsonx.Encode(p.extra, &p.Props)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	delete(out, "localaks")
	if withName {
		out["name"] = p.Record.Name
	} else {
		delete(out, "name")
	}
	return out, nil
}

// Public renders cluster properties for the API, without hidden state and
// without the service principal's secret, which AKS takes but never shows.
func (c *Cluster) Public() (map[string]any, error) {
	raw, err := jsonx.Encode(c.extra, &c.Props)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	delete(out, "localaks")
	if sp, ok := out["servicePrincipalProfile"].(map[string]any); ok {
		delete(sp, "secret")
	}
	return out, nil
}

// publicObject is Public as raw JSON members.
func (c *Cluster) publicObject() (jsonx.Object, error) {
	raw, err := jsonx.Encode(c.extra, &c.Props)
	if err != nil {
		return nil, err
	}
	var out jsonx.Object
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	delete(out, "localaks")
	return out, nil
}
