package portal

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// maxInstances is how many boxes a scale set's instances get at most: a
// larger pool shows its first ones and one box for the rest, so a
// thousand-node cluster still draws a picture one can read (and fast).
const maxInstances = 8

// Columns of the topology picture, left (the Internet) to right (the
// virtual network).
const (
	colAddresses = iota
	colFrontends
	colRules
	colScaleSets
	colNodes
	colNetwork
	columns
)

var columnTitles = [columns]string{"Public IPs", "Frontends & gateways", "Rules", "Node pools (VMSS)", "Nodes (instances)", "Network"}

// Node is one box of the picture: a resource or a part of one.
type Node struct {
	ID     string // resource ID (of the part)
	Kind   string
	Label  string
	Detail string
	// Live is what the data path carried through it (Annotate).
	Live string
	// State is an operation in flight on it ("Updating", "Deleting", …);
	// empty when it is settled.
	State  string
	Column int
	// Kube names the Kubernetes objects it serves or holds (Bridge):
	// the Services and Ingresses of a frontend or rule, a node's pods.
	Kube string
	// Pods are a node's pods, for the side panel.
	Pods []string

	// What Bridge matches on: a load-balancing rule's frontend port and
	// protocol, a routing rule's listener, a scale set's computer-name
	// prefix.
	port     int32
	proto    string
	listener string
	prefix   string
}

// Edge joins two nodes by ID.
type Edge struct{ From, To string }

// Graph is a cluster's node resource group as a picture: how traffic
// reaches the nodes and where they sit in the network.
type Graph struct {
	Cluster *aks.Cluster
	Nodes   []*Node
	Edges   []Edge
	// Live is set once the data path's counts are in the picture.
	Live bool
	// Kube is set once the cluster's Kubernetes objects are in the
	// picture; KubeStatus says why they are not, KubeSummary counts them.
	Kube                    bool
	KubeStatus, KubeSummary string
	// kubeRetry: the API server could not be read, and may be later.
	kubeRetry bool
	// kubeChanged closes at the next change of the objects read.
	kubeChanged <-chan struct{}
	byID        map[string]*Node
	// addrs are the boxes that hold an address: public IPs, the frontends
	// and gateways they are on, internal frontends.
	addrs map[string][]*Node
}

// holds records that a box holds (or is reached at) an address.
func (g *Graph) holds(address, id string) {
	if n := g.Node(id); n != nil && address != "" {
		g.addrs[address] = append(g.addrs[address], n)
	}
}

func (g *Graph) add(n *Node) {
	key := strings.ToLower(n.ID)
	if _, ok := g.byID[key]; ok {
		return
	}
	g.byID[key] = n
	g.Nodes = append(g.Nodes, n)
}

func (g *Graph) link(from, to string) {
	if from == "" || to == "" {
		return
	}
	g.Edges = append(g.Edges, Edge{From: strings.ToLower(from), To: strings.ToLower(to)})
}

// Node returns the node with this ID (any case).
func (g *Graph) Node(id string) *Node { return g.byID[strings.ToLower(id)] }

// Topology builds the picture of a cluster from the store.
func Topology(tx store.Tx, clusterID string) (*Graph, error) {
	c, pools, err := aks.Load(tx, clusterID)
	if err != nil {
		return nil, err
	}
	poolByName := map[string]*aks.Pool{}
	for _, p := range pools {
		poolByName[strings.ToLower(p.Record.Name)] = p
	}
	g := &Graph{Cluster: c, byID: map[string]*Node{}, addrs: map[string][]*Node{}}
	id := resourceid.MustParse(c.Record.ID)
	nrg := c.Props.NodeResourceGroup
	recs, err := tx.List(store.Query{Subscription: id.SubscriptionID(), ResourceGroup: nrg})
	if err != nil {
		return nil, err
	}
	byType := map[string][]*store.Resource{}
	for _, r := range recs {
		byType[strings.ToLower(r.Type)] = append(byType[strings.ToLower(r.Type)], r)
	}
	of := func(typ string) []*store.Resource { return byType[strings.ToLower(typ)] }

	// Network: subnets (linked to their NSG and route table).
	for _, v := range of(network.VirtualNetworkType) {
		if err := g.addSubnets(v, "", ""); err != nil {
			return nil, err
		}
	}
	for _, typ := range []string{network.NSGType, network.RouteTableType} {
		for _, r := range of(typ) {
			kind := "nsg"
			if typ == network.RouteTableType {
				kind = "routes"
			}
			g.add(&Node{ID: r.ID, Kind: kind, Label: r.Name, Detail: shortType(typ), Column: colNetwork})
		}
	}

	// Node pools and their instances, each in its NIC's subnet (read only
	// for the instances drawn: a large pool's others share one box).
	// One pass over the instances' NICs: each one's subnet, and which
	// scale sets each load balancer backend pool holds (the pools the
	// NICs' IP configurations join).
	subnets := map[string]string{}           // instance → subnet
	poolSets := map[string]map[string]bool{} // backend pool → scale sets
	for _, n := range of(network.VMSSNICType) {
		configs, err := arm.ChildrenOf(n, "ipConfigurations", "")
		if err != nil {
			return nil, err
		}
		for _, cfg := range configs {
			var ip network.IPConfigurationProperties
			if err := json.Unmarshal(cfg.Properties, &ip); err != nil {
				return nil, fmt.Errorf("decode %s: %w", cfg.ID, err)
			}
			if ip.Primary && ip.Subnet != nil {
				subnets[strings.ToLower(instanceOf(n.ID))] = ip.Subnet.ID
			}
			for _, pool := range ip.LoadBalancerBackendAddressPools {
				k := strings.ToLower(pool.ID)
				if poolSets[k] == nil {
					poolSets[k] = map[string]bool{}
				}
				poolSets[k][strings.ToLower(scaleSetOf(cfg.ID))] = true
			}
		}
	}
	subnetOf := func(instance string) string { return subnets[strings.ToLower(instance)] }
	for _, s := range of(compute.ScaleSetType) {
		var sku struct {
			Name     string `json:"name"`
			Capacity int    `json:"capacity"`
		}
		var sp struct {
			VirtualMachineProfile struct {
				OSProfile struct {
					ComputerNamePrefix string `json:"computerNamePrefix"`
				} `json:"osProfile"`
			} `json:"virtualMachineProfile"`
		}
		if err := json.Unmarshal(s.Properties, &sp); err != nil {
			return nil, fmt.Errorf("decode %s: %w", s.ID, err)
		}
		if len(s.SKU) > 0 {
			if err := json.Unmarshal(s.SKU, &sku); err != nil {
				return nil, fmt.Errorf("decode sku of %s: %w", s.ID, err)
			}
		}
		pool := s.Tags["aks-managed-poolName"]
		detail := fmt.Sprintf("%d × %s", sku.Capacity, sku.Name)
		state := provisioningState(s)
		if ap := poolByName[strings.ToLower(pool)]; ap != nil {
			// The pool as AKS shows it: mode, version, autoscaler range,
			// and an operation in flight.
			detail = fmt.Sprintf("%s %s · %s · %s", pool, ap.Props.Mode, ap.Props.CurrentOrchestratorVersion, detail)
			if ap.Props.EnableAutoScaling != nil && *ap.Props.EnableAutoScaling && ap.Props.MinCount != nil && ap.Props.MaxCount != nil {
				detail += fmt.Sprintf(" · autoscale %d–%d", *ap.Props.MinCount, *ap.Props.MaxCount)
			}
			if ap.Props.ProvisioningState != "" && ap.Props.ProvisioningState != "Succeeded" {
				state = ap.Props.ProvisioningState
			}
		} else if pool != "" {
			detail = "pool " + pool + " · " + detail
		}
		g.add(&Node{ID: s.ID, Kind: "vmss", Label: s.Name, Detail: detail, State: inFlight(state), Column: colScaleSets,
			prefix: sp.VirtualMachineProfile.OSProfile.ComputerNamePrefix})
	}
	insts := of(compute.InstanceType)
	// By scale set, then instance number.
	type instKey struct {
		vmss string
		n    int
	}
	keys := make(map[*store.Resource]instKey, len(insts))
	for _, r := range insts {
		id := resourceid.MustParse(r.ID)
		n, err := strconv.Atoi(id.Name())
		if err != nil {
			n = -1
		}
		keys[r] = instKey{strings.ToLower(id.Parent().String()), n}
	}
	sort.Slice(insts, func(i, j int) bool {
		a, b := keys[insts[i]], keys[insts[j]]
		if a.vmss != b.vmss {
			return a.vmss < b.vmss
		}
		return a.n < b.n || a.n == b.n && insts[i].ID < insts[j].ID
	})
	total := map[string]int{}
	for _, r := range insts {
		total[strings.ToLower(resourceid.MustParse(r.ID).Parent().String())]++
	}
	// Which scale set an address (a node's, or a pod's in its range)
	// belongs to: a gateway's pool members are pods or nodes (read only if
	// there is a gateway).
	hosts := sync.OnceValue(func() []instanceHost {
		var out []instanceHost
		for _, r := range insts {
			var ip compute.InstanceProperties
			if json.Unmarshal(r.Properties, &ip) == nil {
				out = append(out, instanceHost{vmss: resourceid.MustParse(r.ID).Parent().String(), ip: ip.Localaks.PrivateIP, podCIDR: ip.Localaks.PodCIDR})
			}
		}
		return out
	})
	shown := map[string]int{}
	more := map[string]*Node{}
	moreCount := map[*Node]int{}
	for _, r := range insts {
		vmss := resourceid.MustParse(r.ID).Parent().String()
		key := strings.ToLower(vmss)
		if total[key] > maxInstances && shown[key] >= maxInstances-1 {
			// A large pool: its other instances are one box, in the
			// subnet of the first of them (a pool's are in one).
			m := more[key]
			if m == nil {
				m = &Node{ID: vmss + "/virtualMachines", Kind: "more", Column: colNodes}
				more[key] = m
				g.add(m)
				g.link(vmss, m.ID)
				subnet := subnetOf(r.ID)
				if err := addSubnet(tx, g, subnet); err != nil {
					return nil, err
				}
				g.link(m.ID, subnet)
			}
			moreCount[m]++
			m.Label = fmt.Sprintf("+ %d more instances", moreCount[m])
			m.Detail = "of " + resourceid.MustParse(vmss).Name()
			continue
		}
		subnet := subnetOf(r.ID)
		if err := addSubnet(tx, g, subnet); err != nil {
			return nil, err
		}
		shown[key]++
		var ip compute.InstanceProperties
		if err := json.Unmarshal(r.Properties, &ip); err != nil {
			return nil, err
		}
		detail := ip.Localaks.PrivateIP
		if ip.Localaks.PodCIDR != "" {
			detail += " · pods " + ip.Localaks.PodCIDR
		}
		// The node mode the scale set's tag (and so the instance's) records.
		if mode := r.Tags["localaks.io-nodes"]; mode != "" {
			detail += " · " + mode
		}
		g.add(&Node{ID: r.ID, Kind: "node", Label: ip.OSProfile.ComputerName, Detail: detail, State: inFlight(provisioningState(r)), Column: colNodes})
		g.link(vmss, r.ID)
		g.link(r.ID, subnet)
	}

	// Public IPs, load balancer frontends, rules and the pools they feed.
	pipTarget := map[string]string{}
	for _, lb := range of(network.LoadBalancerType) {
		var lp network.LoadBalancerProperties
		if err := json.Unmarshal(lb.Properties, &lp); err != nil {
			return nil, err
		}
		for _, fe := range lp.FrontendIPConfigurations {
			var fp network.FrontendIPConfigurationProperties
			if err := json.Unmarshal(fe.Properties, &fp); err != nil {
				return nil, err
			}
			fid := lb.ID + "/frontendIPConfigurations/" + fe.Name
			g.add(&Node{ID: fid, Kind: "frontend", Label: lb.Name + " · " + fe.Name, Detail: fp.PrivateIPAddress, Column: colFrontends})
			g.holds(fp.PrivateIPAddress, fid)
			if fp.PublicIPAddress != nil {
				pipTarget[strings.ToLower(fp.PublicIPAddress.ID)] = fid
			}
			if fp.Subnet != nil {
				g.link(fid, fp.Subnet.ID)
			}
		}
		// Each health probe as a rule's detail shows it.
		probes := map[string]string{}
		for _, pr := range lp.Probes {
			var pp network.ProbeProperties
			if json.Unmarshal(pr.Properties, &pp) == nil {
				probes[strings.ToLower(lb.ID+"/probes/"+pr.Name)] = fmt.Sprintf("probe %s :%d%s", pp.Protocol, pp.Port, pp.RequestPath)
			}
		}
		// Load-balancing rules above outbound rules, in a fixed order: the
		// order of the boxes is their place in the picture.
		rules := []struct {
			kind, field string
			list        []arm.Child
		}{{"rule", "loadBalancingRules", lp.LoadBalancingRules}, {"outbound", "outboundRules", lp.OutboundRules}}
		for _, rs := range rules {
			kind := rs.kind
			for _, rule := range rs.list {
				var rp struct {
					FrontendIPConfiguration  *network.SubResource  `json:"frontendIPConfiguration"`
					FrontendIPConfigurations []network.SubResource `json:"frontendIPConfigurations"`
					BackendAddressPool       *network.SubResource  `json:"backendAddressPool"`
					Protocol                 string                `json:"protocol"`
					FrontendPort             int                   `json:"frontendPort"`
					BackendPort              int                   `json:"backendPort"`
					Probe                    *network.SubResource  `json:"probe"`
				}
				if err := json.Unmarshal(rule.Properties, &rp); err != nil {
					return nil, err
				}
				rid := lb.ID + "/" + rs.field + "/" + rule.Name
				detail := "outbound (SNAT)"
				if kind == "rule" {
					detail = fmt.Sprintf("%s %d → %d", rp.Protocol, rp.FrontendPort, rp.BackendPort)
					if rp.Probe != nil && probes[strings.ToLower(rp.Probe.ID)] != "" {
						detail += " · " + probes[strings.ToLower(rp.Probe.ID)]
					}
				}
				g.add(&Node{ID: rid, Kind: kind, Label: rule.Name, Detail: detail, Column: colRules, port: int32(rp.FrontendPort), proto: rp.Protocol})
				fes := rp.FrontendIPConfigurations
				if rp.FrontendIPConfiguration != nil {
					fes = append(fes, *rp.FrontendIPConfiguration)
				}
				for _, fe := range fes {
					g.link(fe.ID, rid)
				}
				if rp.BackendAddressPool == nil {
					continue
				}
				sets := poolSets[strings.ToLower(rp.BackendAddressPool.ID)]
				ordered := make([]string, 0, len(sets))
				for vmss := range sets {
					ordered = append(ordered, vmss)
				}
				sort.Strings(ordered)
				for _, vmss := range ordered {
					g.link(rid, vmss)
				}
			}
		}
	}
	for _, gw := range of(network.ApplicationGatewayType) {
		var gp struct {
			SKU struct {
				Name     string `json:"name"`
				Capacity int    `json:"capacity"`
			} `json:"sku"`
			GatewayIPConfigurations  []arm.Child `json:"gatewayIPConfigurations"`
			FrontendIPConfigurations []arm.Child `json:"frontendIPConfigurations"`
			FrontendPorts            []arm.Child `json:"frontendPorts"`
			HTTPListeners            []arm.Child `json:"httpListeners"`
			BackendAddressPools      []arm.Child `json:"backendAddressPools"`
			RequestRoutingRules      []arm.Child `json:"requestRoutingRules"`
			URLPathMaps              []arm.Child `json:"urlPathMaps"`
		}
		if err := json.Unmarshal(gw.Properties, &gp); err != nil {
			return nil, err
		}
		g.add(&Node{ID: gw.ID, Kind: "gateway", Label: gw.Name, Column: colFrontends, State: inFlight(provisioningState(gw)),
			Detail: fmt.Sprintf("%s · %d listeners · %d pools", gp.SKU.Name, len(gp.HTTPListeners), len(gp.BackendAddressPools))})
		for _, fe := range gp.FrontendIPConfigurations {
			var fp struct {
				PublicIPAddress  *network.SubResource `json:"publicIPAddress"`
				PrivateIPAddress string               `json:"privateIPAddress"`
			}
			if json.Unmarshal(fe.Properties, &fp) != nil {
				continue
			}
			if fp.PublicIPAddress != nil {
				pipTarget[strings.ToLower(fp.PublicIPAddress.ID)] = gw.ID
			}
			g.holds(fp.PrivateIPAddress, gw.ID)
		}
		for _, ipc := range gp.GatewayIPConfigurations {
			var ip struct {
				Subnet *network.SubResource `json:"subnet"`
			}
			if json.Unmarshal(ipc.Properties, &ip) == nil && ip.Subnet != nil {
				g.link(gw.ID, ip.Subnet.ID)
			}
		}
		g.addGatewayRules(gw, gp.FrontendPorts, gp.HTTPListeners, gp.BackendAddressPools, gp.RequestRoutingRules, gp.URLPathMaps, hosts())
	}
	for _, r := range of(network.PublicIPType) {
		var pp network.PublicIPProperties
		if err := json.Unmarshal(r.Properties, &pp); err != nil {
			return nil, err
		}
		detail := pp.IPAddress
		if svc := r.Tags["k8s-azure-service"]; svc != "" {
			detail += " · Service " + svc
		}
		if pp.DNSSettings != nil && pp.DNSSettings.FQDN != "" {
			detail += " · " + pp.DNSSettings.FQDN
		}
		g.add(&Node{ID: r.ID, Kind: "pip", Label: r.Name, Detail: detail, State: inFlight(provisioningState(r)), Column: colAddresses})
		g.link(r.ID, pipTarget[strings.ToLower(r.ID)])
		g.holds(pp.IPAddress, r.ID)
		g.holds(pp.IPAddress, pipTarget[strings.ToLower(r.ID)])
	}
	// Keep only edges whose ends are drawn (a user's IP in another group
	// is not).
	edges := g.Edges[:0]
	for _, e := range g.Edges {
		if g.byID[e.From] != nil && g.byID[e.To] != nil {
			edges = append(edges, e)
		}
	}
	g.Edges = edges
	return g, nil
}

// instanceHost is an instance's addresses: its own and its pods' range.
type instanceHost struct{ vmss, ip, podCIDR string }

// scaleSetOfAddress is the scale set whose instance has the address, or
// the pod range that holds it ("" if none).
func scaleSetOfAddress(hosts []instanceHost, address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return ""
	}
	for _, h := range hosts {
		if h.ip == address {
			return h.vmss
		}
		if p, err := netip.ParsePrefix(h.podCIDR); err == nil && p.Contains(ip) {
			return h.vmss
		}
	}
	return ""
}

// addGatewayRules draws an application gateway's routing rules (the
// Ingress rules AGIC writes): each with its listener's port and host and
// the pool it sends to, linked from the gateway and to the node pools
// whose nodes (or pods) are the pool's members.
func (g *Graph) addGatewayRules(gw *store.Resource, ports, listeners, pools, rules, pathMaps []arm.Child, hosts []instanceHost) {
	byID := func(list []arm.Child, field string) map[string]arm.Child {
		m := map[string]arm.Child{}
		for _, c := range list {
			m[strings.ToLower(gw.ID+"/"+field+"/"+c.Name)] = c
		}
		return m
	}
	portOf, listenerOf, poolOf, mapOf := byID(ports, "frontendPorts"), byID(listeners, "httpListeners"), byID(pools, "backendAddressPools"), byID(pathMaps, "urlPathMaps")
	for _, rule := range rules {
		var rp struct {
			HTTPListener       *network.SubResource `json:"httpListener"`
			BackendAddressPool *network.SubResource `json:"backendAddressPool"`
			URLPathMap         *network.SubResource `json:"urlPathMap"`
		}
		if json.Unmarshal(rule.Properties, &rp) != nil {
			continue
		}
		listen, listener := "", ""
		if rp.HTTPListener != nil {
			listener = strings.ToLower(rp.HTTPListener.ID[strings.LastIndex(rp.HTTPListener.ID, "/")+1:])
			var lp struct {
				Protocol     string               `json:"protocol"`
				HostName     string               `json:"hostName"`
				FrontendPort *network.SubResource `json:"frontendPort"`
			}
			if l, ok := listenerOf[strings.ToLower(rp.HTTPListener.ID)]; ok && json.Unmarshal(l.Properties, &lp) == nil {
				listen = lp.Protocol
				if lp.FrontendPort != nil {
					var pp struct {
						Port int `json:"port"`
					}
					if p, ok := portOf[strings.ToLower(lp.FrontendPort.ID)]; ok && json.Unmarshal(p.Properties, &pp) == nil {
						listen += fmt.Sprintf(" :%d", pp.Port)
					}
				}
				if lp.HostName != "" {
					listen += " " + lp.HostName
				}
			}
		}
		pool := rp.BackendAddressPool
		if pool == nil && rp.URLPathMap != nil {
			var mp struct {
				DefaultBackendAddressPool *network.SubResource `json:"defaultBackendAddressPool"`
			}
			if m, ok := mapOf[strings.ToLower(rp.URLPathMap.ID)]; ok && json.Unmarshal(m.Properties, &mp) == nil {
				pool = mp.DefaultBackendAddressPool
			}
		}
		rid := gw.ID + "/requestRoutingRules/" + rule.Name
		detail := strings.TrimSpace(listen)
		var addresses []string
		if pool != nil {
			detail += " → " + pool.ID[strings.LastIndex(pool.ID, "/")+1:]
			var bp struct {
				BackendAddresses []struct {
					IPAddress string `json:"ipAddress"`
				} `json:"backendAddresses"`
			}
			if p, ok := poolOf[strings.ToLower(pool.ID)]; ok && json.Unmarshal(p.Properties, &bp) == nil {
				for _, a := range bp.BackendAddresses {
					addresses = append(addresses, a.IPAddress)
				}
			}
			detail += fmt.Sprintf(" (%d)", len(addresses))
		}
		g.add(&Node{ID: rid, Kind: "gwrule", Label: rule.Name, Detail: detail, Column: colRules, listener: listener})
		g.link(gw.ID, rid)
		seen := map[string]bool{}
		for _, a := range addresses {
			if vmss := scaleSetOfAddress(hosts, a); vmss != "" && !seen[strings.ToLower(vmss)] {
				seen[strings.ToLower(vmss)] = true
				g.link(rid, vmss)
			}
		}
	}
}

// addSubnet draws a subnet outside the node resource group (a user's
// virtual network) that nodes are in.
func addSubnet(tx store.Tx, g *Graph, subnetID string) error {
	if subnetID == "" || g.Node(subnetID) != nil {
		return nil
	}
	id, err := resourceid.Parse(subnetID)
	if err != nil {
		return nil
	}
	vnet, err := tx.Get(id.Parent().String())
	if err != nil {
		return nil // gone: the edge is dropped
	}
	return g.addSubnets(vnet, id.Name(), " · "+id.ResourceGroupName())
}

// addSubnets draws a virtual network's subnets (only the one named, if
// only is set), linked to their NSG and route table.
func (g *Graph) addSubnets(vnet *store.Resource, only, suffix string) error {
	var vp network.VirtualNetworkProperties
	if err := json.Unmarshal(vnet.Properties, &vp); err != nil {
		return err
	}
	for _, s := range vp.Subnets {
		if only != "" && !strings.EqualFold(s.Name, only) {
			continue
		}
		var sp network.SubnetProperties
		if err := json.Unmarshal(s.Properties, &sp); err != nil {
			return err
		}
		sid := vnet.ID + "/subnets/" + s.Name
		g.add(&Node{ID: sid, Kind: "subnet", Label: vnet.Name + "/" + s.Name, Detail: sp.AddressPrefix + suffix, Column: colNetwork})
		for _, ref := range []*network.SubResource{sp.NetworkSecurityGroup, sp.RouteTable} {
			if ref != nil {
				g.link(sid, ref.ID)
			}
		}
	}
	return nil
}

// instanceOf is the instance ID of a scale-set NIC ID.
func instanceOf(nicID string) string {
	i := strings.Index(strings.ToLower(nicID), "/networkinterfaces/")
	if i < 0 {
		return nicID
	}
	return nicID[:i]
}

// scaleSetOf is the scale set of a scale-set NIC IP configuration ID.
func scaleSetOf(ipConfigID string) string {
	i := strings.Index(strings.ToLower(ipConfigID), "/virtualmachines/")
	if i < 0 {
		return ipConfigID
	}
	return ipConfigID[:i]
}

func shortType(typ string) string { return typ[strings.LastIndex(typ, "/")+1:] }

// inFlight is a provisioning state worth showing: one that is not
// settled (an operation in flight), or Failed.
func inFlight(state string) string {
	if state == "" || state == "Succeeded" || state == "Canceled" {
		return ""
	}
	return state
}

// Annotate writes what the data path has carried into the picture: each
// load-balancing rule's and gateway's flows (carried, refused), and on
// each node the flows its rules gave it and how many of their probes it
// passes.
func (g *Graph) Annotate(dp *clusterspec.DataPath) {
	g.Live = true
	byIP := map[string]*Node{}
	for _, n := range g.Nodes {
		if f := strings.Fields(n.Detail); n.Kind == "node" && len(f) > 0 {
			byIP[f[0]] = n
		}
	}
	type nodeCount struct{ carried, healthy, rules int64 }
	perNode := map[*Node]*nodeCount{}
	for _, rc := range dp.Rules {
		if n := g.Node(rc.ID); n != nil {
			n.Live = fmt.Sprintf("%d carried, %d refused", rc.Carried, rc.Refused)
		}
		for _, b := range rc.Backends {
			n := byIP[b.Address]
			if n == nil {
				continue
			}
			c := perNode[n]
			if c == nil {
				c = &nodeCount{}
				perNode[n] = c
			}
			c.carried += b.Carried
			c.rules++
			if b.Healthy {
				c.healthy++
			}
		}
	}
	for n, c := range perNode {
		n.Live = fmt.Sprintf("%d carried, healthy for %d of %d rules", c.carried, c.healthy, c.rules)
	}
}
