package network

import (
	"context"
	"encoding/json"
	"net/netip"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/store"
)

// RouteTableProperties are a route table's properties.
type RouteTableProperties struct {
	Routes                     []arm.Child   `json:"routes"`
	DisableBgpRoutePropagation bool          `json:"disableBgpRoutePropagation"`
	Subnets                    []SubResource `json:"subnets,omitempty"`
	ProvisioningState          string        `json:"provisioningState"`
	ResourceGUID               string        `json:"resourceGuid"`
}

// RouteProperties are a route's properties.
type RouteProperties struct {
	AddressPrefix     string `json:"addressPrefix"`
	NextHopType       string `json:"nextHopType"`
	NextHopIPAddress  string `json:"nextHopIpAddress,omitempty"`
	HasBgpOverride    bool   `json:"hasBgpOverride"`
	ProvisioningState string `json:"provisioningState"`
}

func (p *Provider) registerRouteTables(reg *arm.Registry) {
	t := p.tracked("routeTables", validName)
	t.Prepare = p.prepareRouteTable
	t.Render = p.renderRouteTable
	t.BeforeDelete = func(tx store.Tx, r *store.Resource) error {
		users, err := p.subnetsReferencing(tx, r, func(sp *SubnetProperties) *SubResource { return sp.RouteTable })
		if err != nil || len(users) == 0 {
			return err
		}
		return badRequest("InUseRouteTableCannotBeDeleted",
			"Route table %s is in use and cannot be deleted. It is associated with %s.", r.ID, joinIDs(users))
	}
	t.Install(reg)
	p.RouteTables = t

	routes := p.embedded(t, "routes", "routes")
	routes.Prepare = func(tx store.Tx, req *arm.Request, rt *store.Resource, c, existing *arm.Child) error {
		return normalizeRoute(c)
	}
	routes.Install(reg)
	p.Routes = routes
}

// normalizeRoute validates a route and fills its read-only fields.
func normalizeRoute(c *arm.Child) error {
	var rp RouteProperties
	if len(c.Properties) > 0 {
		if err := json.Unmarshal(c.Properties, &rp); err != nil {
			return arm.ErrInvalidRequestContent("route " + c.Name + ": " + err.Error())
		}
	}
	if _, err := ipam.ParsePrefix(rp.AddressPrefix); err != nil {
		return badRequest("InvalidRouteAddressPrefix", "Route %s has an invalid addressPrefix %s.", c.Name, rp.AddressPrefix)
	}
	var ok bool
	if rp.NextHopType, ok = canonicalOf(rp.NextHopType, "VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None"); !ok {
		return badRequest("InvalidRouteNextHopType",
			"Route %s has an invalid nextHopType %s. Allowed values: VirtualNetworkGateway, VnetLocal, Internet, VirtualAppliance, None.", c.Name, rp.NextHopType)
	}
	switch {
	case rp.NextHopType == "VirtualAppliance":
		if _, err := netip.ParseAddr(rp.NextHopIPAddress); err != nil {
			return badRequest("InvalidRouteNextHopIpAddress",
				"Route %s has nextHopType VirtualAppliance and needs a valid nextHopIpAddress; %q is not one.", c.Name, rp.NextHopIPAddress)
		}
	case rp.NextHopIPAddress != "":
		return badRequest("RouteNextHopIpAddressNotAllowed",
			"Route %s has a nextHopIpAddress but its nextHopType is %s; only VirtualAppliance takes one.", c.Name, rp.NextHopType)
	}
	rp.ProvisioningState = "Succeeded"
	raw, err := json.Marshal(rp)
	c.Properties = raw
	return err
}

func (p *Provider) prepareRouteTable(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	props, err := decode[RouteTableProperties](r)
	if err != nil {
		return err
	}
	for i := range props.Routes {
		if err := validName(props.Routes[i].Name); err != nil {
			return err
		}
		if err := normalizeRoute(&props.Routes[i]); err != nil {
			return err
		}
	}
	old := ""
	if existing != nil {
		if o, err := decode[RouteTableProperties](existing); err == nil {
			old = o.ResourceGUID
		}
	}
	stored := RouteTableProperties{DisableBgpRoutePropagation: props.DisableBgpRoutePropagation, ProvisioningState: "Succeeded", ResourceGUID: guid(old)}
	if err := encode(r, stored); err != nil {
		return err
	}
	if props.Routes == nil {
		props.Routes = []arm.Child{}
	}
	return arm.SetChildren(r, "routes", props.Routes)
}

func (p *Provider) renderRouteTable(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	props, err := decode[RouteTableProperties](r)
	if err != nil {
		return nil, err
	}
	if props.Routes, err = arm.ChildrenOf(r, "routes", RouteTableType+"/routes"); err != nil {
		return nil, err
	}
	if props.Routes == nil {
		props.Routes = []arm.Child{}
	}
	if props.Subnets, err = p.subnetsReferencing(tx, r, func(sp *SubnetProperties) *SubResource { return sp.RouteTable }); err != nil {
		return nil, err
	}
	return p.RouteTables.Envelope(r, over(r, props)), nil
}

// SetRoutes adds or replaces routes in a route table, in tx (the AKS
// reconciler keeps one route per kubenet node).
func (p *Provider) SetRoutes(tx store.Tx, routeTableID string, routes map[string]RouteProperties) error {
	if len(routes) == 0 {
		return nil
	}
	rt, err := tx.Get(routeTableID)
	if err != nil {
		return err
	}
	current, err := arm.ChildrenOf(rt, "routes", "")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(routes))
	for name := range routes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw, err := json.Marshal(routes[name])
		if err != nil {
			return err
		}
		c := arm.Child{Name: name, Properties: raw}
		if err := normalizeRoute(&c); err != nil {
			return err
		}
		current = upsert(current, c)
	}
	if err := arm.SetChildren(rt, "routes", current); err != nil {
		return err
	}
	return tx.Put(rt)
}

// RemoveRoutes deletes the named routes from a route table (those that
// are there).
func (p *Provider) RemoveRoutes(tx store.Tx, routeTableID string, names []string) error {
	rt, err := tx.Get(routeTableID)
	if err != nil {
		return err
	}
	routes, err := arm.ChildrenOf(rt, "routes", "")
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, n := range names {
		drop[strings.ToLower(n)] = true
	}
	kept := routes[:0]
	for _, r := range routes {
		if !drop[strings.ToLower(r.Name)] {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(routes) {
		return nil
	}
	if err := arm.SetChildren(rt, "routes", kept); err != nil {
		return err
	}
	return tx.Put(rt)
}
