package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Step: outbound connectivity (the `kubernetes` load balancer and its managed IPs, or a NAT gateway).

// ensureOutbound creates the outbound path: for outboundType loadBalancer
// (standard SKU) the managed public IPs and the "kubernetes" load balancer
// with its two backend pools and outbound rule; for managedNATGateway a NAT
// gateway on the managed subnet.
func (r *Reconciler) ensureOutbound(ctx context.Context, tx store.Tx, s *state) error {
	np := s.c.Props.NetworkProfile
	rg := resourceid.ResourceGroup(s.sub, s.rg)
	switch {
	case np.OutboundType == "loadBalancer" && np.LoadBalancerSKU == "standard":
		lp := np.LoadBalancerProfile
		var pipIDs []string
		if lp.ManagedOutboundIPs != nil && lp.ManagedOutboundIPs.Count != nil {
			for i := 0; i < *lp.ManagedOutboundIPs.Count; i++ {
				id, err := r.ensureManagedIP(ctx, tx, s, i, "aks-slb-managed-outbound-ip")
				if err != nil {
					return err
				}
				pipIDs = append(pipIDs, id)
			}
			if err := r.trimManagedIPs(ctx, tx, s, *lp.ManagedOutboundIPs.Count, "aks-slb-managed-outbound-ip"); err != nil {
				return err
			}
		}
		if lp.OutboundIPs != nil {
			for _, ref := range lp.OutboundIPs.PublicIPs {
				pipIDs = append(pipIDs, ref.ID)
			}
		}
		lbID := rg.Child(network.Namespace, "loadBalancers", lbName)
		if err := r.ensureLoadBalancer(ctx, tx, s, lbID.String(), pipIDs); err != nil {
			return err
		}
		lp.EffectiveOutboundIPs = nil
		for _, id := range pipIDs {
			pid := resourceid.MustParse(id)
			lp.EffectiveOutboundIPs = append(lp.EffectiveOutboundIPs, ResourceReference{
				ID: rgResourceID(pid.SubscriptionID(), pid.ResourceGroupName(), network.Namespace, "publicIPAddresses", pid.Name())})
		}
		s.dirty = true
	case np.OutboundType == "managedNATGateway":
		count := intv(np.NATGatewayProfile.ManagedOutboundIPProfile.Count, 1)
		var pips []network.SubResource
		for i := 0; i < count; i++ {
			id, err := r.ensureManagedIP(ctx, tx, s, i, "aks-natgw-managed-outbound-ip")
			if err != nil {
				return err
			}
			pips = append(pips, network.SubResource{ID: id})
		}
		natID := rg.Child(network.Namespace, "natGateways", natGatewayName)
		rec, err := record(natID, network.NATGatewayType, s.c.Record.Location, clusterTags(s.c), network.NATGatewayProperties{
			IdleTimeoutInMinutes: intv(np.NATGatewayProfile.IdleTimeoutInMinutes, 4), PublicIPAddresses: pips})
		if err != nil {
			return err
		}
		if rec.SKU, err = json.Marshal(network.SKU{Name: "Standard"}); err != nil {
			return err
		}
		if err := r.Net.NATGateways.Write(ctx, tx, rec); err != nil {
			return err
		}
		np.NATGatewayProfile.EffectiveOutboundIPs = nil
		for _, p := range pips {
			np.NATGatewayProfile.EffectiveOutboundIPs = append(np.NATGatewayProfile.EffectiveOutboundIPs, ResourceReference{ID: p.ID})
		}
		s.dirty = true
		return r.attachNATGateway(ctx, tx, s, natID.String())
	}
	return nil
}

// natGatewayName is the managed NAT gateway's name. [Unverified: AKS's
// exact name is not documented; chosen and noted in the README.]
const natGatewayName = "aks-natgateway"

// attachNATGateway sets the NAT gateway on the managed subnet.
func (r *Reconciler) attachNATGateway(ctx context.Context, tx store.Tx, s *state, natID string) error {
	sid := resourceid.MustParse(s.c.Props.Localaks.VNetSubnetID)
	return r.Net.UpdateSubnets(ctx, tx, sid.Parent().String(), func(name string, sp *network.SubnetProperties) bool {
		if !strings.EqualFold(name, sid.Name()) {
			return false
		}
		sp.NATGateway = &network.SubResource{ID: natID}
		return true
	})
}

// managedIPName is the i-th managed outbound IP's name: a GUID, stable for
// the cluster, so a retried step finds the IP it made.
func managedIPName(c *Cluster, kind string, i int) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("%s/%s/%d", strings.ToLower(c.Record.ID), kind, i))).String()
}

func (r *Reconciler) ensureManagedIP(ctx context.Context, tx store.Tx, s *state, i int, kind string) (string, error) {
	name := managedIPName(s.c, kind, i)
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "publicIPAddresses", name)
	if _, err := tx.Get(id.String()); err == nil {
		return id.String(), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	tags := nodeRGTags(s.c)
	tags["aks-managed-type"] = kind
	if err := r.writePublicIP(ctx, tx, id, s.c.Record.Location, tags); err != nil {
		return "", err
	}
	return id.String(), nil
}

// writePublicIP creates a public IP as AKS makes its own: Standard,
// static, IPv4.
func (r *Reconciler) writePublicIP(ctx context.Context, tx store.Tx, id resourceid.ID, location string, tags map[string]string) error {
	rec, err := record(id, network.PublicIPType, location, tags, network.PublicIPProperties{PublicIPAllocationMethod: "Static", PublicIPAddressVersion: "IPv4"})
	if err != nil {
		return err
	}
	if rec.SKU, err = json.Marshal(network.SKU{Name: "Standard", Tier: "Regional"}); err != nil {
		return err
	}
	return r.Net.PublicIPs.Write(ctx, tx, rec)
}

// trimManagedIPs deletes managed outbound IPs beyond count (after a scale
// down of managedOutboundIPs.count; the load balancer no longer uses them).
func (r *Reconciler) trimManagedIPs(ctx context.Context, tx store.Tx, s *state, count int, kind string) error {
	for i := count; i < count+100; i++ {
		id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "publicIPAddresses", managedIPName(s.c, kind, i))
		if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
			return nil
		}
		s.trimmed = append(s.trimmed, id.String())
	}
	return nil
}

func (r *Reconciler) ensureLoadBalancer(ctx context.Context, tx store.Tx, s *state, lbID string, pipIDs []string) error {
	lp := s.c.Props.NetworkProfile.LoadBalancerProfile
	props := network.LoadBalancerProperties{LoadBalancingRules: []arm.Child{}, Probes: []arm.Child{}}
	managed := map[string]bool{}
	var outboundFrontends []network.SubResource
	for _, pip := range pipIDs {
		name := resourceid.MustParse(pip).Name()
		fe, err := arm.NewChild(name, network.FrontendIPConfigurationProperties{PublicIPAddress: &network.SubResource{ID: pip}})
		if err != nil {
			return err
		}
		props.FrontendIPConfigurations = append(props.FrontendIPConfigurations, fe)
		outboundFrontends = append(outboundFrontends, network.SubResource{ID: lbID + "/frontendIPConfigurations/" + name})
		managed[strings.ToLower(name)] = true
	}
	for _, pool := range []string{lbBackendPool, lbOutboundPool} {
		props.BackendAddressPools = append(props.BackendAddressPools, arm.Child{Name: pool, Properties: json.RawMessage(`{}`)})
	}
	rule, err := arm.NewChild(lbOutboundRule, network.OutboundRuleProperties{
		AllocatedOutboundPorts: intv(lp.AllocatedOutboundPorts, 0), Protocol: "All", EnableTCPReset: true,
		IdleTimeoutInMinutes: intv(lp.IdleTimeoutInMinutes, 30), BackendAddressPool: &network.SubResource{ID: lbID + "/backendAddressPools/" + lbOutboundPool},
		FrontendIPConfigurations: outboundFrontends,
	})
	if err != nil {
		return err
	}
	props.OutboundRules = []arm.Child{rule}
	existing, err := tx.Get(lbID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if existing != nil {
		// Keep what Services added (rules, probes, their frontends).
		var cur network.LoadBalancerProperties
		if err := json.Unmarshal(existing.Properties, &cur); err != nil {
			return fmt.Errorf("load balancer %s: %w", lbID, err)
		}
		props.LoadBalancingRules, props.Probes, props.InboundNatRules = cur.LoadBalancingRules, cur.Probes, cur.InboundNatRules
		for _, f := range cur.FrontendIPConfigurations {
			if !managed[strings.ToLower(f.Name)] && !isManagedOutboundName(f.Name) {
				props.FrontendIPConfigurations = append(props.FrontendIPConfigurations, arm.Child{Name: f.Name, Properties: f.Properties})
			}
		}
	}
	rec, err := record(resourceid.MustParse(lbID), network.LoadBalancerType, s.c.Record.Location, nodeRGTags(s.c), props)
	if err != nil {
		return err
	}
	if rec.SKU, err = json.Marshal(network.SKU{Name: "Standard", Tier: "Regional"}); err != nil {
		return err
	}
	if err := r.Net.LoadBalancers.Save(ctx, tx, nil, rec, existing); err != nil {
		return err
	}
	// Managed IPs dropped from the load balancer can go now.
	for _, id := range s.trimmed {
		if err := r.Net.PublicIPs.RemoveID(tx, id); err != nil {
			return err
		}
	}
	s.trimmed = nil
	return nil
}

// isManagedOutboundName reports whether a frontend name is a managed
// outbound IP's GUID (dropped frontends of trimmed IPs).
func isManagedOutboundName(name string) bool {
	// The dashed form only: a Service's frontend (a + 31 hex digits) also
	// parses as a UUID without dashes.
	_, err := uuid.Parse(name)
	return err == nil && len(name) == 36
}
