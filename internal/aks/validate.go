package aks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
	"github.com/localaks/localaks/internal/vmsizes"
)

func intp(n int) *int     { return &n }
func boolp(b bool) *bool  { return &b }
func isTrue(b *bool) bool { return b != nil && *b }
func intv(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

var (
	clusterNameRule = regexp.MustCompile(`^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`)
	poolNameRule    = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	dnsPrefixRule   = regexp.MustCompile(`^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$`)
	adminUserRule   = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9_]*$`)
)

// ValidateClusterName applies AKS's cluster naming rules.
func ValidateClusterName(name string) error {
	if !clusterNameRule.MatchString(name) {
		return invalidParameter("name",
			"\"%s\" managed cluster name is invalid. It can contain only letters, numbers, underscores and hyphens, must start and end with a letter or number, and can be at most 63 characters", name)
	}
	upper := strings.ToUpper(name)
	for _, w := range []string{"MICROSOFT", "WINDOWS"} {
		if strings.Contains(upper, w) {
			return invalidParameter("name", "\"%s\" managed cluster name is invalid because 'MICROSOFT' and 'WINDOWS' can't be used as either a whole word or a substring in the name.", name)
		}
	}
	for _, w := range []string{"LOGIN", "XBOX"} {
		if strings.HasPrefix(upper, w) {
			return invalidParameter("name", "\"%s\" managed cluster name is invalid because 'LOGIN' and 'XBOX' can't be used at the start of the name.", name)
		}
	}
	if upper == "AZURE" {
		return invalidParameter("name", "\"%s\" managed cluster name is invalid because 'azure' is reserved.", name)
	}
	return nil
}

// ValidatePoolName applies AKS's agent pool naming rules (Windows pools: at
// most 6 characters).
func ValidatePoolName(name, osType string) error {
	if !poolNameRule.MatchString(name) {
		return invalidParameter("agentPoolProfile.name",
			"Agent Pool name '%s' should start with a lowercase letter, have max length of 12, and only have characters a-z0-9", name)
	}
	if strings.EqualFold(osType, "Windows") && len(name) > 6 {
		return invalidParameter("agentPoolProfile.name", "Windows agent pool name '%s' can not be longer than 6 characters", name)
	}
	return nil
}

// networkModel names the network model of a cluster.
type networkModel int

const (
	modelKubenet networkModel = iota
	modelAzureCNI
	modelOverlay
	modelNone
)

func modelOf(np *NetworkProfile) networkModel {
	switch {
	case np.NetworkPlugin == "kubenet":
		return modelKubenet
	case np.NetworkPlugin == "azure" && np.NetworkPluginMode == "overlay":
		return modelOverlay
	case np.NetworkPlugin == "azure":
		return modelAzureCNI
	}
	return modelNone
}

// defaultMaxPods per network model (AKS's documented defaults).
func defaultMaxPods(m networkModel, podSubnet bool) int {
	switch m {
	case modelAzureCNI:
		if podSubnet {
			return 250
		}
		return 30
	case modelOverlay:
		return 250
	}
	return 110
}

// DefaultCluster fills a new cluster's defaults (before validation).
func (v *Rules) DefaultCluster(c *Cluster, sub, rg string) {
	p := &c.Props
	if p.DNSPrefix == "" && p.FQDNSubdomain == "" {
		p.DNSPrefix = DefaultDNSPrefix(c.Record.Name, rg, sub)
	}
	if p.EnableRBAC == nil {
		p.EnableRBAC = boolp(true)
	}
	if p.DisableLocalAccounts == nil {
		p.DisableLocalAccounts = boolp(false)
	}
	if p.NodeResourceGroup == "" {
		p.NodeResourceGroup = NodeResourceGroupName(rg, c.Record.Name, c.Record.Location)
	}
	if p.SupportPlan == "" {
		p.SupportPlan = "KubernetesOfficial"
	}
	if p.LinuxProfile != nil && p.LinuxProfile.AdminUsername == "" {
		p.LinuxProfile.AdminUsername = defaultAdminUsername
	}
	if p.NetworkProfile == nil {
		p.NetworkProfile = &NetworkProfile{}
	}
	np := p.NetworkProfile
	np.NetworkPlugin = strings.ToLower(np.NetworkPlugin)
	if np.NetworkPlugin == "" {
		// AKS's REST default when nothing is said (the az CLI sends its
		// own choice); see README.
		np.NetworkPlugin = "kubenet"
	}
	np.NetworkPluginMode = strings.ToLower(np.NetworkPluginMode)
	if np.OutboundType == "" {
		np.OutboundType = "loadBalancer"
	}
	np.LoadBalancerSKU = strings.ToLower(np.LoadBalancerSKU)
	if np.LoadBalancerSKU == "" {
		np.LoadBalancerSKU = "standard"
	}
	m := modelOf(np)
	if (m == modelKubenet || m == modelOverlay) && np.PodCIDR == "" && len(np.PodCIDRs) == 0 {
		np.PodCIDR = defaultPodCIDR
	}
	if np.PodCIDR == "" && len(np.PodCIDRs) > 0 {
		np.PodCIDR = np.PodCIDRs[0]
	}
	if np.ServiceCIDR == "" && len(np.ServiceCIDRs) > 0 {
		np.ServiceCIDR = np.ServiceCIDRs[0]
	}
	if np.ServiceCIDR == "" {
		np.ServiceCIDR = defaultServiceCIDR
		if np.DNSServiceIP == "" {
			np.DNSServiceIP = defaultDNSServiceIP
		}
	}
	if np.PodCIDR != "" {
		np.PodCIDRs = []string{np.PodCIDR}
	}
	np.ServiceCIDRs = []string{np.ServiceCIDR}
	if len(np.IPFamilies) == 0 {
		np.IPFamilies = []string{"IPv4"}
	}
	if np.NetworkPolicy == "" && m != modelNone {
		np.NetworkPolicy = ""
	}
	if np.OutboundType == "loadBalancer" && np.LoadBalancerSKU == "standard" {
		if np.LoadBalancerProfile == nil {
			np.LoadBalancerProfile = &LoadBalancerProfile{}
		}
		lp := np.LoadBalancerProfile
		if lp.ManagedOutboundIPs == nil && lp.OutboundIPs == nil && len(lp.OutboundIPPrefixes) == 0 {
			lp.ManagedOutboundIPs = &ManagedOutboundIPs{Count: intp(1)}
		}
		if lp.ManagedOutboundIPs != nil && lp.ManagedOutboundIPs.Count == nil {
			lp.ManagedOutboundIPs.Count = intp(1)
		}
		if lp.BackendPoolType == "" {
			lp.BackendPoolType = "nodeIPConfiguration"
		}
	}
	if np.OutboundType == "managedNATGateway" {
		if np.NATGatewayProfile == nil {
			np.NATGatewayProfile = &NATGatewayProfile{}
		}
		if np.NATGatewayProfile.ManagedOutboundIPProfile == nil {
			np.NATGatewayProfile.ManagedOutboundIPProfile = &ManagedOutboundIPs{Count: intp(1)}
		}
		if np.NATGatewayProfile.IdleTimeoutInMinutes == nil {
			np.NATGatewayProfile.IdleTimeoutInMinutes = intp(4)
		}
	}
	// AKS turns the OIDC issuer on for new clusters from Kubernetes 1.34
	// (every version localaks serves) unless the body says otherwise.
	if p.OIDCIssuerProfile == nil {
		p.OIDCIssuerProfile = &OIDCIssuerProfile{}
	}
	if p.OIDCIssuerProfile.Enabled == nil {
		p.OIDCIssuerProfile.Enabled = boolp(true)
	}
	if p.MaxAgentPools == 0 {
		p.MaxAgentPools = defaultMaxAgentPools
	}
	if _, ok := c.extra["storageProfile"]; !ok || string(c.extra["storageProfile"]) == "{}" {
		c.extra["storageProfile"] = json.RawMessage(`{"diskCSIDriver":{"enabled":true},"fileCSIDriver":{"enabled":true},"snapshotController":{"enabled":true}}`)
	}
	if _, ok := c.extra["autoUpgradeProfile"]; !ok {
		c.extra["autoUpgradeProfile"] = json.RawMessage(`{"nodeOSUpgradeChannel":"NodeImage"}`)
	}
	if _, ok := c.extra["securityProfile"]; !ok {
		c.extra["securityProfile"] = json.RawMessage(`{}`)
	}
}

// DefaultPool fills a pool's defaults for cluster c (before validation).
// first is true for pools of a cluster's create, where a pool without mode
// becomes the system pool.
func (v *Rules) DefaultPool(c *Cluster, p *Pool, inClusterCreate bool) {
	pp := &p.Props
	if pp.Count == nil {
		pp.Count = intp(1)
	}
	if pp.VMSize == "" {
		pp.VMSize = defaultVMSize
	}
	if s, ok := vmsizes.Lookup(pp.VMSize); ok {
		pp.VMSize = s.Name
	}
	if pp.OSDiskSizeGB == nil || *pp.OSDiskSizeGB == 0 {
		pp.OSDiskSizeGB = intp(defaultOSDiskSizeGB)
	}
	if pp.OSDiskType == "" {
		pp.OSDiskType = "Managed"
	}
	if pp.KubeletDiskType == "" {
		pp.KubeletDiskType = "OS"
	}
	if pp.OSType == "" {
		pp.OSType = "Linux"
	}
	if pp.OSSKU == "" && pp.OSType == "Linux" {
		pp.OSSKU = "Ubuntu"
	}
	if pp.Type == "" {
		pp.Type = "VirtualMachineScaleSets"
	}
	if pp.Mode == "" {
		pp.Mode = "User"
		if inClusterCreate {
			pp.Mode = "System"
		}
	}
	if pp.MaxPods == nil || *pp.MaxPods == 0 {
		pp.MaxPods = intp(defaultMaxPods(modelOf(c.Props.NetworkProfile), pp.PodSubnetID != ""))
	}
	if pp.EnableAutoScaling == nil {
		pp.EnableAutoScaling = boolp(false)
	}
	if !isTrue(pp.EnableAutoScaling) {
		pp.MinCount, pp.MaxCount = nil, nil
	}
	if pp.ScaleSetPriority == "" {
		pp.ScaleSetPriority = "Regular"
	}
	if pp.ScaleSetPriority != "Spot" {
		pp.ScaleSetEvictionPolicy, pp.SpotMaxPrice = "", nil
	}
	if pp.UpgradeSettings == nil {
		pp.UpgradeSettings = &UpgradeSettings{}
	}
	if pp.UpgradeSettings.MaxSurge == "" {
		pp.UpgradeSettings.MaxSurge = "10%"
	}
	for _, b := range []**bool{&pp.EnableNodePublicIP, &pp.EnableFIPS, &pp.EnableEncryptionAtHost, &pp.EnableUltraSSD} {
		if *b == nil {
			*b = boolp(false)
		}
	}
	if len(pp.NodeTaints) == 0 {
		pp.NodeTaints = nil
	}
	if pp.OrchestratorVersion == "" {
		pp.OrchestratorVersion = c.Props.KubernetesVersion
	}
	if pp.NodeImageVersion == "" {
		pp.NodeImageVersion = Versions.NodeImage
	}
	if pp.PowerState == nil {
		pp.PowerState = &PowerState{Code: PowerRunning}
	}
}

// ValidatePool checks a pool (already defaulted) for cluster c.
func (v *Rules) ValidatePool(c *Cluster, p *Pool) error {
	pp := &p.Props
	if err := ValidatePoolName(p.Record.Name, pp.OSType); err != nil {
		return err
	}
	if t := pp.Type; t != "VirtualMachineScaleSets" {
		return invalidParameter("agentPoolProfile.type", "Agent pool type '%s' is not supported by localaks; use VirtualMachineScaleSets", t)
	}
	if pp.OSType != "Linux" && pp.OSType != "Windows" {
		return invalidParameter("agentPoolProfile.osType", "OS type '%s' is not supported; use Linux or Windows", pp.OSType)
	}
	if pp.Mode != "System" && pp.Mode != "User" {
		return invalidParameter("agentPoolProfile.mode", "Agent pool mode '%s' is not supported; use System or User", pp.Mode)
	}
	size, ok := vmsizes.Lookup(pp.VMSize)
	if !ok {
		return badRequest("InvalidParameter", "vmSize",
			"The requested VM size %s is not available in the current region. The sizes available in the current region are: %s. Find out more on the available VM sizes in each region at https://aka.ms/azure-regions.",
			pp.VMSize, allSizes())
	}
	count := *pp.Count
	if pp.Mode == "System" {
		if pp.OSType != "Linux" {
			return invalidParameter("agentPoolProfile.mode", "System node pool '%s' must use the Linux OS type", p.Record.Name)
		}
		if pp.ScaleSetPriority == "Spot" {
			return invalidParameter("agentPoolProfile.mode", "Spot node pool '%s' can not be a system node pool", p.Record.Name)
		}
		if size.VCPUs < 2 || size.MemoryGiB < 4 {
			return invalidParameter("agentPoolProfile.vmSize",
				"System node pool must use VM sku with more than 2 cores and 4GB memory. Nodepool name: %s", p.Record.Name)
		}
		if count < 1 && !isTrue(pp.EnableAutoScaling) {
			return invalidParameter("agentPoolProfile.count", "System node pool '%s' must have at least 1 node", p.Record.Name)
		}
	}
	if count < 0 || count > 1000 {
		return invalidParameter("agentPoolProfile.count", "Node count %d of agent pool '%s' is out of range; it must be between 0 and 1000", count, p.Record.Name)
	}
	if isTrue(pp.EnableAutoScaling) {
		if pp.MinCount == nil || pp.MaxCount == nil {
			return invalidParameter("agentPoolProfile.minCount", "Both minCount and maxCount must be set when enableAutoScaling is true for agent pool '%s'", p.Record.Name)
		}
		if *pp.MinCount > *pp.MaxCount || *pp.MinCount < 0 || *pp.MaxCount > 1000 {
			return invalidParameter("agentPoolProfile.minCount", "minCount %d and maxCount %d of agent pool '%s' are not a valid range", *pp.MinCount, *pp.MaxCount, p.Record.Name)
		}
		if count < *pp.MinCount || count > *pp.MaxCount {
			return badRequest("InvalidParameter", "agentPoolProfile.count",
				"Node count %d of agent pool '%s' is not in the autoscaler range [%d, %d].", count, p.Record.Name, *pp.MinCount, *pp.MaxCount)
		}
	} else if pp.MinCount != nil || pp.MaxCount != nil {
		return invalidParameter("agentPoolProfile.minCount", "minCount and maxCount can only be set when enableAutoScaling is true for agent pool '%s'", p.Record.Name)
	}
	maxPods := *pp.MaxPods
	if maxPods < 10 || maxPods > 250 {
		return invalidParameter("agentPoolProfile.maxPods", "Max pods %d of agent pool '%s' is out of range; it must be between 10 and 250", maxPods, p.Record.Name)
	}
	if pp.Mode == "System" && maxPods*max(count, intv(pp.MinCount, 0)) < 30 {
		return invalidParameter("agentPoolProfile.maxPods",
			"System node pool '%s' must support at least 30 pods: %d nodes with maxPods %d support %d", p.Record.Name, count, maxPods, maxPods*count)
	}
	if _, err := ipam.Surge(pp.UpgradeSettings.MaxSurge, count); err != nil {
		return invalidParameter("agentPoolProfile.upgradeSettings.maxSurge", "%v", err)
	}
	if pp.OSDiskSizeGB != nil && (*pp.OSDiskSizeGB < 30 || *pp.OSDiskSizeGB > 2048) {
		return invalidParameter("agentPoolProfile.osDiskSizeGB", "OS disk size %d GB of agent pool '%s' must be between 30 and 2048", *pp.OSDiskSizeGB, p.Record.Name)
	}
	for _, t := range pp.NodeTaints {
		if !taintRule.MatchString(t) {
			return invalidParameter("agentPoolProfile.nodeTaints", "Taint '%s' is not of the form key=value:NoSchedule|PreferNoSchedule|NoExecute", t)
		}
	}
	return v.validatePoolVersion(c, p)
}

var taintRule = regexp.MustCompile(`^[a-zA-Z\d][\w\-\./]{0,252}=[a-zA-Z\d]?[\w\-\.]{0,62}:(NoSchedule|PreferNoSchedule|NoExecute)$`)

func allSizes() string {
	var names []string
	for _, s := range vmsizes.All() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// validatePoolVersion resolves a pool's orchestratorVersion and checks its
// skew against the control plane.
func (v *Rules) validatePoolVersion(c *Cluster, p *Pool) error {
	pp := &p.Props
	resolved, ok := Versions.Resolve(pp.OrchestratorVersion)
	if !ok {
		return badRequest("AgentPoolK8sVersionNotSupported", "agentPoolProfile.orchestratorVersion",
			"Version %s is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list", pp.OrchestratorVersion)
	}
	cp := c.Props.CurrentKubernetesVersion
	if cp == "" {
		cp, _ = Versions.Resolve(c.Props.KubernetesVersion)
	}
	if Compare(resolved, cp) > 0 {
		return badRequest("NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion",
			"Node pool version %s and control plane version %s are incompatible. Node pool version cannot be bigger than control plane version.", resolved, cp)
	}
	if minorDistance(resolved, cp) > 2 {
		return badRequest("NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion",
			"Node pool version %s and control plane version %s are incompatible. Minor version of node pool cannot be more than 2 versions less than control plane's version. Minor version of node pool is %s and control plane is %s.",
			resolved, cp, MinorOf(resolved), MinorOf(cp))
	}
	pp.CurrentOrchestratorVersion = resolved
	return nil
}

// ValidateCluster checks a new cluster (defaulted) and its pools.
func (v *Rules) ValidateCluster(tx store.Tx, c *Cluster, pools []*Pool) error {
	p := &c.Props
	if err := ValidateClusterName(c.Record.Name); err != nil {
		return err
	}
	if p.DNSPrefix != "" && !dnsPrefixRule.MatchString(p.DNSPrefix) {
		return invalidParameter("dnsPrefix",
			"DNS prefix '%s' is invalid. It must contain between 1 and 54 characters: letters, numbers and hyphens, starting and ending with a letter or number", p.DNSPrefix)
	}
	if p.DNSPrefix != "" && p.FQDNSubdomain != "" {
		return invalidParameter("fqdnSubdomain", "dnsPrefix and fqdnSubdomain can not both be set")
	}
	resolved, ok := Versions.Resolve(p.KubernetesVersion)
	if !ok {
		return badRequest("K8sVersionNotSupported", "kubernetesVersion",
			"Managed cluster %s has invalid version %s. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list",
			c.Record.Name, p.KubernetesVersion)
	}
	if p.KubernetesVersion == "" {
		p.KubernetesVersion = resolved
	}
	p.CurrentKubernetesVersion = resolved
	if p.LinuxProfile != nil {
		if !adminUserRule.MatchString(p.LinuxProfile.AdminUsername) {
			return invalidParameter("linuxProfile.adminUsername", "Admin username '%s' is invalid", p.LinuxProfile.AdminUsername)
		}
		if len(p.LinuxProfile.SSH.PublicKeys) > 1 {
			return invalidParameter("linuxProfile.ssh.publicKeys", "At most one SSH public key is supported")
		}
	}
	if isTrue(p.DisableLocalAccounts) && len(p.AADProfile) == 0 {
		return badRequest("BadRequest", "disableLocalAccounts",
			"Local accounts can only be disabled on clusters with Azure AD integration enabled (aadProfile).")
	}
	if p.NodeResourceGroupProfile != nil {
		switch p.NodeResourceGroupProfile.RestrictionLevel {
		case "", "Unrestricted", "ReadOnly":
		default:
			return invalidParameter("nodeResourceGroupProfile.restrictionLevel", "Restriction level '%s' is not supported; use Unrestricted or ReadOnly", p.NodeResourceGroupProfile.RestrictionLevel)
		}
	}
	cid := resourceid.MustParse(c.Record.ID)
	if strings.EqualFold(p.NodeResourceGroup, cid.ResourceGroupName()) {
		return invalidParameter("nodeResourceGroup", "The node resource group can not be the cluster's own resource group '%s'", p.NodeResourceGroup)
	}
	if _, err := tx.Get(resourceid.ResourceGroup(cid.SubscriptionID(), p.NodeResourceGroup).String()); err == nil {
		return badRequest("InvalidParameter", "nodeResourceGroup",
			"Node resource group '%s' under subscription '%s' already exists, please provide a new one", p.NodeResourceGroup, cid.SubscriptionID())
	}
	if len(pools) == 0 {
		return invalidParameter("agentPoolProfiles", "At least one agent pool is required")
	}
	if len(pools) > p.MaxAgentPools {
		return invalidParameter("agentPoolProfiles", "A cluster can have at most %d agent pools", p.MaxAgentPools)
	}
	seen := map[string]bool{}
	system := false
	for _, pool := range pools {
		if seen[pool.Record.Name] {
			return invalidParameter("agentPoolProfile.name", "Agent pool name '%s' is used more than once", pool.Record.Name)
		}
		seen[pool.Record.Name] = true
		if err := v.ValidatePool(c, pool); err != nil {
			return err
		}
		system = system || pool.Props.Mode == "System"
	}
	if !system {
		return badRequest("InvalidParameter", "agentPoolProfiles", "Must define at least one system pool.")
	}
	return v.validateNetwork(tx, c, pools)
}

// validateNetwork applies the network profile rules and checks address
// capacity for the pools.
func (v *Rules) validateNetwork(tx store.Tx, c *Cluster, pools []*Pool) error {
	np := c.Props.NetworkProfile
	switch np.NetworkPlugin {
	case "kubenet", "azure", "none":
	default:
		return invalidParameter("networkProfile.networkPlugin", "Network plugin '%s' is not supported; use kubenet, azure or none", np.NetworkPlugin)
	}
	if np.NetworkPluginMode != "" && !(np.NetworkPluginMode == "overlay" && np.NetworkPlugin == "azure") {
		return invalidParameter("networkProfile.networkPluginMode", "Network plugin mode '%s' requires network plugin azure (only 'overlay' exists)", np.NetworkPluginMode)
	}
	m := modelOf(np)
	switch strings.ToLower(np.NetworkPolicy) {
	case "", "none":
	case "calico":
	case "azure":
		if np.NetworkPlugin != "azure" {
			return invalidParameter("networkProfile.networkPolicy", "Network policy 'azure' requires network plugin 'azure'")
		}
	case "cilium":
		if !strings.EqualFold(np.NetworkDataplane, "cilium") {
			return invalidParameter("networkProfile.networkPolicy", "Network policy 'cilium' requires network dataplane 'cilium'")
		}
	default:
		return invalidParameter("networkProfile.networkPolicy", "Network policy '%s' is not supported; use none, calico, azure or cilium", np.NetworkPolicy)
	}
	if d := strings.ToLower(np.NetworkDataplane); d != "" && d != "azure" && d != "cilium" {
		return invalidParameter("networkProfile.networkDataplane", "Network dataplane '%s' is not supported; use azure or cilium", np.NetworkDataplane)
	} else if d == "cilium" && m != modelOverlay && m != modelAzureCNI {
		return invalidParameter("networkProfile.networkDataplane", "Network dataplane 'cilium' requires network plugin azure")
	}
	if np.PodCIDR != "" && m == modelAzureCNI {
		return invalidParameter("networkProfile.podCidr", "Pod CIDR can only be set with network plugin kubenet or Azure CNI Overlay; with network plugin azure pods take addresses from the node subnet")
	}
	svc, err := ipam.ParsePrefix(np.ServiceCIDR)
	if err != nil || !svc.Addr().Is4() {
		return invalidParameter("networkProfile.serviceCidr", "Service CIDR '%s' is not a valid IPv4 CIDR", np.ServiceCIDR)
	}
	if svc.Bits() < 12 {
		return invalidParameter("networkProfile.serviceCidr", "Service CIDR %s is too large; it must be smaller than /12", svc)
	}
	if np.DNSServiceIP == "" {
		return invalidParameter("networkProfile.dnsServiceIP", "dnsServiceIP must be set when serviceCidr is set")
	}
	dnsIP, err := netip.ParseAddr(np.DNSServiceIP)
	if err != nil || !dnsIP.Is4() {
		return invalidParameter("networkProfile.dnsServiceIP", "DNS service IP '%s' is not a valid IPv4 address", np.DNSServiceIP)
	}
	if !svc.Contains(dnsIP) {
		return badRequest("DnsServiceIpOutOfServiceCidr", "networkProfile.dnsServiceIP",
			"The DNS service IP %s is out of the range defined by service CIDR %s.", dnsIP, svc)
	}
	if first, _ := ipam.Nth(svc, 1); dnsIP == svc.Addr() || dnsIP == first {
		return invalidParameter("networkProfile.dnsServiceIP",
			"The DNS service IP %s can not be the network address or the first address of service CIDR %s; the first address is the kubernetes service", dnsIP, svc)
	}
	if f, bad := ipam.ForbiddenOverlap(svc); bad {
		return invalidParameter("networkProfile.serviceCidr", "Service CIDR %s overlaps with %s, a range AKS reserves", svc, f)
	}
	var pod netip.Prefix
	if np.PodCIDR != "" {
		if pod, err = ipam.ParsePrefix(np.PodCIDR); err != nil || !pod.Addr().Is4() {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR '%s' is not a valid IPv4 CIDR", np.PodCIDR)
		}
		if f, bad := ipam.ForbiddenOverlap(pod); bad {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s overlaps with %s, a range AKS reserves", pod, f)
		}
		if pod.Overlaps(svc) {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s overlaps with service CIDR %s", pod, svc)
		}
		if pod.Bits() > 24 {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s is too small; every node takes a /24", pod)
		}
	}
	switch np.OutboundType {
	case "loadBalancer", "userDefinedRouting", "managedNATGateway", "userAssignedNATGateway", "none", "block":
	default:
		return invalidParameter("networkProfile.outboundType", "Outbound type '%s' is not supported; use loadBalancer, userDefinedRouting, managedNATGateway, userAssignedNATGateway or none", np.OutboundType)
	}
	switch np.LoadBalancerSKU {
	case "standard", "basic":
	default:
		return invalidParameter("networkProfile.loadBalancerSku", "Load balancer SKU '%s' is not supported; use standard or basic", np.LoadBalancerSKU)
	}
	byo := pools[0].Props.VnetSubnetID
	for _, p := range pools[1:] {
		if (p.Props.VnetSubnetID == "") != (byo == "") {
			return invalidParameter("agentPoolProfile.vnetSubnetID", "All agent pools must use a custom subnet, or none must")
		}
	}
	switch np.OutboundType {
	case "userDefinedRouting", "userAssignedNATGateway":
		if byo == "" {
			return invalidParameter("networkProfile.outboundType", "Outbound type %s requires agent pools in a custom subnet (vnetSubnetID)", np.OutboundType)
		}
	case "managedNATGateway":
		if byo != "" {
			return invalidParameter("networkProfile.outboundType", "Outbound type managedNATGateway requires the AKS-managed virtual network; with a custom subnet use userAssignedNATGateway")
		}
	}
	if lp := np.LoadBalancerProfile; lp != nil {
		if np.LoadBalancerSKU == "basic" {
			return invalidParameter("networkProfile.loadBalancerProfile", "A load balancer profile requires the standard load balancer SKU")
		}
		ips := 0
		if lp.ManagedOutboundIPs != nil && lp.ManagedOutboundIPs.Count != nil {
			ips = *lp.ManagedOutboundIPs.Count
			if ips < 1 || ips > 100 {
				return invalidParameter("networkProfile.loadBalancerProfile.managedOutboundIPs.count", "Managed outbound IP count %d must be between 1 and 100", ips)
			}
		}
		if lp.OutboundIPs != nil {
			ips += len(lp.OutboundIPs.PublicIPs)
			for _, ref := range lp.OutboundIPs.PublicIPs {
				if _, err := tx.Get(ref.ID); err != nil {
					return invalidParameter("networkProfile.loadBalancerProfile.outboundIPs", "Outbound public IP %s was not found", ref.ID)
				}
			}
		}
		if t := lp.IdleTimeoutInMinutes; t != nil && (*t < 4 || *t > 120) {
			return invalidParameter("networkProfile.loadBalancerProfile.idleTimeoutInMinutes", "Idle timeout %d must be between 4 and 120 minutes", *t)
		}
		if ports := lp.AllocatedOutboundPorts; ports != nil {
			if *ports < 0 || *ports > 64000 || *ports%8 != 0 {
				return invalidParameter("networkProfile.loadBalancerProfile.allocatedOutboundPorts", "Allocated outbound ports %d must be a multiple of 8 between 0 and 64000", *ports)
			}
			nodes := 0
			for _, p := range pools {
				nodes += max(*p.Props.Count, intv(p.Props.MaxCount, 0))
			}
			if *ports > 0 && ips > 0 && *ports*nodes > 64000*ips {
				return badRequest("InvalidLoadBalancerProfileAllocatedOutboundPorts", "networkProfile.loadBalancerProfile.allocatedOutboundPorts",
					"Load balancer profile allocated ports %d is not in an allowable range given the number of nodes and IPs provisioned. Total node count %d requires %d ports but only %d ports are available given %d outbound public IPs. Refer to https://aka.ms/aks/slb-ports",
					*ports, nodes, *ports*nodes, 64000*ips, ips)
			}
		}
	}
	if byo != "" {
		if err := v.validateCustomSubnets(tx, c, pools, svc, pod); err != nil {
			return err
		}
	}
	return v.checkCapacity(tx, c, pools, nil)
}

// validateCustomSubnets checks BYO subnets: they exist, share one VNet,
// and do not overlap the service or pod ranges.
func (v *Rules) validateCustomSubnets(tx store.Tx, c *Cluster, pools []*Pool, svc, pod netip.Prefix) error {
	var vnet string
	for _, p := range pools {
		sid, err := resourceid.Parse(p.Props.VnetSubnetID)
		if err != nil || !strings.EqualFold(sid.Type(), network.VirtualNetworkType+"/subnets") {
			return invalidParameter("agentPoolProfile.vnetSubnetID", "'%s' is not a valid subnet resource ID", p.Props.VnetSubnetID)
		}
		if _, _, err := v.Net.Subnet(tx, sid.String()); err != nil {
			return badRequest("InvalidParameter", "agentPoolProfile.vnetSubnetID",
				"The subnet %s of agent pool %s could not be found. Create it first.", p.Props.VnetSubnetID, p.Record.Name)
		}
		if vnet == "" {
			vnet = sid.Parent().String()
		} else if !strings.EqualFold(vnet, sid.Parent().String()) {
			return invalidParameter("agentPoolProfile.vnetSubnetID", "All agent pool subnets must be in the same virtual network")
		}
	}
	subnets, err := v.Net.SubnetPrefixes(tx, vnet)
	if err != nil {
		return err
	}
	for name, s := range subnets {
		if s.Overlaps(svc) {
			return badRequest("ServiceCidrOverlapExistingSubnetsCidr", "networkProfile.serviceCIDR",
				"The specified service CIDR %s is conflicted with an existing subnet CIDR %s", svc, s)
		}
		if pod.IsValid() && s.Overlaps(pod) {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s overlaps with subnet %s (%s) of the cluster's virtual network", pod, name, s)
		}
	}
	return nil
}

// checkCapacity checks that the node subnet (Azure CNI: node plus maxPods
// addresses per node, surge included) and the pod range (kubenet and
// overlay: a /24 per node) can hold the pools. existing are the cluster's
// other pools when pools are being added or scaled.
func (v *Rules) checkCapacity(tx store.Tx, c *Cluster, pools []*Pool, existing []*Pool) error {
	np := c.Props.NetworkProfile
	m := modelOf(np)
	nodes := func(p *Pool) int {
		n := max(*p.Props.Count, intv(p.Props.MaxCount, 0))
		surge, _ := ipam.Surge(p.Props.UpgradeSettings.MaxSurge, n)
		return n + surge
	}
	if m == modelKubenet || m == modelOverlay {
		pod, err := ipam.ParsePrefix(np.PodCIDR)
		if err != nil {
			return nil
		}
		total := 0
		for _, p := range append(append([]*Pool(nil), pools...), existing...) {
			total += nodes(p)
		}
		if blocks := ipam.Blocks(pod, 24); int64(total) > blocks {
			return badRequest("InsufficientSubnetSize", "networkProfile.podCIDR",
				"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name networkProfile.podCIDR. http://aka.ms/aks/insufficientsubnetsize",
				total*256, ipam.Size(pod), pod)
		}
	}
	if m != modelAzureCNI {
		return nil
	}
	// Azure CNI: group the pools being placed by subnet.
	need := map[string]int64{}
	for _, p := range pools {
		if p.Props.VnetSubnetID == "" || p.Props.PodSubnetID != "" {
			continue
		}
		need[strings.ToLower(p.Props.VnetSubnetID)] += ipam.CNIPreallocation(nodes(p), 0, *p.Props.MaxPods)
	}
	for subnetID, n := range need {
		_, prefix, err := v.Net.Subnet(tx, subnetID)
		if err != nil {
			return err
		}
		pool, err := v.Net.SubnetPool(tx, subnetID, "")
		if err != nil {
			return err
		}
		if avail := pool.Free(); n > avail {
			return badRequest("InsufficientSubnetSize", "agentPoolProfile.count",
				"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name %s. http://aka.ms/aks/insufficientsubnetsize",
				n, avail, prefix, lastSegment(subnetID))
		}
	}
	return nil
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// ValidateIdentity completes the cluster identity: SystemAssigned gets a
// principal; UserAssigned must name one existing identity.
func (v *Rules) ValidateIdentity(tx store.Tx, c *Cluster, tenantID string) error {
	var ident struct {
		Type                   string                     `json:"type"`
		PrincipalID            string                     `json:"principalId,omitempty"`
		TenantID               string                     `json:"tenantId,omitempty"`
		UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities,omitempty"`
	}
	if len(c.Record.Identity) > 0 {
		if err := json.Unmarshal(c.Record.Identity, &ident); err != nil {
			return arm.ErrInvalidRequestContent("identity: " + err.Error())
		}
	}
	sp := c.Props.ServicePrincipalProfile
	switch {
	case ident.Type == "" && sp != nil && sp.ClientID != "" && sp.ClientID != systemIdentityPrefix:
		if sp.Secret == "" {
			return invalidParameter("servicePrincipalProfile.secret", "The service principal secret is required")
		}
		if c.Props.AppRoutingEnabled() {
			return invalidParameter("ingressProfile.webAppRouting.enabled", "The application routing add-on requires a cluster with a managed identity")
		}
		c.Record.Identity = nil
		return nil
	case ident.Type == "" || strings.EqualFold(ident.Type, "SystemAssigned"):
		ident.Type = "SystemAssigned"
		if ident.PrincipalID == "" {
			ident.PrincipalID = newGUID()
		}
		ident.TenantID, ident.UserAssignedIdentities = tenantID, nil
	case strings.EqualFold(ident.Type, "UserAssigned"):
		ident.Type = "UserAssigned"
		if len(ident.UserAssignedIdentities) != 1 {
			return invalidParameter("identity.userAssignedIdentities", "Exactly one user assigned identity is required with identity type UserAssigned")
		}
		for id := range ident.UserAssignedIdentities {
			r, err := tx.Get(id)
			if errors.Is(err, store.ErrNotFound) {
				return badRequest("InvalidParameter", "identity.userAssignedIdentities",
					"The user assigned identity %s could not be found.", id)
			} else if err != nil {
				return err
			}
			var props struct {
				ClientID    string `json:"clientId"`
				PrincipalID string `json:"principalId"`
			}
			json.Unmarshal(r.Properties, &props) //nolint:errcheck // stored by us
			ident.UserAssignedIdentities = map[string]json.RawMessage{r.ID: mustJSON(map[string]string{"clientId": props.ClientID, "principalId": props.PrincipalID})}
		}
		ident.PrincipalID, ident.TenantID = "", ""
	case strings.EqualFold(ident.Type, "None"):
		return invalidParameter("identity.type", "Identity type None requires a service principal (servicePrincipalProfile)")
	default:
		return invalidParameter("identity.type", "Identity type '%s' is not supported; use SystemAssigned or UserAssigned", ident.Type)
	}
	c.Record.Identity = mustJSON(ident)
	c.Props.ServicePrincipalProfile = &ServicePrincipalProfile{ClientID: systemIdentityPrefix}
	return nil
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

func newGUID() string {
	h := randomHex(16)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// CheckTerminal refuses a mutating operation while another runs on the
// cluster or on one of its pools.
func CheckTerminal(c *Cluster, pools []*Pool) error {
	if !Terminal(c.Props.ProvisioningState) {
		return operationInProgress(c.Props.ProvisioningState)
	}
	for _, p := range pools {
		if !Terminal(p.Props.ProvisioningState) {
			return poolOperationInProgress(p.Record.Name, p.Props.ProvisioningState)
		}
	}
	return nil
}

// CheckGrowth checks that the cluster's address space holds its pools after
// a change: before maps pool names to their node counts before it (absent
// for new pools). Azure CNI needs node plus maxPods addresses per added
// node in the node subnet (SubnetIsFull on scale-out, InsufficientSubnetSize
// for a new pool); kubenet and overlay need a /24 of the pod range per node.
func (v *Rules) CheckGrowth(tx store.Tx, c *Cluster, pools []*Pool, before map[string]int) error {
	np := c.Props.NetworkProfile
	m := modelOf(np)
	if m == modelKubenet || m == modelOverlay {
		pod, err := ipam.ParsePrefix(np.PodCIDR)
		if err != nil {
			return nil
		}
		total := 0
		for _, p := range pools {
			total += max(*p.Props.Count, intv(p.Props.MaxCount, 0))
		}
		if blocks := ipam.Blocks(pod, 24); int64(total) > blocks {
			return badRequest("InsufficientSubnetSize", "networkProfile.podCIDR",
				"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name networkProfile.podCIDR. http://aka.ms/aks/insufficientsubnetsize",
				total*256, ipam.Size(pod), pod)
		}
		return nil
	}
	if m != modelAzureCNI {
		return nil
	}
	need := map[string]int64{}
	fresh := map[string]bool{}
	for _, p := range pools {
		if p.Props.PodSubnetID != "" {
			continue
		}
		subnet := p.Props.VnetSubnetID
		if subnet == "" {
			subnet = c.Props.Localaks.VNetSubnetID
		}
		if subnet == "" {
			continue
		}
		was, existed := before[p.Record.Name]
		delta := max(*p.Props.Count, intv(p.Props.MaxCount, 0)) - was
		if delta <= 0 {
			continue
		}
		key := strings.ToLower(subnet)
		need[key] += int64(delta) * int64(*p.Props.MaxPods+1)
		fresh[key] = fresh[key] || !existed
	}
	for subnetID, n := range need {
		_, prefix, err := v.Net.Subnet(tx, subnetID)
		if err != nil {
			return err
		}
		pool, err := v.Net.SubnetPool(tx, subnetID, "")
		if err != nil {
			return err
		}
		if avail := pool.Free(); n > avail {
			if fresh[subnetID] {
				return badRequest("InsufficientSubnetSize", "agentPoolProfile.count",
					"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name %s. http://aka.ms/aks/insufficientsubnetsize",
					n, avail, prefix, lastSegment(subnetID))
			}
			return badRequest("SubnetIsFull", "agentPoolProfile.count",
				"Subnet %s with address prefix %s does not have enough capacity for %d IP addresses.", lastSegment(subnetID), prefix, n)
		}
	}
	return nil
}

// RandomHex returns n random bytes in hex (IDs AKS makes up).
func RandomHex(n int) string { return randomHex(n) }

// ValidateAddons checks the add-ons' settings: the Application Gateway
// Ingress Controller needs an existing gateway (applicationGatewayId), or a
// name and a subnet for the one AKS creates — subnetCIDR inside the
// cluster's virtual network, or an existing subnetId.
func (v *Rules) ValidateAddons(tx store.Tx, c *Cluster, pools []*Pool) error {
	key, a := c.Props.Addon(AGICAddon)
	if a == nil || !a.Enabled {
		return nil
	}
	target := "addonProfiles." + key + ".config"
	cfg := map[string]string{}
	for k, val := range a.Config {
		cfg[strings.ToLower(k)] = val
	}
	if id := cfg["applicationgatewayid"]; id != "" {
		if _, err := resourceid.Parse(id); err != nil {
			return badRequest("InvalidParameter", target+".applicationGatewayId", "Application gateway ID '%s' is not a valid resource ID.", id)
		}
		if _, err := tx.Get(id); err != nil {
			return badRequest("InvalidParameter", target+".applicationGatewayId", "Application gateway '%s' was not found.", id)
		}
		return nil
	}
	if cfg["applicationgatewayname"] == "" {
		return badRequest("InvalidParameter", target, "The ingress-appgw add-on needs applicationGatewayId, or applicationGatewayName with subnetCIDR or subnetId.")
	}
	if err := ValidateAppGatewayName(cfg["applicationgatewayname"]); err != nil {
		return err
	}
	if id := cfg["subnetid"]; id != "" {
		if _, _, err := v.Net.Subnet(tx, id); err != nil {
			return badRequest("InvalidParameter", target+".subnetId", "Subnet '%s' for the application gateway was not found.", id)
		}
		return nil
	}
	cidr := cfg["subnetcidr"]
	if cidr == "" {
		cidr = defaultAGICSubnetCIDR
		a.Config["subnetCIDR"] = cidr
	}
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil || pfx.Masked() != pfx {
		return badRequest("InvalidParameter", target+".subnetCIDR", "Subnet CIDR '%s' for the application gateway is not a valid CIDR.", cidr)
	}
	vnetPrefixes := []netip.Prefix{netip.MustParsePrefix(managedVNetPrefix)}
	for _, p := range pools {
		if p.Props.VnetSubnetID != "" {
			vnetPrefixes, err = v.vnetPrefixes(tx, p.Props.VnetSubnetID)
			if err != nil {
				return err
			}
			break
		}
	}
	inside := false
	for _, vp := range vnetPrefixes {
		inside = inside || (vp.Contains(pfx.Addr()) && vp.Bits() <= pfx.Bits())
	}
	if !inside {
		return badRequest("IngressAppGwAddonConfigInvalidSubnetCIDRNotContainedWithinVirtualNetwork", target+".subnetCIDR",
			"Subnet CIDR %s for the application gateway is not contained within the cluster's virtual network address space %v.", cidr, vnetPrefixes)
	}
	if nodes := netip.MustParsePrefix(managedSubnetPrefix); len(pools) > 0 && pools[0].Props.VnetSubnetID == "" && nodes.Overlaps(pfx) {
		return badRequest("IngressAppGwAddonConfigInvalidSubnetCIDRNotContainedWithinVirtualNetwork", target+".subnetCIDR",
			"Subnet CIDR %s for the application gateway overlaps the node subnet %s.", cidr, nodes)
	}
	return nil
}

// vnetPrefixes are the address prefixes of a subnet's virtual network.
func (v *Rules) vnetPrefixes(tx store.Tx, subnetID string) ([]netip.Prefix, error) {
	sid, err := resourceid.Parse(subnetID)
	if err != nil {
		return nil, err
	}
	vnet, err := tx.Get(sid.Parent().String())
	if err != nil {
		return nil, err
	}
	var props struct {
		AddressSpace struct {
			AddressPrefixes []string `json:"addressPrefixes"`
		} `json:"addressSpace"`
	}
	if err := json.Unmarshal(vnet.Properties, &props); err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, s := range props.AddressSpace.AddressPrefixes {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// ValidateAppGatewayName applies Azure's application gateway naming rule.
func ValidateAppGatewayName(name string) error {
	if !appGatewayNameRule.MatchString(name) {
		return badRequest("InvalidParameter", "addonProfiles.ingressApplicationGateway.config.applicationGatewayName",
			"Application gateway name '%s' is invalid: 1 to 80 characters, letters, digits, '.', '-' and '_', starting with a letter or digit and ending with a letter, digit or '_'.", name)
	}
	return nil
}

var appGatewayNameRule = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,78}[a-zA-Z0-9_])?$`)
