package nodesim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/streaming/pkg/httpstream"
	"sigs.k8s.io/kwok/kustomize/metrics/resource"
	"sigs.k8s.io/kwok/kustomize/metrics/usage"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/controllers"
	"sigs.k8s.io/kwok/pkg/kwok/server"
)

// The simulated kubelets' API. A simulated node answers on its kubelet
// port as a kubelet does, through the same tunnel the API server and
// metrics-server use for real nodes: its resource metrics come from KWOK's
// server, which computes them from KWOK's resource-usage simulation (each
// container uses what its pod's kwok.x-k8s.io/usage-cpu and
// kwok.x-k8s.io/usage-memory annotations say, else 1m CPU and 1 MiB; a node
// uses what its pods use); logs, exec, attach and port-forward answer that
// no container runs there. One KWOK server on loopback serves every
// simulated node of the cluster; each connection is bound to the node it
// was dialled for, so the kubelet paths (/metrics/resource) are KWOK's
// per-node ones (/metrics/nodes/{node}/metrics/resource).

// KubeletPort is the port kubelets serve their API on.
const KubeletPort = "10250"

// kubeletServer serves the simulated nodes' kubelet API.
type kubeletServer struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// nodeConn is a connection to one simulated node's kubelet.
type nodeConn struct {
	net.Conn
	node string
}

type nodeKey struct{}

// startKubelets runs KWOK's server for ctr's nodes on a loopback port and
// the kubelet front serving cert/key in front of it, until ctx ends.
func (s *Simulator) startKubelets(ctx context.Context, ctr *controllers.Controller) error {
	if s.cfg.KubeletCert == "" {
		return nil
	}
	metric, err := config.UnmarshalWithType[*internalversion.Metric](resource.DefaultMetricsResource)
	if err != nil {
		return fmt.Errorf("kwok metrics: %w", err)
	}
	use, err := config.UnmarshalWithType[*internalversion.ClusterResourceUsage](usage.DefaultUsageFromAnnotation)
	if err != nil {
		return fmt.Errorf("kwok usage: %w", err)
	}
	kw, err := server.NewServer(server.Config{
		ClusterResourceUsages: []*internalversion.ClusterResourceUsage{use},
		Metrics:               []*internalversion.Metric{metric},
		DataSource:            ctr,
		NodeCacheGetter:       ctr.GetNodeCache(),
		PodCacheGetter:        ctr.GetPodCache(),
	})
	if err != nil {
		return err
	}
	kw.InstallHealthz()
	if err := kw.InstallMetrics(ctx); err != nil {
		return err
	}
	// KWOK's server listens by address only: take a free loopback port and
	// hand it over (another process taking it in between fails the start,
	// which a retry of the control plane repeats).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	go func() {
		if err := kw.Run(ctx, addr, "", ""); err != nil && ctx.Err() == nil {
			s.cfg.Log.Error("simulated kubelets' server stopped", "error", err)
		}
	}()
	cert, err := tls.LoadX509KeyPair(s.cfg.KubeletCert, s.cfg.KubeletKey)
	if err != nil {
		return err
	}
	backend := &url.URL{Scheme: "http", Host: addr}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backend)
			node, _ := r.In.Context().Value(nodeKey{}).(string)
			r.Out.URL.Path = "/metrics/nodes/" + node + r.In.URL.Path
			r.Out.URL.RawPath = ""
		},
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics/resource", proxy)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		node, _ := r.Context().Value(nodeKey{}).(string)
		msg := NoContainersMessage(node)
		if httpstream.IsUpgradeRequest(r) {
			// An upgrade's (exec, attach, port-forward) client reads a
			// refusal's body as a Status, and only then shows its message.
			st := apierrors.NewBadRequest(msg).ErrStatus
			st.APIVersion, st.Kind = "v1", "Status"
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(st) //nolint:errcheck // the client went
			return
		}
		// 400, as a kubelet answers for a container it cannot serve: the
		// API server passes a 400's body on as the error's message.
		http.Error(w, msg, http.StatusBadRequest)
	})
	ks := &kubeletServer{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn()
			}
			if nc, ok := c.(nodeConn); ok {
				ctx = context.WithValue(ctx, nodeKey{}, nc.node)
			}
			return ctx
		},
	}
	go func() {
		<-ctx.Done()
		ks.close()
		srv.Close() //nolint:errcheck // shutting down
	}()
	go srv.ServeTLS(ks, "", "") //nolint:errcheck // ends with ctx
	s.mu.Lock()
	s.kubelets = ks
	s.mu.Unlock()
	return nil
}

// NoContainersMessage is the answer to a request for a simulated node's
// containers (logs, exec, attach, port-forward).
func NoContainersMessage(node string) string {
	return fmt.Sprintf("node %s is simulated (KWOK): its pods run no containers, so there are no logs, exec or port-forward to reach; use a pool with real nodes (tag localaks.io/nodes=real) for that", node)
}

// DialKubelet connects to a simulated node's kubelet API (TLS, as a
// kubelet's); any other port of a simulated node has nothing listening.
func (s *Simulator) DialKubelet(ctx context.Context, node, port string) (net.Conn, error) {
	if port != KubeletPort {
		return nil, errors.New(NoContainersMessage(node))
	}
	s.mu.Lock()
	ks := s.kubelets
	s.mu.Unlock()
	if ks == nil {
		return nil, fmt.Errorf("node %s: the simulated kubelets are not serving", node)
	}
	client, srv := net.Pipe()
	select {
	case ks.conns <- nodeConn{Conn: srv, node: node}:
		return client, nil
	case <-ks.done:
	case <-ctx.Done():
	}
	client.Close()
	srv.Close()
	return nil, fmt.Errorf("node %s: the simulated kubelets are not serving", node)
}

// Accept, Close and Addr make kubeletServer the front's listener.
func (k *kubeletServer) Accept() (net.Conn, error) {
	select {
	case c := <-k.conns:
		return c, nil
	case <-k.done:
		return nil, net.ErrClosed
	}
}

func (k *kubeletServer) close() { k.once.Do(func() { close(k.done) }) }

func (k *kubeletServer) Close() error { k.close(); return nil }

func (k *kubeletServer) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "simulated-kubelets" }
