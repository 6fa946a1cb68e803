// Package clusterspec is the contract between `serve` and a cluster's
// control-plane process: the desired state serve sends (Spec, one JSON
// document per line on the child's stdin) and the events the child reports
// back (Event, one JSON document per line on its stdout). It holds no
// Kubernetes types, so serve never links the Kubernetes modules.
package clusterspec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Rotation names the secrets a rotation replaces.
type Rotation string

const (
	// RotateCertificates replaces the cluster CA and every certificate
	// (rotateClusterCertificates).
	RotateCertificates Rotation = "certificates"
	// RotateServiceAccountKeys replaces the service-account signing key,
	// keeping the one before it valid (rotateServiceAccountSigningKeys).
	RotateServiceAccountKeys Rotation = "serviceAccountKeys"
)

// DefaultServiceAccountIssuer is the service-account token issuer (and
// audience) of a cluster without the OIDC issuer enabled.
const DefaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// Spec is everything a control-plane process needs to run one cluster.
// Every field is desired state; the process converges on it.
type Spec struct {
	// Generation increases with every spec serve sends; the child reports
	// the generation it has converged on.
	Generation int64 `json:"generation"`
	// UID is the cluster's resourceUID (its data directory's name).
	UID            string `json:"uid"`
	ResourceID     string `json:"resourceId"`
	Name           string `json:"name"`
	ResourceGroup  string `json:"resourceGroup"`
	SubscriptionID string `json:"subscriptionId"`
	Location       string `json:"location"`
	// NodeResourceGroup is the MC_ group; nodes carry it as
	// kubernetes.azure.com/cluster.
	NodeResourceGroup string `json:"nodeResourceGroup"`
	// KubernetesVersion is the control plane's version (major.minor.patch);
	// its minor is every component's emulated version.
	KubernetesVersion string `json:"kubernetesVersion"`
	FQDN              string `json:"fqdn"`
	// APIServerPort is the loopback port the API server listens on.
	APIServerPort int `json:"apiServerPort"`
	// AdvertiseAddress is the API server address the `kubernetes` Service's
	// endpoints show.
	AdvertiseAddress string `json:"advertiseAddress"`
	// ServiceAccountIssuer is the issuer of service account tokens (the OIDC
	// issuer URL when that is enabled).
	ServiceAccountIssuer string  `json:"serviceAccountIssuer"`
	EnableRBAC           bool    `json:"enableRBAC"`
	Network              Network `json:"network"`
	// AppRouting runs the application routing add-on (managed NGINX).
	AppRouting bool `json:"appRouting,omitempty"`
	// AGIC runs the Application Gateway Ingress Controller add-on.
	AGIC *AGIC `json:"agic,omitempty"`
	// WorkloadIdentity runs the workload identity webhook
	// (securityProfile.workloadIdentity).
	WorkloadIdentity bool   `json:"workloadIdentity,omitempty"`
	Pools            []Pool `json:"pools"`
	Nodes            []Node `json:"nodes"`
	// Drain lists nodes to cordon and drain (and keep cordoned) before serve
	// removes their machines.
	Drain []string `json:"drain,omitempty"`
	// DrainTimeoutSeconds bounds a drain blocked by disruption budgets.
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
	// Cloud configures the cluster's cloud controller.
	Cloud Cloud `json:"cloud"`
	// Fabric is the Azure network real nodes are wired into.
	Fabric Fabric `json:"fabric,omitempty"`
	// Autoscaler runs the cluster autoscaler (nil: no pool autoscales).
	Autoscaler *Autoscaler `json:"autoscaler,omitempty"`
	// Entra is AKS-managed Entra ID integration (aadProfile.managed); nil
	// for clusters without it.
	Entra *Entra `json:"entra,omitempty"`
}

// Entra is how the API server trusts Entra ID: it accepts tokens that
// localaks's Entra issues in TenantID for the AKS server application
// (kubelogin's), maps their groups, makes AdminGroups cluster-admin, and
// with AzureRBAC asks localaks's Azure RBAC webhook about every request
// of an Entra principal.
type Entra struct {
	TenantID    string   `json:"tenantId"`
	AdminGroups []string `json:"adminGroups,omitempty"`
	AzureRBAC   bool     `json:"azureRBAC,omitempty"`
	// WebhookToken authenticates the API server to the webhook (set by the
	// supervisor, like Cloud.ARMEndpoint).
	WebhookToken string `json:"webhookToken,omitempty"`
}

// Autoscaler is the cluster autoscaler as AKS configures it: the cluster's
// autoScalerProfile (its keys are the autoscaler's flag names, its values
// as ARM returns them: strings, and the three booleans as "true"/"false")
// and one node group per autoscaled pool.
type Autoscaler struct {
	Profile map[string]string `json:"profile,omitempty"`
	Groups  []NodeGroup       `json:"groups"`
}

// NodeGroup is an autoscaled pool: its scale set (the node group's name,
// as --nodes=min:max:<scale set> names it) and its range.
type NodeGroup struct {
	Pool     string `json:"pool"`
	ScaleSet string `json:"scaleSet"`
	Min      int    `json:"min"`
	Max      int    `json:"max"`
}

// Fabric is what real nodes need of the node resource group's network:
// the virtual network they sit in and the routes of their subnets' route
// table (kubenet's pod routes).
type Fabric struct {
	// VNetID is the virtual network's resource ID (one network namespace
	// per virtual network).
	VNetID string `json:"vnetId,omitempty"`
	// Sources are the IDs of the resources the fabric was made from (the
	// route table, load balancers, public IPs, security groups): a change
	// to any of them is a new fabric.
	Sources []string `json:"sources,omitempty"`
	// Routes are the route table's routes with a next-hop address.
	Routes []Route `json:"routes,omitempty"`
	// AddressSpace is the virtual network's prefixes (the VirtualNetwork
	// service tag).
	AddressSpace []string `json:"addressSpace,omitempty"`
	// LoadBalancers are the load balancers whose backend pools hold the
	// cluster's NICs, as their ARM configuration says: the data path
	// executes them.
	LoadBalancers []LoadBalancer `json:"loadBalancers,omitempty"`
	// SecurityGroups are the network security groups traffic to the
	// cluster's NICs passes (the subnet's, then the NIC's), each of which
	// must allow it.
	SecurityGroups []SecurityGroup `json:"securityGroups,omitempty"`
	// ApplicationGateways are the application gateways whose gateway
	// subnet is in the virtual network, as their ARM configuration says.
	ApplicationGateways []AppGateway `json:"applicationGateways,omitempty"`
}

// AppGateway is an application gateway as its data path needs it; the
// children refer to each other by name.
type AppGateway struct {
	ID           string          `json:"id"`
	Frontends    []LBFrontend    `json:"frontends,omitempty"`
	Listeners    []AGListener    `json:"listeners,omitempty"`
	Certificates []AGCertificate `json:"certificates,omitempty"`
	Rules        []AGRule        `json:"rules,omitempty"`
	PathMaps     []AGPathMap     `json:"pathMaps,omitempty"`
	Redirects    []AGRedirect    `json:"redirects,omitempty"`
	Pools        []AGPool        `json:"pools,omitempty"`
	Settings     []AGSettings    `json:"settings,omitempty"`
	Probes       []AGProbe       `json:"probes,omitempty"`
	// WAF is the gateway's web application firewall (nil: none).
	WAF *AGFirewall `json:"waf,omitempty"`
}

// AGListener is an HTTP listener: a frontend address and port, the host
// names it answers (none: every host) and, for Https, its certificate.
type AGListener struct {
	Name        string   `json:"name"`
	Frontend    string   `json:"frontend"`
	Port        int      `json:"port"`
	Protocol    string   `json:"protocol"`
	HostNames   []string `json:"hostNames,omitempty"`
	Certificate string   `json:"certificate,omitempty"`
}

// AGCertificate is a listener certificate: base64 of a PFX (with its
// password) or of PEM blocks (a certificate chain and its key).
type AGCertificate struct {
	Name     string `json:"name"`
	Data     string `json:"data"`
	Password string `json:"password,omitempty"`
}

// AGRule is a request routing rule.
type AGRule struct {
	Name     string `json:"name"`
	Priority int    `json:"priority,omitempty"`
	Listener string `json:"listener"`
	// Basic rules name a pool and settings, or a redirect; path-based ones
	// a path map.
	Pool     string `json:"pool,omitempty"`
	Settings string `json:"settings,omitempty"`
	Redirect string `json:"redirect,omitempty"`
	PathMap  string `json:"pathMap,omitempty"`
}

// AGPathMap is a URL path map.
type AGPathMap struct {
	Name            string       `json:"name"`
	DefaultPool     string       `json:"defaultPool,omitempty"`
	DefaultSettings string       `json:"defaultSettings,omitempty"`
	DefaultRedirect string       `json:"defaultRedirect,omitempty"`
	Rules           []AGPathRule `json:"rules,omitempty"`
}

// AGPathRule sends its paths ("/api/*", "/exact") to a pool or redirect.
type AGPathRule struct {
	Name     string   `json:"name"`
	Paths    []string `json:"paths"`
	Pool     string   `json:"pool,omitempty"`
	Settings string   `json:"settings,omitempty"`
	Redirect string   `json:"redirect,omitempty"`
}

// AGRedirect is a redirect configuration.
type AGRedirect struct {
	Name string `json:"name"`
	// Type is Permanent, Found, SeeOther or Temporary.
	Type string `json:"type"`
	// TargetListener or TargetURL is where it sends the client.
	TargetListener     string `json:"targetListener,omitempty"`
	TargetURL          string `json:"targetUrl,omitempty"`
	IncludePath        bool   `json:"includePath,omitempty"`
	IncludeQueryString bool   `json:"includeQueryString,omitempty"`
}

// AGPool is a backend pool: IP addresses or FQDNs.
type AGPool struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses,omitempty"`
}

// AGSettings are backend HTTP settings.
type AGSettings struct {
	Name     string `json:"name"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	// CookieAffinity pins a client to a backend with the
	// ApplicationGatewayAffinity cookie (or AffinityCookieName).
	CookieAffinity     bool   `json:"cookieAffinity,omitempty"`
	AffinityCookieName string `json:"affinityCookieName,omitempty"`
	// RequestTimeoutSeconds bounds a backend's answer.
	RequestTimeoutSeconds int `json:"requestTimeoutSeconds,omitempty"`
	// Path overrides the path's prefix; HostName the Host header, or
	// PickHostName takes the backend's address.
	Path         string `json:"path,omitempty"`
	HostName     string `json:"hostName,omitempty"`
	PickHostName bool   `json:"pickHostName,omitempty"`
	Probe        string `json:"probe,omitempty"`
}

// AGProbe is a custom health probe.
type AGProbe struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Host     string `json:"host,omitempty"`
	Path     string `json:"path"`
	// PickHostName takes the settings' host name.
	PickHostName       bool     `json:"pickHostName,omitempty"`
	Port               int      `json:"port,omitempty"`
	IntervalSeconds    int      `json:"intervalSeconds"`
	TimeoutSeconds     int      `json:"timeoutSeconds"`
	UnhealthyThreshold int      `json:"unhealthyThreshold"`
	StatusCodes        []string `json:"statusCodes,omitempty"`
}

// AGFirewall is a gateway's web application firewall.
type AGFirewall struct {
	Enabled bool `json:"enabled"`
	// Mode is Detection (log) or Prevention (block).
	Mode string `json:"mode"`
	// RuleSet is the managed rule set, as "OWASP 3.2" or
	// "Microsoft_DefaultRuleSet 2.1".
	RuleSet string `json:"ruleSet,omitempty"`
}

// Uses tells whether the fabric follows the resource id: the route table,
// a load balancer, a public IP of its frontends or a security group.
func (f Fabric) Uses(id string) bool {
	for _, u := range f.Sources {
		if strings.EqualFold(u, id) {
			return true
		}
	}
	return false
}

// LoadBalancer is an Azure load balancer as its data path needs it.
type LoadBalancer struct {
	ID        string       `json:"id"`
	Frontends []LBFrontend `json:"frontends,omitempty"`
	Rules     []LBRule     `json:"rules,omitempty"`
	Probes    []LBProbe    `json:"probes,omitempty"`
	// Pools are the backend pools with their members' private addresses.
	Pools []LBPool `json:"pools,omitempty"`
}

// LBFrontend is a frontend IP configuration and its address (the public
// IP's, or the private one).
type LBFrontend struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Public  bool   `json:"public,omitempty"`
}

// LBRule is a load-balancing rule.
type LBRule struct {
	Name         string `json:"name"`
	Frontend     string `json:"frontend"`
	Pool         string `json:"pool"`
	Probe        string `json:"probe,omitempty"`
	Protocol     string `json:"protocol"`
	FrontendPort int    `json:"frontendPort"`
	BackendPort  int    `json:"backendPort"`
	// Distribution is Default (five-tuple), SourceIP or SourceIPProtocol.
	Distribution       string `json:"distribution,omitempty"`
	IdleTimeoutMinutes int    `json:"idleTimeoutMinutes,omitempty"`
	FloatingIP         bool   `json:"floatingIP,omitempty"`
	TCPReset           bool   `json:"tcpReset,omitempty"`
}

// LBProbe is a health probe.
type LBProbe struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
	Path     string `json:"path,omitempty"`
	// IntervalSeconds apart; Threshold consecutive results change a
	// member's health.
	IntervalSeconds int `json:"intervalSeconds"`
	Threshold       int `json:"threshold"`
}

// LBPool is a backend pool.
type LBPool struct {
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
}

// SecurityGroup is a network security group's inbound rules, its default
// ones included, in priority order.
type SecurityGroup struct {
	ID    string         `json:"id"`
	Rules []SecurityRule `json:"rules,omitempty"`
}

// SecurityRule is one inbound security rule. Sources and Destinations
// are prefixes, addresses, service tags or "*"; Ports are "*", "80" or
// "80-90".
type SecurityRule struct {
	Name         string   `json:"name"`
	Priority     int      `json:"priority"`
	Allow        bool     `json:"allow"`
	Protocol     string   `json:"protocol"`
	Sources      []string `json:"sources,omitempty"`
	Destinations []string `json:"destinations,omitempty"`
	Ports        []string `json:"ports,omitempty"`
}

// Route is one route table entry: traffic to Prefix goes to NextHop.
type Route struct {
	Name    string `json:"name"`
	Prefix  string `json:"prefix"`
	NextHop string `json:"nextHop"`
}

// AGIC is the ingress-appgw add-on's gateway.
type AGIC struct {
	// GatewayID is the application gateway's resource ID.
	GatewayID string `json:"gatewayId"`
	// WatchNamespace limits AGIC to one namespace ("" = all).
	WatchNamespace string `json:"watchNamespace,omitempty"`
}

// Cloud is what AKS gives cloud-provider-azure in /etc/kubernetes/azure.json:
// where the cluster's Azure resources are and how to sign in to change
// them. The cloud controller reaches them through localaks's ARM API.
type Cloud struct {
	// ARMEndpoint is localaks's URL, CAFile the CA to trust for it (set by
	// the supervisor: they change when serve moves).
	ARMEndpoint    string `json:"armEndpoint,omitempty"`
	CAFile         string `json:"caFile,omitempty"`
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	// AADClientID and AADClientSecret sign in as the cluster's identity.
	AADClientID     string `json:"aadClientId"`
	AADClientSecret string `json:"aadClientSecret"`
	// KubeletClientID and KubeletClientSecret sign in as the kubelet
	// identity: the nodes' instance metadata service gives its tokens
	// (image pulls from container registries).
	KubeletClientID     string `json:"kubeletClientId,omitempty"`
	KubeletClientSecret string `json:"kubeletClientSecret,omitempty"`
	// ResourceGroup is the node resource group.
	ResourceGroup     string `json:"resourceGroup"`
	Location          string `json:"location"`
	VNetName          string `json:"vnetName"`
	VNetResourceGroup string `json:"vnetResourceGroup"`
	SubnetName        string `json:"subnetName"`
	SecurityGroupName string `json:"securityGroupName"`
	RouteTableName    string `json:"routeTableName,omitempty"`
	LoadBalancerSKU   string `json:"loadBalancerSku"`
	// ScaleSets are the pools' scale sets, whose NICs join load balancer
	// backend pools.
	ScaleSets []string `json:"scaleSets,omitempty"`
}

// Network is the cluster's network model.
type Network struct {
	Plugin       string `json:"plugin"`
	PluginMode   string `json:"pluginMode,omitempty"`
	Policy       string `json:"policy,omitempty"`
	Dataplane    string `json:"dataplane,omitempty"`
	PodCIDR      string `json:"podCidr,omitempty"`
	ServiceCIDR  string `json:"serviceCidr"`
	DNSServiceIP string `json:"dnsServiceIP"`
}

// Model names the network model: "kubenet", "azure" (pods on the node
// subnet), "overlay" or "none".
func (n Network) Model() string {
	switch {
	case n.Plugin == "azure" && strings.EqualFold(n.PluginMode, "overlay"):
		return "overlay"
	case n.Plugin == "azure":
		return "azure"
	case n.Plugin == "kubenet":
		return "kubenet"
	}
	return "none"
}

// Pool is an agent pool as its nodes see it.
type Pool struct {
	Name   string `json:"name"`
	Mode   string `json:"mode"`
	VMSize string `json:"vmSize"`
	OSType string `json:"osType"`
	OSSKU  string `json:"osSKU"`
	// Version is the kubelet version of the pool's nodes.
	Version          string            `json:"version"`
	NodeImageVersion string            `json:"nodeImageVersion"`
	MaxPods          int               `json:"maxPods"`
	OSDiskSizeGB     int               `json:"osDiskSizeGB"`
	Labels           map[string]string `json:"labels,omitempty"`
	// Taints are "key=value:Effect" as the ARM API spells them.
	Taints []string `json:"taints,omitempty"`
	// Spot marks spot pools (their label and taint).
	Spot bool `json:"spot,omitempty"`
	// UpgradeBatch is how many nodes an upgrade reimages at once (the
	// pool's max surge, resolved); DrainTimeoutSeconds bounds each drain.
	UpgradeBatch        int `json:"upgradeBatch,omitempty"`
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
	// Real says the pool's nodes are real (a kubelet and containerd each),
	// not simulated.
	Real bool `json:"real,omitempty"`
}

// Node is one VMSS instance, registered as a Node.
type Node struct {
	Name       string `json:"name"`
	Pool       string `json:"pool"`
	ProviderID string `json:"providerID"`
	InternalIP string `json:"internalIP"`
	// PodCIDR is the node's pod range (kubenet and overlay).
	PodCIDR string `json:"podCIDR,omitempty"`
	// PodIPs are the addresses pre-allocated to the node (Azure CNI).
	PodIPs []string `json:"podIPs,omitempty"`
	Zone   string   `json:"zone,omitempty"`
	// Subnet is the address prefix of the node's subnet.
	Subnet string `json:"subnet,omitempty"`
}

// Pool returns the named pool.
func (s *Spec) Pool(name string) (Pool, bool) {
	for _, p := range s.Pools {
		if p.Name == name {
			return p, true
		}
	}
	return Pool{}, false
}

// RealNodes are the nodes of real pools.
func (s *Spec) RealNodes() []Node {
	var out []Node
	for _, n := range s.Nodes {
		if p, ok := s.Pool(n.Pool); ok && p.Real {
			out = append(out, n)
		}
	}
	return out
}

// EmulatedVersion is the major.minor every component emulates.
func (s *Spec) EmulatedVersion() string {
	return MinorOf(s.KubernetesVersion)
}

// MinorOf cuts a version to major.minor ("1.35.4" → "1.35").
func MinorOf(v string) string {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// Validate checks what the child cannot run without.
func (s *Spec) Validate() error {
	switch {
	case s.UID == "":
		return fmt.Errorf("spec: uid is empty")
	case s.APIServerPort <= 0 || s.APIServerPort > 65535:
		return fmt.Errorf("spec: apiServerPort %d out of range", s.APIServerPort)
	case s.KubernetesVersion == "":
		return fmt.Errorf("spec: kubernetesVersion is empty")
	case s.Network.ServiceCIDR == "":
		return fmt.Errorf("spec: network.serviceCidr is empty")
	}
	for _, n := range s.Nodes {
		if _, ok := s.Pool(n.Pool); !ok {
			return fmt.Errorf("spec: node %s is in unknown pool %q", n.Name, n.Pool)
		}
	}
	return nil
}

// Identity is a cluster directory's cluster.json.
type Identity struct {
	ResourceID string `json:"resourceId"`
}

// Event kinds the child reports.
const (
	// EventStarted: the API server answers; Endpoint is set.
	EventStarted = "started"
	// EventConverged: the cluster matches spec Generation (system objects
	// applied, nodes registered and Ready, drains done).
	EventConverged = "converged"
	// EventFailed: spec Generation cannot be reached; Error says why.
	EventFailed = "failed"
	// EventDataPath carries the data path's counters, when they change.
	EventDataPath = "dataPath"
)

// Event is one line the child writes to stdout.
type Event struct {
	Type       string `json:"type"`
	Generation int64  `json:"generation,omitempty"`
	// Version is the API server's version (git version) once started.
	Version string `json:"version,omitempty"`
	// ReadyNodes counts Ready nodes at convergence.
	ReadyNodes int `json:"readyNodes,omitempty"`
	// Code and Error describe a failure (Code is an AKS error code).
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// DataPath is what the data path has carried (EventDataPath).
	DataPath *DataPath `json:"dataPath,omitempty"`
}

// DataPath counts what the cluster's load balancers and application
// gateways have carried since its control plane started.
type DataPath struct {
	Rules []RuleCount `json:"rules,omitempty"`
}

// RuleCount is one load-balancing rule's (or gateway's) traffic: flows or
// requests carried, refused (reset, dropped, or answered with an error),
// and per backend address its health and what it took.
type RuleCount struct {
	// ID is the rule's resource ID, or the gateway's.
	ID       string         `json:"id"`
	Carried  int64          `json:"carried"`
	Refused  int64          `json:"refused"`
	Backends []BackendCount `json:"backends,omitempty"`
}

// BackendCount is one backend address of a rule.
type BackendCount struct {
	Address string `json:"address"`
	Healthy bool   `json:"healthy"`
	Carried int64  `json:"carried"`
}

// Encode renders a value as one JSON line.
func Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
