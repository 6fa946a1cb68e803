package network

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// LoadBalancerProperties are a load balancer's properties; each array holds
// children (see arm.Child) with the typed properties below.
type LoadBalancerProperties struct {
	FrontendIPConfigurations []arm.Child `json:"frontendIPConfigurations"`
	BackendAddressPools      []arm.Child `json:"backendAddressPools"`
	LoadBalancingRules       []arm.Child `json:"loadBalancingRules"`
	Probes                   []arm.Child `json:"probes"`
	InboundNatRules          []arm.Child `json:"inboundNatRules"`
	InboundNatPools          []arm.Child `json:"inboundNatPools"`
	OutboundRules            []arm.Child `json:"outboundRules"`
	ProvisioningState        string      `json:"provisioningState"`
	ResourceGUID             string      `json:"resourceGuid"`
}

// FrontendIPConfigurationProperties are a frontend's properties.
type FrontendIPConfigurationProperties struct {
	PrivateIPAddress          string        `json:"privateIPAddress,omitempty"`
	PrivateIPAllocationMethod string        `json:"privateIPAllocationMethod,omitempty"`
	PrivateIPAddressVersion   string        `json:"privateIPAddressVersion,omitempty"`
	Subnet                    *SubResource  `json:"subnet,omitempty"`
	PublicIPAddress           *SubResource  `json:"publicIPAddress,omitempty"`
	LoadBalancingRules        []SubResource `json:"loadBalancingRules,omitempty"`
	OutboundRules             []SubResource `json:"outboundRules,omitempty"`
	InboundNatRules           []SubResource `json:"inboundNatRules,omitempty"`
	ProvisioningState         string        `json:"provisioningState"`
}

// BackendAddressPoolProperties are a backend pool's properties. Members
// (backendIPConfigurations) are derived from the network interfaces that
// name the pool, as in Azure.
type BackendAddressPoolProperties struct {
	BackendIPConfigurations      []SubResource     `json:"backendIPConfigurations,omitempty"`
	LoadBalancingRules           []SubResource     `json:"loadBalancingRules,omitempty"`
	OutboundRules                []SubResource     `json:"outboundRules,omitempty"`
	OutboundRule                 *SubResource      `json:"outboundRule,omitempty"`
	LoadBalancerBackendAddresses []json.RawMessage `json:"loadBalancerBackendAddresses"`
	ProvisioningState            string            `json:"provisioningState"`
}

// LoadBalancingRuleProperties are a rule's properties.
type LoadBalancingRuleProperties struct {
	FrontendIPConfiguration *SubResource  `json:"frontendIPConfiguration"`
	BackendAddressPool      *SubResource  `json:"backendAddressPool,omitempty"`
	BackendAddressPools     []SubResource `json:"backendAddressPools,omitempty"`
	Probe                   *SubResource  `json:"probe,omitempty"`
	Protocol                string        `json:"protocol"`
	LoadDistribution        string        `json:"loadDistribution"`
	FrontendPort            int           `json:"frontendPort"`
	BackendPort             int           `json:"backendPort"`
	IdleTimeoutInMinutes    int           `json:"idleTimeoutInMinutes"`
	EnableFloatingIP        bool          `json:"enableFloatingIP"`
	EnableTCPReset          bool          `json:"enableTcpReset"`
	DisableOutboundSnat     bool          `json:"disableOutboundSnat"`
	ProvisioningState       string        `json:"provisioningState"`
}

// ProbeProperties are a health probe's properties.
type ProbeProperties struct {
	Protocol           string        `json:"protocol"`
	Port               int           `json:"port"`
	IntervalInSeconds  int           `json:"intervalInSeconds"`
	NumberOfProbes     int           `json:"numberOfProbes"`
	ProbeThreshold     int           `json:"probeThreshold"`
	RequestPath        string        `json:"requestPath,omitempty"`
	LoadBalancingRules []SubResource `json:"loadBalancingRules,omitempty"`
	ProvisioningState  string        `json:"provisioningState"`
}

// OutboundRuleProperties are an outbound rule's properties.
type OutboundRuleProperties struct {
	AllocatedOutboundPorts   int           `json:"allocatedOutboundPorts"`
	Protocol                 string        `json:"protocol"`
	EnableTCPReset           bool          `json:"enableTcpReset"`
	IdleTimeoutInMinutes     int           `json:"idleTimeoutInMinutes"`
	BackendAddressPool       *SubResource  `json:"backendAddressPool"`
	FrontendIPConfigurations []SubResource `json:"frontendIPConfigurations"`
	ProvisioningState        string        `json:"provisioningState"`
}

// lbChildren are the child arrays of a load balancer.
var lbChildren = []string{"frontendIPConfigurations", "backendAddressPools", "loadBalancingRules", "probes", "inboundNatRules", "inboundNatPools", "outboundRules"}

func (p *Provider) registerLoadBalancers(reg *arm.Registry) {
	t := p.tracked("loadBalancers", validName)
	t.Prepare = p.prepareLoadBalancer
	t.Render = p.renderLoadBalancer
	t.BeforeDelete = p.beforeDeleteLoadBalancer
	t.Install(reg)
	p.LoadBalancers = t
	for _, field := range lbChildren {
		e := p.embedded(t, field, field)
		e.ReadOnly = true
		e.Install(reg)
	}
}

// lbRefs checks that a reference points at a child of this load balancer
// of the given kind.
type lbRefs struct {
	lbID  string
	names map[string]map[string]bool // field → lower-case names
}

func (l lbRefs) check(owner string, ref *SubResource, field string) error {
	if ref == nil {
		return nil
	}
	prefix := strings.ToLower(l.lbID + "/" + field + "/")
	id := strings.ToLower(ref.ID)
	if !strings.HasPrefix(id, prefix) || !l.names[field][strings.TrimPrefix(id, prefix)] {
		return badRequest("InvalidResourceReference",
			"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", ref.ID, owner)
	}
	return nil
}

func (p *Provider) prepareLoadBalancer(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	props, err := decode[LoadBalancerProperties](r)
	if err != nil {
		return err
	}
	sku := SKU{Name: "Basic", Tier: "Regional"}
	if len(r.SKU) > 0 {
		if err := json.Unmarshal(r.SKU, &sku); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	var ok bool
	if sku.Name, ok = canonicalOf(sku.Name, "Standard", "Basic", "Gateway"); !ok {
		return badRequest("InvalidLoadBalancerSku", "Load balancer SKU %s is invalid. Allowed values: Basic, Standard, Gateway.", sku.Name)
	}
	if sku.Tier == "" {
		sku.Tier = "Regional"
	}
	r.SKU, _ = json.Marshal(sku)

	arrays := map[string]*[]arm.Child{
		"frontendIPConfigurations": &props.FrontendIPConfigurations, "backendAddressPools": &props.BackendAddressPools,
		"loadBalancingRules": &props.LoadBalancingRules, "probes": &props.Probes, "inboundNatRules": &props.InboundNatRules,
		"inboundNatPools": &props.InboundNatPools, "outboundRules": &props.OutboundRules,
	}
	refs := lbRefs{lbID: r.ID, names: map[string]map[string]bool{}}
	for field, arr := range arrays {
		refs.names[field] = map[string]bool{}
		if *arr == nil {
			*arr = []arm.Child{}
		}
		for _, c := range *arr {
			if err := validName(c.Name); err != nil {
				return err
			}
			if refs.names[field][strings.ToLower(c.Name)] {
				return badRequest("DuplicateResourceName", "Load balancer %s has two %s named %s.", r.Name, field, c.Name)
			}
			refs.names[field][strings.ToLower(c.Name)] = true
		}
	}

	// What the load balancer was: its frontends keep their dynamic
	// addresses, and public IPs they no longer use are released below.
	var (
		old          = &LoadBalancerProperties{}
		oldFrontends []FrontendIPConfigurationProperties // as old.FrontendIPConfigurations
		oldPrivate   = map[string]string{}               // lower-case frontend name → private address
	)
	if existing != nil {
		if old, err = decode[LoadBalancerProperties](existing); err != nil {
			return err
		}
		if oldFrontends, err = frontendProperties(old.FrontendIPConfigurations, existing.ID); err != nil {
			return err
		}
		for i, c := range old.FrontendIPConfigurations {
			oldPrivate[strings.ToLower(c.Name)] = oldFrontends[i].PrivateIPAddress
		}
	}

	// Frontends: a public IP of the same SKU, or a private address in a
	// subnet (allocated when not given).
	usedPIPs := map[string]string{}
	for i, c := range props.FrontendIPConfigurations {
		var fp FrontendIPConfigurationProperties
		if err := unmarshalChild(c, &fp); err != nil {
			return err
		}
		frontendID := r.ID + "/frontendIPConfigurations/" + c.Name
		switch {
		case fp.PublicIPAddress != nil && fp.Subnet != nil:
			return badRequest("LoadBalancerFrontendIPConfigurationWithPublicIPAndSubnet",
				"Frontend IP configuration %s cannot have both a public IP address and a subnet.", c.Name)
		case fp.PublicIPAddress != nil:
			pip, err := tx.Get(fp.PublicIPAddress.ID)
			if err != nil {
				return badRequest("InvalidResourceReference",
					"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", fp.PublicIPAddress.ID, frontendID)
			}
			var pipSKU SKU
			if err := decodeStored("sku", pip.ID, pip.SKU, &pipSKU); err != nil {
				return err
			}
			if !strings.EqualFold(pipSKU.Name, sku.Name) {
				return badRequest("LoadBalancerReferencesPublicIPAddressWithDifferentSku",
					"Load balancer %s with %s sku references public IP %s with %s sku. Load balancer and public IP must have the same sku.", r.ID, sku.Name, pip.ID, pipSKU.Name)
			}
			pipProps, err := decode[PublicIPProperties](pip)
			if err != nil {
				return err
			}
			if pipProps.IPConfiguration != nil && !strings.EqualFold(pipProps.IPConfiguration.ID, frontendID) {
				return badRequest("PublicIPAddressInUse",
					"Resource %s is referencing public IP address %s that is already allocated to resource %s.", frontendID, pip.ID, pipProps.IPConfiguration.ID)
			}
			usedPIPs[strings.ToLower(pip.ID)] = frontendID
			fp.PrivateIPAddress, fp.PrivateIPAllocationMethod = "", "Dynamic"
			fp.PrivateIPAddressVersion = "IPv4"
		case fp.Subnet != nil:
			_, prefix, err := p.Subnet(tx, fp.Subnet.ID)
			if err != nil {
				return err
			}
			if fp.PrivateIPAllocationMethod == "" {
				fp.PrivateIPAllocationMethod = "Dynamic"
				if fp.PrivateIPAddress != "" {
					fp.PrivateIPAllocationMethod = "Static"
				}
			}
			if fp.PrivateIPAllocationMethod == "Dynamic" {
				fp.PrivateIPAddress = oldPrivate[strings.ToLower(c.Name)]
			}
			if fp.PrivateIPAddress == "" || !prefixContains(prefix, fp.PrivateIPAddress) {
				pool, err := p.SubnetPool(tx, fp.Subnet.ID, frontendID)
				if err != nil {
					return err
				}
				if fp.PrivateIPAllocationMethod == "Static" && fp.PrivateIPAddress != "" {
					return badRequest("PrivateIPAddressNotInSubnet",
						"Private static IP address %s does not belong to the range of subnet prefix %s.", fp.PrivateIPAddress, prefix)
				}
				addr, err := pool.Allocate()
				if err != nil {
					return badRequest("SubnetIsFull", "Subnet %s with address prefix %s does not have enough capacity for 1 IP addresses.", fp.Subnet.ID, prefix)
				}
				fp.PrivateIPAddress = addr.String()
			} else if fp.PrivateIPAllocationMethod == "Static" && fp.PrivateIPAddress != oldPrivate[strings.ToLower(c.Name)] {
				pool, err := p.SubnetPool(tx, fp.Subnet.ID, frontendID)
				if err != nil {
					return err
				}
				if err := pool.Take(netip.MustParseAddr(fp.PrivateIPAddress)); err != nil {
					return badRequest("PrivateIPAddressInUse", "IP configuration %s is using the private IP address %s which is already allocated or reserved: %v.", frontendID, fp.PrivateIPAddress, err)
				}
			}
			fp.PrivateIPAddressVersion = "IPv4"
		default:
			return badRequest("LoadBalancerFrontendIPConfigurationMissingIP",
				"Frontend IP configuration %s needs a public IP address or a subnet.", c.Name)
		}
		fp.LoadBalancingRules, fp.OutboundRules, fp.InboundNatRules = nil, nil, nil
		fp.ProvisioningState = "Succeeded"
		if props.FrontendIPConfigurations[i].Properties, err = json.Marshal(fp); err != nil {
			return err
		}
	}
	for i, c := range props.BackendAddressPools {
		var bp BackendAddressPoolProperties
		if err := unmarshalChild(c, &bp); err != nil {
			return err
		}
		stored := BackendAddressPoolProperties{LoadBalancerBackendAddresses: bp.LoadBalancerBackendAddresses, ProvisioningState: "Succeeded"}
		if stored.LoadBalancerBackendAddresses == nil {
			stored.LoadBalancerBackendAddresses = []json.RawMessage{}
		}
		if props.BackendAddressPools[i].Properties, err = json.Marshal(stored); err != nil {
			return err
		}
	}
	for i, c := range props.Probes {
		var pp ProbeProperties
		if err := unmarshalChild(c, &pp); err != nil {
			return err
		}
		if pp.Protocol, ok = canonicalOf(pp.Protocol, "Tcp", "Http", "Https"); !ok {
			return badRequest("InvalidProbeProtocol", "Probe %s has invalid protocol %s. Allowed values: Tcp, Http, Https.", c.Name, pp.Protocol)
		}
		if pp.Port < 1 || pp.Port > 65535 {
			return badRequest("InvalidProbePort", "Probe %s has invalid port %d.", c.Name, pp.Port)
		}
		if pp.Protocol != "Tcp" && pp.RequestPath == "" {
			return badRequest("ProbeRequestPathRequired", "Probe %s with protocol %s needs a requestPath.", c.Name, pp.Protocol)
		}
		if pp.IntervalInSeconds == 0 {
			pp.IntervalInSeconds = 15
		}
		if pp.NumberOfProbes == 0 {
			pp.NumberOfProbes = 2
		}
		if pp.ProbeThreshold == 0 {
			pp.ProbeThreshold = 1
		}
		pp.LoadBalancingRules, pp.ProvisioningState = nil, "Succeeded"
		if props.Probes[i].Properties, err = json.Marshal(pp); err != nil {
			return err
		}
	}
	seenPorts := map[string]string{}
	for i, c := range props.LoadBalancingRules {
		var rp LoadBalancingRuleProperties
		if err := unmarshalChild(c, &rp); err != nil {
			return err
		}
		owner := r.ID + "/loadBalancingRules/" + c.Name
		if rp.FrontendIPConfiguration == nil {
			return badRequest("LoadBalancingRuleMustReferenceFrontendIPConfiguration", "Load balancing rule %s must reference a frontend IP configuration.", c.Name)
		}
		for _, chk := range []struct {
			ref   *SubResource
			field string
		}{{rp.FrontendIPConfiguration, "frontendIPConfigurations"}, {rp.BackendAddressPool, "backendAddressPools"}, {rp.Probe, "probes"}} {
			if err := refs.check(owner, chk.ref, chk.field); err != nil {
				return err
			}
		}
		for _, bp := range rp.BackendAddressPools {
			if err := refs.check(owner, &bp, "backendAddressPools"); err != nil {
				return err
			}
		}
		if rp.BackendAddressPool == nil && len(rp.BackendAddressPools) > 0 {
			rp.BackendAddressPool = &rp.BackendAddressPools[0]
		}
		if rp.BackendAddressPool != nil && len(rp.BackendAddressPools) == 0 {
			rp.BackendAddressPools = []SubResource{*rp.BackendAddressPool}
		}
		if rp.Protocol, ok = canonicalOf(rp.Protocol, "Tcp", "Udp", "All"); !ok {
			return badRequest("InvalidLoadBalancingRuleProtocol", "Load balancing rule %s has invalid protocol %s. Allowed values: Tcp, Udp, All.", c.Name, rp.Protocol)
		}
		if rp.Protocol != "All" && (rp.FrontendPort < 1 || rp.FrontendPort > 65534 || rp.BackendPort < 1 || rp.BackendPort > 65535) {
			return badRequest("InvalidLoadBalancingRulePort", "Load balancing rule %s has invalid ports (frontend %d, backend %d).", c.Name, rp.FrontendPort, rp.BackendPort)
		}
		key := strings.ToLower(rp.FrontendIPConfiguration.ID) + "/" + rp.Protocol + "/" + itoa(rp.FrontendPort)
		if other, dup := seenPorts[key]; dup {
			return badRequest("LoadBalancingRulesUseSameFrontendPort",
				"Load balancer rules %s and %s belong to the same frontend IP configuration and use the same protocol and frontend port %d.", other, c.Name, rp.FrontendPort)
		}
		seenPorts[key] = c.Name
		if rp.IdleTimeoutInMinutes == 0 {
			rp.IdleTimeoutInMinutes = 4
		}
		if rp.LoadDistribution == "" {
			rp.LoadDistribution = "Default"
		}
		rp.ProvisioningState = "Succeeded"
		if props.LoadBalancingRules[i].Properties, err = json.Marshal(rp); err != nil {
			return err
		}
	}
	for i, c := range props.OutboundRules {
		var op OutboundRuleProperties
		if err := unmarshalChild(c, &op); err != nil {
			return err
		}
		owner := r.ID + "/outboundRules/" + c.Name
		if sku.Name != "Standard" {
			return badRequest("OutboundRulesNotSupportedForBasicSku", "Outbound rule %s needs a Standard load balancer.", c.Name)
		}
		if err := refs.check(owner, op.BackendAddressPool, "backendAddressPools"); err != nil {
			return err
		}
		for _, f := range op.FrontendIPConfigurations {
			if err := refs.check(owner, &f, "frontendIPConfigurations"); err != nil {
				return err
			}
		}
		if op.Protocol, ok = canonicalOf(op.Protocol, "Tcp", "Udp", "All"); !ok {
			return badRequest("InvalidOutboundRuleProtocol", "Outbound rule %s has invalid protocol %s.", c.Name, op.Protocol)
		}
		if op.IdleTimeoutInMinutes == 0 {
			op.IdleTimeoutInMinutes = 4
		}
		if op.AllocatedOutboundPorts%8 != 0 || op.AllocatedOutboundPorts < 0 || op.AllocatedOutboundPorts > 64000 {
			return badRequest("InvalidAllocatedOutboundPorts", "Outbound rule %s: allocatedOutboundPorts %d must be a multiple of 8 between 0 and 64000.", c.Name, op.AllocatedOutboundPorts)
		}
		if op.FrontendIPConfigurations == nil {
			op.FrontendIPConfigurations = []SubResource{}
		}
		op.ProvisioningState = "Succeeded"
		if props.OutboundRules[i].Properties, err = json.Marshal(op); err != nil {
			return err
		}
	}

	// Public IPs now used get the frontend as their user; those no longer
	// used are released.
	for _, fp := range oldFrontends {
		if fp.PublicIPAddress != nil {
			if _, still := usedPIPs[strings.ToLower(fp.PublicIPAddress.ID)]; !still {
				if err := p.setPublicIPUser(tx, fp.PublicIPAddress.ID, "", false); err != nil {
					return err
				}
			}
		}
	}
	for pip, frontend := range usedPIPs {
		if err := p.setPublicIPUser(tx, pip, frontend, false); err != nil {
			return err
		}
	}

	if err := encode(r, LoadBalancerProperties{ProvisioningState: "Succeeded", ResourceGUID: guid(old.ResourceGUID)}); err != nil {
		return err
	}
	for field, arr := range arrays {
		if err := arm.SetChildren(r, field, *arr); err != nil {
			return err
		}
	}
	return nil
}

func unmarshalChild(c arm.Child, v any) error {
	if len(c.Properties) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Properties, v); err != nil {
		return arm.ErrInvalidRequestContent(c.Name + ": " + err.Error())
	}
	return nil
}

// frontendProperties decodes the properties of a stored load balancer's
// frontends, in order; lbID names the record in errors.
func frontendProperties(frontends []arm.Child, lbID string) ([]FrontendIPConfigurationProperties, error) {
	out := make([]FrontendIPConfigurationProperties, len(frontends))
	for i, c := range frontends {
		if err := decodeStored("properties", lbID+"/frontendIPConfigurations/"+c.Name, c.Properties, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func prefixContains(p netip.Prefix, addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && p.Contains(a)
}

// renderLoadBalancer fills in the derived back-references: which rules use
// a frontend, pool or probe, and which NIC IP configurations are in a pool.
func (p *Provider) renderLoadBalancer(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	props, err := decode[LoadBalancerProperties](r)
	if err != nil {
		return nil, err
	}
	children := map[string][]arm.Child{}
	for _, field := range lbChildren {
		c, err := arm.ChildrenOf(r, field, LoadBalancerType+"/"+field)
		if err != nil {
			return nil, err
		}
		if c == nil {
			c = []arm.Child{}
		}
		children[field] = c
	}
	back := map[string][]SubResource{} // lower-case child ID → referencing rules, by field
	add := func(ref *SubResource, kind, user string) {
		if ref != nil {
			k := strings.ToLower(ref.ID) + "|" + kind
			back[k] = append(back[k], SubResource{ID: user})
		}
	}
	for _, c := range children["loadBalancingRules"] {
		var rp LoadBalancingRuleProperties
		if err := decodeStored("properties", c.ID, c.Properties, &rp); err != nil {
			return nil, err
		}
		add(rp.FrontendIPConfiguration, "lbr", c.ID)
		add(rp.BackendAddressPool, "lbr", c.ID)
		add(rp.Probe, "lbr", c.ID)
	}
	for _, c := range children["outboundRules"] {
		var op OutboundRuleProperties
		if err := decodeStored("properties", c.ID, c.Properties, &op); err != nil {
			return nil, err
		}
		add(op.BackendAddressPool, "out", c.ID)
		for _, f := range op.FrontendIPConfigurations {
			add(&f, "out", c.ID)
		}
	}
	members, err := p.PoolMembers(tx, r)
	if err != nil {
		return nil, err
	}
	set := func(c *arm.Child, v any) error {
		raw, err := json.Marshal(v)
		c.Properties = raw
		return err
	}
	for i := range children["frontendIPConfigurations"] {
		c := &children["frontendIPConfigurations"][i]
		var fp FrontendIPConfigurationProperties
		if err := decodeStored("properties", c.ID, c.Properties, &fp); err != nil {
			return nil, err
		}
		fp.LoadBalancingRules, fp.OutboundRules = back[strings.ToLower(c.ID)+"|lbr"], back[strings.ToLower(c.ID)+"|out"]
		if err := set(c, fp); err != nil {
			return nil, err
		}
	}
	for i := range children["backendAddressPools"] {
		c := &children["backendAddressPools"][i]
		var bp BackendAddressPoolProperties
		if err := decodeStored("properties", c.ID, c.Properties, &bp); err != nil {
			return nil, err
		}
		bp.LoadBalancingRules, bp.OutboundRules = back[strings.ToLower(c.ID)+"|lbr"], back[strings.ToLower(c.ID)+"|out"]
		if len(bp.OutboundRules) > 0 {
			bp.OutboundRule = &bp.OutboundRules[0]
		}
		bp.BackendIPConfigurations = members[strings.ToLower(c.ID)]
		if err := set(c, bp); err != nil {
			return nil, err
		}
	}
	for i := range children["probes"] {
		c := &children["probes"][i]
		var pp ProbeProperties
		if err := decodeStored("properties", c.ID, c.Properties, &pp); err != nil {
			return nil, err
		}
		pp.LoadBalancingRules = back[strings.ToLower(c.ID)+"|lbr"]
		if err := set(c, pp); err != nil {
			return nil, err
		}
	}
	props.FrontendIPConfigurations, props.BackendAddressPools = children["frontendIPConfigurations"], children["backendAddressPools"]
	props.LoadBalancingRules, props.Probes = children["loadBalancingRules"], children["probes"]
	props.InboundNatRules, props.InboundNatPools, props.OutboundRules = children["inboundNatRules"], children["inboundNatPools"], children["outboundRules"]
	return p.LoadBalancers.Envelope(r, props), nil
}

func (p *Provider) beforeDeleteLoadBalancer(tx store.Tx, r *store.Resource) error {
	members, err := p.PoolMembers(tx, r)
	if err != nil {
		return err
	}
	for pool, ipconfigs := range members {
		if len(ipconfigs) > 0 {
			return badRequest("LoadBalancerInUseByVirtualMachineScaleSet",
				"Cannot delete load balancer %s since its child resources %s are in use by %s.", r.ID, pool, ipconfigs[0].ID)
		}
	}
	frontends, err := arm.ChildrenOf(r, "frontendIPConfigurations", "")
	if err != nil {
		return err
	}
	props, err := frontendProperties(frontends, r.ID)
	if err != nil {
		return err
	}
	for _, fp := range props {
		if fp.PublicIPAddress != nil {
			if err := p.setPublicIPUser(tx, fp.PublicIPAddress.ID, "", false); err != nil {
				return err
			}
		}
	}
	return nil
}
