package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/nodeapps/programs"
)

// metrics-server is a pod of AKS's system pool. Where that pool's nodes are
// simulated its pod runs nothing, so the control plane plays it: the same
// upstream metrics-server, run inside this process on loopback with its
// own service account's identity, to which the tunnel sends the API
// server's connections to the metrics-server Service while none of the
// Service's ready endpoints is on a real node. It scrapes every node
// through the tunnel's dialer, as the API server reaches kubelets: real
// nodes' kubelets in their namespaces, simulated nodes' from KWOK's
// resource-usage simulation. Started on the first connection, it runs
// until the control plane stops. Where the pool is real the real pod
// serves and nothing here starts.

const (
	metricsNamespace = "kube-system"
	metricsService   = "metrics-server"
)

// metricsArgs are the manifest's arguments of metrics-server (minus the
// port and certificate directory, which the process's listener and the
// control plane's serving certificate replace).
var metricsArgs = []string{"--kubelet-insecure-tls", "--kubelet-preferred-address-types=InternalIP", "--metric-resolution=15s"}

type metricsPlayer struct {
	layout clusterspec.Layout
	log    *slog.Logger
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	// real tells whether a node is real.
	real func(node string) bool

	factories []informers.SharedInformerFactory
	synced    []cache.InformerSynced
	services  corelisters.ServiceLister
	endpoints discoverylisters.EndpointSliceLister

	mu      sync.Mutex
	addr    string
	stop    chan struct{}
	stopped bool
}

// newMetricsPlayer makes the player; it plays once start has run.
func newMetricsPlayer(client kubernetes.Interface, l clusterspec.Layout, log *slog.Logger,
	dial func(ctx context.Context, network, addr string) (net.Conn, error), real func(string) bool) *metricsPlayer {
	svc := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(metricsNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", metricsService).String()
		}))
	eps := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(metricsNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: metricsService}).String()
		}))
	services, endpoints := svc.Core().V1().Services(), eps.Discovery().V1().EndpointSlices()
	return &metricsPlayer{layout: l, log: log, dial: dial, real: real, stop: make(chan struct{}),
		services: services.Lister(), endpoints: endpoints.Lister(),
		synced:    []cache.InformerSynced{services.Informer().HasSynced, endpoints.Informer().HasSynced},
		factories: []informers.SharedInformerFactory{svc, eps}}
}

// start watches the metrics-server Service and its endpoints until ctx
// ends, when the played metrics-server (if it started) stops too.
func (p *metricsPlayer) start(ctx context.Context) {
	for _, f := range p.factories {
		f.Start(ctx.Done())
	}
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.stopped {
			p.stopped = true
			close(p.stop)
		}
	}()
}

// Played connects to the played metrics-server when host:port is its
// Service's and no ready endpoint is on a real node.
func (p *metricsPlayer) Played(ctx context.Context, host, port string) (net.Conn, bool, error) {
	for _, synced := range p.synced {
		if !synced() {
			return nil, false, nil
		}
	}
	s, err := p.services.Services(metricsNamespace).Get(metricsService)
	if err != nil || s.Spec.ClusterIP != host {
		return nil, false, nil
	}
	served := false
	for _, sp := range s.Spec.Ports {
		served = served || strconv.Itoa(int(sp.Port)) == port
	}
	if !served {
		return nil, false, nil
	}
	slices, _ := p.endpoints.EndpointSlices(metricsNamespace).List(labels.Everything())
	for _, sl := range slices {
		for _, ep := range sl.Endpoints {
			ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
			if ready && ep.NodeName != nil && p.real(*ep.NodeName) {
				return nil, false, nil
			}
		}
	}
	addr, err := p.launch()
	if err != nil {
		return nil, true, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	return c, true, err
}

// launch runs metrics-server once.
func (p *metricsPlayer) launch() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addr != "" {
		return p.addr, nil
	}
	if p.stopped {
		return "", errors.New("the control plane is stopping")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfigPath(p.layout, clusterspec.MetricsServerClient),
		"--authentication-kubeconfig=" + kubeconfigPath(p.layout, clusterspec.MetricsServerClient),
		"--authorization-kubeconfig=" + kubeconfigPath(p.layout, clusterspec.MetricsServerClient),
		"--tls-cert-file=" + p.layout.Cert(clusterspec.WebhookCert),
		"--tls-private-key-file=" + p.layout.Key(clusterspec.WebhookCert),
	}, metricsArgs...)
	stop := p.stop
	go func() {
		err := programs.MetricsServer(stop, args, ln, p.dial)
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.stopped {
			p.log.Error("metrics-server stopped; it starts again on the next connection", "error", err)
			p.addr = ""
		}
	}()
	p.addr = ln.Addr().String()
	p.log.Info("metrics-server started for the pod on a simulated node", "address", p.addr)
	return p.addr, nil
}
