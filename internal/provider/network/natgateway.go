package network

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// NATGatewayProperties are a NAT gateway's properties.
type NATGatewayProperties struct {
	IdleTimeoutInMinutes int           `json:"idleTimeoutInMinutes"`
	PublicIPAddresses    []SubResource `json:"publicIpAddresses"`
	PublicIPPrefixes     []SubResource `json:"publicIpPrefixes"`
	Subnets              []SubResource `json:"subnets,omitempty"`
	ProvisioningState    string        `json:"provisioningState"`
	ResourceGUID         string        `json:"resourceGuid"`
}

func (p *Provider) registerNATGateways(reg *arm.Registry) {
	t := p.tracked("natGateways", validName)
	t.Prepare = p.prepareNATGateway
	t.Render = func(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
		props, err := decode[NATGatewayProperties](r)
		if err != nil {
			return nil, err
		}
		if props.Subnets, err = p.subnetsReferencing(tx, r, func(sp *SubnetProperties) *SubResource { return sp.NATGateway }); err != nil {
			return nil, err
		}
		return t.Envelope(r, over(r, props)), nil
	}
	t.BeforeDelete = func(tx store.Tx, r *store.Resource) error {
		users, err := p.subnetsReferencing(tx, r, func(sp *SubnetProperties) *SubResource { return sp.NATGateway })
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return badRequest("InUseNatGatewayCannotBeDeleted", "Nat Gateway %s is in use by subnet %s and cannot be deleted.", r.ID, users[0].ID)
		}
		props, err := decode[NATGatewayProperties](r)
		if err != nil {
			return err
		}
		for _, pip := range props.PublicIPAddresses {
			if err := p.setPublicIPUser(tx, pip.ID, "", true); err != nil {
				return err
			}
		}
		return nil
	}
	t.Install(reg)
	p.NATGateways = t
}

func (p *Provider) prepareNATGateway(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	props, err := decode[NATGatewayProperties](r)
	if err != nil {
		return err
	}
	sku := SKU{Name: "Standard"}
	if len(r.SKU) > 0 {
		if err := json.Unmarshal(r.SKU, &sku); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	if !strings.EqualFold(sku.Name, "Standard") {
		return badRequest("InvalidNatGatewaySku", "NAT gateway SKU %s is invalid; only Standard exists.", sku.Name)
	}
	r.SKU, _ = json.Marshal(SKU{Name: "Standard"})
	if props.IdleTimeoutInMinutes == 0 {
		props.IdleTimeoutInMinutes = 4
	}
	if props.IdleTimeoutInMinutes < 4 || props.IdleTimeoutInMinutes > 120 {
		return badRequest("NatGatewayIdleTimeoutOutOfRange", "idleTimeoutInMinutes %d of NAT gateway %s must be between 4 and 120.", props.IdleTimeoutInMinutes, r.Name)
	}
	if props.PublicIPAddresses == nil {
		props.PublicIPAddresses = []SubResource{}
	}
	if props.PublicIPPrefixes == nil {
		props.PublicIPPrefixes = []SubResource{}
	}
	keep := map[string]bool{}
	for _, pip := range props.PublicIPAddresses {
		keep[strings.ToLower(pip.ID)] = true
		if err := p.setPublicIPUser(tx, pip.ID, r.ID, true); err != nil {
			return err
		}
	}
	old := ""
	if existing != nil {
		if o, err := decode[NATGatewayProperties](existing); err == nil {
			old = o.ResourceGUID
			for _, pip := range o.PublicIPAddresses {
				if !keep[strings.ToLower(pip.ID)] {
					if err := p.setPublicIPUser(tx, pip.ID, "", true); err != nil {
						return err
					}
				}
			}
		}
	}
	props.Subnets, props.ProvisioningState, props.ResourceGUID = nil, "Succeeded", guid(old)
	return encode(r, props)
}
