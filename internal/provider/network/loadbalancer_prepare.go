package network

import (
	"encoding/json"
	"strings"

	"github.com/localaks/localaks/internal/arm"
)

// The steps of prepareLoadBalancer, in the order it runs them; the
// frontends' step is in loadbalancer_frontends.go.

// decode reads the request's properties and indexes its child arrays by
// field, for the steps that treat them all alike.
func (lb *lbPreparation) decode() error {
	props, err := decode[LoadBalancerProperties](lb.r)
	if err != nil {
		return err
	}
	lb.props = props
	lb.arrays = map[string]*[]arm.Child{
		"frontendIPConfigurations": &props.FrontendIPConfigurations, "backendAddressPools": &props.BackendAddressPools,
		"loadBalancingRules": &props.LoadBalancingRules, "probes": &props.Probes, "inboundNatRules": &props.InboundNatRules,
		"inboundNatPools": &props.InboundNatPools, "outboundRules": &props.OutboundRules,
	}
	return nil
}

// validateSKU stores the SKU in its canonical spelling; a PUT without one
// gets Basic, and one without a tier Regional, as in Azure.
func (lb *lbPreparation) validateSKU() error {
	lb.sku = SKU{Name: "Basic", Tier: "Regional"}
	if len(lb.r.SKU) > 0 {
		if err := json.Unmarshal(lb.r.SKU, &lb.sku); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	var ok bool
	if lb.sku.Name, ok = canonicalOf(lb.sku.Name, "Standard", "Basic", "Gateway"); !ok {
		return badRequest("InvalidLoadBalancerSku", "Load balancer SKU %s is invalid. Allowed values: Basic, Standard, Gateway.", lb.sku.Name)
	}
	if lb.sku.Tier == "" {
		lb.sku.Tier = "Regional"
	}
	lb.r.SKU, _ = json.Marshal(lb.sku)
	return nil
}

// checkChildNames rejects invalid and duplicate child names and records the
// names, which the rules' references are checked against. An omitted array
// is stored as an empty one.
func (lb *lbPreparation) checkChildNames() error {
	lb.refs = childRefs{parentID: lb.r.ID, names: map[string]map[string]bool{}}
	for field, arr := range lb.arrays {
		lb.refs.names[field] = map[string]bool{}
		if *arr == nil {
			*arr = []arm.Child{}
		}
		for _, c := range *arr {
			if err := validName(c.Name); err != nil {
				return err
			}
			if lb.refs.names[field][strings.ToLower(c.Name)] {
				return badRequest("DuplicateResourceName", "Load balancer %s has two %s named %s.", lb.r.Name, field, c.Name)
			}
			lb.refs.names[field][strings.ToLower(c.Name)] = true
		}
	}
	return nil
}

// recallPrevious reads what the load balancer was, for what a PUT does not
// say: its frontends keep their dynamic addresses, the public IPs they no
// longer use are released (assignPublicIPs), and its resourceGuid stays.
func (lb *lbPreparation) recallPrevious() error {
	lb.old = &LoadBalancerProperties{}
	lb.oldPrivate = map[string]string{}
	if lb.existing == nil {
		return nil
	}
	var err error
	if lb.old, err = decode[LoadBalancerProperties](lb.existing); err != nil {
		return err
	}
	if lb.oldFrontends, err = frontendProperties(lb.old.FrontendIPConfigurations, lb.existing.ID); err != nil {
		return err
	}
	for i, c := range lb.old.FrontendIPConfigurations {
		lb.oldPrivate[strings.ToLower(c.Name)] = lb.oldFrontends[i].PrivateIPAddress
	}
	return nil
}

// prepareBackendPools keeps only the addresses a client may set; members
// and rules are derived when the load balancer is rendered.
func (lb *lbPreparation) prepareBackendPools() error {
	for i, c := range lb.props.BackendAddressPools {
		var bp BackendAddressPoolProperties
		if err := unmarshalChild(c, &bp); err != nil {
			return err
		}
		stored := BackendAddressPoolProperties{LoadBalancerBackendAddresses: bp.LoadBalancerBackendAddresses, ProvisioningState: "Succeeded"}
		if stored.LoadBalancerBackendAddresses == nil {
			stored.LoadBalancerBackendAddresses = []json.RawMessage{}
		}
		var err error
		if lb.props.BackendAddressPools[i].Properties, err = json.Marshal(stored); err != nil {
			return err
		}
	}
	return nil
}

// prepareProbes validates each health probe and fills in Azure's defaults.
func (lb *lbPreparation) prepareProbes() error {
	for i, c := range lb.props.Probes {
		var pp ProbeProperties
		if err := unmarshalChild(c, &pp); err != nil {
			return err
		}
		var ok bool
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
		var err error
		if lb.props.Probes[i].Properties, err = marshalOver(c.Properties, pp); err != nil {
			return err
		}
	}
	return nil
}

// prepareLoadBalancingRules validates each rule (prepareLoadBalancingRule);
// no two may share a frontend, protocol and frontend port.
func (lb *lbPreparation) prepareLoadBalancingRules() error {
	seenPorts := map[string]string{} // lower-case frontend ID/protocol/port → rule name
	for i, c := range lb.props.LoadBalancingRules {
		var rp LoadBalancingRuleProperties
		if err := unmarshalChild(c, &rp); err != nil {
			return err
		}
		if err := lb.prepareLoadBalancingRule(c.Name, &rp, seenPorts); err != nil {
			return err
		}
		var err error
		if lb.props.LoadBalancingRules[i].Properties, err = marshalOver(c.Properties, rp); err != nil {
			return err
		}
	}
	return nil
}

// prepareLoadBalancingRule checks one rule's references, protocol and
// ports, and fills in both spellings of its backend pool (backendAddressPool
// and backendAddressPools) and Azure's defaults.
func (lb *lbPreparation) prepareLoadBalancingRule(name string, rp *LoadBalancingRuleProperties, seenPorts map[string]string) error {
	owner := lb.r.ID + "/loadBalancingRules/" + name
	if rp.FrontendIPConfiguration == nil {
		return badRequest("LoadBalancingRuleMustReferenceFrontendIPConfiguration", "Load balancing rule %s must reference a frontend IP configuration.", name)
	}
	for _, chk := range []struct {
		ref   *SubResource
		field string
	}{{rp.FrontendIPConfiguration, "frontendIPConfigurations"}, {rp.BackendAddressPool, "backendAddressPools"}, {rp.Probe, "probes"}} {
		if err := lb.refs.check(owner, chk.ref, chk.field); err != nil {
			return err
		}
	}
	for _, bp := range rp.BackendAddressPools {
		if err := lb.refs.check(owner, &bp, "backendAddressPools"); err != nil {
			return err
		}
	}
	if rp.BackendAddressPool == nil && len(rp.BackendAddressPools) > 0 {
		rp.BackendAddressPool = &rp.BackendAddressPools[0]
	}
	if rp.BackendAddressPool != nil && len(rp.BackendAddressPools) == 0 {
		rp.BackendAddressPools = []SubResource{*rp.BackendAddressPool}
	}
	var ok bool
	if rp.Protocol, ok = canonicalOf(rp.Protocol, "Tcp", "Udp", "All"); !ok {
		return badRequest("InvalidLoadBalancingRuleProtocol", "Load balancing rule %s has invalid protocol %s. Allowed values: Tcp, Udp, All.", name, rp.Protocol)
	}
	if rp.Protocol != "All" && (rp.FrontendPort < 1 || rp.FrontendPort > 65534 || rp.BackendPort < 1 || rp.BackendPort > 65535) {
		return badRequest("InvalidLoadBalancingRulePort", "Load balancing rule %s has invalid ports (frontend %d, backend %d).", name, rp.FrontendPort, rp.BackendPort)
	}
	key := strings.ToLower(rp.FrontendIPConfiguration.ID) + "/" + rp.Protocol + "/" + itoa(rp.FrontendPort)
	if other, dup := seenPorts[key]; dup {
		return badRequest("LoadBalancingRulesUseSameFrontendPort",
			"Load balancer rules %s and %s belong to the same frontend IP configuration and use the same protocol and frontend port %d.", other, name, rp.FrontendPort)
	}
	seenPorts[key] = name
	if rp.IdleTimeoutInMinutes == 0 {
		rp.IdleTimeoutInMinutes = 4
	}
	if rp.LoadDistribution == "" {
		rp.LoadDistribution = "Default"
	}
	rp.ProvisioningState = "Succeeded"
	return nil
}

// prepareOutboundRules validates each outbound rule, which only a Standard
// load balancer may have, and fills in Azure's defaults.
func (lb *lbPreparation) prepareOutboundRules() error {
	for i, c := range lb.props.OutboundRules {
		var op OutboundRuleProperties
		if err := unmarshalChild(c, &op); err != nil {
			return err
		}
		owner := lb.r.ID + "/outboundRules/" + c.Name
		if lb.sku.Name != "Standard" {
			return badRequest("OutboundRulesNotSupportedForBasicSku", "Outbound rule %s needs a Standard load balancer.", c.Name)
		}
		if err := lb.refs.check(owner, op.BackendAddressPool, "backendAddressPools"); err != nil {
			return err
		}
		for _, f := range op.FrontendIPConfigurations {
			if err := lb.refs.check(owner, &f, "frontendIPConfigurations"); err != nil {
				return err
			}
		}
		var ok bool
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
		var err error
		if lb.props.OutboundRules[i].Properties, err = marshalOver(c.Properties, op); err != nil {
			return err
		}
	}
	return nil
}

// assignPublicIPs makes each frontend the user of its public IP, and
// releases the public IPs the old frontends used and the new ones do not.
func (lb *lbPreparation) assignPublicIPs() error {
	for _, fp := range lb.oldFrontends {
		if fp.PublicIPAddress != nil {
			if _, still := lb.usedPIPs[strings.ToLower(fp.PublicIPAddress.ID)]; !still {
				if err := lb.p.setPublicIPUser(lb.tx, fp.PublicIPAddress.ID, "", false); err != nil {
					return err
				}
			}
		}
	}
	for pip, frontend := range lb.usedPIPs {
		if err := lb.p.setPublicIPUser(lb.tx, pip, frontend, false); err != nil {
			return err
		}
	}
	return nil
}

// store writes the load balancer's own properties and its children.
func (lb *lbPreparation) store() error {
	if err := encode(lb.r, LoadBalancerProperties{ProvisioningState: "Succeeded", ResourceGUID: guid(lb.old.ResourceGUID)}); err != nil {
		return err
	}
	for field, arr := range lb.arrays {
		if err := arm.SetChildren(lb.r, field, *arr); err != nil {
			return err
		}
	}
	return nil
}
