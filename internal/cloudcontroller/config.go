package cloudcontroller

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Service annotations cloud-provider-azure reads (the ones localaks acts
// on).
const (
	annotationPrefix      = "service.beta.kubernetes.io/"
	annInternal           = annotationPrefix + "azure-load-balancer-internal"
	annInternalSubnet     = annotationPrefix + "azure-load-balancer-internal-subnet"
	annPIPName            = annotationPrefix + "azure-pip-name"
	annResourceGroup      = annotationPrefix + "azure-load-balancer-resource-group"
	annDNSLabel           = annotationPrefix + "azure-dns-label-name"
	annIPv4               = annotationPrefix + "azure-load-balancer-ipv4"
	annIdleTimeout        = annotationPrefix + "azure-load-balancer-tcp-idle-timeout"
	annDisableTCPReset    = annotationPrefix + "azure-load-balancer-disable-tcp-reset"
	annDisableFloatingIP  = annotationPrefix + "azure-disable-load-balancer-floating-ip"
	annProbeProtocol      = annotationPrefix + "azure-load-balancer-health-probe-protocol"
	annProbeInterval      = annotationPrefix + "azure-load-balancer-health-probe-interval"
	annProbeNumOfProbe    = annotationPrefix + "azure-load-balancer-health-probe-num-of-probe"
	annProbeRequestPath   = annotationPrefix + "azure-load-balancer-health-probe-request-path"
	annAllowedIPRanges    = annotationPrefix + "azure-allowed-ip-ranges"
	annDisableNSGRule     = annotationPrefix + "azure-disable-load-balancer-nsg-rule"
	annAllowedServiceTags = annotationPrefix + "azure-allowed-service-tags"
)

// serviceConfig is what a Service asks of its load balancer.
type serviceConfig struct {
	internal       bool
	internalSubnet string
	pipName        string
	resourceGroup  string // the public IP's group ("" = node resource group)
	dnsLabel       string
	ipv4           string
	idleTimeout    int32
	tcpReset       bool
	floatingIP     bool
	probeProtocol  string // "" = TCP on the node port
	probeInterval  int32
	probeCount     int32
	probePath      string
	sourceRanges   []string
	nsgRule        bool
}

// parseService reads a Service's load balancer settings; a bad annotation
// is an error the service controller reports as a Warning event on the
// Service, as cloud-provider-azure's are.
func parseService(svc *v1.Service) (serviceConfig, error) {
	a := svc.Annotations
	c := serviceConfig{idleTimeout: 4, tcpReset: true, floatingIP: true, probeInterval: 5, probeCount: 2, nsgRule: true}
	var err error
	if c.internal, err = boolAnnotation(a, annInternal); err != nil {
		return c, err
	}
	c.internalSubnet = a[annInternalSubnet]
	if c.internalSubnet != "" && !c.internal {
		return c, fmt.Errorf("annotation %s needs %s: \"true\"", annInternalSubnet, annInternal)
	}
	c.pipName = a[annPIPName]
	c.resourceGroup = strings.TrimSpace(a[annResourceGroup])
	c.dnsLabel = a[annDNSLabel]
	if c.internal && (c.pipName != "" || c.dnsLabel != "") {
		return c, fmt.Errorf("an internal load balancer has no public IP: %s and %s do not apply", annPIPName, annDNSLabel)
	}
	c.ipv4 = a[annIPv4]
	if c.ipv4 == "" {
		c.ipv4 = svc.Spec.LoadBalancerIP
	}
	if c.ipv4 != "" {
		ip, err := netip.ParseAddr(c.ipv4)
		if err != nil || !ip.Is4() {
			return c, fmt.Errorf("%q is not an IPv4 address (%s)", c.ipv4, annIPv4)
		}
	}
	if v, ok := a[annIdleTimeout]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 || n > 100 {
			return c, fmt.Errorf("idle timeout value must be a whole number representing minutes between 4 and 100, actual value: %q", v)
		}
		c.idleTimeout = int32(n)
	}
	if d, err := boolAnnotation(a, annDisableTCPReset); err != nil {
		return c, err
	} else if d {
		c.tcpReset = false
	}
	if d, err := boolAnnotation(a, annDisableFloatingIP); err != nil {
		return c, err
	} else if d {
		c.floatingIP = false
	}
	if v, ok := a[annProbeProtocol]; ok {
		switch strings.ToLower(v) {
		case "tcp", "http", "https":
			c.probeProtocol = strings.ToLower(v)
		default:
			return c, fmt.Errorf("health probe protocol %q is not one of Tcp, Http, Https (%s)", v, annProbeProtocol)
		}
	}
	if v, ok := a[annProbeInterval]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 {
			return c, fmt.Errorf("the health probe interval must be a number of seconds of at least 5, actual value: %q", v)
		}
		c.probeInterval = int32(n)
	}
	if v, ok := a[annProbeNumOfProbe]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("the number of probes must be a whole number of at least 1, actual value: %q", v)
		}
		c.probeCount = int32(n)
	}
	c.probePath = a[annProbeRequestPath]
	if c.probePath != "" && !strings.HasPrefix(c.probePath, "/") {
		return c, fmt.Errorf("the health probe request path must start with /, actual value: %q", c.probePath)
	}
	ranges := svc.Spec.LoadBalancerSourceRanges
	if v := a[annAllowedIPRanges]; v != "" {
		ranges = append(ranges, strings.Split(v, ",")...)
	}
	for _, r := range ranges {
		r = strings.TrimSpace(r)
		if _, err := netip.ParsePrefix(r); err != nil {
			return c, fmt.Errorf("source range %q is not a CIDR: %v", r, err)
		}
		c.sourceRanges = append(c.sourceRanges, r)
	}
	if v := a[annAllowedServiceTags]; v != "" {
		for _, tag := range strings.Split(v, ",") {
			c.sourceRanges = append(c.sourceRanges, strings.TrimSpace(tag))
		}
	}
	if d, err := boolAnnotation(a, annDisableNSGRule); err != nil {
		return c, err
	} else if d {
		c.nsgRule = false
	}
	for _, p := range svc.Spec.Ports {
		if p.Protocol == v1.ProtocolSCTP {
			return c, fmt.Errorf("port %d: Azure load balancers do not support SCTP", p.Port)
		}
	}
	return c, nil
}

func boolAnnotation(a map[string]string, key string) (bool, error) {
	v, ok := a[key]
	if !ok {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, fmt.Errorf("annotation %s: %q is neither \"true\" nor \"false\"", key, v)
}

// BaseName is cloud-provider-azure's name for a Service's load balancer
// objects: "a" and the Service UID without dashes, cut to 32 characters.
func BaseName(svc *v1.Service) string {
	n := "a" + strings.ReplaceAll(string(svc.UID), "-", "")
	if len(n) > 32 {
		n = n[:32]
	}
	return n
}
