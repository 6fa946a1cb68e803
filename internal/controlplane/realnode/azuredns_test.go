package realnode

import (
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/localaks/localaks/internal/clusterspec"
)

// recorder is a dns.ResponseWriter that keeps the reply.
type recorder struct {
	dns.ResponseWriter
	msg *dns.Msg
}

func (r *recorder) WriteMsg(m *dns.Msg) error { r.msg = m; return nil }

// Azure's DNS in the virtual network answers the nodes' names, bare or
// under internal.cloudapp.net, and refuses everything else at once.
func TestVNetDNS(t *testing.T) {
	d := &vnetDNS{}
	d.setHosts(&clusterspec.Spec{Nodes: []clusterspec.Node{
		{Name: "aks-nodepool1-1-vmss000000", InternalIP: "10.224.0.4"},
		{Name: "aks-user-2-vmss000003", InternalIP: "10.224.0.9"},
	}})
	ask := func(name string, qtype uint16) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), qtype)
		r := &recorder{}
		d.ServeDNS(r, q)
		return r.msg
	}
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
		a     string
	}{
		{"aks-nodepool1-1-vmss000000", dns.TypeA, dns.RcodeSuccess, "10.224.0.4"},
		{"AKS-USER-2-VMSS000003.abc.bx.internal.cloudapp.net", dns.TypeA, dns.RcodeSuccess, "10.224.0.9"},
		{"aks-nodepool1-1-vmss000000", dns.TypeAAAA, dns.RcodeSuccess, ""},
		{"aks-nodepool1-1-vmss000000.example.com", dns.TypeA, dns.RcodeRefused, ""},
		{"example.com", dns.TypeA, dns.RcodeRefused, ""},
		{"MyAcr1.azurecr.io", dns.TypeA, dns.RcodeSuccess, RegistryAddress},
		{"a.b.azurecr.io", dns.TypeA, dns.RcodeRefused, ""},
	} {
		m := ask(tc.name, tc.qtype)
		if m.Rcode != tc.rcode {
			t.Errorf("%s: rcode %s, want %s", tc.name, dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.rcode])
		}
		var got string
		if len(m.Answer) == 1 {
			got = m.Answer[0].(*dns.A).A.String()
		}
		if got != tc.a || (tc.a == "") != (len(m.Answer) == 0) {
			t.Errorf("%s: answer %v, want %q", tc.name, m.Answer, tc.a)
		}
	}
	if ip := net.ParseIP("10.224.0.4"); !ip.Equal(net.ParseIP(ask("aks-nodepool1-1-vmss000000", dns.TypeANY).Answer[0].(*dns.A).A.String())) {
		t.Error("ANY has no A record")
	}
}
