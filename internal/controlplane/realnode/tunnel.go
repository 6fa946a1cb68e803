package realnode

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vishvananda/netns"

	"github.com/localaks/localaks/internal/clusterspec"
)

// The tunnel is how the API server reaches kubelets, pods and services
// (logs, exec, port-forward, proxies, webhooks, aggregated APIs): as AKS's
// reaches them through konnectivity rather than a route, this API server's
// egress selector sends "cluster" traffic as HTTP CONNECT over a Unix
// socket to the control-plane process, which dials from inside a real
// node's network namespace: the node itself when the target is one, any
// real node otherwise (its kube-proxy resolves ClusterIPs, as a
// konnectivity agent's node does). Node names are resolved here, from the
// spec, never by DNS. Loopback targets (webhooks localaks serves) are
// dialled on the host. Nothing else is dialled at all.

// EgressConfig is the API server's EgressSelectorConfiguration sending
// cluster traffic to the tunnel at socket.
func EgressConfig(socket string) string {
	return fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
`, socket)
}

// ServeTunnel answers CONNECT requests on ln until it closes.
func (m *Manager) ServeTunnel(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go m.tunnel(c)
	}
}

func (m *Manager) tunnel(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // a conn's deadline
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	c.SetReadDeadline(time.Time{}) //nolint:errcheck // a conn's deadline
	if req.Method != http.MethodConnect {
		fmt.Fprintf(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	up, err := m.dialCluster(ctx, req.Host)
	cancel()
	if err != nil {
		// The API server shows the status line, not the body: the reason
		// goes there.
		msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
		fmt.Fprintf(c, "HTTP/1.1 503 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", msg, len(msg), msg)
		return
	}
	defer up.Close()
	if _, err := fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			return
		}
	}
	splice(c, up)
}

// DialCluster dials hostport as the cluster's network sees it: what the
// tunnel connects to, and how the control plane's own clients of kubelets
// (metrics-server when it plays that pod) reach them.
func (m *Manager) DialCluster(ctx context.Context, network, hostport string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("%s: only TCP reaches the cluster's network", network)
	}
	return m.dialCluster(ctx, hostport)
}

// dialCluster dials hostport as the cluster's network sees it.
func (m *Manager) dialCluster(ctx context.Context, hostport string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", hostport)
	}
	if m.Played != nil {
		if c, ok, err := m.Played(ctx, host, port); ok {
			return c, err
		}
	}
	m.mu.Lock()
	spec := m.spec
	via := 0
	if spec != nil {
		var target *clusterspec.Node
		for i, n := range spec.Nodes {
			if strings.EqualFold(n.Name, host) || n.InternalIP == host {
				target = &spec.Nodes[i]
			}
		}
		if target != nil {
			if p, ok := spec.Pool(target.Pool); ok && !p.Real {
				m.mu.Unlock()
				if m.Simulated == nil {
					return nil, fmt.Errorf("node %s is simulated (KWOK) and serves nothing", target.Name)
				}
				return m.Simulated(ctx, target.Name, port)
			}
			host = target.InternalIP
			if p := m.nodes[target.Name]; p != nil {
				via = p.pid()
			}
		}
		if via == 0 {
			for _, p := range m.nodes {
				if pid := p.pid(); pid != 0 {
					via = pid
					break
				}
			}
		}
	}
	m.mu.Unlock()
	if via == 0 {
		return nil, fmt.Errorf("no real node is running to reach %s from", hostport)
	}
	ns, err := netns.GetFromPid(via)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	var conn net.Conn
	err = inNetns(ns, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		return err
	})
	return conn, err
}

// Real tells whether node is one of the spec's real nodes.
func (m *Manager) Real(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spec == nil {
		return false
	}
	for _, n := range m.spec.RealNodes() {
		if n.Name == node {
			return true
		}
	}
	return false
}
