package network

import (
	"context"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// ApplicationSecurityGroupType is the type of application security groups:
// named groups of network interfaces that security rules (and AKS node
// pools, networkProfile.applicationSecurityGroups) refer to.
const ApplicationSecurityGroupType = "Microsoft.Network/applicationSecurityGroups"

// ApplicationSecurityGroupProperties are an application security group's
// properties (it has no settings of its own).
type ApplicationSecurityGroupProperties struct {
	ProvisioningState string `json:"provisioningState"`
	ResourceGUID      string `json:"resourceGuid"`
}

func (p *Provider) registerApplicationSecurityGroups(reg *arm.Registry) {
	t := p.tracked("applicationSecurityGroups", validName)
	t.Prepare = func(_ context.Context, _ store.Tx, _ *arm.Request, r, existing *store.Resource) error {
		props, err := decode[ApplicationSecurityGroupProperties](r)
		if err != nil {
			return err
		}
		old := ""
		if existing != nil {
			if o, err := decode[ApplicationSecurityGroupProperties](existing); err == nil {
				old = o.ResourceGUID
			}
		}
		props.ProvisioningState, props.ResourceGUID = "Succeeded", guid(old)
		return encode(r, props)
	}
	t.Render = func(_ store.Tx, _ *arm.Request, r *store.Resource) (any, error) {
		props, err := decode[ApplicationSecurityGroupProperties](r)
		if err != nil {
			return nil, err
		}
		return t.Envelope(r, over(r, props)), nil
	}
	t.Install(reg)
	p.ApplicationSecurityGroups = t
}
