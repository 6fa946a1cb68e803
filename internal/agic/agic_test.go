package agic

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/localaks/localaks/internal/agicconfig"
	"software.sslmate.com/src/go-pkcs12"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// controller is a Controller whose informer caches hold objs; nothing
// lists or watches, so no API server is needed.
func controller(t *testing.T, watchNS string, objs ...runtime.Object) *Controller {
	t.Helper()
	inf := func(example runtime.Object) cache.SharedIndexInformer {
		return cache.NewSharedIndexInformer(&cache.ListWatch{}, example, 0, cache.Indexers{})
	}
	c := &Controller{watchNS: watchNS, log: slog.New(slog.DiscardHandler), ing: inf(&networkingv1.Ingress{}), svc: inf(&corev1.Service{}),
		eps: inf(&discoveryv1.EndpointSlice{}), sec: inf(&corev1.Secret{})}
	for _, o := range objs {
		var s cache.Store
		switch o.(type) {
		case *networkingv1.Ingress:
			s = c.ing.GetStore()
		case *corev1.Service:
			s = c.svc.GetStore()
		case *discoveryv1.EndpointSlice:
			s = c.eps.GetStore()
		case *corev1.Secret:
			s = c.sec.GetStore()
		default:
			t.Fatalf("no informer for %T", o)
		}
		if err := s.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func meta(ns, name string, ann map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann}
}

// service is a Service with ports.
func service(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: meta(ns, name, nil), Spec: corev1.ServiceSpec{Ports: ports}}
}

type ep struct {
	ip    string
	ready *bool
}

// slice is an EndpointSlice of a Service: ports by name, endpoints.
func slice(ns, name, svc string, ports map[string]int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"kubernetes.io/service-name": svc}},
		AddressType: discoveryv1.AddressTypeIPv4}
	for n, p := range ports {
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr(n), Port: ptr(p)})
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}})
	}
	return s
}

func backendRef(svc string, port networkingv1.ServiceBackendPort) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: port}}
}

func path(p string, typ networkingv1.PathType, b networkingv1.IngressBackend) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: p, PathType: ptr(typ), Backend: b}
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	r := networkingv1.IngressRule{Host: host}
	if paths != nil {
		r.HTTP = &networkingv1.HTTPIngressRuleValue{Paths: paths}
	}
	return r
}

func TestServed(t *testing.T) {
	ing := func(ns string, class *string, ann map[string]string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: meta(ns, "i", ann), Spec: networkingv1.IngressSpec{IngressClassName: class}}
	}
	legacy := map[string]string{"kubernetes.io/ingress.class": "azure/application-gateway"}
	for _, tt := range []struct {
		name    string
		watchNS string
		ing     *networkingv1.Ingress
		want    bool
	}{
		{"add-on class", "", ing("default", ptr("azure-application-gateway"), nil), true},
		{"other class", "", ing("default", ptr("nginx"), nil), false},
		{"no class", "", ing("default", nil, nil), false},
		{"legacy annotation", "", ing("default", nil, legacy), true},
		{"legacy annotation, other value", "", ing("default", nil, map[string]string{"kubernetes.io/ingress.class": "nginx"}), false},
		{"class wins over the annotation", "", ing("default", ptr("nginx"), legacy), false},
		{"watched namespace", "apps", ing("apps", ptr("azure-application-gateway"), nil), true},
		{"other namespace", "apps", ing("default", ptr("azure-application-gateway"), nil), false},
	} {
		if got := controller(t, tt.watchNS).served(tt.ing); got != tt.want {
			t.Errorf("%s: served = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGatewayPath(t *testing.T) {
	for _, tt := range []struct {
		path string
		typ  *networkingv1.PathType
		want string
	}{
		{"", nil, "/"},
		{"/", ptr(networkingv1.PathTypePrefix), "/"},
		{"/", ptr(networkingv1.PathTypeExact), "/"},
		{"/api", ptr(networkingv1.PathTypePrefix), "/api/*"},
		{"/api/", ptr(networkingv1.PathTypePrefix), "/api/*"},
		{"/api", nil, "/api/*"},
		{"/api", ptr(networkingv1.PathTypeImplementationSpecific), "/api/*"},
		{"/api/*", ptr(networkingv1.PathTypeImplementationSpecific), "/api/*"},
		{"/api*", ptr(networkingv1.PathTypePrefix), "/api*"},
		{"/api", ptr(networkingv1.PathTypeExact), "/api"},
		{"/api/", ptr(networkingv1.PathTypeExact), "/api/"},
	} {
		typ := "nil"
		if tt.typ != nil {
			typ = string(*tt.typ)
		}
		if got := gatewayPath(networkingv1.HTTPIngressPath{Path: tt.path, PathType: tt.typ}); got != tt.want {
			t.Errorf("gatewayPath(%q, %s) = %q, want %q", tt.path, typ, got, tt.want)
		}
	}
}

func TestProtocolOf(t *testing.T) {
	for in, want := range map[string]string{"": "Http", "http": "Http", "HTTP": "Http", "https": "Https", "HTTPS": "Https", "grpc": "Http"} {
		if got := protocolOf(in); got != want {
			t.Errorf("protocolOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The cluster the backend tests read: Services web (80 → 8080) and api
// (443 → the named port https-port, 9090 unnamed-target), and the
// EndpointSlices of api.
func cluster(t *testing.T) *Controller {
	return controller(t, "",
		service("default", "web", corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}),
		service("default", "api",
			corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https-port")},
			corev1.ServicePort{Name: "metrics", Port: 9090}),
		service("other", "lonely", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(80)}),
		slice("default", "api-abc", "api", map[string]int32{"https": 8443, "metrics": 9090},
			ep{"10.244.0.5", ptr(true)}, ep{"10.244.1.7", nil}, ep{"10.244.0.9", ptr(false)}),
		slice("default", "api-def", "api", map[string]int32{"https": 8443}, ep{"10.244.2.3", ptr(true)}),
		slice("default", "web-abc", "web", map[string]int32{"http": 8080}, ep{"10.244.0.6", ptr(true)}),
		slice("other", "api-xyz", "api", map[string]int32{"https": 1}, ep{"10.9.9.9", ptr(true)}),
	)
}

func TestBackend(t *testing.T) {
	c := cluster(t)
	ing := func(ann map[string]string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: meta("default", "shop", ann)}
	}
	for _, tt := range []struct {
		name string
		ann  map[string]string
		svc  string
		port networkingv1.ServiceBackendPort
		want *agicconfig.Backend
	}{
		{"by number", nil, "web", networkingv1.ServiceBackendPort{Number: 80},
			&agicconfig.Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 8080, Protocol: "Http", Addresses: []string{"10.244.0.6"}}},
		{"by name", nil, "web", networkingv1.ServiceBackendPort{Name: "http"},
			&agicconfig.Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 8080, Protocol: "Http", Addresses: []string{"10.244.0.6"}}},
		// A named target port is resolved through the EndpointSlices; not
		// ready endpoints and other namespaces' slices are left out.
		{"named target port", nil, "api", networkingv1.ServiceBackendPort{Number: 443},
			&agicconfig.Backend{Namespace: "default", Service: "api", ServicePort: 443, TargetPort: 8443, Protocol: "Http",
				Addresses: []string{"10.244.0.5", "10.244.1.7", "10.244.2.3"}}},
		{"port without a target", nil, "api", networkingv1.ServiceBackendPort{Name: "metrics"},
			&agicconfig.Backend{Namespace: "default", Service: "api", ServicePort: 9090, TargetPort: 9090, Protocol: "Http",
				Addresses: []string{"10.244.0.5", "10.244.1.7", "10.244.2.3"}}},
		{"annotations", map[string]string{
			"appgw.ingress.kubernetes.io/backend-protocol":      "https",
			"appgw.ingress.kubernetes.io/health-probe-path":     "/healthz",
			"appgw.ingress.kubernetes.io/health-probe-hostname": "probe.example.com",
			"appgw.ingress.kubernetes.io/backend-hostname":      "internal.example.com",
			"appgw.ingress.kubernetes.io/backend-path-prefix":   "/v2/",
			"appgw.ingress.kubernetes.io/cookie-based-affinity": "true",
			"appgw.ingress.kubernetes.io/request-timeout":       "45",
		}, "web", networkingv1.ServiceBackendPort{Number: 80},
			&agicconfig.Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 8080, Protocol: "Https", Addresses: []string{"10.244.0.6"},
				ProbePath: "/healthz", ProbeHost: "probe.example.com", BackendHostname: "internal.example.com", BackendPathPrefix: "/v2/",
				CookieAffinity: true, RequestTimeout: 45}},
		{"bad timeout and affinity values", map[string]string{
			"appgw.ingress.kubernetes.io/request-timeout":       "soon",
			"appgw.ingress.kubernetes.io/cookie-based-affinity": "yes",
		}, "web", networkingv1.ServiceBackendPort{Number: 80},
			&agicconfig.Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 8080, Protocol: "Http", Addresses: []string{"10.244.0.6"}}},
		{"negative timeout", map[string]string{"appgw.ingress.kubernetes.io/request-timeout": "-5"}, "web", networkingv1.ServiceBackendPort{Number: 80},
			&agicconfig.Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 8080, Protocol: "Http", Addresses: []string{"10.244.0.6"}}},
		{"unknown port number", nil, "web", networkingv1.ServiceBackendPort{Number: 8080}, nil},
		{"unknown port name", nil, "web", networkingv1.ServiceBackendPort{Name: "https"}, nil},
		{"unknown Service", nil, "nope", networkingv1.ServiceBackendPort{Number: 80}, nil},
		{"Service in another namespace", nil, "lonely", networkingv1.ServiceBackendPort{Number: 80}, nil},
	} {
		got := c.backend(ing(tt.ann), &networkingv1.IngressServiceBackend{Name: tt.svc, Port: tt.port})
		// Slices come from a cache in no order; the gateway sorts addresses.
		if diff := cmp.Diff(tt.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// A Service without EndpointSlices has no addresses, and its target
	// port is the Service's own.
	c = controller(t, "", service("default", "api", corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https-port")}))
	got := c.backend(ing(nil), &networkingv1.IngressServiceBackend{Name: "api", Port: networkingv1.ServiceBackendPort{Number: 443}})
	if diff := cmp.Diff(&agicconfig.Backend{Namespace: "default", Service: "api", ServicePort: 443, TargetPort: 443, Protocol: "Http"}, got); diff != "" {
		t.Errorf("Service without endpoints (-want +got):\n%s", diff)
	}
}

// testCert and testKey are a self-signed certificate and its key, PEM.
var testCert, testKey = func() (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shop.example.com"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
}()

func tlsSecret(ns, name string, cert, key string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: meta(ns, name, nil), Type: corev1.SecretTypeTLS, Data: map[string][]byte{}}
	if cert != "" {
		s.Data["tls.crt"] = []byte(cert)
	}
	if key != "" {
		s.Data["tls.key"] = []byte(key)
	}
	return s
}

func TestRulesOf(t *testing.T) {
	objs := []runtime.Object{
		service("default", "web", corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}),
		tlsSecret("default", "shop-tls", testCert, testKey),
		tlsSecret("default", "no-key", testCert, ""),
	}
	c := controller(t, "", objs...)
	web := &agicconfig.Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 8080, Protocol: "Http"}
	webRef := backendRef("web", networkingv1.ServiceBackendPort{Number: 80})
	ingress := func(ann map[string]string, spec networkingv1.IngressSpec) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: meta("default", "shop", ann), Spec: spec}
	}
	for _, tt := range []struct {
		name  string
		ing   *networkingv1.Ingress
		want  []agicconfig.Rule
		certs map[string]agicconfig.Certificate
	}{
		{"hosts and paths", ingress(nil, networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
			rule("shop.example.com", path("/", networkingv1.PathTypePrefix, webRef), path("/cart", networkingv1.PathTypeExact, webRef)),
			rule("", path("/api", networkingv1.PathTypePrefix, webRef)),
		}}), []agicconfig.Rule{
			{Namespace: "default", Ingress: "shop", Index: 0, Host: "shop.example.com", Paths: []agicconfig.Path{{Path: "/", Backend: web}, {Path: "/cart", Backend: web}}},
			{Namespace: "default", Ingress: "shop", Index: 1, Paths: []agicconfig.Path{{Path: "/api/*", Backend: web}}},
		}, map[string]agicconfig.Certificate{}},
		{"TLS for one host, redirect, private frontend", ingress(map[string]string{
			"appgw.ingress.kubernetes.io/ssl-redirect": "true", "appgw.ingress.kubernetes.io/use-private-ip": "true",
		}, networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
			Rules: []networkingv1.IngressRule{
				rule("shop.example.com", path("/", networkingv1.PathTypePrefix, webRef)),
				rule("plain.example.com", path("/", networkingv1.PathTypePrefix, webRef)),
			},
		}), []agicconfig.Rule{
			{Namespace: "default", Ingress: "shop", Index: 0, Host: "shop.example.com", TLSSecret: "shop-tls", SSLRedirect: true, PrivateIP: true,
				Paths: []agicconfig.Path{{Path: "/", Backend: web}}},
			{Namespace: "default", Ingress: "shop", Index: 1, Host: "plain.example.com", SSLRedirect: true, PrivateIP: true,
				Paths: []agicconfig.Path{{Path: "/", Backend: web}}},
		}, map[string]agicconfig.Certificate{"default/shop-tls": {Namespace: "default", Secret: "shop-tls", Password: "msazure"}}},
		// TLS without hosts is the rule without a host's; secrets without
		// a key, or missing, give no certificate.
		{"TLS without hosts", ingress(nil, networkingv1.IngressSpec{
			TLS:   []networkingv1.IngressTLS{{SecretName: "no-key"}, {Hosts: []string{"x.example.com"}, SecretName: "missing"}},
			Rules: []networkingv1.IngressRule{rule("", path("/", networkingv1.PathTypePrefix, webRef)), rule("x.example.com", path("/", networkingv1.PathTypePrefix, webRef))},
		}), []agicconfig.Rule{
			{Namespace: "default", Ingress: "shop", Index: 0, TLSSecret: "no-key", Paths: []agicconfig.Path{{Path: "/", Backend: web}}},
			{Namespace: "default", Ingress: "shop", Index: 1, Host: "x.example.com", TLSSecret: "missing", Paths: []agicconfig.Path{{Path: "/", Backend: web}}},
		}, map[string]agicconfig.Certificate{}},
		{"default backend only", ingress(nil, networkingv1.IngressSpec{DefaultBackend: &webRef}), []agicconfig.Rule{
			{Namespace: "default", Ingress: "shop", Index: 0, Paths: []agicconfig.Path{{Path: "/", Backend: web}}},
		}, map[string]agicconfig.Certificate{}},
		{"host without paths takes the default backend", ingress(nil, networkingv1.IngressSpec{DefaultBackend: &webRef,
			Rules: []networkingv1.IngressRule{rule("shop.example.com")}}), []agicconfig.Rule{
			{Namespace: "default", Ingress: "shop", Index: 0, Host: "shop.example.com", Paths: []agicconfig.Path{{Path: "/", Backend: web}}},
		}, map[string]agicconfig.Certificate{}},
		{"unresolvable and resource backends are left out", ingress(nil, networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
			rule("shop.example.com",
				path("/gone", networkingv1.PathTypePrefix, backendRef("gone", networkingv1.ServiceBackendPort{Number: 80})),
				path("/bucket", networkingv1.PathTypePrefix, networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Kind: "StorageBucket", Name: "b"}}),
				path("/ok", networkingv1.PathTypePrefix, webRef)),
			rule("empty.example.com", path("/gone", networkingv1.PathTypePrefix, backendRef("gone", networkingv1.ServiceBackendPort{Number: 80}))),
		}}), []agicconfig.Rule{
			{Namespace: "default", Ingress: "shop", Index: 0, Host: "shop.example.com", Paths: []agicconfig.Path{{Path: "/ok/*", Backend: web}}},
			{Namespace: "default", Ingress: "shop", Index: 1, Host: "empty.example.com"},
		}, map[string]agicconfig.Certificate{}},
		{"nothing to serve", ingress(nil, networkingv1.IngressSpec{}), nil, map[string]agicconfig.Certificate{}},
	} {
		certs := map[string]agicconfig.Certificate{}
		got := c.rulesOf(tt.ing, certs)
		// The PFX holds the secret's certificate, under AGIC's password.
		for k, cert := range certs {
			raw, _ := base64.StdEncoding.DecodeString(cert.PFXBase64)
			_, leaf, err := pkcs12.Decode(raw, cert.Password)
			if err != nil || !strings.Contains(testCert, base64.StdEncoding.EncodeToString(leaf.Raw)[:40]) {
				t.Errorf("%s: PFX of %s: %v", tt.name, k, err)
			}
			cert.PFXBase64 = ""
			certs[k] = cert
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: rules (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.certs, certs); diff != "" {
			t.Errorf("%s: certificates (-want +got):\n%s", tt.name, diff)
		}
	}
}

// Ingresses through rulesOf and agicconfig.Build: the gateway
// configuration sync writes for a TLS shop and a plain API.
func TestGatewayConfigurationGolden(t *testing.T) {
	c := cluster(t)
	goldenCert, _ := os.ReadFile(filepath.Join("testdata", "shop-tls.crt"))
	goldenKey, _ := os.ReadFile(filepath.Join("testdata", "shop-tls.key"))
	if err := c.sec.GetStore().Add(tlsSecret("default", "shop-tls", string(goldenCert), string(goldenKey))); err != nil {
		t.Fatal(err)
	}
	shop := &networkingv1.Ingress{ObjectMeta: meta("default", "shop", map[string]string{"appgw.ingress.kubernetes.io/ssl-redirect": "true"}),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr(ClassName),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
			Rules: []networkingv1.IngressRule{rule("shop.example.com",
				path("/", networkingv1.PathTypePrefix, backendRef("web", networkingv1.ServiceBackendPort{Name: "http"})),
				path("/api", networkingv1.PathTypePrefix, backendRef("api", networkingv1.ServiceBackendPort{Number: 443})))},
		}}
	api := &networkingv1.Ingress{ObjectMeta: meta("default", "api", map[string]string{
		"appgw.ingress.kubernetes.io/backend-protocol": "https", "appgw.ingress.kubernetes.io/health-probe-path": "/healthz"}),
		Spec: networkingv1.IngressSpec{IngressClassName: ptr(ClassName),
			DefaultBackend: ptr(backendRef("api", networkingv1.ServiceBackendPort{Number: 443}))}}
	gw := agicconfig.Gateway{
		ID:           "/subscriptions/SUB/resourceGroups/MC_rg_c1_eastus/providers/Microsoft.Network/applicationGateways/c1-appgw",
		SubnetID:     "/subscriptions/SUB/resourceGroups/MC_rg_c1_eastus/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/appgw",
		PublicIPID:   "/subscriptions/SUB/resourceGroups/MC_rg_c1_eastus/providers/Microsoft.Network/publicIPAddresses/c1-appgw-appgwpip",
		Certificates: map[string]agicconfig.Certificate{},
	}
	var rules []agicconfig.Rule
	for _, ing := range []*networkingv1.Ingress{api, shop} { // sync's order: namespace/name
		rules = append(rules, c.rulesOf(ing, gw.Certificates)...)
	}
	got, err := json.MarshalIndent(agicconfig.Build(gw, rules), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	file := filepath.Join("testdata", "gateway.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("gateway configuration differs from %s (-want +got; go test -update rewrites it):\n%s", file, diff)
	}
}
