package network

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// NICProperties are a network interface's properties.
type NICProperties struct {
	IPConfigurations            []arm.Child   `json:"ipConfigurations"`
	NetworkSecurityGroup        *SubResource  `json:"networkSecurityGroup,omitempty"`
	DNSSettings                 NICDNS        `json:"dnsSettings"`
	MACAddress                  string        `json:"macAddress"`
	EnableAcceleratedNetworking bool          `json:"enableAcceleratedNetworking"`
	EnableIPForwarding          bool          `json:"enableIPForwarding"`
	Primary                     bool          `json:"primary"`
	VirtualMachine              *SubResource  `json:"virtualMachine,omitempty"`
	TapConfigurations           []SubResource `json:"tapConfigurations"`
	ProvisioningState           string        `json:"provisioningState"`
	ResourceGUID                string        `json:"resourceGuid"`
}

// NICDNS are a NIC's DNS settings.
type NICDNS struct {
	DNSServers        []string `json:"dnsServers"`
	AppliedDNSServers []string `json:"appliedDnsServers"`
}

// IPConfigurationProperties are a NIC IP configuration's properties.
type IPConfigurationProperties struct {
	Primary                         bool          `json:"primary"`
	PrivateIPAddress                string        `json:"privateIPAddress"`
	PrivateIPAddressVersion         string        `json:"privateIPAddressVersion"`
	PrivateIPAllocationMethod       string        `json:"privateIPAllocationMethod"`
	Subnet                          *SubResource  `json:"subnet,omitempty"`
	LoadBalancerBackendAddressPools []SubResource `json:"loadBalancerBackendAddressPools,omitempty"`
	PublicIPAddress                 *SubResource  `json:"publicIPAddress,omitempty"`
	ProvisioningState               string        `json:"provisioningState"`
}

// NICSpec describes the network interface of a scale-set instance.
type NICSpec struct {
	Name     string
	SubnetID string
	NSGID    string
	// BackendPools are load balancer backend pool IDs the primary IP
	// configuration joins.
	BackendPools []string
	// SecondaryIPs is the number of extra IP configurations (Azure CNI
	// pre-allocates one per pod).
	SecondaryIPs                 int
	AcceleratedNetworking, IPFwd bool
}

func (p *Provider) registerNICs(reg *arm.Registry) {
	nics := &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: "Microsoft.Compute", Type: "virtualMachineScaleSets/virtualMachines/networkInterfaces",
			APIVersions: APIVersions, Hidden: true},
		ETag: true, ReadOnly: true, Store: p.store,
		BodyType: "Microsoft.Network/networkInterfaces",
	}
	nics.Render = func(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
		props, err := decode[NICProperties](r)
		if err != nil {
			return nil, err
		}
		if props.IPConfigurations, err = arm.ChildrenOf(r, "ipConfigurations", "Microsoft.Network/networkInterfaces/ipConfigurations"); err != nil {
			return nil, err
		}
		return nics.Envelope(r, props), nil
	}
	nics.Install(reg)

	// GET {vmss}/networkInterfaces lists the NICs of every instance.
	all := &arm.ResourceType{Namespace: "Microsoft.Compute", Type: "virtualMachineScaleSets/networkInterfaces", APIVersions: APIVersions, Hidden: true}
	all.List = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		vmss := req.Route.ID
		var out []any
		err := p.store.View(ctx, func(tx store.Tx) error {
			if _, err := tx.Get(vmss.String()); err != nil {
				return arm.ErrResourceNotFound("Microsoft.Compute/virtualMachineScaleSets", vmss.Name(), vmss.ResourceGroupName())
			}
			rs, err := tx.List(store.Query{Subscription: vmss.SubscriptionID(), ResourceGroup: vmss.ResourceGroupName(), Type: VMSSNICType})
			if err != nil {
				return err
			}
			prefix := strings.ToLower(vmss.String() + "/")
			for _, r := range rs {
				if strings.HasPrefix(strings.ToLower(r.ID), prefix) {
					b, err := nics.Render(tx, req, r)
					if err != nil {
						return err
					}
					out = append(out, b)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = []any{}
		}
		return arm.OK(arm.List{Value: out}), nil
	}
	reg.Register(all)

	ipc := &arm.Embedded{
		ResourceType: &arm.ResourceType{Namespace: "Microsoft.Compute", Type: "virtualMachineScaleSets/virtualMachines/networkInterfaces/ipConfigurations",
			APIVersions: APIVersions, Hidden: true},
		Parent: nics, Field: "ipConfigurations", ChildType: "Microsoft.Network/networkInterfaces/ipConfigurations", ReadOnly: true,
	}
	ipc.Install(reg)
}

// InstanceNICID is the ID of a scale-set instance's NIC.
func InstanceNICID(instanceID, name string) string {
	return instanceID + "/networkInterfaces/" + name
}

// CreateInstanceNIC writes the network interface of a scale-set instance,
// taking its addresses from pool (one per IP configuration). It returns the
// primary address and the secondary ones.
func (p *Provider) CreateInstanceNIC(tx store.Tx, instanceID string, spec NICSpec, pool *ipam.SubnetPool, location string) (netip.Addr, []netip.Addr, error) {
	addrs, err := pool.AllocateN(1 + spec.SecondaryIPs)
	if err != nil {
		return netip.Addr{}, nil, err
	}
	id := InstanceNICID(instanceID, spec.Name)
	var configs []arm.Child
	for i, a := range addrs {
		cp := IPConfigurationProperties{Primary: i == 0, PrivateIPAddress: a.String(), PrivateIPAddressVersion: "IPv4",
			PrivateIPAllocationMethod: "Dynamic", Subnet: Ref(spec.SubnetID), ProvisioningState: "Succeeded"}
		if i == 0 {
			for _, bp := range spec.BackendPools {
				cp.LoadBalancerBackendAddressPools = append(cp.LoadBalancerBackendAddressPools, SubResource{ID: bp})
			}
		}
		raw, _ := json.Marshal(cp)
		configs = append(configs, arm.Child{Name: fmt.Sprintf("ipconfig%d", i+1), Properties: raw})
	}
	props := NICProperties{
		DNSSettings: NICDNS{DNSServers: []string{}, AppliedDNSServers: []string{}}, MACAddress: macAddress(),
		EnableAcceleratedNetworking: spec.AcceleratedNetworking, EnableIPForwarding: spec.IPFwd, Primary: true,
		VirtualMachine: Ref(instanceID), TapConfigurations: []SubResource{}, ProvisioningState: "Succeeded", ResourceGUID: guid(""),
	}
	if spec.NSGID != "" {
		props.NetworkSecurityGroup = Ref(spec.NSGID)
	}
	r := &store.Resource{ID: id, Type: VMSSNICType, Name: spec.Name, Location: location}
	if err := encode(r, props); err != nil {
		return netip.Addr{}, nil, err
	}
	if err := arm.SetChildren(r, "ipConfigurations", configs); err != nil {
		return netip.Addr{}, nil, err
	}
	if err := tx.Put(r); err != nil {
		return netip.Addr{}, nil, err
	}
	return addrs[0], addrs[1:], nil
}

func macAddress() string {
	var b [3]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail
	return fmt.Sprintf("00-0D-3A-%02X-%02X-%02X", b[0], b[1], b[2])
}

// ipUser is one IP configuration that holds an address.
type ipUser struct {
	id, subnet string
	addr       netip.Addr
	pools      []SubResource
}

// ipUsers lists every IP configuration in a subscription: scale-set NICs
// and private load balancer frontends.
func (p *Provider) ipUsers(tx store.Tx, subscription string) ([]ipUser, error) {
	var out []ipUser
	nics, err := tx.List(store.Query{Subscription: subscription, Type: VMSSNICType})
	if err != nil {
		return nil, err
	}
	for _, n := range nics {
		configs, err := arm.ChildrenOf(n, "ipConfigurations", "")
		if err != nil {
			return nil, err
		}
		for _, c := range configs {
			var cp IPConfigurationProperties
			if err := json.Unmarshal(c.Properties, &cp); err != nil {
				return nil, err
			}
			u := ipUser{id: c.ID, pools: cp.LoadBalancerBackendAddressPools}
			if cp.Subnet != nil {
				u.subnet = cp.Subnet.ID
			}
			u.addr, _ = netip.ParseAddr(cp.PrivateIPAddress)
			out = append(out, u)
		}
	}
	gws, err := tx.List(store.Query{Subscription: subscription, Type: ApplicationGatewayType})
	if err != nil {
		return nil, err
	}
	for _, g := range gws {
		var props map[string]any
		if err := decodeStored("properties", g.ID, g.Properties, &props); err != nil {
			return nil, err
		}
		for _, v := range asList(props["gatewayIPConfigurations"]) {
			c := asMap(v)
			if sn, ok := refID(asMap(c["properties"]), "subnet"); ok {
				id, _ := c["id"].(string)
				out = append(out, ipUser{id: id, subnet: sn})
			}
		}
	}
	lbs, err := tx.List(store.Query{Subscription: subscription, Type: LoadBalancerType})
	if err != nil {
		return nil, err
	}
	for _, lb := range lbs {
		frontends, err := arm.ChildrenOf(lb, "frontendIPConfigurations", "")
		if err != nil {
			return nil, err
		}
		for _, c := range frontends {
			var fp FrontendIPConfigurationProperties
			if err := json.Unmarshal(c.Properties, &fp); err != nil {
				return nil, err
			}
			if fp.Subnet != nil {
				a, _ := netip.ParseAddr(fp.PrivateIPAddress)
				out = append(out, ipUser{id: c.ID, subnet: fp.Subnet.ID, addr: a})
			}
		}
	}
	return out, nil
}

// SubnetUsers lists the IP configurations inside a subnet.
func (p *Provider) SubnetUsers(tx store.Tx, subnetID string) ([]string, error) {
	users, err := p.ipUsers(tx, subscriptionOf(subnetID))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if strings.EqualFold(u.subnet, subnetID) {
			out = append(out, u.id)
		}
	}
	return out, nil
}

// SubnetPool returns an address pool over a subnet with every address in
// use already taken (except those of the IP configuration exclude, which
// is being rewritten).
func (p *Provider) SubnetPool(tx store.Tx, subnetID, exclude string) (*ipam.SubnetPool, error) {
	_, prefix, err := p.Subnet(tx, subnetID)
	if err != nil {
		return nil, err
	}
	users, err := p.ipUsers(tx, subscriptionOf(subnetID))
	if err != nil {
		return nil, err
	}
	var used []netip.Addr
	for _, u := range users {
		if strings.EqualFold(u.subnet, subnetID) && u.addr.IsValid() && !strings.EqualFold(u.id, exclude) {
			used = append(used, u.addr)
		}
	}
	return ipam.NewSubnetPool(prefix, used), nil
}

// PoolMembers maps each backend pool of a load balancer (lower-case ID) to
// the NIC IP configurations in it.
func (p *Provider) PoolMembers(tx store.Tx, lb *store.Resource) (map[string][]SubResource, error) {
	id, err := resourceid.Parse(lb.ID)
	if err != nil {
		return nil, err
	}
	nics, err := tx.List(store.Query{Subscription: id.SubscriptionID(), Type: VMSSNICType})
	if err != nil {
		return nil, err
	}
	prefix := strings.ToLower(lb.ID + "/backendAddressPools/")
	out := map[string][]SubResource{}
	for _, n := range nics {
		configs, err := arm.ChildrenOf(n, "ipConfigurations", "")
		if err != nil {
			return nil, err
		}
		for _, c := range configs {
			var cp IPConfigurationProperties
			if err := json.Unmarshal(c.Properties, &cp); err != nil {
				return nil, err
			}
			for _, pool := range cp.LoadBalancerBackendAddressPools {
				if k := strings.ToLower(pool.ID); strings.HasPrefix(k, prefix) {
					out[k] = append(out[k], SubResource{ID: c.ID})
				}
			}
		}
	}
	return out, nil
}

// NICBackendPools reads and, with set, replaces the backend pools of a
// NIC's primary IP configuration (a scale-set instance taking its model's
// pools on an upgrade). It reports the pools before any change.
func (p *Provider) NICBackendPools(tx store.Tx, nicID string, set []string) ([]string, error) {
	r, err := tx.Get(nicID)
	if err != nil {
		return nil, err
	}
	configs, err := arm.ChildrenOf(r, "ipConfigurations", "")
	if err != nil {
		return nil, err
	}
	var before []string
	for i, c := range configs {
		var cp IPConfigurationProperties
		if err := json.Unmarshal(c.Properties, &cp); err != nil {
			return nil, err
		}
		if !cp.Primary {
			continue
		}
		for _, bp := range cp.LoadBalancerBackendAddressPools {
			before = append(before, bp.ID)
		}
		if set == nil {
			return before, nil
		}
		cp.LoadBalancerBackendAddressPools = nil
		for _, id := range set {
			cp.LoadBalancerBackendAddressPools = append(cp.LoadBalancerBackendAddressPools, SubResource{ID: id})
		}
		raw, err := json.Marshal(cp)
		if err != nil {
			return nil, err
		}
		configs[i].Properties = raw
		if err := arm.SetChildren(r, "ipConfigurations", configs); err != nil {
			return nil, err
		}
		return before, tx.Put(r)
	}
	return before, nil
}
