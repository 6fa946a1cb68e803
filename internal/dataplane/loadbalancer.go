// Package dataplane executes the Azure network configuration that real
// nodes sit behind: a load balancer's public frontends answer on the host
// (their addresses are loopback there), and each connection goes where the
// load balancer's rule sends it — past the security groups on the way, to
// a backend pool member that its health probe finds healthy, chosen by the
// rule's distribution — through the virtual network to the node. The
// configuration is data (clusterspec.Fabric), replaced whole on every
// change, so a rule or a security rule changed with az decides the next
// connection.
package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

// Config is what the data path needs of the cluster.
type Config struct {
	// Dial connects to addr from inside the virtual network, as traffic
	// Azure delivers to a NIC arrives there.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Running tells whether a NIC address is a running real node's; a
	// simulated node's carries no traffic.
	Running func(addr netip.Addr) bool
	// NodePort is the port a floating-IP rule's traffic reaches on a node:
	// with floating IP the load balancer delivers packets still addressed
	// to the frontend, and a node's kube-proxy sends those where it sends
	// its Service's node port. ok is false when no Service has the
	// frontend's address and port.
	NodePort func(frontend netip.Addr, protocol string, port int) (nodePort int, ok bool)
	// Event, when set, reports what a load balancer frontend's owner (the
	// Service whose frontend it is) should hear: a frontend that cannot
	// listen, a connection refused for want of a healthy backend.
	Event func(frontend, reason, message string)
	Log   *slog.Logger
}

// Reasons of Events.
const (
	ReasonFrontendUnavailable = "LoadBalancerFrontendUnavailable"
	ReasonNoHealthyBackend    = "LoadBalancerNoHealthyBackend"
)

func (e *Engine) event(r *route, reason, message string) {
	if e.cfg.Event != nil {
		e.cfg.Event(r.rule.Frontend, reason, message)
	}
}

// errNoHealthyBackend is backendFor's answer when no member may take a
// flow.
type errNoHealthyBackend struct {
	rule, pool, probe string
	members           int
}

func (e errNoHealthyBackend) Error() string {
	if e.members == 0 {
		return fmt.Sprintf("load balancer rule %s: backend pool %s has no members", e.rule, e.pool)
	}
	msg := fmt.Sprintf("load balancer rule %s: none of the %d members of backend pool %s", e.rule, e.members, e.pool)
	if e.probe != "" {
		msg += " passes health probe " + e.probe
	} else {
		msg += " runs"
	}
	return msg + " (members on simulated nodes never do: their pods run no containers)"
}

// Engine runs one cluster's load balancers.
type Engine struct {
	cfg Config

	mu         sync.Mutex
	listeners  map[string]*listener
	probers    map[string]*prober
	gwFronts   map[string]*gwFront
	gwBackends map[string]*prober
	counters   map[string]*counter
	closed     bool
	// gwTransport carries the gateways' requests to their backends,
	// through gwProxy.
	gwTransport *http.Transport
	gwProxy     *httputil.ReverseProxy
}

// New makes an engine with no configuration.
func New(cfg Config) *Engine {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	t := &http.Transport{
		DialContext:         cfg.Dial,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // backends' certificates are the cluster's own
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Engine{cfg: cfg, listeners: map[string]*listener{}, probers: map[string]*prober{},
		gwFronts: map[string]*gwFront{}, gwBackends: map[string]*prober{}, counters: map[string]*counter{}, gwTransport: t, gwProxy: newGatewayProxy(t)}
}

// listener is one frontend address, protocol and port.
type listener struct {
	ln    net.Listener   // TCP
	pc    net.PacketConn // UDP
	route atomic.Pointer[route]
}

func (l *listener) close() {
	if l.ln != nil {
		l.ln.Close()
	}
	if l.pc != nil {
		l.pc.Close()
	}
}

// route is what a frontend port does with a connection: one rule.
type route struct {
	lb       string
	rule     clusterspec.LBRule
	frontend netip.Addr
	members  []member
	groups   []clusterspec.SecurityGroup
	vnet     []netip.Prefix
	count    *counter
}

// member is a backend pool member and, when the rule has a probe, its
// prober.
type member struct {
	addr  netip.Addr
	probe *prober
}

func (m member) healthy() bool { return m.probe == nil || m.probe.healthy.Load() }

// Set replaces the configuration: frontends no rule uses any more close,
// new ones open, the others take their new rule for the next connection.
func (e *Engine) Set(f clusterspec.Fabric) {
	var vnet []netip.Prefix
	for _, p := range f.AddressSpace {
		if pfx, err := netip.ParsePrefix(p); err == nil {
			vnet = append(vnet, pfx)
		}
	}
	routes := map[string]*route{}
	probers := map[string]*prober{}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	for _, lb := range f.LoadBalancers {
		for _, rule := range lb.Rules {
			fe, ok := frontendOf(lb, rule.Frontend)
			if !ok || !fe.Public {
				// A private frontend's address is the virtual network's;
				// the host never has it.
				continue
			}
			addr, err := netip.ParseAddr(fe.Address)
			if err != nil || !addr.IsLoopback() {
				continue
			}
			var protocols []string
			switch strings.ToLower(rule.Protocol) {
			case "tcp":
				protocols = []string{"tcp"}
			case "udp":
				protocols = []string{"udp"}
			case "all":
				protocols = []string{"tcp", "udp"}
			default:
				continue
			}
			r := &route{lb: lb.ID, rule: rule, frontend: addr, groups: f.SecurityGroups, vnet: vnet}
			r.count = e.counterFor(r.id())
			probe, hasProbe := probeOf(lb, rule.Probe)
			for _, m := range poolOf(lb, rule.Pool) {
				ip, err := netip.ParseAddr(m)
				if err != nil {
					continue
				}
				mem := member{addr: ip}
				if hasProbe {
					key := fmt.Sprintf("%s|%+v|%s", strings.ToLower(lb.ID), probe, ip)
					p := probers[key]
					if p == nil {
						p = e.probers[key]
					}
					if p == nil {
						p = e.lbProber(probe, ip)
					}
					probers[key] = p
					mem.probe = p
				}
				r.members = append(r.members, mem)
			}
			for _, p := range protocols {
				routes[p+"|"+listenKey(addr, rule.FrontendPort)] = r
			}
		}
	}
	for key, p := range e.probers {
		if probers[key] == nil {
			p.close()
		}
	}
	e.probers = probers
	e.setGateways(f.ApplicationGateways)
	for key, l := range e.listeners {
		if routes[key] == nil {
			l.close()
			delete(e.listeners, key)
		}
	}
	for key, r := range routes {
		if l := e.listeners[key]; l != nil {
			l.route.Store(r)
			continue
		}
		network, addr, _ := strings.Cut(key, "|")
		l := &listener{}
		var err error
		if network == "udp" {
			l.pc, err = net.ListenPacket("udp", addr)
		} else {
			l.ln, err = net.Listen("tcp", addr)
		}
		if err != nil {
			e.cfg.Log.Warn("load balancer frontend cannot listen on this host", "loadBalancer", r.lb, "rule", r.rule.Name, "address", addr, "protocol", network, "err", err)
			e.event(r, ReasonFrontendUnavailable, fmt.Sprintf("Load balancer rule %s: its frontend cannot listen on %s/%s on this host: %v", r.rule.Name, addr, network, err))
			continue
		}
		l.route.Store(r)
		e.listeners[key] = l
		if network == "udp" {
			go e.serveUDP(l)
		} else {
			go e.serve(l)
		}
	}
}

// Close stops every frontend and probe.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for _, l := range e.listeners {
		l.close()
	}
	for _, p := range e.probers {
		p.close()
	}
	for _, f := range e.gwFronts {
		f.srv.Close()
	}
	for _, p := range e.gwBackends {
		p.close()
	}
	e.gwTransport.CloseIdleConnections()
	e.listeners, e.probers = map[string]*listener{}, map[string]*prober{}
	e.gwFronts, e.gwBackends = map[string]*gwFront{}, map[string]*prober{}
}

func listenKey(a netip.Addr, port int) string {
	return net.JoinHostPort(a.String(), strconv.Itoa(port))
}

func frontendOf(lb clusterspec.LoadBalancer, name string) (clusterspec.LBFrontend, bool) {
	for _, f := range lb.Frontends {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return clusterspec.LBFrontend{}, false
}

func probeOf(lb clusterspec.LoadBalancer, name string) (clusterspec.LBProbe, bool) {
	for _, p := range lb.Probes {
		if name != "" && strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return clusterspec.LBProbe{}, false
}

func poolOf(lb clusterspec.LoadBalancer, name string) []string {
	for _, p := range lb.Pools {
		if strings.EqualFold(p.Name, name) {
			out := append([]string(nil), p.Members...)
			sort.Strings(out)
			return out
		}
	}
	return nil
}

// serve accepts a frontend's connections until its listener closes.
func (e *Engine) serve(l *listener) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go e.carry(c, l.route.Load())
	}
}

// dialTimeout bounds connecting to a backend.
const dialTimeout = 5 * time.Second

// backendFor chooses the member that gets a flow from src and returns
// where to connect on it, or says why the flow goes nowhere: no pool
// member is healthy, a security group denies it, or (floating IP) no
// Service has the frontend's address and port.
func (e *Engine) backendFor(r *route, src netip.AddrPort, protocol string) (string, error) {
	var healthy []member
	for _, m := range r.members {
		if m.healthy() && e.cfg.Running(m.addr) {
			healthy = append(healthy, m)
		}
	}
	if len(healthy) == 0 {
		return "", errNoHealthyBackend{rule: r.rule.Name, pool: r.rule.Pool, probe: r.rule.Probe, members: len(r.members)}
	}
	m := healthy[pick(r.rule.Distribution, protocol, src, r.frontend, r.rule.FrontendPort, len(healthy))]
	// With floating IP the node sees the frontend's address and port;
	// without it, its own address and the rule's backend port.
	dst, port := m.addr, r.rule.BackendPort
	if r.rule.FloatingIP {
		dst, port = r.frontend, r.rule.FrontendPort
	}
	if ok, rule := allowed(r.groups, r.vnet, flow{src: src.Addr().Unmap(), dst: dst, port: port, protocol: protocol}); !ok {
		return "", fmt.Errorf("denied by security rule %s", rule)
	}
	if r.rule.FloatingIP {
		np, ok := e.cfg.NodePort(r.frontend, strings.ToUpper(protocol), r.rule.FrontendPort)
		if !ok {
			return "", fmt.Errorf("no Service has the frontend's address %s and port %d", r.frontend, r.rule.FrontendPort)
		}
		port = np
	}
	return net.JoinHostPort(m.addr.String(), strconv.Itoa(port)), nil
}

// idleTimeout is a rule's idle timeout (Azure's default: 4 minutes).
func (r *route) idleTimeout() time.Duration {
	if d := time.Duration(r.rule.IdleTimeoutMinutes) * time.Minute; d > 0 {
		return d
	}
	return 4 * time.Minute
}

// carry takes one connection where its rule sends it, or resets it when
// it goes nowhere (a security group's deny included: Azure drops such
// packets; a reset tells the client at once instead of after its
// timeout) or the member does not answer.
func (e *Engine) carry(c net.Conn, r *route) {
	src, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	target, err := e.backendFor(r, src, "Tcp")
	if err != nil {
		e.cfg.Log.Info("load balancer: connection refused", "rule", r.rule.Name, "client", src, "reason", err)
		if _, ok := err.(errNoHealthyBackend); ok {
			e.event(r, ReasonNoHealthyBackend, "Connection from "+src.String()+" reset: "+err.Error())
		}
		r.count.refused.Add(1)
		reset(c)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	up, err := e.cfg.Dial(ctx, "tcp", target)
	cancel()
	if err != nil {
		e.cfg.Log.Info("load balancer: backend does not answer", "rule", r.rule.Name, "backend", target, "err", err)
		r.count.refused.Add(1)
		reset(c)
		return
	}
	host, _, _ := net.SplitHostPort(target)
	r.count.took(host)
	splice(c, up, r.idleTimeout(), r.rule.TCPReset)
}

// pick chooses a member by the rule's distribution: a hash of the five
// tuple (Default), of source and destination addresses (SourceIP), or of
// those and the protocol (SourceIPProtocol).
func pick(distribution, protocol string, src netip.AddrPort, dst netip.Addr, port, n int) int {
	h := fnv.New32a()
	h.Write(src.Addr().AsSlice())
	h.Write(dst.AsSlice())
	switch strings.ToLower(distribution) {
	case "sourceip":
	case "sourceipprotocol":
		h.Write([]byte(strings.ToLower(protocol)))
	default:
		fmt.Fprintf(h, "%s|%d|%d", strings.ToLower(protocol), src.Port(), port)
	}
	return int(h.Sum32() % uint32(n))
}

// reset closes c with a TCP reset.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // closing anyway
	}
	c.Close()
}

// splice copies both ways until both are done or the flow has been idle
// for idle; then it closes both connections, with resets when tcpReset.
// A half-close passes on; an error on either side ends both.
func splice(a, b net.Conn, idle time.Duration, tcpReset bool) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var once sync.Once
	end := func(idled bool) {
		once.Do(func() {
			if idled && tcpReset {
				reset(a)
				reset(b)
				return
			}
			a.Close()
			b.Close()
		})
	}
	copyOne := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			src.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck // a conn's deadline
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					end(false)
					return
				}
			}
			switch {
			case err == nil:
			case errors.Is(err, io.EOF):
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite() //nolint:errcheck // the peer may be gone
				}
				return
			default:
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < idle {
					continue // the other direction is busy
				}
				end(errors.As(err, &ne) && ne.Timeout())
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); copyOne(b, a) }()
	go func() { defer wg.Done(); copyOne(a, b) }()
	wg.Wait()
	end(false)
}
