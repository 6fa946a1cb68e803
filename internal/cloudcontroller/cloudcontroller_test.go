package cloudcontroller

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func service(ann map[string]string, ports ...v1.ServicePort) *v1.Service {
	if len(ports) == 0 {
		ports = []v1.ServicePort{{Port: 80, NodePort: 31000, Protocol: v1.ProtocolTCP}}
	}
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901", Annotations: ann},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Ports: ports}}
}

func TestBaseName(t *testing.T) {
	if got := BaseName(service(nil)); got != "a1b2c3d4e5f60718293a4b5c6d7e8f90" || len(got) != 32 {
		t.Errorf("baseName = %q", got)
	}
}

func TestParseServiceDefaults(t *testing.T) {
	c, err := parseService(service(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.internal || c.idleTimeout != 4 || !c.tcpReset || !c.floatingIP || c.probeInterval != 5 || c.probeCount != 2 || !c.nsgRule || len(c.sourceRanges) != 0 {
		t.Errorf("defaults = %+v", c)
	}
	s := service(map[string]string{annInternal: "true", annInternalSubnet: "apps", annIdleTimeout: "30", annDisableTCPReset: "true",
		annAllowedIPRanges: "10.0.0.0/8, 192.168.1.0/24", annIPv4: "10.224.0.50"})
	s.Spec.LoadBalancerSourceRanges = []string{"1.2.3.0/24"}
	c, err = parseService(s)
	if err != nil {
		t.Fatal(err)
	}
	if !c.internal || c.internalSubnet != "apps" || c.idleTimeout != 30 || c.tcpReset || c.ipv4 != "10.224.0.50" ||
		strings.Join(c.sourceRanges, ",") != "1.2.3.0/24,10.0.0.0/8,192.168.1.0/24" {
		t.Errorf("annotated = %+v", c)
	}
	if got := frontendName(s, c); got != BaseName(s)+"-apps" {
		t.Errorf("frontend name with subnet = %q", got)
	}
}

// Bad annotations are errors (the service controller turns them into
// Warning events).
func TestParseServiceErrors(t *testing.T) {
	for name, ann := range map[string]map[string]string{
		"idle timeout too small":   {annIdleTimeout: "2"},
		"idle timeout not number":  {annIdleTimeout: "x"},
		"subnet without internal":  {annInternalSubnet: "apps"},
		"internal with PIP name":   {annInternal: "true", annPIPName: "p"},
		"bad bool":                 {annInternal: "yes"},
		"bad probe protocol":       {annProbeProtocol: "icmp"},
		"probe interval too short": {annProbeInterval: "1"},
		"probe path relative":      {annProbeRequestPath: "healthz"},
		"bad source range":         {annAllowedIPRanges: "10.0.0.0/33"},
		"bad IPv4":                 {annIPv4: "fd00::1"},
	} {
		if _, err := parseService(service(ann)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseService(service(nil, v1.ServicePort{Port: 9, Protocol: v1.ProtocolSCTP})); err == nil {
		t.Error("SCTP accepted")
	}
}

func TestProbeFor(t *testing.T) {
	s := service(nil)
	c, _ := parseService(s)
	p := probeFor(s, s.Spec.Ports[0], c, "r")
	if *p.Properties.Protocol != armnetwork.ProbeProtocolTCP || *p.Properties.Port != 31000 || *p.Properties.IntervalInSeconds != 5 {
		t.Errorf("default probe = %+v", p.Properties)
	}
	s.Spec.ExternalTrafficPolicy, s.Spec.HealthCheckNodePort = v1.ServiceExternalTrafficPolicyLocal, 32100
	p = probeFor(s, s.Spec.Ports[0], c, "r")
	if *p.Properties.Protocol != armnetwork.ProbeProtocolHTTP || *p.Properties.Port != 32100 || *p.Properties.RequestPath != "/healthz" {
		t.Errorf("Local probe = %+v", p.Properties)
	}
	udp := service(nil, v1.ServicePort{Port: 53, NodePort: 30053, Protocol: v1.ProtocolUDP})
	if p := probeFor(udp, udp.Spec.Ports[0], c, "r"); p != nil {
		t.Errorf("UDP port got a probe: %+v", p.Properties)
	}
	c.probeProtocol, c.probePath = "http", "/ready"
	p = probeFor(service(nil), service(nil).Spec.Ports[0], c, "r")
	if *p.Properties.Protocol != armnetwork.ProbeProtocolHTTP || *p.Properties.RequestPath != "/ready" {
		t.Errorf("annotated probe = %+v", p.Properties)
	}
}

// Stripping a Service's children leaves others' alone.
func TestStrip(t *testing.T) {
	base := "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	lb := &armnetwork.LoadBalancer{Properties: &armnetwork.LoadBalancerPropertiesFormat{
		FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{Name: to.Ptr(base)}, {Name: to.Ptr("outbound-guid")}, {Name: to.Ptr(base + "0")}},
		LoadBalancingRules:       []*armnetwork.LoadBalancingRule{{Name: to.Ptr(base + "-TCP-80")}, {Name: to.Ptr("other-TCP-80")}},
		Probes:                   []*armnetwork.Probe{{Name: to.Ptr(base + "-TCP-80")}},
	}}
	if !strip(lb, base) {
		t.Fatal("nothing stripped")
	}
	var names []string
	for _, f := range lb.Properties.FrontendIPConfigurations {
		names = append(names, *f.Name)
	}
	if strings.Join(names, ",") != "outbound-guid,"+base+"0" || len(lb.Properties.LoadBalancingRules) != 1 || len(lb.Properties.Probes) != 0 {
		t.Errorf("after strip: frontends %v, %d rules, %d probes", names, len(lb.Properties.LoadBalancingRules), len(lb.Properties.Probes))
	}
	if strip(lb, base) {
		t.Error("second strip found something")
	}
}

func TestSecurityRuleName(t *testing.T) {
	a := securityRuleName("Tcp", []string{"Internet"}, []string{"80"})
	if !strings.HasPrefix(a, "k8s-azure-lb_allow_IPv4_") || len(a) != len("k8s-azure-lb_allow_IPv4_")+32 {
		t.Errorf("name = %q", a)
	}
	if a != securityRuleName("Tcp", []string{"Internet"}, []string{"80"}) || a == securityRuleName("Tcp", []string{"Internet"}, []string{"443"}) {
		t.Error("rule names are not a function of protocol, sources and ports")
	}
}
