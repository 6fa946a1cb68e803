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
		props := map[string]any{"idleTimeoutInMinutes": intv(np.NATGatewayProfile.IdleTimeoutInMinutes, 4), "publicIpAddresses": pips}
		if err := save(ctx, tx, r.Net.NATGateways, &store.Resource{ID: natID.String(), Type: network.NATGatewayType, Name: natGatewayName,
			Location: s.c.Record.Location, Tags: clusterTags(s.c), SKU: json.RawMessage(`{"name":"Standard"}`), Properties: mustJSON(props)}); err != nil {
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
	vnet, err := tx.Get(sid.Parent().String())
	if err != nil {
		return err
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return err
	}
	for i, c := range subnets {
		if strings.EqualFold(c.Name, sid.Name()) {
			var props map[string]any
			json.Unmarshal(c.Properties, &props) //nolint:errcheck // stored by us
			props["natGateway"] = map[string]string{"id": natID}
			subnets[i].Properties = mustJSON(props)
		}
	}
	if err := arm.SetChildren(vnet, "subnets", subnets); err != nil {
		return err
	}
	return tx.Put(vnet)
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
	rec := &store.Resource{ID: id.String(), Type: network.PublicIPType, Name: name, Location: s.c.Record.Location, Tags: tags,
		SKU: json.RawMessage(`{"name":"Standard","tier":"Regional"}`), Properties: json.RawMessage(`{"publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}`)}
	if err := save(ctx, tx, r.Net.PublicIPs, rec); err != nil {
		return "", err
	}
	return id.String(), nil
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
	var frontends, outboundFrontends []map[string]any
	for _, pip := range pipIDs {
		name := resourceid.MustParse(pip).Name()
		frontends = append(frontends, map[string]any{"name": name, "properties": map[string]any{"publicIPAddress": map[string]string{"id": pip}}})
		outboundFrontends = append(outboundFrontends, map[string]any{"id": lbID + "/frontendIPConfigurations/" + name})
	}
	props := map[string]any{
		"frontendIPConfigurations": frontends,
		"backendAddressPools": []any{
			map[string]any{"name": lbBackendPool, "properties": map[string]any{}},
			map[string]any{"name": lbOutboundPool, "properties": map[string]any{}},
		},
		"loadBalancingRules": []any{},
		"probes":             []any{},
		"outboundRules": []any{map[string]any{"name": lbOutboundRule, "properties": map[string]any{
			"allocatedOutboundPorts":   intv(lp.AllocatedOutboundPorts, 0),
			"protocol":                 "All",
			"enableTcpReset":           true,
			"idleTimeoutInMinutes":     intv(lp.IdleTimeoutInMinutes, 30),
			"backendAddressPool":       map[string]string{"id": lbID + "/backendAddressPools/" + lbOutboundPool},
			"frontendIPConfigurations": outboundFrontends,
		}}},
	}
	existing, err := tx.Get(lbID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if existing != nil {
		// Keep what Services added (rules, probes, their frontends).
		var cur map[string]json.RawMessage
		json.Unmarshal(existing.Properties, &cur) //nolint:errcheck // stored by us
		for _, k := range []string{"loadBalancingRules", "probes", "inboundNatRules"} {
			if v, ok := cur[k]; ok {
				props[k] = v
			}
		}
		fes, err := arm.ChildrenOf(existing, "frontendIPConfigurations", "")
		if err != nil {
			return err
		}
		managed := map[string]bool{}
		for _, f := range frontends {
			managed[strings.ToLower(f["name"].(string))] = true
		}
		for _, f := range fes {
			if !managed[strings.ToLower(f.Name)] && !isManagedOutboundName(f.Name) {
				frontends = append(frontends, map[string]any{"name": f.Name, "properties": f.Properties})
			}
		}
		props["frontendIPConfigurations"] = frontends
	}
	tags := nodeRGTags(s.c)
	rec := &store.Resource{ID: lbID, Type: network.LoadBalancerType, Name: lbName, Location: s.c.Record.Location, Tags: tags,
		SKU: json.RawMessage(`{"name":"Standard","tier":"Regional"}`), Properties: mustJSON(props)}
	if err := r.Net.LoadBalancers.Save(ctx, tx, nil, rec, existing); err != nil {
		return err
	}
	// Managed IPs dropped from the load balancer can go now.
	for _, id := range s.trimmed {
		if _, err := tx.Delete(id); err != nil {
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
