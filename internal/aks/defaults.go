package aks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	asprofile "github.com/localaks/localaks/internal/autoscaler/profile"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/resourceid"
)

// AKS's defaults for clusters and pools.

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
	// The lists keep what was sent after the first (IPv4) range: a dual-
	// stack cluster's IPv6 ranges.
	if np.PodCIDR != "" {
		np.PodCIDRs = withFirst(np.PodCIDR, np.PodCIDRs)
	}
	np.ServiceCIDRs = withFirst(np.ServiceCIDR, np.ServiceCIDRs)
	if len(np.IPFamilies) == 0 {
		np.IPFamilies = []string{"IPv4"}
		if len(np.ServiceCIDRs) > 1 || len(np.PodCIDRs) > 1 {
			np.IPFamilies = append(np.IPFamilies, "IPv6")
		}
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
	// vmSize is kept as sent (AKS echoes its case; Terraform compares it
	// exactly); lookups of sizes ignore case.
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
	// Spot pools are not surge-upgraded: AKS gives them no maxSurge.
	if pp.ScaleSetPriority != "Spot" {
		if pp.UpgradeSettings == nil {
			pp.UpgradeSettings = &UpgradeSettings{}
		}
		if pp.UpgradeSettings.MaxSurge == "" {
			pp.UpgradeSettings.MaxSurge = "10%"
		}
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

// withFirst is list with first as its first element (replacing the first
// element sent, or added to an empty list).
func withFirst(first string, list []string) []string {
	if len(list) == 0 {
		return []string{first}
	}
	return append([]string{first}, list[1:]...)
}

// defaultAutoScalerProfile completes autoScalerProfile as AKS does: once a
// pool autoscales (or a profile was sent), every setting not given (or
// given empty) takes its default.
func (c *Cluster) defaultAutoScalerProfile(autoscaled bool) {
	raw := c.extra["autoScalerProfile"]
	if !autoscaled && (len(raw) == 0 || string(raw) == "null") {
		return
	}
	profile := map[string]any{}
	if len(raw) > 0 && string(raw) != "null" {
		if json.Unmarshal(raw, &profile) != nil || profile == nil {
			return
		}
	}
	// The defaults are AKS's (package profile); the three booleans are
	// JSON booleans on the wire.
	for k, v := range asprofile.Defaults {
		if cur, ok := profile[k]; !ok || cur == nil || cur == "" {
			if asprofile.Booleans[k] {
				profile[k] = v == "true"
			} else {
				profile[k] = v
			}
		}
	}
	if c.extra == nil {
		c.extra = jsonx.Object{}
	}
	c.extra["autoScalerProfile"] = mustJSON(profile)
}

// EnsureAutoScalerProfile gives the cluster AKS's profile when pool
// autoscales and the cluster has none yet (a pool added or updated with the
// autoscaler on), and tells whether it did.
func (c *Cluster) EnsureAutoScalerProfile(pool *Pool) bool {
	if raw := c.extra["autoScalerProfile"]; !isTrue(pool.Props.EnableAutoScaling) || len(raw) > 0 && string(raw) != "null" {
		return false
	}
	c.defaultAutoScalerProfile(true)
	return true
}

// anyAutoscaled tells whether a pool autoscales.
func anyAutoscaled(pools []*Pool) bool {
	for _, p := range pools {
		if isTrue(p.Props.EnableAutoScaling) {
			return true
		}
	}
	return false
}

// autoscaler is the cluster autoscaler the control plane runs: the profile
// (values as strings) and a node group per autoscaled pool with a scale
// set; nil when no pool autoscales.
func (c *Cluster) autoscaler(pools []*Pool) *clusterspec.Autoscaler {
	a := &clusterspec.Autoscaler{Profile: c.autoScalerProfile()}
	for _, p := range pools {
		pp := p.Props
		if !isTrue(pp.EnableAutoScaling) || pp.MinCount == nil || pp.MaxCount == nil || pp.Localaks == nil || pp.Localaks.VMSS == "" {
			continue
		}
		a.Groups = append(a.Groups, clusterspec.NodeGroup{Pool: p.Record.Name, ScaleSet: resourceid.MustParse(pp.Localaks.VMSS).Name(),
			Min: *pp.MinCount, Max: *pp.MaxCount})
	}
	if len(a.Groups) == 0 {
		return nil
	}
	return a
}

// autoScalerProfile reads autoScalerProfile with every value as a string
// (the booleans AKS returns as JSON booleans become "true"/"false").
func (c *Cluster) autoScalerProfile() map[string]string {
	var raw map[string]any
	if json.Unmarshal(c.extra["autoScalerProfile"], &raw) != nil {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case nil:
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// checkAutoScalerProfile refuses a profile value AKS refuses, and node
// auto-provisioning, which localaks does not run (README: "Cluster
// autoscaler").
func (c *Cluster) checkAutoScalerProfile() error {
	var nap struct {
		Mode string `json:"mode"`
	}
	if raw := c.extra["nodeProvisioningProfile"]; len(raw) > 0 && json.Unmarshal(raw, &nap) == nil && strings.EqualFold(nap.Mode, "Auto") {
		return badRequest("BadRequest", "nodeProvisioningProfile.mode",
			"Node auto-provisioning (nodeProvisioningProfile.mode 'Auto', AKS's managed Karpenter) is not available in localaks; use the cluster autoscaler on the node pools (enableAutoScaling, minCount, maxCount) instead.")
	}
	raw := c.extra["autoScalerProfile"]
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return badRequest("InvalidParameter", "autoScalerProfile", "autoScalerProfile must be an object: %v", err)
	}
	if _, err := asprofile.Parse(c.autoScalerProfile()); err != nil {
		var inv *asprofile.InvalidError
		if errors.As(err, &inv) {
			return badRequest("InvalidParameter", "autoScalerProfile."+inv.Key, "%s", err.Error())
		}
		return err
	}
	return nil
}
