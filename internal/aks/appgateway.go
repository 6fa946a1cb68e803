package aks

import (
	"context"
	"errors"
	"strings"

	"github.com/localaks/localaks/internal/agicconfig"
	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Step: the ingress-appgw add-on's identity and Application Gateway.

// agicIdentityName is the AGIC add-on's identity in the node resource group.
func agicIdentityName(cluster string) string { return "ingressapplicationgateway-" + cluster }

// ensureAppGateway sets up the Application Gateway Ingress Controller
// add-on: its identity, and unless the user brought a gateway
// (applicationGatewayId), a Standard_v2 gateway in the node resource group
// with its subnet in the cluster's virtual network and a public IP
// `{name}-appgwpip`, configured as AGIC configures an empty gateway.
// Disabling the add-on removes the identity; the gateway stays, as in AKS.
func (r *Reconciler) ensureAppGateway(ctx context.Context, tx store.Tx, s *state) error {
	_, a := s.c.Props.Addon(AGICAddon)
	name := agicIdentityName(s.c.Record.Name)
	identityID := resourceid.ResourceGroup(s.sub, s.rg).Child(managedidentity.Namespace, "userAssignedIdentities", name)
	if a == nil || !a.Enabled {
		if a != nil && (a.Identity != nil || a.Config["effectiveApplicationGatewayId"] != "") {
			a.Identity = nil
			delete(a.Config, "effectiveApplicationGatewayId")
			s.dirty = true
		}
		if err := r.Identity.Identities.RemoveID(tx, identityID.String()); err != nil {
			return err
		}
		return nil
	}
	props, err := r.Identity.Ensure(tx, &store.Resource{ID: identityID.String(), Name: name, Location: s.c.Record.Location, Tags: clusterTags(s.c)})
	if err != nil {
		return err
	}
	a.Identity = &UserAssignedIdentity{ResourceID: rgResourceID(s.sub, s.rg, managedidentity.Namespace, "userAssignedIdentities", name),
		ClientID: props.ClientID, ObjectID: props.PrincipalID}
	if a.Config == nil {
		a.Config = map[string]string{}
	}
	cfg := map[string]string{}
	for k, v := range a.Config {
		cfg[strings.ToLower(k)] = v
	}
	s.dirty = true
	if id := cfg["applicationgatewayid"]; id != "" {
		a.Config["effectiveApplicationGatewayId"] = id
		return nil
	}
	gwName := cfg["applicationgatewayname"]
	gwID := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "applicationGateways", gwName)
	a.Config["effectiveApplicationGatewayId"] = gwID.String()
	if _, err := tx.Get(gwID.String()); err == nil {
		return nil // made earlier; AGIC owns its configuration now
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	subnet := cfg["subnetid"]
	if subnet == "" {
		cidr := cfg["subnetcidr"]
		if cidr == "" {
			cidr = defaultAGICSubnetCIDR
		}
		vnet := resourceid.MustParse(s.c.Props.Localaks.VNetSubnetID).Parent().String()
		if subnet, err = r.Net.AddSubnet(ctx, tx, vnet, agicSubnetName, network.SubnetProperties{AddressPrefix: cidr}); err != nil {
			return err
		}
	}
	pipID := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "publicIPAddresses", gwName+"-appgwpip")
	if _, err := tx.Get(pipID.String()); errors.Is(err, store.ErrNotFound) {
		if err := r.writePublicIP(ctx, tx, pipID, s.c.Record.Location, clusterTags(s.c)); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	gwProps := agicconfig.Build(agicconfig.Gateway{ID: gwID.String(), SubnetID: subnet, PublicIPID: pipID.String()}, nil)
	gwProps["sku"] = map[string]any{"name": "Standard_v2", "tier": "Standard_v2", "capacity": 2}
	rec, err := record(gwID, network.ApplicationGatewayType, s.c.Record.Location, clusterTags(s.c), gwProps)
	if err != nil {
		return err
	}
	return r.Net.ApplicationGateways.Write(ctx, tx, rec)
}
