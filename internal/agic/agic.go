// Package agic is the cluster's Application Gateway Ingress Controller:
// like AGIC in AKS, it turns the Ingresses of class
// azure-application-gateway into the application gateway's configuration
// (listeners, rules, URL path maps, pools of pod IPs, HTTP settings,
// probes, certificates), writes it through localaks's ARM API, and puts the
// gateway's address on the Ingresses.
package agic

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/localaks/localaks/internal/agicconfig"
	"github.com/localaks/localaks/internal/cloudcontroller"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/ingress"
	"github.com/localaks/localaks/internal/resourceid"
	"software.sslmate.com/src/go-pkcs12"
)

// Ingress classes AGIC serves: the add-on's IngressClass, and the legacy
// annotation value.
const (
	ClassName       = "azure-application-gateway"
	legacyClass     = "azure/application-gateway"
	legacyClassKey  = "kubernetes.io/ingress.class"
	annotationPfx   = "appgw.ingress.kubernetes.io/"
	managedByTag    = "managed-by-k8s-ingress"
	managedByValue  = "localaks-agic"
	serviceNameLbl  = "kubernetes.io/service-name"
	secretTLSCert   = "tls.crt"
	secretTLSKey    = "tls.key"
	privateIPAnnKey = annotationPfx + "use-private-ip"
)

// Controller reconciles Ingresses into one application gateway.
type Controller struct {
	client  kubernetes.Interface
	log     *slog.Logger
	gateway string // resource ID
	watchNS string
	gws     *armnetwork.ApplicationGatewaysClient
	pips    *armnetwork.PublicIPAddressesClient
	factory informers.SharedInformerFactory
	ing     cache.SharedIndexInformer
	svc     cache.SharedIndexInformer
	eps     cache.SharedIndexInformer
	sec     cache.SharedIndexInformer
	applied string // hash of the last configuration written
}

// New builds the controller for gateway (a resource ID).
func New(client kubernetes.Interface, cloud clusterspec.Cloud, gateway, watchNamespace string, log *slog.Logger) (*Controller, error) {
	f, err := cloudcontroller.NetworkClients(cloud)
	if err != nil {
		return nil, err
	}
	inf := informers.NewSharedInformerFactory(client, 0)
	c := &Controller{client: client, log: log, gateway: gateway, watchNS: watchNamespace,
		gws: f.NewApplicationGatewaysClient(), pips: f.NewPublicIPAddressesClient(), factory: inf,
		ing: inf.Networking().V1().Ingresses().Informer(), svc: inf.Core().V1().Services().Informer(),
		eps: inf.Discovery().V1().EndpointSlices().Informer(), sec: inf.Core().V1().Secrets().Informer()}
	return c, nil
}

// Run reconciles on every change until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	return ingress.Resync(ctx, c.log, "application gateway ingress "+c.gateway, c.sync, c.ing, c.svc, c.eps, c.sec)
}

// served reports whether AGIC serves an Ingress.
func (c *Controller) served(ing *networkingv1.Ingress) bool {
	if c.watchNS != "" && ing.Namespace != c.watchNS {
		return false
	}
	return Serves(ing)
}

// Serves tells whether an Ingress is AGIC's: its class is the add-on's
// (or it has the legacy class annotation).
func Serves(ing *networkingv1.Ingress) bool {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName == ClassName
	}
	return ing.Annotations[legacyClassKey] == legacyClass
}

func (c *Controller) sync(ctx context.Context) error {
	var ingresses []*networkingv1.Ingress
	for _, o := range c.ing.GetStore().List() {
		if ing := o.(*networkingv1.Ingress); c.served(ing) {
			ingresses = append(ingresses, ing)
		}
	}
	sort.Slice(ingresses, func(i, j int) bool {
		return ingresses[i].Namespace+"/"+ingresses[i].Name < ingresses[j].Namespace+"/"+ingresses[j].Name
	})
	gid, err := resourceid.Parse(c.gateway)
	if err != nil {
		return err
	}
	rg, name := gid.ResourceGroupName(), gid.Name()
	cur, err := c.gws.Get(ctx, rg, name, nil)
	if err != nil {
		return err
	}
	gw := cur.ApplicationGateway
	spec := agicconfig.Gateway{ID: c.gateway, Certificates: map[string]agicconfig.Certificate{}}
	if p := gw.Properties; p != nil {
		for _, g := range p.GatewayIPConfigurations {
			if g.Properties != nil && g.Properties.Subnet != nil && g.Properties.Subnet.ID != nil {
				spec.SubnetID = *g.Properties.Subnet.ID
			}
		}
		for _, f := range p.FrontendIPConfigurations {
			if f.Properties == nil {
				continue
			}
			if f.Properties.PublicIPAddress != nil && f.Properties.PublicIPAddress.ID != nil {
				spec.PublicIPID = *f.Properties.PublicIPAddress.ID
			}
			if f.Properties.PrivateIPAddress != nil && *f.Properties.PrivateIPAddress != "" {
				spec.PrivateIP = *f.Properties.PrivateIPAddress
			}
		}
	}
	var rules []agicconfig.Rule
	for _, ing := range ingresses {
		rules = append(rules, c.rulesOf(ing, spec.Certificates)...)
	}
	desired := agicconfig.Build(spec, rules)
	raw, err := json.Marshal(desired)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	hash := base64.RawStdEncoding.EncodeToString(sum[:])
	if hash != c.applied {
		if err := c.write(ctx, rg, name, gw, raw); err != nil {
			return err
		}
		c.applied = hash
	}
	return c.publish(ctx, ingresses, spec)
}

// write replaces the gateway's configuration, keeping its SKU, WAF and
// other settings.
func (c *Controller) write(ctx context.Context, rg, name string, gw armnetwork.ApplicationGateway, config []byte) error {
	var props armnetwork.ApplicationGatewayPropertiesFormat
	if err := json.Unmarshal(config, &props); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if gw.Properties != nil {
		props.SKU, props.AutoscaleConfiguration, props.FirewallPolicy = gw.Properties.SKU, gw.Properties.AutoscaleConfiguration, gw.Properties.FirewallPolicy
		props.WebApplicationFirewallConfiguration, props.EnableHTTP2 = gw.Properties.WebApplicationFirewallConfiguration, gw.Properties.EnableHTTP2
		props.SSLPolicy = gw.Properties.SSLPolicy
	}
	if gw.Tags == nil {
		gw.Tags = map[string]*string{}
	}
	v := managedByValue
	gw.Tags[managedByTag] = &v
	next := armnetwork.ApplicationGateway{Location: gw.Location, Tags: gw.Tags, Zones: gw.Zones, Identity: gw.Identity, Properties: &props}
	poller, err := c.gws.BeginCreateOrUpdate(ctx, rg, name, next, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

// publish sets the gateway's address on the Ingresses.
func (c *Controller) publish(ctx context.Context, ingresses []*networkingv1.Ingress, gw agicconfig.Gateway) error {
	public := ""
	if gw.PublicIPID != "" {
		pid, err := resourceid.Parse(gw.PublicIPID)
		if err != nil {
			return err
		}
		pip, err := c.pips.Get(ctx, pid.ResourceGroupName(), pid.Name(), nil)
		if err != nil {
			return err
		}
		if pip.Properties != nil && pip.Properties.IPAddress != nil {
			public = *pip.Properties.IPAddress
		}
	}
	for _, ing := range ingresses {
		ip := public
		if ing.Annotations[privateIPAnnKey] == "true" && gw.PrivateIP != "" {
			ip = gw.PrivateIP
		}
		if ip == "" {
			continue
		}
		if err := ingress.SetAddresses(ctx, c.client, ing, []networkingv1.IngressLoadBalancerIngress{{IP: ip}}); err != nil {
			return err
		}
	}
	return nil
}

// rulesOf translates an Ingress into gateway rules, reading its Services'
// ports and endpoints and its TLS secrets.
func (c *Controller) rulesOf(ing *networkingv1.Ingress, certs map[string]agicconfig.Certificate) []agicconfig.Rule {
	for _, t := range ing.Spec.TLS {
		if t.SecretName != "" {
			c.addCertificate(ing.Namespace, t.SecretName, certs)
		}
	}
	rules, paths := ingressRules(ing)
	for i := range rules {
		for _, p := range paths[i] {
			if p.Backend.Service == nil {
				continue
			}
			b := c.backend(ing, p.Backend.Service)
			if b == nil {
				continue
			}
			rules[i].Paths = append(rules[i].Paths, agicconfig.Path{Path: gatewayPath(p), Backend: b})
		}
	}
	return rules
}

// ingressRules are an Ingress's rules as AGIC reads them (host, TLS,
// redirect, frontend), without their backends, and each rule's paths.
func ingressRules(ing *networkingv1.Ingress) ([]agicconfig.Rule, [][]networkingv1.HTTPIngressPath) {
	a := ing.Annotations
	tlsFor := map[string]string{}
	for _, t := range ing.Spec.TLS {
		hosts := t.Hosts
		if len(hosts) == 0 {
			hosts = []string{""}
		}
		for _, h := range hosts {
			tlsFor[h] = t.SecretName
		}
	}
	defaultBackend := ing.Spec.DefaultBackend
	specRules := ing.Spec.Rules
	if len(specRules) == 0 && defaultBackend != nil {
		specRules = []networkingv1.IngressRule{{}}
	}
	var rules []agicconfig.Rule
	var paths [][]networkingv1.HTTPIngressPath
	for i, r := range specRules {
		rules = append(rules, agicconfig.Rule{Namespace: ing.Namespace, Ingress: ing.Name, Index: i, Host: r.Host,
			TLSSecret: tlsFor[r.Host], SSLRedirect: a[annotationPfx+"ssl-redirect"] == "true", PrivateIP: a[privateIPAnnKey] == "true"})
		var ps []networkingv1.HTTPIngressPath
		if r.HTTP != nil {
			ps = r.HTTP.Paths
		}
		if len(ps) == 0 && defaultBackend != nil {
			ps = []networkingv1.HTTPIngressPath{{Path: "/", Backend: *defaultBackend}}
		}
		paths = append(paths, ps)
	}
	return rules, paths
}

// Listeners are the names of the gateway listeners AGIC serves an
// Ingress's rules on.
func Listeners(ing *networkingv1.Ingress) []string {
	rules, _ := ingressRules(ing)
	var out []string
	for _, r := range rules {
		out = append(out, agicconfig.RuleListeners(r)...)
	}
	return out
}

// gatewayPath is an Ingress path as the gateway matches it: Prefix paths
// (and ImplementationSpecific ones without a wildcard) match what is under
// them.
func gatewayPath(p networkingv1.HTTPIngressPath) string {
	path := p.Path
	if path == "" || path == "/" {
		return "/"
	}
	exact := p.PathType != nil && *p.PathType == networkingv1.PathTypeExact
	if !exact && !strings.HasSuffix(path, "*") {
		path = strings.TrimSuffix(path, "/") + "/*"
	}
	return path
}

// backend resolves an Ingress backend to the Service's port and the ready
// pod addresses behind it.
func (c *Controller) backend(ing *networkingv1.Ingress, sb *networkingv1.IngressServiceBackend) *agicconfig.Backend {
	obj, ok, _ := c.svc.GetStore().GetByKey(ing.Namespace + "/" + sb.Name)
	if !ok {
		return nil
	}
	svc := obj.(*corev1.Service)
	var port *corev1.ServicePort
	for i, sp := range svc.Spec.Ports {
		if (sb.Port.Name != "" && sp.Name == sb.Port.Name) || (sb.Port.Number != 0 && sp.Port == sb.Port.Number) {
			port = &svc.Spec.Ports[i]
		}
	}
	if port == nil {
		return nil
	}
	a := ing.Annotations
	b := &agicconfig.Backend{Namespace: ing.Namespace, Service: sb.Name, ServicePort: port.Port, TargetPort: port.Port,
		Protocol: protocolOf(a[annotationPfx+"backend-protocol"]), ProbePath: a[annotationPfx+"health-probe-path"],
		ProbeHost: a[annotationPfx+"health-probe-hostname"], BackendHostname: a[annotationPfx+"backend-hostname"],
		BackendPathPrefix: a[annotationPfx+"backend-path-prefix"], CookieAffinity: a[annotationPfx+"cookie-based-affinity"] == "true"}
	if t, err := strconv.Atoi(a[annotationPfx+"request-timeout"]); err == nil && t > 0 {
		b.RequestTimeout = int32(t)
	}
	if port.TargetPort.Type == intstr.Int && port.TargetPort.IntVal != 0 {
		b.TargetPort = port.TargetPort.IntVal
	}
	for _, o := range c.eps.GetStore().List() {
		es := o.(*discoveryv1.EndpointSlice)
		if es.Namespace != ing.Namespace || es.Labels[serviceNameLbl] != sb.Name {
			continue
		}
		var portNum int32
		for _, ep := range es.Ports {
			if ep.Port != nil && ep.Name != nil && *ep.Name == port.Name {
				portNum = *ep.Port
			}
		}
		if portNum != 0 {
			b.TargetPort = portNum
		}
		for _, e := range es.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			b.Addresses = append(b.Addresses, e.Addresses...)
		}
	}
	return b
}

func protocolOf(v string) string {
	if strings.EqualFold(v, "https") {
		return "Https"
	}
	return "Http"
}

// agicPFXPassword is the password of the PFX made of a TLS secret: AGIC
// uses a fixed one, and this is the one it is recalled to use (not
// checked against AGIC's source here).
const agicPFXPassword = "msazure"

// addCertificate reads a TLS secret's certificate chain and key for the
// gateway, as AGIC does: converted to the PFX Application Gateway takes.
func (c *Controller) addCertificate(ns, name string, certs map[string]agicconfig.Certificate) {
	obj, ok, _ := c.sec.GetStore().GetByKey(ns + "/" + name)
	if !ok {
		return
	}
	s := obj.(*corev1.Secret)
	if len(s.Data[secretTLSCert]) == 0 || len(s.Data[secretTLSKey]) == 0 {
		return
	}
	pair, err := tls.X509KeyPair(s.Data[secretTLSCert], s.Data[secretTLSKey])
	if err != nil {
		c.log.Warn("TLS secret is not a certificate and key", "secret", ns+"/"+name, "err", err)
		return
	}
	var chain []*x509.Certificate
	for _, der := range pair.Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			c.log.Warn("TLS secret's certificate", "secret", ns+"/"+name, "err", err)
			return
		}
		chain = append(chain, cert)
	}
	// The same secret gives the same PFX (its salts and IVs come from the
	// secret's hash), so an unchanged secret leaves the gateway unchanged.
	seed := sha256.Sum256(append(append([]byte{}, s.Data[secretTLSCert]...), s.Data[secretTLSKey]...))
	pfx, err := pkcs12.Modern.WithRand(&hashStream{seed: seed}).Encode(pair.PrivateKey, chain[0], chain[1:], agicPFXPassword)
	if err != nil {
		c.log.Warn("TLS secret to PFX", "secret", ns+"/"+name, "err", err)
		return
	}
	certs[ns+"/"+name] = agicconfig.Certificate{Namespace: ns, Secret: name, PFXBase64: base64.StdEncoding.EncodeToString(pfx), Password: agicPFXPassword}
}

// hashStream is a deterministic byte stream: SHA-256 of a seed and a
// counter, block after block.
type hashStream struct {
	seed [32]byte
	n    uint64
	buf  []byte
}

func (h *hashStream) Read(p []byte) (int, error) {
	for len(h.buf) < len(p) {
		var block [40]byte
		copy(block[:], h.seed[:])
		binary.BigEndian.PutUint64(block[32:], h.n)
		h.n++
		sum := sha256.Sum256(block[:])
		h.buf = append(h.buf, sum[:]...)
	}
	n := copy(p, h.buf)
	h.buf = h.buf[n:]
	return n, nil
}
