package network

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// VirtualNetworkProperties are a virtual network's properties. Subnets are
// kept as children (see arm.Embedded) in "subnets".
type VirtualNetworkProperties struct {
	AddressSpace           AddressSpace      `json:"addressSpace"`
	DHCPOptions            *DHCPOptions      `json:"dhcpOptions,omitempty"`
	Subnets                []arm.Child       `json:"subnets"`
	VirtualNetworkPeerings []json.RawMessage `json:"virtualNetworkPeerings"`
	EnableDdosProtection   bool              `json:"enableDdosProtection"`
	ProvisioningState      string            `json:"provisioningState"`
	ResourceGUID           string            `json:"resourceGuid"`
}

// AddressSpace lists a VNet's prefixes.
type AddressSpace struct {
	AddressPrefixes []string `json:"addressPrefixes"`
}

// DHCPOptions are a VNet's DNS servers.
type DHCPOptions struct {
	DNSServers []string `json:"dnsServers"`
}

// SubnetProperties are a subnet's properties.
type SubnetProperties struct {
	AddressPrefix                     string            `json:"addressPrefix,omitempty"`
	AddressPrefixes                   []string          `json:"addressPrefixes,omitempty"`
	NetworkSecurityGroup              *SubResource      `json:"networkSecurityGroup,omitempty"`
	RouteTable                        *SubResource      `json:"routeTable,omitempty"`
	NATGateway                        *SubResource      `json:"natGateway,omitempty"`
	ServiceEndpoints                  []json.RawMessage `json:"serviceEndpoints,omitempty"`
	Delegations                       []json.RawMessage `json:"delegations"`
	PrivateEndpointNetworkPolicies    string            `json:"privateEndpointNetworkPolicies"`
	PrivateLinkServiceNetworkPolicies string            `json:"privateLinkServiceNetworkPolicies"`
	ProvisioningState                 string            `json:"provisioningState"`
}

// Prefix is the subnet's (first) address prefix.
func (s *SubnetProperties) Prefix() (netip.Prefix, error) {
	pfx := s.AddressPrefix
	if pfx == "" && len(s.AddressPrefixes) > 0 {
		pfx = s.AddressPrefixes[0]
	}
	return ipam.ParsePrefix(pfx)
}

func (p *Provider) registerVirtualNetworks(reg *arm.Registry) {
	t := p.tracked("virtualNetworks", validName)
	t.Prepare = p.prepareVirtualNetwork
	t.Render = p.renderVirtualNetwork
	t.BeforeDelete = p.beforeDeleteVirtualNetwork
	t.Install(reg)
	p.VirtualNetworks = t

	s := p.embedded(t, "subnets", "subnets")
	s.Prepare = p.prepareSubnet
	s.BeforeDelete = func(tx store.Tx, vnet *store.Resource, c *arm.Child) error {
		return p.checkSubnetUnused(tx, c.ID, c.Name)
	}
	s.Install(reg)
	p.Subnets = s
}

func (p *Provider) prepareVirtualNetwork(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	props, err := decode[VirtualNetworkProperties](r)
	if err != nil {
		return err
	}
	// A PUT without "subnets" keeps the existing subnets.
	var raw map[string]json.RawMessage
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &raw); err != nil {
			return arm.ErrInvalidRequestContent("properties: " + err.Error())
		}
	}
	_, hasSubnets := raw["subnets"]
	var old *VirtualNetworkProperties
	if existing != nil {
		if old, err = decode[VirtualNetworkProperties](existing); err != nil {
			return err
		}
		if !hasSubnets {
			props.Subnets = old.Subnets
		}
	}
	if len(props.AddressSpace.AddressPrefixes) == 0 {
		return badRequest("AddressSpaceMissing", "Virtual network %s must have at least one address prefix in its address space.", r.Name)
	}
	var space []netip.Prefix
	for _, s := range props.AddressSpace.AddressPrefixes {
		pfx, err := ipam.ParsePrefix(s)
		if err != nil {
			return badRequest("InvalidAddressPrefixFormat", "Address prefix %s of virtual network %s has an invalid format: %v.", s, r.Name, err)
		}
		space = append(space, pfx)
	}
	for i := range props.Subnets {
		if err := validName(props.Subnets[i].Name); err != nil {
			return err
		}
		if err := normalizeSubnet(&props.Subnets[i]); err != nil {
			return err
		}
	}
	if err := validateSubnets(r.Name, space, props.Subnets); err != nil {
		return err
	}
	for _, c := range props.Subnets {
		if err := p.checkReferences(tx, c.Properties); err != nil {
			return err
		}
	}
	if old != nil {
		for _, c := range old.Subnets {
			if indexOf(props.Subnets, c.Name) < 0 {
				if err := p.checkSubnetUnused(tx, r.ID+"/subnets/"+c.Name, c.Name); err != nil {
					return err
				}
			}
		}
	}
	props.VirtualNetworkPeerings = nonNilRaw(props.VirtualNetworkPeerings)
	props.ProvisioningState = "Succeeded"
	props.ResourceGUID = guid(oldGUID(old))
	if err := encode(r, props); err != nil {
		return err
	}
	return arm.SetChildren(r, "subnets", props.Subnets)
}

func oldGUID(old *VirtualNetworkProperties) string {
	if old == nil {
		return ""
	}
	return old.ResourceGUID
}

func nonNilRaw(s []json.RawMessage) []json.RawMessage {
	if s == nil {
		return []json.RawMessage{}
	}
	return s
}

func indexOf(children []arm.Child, name string) int {
	for i, c := range children {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// normalizeSubnet fills a subnet's defaults and read-only fields.
func normalizeSubnet(c *arm.Child) error {
	var sp SubnetProperties
	if len(c.Properties) > 0 {
		if err := json.Unmarshal(c.Properties, &sp); err != nil {
			return arm.ErrInvalidRequestContent("subnet " + c.Name + ": " + err.Error())
		}
	}
	if sp.PrivateEndpointNetworkPolicies == "" {
		sp.PrivateEndpointNetworkPolicies = "Disabled"
	}
	if sp.PrivateLinkServiceNetworkPolicies == "" {
		sp.PrivateLinkServiceNetworkPolicies = "Enabled"
	}
	if sp.Delegations == nil {
		sp.Delegations = []json.RawMessage{}
	}
	sp.ProvisioningState = "Succeeded"
	raw, err := marshalOver(c.Properties, sp)
	c.Properties = raw
	return err
}

// validateSubnets checks that every subnet has a valid prefix of at least
// /29, inside the VNet's address space, overlapping no other subnet.
func validateSubnets(vnet string, space []netip.Prefix, subnets []arm.Child) error {
	seen := map[string]netip.Prefix{}
	for _, c := range subnets {
		var sp SubnetProperties
		if err := json.Unmarshal(c.Properties, &sp); err != nil {
			return arm.ErrInvalidRequestContent(err.Error())
		}
		if sp.AddressPrefix == "" && len(sp.AddressPrefixes) == 0 {
			return badRequest("NoAddressPrefixOrPoolProvided", "Subnet %s must have an address prefix.", c.Name)
		}
		pfx, err := sp.Prefix()
		if err != nil {
			return badRequest("InvalidAddressPrefixFormat", "Subnet %s has an invalid address prefix: %v.", c.Name, err)
		}
		if pfx.Addr().Is4() && pfx.Bits() > 29 {
			return badRequest("InvalidSubnetPrefixLength",
				"Subnet %s has address prefix %s; the smallest supported subnet is /29.", c.Name, pfx)
		}
		inside := false
		for _, s := range space {
			if ipam.Contains(s, pfx) {
				inside = true
			}
		}
		if !inside {
			return badRequest("NetcfgSubnetRangeOutsideVnet",
				"Subnet '%s' is not valid because its IP address range is outside the IP address range of virtual network '%s'.", c.Name, vnet)
		}
		for name, other := range seen {
			if other.Overlaps(pfx) && !strings.EqualFold(name, c.Name) {
				return badRequest("NetcfgSubnetRangesOverlap",
					"Subnet '%s' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '%s'.", c.Name, vnet)
			}
		}
		seen[c.Name] = pfx
	}
	return nil
}

func (p *Provider) prepareSubnet(tx store.Tx, req *arm.Request, vnet *store.Resource, c, existing *arm.Child) error {
	if err := normalizeSubnet(c); err != nil {
		return err
	}
	props, err := decode[VirtualNetworkProperties](vnet)
	if err != nil {
		return err
	}
	var space []netip.Prefix
	for _, s := range props.AddressSpace.AddressPrefixes {
		if pfx, err := ipam.ParsePrefix(s); err == nil {
			space = append(space, pfx)
		}
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return err
	}
	if err := validateSubnets(vnet.Name, space, upsert(subnets, *c)); err != nil {
		return err
	}
	return p.checkReferences(tx, c.Properties)
}

// checkReferences makes sure NSG, route table and NAT gateway references of
// a subnet point at existing resources.
func (p *Provider) checkReferences(tx store.Tx, raw json.RawMessage) error {
	var sp SubnetProperties
	if err := json.Unmarshal(raw, &sp); err != nil {
		return err
	}
	for _, ref := range []*SubResource{sp.NetworkSecurityGroup, sp.RouteTable, sp.NATGateway} {
		if ref == nil {
			continue
		}
		if _, err := tx.Get(ref.ID); err != nil {
			return arm.Errorf(http.StatusNotFound, "InvalidResourceReference",
				"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", ref.ID, "subnet")
		}
	}
	return nil
}

func (p *Provider) renderVirtualNetwork(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	props, err := decode[VirtualNetworkProperties](r)
	if err != nil {
		return nil, err
	}
	props.Subnets, err = arm.ChildrenOf(r, "subnets", VirtualNetworkType+"/subnets")
	if err != nil {
		return nil, err
	}
	return p.VirtualNetworks.Envelope(r, over(r, props)), nil
}

func (p *Provider) beforeDeleteVirtualNetwork(tx store.Tx, r *store.Resource) error {
	subnets, err := arm.ChildrenOf(r, "subnets", "")
	if err != nil {
		return err
	}
	for _, s := range subnets {
		if err := p.checkSubnetUnused(tx, r.ID+"/subnets/"+s.Name, s.Name); err != nil {
			return err
		}
	}
	return nil
}

// checkSubnetUnused refuses to remove a subnet that network interfaces or
// load balancer frontends use.
func (p *Provider) checkSubnetUnused(tx store.Tx, subnetID, name string) error {
	users, err := p.SubnetUsers(tx, subnetID)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return badRequest("InUseSubnetCannotBeDeleted",
			"Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
			name, users[0])
	}
	return nil
}

// Subnet reads a subnet by ID.
func (p *Provider) Subnet(tx store.Tx, subnetID string) (*SubnetProperties, netip.Prefix, error) {
	id, err := resourceid.Parse(subnetID)
	if err != nil || !strings.EqualFold(id.Type(), VirtualNetworkType+"/subnets") {
		return nil, netip.Prefix{}, badRequest("InvalidSubnetId", "'%s' is not a valid subnet resource ID.", subnetID)
	}
	vnet, err := tx.Get(id.Parent().String())
	if err != nil {
		return nil, netip.Prefix{}, arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", subnetID)
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return nil, netip.Prefix{}, err
	}
	i := indexOf(subnets, id.Name())
	if i < 0 {
		return nil, netip.Prefix{}, arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", subnetID)
	}
	var sp SubnetProperties
	if err := json.Unmarshal(subnets[i].Properties, &sp); err != nil {
		return nil, netip.Prefix{}, err
	}
	pfx, err := sp.Prefix()
	return &sp, pfx, err
}

// VirtualNetworkPrefixes returns the address space of a VNet.
func (p *Provider) VirtualNetworkPrefixes(tx store.Tx, vnetID string) ([]netip.Prefix, error) {
	r, err := tx.Get(vnetID)
	if err != nil {
		return nil, err
	}
	props, err := decode[VirtualNetworkProperties](r)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, s := range props.AddressSpace.AddressPrefixes {
		if pfx, err := ipam.ParsePrefix(s); err == nil {
			out = append(out, pfx)
		}
	}
	return out, nil
}

// SubnetPrefixes lists the prefixes of every subnet in a VNet.
func (p *Provider) SubnetPrefixes(tx store.Tx, vnetID string) (map[string]netip.Prefix, error) {
	r, err := tx.Get(vnetID)
	if err != nil {
		return nil, err
	}
	subnets, err := arm.ChildrenOf(r, "subnets", "")
	if err != nil {
		return nil, err
	}
	out := map[string]netip.Prefix{}
	for _, s := range subnets {
		var sp SubnetProperties
		if err := json.Unmarshal(s.Properties, &sp); err != nil {
			return nil, err
		}
		if pfx, err := sp.Prefix(); err == nil {
			out[s.Name] = pfx
		}
	}
	return out, nil
}

// UpdateSubnets changes subnets of a virtual network through the VNet's
// write path (defaults, validation, references), as the platform: change
// edits a subnet's properties and reports whether it changed them. Nothing
// is written when no subnet changed.
func (p *Provider) UpdateSubnets(ctx context.Context, tx store.Tx, vnetID string, change func(name string, sp *SubnetProperties) bool) error {
	vnet, err := tx.Get(vnetID)
	if err != nil {
		return err
	}
	existing := *vnet
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return err
	}
	changed := false
	for i, c := range subnets {
		var sp SubnetProperties
		if err := json.Unmarshal(c.Properties, &sp); err != nil {
			return fmt.Errorf("subnet %s of %s: %w", c.Name, vnetID, err)
		}
		if !change(c.Name, &sp) {
			continue
		}
		if subnets[i], err = arm.NewChild(c.Name, sp); err != nil {
			return err
		}
		changed = true
	}
	if !changed {
		return nil
	}
	if err := arm.SetChildren(vnet, "subnets", subnets); err != nil {
		return err
	}
	return p.VirtualNetworks.Save(ctx, tx, nil, vnet, &existing)
}

// AddSubnet adds a subnet to a virtual network unless one of that name
// exists, through the VNet's write path, and returns its ID.
func (p *Provider) AddSubnet(ctx context.Context, tx store.Tx, vnetID, name string, sp SubnetProperties) (string, error) {
	vnet, err := tx.Get(vnetID)
	if err != nil {
		return "", err
	}
	existing := *vnet
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return "", err
	}
	if i := indexOf(subnets, name); i >= 0 {
		return vnetID + "/subnets/" + subnets[i].Name, nil
	}
	c, err := arm.NewChild(name, sp)
	if err != nil {
		return "", err
	}
	if err := arm.SetChildren(vnet, "subnets", append(subnets, c)); err != nil {
		return "", err
	}
	if err := p.VirtualNetworks.Save(ctx, tx, nil, vnet, &existing); err != nil {
		return "", err
	}
	return vnetID + "/subnets/" + name, nil
}
