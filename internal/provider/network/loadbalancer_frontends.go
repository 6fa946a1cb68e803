package network

import (
	"net/netip"
	"strings"
)

// prepareFrontends gives each frontend either a public IP of the load
// balancer's SKU (frontendPublicIP) or a private address in a subnet
// (frontendPrivateIP), never both. The rule back-references are derived
// when the load balancer is rendered, so none are stored.
func (lb *lbPreparation) prepareFrontends() error {
	lb.usedPIPs = map[string]string{}
	for i, c := range lb.props.FrontendIPConfigurations {
		var fp FrontendIPConfigurationProperties
		if err := unmarshalChild(c, &fp); err != nil {
			return err
		}
		frontendID := lb.r.ID + "/frontendIPConfigurations/" + c.Name
		var err error
		switch {
		case fp.PublicIPAddress != nil && fp.Subnet != nil:
			return badRequest("LoadBalancerFrontendIPConfigurationWithPublicIPAndSubnet",
				"Frontend IP configuration %s cannot have both a public IP address and a subnet.", c.Name)
		case fp.PublicIPAddress != nil:
			err = lb.frontendPublicIP(&fp, frontendID)
		case fp.Subnet != nil:
			err = lb.frontendPrivateIP(&fp, c.Name, frontendID)
		default:
			return badRequest("LoadBalancerFrontendIPConfigurationMissingIP",
				"Frontend IP configuration %s needs a public IP address or a subnet.", c.Name)
		}
		if err != nil {
			return err
		}
		fp.LoadBalancingRules, fp.OutboundRules, fp.InboundNatRules = nil, nil, nil
		fp.ProvisioningState = "Succeeded"
		if lb.props.FrontendIPConfigurations[i].Properties, err = marshalOver(c.Properties, fp); err != nil {
			return err
		}
	}
	return nil
}

// frontendPublicIP checks a frontend's public IP: it exists, has the load
// balancer's SKU, and no other resource uses it. It is only noted in
// usedPIPs here; assignPublicIPs claims it once every step has passed.
func (lb *lbPreparation) frontendPublicIP(fp *FrontendIPConfigurationProperties, frontendID string) error {
	pip, err := lb.tx.Get(fp.PublicIPAddress.ID)
	if err != nil {
		return badRequest("InvalidResourceReference",
			"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", fp.PublicIPAddress.ID, frontendID)
	}
	var pipSKU SKU
	if err := decodeStored("sku", pip.ID, pip.SKU, &pipSKU); err != nil {
		return err
	}
	if !strings.EqualFold(pipSKU.Name, lb.sku.Name) {
		return badRequest("LoadBalancerReferencesPublicIPAddressWithDifferentSku",
			"Load balancer %s with %s sku references public IP %s with %s sku. Load balancer and public IP must have the same sku.", lb.r.ID, lb.sku.Name, pip.ID, pipSKU.Name)
	}
	pipProps, err := decode[PublicIPProperties](pip)
	if err != nil {
		return err
	}
	if pipProps.IPConfiguration != nil && !strings.EqualFold(pipProps.IPConfiguration.ID, frontendID) {
		return badRequest("PublicIPAddressInUse",
			"Resource %s is referencing public IP address %s that is already allocated to resource %s.", frontendID, pip.ID, pipProps.IPConfiguration.ID)
	}
	lb.usedPIPs[strings.ToLower(pip.ID)] = frontendID
	fp.PrivateIPAddress, fp.PrivateIPAllocationMethod = "", "Dynamic"
	fp.PrivateIPAddressVersion = "IPv4"
	return nil
}

// frontendPrivateIP gives a frontend (named name) its address in its
// subnet. A dynamic frontend keeps the address it had, or gets a free one;
// a static one must lie in the subnet and, when it changes, be free there.
func (lb *lbPreparation) frontendPrivateIP(fp *FrontendIPConfigurationProperties, name, frontendID string) error {
	_, prefix, err := lb.p.Subnet(lb.tx, fp.Subnet.ID)
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
		fp.PrivateIPAddress = lb.oldPrivate[strings.ToLower(name)]
	}
	if fp.PrivateIPAddress == "" || !prefixContains(prefix, fp.PrivateIPAddress) {
		pool, err := lb.p.SubnetPool(lb.tx, fp.Subnet.ID, frontendID)
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
	} else if fp.PrivateIPAllocationMethod == "Static" && fp.PrivateIPAddress != lb.oldPrivate[strings.ToLower(name)] {
		pool, err := lb.p.SubnetPool(lb.tx, fp.Subnet.ID, frontendID)
		if err != nil {
			return err
		}
		if err := pool.Take(netip.MustParseAddr(fp.PrivateIPAddress)); err != nil {
			return badRequest("PrivateIPAddressInUse", "IP configuration %s is using the private IP address %s which is already allocated or reserved: %v.", frontendID, fp.PrivateIPAddress, err)
		}
	}
	fp.PrivateIPAddressVersion = "IPv4"
	return nil
}
