// Package agicconfig builds an Application Gateway configuration from
// Ingress rules the way the Application Gateway Ingress Controller (AGIC)
// does: its names (fp-, fl-, rr-, url-, pr-, pool-, bp-, pb-), its defaults
// (defaultaddresspool, defaulthttpsetting, defaultprobe-Http/Https) and its
// layout (one listener per frontend port and host names, a basic rule or a
// URL path map per listener). It has no Kubernetes types: the AKS add-on
// uses it for a new gateway's initial configuration, the cluster's AGIC
// for Ingresses.
package agicconfig

import (
	"crypto/md5" //nolint:gosec // names, as AGIC derives them
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Fixed names AGIC gives the gateway's shared pieces.
const (
	GatewayIPConfigName  = "appGatewayIpConfig"
	PublicFrontendName   = "appGatewayFrontendIP"
	PrivateFrontendName  = "appGatewayPrivateFrontendIP"
	DefaultPoolName      = "defaultaddresspool"
	DefaultSettingsName  = "defaulthttpsetting"
	DefaultProbeHTTP     = "defaultprobe-Http"
	DefaultProbeHTTPS    = "defaultprobe-Https"
	firstPriority        = 19500
	maxNameLen           = 80
	listenerHostNamesMax = 5
)

// Backend is a Service port that Ingress paths route to, with the pod
// addresses behind it (AGIC's pools hold pod IPs, not node IPs).
type Backend struct {
	Namespace, Service string
	ServicePort        int32
	TargetPort         int32
	Addresses          []string
	// Protocol is Http or Https (appgw.ingress.kubernetes.io/backend-protocol).
	Protocol string
	// Probe overrides.
	ProbePath, ProbeHost string
	RequestTimeout       int32
	CookieAffinity       bool
	BackendHostname      string
	BackendPathPrefix    string
}

// Path is one Ingress path.
type Path struct {
	Path    string
	Backend *Backend
}

// Rule is one Ingress rule (a host, or all hosts) of one Ingress.
type Rule struct {
	Namespace, Ingress string
	Index              int
	Host               string
	Paths              []Path
	// TLSSecret names the certificate secret for the host (HTTPS listener
	// on 443); SSLRedirect adds the redirect from 80.
	TLSSecret   string
	SSLRedirect bool
	// PrivateIP serves the rule on the private frontend.
	PrivateIP bool
}

// Certificate is a TLS secret's certificate as a PFX, by secret.
type Certificate struct {
	Namespace, Secret string
	PFXBase64         string
	Password          string
}

// Gateway is what AGIC needs of the gateway: its ID, its subnet and
// frontends, and the certificates of the Ingresses' TLS secrets.
type Gateway struct {
	ID           string
	SubnetID     string
	PublicIPID   string
	PrivateIP    string                 // the private frontend's address, if any
	Certificates map[string]Certificate // by "namespace/secret"
}

// Name cuts a name to AGIC's 80 characters: longer names become a prefix
// and the MD5 of the whole.
func Name(n string) string {
	if len(n) <= maxNameLen {
		return n
	}
	sum := md5.Sum([]byte(n)) //nolint:gosec // a name
	h := hex.EncodeToString(sum[:])
	return n[:maxNameLen-len(h)-1] + "-" + h
}

// listenerID identifies a listener: port, host names, frontend.
type listenerID struct {
	FrontendPort int32
	HostNames    [listenerHostNamesMax]string
	FrontendType string
}

func (l listenerID) hash() string {
	b, _ := json.Marshal(l)
	sum := md5.Sum(b) //nolint:gosec // a name
	return hex.EncodeToString(sum[:])
}

// ListenerName is fl-{hash of the listener's identity}.
func ListenerName(port int32, host string, private bool) string {
	return Name("fl-" + newListenerID(port, host, private).hash())
}

// RuleListeners are the names of the listeners a rule is served on: 443
// with a TLS secret (and 80 too when it redirects to it), otherwise 80.
func RuleListeners(r Rule) []string {
	if r.TLSSecret == "" {
		return []string{ListenerName(80, r.Host, r.PrivateIP)}
	}
	out := []string{ListenerName(443, r.Host, r.PrivateIP)}
	if r.SSLRedirect {
		out = append(out, ListenerName(80, r.Host, r.PrivateIP))
	}
	return out
}

func newListenerID(port int32, host string, private bool) listenerID {
	l := listenerID{FrontendPort: port, FrontendType: "public"}
	if private {
		l.FrontendType = "private"
	}
	if host != "" {
		l.HostNames[0] = host
	}
	return l
}

// PoolName is pool-{ns}-{svc}-{port}-bp-{targetPort}.
func PoolName(b *Backend) string {
	return Name(fmt.Sprintf("pool-%s-%s-%d-bp-%d", b.Namespace, b.Service, b.ServicePort, b.TargetPort))
}

// SettingsName is bp-{ns}-{svc}-{port}-{targetPort}-{ingress}.
func SettingsName(b *Backend, ingress string) string {
	return Name(fmt.Sprintf("bp-%s-%s-%d-%d-%s", b.Namespace, b.Service, b.ServicePort, b.TargetPort, ingress))
}

// ProbeName is pb-{ns}-{svc}-{port}-{ingress}.
func ProbeName(b *Backend, ingress string) string {
	return Name(fmt.Sprintf("pb-%s-%s-%d-%s", b.Namespace, b.Service, b.ServicePort, ingress))
}

// PathRuleName is pr-{ns}-{ingress}-rule-{i}-path-{j}.
func PathRuleName(ns, ingress string, rule, path int) string {
	return Name(fmt.Sprintf("pr-%s-%s-rule-%d-path-%d", ns, ingress, rule, path))
}

// Build is the gateway's configuration (its properties, without sku and
// gateway IP configuration changes) for the rules; no rules gives AGIC's
// default configuration: a listener on port 80 routing to the empty
// default pool.
func Build(gw Gateway, rules []Rule) map[string]any {
	id := func(kind, name string) map[string]string {
		return map[string]string{"id": gw.ID + "/" + kind + "/" + name}
	}
	fe := func(private bool) map[string]string {
		if private {
			return id("frontendIPConfigurations", PrivateFrontendName)
		}
		return id("frontendIPConfigurations", PublicFrontendName)
	}
	pools := map[string]map[string]any{}
	settings := map[string]map[string]any{}
	probes := map[string]map[string]any{
		DefaultProbeHTTP:  probe("Http", "localhost", "/"),
		DefaultProbeHTTPS: probe("Https", "localhost", "/"),
	}
	pools[DefaultPoolName] = map[string]any{"name": DefaultPoolName, "properties": map[string]any{"backendAddresses": []any{}}}
	settings[DefaultSettingsName] = map[string]any{"name": DefaultSettingsName, "properties": map[string]any{
		"port": 80, "protocol": "Http", "cookieBasedAffinity": "Disabled", "requestTimeout": 30, "pickHostNameFromBackendAddress": false,
		"probe": id("probes", DefaultProbeHTTP)}}
	ports := map[int32]bool{}
	certs := map[string]map[string]any{}
	type listener struct {
		name     string
		port     int32
		host     string
		private  bool
		cert     string
		paths    []Path
		rules    []Rule
		redirect string
	}
	listeners := map[string]*listener{}
	addListener := func(port int32, r Rule) *listener {
		name := ListenerName(port, r.Host, r.PrivateIP)
		l, ok := listeners[name]
		if !ok {
			l = &listener{name: name, port: port, host: r.Host, private: r.PrivateIP}
			listeners[name] = l
		}
		ports[port] = true
		return l
	}
	backendOf := func(b *Backend, ingress string) (pool, set string) {
		pool, set = PoolName(b), SettingsName(b, ingress)
		var addrs []any
		seen := map[string]bool{}
		sorted := append([]string(nil), b.Addresses...)
		sort.Strings(sorted)
		for _, a := range sorted {
			if !seen[a] {
				seen[a] = true
				addrs = append(addrs, map[string]string{"ipAddress": a})
			}
		}
		if addrs == nil {
			addrs = []any{}
		}
		pools[pool] = map[string]any{"name": pool, "properties": map[string]any{"backendAddresses": addrs}}
		protocol := b.Protocol
		if protocol == "" {
			protocol = "Http"
		}
		pb := ProbeName(b, ingress)
		path := b.ProbePath
		if path == "" {
			path = "/"
		}
		host := b.ProbeHost
		if host == "" {
			host = "localhost"
		}
		probes[pb] = probe(protocol, host, path)
		timeout := b.RequestTimeout
		if timeout == 0 {
			timeout = 30
		}
		sp := map[string]any{"port": b.TargetPort, "protocol": protocol, "cookieBasedAffinity": "Disabled", "requestTimeout": timeout,
			"pickHostNameFromBackendAddress": false, "probe": id("probes", pb)}
		if b.CookieAffinity {
			sp["cookieBasedAffinity"] = "Enabled"
			sp["affinityCookieName"] = "ApplicationGatewayAffinity"
		}
		if b.BackendHostname != "" {
			sp["hostName"] = b.BackendHostname
		}
		if b.BackendPathPrefix != "" {
			sp["path"] = b.BackendPathPrefix
		}
		settings[set] = map[string]any{"name": set, "properties": sp}
		return pool, set
	}
	for _, r := range rules {
		if r.TLSSecret != "" {
			l := addListener(443, r)
			certName := Name("cert-" + r.Namespace + "-" + r.TLSSecret)
			l.cert = certName
			if c, ok := gw.Certificates[r.Namespace+"/"+r.TLSSecret]; ok {
				certs[certName] = map[string]any{"name": certName, "properties": map[string]any{"data": c.PFXBase64, "password": c.Password}}
			}
			l.paths = append(l.paths, r.Paths...)
			l.rules = append(l.rules, r)
			if r.SSLRedirect {
				http := addListener(80, r)
				http.redirect = l.name
			}
			continue
		}
		l := addListener(80, r)
		l.paths = append(l.paths, r.Paths...)
		l.rules = append(l.rules, r)
	}
	if len(listeners) == 0 {
		addListener(80, Rule{})
	}

	names := make([]string, 0, len(listeners))
	for n := range listeners {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := listeners[names[i]], listeners[names[j]]
		if (a.host == "") != (b.host == "") {
			return a.host != "" // host-specific listeners before catch-alls
		}
		return names[i] < names[j]
	})
	var httpListeners, routingRules, pathMaps, redirects []any
	for i, n := range names {
		l := listeners[n]
		hash := strings.TrimPrefix(n, "fl-")
		lp := map[string]any{"frontendIPConfiguration": fe(l.private), "frontendPort": id("frontendPorts", fmt.Sprintf("fp-%d", l.port)),
			"protocol": "Http", "requireServerNameIndication": false}
		if l.host != "" {
			lp["hostName"] = l.host
			lp["hostNames"] = []string{l.host}
		}
		if l.cert != "" {
			lp["protocol"] = "Https"
			lp["sslCertificate"] = id("sslCertificates", l.cert)
			lp["requireServerNameIndication"] = l.host != ""
		}
		httpListeners = append(httpListeners, map[string]any{"name": n, "properties": lp})
		rr := Name("rr-" + hash)
		rp := map[string]any{"ruleType": "Basic", "priority": firstPriority + i, "httpListener": id("httpListeners", n)}
		switch {
		case l.redirect != "":
			rd := Name("sslr-" + n)
			redirects = append(redirects, map[string]any{"name": rd, "properties": map[string]any{"redirectType": "Permanent",
				"targetListener": id("httpListeners", l.redirect), "includePath": true, "includeQueryString": true}})
			rp["redirectConfiguration"] = id("redirectConfigurations", rd)
		case len(l.paths) == 0:
			rp["backendAddressPool"] = id("backendAddressPools", DefaultPoolName)
			rp["backendHttpSettings"] = id("backendHttpSettingsCollection", DefaultSettingsName)
		case len(l.paths) == 1 && (l.paths[0].Path == "" || l.paths[0].Path == "/" || l.paths[0].Path == "/*"):
			pool, set := backendOf(l.paths[0].Backend, l.rules[0].Ingress)
			rp["backendAddressPool"] = id("backendAddressPools", pool)
			rp["backendHttpSettings"] = id("backendHttpSettingsCollection", set)
		default:
			rp["ruleType"] = "PathBasedRouting"
			um := Name("url-" + hash)
			var pathRules []any
			defPool, defSet := DefaultPoolName, DefaultSettingsName
			for _, r := range l.rules {
				for j, p := range r.Paths {
					pool, set := backendOf(p.Backend, r.Ingress)
					if p.Path == "" || p.Path == "/" || p.Path == "/*" {
						defPool, defSet = pool, set
						continue
					}
					pathRules = append(pathRules, map[string]any{"name": PathRuleName(r.Namespace, r.Ingress, r.Index, j), "properties": map[string]any{
						"paths": []string{p.Path}, "backendAddressPool": id("backendAddressPools", pool),
						"backendHttpSettings": id("backendHttpSettingsCollection", set)}})
				}
			}
			if pathRules == nil {
				pathRules = []any{}
			}
			pathMaps = append(pathMaps, map[string]any{"name": um, "properties": map[string]any{
				"defaultBackendAddressPool": id("backendAddressPools", defPool), "defaultBackendHttpSettings": id("backendHttpSettingsCollection", defSet),
				"pathRules": pathRules}})
			rp["urlPathMap"] = id("urlPathMaps", um)
		}
		routingRules = append(routingRules, map[string]any{"name": rr, "properties": rp})
	}
	var frontendPorts []any
	portList := make([]int, 0, len(ports))
	for p := range ports {
		portList = append(portList, int(p))
	}
	sort.Ints(portList)
	for _, p := range portList {
		frontendPorts = append(frontendPorts, map[string]any{"name": fmt.Sprintf("fp-%d", p), "properties": map[string]any{"port": p}})
	}
	frontends := []any{map[string]any{"name": PublicFrontendName, "properties": map[string]any{"publicIPAddress": map[string]string{"id": gw.PublicIPID}}}}
	if gw.PrivateIP != "" {
		frontends = append(frontends, map[string]any{"name": PrivateFrontendName, "properties": map[string]any{
			"privateIPAddress": gw.PrivateIP, "privateIPAllocationMethod": "Static", "subnet": map[string]string{"id": gw.SubnetID}}})
	}
	out := map[string]any{
		"gatewayIPConfigurations":       []any{map[string]any{"name": GatewayIPConfigName, "properties": map[string]any{"subnet": map[string]string{"id": gw.SubnetID}}}},
		"frontendIPConfigurations":      frontends,
		"frontendPorts":                 frontendPorts,
		"backendAddressPools":           sortedValues(pools),
		"backendHttpSettingsCollection": sortedValues(settings),
		"probes":                        sortedValues(probes),
		"httpListeners":                 httpListeners,
		"requestRoutingRules":           routingRules,
		"urlPathMaps":                   orEmpty(pathMaps),
		"redirectConfigurations":        orEmpty(redirects),
		"sslCertificates":               orEmpty(sortedValues(certs)),
	}
	return out
}

func probe(protocol, host, path string) map[string]any {
	name := DefaultProbeHTTP
	if protocol == "Https" {
		name = DefaultProbeHTTPS
	}
	return map[string]any{"name": name, "properties": map[string]any{"protocol": protocol, "host": host, "path": path,
		"interval": 30, "timeout": 30, "unhealthyThreshold": 3, "pickHostNameFromBackendHttpSettings": false, "minServers": 0,
		"match": map[string]any{}}}
}

func sortedValues(m map[string]map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		v := m[k]
		v["name"] = k
		out = append(out, v)
	}
	return out
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}
