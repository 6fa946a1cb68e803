package dataplane

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/localaks/localaks/internal/clusterspec"
)

// azureHost is the Azure platform's address: the AzureLoadBalancer service
// tag (health probes come from it) and Azure's DNS.
var azureHost = netip.MustParseAddr("168.63.129.16")

// flow is one inbound connection as security rules see it.
type flow struct {
	src, dst netip.Addr
	port     int
	protocol string // Tcp or Udp
}

// allowed evaluates the security groups on a flow's way, each in priority
// order (the first rule that matches decides), as Azure does: every group
// must allow it. When one denies it, it returns that group's deciding rule.
func allowed(groups []clusterspec.SecurityGroup, vnet []netip.Prefix, f flow) (bool, string) {
	for _, g := range groups {
		for _, r := range g.Rules {
			if !ruleMatches(r, vnet, f) {
				continue
			}
			if !r.Allow {
				return false, r.Name
			}
			break
		}
	}
	return true, ""
}

// ruleMatches tells whether r applies to f.
func ruleMatches(r clusterspec.SecurityRule, vnet []netip.Prefix, f flow) bool {
	if p := r.Protocol; p != "" && p != "*" && !strings.EqualFold(p, f.protocol) {
		return false
	}
	return anyAddress(r.Sources, vnet, f.src) && anyAddress(r.Destinations, vnet, f.dst) && anyPort(r.Ports, f.port)
}

// anyAddress tells whether addr is one of the rule's address prefixes,
// addresses or service tags. Of the service tags localaks knows the ones
// a cluster's traffic can meet: VirtualNetwork (the virtual network's
// address space), AzureLoadBalancer (the platform's address) and Internet
// (everything else: on this machine, the host's own addresses).
func anyAddress(list []string, vnet []netip.Prefix, addr netip.Addr) bool {
	for _, a := range list {
		switch strings.ToLower(a) {
		case "*", "any", "0.0.0.0/0":
			return true
		case "virtualnetwork":
			if inAny(vnet, addr) {
				return true
			}
		case "azureloadbalancer":
			if addr == azureHost {
				return true
			}
		case "internet":
			if !inAny(vnet, addr) && addr != azureHost {
				return true
			}
		default:
			if p, err := netip.ParsePrefix(a); err == nil && p.Contains(addr) {
				return true
			}
			if ip, err := netip.ParseAddr(a); err == nil && ip == addr {
				return true
			}
		}
	}
	return false
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// anyPort tells whether port is in one of the ranges ("*", "80",
// "8000-8080").
func anyPort(ranges []string, port int) bool {
	for _, r := range ranges {
		if r == "*" {
			return true
		}
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 == nil && err2 == nil && l <= port && port <= h {
			return true
		}
	}
	return false
}
