package network

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// NSGProperties are a network security group's properties.
type NSGProperties struct {
	SecurityRules        []arm.Child   `json:"securityRules"`
	DefaultSecurityRules []arm.Child   `json:"defaultSecurityRules,omitempty"`
	Subnets              []SubResource `json:"subnets,omitempty"`
	ProvisioningState    string        `json:"provisioningState"`
	ResourceGUID         string        `json:"resourceGuid"`
}

// SecurityRuleProperties are a security rule's properties.
type SecurityRuleProperties struct {
	Description                string   `json:"description,omitempty"`
	Protocol                   string   `json:"protocol"`
	SourcePortRange            string   `json:"sourcePortRange,omitempty"`
	DestinationPortRange       string   `json:"destinationPortRange,omitempty"`
	SourceAddressPrefix        string   `json:"sourceAddressPrefix,omitempty"`
	DestinationAddressPrefix   string   `json:"destinationAddressPrefix,omitempty"`
	SourcePortRanges           []string `json:"sourcePortRanges"`
	DestinationPortRanges      []string `json:"destinationPortRanges"`
	SourceAddressPrefixes      []string `json:"sourceAddressPrefixes"`
	DestinationAddressPrefixes []string `json:"destinationAddressPrefixes"`
	Access                     string   `json:"access"`
	Priority                   int      `json:"priority"`
	Direction                  string   `json:"direction"`
	ProvisioningState          string   `json:"provisioningState"`
}

// defaultRules are the rules every NSG has, at priorities 65000–65500.
var defaultRules = []struct {
	name, desc, direction, access, src, dst string
	priority                                int
}{
	{"AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork", 65000},
	{"AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", "Inbound", "Allow", "AzureLoadBalancer", "*", 65001},
	{"DenyAllInBound", "Deny all inbound traffic", "Inbound", "Deny", "*", "*", 65500},
	{"AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork", 65000},
	{"AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "Outbound", "Allow", "*", "Internet", 65001},
	{"DenyAllOutBound", "Deny all outbound traffic", "Outbound", "Deny", "*", "*", 65500},
}

func (p *Provider) registerNSGs(reg *arm.Registry) {
	t := p.tracked("networkSecurityGroups", validName)
	t.Prepare = p.prepareNSG
	t.Render = p.renderNSG
	t.BeforeDelete = func(tx store.Tx, r *store.Resource) error {
		users, err := p.subnetsReferencing(tx, r, func(sp *SubnetProperties) *SubResource { return sp.NetworkSecurityGroup })
		if err != nil || len(users) == 0 {
			return err
		}
		return badRequest("InUseNetworkSecurityGroupCannotBeDeleted",
			"Network security group %s cannot be deleted because it is in use by the following resources: %s. In order to delete the Network security group, remove the association with the resource(s).",
			r.ID, joinIDs(users))
	}
	t.Install(reg)
	p.NSGs = t

	rules := p.embedded(t, "securityRules", "securityRules")
	rules.Prepare = func(tx store.Tx, req *arm.Request, nsg *store.Resource, c, existing *arm.Child) error {
		if err := normalizeRule(c); err != nil {
			return err
		}
		siblings, err := arm.ChildrenOf(nsg, "securityRules", "")
		if err != nil {
			return err
		}
		return checkRuleConflicts(upsert(siblings, *c))
	}
	rules.Install(reg)
	p.SecurityRules = rules

	defaults := &arm.ResourceType{Namespace: Namespace, Type: "networkSecurityGroups/defaultSecurityRules", APIVersions: APIVersions, Hidden: true}
	defaults.Get = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var out *arm.Child
		err := p.store.View(ctx, func(tx store.Tx) error {
			nsg, err := t.Load(tx, req.Route.ID.Parent())
			if err != nil {
				return err
			}
			for _, c := range DefaultSecurityRules(nsg) {
				if strings.EqualFold(c.Name, req.Route.ID.Name()) {
					out = &c
				}
			}
			if out == nil {
				return arm.ErrResourceNotFound(defaults.Namespace+"/"+defaults.Type, nsg.Name+"/"+req.Route.ID.Name(), req.Route.ID.ResourceGroupName())
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(out), nil
	}
	defaults.List = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var out []arm.Child
		err := p.store.View(ctx, func(tx store.Tx) error {
			nsg, err := t.Load(tx, req.Route.ID)
			if err == nil {
				out = DefaultSecurityRules(nsg)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(arm.List{Value: out}), nil
	}
	reg.Register(defaults)
}

// DefaultSecurityRules are the rules every security group has, as its
// defaultSecurityRules children.
func DefaultSecurityRules(nsg *store.Resource) []arm.Child {
	var out []arm.Child
	for _, d := range defaultRules {
		props, _ := json.Marshal(SecurityRuleProperties{
			Description: d.desc, Protocol: "*", SourcePortRange: "*", DestinationPortRange: "*", SourceAddressPrefix: d.src,
			DestinationAddressPrefix: d.dst, SourcePortRanges: []string{}, DestinationPortRanges: []string{},
			SourceAddressPrefixes: []string{}, DestinationAddressPrefixes: []string{}, Access: d.access, Priority: d.priority,
			Direction: d.direction, ProvisioningState: "Succeeded",
		})
		out = append(out, arm.Child{Name: d.name, ID: nsg.ID + "/defaultSecurityRules/" + d.name, ETag: arm.NetworkETag(nsg.ETag),
			Type: NSGType + "/defaultSecurityRules", Properties: props})
	}
	return out
}

// normalizeRule validates a security rule and fills its defaults.
func normalizeRule(c *arm.Child) error {
	var rp SecurityRuleProperties
	if len(c.Properties) > 0 {
		if err := json.Unmarshal(c.Properties, &rp); err != nil {
			return arm.ErrInvalidRequestContent("security rule " + c.Name + ": " + err.Error())
		}
	}
	var ok bool
	if rp.Protocol, ok = canonicalOf(rp.Protocol, "Tcp", "Udp", "Icmp", "Esp", "Ah", "*"); !ok {
		return badRequest("SecurityRuleInvalidProtocol", "Security rule %s has invalid Protocol. Value provided: %s. Allowed values: Tcp, Udp, Icmp, Esp, Ah, *.", c.Name, rp.Protocol)
	}
	if rp.Access, ok = canonicalOf(rp.Access, "Allow", "Deny"); !ok {
		return badRequest("SecurityRuleInvalidAccess", "Security rule %s has invalid Access. Value provided: %s. Allowed values: Allow, Deny.", c.Name, rp.Access)
	}
	if rp.Direction, ok = canonicalOf(rp.Direction, "Inbound", "Outbound"); !ok {
		return badRequest("SecurityRuleInvalidDirection", "Security rule %s has invalid Direction. Value provided: %s. Allowed values: Inbound, Outbound.", c.Name, rp.Direction)
	}
	if rp.Priority < 100 || rp.Priority > 4096 {
		return badRequest("SecurityRuleInvalidPriority", "Security rule has invalid Priority. Value provided: %d Allowed range 100-4096.", rp.Priority)
	}
	for _, pair := range []struct {
		one   string
		many  []string
		field string
	}{
		{rp.SourcePortRange, rp.SourcePortRanges, "sourcePortRange"}, {rp.DestinationPortRange, rp.DestinationPortRanges, "destinationPortRange"},
		{rp.SourceAddressPrefix, rp.SourceAddressPrefixes, "sourceAddressPrefix"}, {rp.DestinationAddressPrefix, rp.DestinationAddressPrefixes, "destinationAddressPrefix"},
	} {
		if (pair.one == "") == (len(pair.many) == 0) {
			return badRequest("SecurityRuleParameterContainsUnsupportedValue",
				"Security rule %s must specify exactly one of %s and %ss.", c.Name, pair.field, pair.field)
		}
	}
	for _, s := range []*[]string{&rp.SourcePortRanges, &rp.DestinationPortRanges, &rp.SourceAddressPrefixes, &rp.DestinationAddressPrefixes} {
		if *s == nil {
			*s = []string{}
		}
	}
	rp.ProvisioningState = "Succeeded"
	raw, err := json.Marshal(rp)
	c.Properties = raw
	return err
}

// checkRuleConflicts refuses two rules with the same priority and
// direction.
func checkRuleConflicts(rules []arm.Child) error {
	seen := map[string]string{}
	for _, c := range rules {
		var rp SecurityRuleProperties
		if err := json.Unmarshal(c.Properties, &rp); err != nil {
			return err
		}
		key := strings.ToLower(rp.Direction) + "/" + itoa(rp.Priority)
		if other, dup := seen[key]; dup {
			return badRequest("SecurityRuleConflict",
				"Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.", c.Name, other)
		}
		seen[key] = c.Name
	}
	return nil
}

func canonicalOf(v string, allowed ...string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return v, false
}

func (p *Provider) prepareNSG(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	props, err := decode[NSGProperties](r)
	if err != nil {
		return err
	}
	for i := range props.SecurityRules {
		if err := validName(props.SecurityRules[i].Name); err != nil {
			return err
		}
		if err := normalizeRule(&props.SecurityRules[i]); err != nil {
			return err
		}
	}
	if err := checkRuleConflicts(props.SecurityRules); err != nil {
		return err
	}
	old := ""
	if existing != nil {
		if o, err := decode[NSGProperties](existing); err == nil {
			old = o.ResourceGUID
		}
	}
	stored := NSGProperties{ProvisioningState: "Succeeded", ResourceGUID: guid(old)}
	if err := encode(r, stored); err != nil {
		return err
	}
	if props.SecurityRules == nil {
		props.SecurityRules = []arm.Child{}
	}
	return arm.SetChildren(r, "securityRules", props.SecurityRules)
}

func (p *Provider) renderNSG(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	props, err := decode[NSGProperties](r)
	if err != nil {
		return nil, err
	}
	if props.SecurityRules, err = arm.ChildrenOf(r, "securityRules", NSGType+"/securityRules"); err != nil {
		return nil, err
	}
	if props.SecurityRules == nil {
		props.SecurityRules = []arm.Child{}
	}
	props.DefaultSecurityRules = DefaultSecurityRules(r)
	if props.Subnets, err = p.subnetsReferencing(tx, r, func(sp *SubnetProperties) *SubResource { return sp.NetworkSecurityGroup }); err != nil {
		return nil, err
	}
	return p.NSGs.Envelope(r, over(r, props)), nil
}

// subnetsReferencing lists the subnets (in the resource's subscription)
// whose ref field points at r.
func (p *Provider) subnetsReferencing(tx store.Tx, r *store.Resource, ref func(*SubnetProperties) *SubResource) ([]SubResource, error) {
	vnets, err := tx.List(store.Query{Subscription: subscriptionOf(r.ID), Type: VirtualNetworkType})
	if err != nil {
		return nil, err
	}
	var out []SubResource
	for _, v := range vnets {
		subnets, err := arm.ChildrenOf(v, "subnets", "")
		if err != nil {
			return nil, err
		}
		for _, s := range subnets {
			var sp SubnetProperties
			if err := json.Unmarshal(s.Properties, &sp); err != nil {
				return nil, err
			}
			if x := ref(&sp); x != nil && strings.EqualFold(x.ID, r.ID) {
				out = append(out, SubResource{ID: s.ID})
			}
		}
	}
	return out, nil
}

func joinIDs(refs []SubResource) string {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return strings.Join(ids, ",")
}
