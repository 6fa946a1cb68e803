package realnode

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"

	"github.com/miekg/dns"

	"github.com/localaks/localaks/internal/clusterspec"
)

// AzureDNS is the address of Azure's DNS (the platform's resolver) in
// every virtual network: nodes' resolv.conf names it, and CoreDNS forwards
// what is not the cluster's to it.
const AzureDNS = "168.63.129.16"

// vnetDNS answers at AzureDNS inside the virtual network's namespace, as
// Azure-provided name resolution does: the VNet's VM names (the nodes'
// hostnames, bare or under internal.cloudapp.net) resolve to their private
// addresses; container registries' login servers resolve to the relay
// that reaches them (platform.go). Every other name is refused at once: this host is offline,
// and no query ever leaves the namespaces localaks made.
type vnetDNS struct {
	mu      sync.Mutex
	hosts   map[string]net.IP
	servers []*dns.Server
}

// internalSuffix is the domain of Azure's internal names.
const internalSuffix = ".internal.cloudapp.net"

// setHosts makes the names answered those of s's nodes.
func (d *vnetDNS) setHosts(s *clusterspec.Spec) {
	hosts := map[string]net.IP{}
	for _, n := range s.Nodes {
		if ip := net.ParseIP(n.InternalIP).To4(); ip != nil {
			hosts[strings.ToLower(n.Name)] = ip
		}
	}
	d.mu.Lock()
	d.hosts = hosts
	d.mu.Unlock()
}

func (d *vnetDNS) lookup(qname string) (net.IP, bool) {
	name := strings.TrimSuffix(strings.ToLower(qname), ".")
	if login, ok := strings.CutSuffix(name, registrySuffix); ok && login != "" && !strings.Contains(login, ".") {
		// A container registry's login server (platform.go).
		return net.ParseIP(RegistryAddress).To4(), true
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		if !strings.HasSuffix(name, internalSuffix) {
			return nil, false
		}
		name = name[:i]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ip, ok := d.hosts[name]
	return ip, ok
}

// ServeDNS answers one query.
func (d *vnetDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		w.WriteMsg(resp) //nolint:errcheck // the client may be gone
		return
	}
	q := req.Question[0]
	ip, ok := d.lookup(q.Name)
	switch {
	case !ok:
		resp.Rcode = dns.RcodeRefused
	case q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY:
		resp.Authoritative = true
		resp.Answer = append(resp.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 10}, A: ip})
	default:
		resp.Authoritative = true // the name exists, with no record of that type
	}
	w.WriteMsg(resp) //nolint:errcheck // the client may be gone
}

// ensureDNS serves Azure's DNS in the fabric for s, once: a second
// cluster in the same virtual network finds the address taken and leaves
// it to the first.
func (m *Manager) ensureDNS(s *clusterspec.Spec) error {
	if m.dns == nil {
		m.dns = &vnetDNS{}
	}
	m.dns.setHosts(s)
	if len(m.dns.servers) > 0 {
		return nil
	}
	addr := netip.MustParseAddr(AzureDNS)
	if err := m.fab.ensureAddress(addr); err != nil {
		return err
	}
	hostport := net.JoinHostPort(AzureDNS, "53")
	var pc net.PacketConn
	var ln net.Listener
	err := inNetns(m.fab.ns, func() error {
		var err error
		if pc, err = net.ListenPacket("udp", hostport); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp", hostport); err != nil {
			pc.Close()
		}
		return err
	})
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: m.dns}, {Listener: ln, Handler: m.dns}} {
		m.dns.servers = append(m.dns.servers, srv)
		go srv.ActivateAndServe() //nolint:errcheck // ends when shut down
	}
	return nil
}

// stopDNS stops serving Azure's DNS.
func (m *Manager) stopDNS() {
	if m.dns == nil {
		return
	}
	for _, srv := range m.dns.servers {
		srv.Shutdown() //nolint:errcheck // closing
	}
	m.dns.servers = nil
}
