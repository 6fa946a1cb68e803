package dataplane

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

func TestSecurityRules(t *testing.T) {
	vnet := []netip.Prefix{netip.MustParsePrefix("10.224.0.0/12")}
	groups := []clusterspec.SecurityGroup{{ID: "nsg", Rules: []clusterspec.SecurityRule{
		{Name: "deny-8080", Priority: 100, Protocol: "Tcp", Sources: []string{"*"}, Destinations: []string{"*"}, Ports: []string{"8080-8081"}},
		{Name: "allow-web", Priority: 500, Allow: true, Protocol: "Tcp", Sources: []string{"Internet"}, Destinations: []string{"127.224.0.5"}, Ports: []string{"80", "443"}},
		{Name: "AllowVnetInBound", Priority: 65000, Allow: true, Protocol: "*", Sources: []string{"VirtualNetwork"}, Destinations: []string{"VirtualNetwork"}, Ports: []string{"*"}},
		{Name: "AllowAzureLoadBalancerInBound", Priority: 65001, Allow: true, Protocol: "*", Sources: []string{"AzureLoadBalancer"}, Destinations: []string{"*"}, Ports: []string{"*"}},
		{Name: "DenyAllInBound", Priority: 65500, Protocol: "*", Sources: []string{"*"}, Destinations: []string{"*"}, Ports: []string{"*"}},
	}}}
	host, lb, node := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.224.0.5"), netip.MustParseAddr("10.224.0.4")
	for _, tc := range []struct {
		f    flow
		ok   bool
		rule string
	}{
		{flow{host, lb, 80, "Tcp"}, true, ""},
		{flow{host, lb, 443, "Tcp"}, true, ""},
		{flow{host, lb, 81, "Tcp"}, false, "DenyAllInBound"},
		{flow{host, lb, 80, "Udp"}, false, "DenyAllInBound"},
		{flow{host, lb, 8081, "Tcp"}, false, "deny-8080"},
		{flow{netip.MustParseAddr("10.224.0.5"), node, 22, "Tcp"}, true, ""},
		{flow{azureHost, node, 31000, "Tcp"}, true, ""},
		{flow{host, node, 31000, "Tcp"}, false, "DenyAllInBound"},
	} {
		ok, rule := allowed(groups, vnet, tc.f)
		if ok != tc.ok || rule != tc.rule {
			t.Errorf("%+v: allowed %v by %q, want %v by %q", tc.f, ok, rule, tc.ok, tc.rule)
		}
	}
}

// backend is a server that answers every line with its name; its switch
// closes and reopens its port (a TCP probe then fails and passes).
func backend(t *testing.T, name string) (string, func(bool)) {
	t.Helper()
	var mu sync.Mutex
	var ln net.Listener
	listen := func(addr string) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ln = l
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					r := bufio.NewReader(c)
					for {
						if _, err := r.ReadString('\n'); err != nil {
							return
						}
						fmt.Fprintln(c, name)
					}
				}()
			}
		}()
	}
	listen("127.0.0.1:0")
	addr := ln.Addr().String()
	t.Cleanup(func() { mu.Lock(); ln.Close(); mu.Unlock() })
	return addr, func(up bool) {
		mu.Lock()
		defer mu.Unlock()
		if up {
			listen(addr)
		} else {
			ln.Close()
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func ask(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintln(c, "hi")
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// The engine carries a frontend's connections to healthy members only, by
// the probe's verdict, and resets what a security rule denies; a new
// configuration takes effect for the next connection.
func TestLoadBalancer(t *testing.T) {
	a, _ := backend(t, "a")
	b, setB := backend(t, "b")
	nodes := map[string]string{"10.1.0.4": a, "10.1.0.5": b}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		real, ok := nodes[host]
		if !ok || port != "30080" {
			return nil, fmt.Errorf("nothing at %s", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, real)
	}
	e := New(Config{Dial: dial, Running: func(netip.Addr) bool { return true },
		NodePort: func(netip.Addr, string, int) (int, bool) { return 30080, true }})
	defer e.Close()
	port := freePort(t)
	lb := clusterspec.LoadBalancer{ID: "lb",
		Frontends: []clusterspec.LBFrontend{{Name: "fe", Address: "127.0.0.1", Public: true}},
		Pools:     []clusterspec.LBPool{{Name: "pool", Members: []string{"10.1.0.4", "10.1.0.5"}}},
		Probes:    []clusterspec.LBProbe{{Name: "probe", Protocol: "Tcp", Port: 30080, IntervalSeconds: 1, Threshold: 1}},
		Rules: []clusterspec.LBRule{{Name: "rule", Frontend: "fe", Pool: "pool", Probe: "probe", Protocol: "Tcp",
			FrontendPort: port, BackendPort: port, FloatingIP: true, IdleTimeoutMinutes: 4}},
	}
	allowAll := clusterspec.SecurityGroup{ID: "nsg", Rules: []clusterspec.SecurityRule{{Name: "all", Allow: true, Protocol: "*", Sources: []string{"*"}, Destinations: []string{"*"}, Ports: []string{"*"}}}}
	e.Set(clusterspec.Fabric{LoadBalancers: []clusterspec.LoadBalancer{lb}, SecurityGroups: []clusterspec.SecurityGroup{allowAll}})
	front := "127.0.0.1:" + strconv.Itoa(port)

	answers := func(n int) map[string]int {
		seen := map[string]int{}
		for range n {
			got, err := ask(front)
			if err != nil {
				got = "error"
			}
			seen[got]++
		}
		return seen
	}
	waitFor := func(what string, ok func(map[string]int) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			seen := answers(20)
			if ok(seen) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: answers %v", what, seen)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("both members", func(s map[string]int) bool { return s["a"] > 0 && s["b"] > 0 && s["a"]+s["b"] == 20 })
	// What was carried is counted, by rule and backend.
	dp := e.DataPath()
	if len(dp.Rules) != 1 || dp.Rules[0].ID != "lb/loadBalancingRules/rule" || dp.Rules[0].Carried < 20 || len(dp.Rules[0].Backends) != 2 ||
		!dp.Rules[0].Backends[0].Healthy || dp.Rules[0].Backends[0].Carried+dp.Rules[0].Backends[1].Carried != dp.Rules[0].Carried {
		t.Errorf("data path counts: %+v", dp)
	}

	// b's probe fails: traffic goes to a only, within the probe's interval.
	setB(false)
	waitFor("only a", func(s map[string]int) bool { return s["a"] == 20 })
	setB(true)
	waitFor("b back", func(s map[string]int) bool { return s["b"] > 0 && s["error"] == 0 })

	// A security rule that denies the host resets its connections.
	deny := clusterspec.SecurityGroup{ID: "nsg", Rules: []clusterspec.SecurityRule{{Name: "no-host", Protocol: "Tcp", Sources: []string{"127.0.0.0/8"}, Destinations: []string{"*"}, Ports: []string{"*"}}}}
	e.Set(clusterspec.Fabric{LoadBalancers: []clusterspec.LoadBalancer{lb}, SecurityGroups: []clusterspec.SecurityGroup{deny}})
	if s := answers(5); s["error"] != 5 {
		t.Errorf("denied by a security rule, answers %v", s)
	}
	// SourceIP distribution: one client address, one member.
	lb.Rules[0].Distribution = "SourceIP"
	e.Set(clusterspec.Fabric{LoadBalancers: []clusterspec.LoadBalancer{lb}, SecurityGroups: []clusterspec.SecurityGroup{allowAll}})
	if s := answers(20); len(s) != 1 || s["error"] > 0 {
		t.Errorf("SourceIP distribution from one client: answers %v", s)
	}
	// The rule removed: nothing listens.
	e.Set(clusterspec.Fabric{})
	if _, err := net.DialTimeout("tcp", front, time.Second); err == nil {
		t.Error("the frontend still listens without a rule")
	}
}

// A UDP rule carries a client's datagrams to a member and its answers
// back from the frontend's address.
func TestLoadBalancerUDP(t *testing.T) {
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		b := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFrom(b)
			if err != nil {
				return
			}
			echo.WriteTo(append([]byte("echo "), b[:n]...), from)
		}
	}()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network != "udp" || addr != "10.1.0.4:30053" {
			return nil, fmt.Errorf("nothing at %s %s", network, addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, echo.LocalAddr().String())
	}
	e := New(Config{Dial: dial, Running: func(netip.Addr) bool { return true },
		NodePort: func(_ netip.Addr, protocol string, _ int) (int, bool) { return 30053, protocol == "UDP" }})
	defer e.Close()
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	e.Set(clusterspec.Fabric{LoadBalancers: []clusterspec.LoadBalancer{{ID: "lb",
		Frontends: []clusterspec.LBFrontend{{Name: "fe", Address: "127.0.0.1", Public: true}},
		Pools:     []clusterspec.LBPool{{Name: "pool", Members: []string{"10.1.0.4"}}},
		Rules: []clusterspec.LBRule{{Name: "dns", Frontend: "fe", Pool: "pool", Protocol: "Udp",
			FrontendPort: port, BackendPort: port, FloatingIP: true}},
	}}})
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "ping %d", i)
		b := make([]byte, 100)
		n, err := c.Read(b)
		if err != nil || string(b[:n]) != fmt.Sprintf("echo ping %d", i) {
			t.Fatalf("answer %d: %q %v", i, b[:n], err)
		}
	}
}
