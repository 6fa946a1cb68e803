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

// prepareLoadBalancer validates and completes a load balancer PUT. The
// order of the steps is the precedence of their errors, and public IPs
// change hands only once every check has passed.
func (p *Provider) prepareLoadBalancer(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	lb := &lbPreparation{p: p, tx: tx, r: r, existing: existing}
	return runSteps(
		lb.decode,
		lb.validateSKU,
		lb.checkChildNames,
		lb.recallPrevious,
		lb.prepareFrontends,
		lb.prepareBackendPools,
		lb.prepareProbes,
		lb.prepareLoadBalancingRules,
		lb.prepareOutboundRules,
		lb.assignPublicIPs,
		lb.store,
	)
}

// lbPreparation is one load balancer PUT on its way to the store: the
// request's record, the stored one it replaces, and what the steps of
// prepareLoadBalancer learn for the steps after them.
type lbPreparation struct {
	p        *Provider
	tx       store.Tx
	r        *store.Resource
	existing *store.Resource // nil on create

	props  *LoadBalancerProperties
	arrays map[string]*[]arm.Child // child field → its array in props
	sku    SKU
	refs   childRefs

	old          *LoadBalancerProperties
	oldFrontends []FrontendIPConfigurationProperties // as old.FrontendIPConfigurations
	oldPrivate   map[string]string                   // lower-case frontend name → private address
	usedPIPs     map[string]string                   // lower-case public IP ID → frontend ID
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
	return p.LoadBalancers.Envelope(r, over(r, props)), nil
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
	return p.ReleasePublicIPs(tx, r)
}

// ReleasePublicIPs frees the public IP addresses of the load balancer's
// frontends, as its deletion does — also when the load balancer goes with
// its resource group (an AKS cluster's node resource group) while the
// addresses live elsewhere (outbound IPs a cluster was given).
func (p *Provider) ReleasePublicIPs(tx store.Tx, r *store.Resource) error {
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
