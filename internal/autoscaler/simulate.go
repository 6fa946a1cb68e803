package autoscaler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	podresource "k8s.io/component-helpers/resource"
	schedcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// The scheduling simulation: would a pod fit a node (an existing one with
// the pods bound to it, or a pool's template node)? It checks what the
// scheduler's filters check for the pods an autoscaler sees in practice —
// resources (upstream's request arithmetic), the pod count, node
// selector and required node affinity, taints (upstream's toleration
// matching), host ports, and required pod anti-affinity on the node
// (topology key kubernetes.io/hostname) — and answers with the scheduler's
// reason texts. Inter-pod affinity, topology spread and volumes are not
// simulated (README: "Cluster autoscaler").

const hostnameKey = "kubernetes.io/hostname"

// nodeState is a node and what is bound to it.
type nodeState struct {
	node  *corev1.Node
	group string // the node group (scale set) it belongs to, "" if none
	free  corev1.ResourceList
	pods  []*corev1.Pod
	slots int64
	ports map[string]bool
}

func newNodeState(node *corev1.Node, group string) *nodeState {
	n := &nodeState{node: node, group: group, free: corev1.ResourceList{}, ports: map[string]bool{}}
	for k, v := range node.Status.Allocatable {
		n.free[k] = v.DeepCopy()
	}
	alloc := node.Status.Allocatable[corev1.ResourcePods]
	n.slots = alloc.Value()
	return n
}

// clone copies the node's bookkeeping (the node and pods are shared).
func (n *nodeState) clone() *nodeState {
	c := &nodeState{node: n.node, group: n.group, free: corev1.ResourceList{}, pods: append([]*corev1.Pod(nil), n.pods...), slots: n.slots, ports: map[string]bool{}}
	for k, v := range n.free {
		c.free[k] = v.DeepCopy()
	}
	for k := range n.ports {
		c.ports[k] = true
	}
	return c
}

// add binds pod to the node.
func (n *nodeState) add(pod *corev1.Pod) {
	for k, v := range requests(pod) {
		q := n.free[k]
		q.Sub(v)
		n.free[k] = q
	}
	n.slots--
	for _, p := range hostPorts(pod) {
		n.ports[p] = true
	}
	n.pods = append(n.pods, pod)
}

// fits tells whether pod fits the node and, if not, why, in the
// scheduler's words.
func (n *nodeState) fits(pod *corev1.Pod) (bool, string) {
	node := n.node
	if node.Spec.Unschedulable {
		tolerated := false
		for _, t := range pod.Spec.Tolerations {
			if t.Key == corev1.TaintNodeUnschedulable && (t.Operator == corev1.TolerationOpExists || t.Effect == corev1.TaintEffectNoSchedule) {
				tolerated = true
			}
		}
		if !tolerated {
			return false, "node(s) were unschedulable"
		}
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return false, "node(s) didn't match Pod's node affinity/selector"
	}
	if t, untolerated := schedcorev1.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, false); untolerated {
		return false, fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
	}
	for _, p := range hostPorts(pod) {
		if n.ports[p] {
			return false, "node(s) didn't have free ports for the requested pod ports"
		}
	}
	if antiAffine(pod, n.pods) {
		return false, "node(s) didn't match pod anti-affinity rules"
	}
	if n.slots < 1 {
		return false, "Too many pods"
	}
	var short []string
	for k, v := range requests(pod) {
		if v.IsZero() {
			continue
		}
		free, ok := n.free[k]
		if !ok || free.Cmp(v) < 0 {
			short = append(short, "Insufficient "+string(k))
		}
	}
	if len(short) > 0 {
		sort.Strings(short)
		return false, strings.Join(short, ", ")
	}
	return true, ""
}

// requests are the pod's requests as the scheduler counts them.
func requests(pod *corev1.Pod) corev1.ResourceList {
	return podresource.PodRequests(pod, podresource.PodResourcesOptions{})
}

func hostPorts(pod *corev1.Pod) []string {
	var out []string
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				out = append(out, fmt.Sprintf("%s/%s/%d", proto, p.HostIP, p.HostPort))
			}
		}
	}
	return out
}

// antiAffine tells whether pod and one of pods on the same node exclude
// each other by a required anti-affinity term on the node's hostname.
func antiAffine(pod *corev1.Pod, pods []*corev1.Pod) bool {
	for _, other := range pods {
		if excludes(pod, other) || excludes(other, pod) {
			return true
		}
	}
	return false
}

// excludes tells whether a's required anti-affinity on hostname matches b.
func excludes(a, b *corev1.Pod) bool {
	if a.Spec.Affinity == nil || a.Spec.Affinity.PodAntiAffinity == nil {
		return false
	}
	for _, term := range a.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if term.TopologyKey != hostnameKey {
			continue
		}
		namespaces := term.Namespaces
		if len(namespaces) == 0 && term.NamespaceSelector == nil {
			namespaces = []string{a.Namespace}
		}
		if len(namespaces) > 0 && !containsString(namespaces, b.Namespace) {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if err != nil || sel.Empty() && term.LabelSelector == nil {
			continue
		}
		if sel.Matches(labels.Set(b.Labels)) {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// placeOn puts each pod on the first node it fits, in order, and returns
// the pods left over.
func placeOn(nodes []*nodeState, pods []*corev1.Pod) []*corev1.Pod {
	var left []*corev1.Pod
	for _, p := range pods {
		if !firstFit(nodes, p) {
			left = append(left, p)
		}
	}
	return left
}

// firstFit binds pod to the first of nodes it fits, if any.
func firstFit(nodes []*nodeState, pod *corev1.Pod) bool {
	for _, n := range nodes {
		if ok, _ := n.fits(pod); ok {
			n.add(pod)
			return true
		}
	}
	return false
}

// estimate bin-packs pods onto new nodes made from template, at most limit
// of them (first fit, largest CPU request first, as the autoscaler's
// binpacking estimator): how many nodes, and which pods they take.
func estimate(template *corev1.Node, group string, pods []*corev1.Pod, limit int) (int, []*corev1.Pod, []*nodeState) {
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := requests(sorted[i]), requests(sorted[j])
		ca, cb := a[corev1.ResourceCPU], b[corev1.ResourceCPU]
		if c := ca.Cmp(cb); c != 0 {
			return c > 0
		}
		ma, mb := a[corev1.ResourceMemory], b[corev1.ResourceMemory]
		return ma.Cmp(mb) > 0
	})
	var nodes []*nodeState
	var helped []*corev1.Pod
	for _, p := range sorted {
		placed := firstFit(nodes, p)
		if !placed && len(nodes) < limit {
			n := newNodeState(template, group)
			if ok, _ := n.fits(p); ok {
				n.add(p)
				nodes = append(nodes, n)
				placed = true
			}
		}
		if placed {
			helped = append(helped, p)
		}
	}
	return len(nodes), helped, nodes
}

// utilization is the larger of the node's CPU and memory requests over its
// allocatable, the pods counted as the autoscaler counts them.
func utilization(node *corev1.Node, pods []*corev1.Pod, ignoreDaemonSets bool) (cpu, mem float64) {
	var cpuReq, memReq resource.Quantity
	for _, p := range pods {
		if ignoreDaemonSets && daemonSetPod(p) {
			continue
		}
		r := requests(p)
		if q, ok := r[corev1.ResourceCPU]; ok {
			cpuReq.Add(q)
		}
		if q, ok := r[corev1.ResourceMemory]; ok {
			memReq.Add(q)
		}
	}
	alloc := node.Status.Allocatable
	if c := alloc[corev1.ResourceCPU]; c.MilliValue() > 0 {
		cpu = float64(cpuReq.MilliValue()) / float64(c.MilliValue())
	}
	if m := alloc[corev1.ResourceMemory]; m.Value() > 0 {
		mem = float64(memReq.Value()) / float64(m.Value())
	}
	return cpu, mem
}

func daemonSetPod(p *corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.Kind == "DaemonSet" {
			return true
		}
	}
	return false
}

func mirrorPod(p *corev1.Pod) bool {
	_, ok := p.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}
