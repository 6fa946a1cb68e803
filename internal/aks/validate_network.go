package aks

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// AKS's rules for the network profile, custom subnets and address capacity.

// validateNetwork applies the network profile rules and checks address
// capacity for the pools.
func (v *Rules) validateNetwork(tx store.Tx, c *Cluster, pools []*Pool) error {
	np := c.Props.NetworkProfile
	switch np.NetworkPlugin {
	case "kubenet", "azure", "none":
	default:
		return invalidParameter("networkProfile.networkPlugin", "Network plugin '%s' is not supported; use kubenet, azure or none", np.NetworkPlugin)
	}
	if np.NetworkPluginMode != "" && !(np.NetworkPluginMode == "overlay" && np.NetworkPlugin == "azure") {
		return invalidParameter("networkProfile.networkPluginMode", "Network plugin mode '%s' requires network plugin azure (only 'overlay' exists)", np.NetworkPluginMode)
	}
	m := modelOf(np)
	switch strings.ToLower(np.NetworkPolicy) {
	case "", "none":
	case "calico":
	case "azure":
		if np.NetworkPlugin != "azure" {
			return invalidParameter("networkProfile.networkPolicy", "Network policy 'azure' requires network plugin 'azure'")
		}
	case "cilium":
		if !strings.EqualFold(np.NetworkDataplane, "cilium") {
			return invalidParameter("networkProfile.networkPolicy", "Network policy 'cilium' requires network dataplane 'cilium'")
		}
	default:
		return invalidParameter("networkProfile.networkPolicy", "Network policy '%s' is not supported; use none, calico, azure or cilium", np.NetworkPolicy)
	}
	if d := strings.ToLower(np.NetworkDataplane); d != "" && d != "azure" && d != "cilium" {
		return invalidParameter("networkProfile.networkDataplane", "Network dataplane '%s' is not supported; use azure or cilium", np.NetworkDataplane)
	} else if d == "cilium" && m != modelOverlay && m != modelAzureCNI {
		return invalidParameter("networkProfile.networkDataplane", "Network dataplane 'cilium' requires network plugin azure")
	}
	if np.PodCIDR != "" && m == modelAzureCNI {
		return invalidParameter("networkProfile.podCidr", "Pod CIDR can only be set with network plugin kubenet or Azure CNI Overlay; with network plugin azure pods take addresses from the node subnet")
	}
	svc, err := ipam.ParsePrefix(np.ServiceCIDR)
	if err != nil || !svc.Addr().Is4() {
		return invalidParameter("networkProfile.serviceCidr", "Service CIDR '%s' is not a valid IPv4 CIDR", np.ServiceCIDR)
	}
	if svc.Bits() < 12 {
		return invalidParameter("networkProfile.serviceCidr", "Service CIDR %s is too large; it must be smaller than /12", svc)
	}
	if np.DNSServiceIP == "" {
		return invalidParameter("networkProfile.dnsServiceIP", "dnsServiceIP must be set when serviceCidr is set")
	}
	dnsIP, err := netip.ParseAddr(np.DNSServiceIP)
	if err != nil || !dnsIP.Is4() {
		return invalidParameter("networkProfile.dnsServiceIP", "DNS service IP '%s' is not a valid IPv4 address", np.DNSServiceIP)
	}
	if !svc.Contains(dnsIP) {
		return badRequest("DnsServiceIpOutOfServiceCidr", "networkProfile.dnsServiceIP",
			"The DNS service IP %s is out of the range defined by service CIDR %s.", dnsIP, svc)
	}
	if first, _ := ipam.Nth(svc, 1); dnsIP == svc.Addr() || dnsIP == first {
		return invalidParameter("networkProfile.dnsServiceIP",
			"The DNS service IP %s can not be the network address or the first address of service CIDR %s; the first address is the kubernetes service", dnsIP, svc)
	}
	if f, bad := ipam.ForbiddenOverlap(svc); bad {
		return invalidParameter("networkProfile.serviceCidr", "Service CIDR %s overlaps with %s, a range AKS reserves", svc, f)
	}
	var pod netip.Prefix
	if np.PodCIDR != "" {
		if pod, err = ipam.ParsePrefix(np.PodCIDR); err != nil || !pod.Addr().Is4() {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR '%s' is not a valid IPv4 CIDR", np.PodCIDR)
		}
		if f, bad := ipam.ForbiddenOverlap(pod); bad {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s overlaps with %s, a range AKS reserves", pod, f)
		}
		if pod.Overlaps(svc) {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s overlaps with service CIDR %s", pod, svc)
		}
		if pod.Bits() > 24 {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s is too small; every node takes a /24", pod)
		}
	}
	switch np.OutboundType {
	case "loadBalancer", "userDefinedRouting", "managedNATGateway", "userAssignedNATGateway", "none", "block":
	default:
		return invalidParameter("networkProfile.outboundType", "Outbound type '%s' is not supported; use loadBalancer, userDefinedRouting, managedNATGateway, userAssignedNATGateway or none", np.OutboundType)
	}
	switch np.LoadBalancerSKU {
	case "standard", "basic":
	default:
		return invalidParameter("networkProfile.loadBalancerSku", "Load balancer SKU '%s' is not supported; use standard or basic", np.LoadBalancerSKU)
	}
	byo := pools[0].Props.VnetSubnetID
	for _, p := range pools[1:] {
		if (p.Props.VnetSubnetID == "") != (byo == "") {
			return invalidParameter("agentPoolProfile.vnetSubnetID", "All agent pools must use a custom subnet, or none must")
		}
	}
	switch np.OutboundType {
	case "userDefinedRouting", "userAssignedNATGateway":
		if byo == "" {
			return invalidParameter("networkProfile.outboundType", "Outbound type %s requires agent pools in a custom subnet (vnetSubnetID)", np.OutboundType)
		}
	case "managedNATGateway":
		if byo != "" {
			return invalidParameter("networkProfile.outboundType", "Outbound type managedNATGateway requires the AKS-managed virtual network; with a custom subnet use userAssignedNATGateway")
		}
	}
	if lp := np.LoadBalancerProfile; lp != nil {
		if np.LoadBalancerSKU == "basic" {
			return invalidParameter("networkProfile.loadBalancerProfile", "A load balancer profile requires the standard load balancer SKU")
		}
		ips := 0
		if lp.ManagedOutboundIPs != nil && lp.ManagedOutboundIPs.Count != nil {
			ips = *lp.ManagedOutboundIPs.Count
			if ips < 1 || ips > 100 {
				return invalidParameter("networkProfile.loadBalancerProfile.managedOutboundIPs.count", "Managed outbound IP count %d must be between 1 and 100", ips)
			}
		}
		if lp.OutboundIPs != nil {
			ips += len(lp.OutboundIPs.PublicIPs)
			for _, ref := range lp.OutboundIPs.PublicIPs {
				if _, err := tx.Get(ref.ID); err != nil {
					return invalidParameter("networkProfile.loadBalancerProfile.outboundIPs", "Outbound public IP %s was not found", ref.ID)
				}
			}
		}
		if t := lp.IdleTimeoutInMinutes; t != nil && (*t < 4 || *t > 120) {
			return invalidParameter("networkProfile.loadBalancerProfile.idleTimeoutInMinutes", "Idle timeout %d must be between 4 and 120 minutes", *t)
		}
		if ports := lp.AllocatedOutboundPorts; ports != nil {
			if *ports < 0 || *ports > 64000 || *ports%8 != 0 {
				return invalidParameter("networkProfile.loadBalancerProfile.allocatedOutboundPorts", "Allocated outbound ports %d must be a multiple of 8 between 0 and 64000", *ports)
			}
			nodes := 0
			for _, p := range pools {
				nodes += max(*p.Props.Count, intv(p.Props.MaxCount, 0))
			}
			if *ports > 0 && ips > 0 && *ports*nodes > 64000*ips {
				return badRequest("InvalidLoadBalancerProfileAllocatedOutboundPorts", "networkProfile.loadBalancerProfile.allocatedOutboundPorts",
					"Load balancer profile allocated ports %d is not in an allowable range given the number of nodes and IPs provisioned. Total node count %d requires %d ports but only %d ports are available given %d outbound public IPs. Refer to https://aka.ms/aks/slb-ports",
					*ports, nodes, *ports*nodes, 64000*ips, ips)
			}
		}
	}
	if byo != "" {
		if err := v.validateCustomSubnets(tx, c, pools, svc, pod); err != nil {
			return err
		}
	}
	return v.checkCapacity(tx, c, pools, nil)
}

// validateCustomSubnets checks BYO subnets: they exist, share one VNet,
// and do not overlap the service or pod ranges.
func (v *Rules) validateCustomSubnets(tx store.Tx, c *Cluster, pools []*Pool, svc, pod netip.Prefix) error {
	var vnet string
	for _, p := range pools {
		sid, err := resourceid.Parse(p.Props.VnetSubnetID)
		if err != nil || !strings.EqualFold(sid.Type(), network.VirtualNetworkType+"/subnets") {
			return invalidParameter("agentPoolProfile.vnetSubnetID", "'%s' is not a valid subnet resource ID", p.Props.VnetSubnetID)
		}
		if _, _, err := v.Net.Subnet(tx, sid.String()); err != nil {
			return badRequest("InvalidParameter", "agentPoolProfile.vnetSubnetID",
				"The subnet %s of agent pool %s could not be found. Create it first.", p.Props.VnetSubnetID, p.Record.Name)
		}
		if vnet == "" {
			vnet = sid.Parent().String()
		} else if !strings.EqualFold(vnet, sid.Parent().String()) {
			return invalidParameter("agentPoolProfile.vnetSubnetID", "All agent pool subnets must be in the same virtual network")
		}
	}
	subnets, err := v.Net.SubnetPrefixes(tx, vnet)
	if err != nil {
		return err
	}
	for name, s := range subnets {
		if s.Overlaps(svc) {
			return badRequest("ServiceCidrOverlapExistingSubnetsCidr", "networkProfile.serviceCIDR",
				"The specified service CIDR %s is conflicted with an existing subnet CIDR %s", svc, s)
		}
		if pod.IsValid() && s.Overlaps(pod) {
			return invalidParameter("networkProfile.podCidr", "Pod CIDR %s overlaps with subnet %s (%s) of the cluster's virtual network", pod, name, s)
		}
	}
	return nil
}

// checkCapacity checks that the node subnet (Azure CNI: node plus maxPods
// addresses per node, surge included) and the pod range (kubenet and
// overlay: a /24 per node) can hold the pools. existing are the cluster's
// other pools when pools are being added or scaled.
func (v *Rules) checkCapacity(tx store.Tx, c *Cluster, pools []*Pool, existing []*Pool) error {
	np := c.Props.NetworkProfile
	m := modelOf(np)
	nodes := func(p *Pool) int {
		n := max(*p.Props.Count, intv(p.Props.MaxCount, 0))
		surge, _ := ipam.Surge(p.Props.maxSurge(), n)
		return n + surge
	}
	if m == modelKubenet || m == modelOverlay {
		pod, err := ipam.ParsePrefix(np.PodCIDR)
		if err != nil {
			return nil
		}
		// A /24 per node, surge nodes not counted (AKS accepts a /24 pod
		// range for a one-node cluster).
		total := 0
		for _, p := range append(append([]*Pool(nil), pools...), existing...) {
			total += max(*p.Props.Count, intv(p.Props.MaxCount, 0))
		}
		if blocks := ipam.Blocks(pod, 24); int64(total) > blocks {
			return badRequest("InsufficientSubnetSize", "networkProfile.podCIDR",
				"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name networkProfile.podCIDR. http://aka.ms/aks/insufficientsubnetsize",
				total*256, ipam.Size(pod), pod)
		}
	}
	if m != modelAzureCNI {
		return nil
	}
	// Azure CNI: group the pools being placed by subnet.
	need := map[string]int64{}
	for _, p := range pools {
		if p.Props.VnetSubnetID == "" || p.Props.PodSubnetID != "" {
			continue
		}
		need[strings.ToLower(p.Props.VnetSubnetID)] += ipam.CNIPreallocation(nodes(p), 0, *p.Props.MaxPods)
	}
	for subnetID, n := range need {
		_, prefix, err := v.Net.Subnet(tx, subnetID)
		if err != nil {
			return err
		}
		pool, err := v.Net.SubnetPool(tx, subnetID, "")
		if err != nil {
			return err
		}
		if avail := pool.Free(); n > avail {
			return badRequest("InsufficientSubnetSize", "agentPoolProfile.count",
				"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name %s. http://aka.ms/aks/insufficientsubnetsize",
				n, avail, prefix, lastSegment(subnetID))
		}
	}
	return nil
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// CheckGrowth checks that the cluster's address space holds its pools after
// a change: before maps pool names to their node counts before it (absent
// for new pools). Azure CNI needs node plus maxPods addresses per added
// node in the node subnet (SubnetIsFull on scale-out, InsufficientSubnetSize
// for a new pool); kubenet and overlay need a /24 of the pod range per node.
func (v *Rules) CheckGrowth(tx store.Tx, c *Cluster, pools []*Pool, before map[string]int) error {
	np := c.Props.NetworkProfile
	m := modelOf(np)
	if m == modelKubenet || m == modelOverlay {
		pod, err := ipam.ParsePrefix(np.PodCIDR)
		if err != nil {
			return nil
		}
		total := 0
		for _, p := range pools {
			total += max(*p.Props.Count, intv(p.Props.MaxCount, 0))
		}
		if blocks := ipam.Blocks(pod, 24); int64(total) > blocks {
			return badRequest("InsufficientSubnetSize", "networkProfile.podCIDR",
				"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name networkProfile.podCIDR. http://aka.ms/aks/insufficientsubnetsize",
				total*256, ipam.Size(pod), pod)
		}
		return nil
	}
	if m != modelAzureCNI {
		return nil
	}
	need := map[string]int64{}
	fresh := map[string]bool{}
	for _, p := range pools {
		if p.Props.PodSubnetID != "" {
			continue
		}
		subnet := p.Props.VnetSubnetID
		if subnet == "" {
			subnet = c.Props.Localaks.VNetSubnetID
		}
		if subnet == "" {
			continue
		}
		was, existed := before[p.Record.Name]
		delta := max(*p.Props.Count, intv(p.Props.MaxCount, 0)) - was
		if delta <= 0 {
			continue
		}
		key := strings.ToLower(subnet)
		need[key] += int64(delta) * int64(*p.Props.MaxPods+1)
		fresh[key] = fresh[key] || !existed
	}
	for subnetID, n := range need {
		_, prefix, err := v.Net.Subnet(tx, subnetID)
		if err != nil {
			return err
		}
		pool, err := v.Net.SubnetPool(tx, subnetID, "")
		if err != nil {
			return err
		}
		if avail := pool.Free(); n > avail {
			if fresh[subnetID] {
				return badRequest("InsufficientSubnetSize", "agentPoolProfile.count",
					"Pre-allocated IPs %d exceeds IPs available %d in Subnet Cidr %s, Subnet Name %s. http://aka.ms/aks/insufficientsubnetsize",
					n, avail, prefix, lastSegment(subnetID))
			}
			return badRequest("SubnetIsFull", "agentPoolProfile.count",
				"Subnet %s with address prefix %s does not have enough capacity for %d IP addresses.", lastSegment(subnetID), prefix, n)
		}
	}
	return nil
}

// vnetPrefixes are the address prefixes of a subnet's virtual network.
func (v *Rules) vnetPrefixes(tx store.Tx, subnetID string) ([]netip.Prefix, error) {
	sid, err := resourceid.Parse(subnetID)
	if err != nil {
		return nil, err
	}
	vnet, err := tx.Get(sid.Parent().String())
	if err != nil {
		return nil, err
	}
	var props struct {
		AddressSpace struct {
			AddressPrefixes []string `json:"addressPrefixes"`
		} `json:"addressSpace"`
	}
	if err := json.Unmarshal(vnet.Properties, &props); err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, s := range props.AddressSpace.AddressPrefixes {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}
