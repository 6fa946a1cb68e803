package aks

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/store"
)

// The data path of real nodes executes the node resource group's network
// configuration: the load balancers whose backend pools hold the cluster's
// NICs (frontends, rules, probes, pool members) and the security groups
// on the way to those NICs. dataPath reads them from the store into the
// fabric; a change to any of them (Fabric.Sources) sends the cluster a new
// spec at once.

// dataPath fills f's load balancers and security groups from the NICs of
// the cluster's running instances (instanceIDs).
func (r *Reconciler) dataPath(tx store.Tx, instanceIDs []string, f *clusterspec.Fabric) error {
	type member struct{ addr, pool string }
	var members []member
	lbIDs := map[string]string{} // lower-case ID → ID
	nsgIDs := map[string]string{}
	addNSG := func(ref *network.SubResource) {
		if ref != nil && ref.ID != "" {
			nsgIDs[strings.ToLower(ref.ID)] = ref.ID
		}
	}
	subnets := map[string]bool{}
	for _, inst := range instanceIDs {
		nics, err := tx.List(store.Query{Parent: inst, Type: network.VMSSNICType})
		if err != nil {
			return err
		}
		for _, nic := range nics {
			var np network.NICProperties
			if err := json.Unmarshal(nic.Properties, &np); err != nil {
				return fmt.Errorf("NIC %s: %w", nic.ID, err)
			}
			configs, err := arm.ChildrenOf(nic, "ipConfigurations", "")
			if err != nil {
				return err
			}
			for _, c := range configs {
				var cp network.IPConfigurationProperties
				if err := json.Unmarshal(c.Properties, &cp); err != nil {
					return fmt.Errorf("NIC %s: %w", nic.ID, err)
				}
				if cp.Subnet != nil && !subnets[strings.ToLower(cp.Subnet.ID)] {
					subnets[strings.ToLower(cp.Subnet.ID)] = true
					sp, _, err := r.Net.Subnet(tx, cp.Subnet.ID)
					if err != nil {
						return err
					}
					addNSG(sp.NetworkSecurityGroup)
				}
				for _, bp := range cp.LoadBalancerBackendAddressPools {
					lb := bp.ID[:max(0, strings.LastIndex(strings.ToLower(bp.ID), "/backendaddresspools/"))]
					if lb == "" {
						continue
					}
					lbIDs[strings.ToLower(lb)] = lb
					members = append(members, member{addr: cp.PrivateIPAddress, pool: strings.ToLower(bp.ID)})
				}
			}
			addNSG(np.NetworkSecurityGroup)
		}
	}
	for _, key := range sortedKeys(lbIDs) {
		rec, err := tx.Get(lbIDs[key])
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		lb, pips, err := loadBalancerPath(tx, r.Net, rec)
		if err != nil {
			return fmt.Errorf("load balancer %s: %w", rec.ID, err)
		}
		for i, p := range lb.Pools {
			for _, m := range members {
				if m.pool == strings.ToLower(rec.ID+"/backendAddressPools/"+p.Name) {
					lb.Pools[i].Members = append(lb.Pools[i].Members, m.addr)
				}
			}
		}
		f.LoadBalancers = append(f.LoadBalancers, lb)
		f.Sources = append(f.Sources, rec.ID)
		f.Sources = append(f.Sources, pips...)
	}
	for _, key := range sortedKeys(nsgIDs) {
		rec, err := tx.Get(nsgIDs[key])
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		g, err := securityGroupPath(rec)
		if err != nil {
			return fmt.Errorf("network security group %s: %w", rec.ID, err)
		}
		f.SecurityGroups = append(f.SecurityGroups, g)
		f.Sources = append(f.Sources, rec.ID)
	}
	return nil
}

// loadBalancerPath is a load balancer as the data path runs it (pools
// without members yet), and the public IPs its frontends use.
func loadBalancerPath(tx store.Tx, net *network.Provider, rec *store.Resource) (clusterspec.LoadBalancer, []string, error) {
	lb := clusterspec.LoadBalancer{ID: rec.ID}
	var pips []string
	children := func(field string) ([]arm.Child, error) { return arm.ChildrenOf(rec, field, "") }
	frontends, err := children("frontendIPConfigurations")
	if err != nil {
		return lb, nil, err
	}
	for _, c := range frontends {
		fe, pip, err := frontendPath(tx, net, c.Name, c.Properties)
		if err != nil {
			return lb, nil, err
		}
		if pip != "" {
			pips = append(pips, pip)
		}
		lb.Frontends = append(lb.Frontends, fe)
	}
	pools, err := children("backendAddressPools")
	if err != nil {
		return lb, nil, err
	}
	for _, c := range pools {
		lb.Pools = append(lb.Pools, clusterspec.LBPool{Name: c.Name})
	}
	probes, err := children("probes")
	if err != nil {
		return lb, nil, err
	}
	for _, c := range probes {
		var pp network.ProbeProperties
		if err := json.Unmarshal(c.Properties, &pp); err != nil {
			return lb, nil, err
		}
		// probeThreshold is the newer count of consecutive results;
		// numberOfProbes the older one.
		threshold := pp.ProbeThreshold
		if threshold == 0 {
			threshold = pp.NumberOfProbes
		}
		lb.Probes = append(lb.Probes, clusterspec.LBProbe{Name: c.Name, Protocol: pp.Protocol, Port: pp.Port, Path: pp.RequestPath,
			IntervalSeconds: max(pp.IntervalInSeconds, 1), Threshold: max(threshold, 1)})
	}
	rules, err := children("loadBalancingRules")
	if err != nil {
		return lb, nil, err
	}
	for _, c := range rules {
		var rp network.LoadBalancingRuleProperties
		if err := json.Unmarshal(c.Properties, &rp); err != nil {
			return lb, nil, err
		}
		rule := clusterspec.LBRule{Name: c.Name, Protocol: rp.Protocol, FrontendPort: rp.FrontendPort, BackendPort: rp.BackendPort,
			Distribution: rp.LoadDistribution, IdleTimeoutMinutes: rp.IdleTimeoutInMinutes, FloatingIP: rp.EnableFloatingIP, TCPReset: rp.EnableTCPReset,
			Frontend: childName(rp.FrontendIPConfiguration), Probe: childName(rp.Probe), Pool: childName(rp.BackendAddressPool)}
		if rule.Pool == "" && len(rp.BackendAddressPools) > 0 {
			rule.Pool = childName(&rp.BackendAddressPools[0])
		}
		lb.Rules = append(lb.Rules, rule)
	}
	return lb, pips, nil
}

// frontendPath is a frontend IP configuration (a load balancer's or an
// application gateway's) with its address: the private one, or its public
// IP's, whose ID it returns too.
func frontendPath(tx store.Tx, net *network.Provider, name string, raw json.RawMessage) (clusterspec.LBFrontend, string, error) {
	var fp network.FrontendIPConfigurationProperties
	if err := json.Unmarshal(raw, &fp); err != nil {
		return clusterspec.LBFrontend{}, "", err
	}
	fe := clusterspec.LBFrontend{Name: name, Address: fp.PrivateIPAddress}
	if fp.PublicIPAddress == nil {
		return fe, "", nil
	}
	fe.Public = true
	addr, err := net.PublicIPAddress(tx, fp.PublicIPAddress.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fe, "", err
	}
	fe.Address = addr
	return fe, fp.PublicIPAddress.ID, nil
}

// securityGroupPath is a security group's inbound rules, the default ones
// included, by priority.
func securityGroupPath(rec *store.Resource) (clusterspec.SecurityGroup, error) {
	g := clusterspec.SecurityGroup{ID: rec.ID}
	rules, err := arm.ChildrenOf(rec, "securityRules", "")
	if err != nil {
		return g, err
	}
	for _, c := range append(rules, network.DefaultSecurityRules(rec)...) {
		var sp network.SecurityRuleProperties
		if err := json.Unmarshal(c.Properties, &sp); err != nil {
			return g, err
		}
		if !strings.EqualFold(sp.Direction, "Inbound") {
			continue
		}
		g.Rules = append(g.Rules, clusterspec.SecurityRule{
			Name: c.Name, Priority: sp.Priority, Allow: strings.EqualFold(sp.Access, "Allow"), Protocol: sp.Protocol,
			Sources:      oneOrMany(sp.SourceAddressPrefix, sp.SourceAddressPrefixes),
			Destinations: oneOrMany(sp.DestinationAddressPrefix, sp.DestinationAddressPrefixes),
			Ports:        oneOrMany(sp.DestinationPortRange, sp.DestinationPortRanges),
		})
	}
	sort.SliceStable(g.Rules, func(i, j int) bool { return g.Rules[i].Priority < g.Rules[j].Priority })
	return g, nil
}

// oneOrMany is a rule's single value, or its list when the single one is
// empty (ARM takes either).
func oneOrMany(one string, many []string) []string {
	if one != "" {
		return []string{one}
	}
	return many
}

// childName is the last segment of a child resource's ID.
func childName(ref *network.SubResource) string {
	if ref == nil {
		return ""
	}
	return ref.ID[strings.LastIndex(ref.ID, "/")+1:]
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
