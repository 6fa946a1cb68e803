package cloudcontroller

import (
	"context"
	"crypto/md5" //nolint:gosec // a name, as cloud-provider-azure derives it, not security
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	v1 "k8s.io/api/core/v1"

	"github.com/localaks/localaks/internal/resourceid"
)

// Tags cloud-provider-azure puts on the public IPs it creates.
const (
	tagService     = "k8s-azure-service"
	tagClusterName = "k8s-azure-cluster-name"
	tagDNSLabel    = "k8s-azure-dns-label-service"
	backendPool    = ClusterName
	nsgRulePrefix  = "k8s-azure-lb_allow_IPv4_"
	firstPriority  = 500
	lastPriority   = 4096
)

func lbName(internal bool) string {
	if internal {
		return ClusterName + "-internal"
	}
	return ClusterName
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

func (p *Provider) lbID(name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/loadBalancers/%s", p.cfg.SubscriptionID, p.cfg.ResourceGroup, name)
}

// owns reports whether a load balancer child named name belongs to the
// Service whose base name is base.
func owns(base, name string) bool { return name == base || strings.HasPrefix(name, base+"-") }

// GetLoadBalancerName is the Service's frontend name.
func (p *Provider) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return BaseName(svc)
}

// GetLoadBalancer reports the Service's frontend address, if it has one on
// either load balancer. It does not read the Service's annotations: a
// Service whose annotations went bad must still be cleaned up.
func (p *Provider) GetLoadBalancer(ctx context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	base := BaseName(svc)
	for _, internal := range []bool{false, true} {
		lb, err := p.lbs.Get(ctx, p.cfg.ResourceGroup, lbName(internal), nil)
		if isNotFound(err) {
			continue
		} else if err != nil {
			return nil, false, err
		}
		if lb.Properties == nil {
			continue
		}
		for _, f := range lb.Properties.FrontendIPConfigurations {
			if f.Name == nil || !owns(base, *f.Name) {
				continue
			}
			ip, err := p.frontendIP(ctx, &lb.LoadBalancer, *f.Name)
			if err != nil {
				return nil, false, err
			}
			if ip != "" {
				return status(ip), true, nil
			}
		}
	}
	return nil, false, nil
}

func status(ip string) *v1.LoadBalancerStatus {
	vip := v1.LoadBalancerIPModeVIP
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: ip, IPMode: &vip}}}
}

func frontendName(svc *v1.Service, c serviceConfig) string {
	name := BaseName(svc)
	if c.internalSubnet != "" {
		name += "-" + c.internalSubnet
		if len(name) > 75 {
			name = name[:75]
		}
	}
	return name
}

// frontendIP is a frontend's address: its private IP, or its public IP's.
func (p *Provider) frontendIP(ctx context.Context, lb *armnetwork.LoadBalancer, name string) (string, error) {
	if lb.Properties == nil {
		return "", nil
	}
	for _, f := range lb.Properties.FrontendIPConfigurations {
		if f.Name == nil || *f.Name != name || f.Properties == nil {
			continue
		}
		if f.Properties.PrivateIPAddress != nil && *f.Properties.PrivateIPAddress != "" {
			return *f.Properties.PrivateIPAddress, nil
		}
		if f.Properties.PublicIPAddress != nil && f.Properties.PublicIPAddress.ID != nil {
			id, err := resourceid.Parse(*f.Properties.PublicIPAddress.ID)
			if err != nil {
				return "", err
			}
			pip, err := p.pips.Get(ctx, id.ResourceGroupName(), id.Name(), nil)
			if err != nil {
				return "", err
			}
			if pip.Properties != nil && pip.Properties.IPAddress != nil {
				return *pip.Properties.IPAddress, nil
			}
		}
	}
	return "", nil
}

// EnsureLoadBalancer gives the Service a frontend on the `kubernetes` (or
// `kubernetes-internal`) load balancer with a rule and a probe per port,
// a public IP `kubernetes-{base}` (public Services), and an NSG allow rule.
func (p *Provider) EnsureLoadBalancer(ctx context.Context, _ string, svc *v1.Service, _ []*v1.Node) (*v1.LoadBalancerStatus, error) {
	c, err := parseService(svc)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A Service that changed between public and internal leaves the other
	// load balancer.
	if err := p.removeFrom(ctx, lbName(!c.internal), svc); err != nil {
		return nil, err
	}
	if c.internal {
		// Its public IP, if it had one, goes with the public frontend.
		if err := p.deletePublicIPs(ctx, svc); err != nil {
			return nil, err
		}
	}
	fe := &armnetwork.FrontendIPConfiguration{Name: to.Ptr(frontendName(svc, c)), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{}}
	if c.internal {
		subnet := c.internalSubnet
		if subnet == "" {
			subnet = p.cfg.SubnetName
		}
		fe.Properties.Subnet = &armnetwork.Subnet{ID: to.Ptr(fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s/subnets/%s",
			p.cfg.SubscriptionID, p.cfg.VNetResourceGroup, p.cfg.VNetName, subnet))}
		fe.Properties.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodDynamic)
		if c.ipv4 != "" {
			fe.Properties.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodStatic)
			fe.Properties.PrivateIPAddress = to.Ptr(c.ipv4)
		}
	} else {
		pipID, err := p.ensurePublicIP(ctx, svc, c)
		if err != nil {
			return nil, err
		}
		fe.Properties.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to.Ptr(pipID)}
	}
	name := lbName(c.internal)
	lb, err := p.getOrNew(ctx, name)
	if err != nil {
		return nil, err
	}
	strip(lb, BaseName(svc))
	id := p.lbID(name)
	props := lb.Properties
	props.FrontendIPConfigurations = append(props.FrontendIPConfigurations, fe)
	feID := id + "/frontendIPConfigurations/" + *fe.Name
	for _, port := range svc.Spec.Ports {
		rule := fmt.Sprintf("%s-%s-%d", *fe.Name, port.Protocol, port.Port)
		if len(rule) > 80 {
			rule = rule[:80]
		}
		r := &armnetwork.LoadBalancingRule{Name: to.Ptr(rule), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
			FrontendIPConfiguration: &armnetwork.SubResource{ID: to.Ptr(feID)},
			BackendAddressPool:      &armnetwork.SubResource{ID: to.Ptr(id + "/backendAddressPools/" + backendPool)},
			Protocol:                to.Ptr(armnetwork.TransportProtocol(protocolName(port.Protocol))),
			FrontendPort:            to.Ptr(port.Port),
			BackendPort:             to.Ptr(port.Port),
			IdleTimeoutInMinutes:    to.Ptr(c.idleTimeout),
			EnableFloatingIP:        to.Ptr(c.floatingIP),
			LoadDistribution:        to.Ptr(armnetwork.LoadDistributionDefault),
			DisableOutboundSnat:     to.Ptr(!c.internal),
		}}
		if !c.floatingIP {
			r.Properties.BackendPort = to.Ptr(port.NodePort)
		}
		if port.Protocol == v1.ProtocolTCP {
			r.Properties.EnableTCPReset = to.Ptr(c.tcpReset)
		}
		if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
			r.Properties.LoadDistribution = to.Ptr(armnetwork.LoadDistributionSourceIP)
		}
		if probe := probeFor(svc, port, c, rule); probe != nil {
			props.Probes = append(props.Probes, probe)
			r.Properties.Probe = &armnetwork.SubResource{ID: to.Ptr(id + "/probes/" + *probe.Name)}
		}
		props.LoadBalancingRules = append(props.LoadBalancingRules, r)
	}
	res, err := p.put(ctx, name, lb)
	if err != nil {
		return nil, err
	}
	if c.internal {
		// The internal load balancer's pool holds the nodes, as
		// cloud-provider-azure puts scale sets in it.
		if err := p.setNodePool(ctx, id+"/backendAddressPools/"+backendPool, true); err != nil {
			return nil, err
		}
	}
	ip, err := p.frontendIP(ctx, res, *fe.Name)
	if err != nil {
		return nil, err
	}
	if ip == "" {
		return nil, fmt.Errorf("load balancer %s has no address for frontend %s", name, *fe.Name)
	}
	if err := p.syncSecurityRules(ctx, svc, c, ip); err != nil {
		return nil, err
	}
	return status(ip), nil
}

// probeFor is a port's health probe: TCP on the node port by default; with
// externalTrafficPolicy Local, HTTP /healthz on the health-check node
// port; UDP ports get none.
func probeFor(svc *v1.Service, port v1.ServicePort, c serviceConfig, name string) *armnetwork.Probe {
	pr := &armnetwork.ProbePropertiesFormat{Port: to.Ptr(port.NodePort), IntervalInSeconds: to.Ptr(c.probeInterval),
		NumberOfProbes: to.Ptr(c.probeCount), ProbeThreshold: to.Ptr(c.probeCount)}
	switch {
	case svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal && svc.Spec.HealthCheckNodePort != 0:
		pr.Protocol = to.Ptr(armnetwork.ProbeProtocolHTTP)
		pr.Port = to.Ptr(svc.Spec.HealthCheckNodePort)
		pr.RequestPath = to.Ptr("/healthz")
	case port.Protocol == v1.ProtocolUDP && c.probeProtocol == "":
		return nil
	case c.probeProtocol == "http" || c.probeProtocol == "https":
		pr.Protocol = to.Ptr(armnetwork.ProbeProtocol(strings.ToUpper(c.probeProtocol[:1]) + c.probeProtocol[1:]))
		pr.RequestPath = to.Ptr("/")
		if c.probePath != "" {
			pr.RequestPath = to.Ptr(c.probePath)
		}
	default:
		pr.Protocol = to.Ptr(armnetwork.ProbeProtocolTCP)
	}
	return &armnetwork.Probe{Name: to.Ptr(name), Properties: pr}
}

func protocolName(p v1.Protocol) string {
	if p == v1.ProtocolUDP {
		return "Udp"
	}
	return "Tcp"
}

// UpdateLoadBalancer has nothing to do: the backend pool's members are the
// scale sets' NICs, which join it when AKS creates them.
func (p *Provider) UpdateLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) error {
	return nil
}

// EnsureLoadBalancerDeleted removes everything the Service had: its
// frontends, rules and probes, the public IP made for it, its NSG rules,
// and the internal load balancer once no Service uses it.
func (p *Provider) EnsureLoadBalancerDeleted(ctx context.Context, _ string, svc *v1.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, internal := range []bool{false, true} {
		if err := p.removeFrom(ctx, lbName(internal), svc); err != nil {
			return err
		}
	}
	if err := p.deletePublicIPs(ctx, svc); err != nil {
		return err
	}
	return p.syncSecurityRules(ctx, svc, serviceConfig{}, "")
}

// removeFrom strips the Service's children from a load balancer; an
// internal load balancer left without frontends is deleted, as
// cloud-provider-azure deletes it.
func (p *Provider) removeFrom(ctx context.Context, name string, svc *v1.Service) error {
	res, err := p.lbs.Get(ctx, p.cfg.ResourceGroup, name, nil)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	lb := &res.LoadBalancer
	if !strip(lb, BaseName(svc)) {
		return nil
	}
	if name != ClusterName && len(lb.Properties.FrontendIPConfigurations) == 0 {
		// Nodes leave the pool first (Azure refuses to delete a load
		// balancer a scale set still uses).
		if err := p.setNodePool(ctx, p.lbID(name)+"/backendAddressPools/"+backendPool, false); err != nil {
			return err
		}
		poller, err := p.lbs.BeginDelete(ctx, p.cfg.ResourceGroup, name, nil)
		if err != nil {
			return err
		}
		_, err = poller.PollUntilDone(ctx, nil)
		return err
	}
	_, err = p.put(ctx, name, lb)
	return err
}

// strip removes a Service's frontends, rules and probes; it reports
// whether there were any.
func strip(lb *armnetwork.LoadBalancer, base string) bool {
	if lb.Properties == nil {
		lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
		return false
	}
	pr := lb.Properties
	n := len(pr.FrontendIPConfigurations) + len(pr.LoadBalancingRules) + len(pr.Probes)
	pr.FrontendIPConfigurations = slices.DeleteFunc(pr.FrontendIPConfigurations, func(f *armnetwork.FrontendIPConfiguration) bool {
		return f.Name != nil && owns(base, *f.Name)
	})
	pr.LoadBalancingRules = slices.DeleteFunc(pr.LoadBalancingRules, func(r *armnetwork.LoadBalancingRule) bool {
		return r.Name != nil && owns(base, *r.Name)
	})
	pr.Probes = slices.DeleteFunc(pr.Probes, func(r *armnetwork.Probe) bool { return r.Name != nil && owns(base, *r.Name) })
	return n != len(pr.FrontendIPConfigurations)+len(pr.LoadBalancingRules)+len(pr.Probes)
}

// getOrNew reads a load balancer, or makes the internal one AKS creates
// on the first internal Service: Standard, with the `kubernetes` pool.
func (p *Provider) getOrNew(ctx context.Context, name string) (*armnetwork.LoadBalancer, error) {
	res, err := p.lbs.Get(ctx, p.cfg.ResourceGroup, name, nil)
	if err == nil {
		if res.Properties == nil {
			res.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
		}
		return &res.LoadBalancer, nil
	}
	if !isNotFound(err) {
		return nil, err
	}
	if name == ClusterName {
		return nil, fmt.Errorf("the cluster's load balancer %s is missing from %s", name, p.cfg.ResourceGroup)
	}
	return &armnetwork.LoadBalancer{
		Location: to.Ptr(p.cfg.Location),
		SKU:      &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard), Tier: to.Ptr(armnetwork.LoadBalancerSKUTierRegional)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			BackendAddressPools: []*armnetwork.BackendAddressPool{{Name: to.Ptr(backendPool)}},
		},
	}, nil
}

func (p *Provider) put(ctx context.Context, name string, lb *armnetwork.LoadBalancer) (*armnetwork.LoadBalancer, error) {
	poller, err := p.lbs.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, name, *lb, nil)
	if err != nil {
		return nil, err
	}
	res, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &res.LoadBalancer, nil
}

// ensurePublicIP returns the Service's public IP: the one holding the
// requested address, or `kubernetes-{base}` (or azure-pip-name), created in
// the node resource group (or azure-load-balancer-resource-group) when
// missing, with cloud-provider-azure's tags and the DNS label.
func (p *Provider) ensurePublicIP(ctx context.Context, svc *v1.Service, c serviceConfig) (string, error) {
	rg := c.resourceGroup
	if rg == "" {
		rg = p.cfg.ResourceGroup
	}
	if c.ipv4 != "" && c.pipName == "" {
		pager := p.pips.NewListPager(rg, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, pip := range page.Value {
				if pip.Properties != nil && pip.Properties.IPAddress != nil && *pip.Properties.IPAddress == c.ipv4 {
					return *pip.ID, nil
				}
			}
		}
		return "", fmt.Errorf("user supplied IP address %s was not found in resource group %s", c.ipv4, rg)
	}
	name := c.pipName
	if name == "" {
		name = ClusterName + "-" + BaseName(svc)
	}
	res, err := p.pips.Get(ctx, rg, name, nil)
	switch {
	case err == nil:
		pip := res.PublicIPAddress
		owned := pip.Tags[tagService] != nil && *pip.Tags[tagService] == svc.Namespace+"/"+svc.Name
		label := ""
		if pip.Properties != nil && pip.Properties.DNSSettings != nil && pip.Properties.DNSSettings.DomainNameLabel != nil {
			label = *pip.Properties.DNSSettings.DomainNameLabel
		}
		if !owned || label == c.dnsLabel {
			return *pip.ID, nil
		}
		// Our IP with another DNS label: update it below.
	case !isNotFound(err):
		return "", err
	}
	pip := armnetwork.PublicIPAddress{
		Location: to.Ptr(p.cfg.Location),
		SKU:      &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard), Tier: to.Ptr(armnetwork.PublicIPAddressSKUTierRegional)},
		Tags:     map[string]*string{tagService: to.Ptr(svc.Namespace + "/" + svc.Name), tagClusterName: to.Ptr(ClusterName)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
			PublicIPAddressVersion:   to.Ptr(armnetwork.IPVersionIPv4),
		},
	}
	if c.dnsLabel != "" {
		pip.Properties.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr(c.dnsLabel)}
		pip.Tags[tagDNSLabel] = to.Ptr(svc.Namespace + "/" + svc.Name)
	}
	poller, err := p.pips.BeginCreateOrUpdate(ctx, rg, name, pip, nil)
	if err != nil {
		return "", err
	}
	out, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		return "", err
	}
	return *out.ID, nil
}

// deletePublicIPs deletes the public IPs made for the Service (tagged with
// it and this cluster); IPs the user made stay.
func (p *Provider) deletePublicIPs(ctx context.Context, svc *v1.Service) error {
	groups := []string{p.cfg.ResourceGroup}
	if rg := strings.TrimSpace(svc.Annotations[annResourceGroup]); rg != "" && !strings.EqualFold(rg, p.cfg.ResourceGroup) {
		groups = append(groups, rg)
	}
	for _, rg := range groups {
		pager := p.pips.NewListPager(rg, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if isNotFound(err) {
				break
			} else if err != nil {
				return err
			}
			for _, pip := range page.Value {
				s, c := pip.Tags[tagService], pip.Tags[tagClusterName]
				if s == nil || c == nil || *s != svc.Namespace+"/"+svc.Name || *c != ClusterName {
					continue
				}
				poller, err := p.pips.BeginDelete(ctx, rg, *pip.Name, nil)
				if err != nil {
					return err
				}
				if _, err := poller.PollUntilDone(ctx, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// securityRuleName is cloud-provider-azure's (v1.29+) name for the rule
// that lets a source reach ports: one rule per protocol, sources and ports,
// shared by the Services that need it, listing their frontend addresses.
func securityRuleName(protocol string, sources, ports []string) string {
	sum := md5.Sum([]byte(protocol + "_" + strings.Join(sources, ",") + "_" + strings.Join(ports, ","))) //nolint:gosec // a name
	return nsgRulePrefix + hex.EncodeToString(sum[:])
}

// syncSecurityRules makes the NSG let the Service's sources reach its ports
// on ip (none for internal Services without source ranges, or with the
// rule disabled), and takes ip out of every other rule.
func (p *Provider) syncSecurityRules(ctx context.Context, svc *v1.Service, c serviceConfig, ip string) error {
	if p.cfg.SecurityGroupName == "" {
		return nil
	}
	want := map[string]*armnetwork.SecurityRule{}
	if ip != "" && c.nsgRule && (!c.internal || len(c.sourceRanges) > 0) {
		sources := append([]string(nil), c.sourceRanges...)
		if len(sources) == 0 {
			sources = []string{"Internet"}
		}
		sort.Strings(sources)
		byProto := map[string][]string{}
		for _, port := range svc.Spec.Ports {
			pr := protocolName(port.Protocol)
			byProto[pr] = append(byProto[pr], strconv.Itoa(int(port.Port)))
		}
		for pr, ports := range byProto {
			sort.Strings(ports)
			name := securityRuleName(pr, sources, ports)
			want[name] = &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
				Protocol: to.Ptr(armnetwork.SecurityRuleProtocol(pr)), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
				Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), SourcePortRange: to.Ptr("*"),
				SourceAddressPrefixes: to.SliceOfPtrs(sources...), DestinationPortRanges: to.SliceOfPtrs(ports...),
				DestinationAddressPrefixes: []*string{to.Ptr(ip)},
			}}
		}
	}
	nsg, err := p.nsgs.Get(ctx, p.cfg.ResourceGroup, p.cfg.SecurityGroupName, nil)
	if err != nil {
		return err
	}
	used := map[int32]bool{}
	var existing []*armnetwork.SecurityRule
	if nsg.Properties != nil {
		existing = nsg.Properties.SecurityRules
	}
	for _, r := range existing {
		if r.Properties != nil && r.Properties.Priority != nil {
			used[*r.Properties.Priority] = true
		}
	}
	var owned []string // the Service's earlier addresses, in any rule
	if ip != "" {
		owned = append(owned, ip)
	}
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP != "" && !slices.Contains(owned, ing.IP) {
			owned = append(owned, ing.IP)
		}
	}
	for _, r := range existing {
		if r.Name == nil || !strings.HasPrefix(*r.Name, nsgRulePrefix) || r.Properties == nil {
			continue
		}
		dst := derefAll(r.Properties.DestinationAddressPrefixes)
		next := slices.DeleteFunc(slices.Clone(dst), func(d string) bool { return slices.Contains(owned, d) })
		if _, ok := want[*r.Name]; ok {
			next = append(next, ip)
			delete(want, *r.Name)
		}
		sort.Strings(next)
		sort.Strings(dst)
		if slices.Equal(next, dst) {
			continue
		}
		if len(next) == 0 {
			poller, err := p.rules.BeginDelete(ctx, p.cfg.ResourceGroup, p.cfg.SecurityGroupName, *r.Name, nil)
			if err != nil {
				return err
			}
			if _, err := poller.PollUntilDone(ctx, nil); err != nil {
				return err
			}
			continue
		}
		r.Properties.DestinationAddressPrefixes = to.SliceOfPtrs(next...)
		r.Properties.DestinationAddressPrefix = nil
		if err := p.putRule(ctx, r); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		prio := int32(firstPriority)
		for used[prio] {
			prio++
		}
		if prio > lastPriority {
			return fmt.Errorf("network security group %s has no free rule priority between %d and %d", p.cfg.SecurityGroupName, firstPriority, lastPriority)
		}
		used[prio] = true
		want[n].Properties.Priority = to.Ptr(prio)
		if err := p.putRule(ctx, want[n]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) putRule(ctx context.Context, r *armnetwork.SecurityRule) error {
	poller, err := p.rules.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, p.cfg.SecurityGroupName, *r.Name, *r, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

func derefAll(in []*string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// setNodePool adds (or removes) a backend pool to every scale set's model,
// then upgrades the instances to it — cloud-provider-azure's way for
// Uniform scale sets with a Manual upgrade policy.
func (p *Provider) setNodePool(ctx context.Context, poolID string, in bool) error {
	for pager := p.sets.NewListPager(p.cfg.ResourceGroup, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, set := range page.Value {
			if !setModelPool(set, poolID, in) {
				continue
			}
			poller, err := p.sets.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, *set.Name, *set, nil)
			if err != nil {
				return err
			}
			if _, err := poller.PollUntilDone(ctx, nil); err != nil {
				return err
			}
			var ids []*string
			for vms := p.vms.NewListPager(p.cfg.ResourceGroup, *set.Name, nil); vms.More(); {
				page, err := vms.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, vm := range page.Value {
					ids = append(ids, vm.InstanceID)
				}
			}
			if len(ids) == 0 {
				continue
			}
			up, err := p.sets.BeginUpdateInstances(ctx, p.cfg.ResourceGroup, *set.Name,
				armcompute.VirtualMachineScaleSetVMInstanceRequiredIDs{InstanceIDs: ids}, nil)
			if err != nil {
				return err
			}
			if _, err := up.PollUntilDone(ctx, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// setModelPool puts the pool into (or out of) a scale set model's primary
// IP configuration, reporting whether that changed it.
func setModelPool(set *armcompute.VirtualMachineScaleSet, poolID string, in bool) bool {
	if set.Properties == nil || set.Properties.VirtualMachineProfile == nil || set.Properties.VirtualMachineProfile.NetworkProfile == nil {
		return false
	}
	for _, nic := range set.Properties.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations {
		if nic.Properties == nil || len(nic.Properties.IPConfigurations) == 0 {
			continue
		}
		ipc := nic.Properties.IPConfigurations[0]
		if ipc.Properties == nil {
			continue
		}
		pools := ipc.Properties.LoadBalancerBackendAddressPools
		at := slices.IndexFunc(pools, func(r *armcompute.SubResource) bool { return r.ID != nil && strings.EqualFold(*r.ID, poolID) })
		switch {
		case in && at < 0:
			ipc.Properties.LoadBalancerBackendAddressPools = append(pools, &armcompute.SubResource{ID: to.Ptr(poolID)})
			return true
		case !in && at >= 0:
			ipc.Properties.LoadBalancerBackendAddressPools = slices.Delete(pools, at, at+1)
			return true
		}
		return false
	}
	return false
}
