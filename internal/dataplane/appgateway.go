package dataplane

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

// An application gateway's data path: each public frontend's address
// answers HTTP (and HTTPS with the listener's certificate) on the ports of
// its listeners. A request goes to the first rule, by priority, whose
// listener takes its host name; a basic rule names a pool (or a redirect),
// a path-based one a URL path map whose path rules (exact paths before
// "/prefix/*" ones, longest first) name a pool. The pool's backends are
// probed per HTTP settings (the settings' custom probe, else Application
// Gateway's default: GET / every 30 s, three failures); a request goes to
// a healthy one, round robin, or the one its affinity cookie names, with
// the settings' path and host overrides and request timeout. No healthy
// backend, or one that does not answer, is Application Gateway's 502.

// gwBody is Application Gateway v2's error page for status.
func gwBody(status int) string {
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n"
}

func gwError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "Microsoft-Azure-Application-Gateway/v2")
	w.WriteHeader(status)
	fmt.Fprint(w, gwBody(status))
}

// gateway is one application gateway's configuration, compiled.
type gateway struct {
	spec      clusterspec.AppGateway
	listeners map[string]clusterspec.AGListener
	pathMaps  map[string]clusterspec.AGPathMap
	redirects map[string]clusterspec.AGRedirect
	settings  map[string]clusterspec.AGSettings
	frontends map[string]netip.Addr
	// backends are the (settings, address) pairs' probers.
	backends map[string]*prober
	certs    map[string]*tls.Certificate
	rr       atomic.Uint64
	waf      *firewall
	// ordered are the rules in the order they are matched.
	ordered []clusterspec.AGRule
	count   *counter
	engine  *Engine
	log     func(msg string, args ...any)
}

// gwFront is one frontend address and port of gateways.
type gwFront struct {
	srv  *http.Server
	addr netip.Addr
	port int
	gw   atomic.Pointer[gateway]
}

// setGateways replaces the gateways' configuration (e.mu held).
func (e *Engine) setGateways(gws []clusterspec.AppGateway) {
	want := map[string]*gateway{} // listen key → gateway
	backends := map[string]*prober{}
	tlsPorts := map[string]bool{}
	for _, spec := range gws {
		g := e.compileGateway(spec, backends)
		for _, l := range spec.Listeners {
			addr, ok := g.frontends[strings.ToLower(l.Frontend)]
			if !ok || !addr.IsLoopback() || l.Port == 0 {
				continue
			}
			key := listenKey(addr, l.Port)
			want[key] = g
			tlsPorts[key] = tlsPorts[key] || strings.EqualFold(l.Protocol, "Https")
		}
	}
	for key, p := range e.gwBackends {
		if backends[key] == nil {
			p.close()
		}
	}
	e.gwBackends = backends
	for key, f := range e.gwFronts {
		if want[key] == nil || f.srv.TLSConfig != nil != tlsPorts[key] {
			f.srv.Close()
			delete(e.gwFronts, key)
		}
	}
	for key, g := range want {
		if f := e.gwFronts[key]; f != nil {
			f.gw.Store(g)
			continue
		}
		ln, err := net.Listen("tcp", key)
		if err != nil {
			e.cfg.Log.Warn("application gateway frontend cannot listen on this host", "gateway", g.spec.ID, "address", key, "err", err)
			continue
		}
		ap, _ := netip.ParseAddrPort(key)
		f := &gwFront{addr: ap.Addr(), port: int(ap.Port())}
		f.gw.Store(g)
		f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
		if tlsPorts[key] {
			f.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: f.certificate}
			ln = tls.NewListener(ln, f.srv.TLSConfig)
		}
		e.gwFronts[key] = f
		go f.srv.Serve(ln) //nolint:errcheck // ends when closed
	}
}

// compileGateway indexes a gateway and finds (or starts) its backends'
// probers, recording them in backends.
func (e *Engine) compileGateway(spec clusterspec.AppGateway, backends map[string]*prober) *gateway {
	g := &gateway{spec: spec, listeners: map[string]clusterspec.AGListener{}, pathMaps: map[string]clusterspec.AGPathMap{},
		redirects: map[string]clusterspec.AGRedirect{}, settings: map[string]clusterspec.AGSettings{}, frontends: map[string]netip.Addr{},
		backends: map[string]*prober{}, certs: map[string]*tls.Certificate{}, engine: e,
		log: func(msg string, args ...any) { e.cfg.Log.Info(msg, append([]any{"gateway", spec.ID}, args...)...) }}
	for _, f := range spec.Frontends {
		if a, err := netip.ParseAddr(f.Address); err == nil && f.Public {
			g.frontends[strings.ToLower(f.Name)] = a
		}
	}
	for _, l := range spec.Listeners {
		g.listeners[strings.ToLower(l.Name)] = l
	}
	g.ordered = g.rules()
	g.count = e.counterFor(spec.ID)
	for _, m := range spec.PathMaps {
		g.pathMaps[strings.ToLower(m.Name)] = m
	}
	for _, r := range spec.Redirects {
		g.redirects[strings.ToLower(r.Name)] = r
	}
	for _, s := range spec.Settings {
		g.settings[strings.ToLower(s.Name)] = s
	}
	for _, c := range spec.Certificates {
		cert, err := ParseCertificate(c.Data, c.Password)
		if err != nil {
			g.log("listener certificate unusable", "certificate", c.Name, "err", err)
			continue
		}
		g.certs[strings.ToLower(c.Name)] = cert
	}
	probes := map[string]clusterspec.AGProbe{}
	for _, p := range spec.Probes {
		probes[strings.ToLower(p.Name)] = p
	}
	client := probeClient(e.cfg.Dial)
	// Every (settings, pool address) a rule can reach is probed.
	pair := func(pool, settings string) {
		s, ok := g.settings[strings.ToLower(settings)]
		if !ok {
			return
		}
		probe, custom := probes[strings.ToLower(s.Probe)]
		if !custom {
			probe = clusterspec.AGProbe{Protocol: s.Protocol, Path: "/", IntervalSeconds: 30, TimeoutSeconds: 30, UnhealthyThreshold: 3}
		}
		for _, addr := range g.pool(pool) {
			key := fmt.Sprintf("%s|%+v|%+v|%s", strings.ToLower(spec.ID), s, probe, addr)
			p := backends[key]
			if p == nil {
				p = e.gwBackends[key]
			}
			if p == nil {
				p = startProber(time.Duration(probe.IntervalSeconds)*time.Second, probe.UnhealthyThreshold, func() bool { return true },
					gatewayCheck(client, s, probe, addr, custom))
			}
			backends[key] = p
			g.backends[strings.ToLower(s.Name)+"|"+addr] = p
		}
	}
	for _, r := range spec.Rules {
		pair(r.Pool, r.Settings)
		if m, ok := g.pathMaps[strings.ToLower(r.PathMap)]; ok {
			pair(m.DefaultPool, m.DefaultSettings)
			for _, pr := range m.Rules {
				pair(pr.Pool, pr.Settings)
			}
		}
	}
	if spec.WAF != nil && spec.WAF.Enabled {
		w, err := newFirewall(*spec.WAF)
		if err != nil {
			g.log("web application firewall not running", "err", err)
		}
		g.waf = w
	}
	return g
}

// gatewayCheck is one probe of a backend through the virtual network: a
// GET of the probe's path on the settings' port (or the probe's), with the
// probe's host (or the settings' host name, or the backend's address), whose
// status must be 200–399 or one the probe's match names.
func gatewayCheck(client *http.Client, s clusterspec.AGSettings, probe clusterspec.AGProbe, addr string, custom bool) func(ctx context.Context) bool {
	port := s.Port
	if probe.Port != 0 {
		port = probe.Port
	}
	scheme := strings.ToLower(probe.Protocol)
	if scheme != "https" {
		scheme = "http"
	}
	p := probe.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	target := scheme + "://" + net.JoinHostPort(addr, strconv.Itoa(port)) + p
	host := probe.Host
	if probe.PickHostName || !custom {
		host = s.HostName
		if s.PickHostName || host == "" {
			host = addr
		}
	}
	return func(ctx context.Context) bool {
		return httpProbe(ctx, client, target, host, func(status int) bool { return statusMatches(probe.StatusCodes, status) })
	}
}

// statusMatches tells whether status is in the ranges ("200-399" when
// none are given).
func statusMatches(ranges []string, status int) bool {
	if len(ranges) == 0 {
		ranges = []string{"200-399"}
	}
	return anyPort(ranges, status)
}

// pool is a backend pool's addresses.
func (g *gateway) pool(name string) []string {
	for _, p := range g.spec.Pools {
		if strings.EqualFold(p.Name, name) {
			return p.Addresses
		}
	}
	return nil
}

// certificate picks the HTTPS listener certificate for a client hello:
// the listener on this port whose host names take its server name, else
// one without host names.
func (f *gwFront) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	g := f.gw.Load()
	var fallback *tls.Certificate
	for _, r := range g.ordered {
		l, ok := g.listeners[strings.ToLower(r.Listener)]
		if !ok || l.Port != f.port || g.frontends[strings.ToLower(l.Frontend)] != f.addr || !strings.EqualFold(l.Protocol, "Https") {
			continue
		}
		cert := g.certs[strings.ToLower(l.Certificate)]
		if cert == nil {
			continue
		}
		if len(l.HostNames) == 0 {
			if fallback == nil {
				fallback = cert
			}
			continue
		}
		if hostMatches(l.HostNames, hello.ServerName) {
			return cert, nil
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	return nil, errors.New("no listener certificate for this host")
}

// rules are the gateway's rules in the order they are matched: by
// priority; without priorities, multi-site listeners before basic ones.
func (g *gateway) rules() []clusterspec.AGRule {
	out := append([]clusterspec.AGRule(nil), g.spec.Rules...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return len(g.listeners[strings.ToLower(a.Listener)].HostNames) > 0 && len(g.listeners[strings.ToLower(b.Listener)].HostNames) == 0
	})
	return out
}

// hostMatches tells whether host is one of the listener's host names
// (which may hold * and ? wildcards).
func hostMatches(names []string, host string) bool {
	host = strings.ToLower(host)
	for _, n := range names {
		if ok, _ := path.Match(strings.ToLower(n), host); ok {
			return true
		}
	}
	return false
}

func (f *gwFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := f.gw.Load()
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var rule *clusterspec.AGRule
	var listener clusterspec.AGListener
	for _, cand := range g.ordered {
		l, ok := g.listeners[strings.ToLower(cand.Listener)]
		if !ok || l.Port != f.port || g.frontends[strings.ToLower(l.Frontend)] != f.addr {
			continue
		}
		if len(l.HostNames) > 0 && !hostMatches(l.HostNames, host) {
			continue
		}
		rule, listener = &cand, l
		break
	}
	if rule == nil {
		g.count.refused.Add(1)
		gwError(w, http.StatusNotFound)
		return
	}
	if g.waf != nil && g.waf.block(w, r, g.log) {
		g.count.refused.Add(1)
		return
	}
	pool, settings, redirect, prefix := rule.Pool, rule.Settings, rule.Redirect, ""
	if m, ok := g.pathMaps[strings.ToLower(rule.PathMap)]; ok {
		pool, settings, redirect = m.DefaultPool, m.DefaultSettings, m.DefaultRedirect
		if pr, p, ok := matchPath(m.Rules, r.URL.Path); ok {
			pool, settings, redirect, prefix = pr.Pool, pr.Settings, pr.Redirect, p
		}
	}
	if rd, ok := g.redirects[strings.ToLower(redirect)]; ok {
		g.redirect(w, r, rd, listener)
		return
	}
	s, ok := g.settings[strings.ToLower(settings)]
	if !ok {
		g.count.refused.Add(1)
		gwError(w, http.StatusBadGateway)
		return
	}
	addr, setCookie := g.pick(r, s, pool)
	if addr == "" {
		g.count.refused.Add(1)
		gwError(w, http.StatusBadGateway)
		return
	}
	g.count.took(addr)
	g.forward(w, r, f, s, addr, prefix, setCookie)
}

// matchPath finds the path rule for p: an exact path first, else the
// longest "/prefix/*" that p is under. It returns the prefix matched.
func matchPath(rules []clusterspec.AGPathRule, p string) (clusterspec.AGPathRule, string, bool) {
	best, bestLen, found := clusterspec.AGPathRule{}, -1, false
	var bestPrefix string
	for _, pr := range rules {
		for _, pat := range pr.Paths {
			if base, wild := strings.CutSuffix(pat, "*"); wild {
				if strings.HasPrefix(strings.ToLower(p), strings.ToLower(base)) && len(base) > bestLen {
					best, bestLen, bestPrefix, found = pr, len(base), base, true
				}
			} else if strings.EqualFold(pat, p) {
				return pr, pat, true
			}
		}
	}
	return best, bestPrefix, found
}

// redirect answers with a redirect configuration.
func (g *gateway) redirect(w http.ResponseWriter, r *http.Request, rd clusterspec.AGRedirect, from clusterspec.AGListener) {
	var target string
	if rd.TargetURL != "" {
		target = rd.TargetURL
	} else if l, ok := g.listeners[strings.ToLower(rd.TargetListener)]; ok {
		scheme := "http"
		if strings.EqualFold(l.Protocol, "Https") {
			scheme = "https"
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if (scheme == "https" && l.Port != 443) || (scheme == "http" && l.Port != 80) {
			host = net.JoinHostPort(host, strconv.Itoa(l.Port))
		}
		target = scheme + "://" + host
	} else {
		gwError(w, http.StatusBadGateway)
		return
	}
	if rd.IncludePath {
		target = strings.TrimSuffix(target, "/") + r.URL.Path
	}
	if rd.IncludeQueryString && r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	status := map[string]int{"permanent": http.StatusMovedPermanently, "found": http.StatusFound, "seeother": http.StatusSeeOther,
		"temporary": http.StatusTemporaryRedirect}[strings.ToLower(rd.Type)]
	if status == 0 {
		status = http.StatusMovedPermanently
	}
	http.Redirect(w, r, target, status)
}

// affinityCookie is Application Gateway's cookie name for cookie-based
// affinity.
const affinityCookie = "ApplicationGatewayAffinity"

// pick chooses a healthy backend of pool for settings s: the one the
// request's affinity cookie names when s has affinity, else the next in
// turn. setCookie is the cookie value to hand out ("" for none).
func (g *gateway) pick(r *http.Request, s clusterspec.AGSettings, pool string) (addr, setCookie string) {
	var healthy []string
	for _, a := range g.pool(pool) {
		if p := g.backends[strings.ToLower(s.Name)+"|"+a]; p != nil && p.healthy.Load() {
			healthy = append(healthy, a)
		}
	}
	if len(healthy) == 0 {
		return "", ""
	}
	name := s.AffinityCookieName
	if name == "" {
		name = affinityCookie
	}
	if s.CookieAffinity {
		if c, err := r.Cookie(name); err == nil {
			for _, a := range healthy {
				if affinityValue(a) == c.Value {
					return a, ""
				}
			}
		}
	}
	a := healthy[int(g.rr.Add(1)%uint64(len(healthy)))]
	if s.CookieAffinity {
		return a, affinityValue(a)
	}
	return a, ""
}

func affinityValue(addr string) string {
	h := sha256.Sum256([]byte(addr))
	return hex.EncodeToString(h[:16])
}

// forward proxies r to the backend at addr as settings s say: path
// override (replacing the matched path rule's prefix, or prefixed to a
// basic rule's path), host override, request timeout, and the headers
// Application Gateway adds.
func (g *gateway) forward(w http.ResponseWriter, r *http.Request, f *gwFront, s clusterspec.AGSettings, addr, prefix, setCookie string) {
	scheme := "http"
	if strings.EqualFold(s.Protocol, "Https") {
		scheme = "https"
	}
	fw := &forwarding{g: g, addr: addr, setCookie: setCookie, cookieName: s.AffinityCookieName, port: strconv.Itoa(f.port),
		target: &url.URL{Scheme: scheme, Host: net.JoinHostPort(addr, strconv.Itoa(s.Port))}, path: r.URL.Path, host: r.Host}
	if fw.cookieName == "" {
		fw.cookieName = affinityCookie
	}
	if s.Path != "" {
		if prefix != "" {
			fw.path = s.Path + strings.TrimPrefix(fw.path, prefix)
		} else {
			fw.path = strings.TrimSuffix(s.Path, "/") + fw.path
		}
	}
	switch {
	case s.PickHostName:
		fw.host = addr
	case s.HostName != "":
		fw.host = s.HostName
	}
	fw.proto = "http"
	if r.TLS != nil {
		fw.proto = "https"
	}
	timeout := time.Duration(s.RequestTimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), forwardingKey{}, fw), timeout)
	defer cancel()
	g.engine.gwProxy.ServeHTTP(w, r.WithContext(ctx))
}

// forwarding is where one request goes and how (forward works it out; the
// engine's one reverse proxy reads it from the request's context).
type forwarding struct {
	g                             *gateway
	target                        *url.URL
	addr, path, host, proto, port string
	setCookie, cookieName         string
}

type forwardingKey struct{}

// newGatewayProxy is the engine's reverse proxy for every gateway: each
// request carries its forwarding.
func newGatewayProxy(t http.RoundTripper) *httputil.ReverseProxy {
	fwOf := func(r *http.Request) *forwarding { return r.Context().Value(forwardingKey{}).(*forwarding) }
	return &httputil.ReverseProxy{
		Transport:  t,
		BufferPool: bufferPool{free: make(chan []byte, 64)},
		Rewrite: func(pr *httputil.ProxyRequest) {
			fw := fwOf(pr.In)
			pr.SetURL(fw.target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = fw.path, ""
			pr.Out.Host = fw.host
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Port", fw.port)
			pr.Out.Header.Set("X-Forwarded-Proto", fw.proto)
			pr.Out.Header.Set("X-Original-Host", pr.In.Host)
		},
		ModifyResponse: func(resp *http.Response) error {
			if fw := fwOf(resp.Request); fw.setCookie != "" {
				resp.Header.Add("Set-Cookie", (&http.Cookie{Name: fw.cookieName, Value: fw.setCookie, Path: "/"}).String())
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			fw := fwOf(r)
			fw.g.log("application gateway: backend did not answer", "backend", fw.addr, "err", err)
			gwError(w, http.StatusBadGateway)
		},
	}
}

// bufferPool lends the proxy its copy buffers: a free list of up to 64.
type bufferPool struct{ free chan []byte }

func (p bufferPool) Get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, 32<<10)
	}
}

func (p bufferPool) Put(b []byte) {
	select {
	case p.free <- b:
	default:
	}
}

// decodeCertificateData is a certificate's data: base64, as ARM carries it.
func decodeCertificateData(data string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("certificate data is not base64: %w", err)
	}
	return b, nil
}
