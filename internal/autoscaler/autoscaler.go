// Package autoscaler is a managed cluster's cluster autoscaler: it runs in
// the cluster's control-plane process, watches for pods the scheduler cannot
// place and for nodes nobody needs, and changes the node pools' scale sets
// through localaks's ARM API, signed in as the cluster's identity — the calls
// cluster-autoscaler's Azure provider makes in VMSS mode (a PUT of the
// scale set's capacity to scale up, a POST of `delete` with the instance IDs
// to scale down). AKS carries those out as pool operations, so the pool's
// count, the scale set and the nodes follow.
//
// Upstream cluster-autoscaler cannot be built here (README: "Cluster
// autoscaler"); this loop implements its documented behaviour — the AKS
// profile's settings, the expanders, the scale-down rules, the status
// ConfigMap and the events with their reasons and texts — over upstream's
// libraries for scheduling arithmetic, eviction and events.
package autoscaler

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/localaks/localaks/internal/autoscaler/profile"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/nodesim"
)

// Component is the events' source, as on AKS.
const Component = "cluster-autoscaler"

// Taints and annotations the autoscaler uses and honours (upstream's names).
const (
	ToBeDeletedTaint            = "ToBeDeletedByClusterAutoscaler"
	SafeToEvictAnnotation       = "cluster-autoscaler.kubernetes.io/safe-to-evict"
	ScaleDownDisabledAnnotation = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
	agentPoolLabel              = "kubernetes.azure.com/agentpool"
)

// Back-off after a failed scale-up: upstream's defaults (initial 5 m,
// doubling to 30 m).
const (
	initialBackoff = 5 * time.Minute
	maxBackoff     = 30 * time.Minute
	// expendableCutoff: pods below this priority never trigger a scale-up.
	expendableCutoff = -10
)

// Autoscaler is one cluster's autoscaler.
type Autoscaler struct {
	client kubernetes.Interface
	cloud  Cloud
	log    *slog.Logger
	rec    record.EventRecorder
	now    func() time.Time

	mu     sync.Mutex
	spec   *clusterspec.Spec
	groups []clusterspec.NodeGroup
	opts   profile.Options
	wake   chan struct{}

	// Loop state (the loop's goroutine and the workers it starts).
	unneeded    map[string]time.Time // node → unneeded since
	lastScaleUp time.Time
	lastDelete  time.Time
	lastFailure time.Time
	backoff     map[string]*backoff // group → back-off
	pending     map[string]*pending // group → scale-up in flight
	deleting    map[string]string   // node → group, deletion in flight
	recent      map[string]time.Time
	status      *statusWriter
}

type backoff struct {
	until     time.Time
	duration  time.Duration
	code, msg string
}

type pending struct {
	target int
	since  time.Time
	done   bool
}

// New makes an autoscaler; Set gives it its node groups, Run runs it.
func New(client kubernetes.Interface, cloud Cloud, log *slog.Logger) *Autoscaler {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	a := &Autoscaler{
		client: client, cloud: cloud, log: log.With("component", Component), now: time.Now,
		rec:      b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Component}),
		wake:     make(chan struct{}, 1),
		unneeded: map[string]time.Time{}, backoff: map[string]*backoff{}, pending: map[string]*pending{},
		deleting: map[string]string{}, recent: map[string]time.Time{},
	}
	a.status = &statusWriter{client: client, transitions: map[string]transition{}}
	return a
}

// Set takes the cluster's newest spec: its autoscaled pools and profile.
// An invalid profile keeps the previous settings (serve validates it).
func (a *Autoscaler) Set(s *clusterspec.Spec) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.spec = s
	if s.Autoscaler == nil {
		a.groups = nil
	} else {
		a.groups = append([]clusterspec.NodeGroup(nil), s.Autoscaler.Groups...)
		if o, err := profile.Parse(s.Autoscaler.Profile); err == nil {
			a.opts = o
		} else {
			a.log.Warn("autoscaler profile", "err", err)
		}
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *Autoscaler) config() (*clusterspec.Spec, []clusterspec.NodeGroup, profile.Options) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.spec, a.groups, a.opts
}

// Run loops every scan interval until ctx ends; with no autoscaled pool it
// idles (and removes its status ConfigMap, as the autoscaler does on exit).
func (a *Autoscaler) Run(ctx context.Context) error {
	// A status left from before (the autoscaler disabled while the control
	// plane was down) goes at the first idle pass.
	running := true
	for {
		_, groups, opts := a.config()
		interval := opts.ScanInterval
		if interval <= 0 {
			interval = 10 * time.Second
		}
		if len(groups) > 0 {
			running = true
			if err := a.RunOnce(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("autoscaler loop", "err", err)
			}
		} else if running {
			running = false
			a.status.remove(ctx)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// group is a node group as one loop sees it.
type group struct {
	clusterspec.NodeGroup
	set      ScaleSet
	target   int // the scale set's capacity (or the scale-up in flight)
	nodes    []*corev1.Node
	ready    int
	deleting int
	template *corev1.Node
}

// upcoming counts the nodes the group's target still owes as Ready: not
// registered yet, or registered and not Ready yet (as after a restart of
// the control plane) — room the pending pods will get without a scale-up.
func (g *group) upcoming() int { return max(g.target-g.ready, 0) }

// unregistered counts the instances with no node yet.
func (g *group) unregistered() int { return max(g.target-len(g.nodes), 0) }

// RunOnce is one pass of the loop.
func (a *Autoscaler) RunOnce(ctx context.Context) error {
	spec, specGroups, opts := a.config()
	if spec == nil || len(specGroups) == 0 {
		return nil
	}
	now := a.now()
	sets, err := a.cloud.ScaleSets(ctx)
	if err != nil {
		return err
	}
	nodeList, err := a.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	podList, err := a.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pdbList, err := a.client.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}

	a.mu.Lock()
	groups := map[string]*group{} // by pool
	var order []*group
	for _, ng := range specGroups {
		g := &group{NodeGroup: ng}
		g.set = sets[strings.ToLower(ng.ScaleSet)]
		g.target = g.set.Capacity
		if p := a.pending[ng.ScaleSet]; p != nil && !p.done {
			g.target = max(g.target, p.target)
		}
		tmpl, err := nodesim.BuildNode(spec, clusterspec.Node{Name: "template-node-for-" + ng.ScaleSet, Pool: ng.Pool})
		if err == nil {
			g.template = tmpl
		}
		groups[ng.Pool] = g
		order = append(order, g)
	}
	deleting := map[string]string{}
	for k, v := range a.deleting {
		deleting[k] = v
	}
	a.mu.Unlock()

	states := map[string]*nodeState{}
	var nodes []*corev1.Node
	for i := range nodeList.Items {
		n := &nodeList.Items[i]
		nodes = append(nodes, n)
		g := groups[n.Labels[agentPoolLabel]]
		name := ""
		if g != nil {
			name = g.ScaleSet
			g.nodes = append(g.nodes, n)
			if nodeReady(n) {
				g.ready++
			}
			if _, ok := deleting[n.Name]; ok {
				g.deleting++
			}
		}
		states[n.Name] = newNodeState(n, name)
	}
	var unschedulable []*corev1.Pod
	podsOf := map[string][]*corev1.Pod{}
	for i := range podList.Items {
		p := &podList.Items[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Spec.NodeName != "" {
			// A pod being deleted (evicted from a node that was NotReady,
			// say) is leaving: its room and its anti-affinity go with it.
			if p.DeletionTimestamp != nil {
				continue
			}
			if st := states[p.Spec.NodeName]; st != nil {
				st.add(p)
			}
			podsOf[p.Spec.NodeName] = append(podsOf[p.Spec.NodeName], p)
			continue
		}
		if p.DeletionTimestamp == nil && unschedulableNow(p) && now.Sub(p.CreationTimestamp.Time) >= opts.NewPodScaleUpDelay &&
			podPriority(p) >= expendableCutoff {
			unschedulable = append(unschedulable, p)
		}
	}

	health := a.health(nodes, opts)
	scaledUp := false
	var upOutcome scaleUpOutcome
	if health.healthy {
		upOutcome = a.scaleUp(ctx, now, order, states, unschedulable, opts)
		scaledUp = upOutcome.triggered
	} else {
		a.eventOnStatus(ctx, corev1.EventTypeWarning, "ClusterUnhealthy", "Cluster is unhealthy")
	}
	for node, pods := range upOutcome.placed {
		podsOf[node] = append(podsOf[node], pods...)
		if st := states[node]; st != nil {
			for _, p := range pods {
				st.add(p)
			}
		}
	}
	down := a.scaleDown(ctx, now, order, states, podsOf, pdbList.Items, deleting, opts, scaledUp || !health.healthy)
	a.status.write(ctx, now, order, health, upOutcome, down, a.backoffSnapshot(now))
	return nil
}

// unschedulableNow tells whether the scheduler has marked the pod
// unschedulable.
func unschedulableNow(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

func podPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func nodeReady(n *corev1.Node) bool {
	// Upstream's readiness: the Ready condition true, the network not
	// unavailable, and neither taint the node lifecycle controller puts on
	// a node that is not ready yet — a node that just became Ready keeps
	// node.kubernetes.io/not-ready for a moment, and nothing schedules
	// there until it goes.
	ready := false
	for _, c := range n.Status.Conditions {
		switch c.Type {
		case corev1.NodeReady:
			ready = c.Status == corev1.ConditionTrue
		case corev1.NodeNetworkUnavailable:
			if c.Status == corev1.ConditionTrue {
				return false
			}
		}
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeNetworkUnavailable || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	return ready
}

// clusterHealth is the cluster's readiness as the autoscaler judges it:
// too many unready nodes halt it.
type clusterHealth struct {
	healthy               bool
	total, ready, unready int
}

func (a *Autoscaler) health(nodes []*corev1.Node, o profile.Options) clusterHealth {
	h := clusterHealth{total: len(nodes)}
	for _, n := range nodes {
		if nodeReady(n) {
			h.ready++
		} else {
			h.unready++
		}
	}
	allowed := max(float64(o.OkTotalUnreadyCount), o.MaxTotalUnreadyPercentage/100*float64(h.total))
	h.healthy = float64(h.unready) <= allowed
	return h
}

// ---------------------------------------------------------------- scale-up

type scaleUpOutcome struct {
	triggered bool
	needed    bool // pods were waiting for a scale-up
	// placed are pending pods that fit existing nodes, by node.
	placed map[string][]*corev1.Pod
}

// option is one node group's way to help the pending pods.
type option struct {
	g      *group
	nodes  int
	pods   []*corev1.Pod
	placed []*nodeState
}

func (a *Autoscaler) scaleUp(ctx context.Context, now time.Time, order []*group, states map[string]*nodeState, pods []*corev1.Pod, o profile.Options) scaleUpOutcome {
	if len(pods) == 0 {
		return scaleUpOutcome{}
	}
	// Pods the scheduler has yet to place on existing room, or on nodes
	// that are coming, need no new node.
	var live []*nodeState
	for _, st := range states {
		if nodeReady(st.node) && !tainted(st.node, ToBeDeletedTaint) {
			live = append(live, st.clone())
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].node.Name < live[j].node.Name })
	before := map[*nodeState]int{}
	for _, st := range live {
		before[st] = len(st.pods)
	}
	left := placeOn(live, pods)
	// Those pods count as the nodes' own for scale-down (they are about
	// to be bound there).
	out := scaleUpOutcome{placed: map[string][]*corev1.Pod{}}
	for _, st := range live {
		if n := before[st]; len(st.pods) > n {
			out.placed[st.node.Name] = st.pods[n:]
		}
	}
	for _, g := range order {
		if g.template == nil {
			continue
		}
		for i := 0; i < g.upcoming(); i++ {
			n := newNodeState(g.template, g.ScaleSet)
			left = placeOn([]*nodeState{n}, left)
		}
	}
	if len(left) == 0 {
		return out
	}
	out.needed = true
	a.mu.Lock()
	inBackoff := map[string]bool{}
	for name, b := range a.backoff {
		if now.Before(b.until) {
			inBackoff[name] = true
		}
	}
	busy := map[string]bool{}
	for name, p := range a.pending {
		if !p.done {
			busy[name] = true
		}
	}
	for _, grp := range a.deleting {
		busy[grp] = true
	}
	a.mu.Unlock()

	// Why each pod cannot be helped, per node group.
	reasons := map[types.UID]map[string]int{}
	note := func(p *corev1.Pod, r string) {
		if reasons[p.UID] == nil {
			reasons[p.UID] = map[string]int{}
		}
		reasons[p.UID][r]++
	}
	var options []option
	for _, g := range order {
		if g.template == nil || g.set.Name == "" {
			for _, p := range left {
				note(p, "node group not found")
			}
			continue
		}
		room := g.Max - g.target
		var fitting []*corev1.Pod
		for _, p := range left {
			if ok, why := newNodeState(g.template, g.ScaleSet).fits(p); !ok {
				note(p, why)
				continue
			}
			switch {
			case inBackoff[g.ScaleSet]:
				note(p, "in backoff after failed scale-up")
			case room <= 0:
				note(p, "max node group size reached")
			case busy[g.ScaleSet]:
				note(p, "node group is being scaled")
			default:
				fitting = append(fitting, p)
			}
		}
		if len(fitting) == 0 {
			continue
		}
		n, helped, placed := estimate(g.template, g.ScaleSet, fitting, room)
		if n > 0 {
			options = append(options, option{g: g, nodes: n, pods: helped, placed: placed})
		}
	}
	helped := map[types.UID]bool{}
	if len(options) > 0 {
		best := a.expand(ctx, options, o.Expander)
		plan := map[*group]int{best.g: best.g.target + best.nodes}
		if o.BalanceSimilarNodeGroups {
			plan = balance(best, options)
		}
		var parts []string
		var planned []*group
		for g := range plan {
			planned = append(planned, g)
		}
		sort.Slice(planned, func(i, j int) bool { return planned[i].ScaleSet < planned[j].ScaleSet })
		for _, g := range planned {
			parts = append(parts, fmt.Sprintf("{%s %d->%d (max: %d)}", g.ScaleSet, g.target, plan[g], g.Max))
		}
		for _, g := range planned {
			a.startScaleUp(ctx, now, g, plan[g])
			g.target = plan[g]
		}
		msg := "pod triggered scale-up: [" + strings.Join(parts, " ") + "]"
		for _, p := range best.pods {
			helped[p.UID] = true
			a.rec.Event(p, corev1.EventTypeNormal, "TriggeredScaleUp", msg)
		}
		out.triggered = true
	}
	for _, p := range left {
		if helped[p.UID] || reasons[p.UID] == nil {
			continue
		}
		// A pod another group could help waits for the next loop.
		if fitsAnyOption(p, options) {
			continue
		}
		a.rec.Event(p, corev1.EventTypeNormal, "NotTriggerScaleUp", "pod didn't trigger scale-up: "+reasonText(reasons[p.UID]))
	}
	return out
}

func fitsAnyOption(p *corev1.Pod, options []option) bool {
	for _, o := range options {
		for _, q := range o.pods {
			if q.UID == p.UID {
				return true
			}
		}
	}
	return false
}

// reasonText is upstream's summary: "N reason" per reason, sorted.
func reasonText(r map[string]int) string {
	var parts []string
	for reason, n := range r {
		parts = append(parts, fmt.Sprintf("%d %s", n, reason))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// startScaleUp sets the group's scale set to target; the operation runs on
// while the loop goes on.
func (a *Autoscaler) startScaleUp(ctx context.Context, now time.Time, g *group, target int) {
	a.mu.Lock()
	p := &pending{target: target, since: now}
	a.pending[g.ScaleSet] = p
	a.lastScaleUp = now
	a.mu.Unlock()
	a.log.Info("scale-up", "group", g.ScaleSet, "from", g.target, "to", target, "max", g.Max, "nodes", len(g.nodes), "ready", g.ready)
	a.eventOnStatus(ctx, corev1.EventTypeNormal, "ScaledUpGroup",
		fmt.Sprintf("Scale-up: setting group %s size to %d instead of %d (max: %d)", g.ScaleSet, target, g.target, g.Max))
	from := g.target
	go func() {
		err := a.cloud.SetCapacity(ctx, g.set, target)
		a.mu.Lock()
		p.done = true
		if err != nil {
			b := a.backoff[g.ScaleSet]
			if b == nil || a.now().After(b.until.Add(3*time.Hour)) {
				b = &backoff{duration: initialBackoff}
			} else {
				b.duration = min(b.duration*2, maxBackoff)
			}
			b.until = a.now().Add(b.duration)
			b.code, b.msg = "cloudProviderError", err.Error()
			a.backoff[g.ScaleSet] = b
		}
		a.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			a.log.Warn("scale-up failed", "group", g.ScaleSet, "err", err)
			a.eventOnStatus(ctx, corev1.EventTypeWarning, "FailedToScaleUpGroup",
				fmt.Sprintf("Scale-up failed for group %s: %v", g.ScaleSet, err))
			return
		}
		a.eventOnStatus(ctx, corev1.EventTypeNormal, "ScaledUpGroup",
			fmt.Sprintf("Scale-up: group %s size set to %d instead of %d (max: %d)", g.ScaleSet, target, from, g.Max))
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}()
}

// expand picks one option by the profile's expander.
func (a *Autoscaler) expand(ctx context.Context, options []option, expander string) option {
	candidates := options
	switch expander {
	case "most-pods":
		candidates = best(options, func(o option) float64 { return float64(len(o.pods)) })
	case "least-waste":
		candidates = best(options, func(o option) float64 { return -waste(o) })
	case "priority":
		candidates = a.byPriority(ctx, options)
	}
	return candidates[rand.IntN(len(candidates))]
}

// best keeps the options with the highest score.
func best(options []option, score func(option) float64) []option {
	var out []option
	top := 0.0
	for i, o := range options {
		s := score(o)
		switch {
		case i == 0 || s > top:
			top, out = s, []option{o}
		case s == top:
			out = append(out, o)
		}
	}
	return out
}

// waste is the share of the new nodes' CPU and memory the pods leave idle
// (least-waste's score, averaged over the two).
func waste(o option) float64 {
	alloc := o.g.template.Status.Allocatable
	cpu, mem := alloc[corev1.ResourceCPU], alloc[corev1.ResourceMemory]
	var usedCPU, usedMem int64
	for _, p := range o.pods {
		r := requests(p)
		c, m := r[corev1.ResourceCPU], r[corev1.ResourceMemory]
		usedCPU += c.MilliValue()
		usedMem += m.Value()
	}
	totalCPU := float64(cpu.MilliValue()) * float64(o.nodes)
	totalMem := float64(mem.Value()) * float64(o.nodes)
	w := 0.0
	if totalCPU > 0 {
		w += (totalCPU - float64(usedCPU)) / totalCPU
	}
	if totalMem > 0 {
		w += (totalMem - float64(usedMem)) / totalMem
	}
	return w / 2
}

// balance spreads the best option's new nodes over the node groups
// similar to it (same size, labels and taints but for the pool's own),
// one at a time to the smallest group with room.
func balance(bestOpt option, options []option) map[*group]int {
	plan := map[*group]int{bestOpt.g: bestOpt.g.target}
	for _, o := range options {
		if o.g != bestOpt.g && similar(o.g.template, bestOpt.g.template) {
			plan[o.g] = o.g.target
		}
	}
	for i := 0; i < bestOpt.nodes; i++ {
		var pick *group
		for g, n := range plan {
			if n < g.Max && (pick == nil || n < plan[pick] || n == plan[pick] && g.ScaleSet < pick.ScaleSet) {
				pick = g
			}
		}
		if pick == nil {
			break
		}
		plan[pick]++
	}
	for g, n := range plan {
		if n == g.target {
			delete(plan, g)
		}
	}
	return plan
}

// similar compares two templates as balance-similar-node-groups does:
// the same allocatable and capacity, labels and taints, but for the labels
// that differ by pool, zone or node.
func similar(a, b *corev1.Node) bool {
	if a == nil || b == nil {
		return false
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
		x, y := a.Status.Allocatable[r], b.Status.Allocatable[r]
		if x.Cmp(y) != 0 {
			return false
		}
	}
	ignored := func(k string) bool {
		switch k {
		case "agentpool", agentPoolLabel, hostnameKey, "kubernetes.azure.com/node-image-version", "topology.kubernetes.io/zone",
			"failure-domain.beta.kubernetes.io/zone", "topology.disk.csi.azure.com/zone":
			return true
		}
		return false
	}
	for k, v := range a.Labels {
		if !ignored(k) && b.Labels[k] != v {
			return false
		}
	}
	for k := range b.Labels {
		if _, ok := a.Labels[k]; !ok && !ignored(k) {
			return false
		}
	}
	if len(a.Spec.Taints) != len(b.Spec.Taints) {
		return false
	}
	for i := range a.Spec.Taints {
		if a.Spec.Taints[i].ToString() != b.Spec.Taints[i].ToString() {
			return false
		}
	}
	return true
}

func tainted(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

func (a *Autoscaler) backoffSnapshot(now time.Time) map[string]backoff {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]backoff{}
	for k, b := range a.backoff {
		if now.Before(b.until) {
			out[k] = *b
		}
	}
	return out
}

// pdbFor finds the disruption budgets that select a pod.
func pdbsFor(p *corev1.Pod, pdbs []policyv1.PodDisruptionBudget) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for i := range pdbs {
		b := &pdbs[i]
		if b.Namespace != p.Namespace || b.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		out = append(out, b)
	}
	return out
}
