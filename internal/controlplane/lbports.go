package controlplane

import (
	"context"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/localaks/localaks/internal/cloudcontroller"
)

// loadBalancerServices finds the Service behind a load balancer frontend,
// and tells it what the data path has to say (events).
// With floating IP (cloud-provider-azure's default) Azure delivers a
// Service's packets to a node still addressed to the frontend, and the
// node's kube-proxy sends them where it sends the Service's node port: the
// data path, which connects to nodes rather than forwarding packets,
// connects to that node port.
type loadBalancerServices struct {
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	synced   cache.InformerSynced
	events   record.EventBroadcaster
	recorder record.EventRecorder
}

func newLoadBalancerServices(client kubernetes.Interface) *loadBalancerServices {
	f := informers.NewSharedInformerFactory(client, 0)
	svc := f.Core().V1().Services()
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &loadBalancerServices{factory: f, services: svc.Lister(), synced: svc.Informer().HasSynced,
		events: b, recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "azure-load-balancer"})}
}

// start watches Services until ctx ends.
func (l *loadBalancerServices) start(ctx context.Context) {
	l.factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		l.events.Shutdown()
	}()
}

// Event records a Warning on the Service whose load balancer frontend is
// frontend (cloud-provider-azure names it after the Service's UID).
func (l *loadBalancerServices) Event(frontend, reason, message string) {
	if !l.synced() {
		return
	}
	all, err := l.services.List(labels.Everything())
	if err != nil {
		return
	}
	for _, s := range all {
		if strings.HasPrefix(frontend, cloudcontroller.BaseName(s)) {
			l.recorder.Event(s, corev1.EventTypeWarning, reason, message)
			return
		}
	}
}

// NodePort is the node port of the LoadBalancer Service whose status has
// the frontend's address and whose port is port.
func (l *loadBalancerServices) NodePort(frontend netip.Addr, protocol string, port int) (int, bool) {
	if !l.synced() {
		return 0, false
	}
	all, err := l.services.List(labels.Everything())
	if err != nil {
		return 0, false
	}
	for _, s := range all {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer || !hasIngress(s, frontend) {
			continue
		}
		for _, p := range s.Spec.Ports {
			if int(p.Port) == port && strings.EqualFold(string(p.Protocol), protocol) && p.NodePort != 0 {
				return int(p.NodePort), true
			}
		}
	}
	return 0, false
}

func hasIngress(s *corev1.Service, addr netip.Addr) bool {
	for _, in := range s.Status.LoadBalancer.Ingress {
		if in.IP == addr.String() {
			return true
		}
	}
	return false
}
