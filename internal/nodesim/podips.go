package nodesim

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// addressSource is where a node's pod addresses come from.
type addressSource struct {
	// cidr is the node's pod range (kubenet, overlay): pods get .2 upwards
	// (.1 is the node's bridge, as kubenet's cbr0).
	cidr string
	// list is the node's pre-allocated subnet addresses (Azure CNI).
	list []string
	// nodeIP is the node's own address (host-network pods).
	nodeIP string
}

// candidates lists the addresses a node may hand out, in order.
func (a addressSource) candidates() ([]string, error) {
	if len(a.list) > 0 {
		return a.list, nil
	}
	if a.cidr == "" {
		return nil, fmt.Errorf("node has neither a pod CIDR nor pre-allocated pod addresses")
	}
	pfx, err := netip.ParsePrefix(a.cidr)
	if err != nil {
		return nil, err
	}
	pfx = pfx.Masked()
	var out []string
	addr := pfx.Addr().Next() // .1: the bridge
	for addr = addr.Next(); pfx.Contains(addr); addr = addr.Next() {
		if next := addr.Next(); !pfx.Contains(next) {
			break // the broadcast address
		}
		out = append(out, addr.String())
	}
	return out, nil
}

type assignment struct{ node, ip string }

// podIPs hands out pod addresses per node and takes them back when a pod is
// deleted or finishes, as a CNI plugin's IPAM does.
type podIPs struct {
	source func(node string) (addressSource, bool)

	mu    sync.Mutex
	byUID map[string]assignment
	used  map[string]map[string]string // node → address → pod UID
}

func newPodIPs(source func(string) (addressSource, bool)) *podIPs {
	return &podIPs{source: source, byUID: map[string]assignment{}, used: map[string]map[string]string{}}
}

// start loads the addresses existing pods hold and follows pod changes.
func (p *podIPs) start(ctx context.Context, client kubernetes.Interface) error {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0)
	inf := f.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.observe(obj) },
		UpdateFunc: func(_, obj any) { p.observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				p.release(string(pod.UID))
			}
		},
	})
	if err != nil {
		return err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("pod informer did not sync")
	}
	return nil
}

// observe records a running pod's address, and frees a finished pod's.
func (p *podIPs) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.HostNetwork || pod.Spec.NodeName == "" {
		return
	}
	uid := string(pod.UID)
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		p.release(uid)
		return
	}
	if pod.Status.PodIP == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byUID[uid]; ok {
		return
	}
	p.assign(uid, pod.Spec.NodeName, pod.Status.PodIP)
}

func (p *podIPs) assign(uid, node, ip string) {
	p.byUID[uid] = assignment{node: node, ip: ip}
	if p.used[node] == nil {
		p.used[node] = map[string]string{}
	}
	p.used[node][ip] = uid
}

func (p *podIPs) release(uid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.byUID[uid]
	if !ok {
		return
	}
	delete(p.byUID, uid)
	if p.used[a.node][a.ip] == uid {
		delete(p.used[a.node], a.ip)
	}
}

// podIPs is the template function KWOK calls for a starting pod's
// addresses.
func (p *podIPs) podIPs(node string, hostNetwork bool, uid, name, namespace string) ([]string, error) {
	ip, err := p.podIP(node, hostNetwork, uid, name, namespace)
	if err != nil {
		return nil, err
	}
	return []string{ip}, nil
}

// podIP returns the pod's address, allocating one on first call.
func (p *podIPs) podIP(node string, hostNetwork bool, uid, name, namespace string) (string, error) {
	src, ok := p.source(node)
	if !ok {
		return "", fmt.Errorf("pod %s/%s: node %s is not a node of this cluster", namespace, name, node)
	}
	if hostNetwork {
		return src.nodeIP, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byUID[uid]; ok && a.node == node {
		return a.ip, nil
	}
	cands, err := src.candidates()
	if err != nil {
		return "", fmt.Errorf("pod %s/%s on %s: %w", namespace, name, node, err)
	}
	for _, ip := range cands {
		if _, taken := p.used[node][ip]; !taken {
			p.assign(uid, node, ip)
			return ip, nil
		}
	}
	return "", fmt.Errorf("pod %s/%s: node %s has no pod address left (%d in use)", namespace, name, node, len(p.used[node]))
}
