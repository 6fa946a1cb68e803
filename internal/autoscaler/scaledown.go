package autoscaler

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/drain"
	"sigs.k8s.io/yaml"

	"github.com/localaks/localaks/internal/autoscaler/profile"
)

// scaleDownOutcome is what one loop found for scale-down.
type scaleDownOutcome struct {
	candidates map[string]int // group → unneeded nodes
}

// removal is a node chosen for deletion.
type removal struct {
	node  *corev1.Node
	g     *group
	pods  []*corev1.Pod // pods to move
	util  float64
	empty bool
}

// scaleDown finds the unneeded nodes (under the utilization threshold, every
// pod movable elsewhere) and deletes those unneeded long enough, unless a
// scale-up happened this loop or a cool-down runs.
func (a *Autoscaler) scaleDown(ctx context.Context, now time.Time, order []*group, states map[string]*nodeState,
	podsOf map[string][]*corev1.Pod, pdbs []policyv1.PodDisruptionBudget, deleting map[string]string, o profile.Options, forbidden bool) scaleDownOutcome {
	out := scaleDownOutcome{candidates: map[string]int{}}
	// The room pods could move to: every schedulable node but those
	// leaving.
	room := map[string]*nodeState{}
	var roomOrder []string
	for name, st := range states {
		if _, gone := deleting[name]; gone || tainted(st.node, ToBeDeletedTaint) || st.node.Spec.Unschedulable || !nodeReady(st.node) {
			continue
		}
		room[name] = st.clone()
		roomOrder = append(roomOrder, name)
	}
	sort.Strings(roomOrder)

	type cand struct {
		node *corev1.Node
		g    *group
		util float64
	}
	var cands []cand
	for _, g := range order {
		for _, n := range g.nodes {
			if _, gone := deleting[n.Name]; gone || n.Annotations[ScaleDownDisabledAnnotation] == "true" {
				continue
			}
			cpu, mem := utilization(n, podsOf[n.Name], o.IgnoreDaemonSetsUtil)
			u := max(cpu, mem)
			if nodeReady(n) && u >= o.UtilizationThreshold {
				continue
			}
			cands = append(cands, cand{n, g, u})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].util != cands[j].util {
			return cands[i].util < cands[j].util
		}
		return cands[i].node.Name < cands[j].node.Name
	})
	unneeded := map[string]removal{}
	for _, c := range cands {
		pods, ok := a.movable(c.node, podsOf[c.node.Name], pdbs, o)
		if !ok {
			continue
		}
		// Move the pods, in the simulation, to the nodes that stay.
		trial := map[string]*nodeState{}
		placed := true
		for _, p := range pods {
			fit := false
			for _, name := range roomOrder {
				if name == c.node.Name {
					continue
				}
				if _, taken := unneeded[name]; taken {
					continue
				}
				st := trial[name]
				if st == nil {
					st = room[name].clone()
				}
				if ok, _ := st.fits(p); ok {
					st.add(p)
					trial[name] = st
					fit = true
					break
				}
			}
			if !fit {
				placed = false
				break
			}
		}
		if !placed {
			continue
		}
		for name, st := range trial {
			room[name] = st
		}
		unneeded[c.node.Name] = removal{node: c.node, g: c.g, pods: pods, util: c.util, empty: len(pods) == 0}
		out.candidates[c.g.ScaleSet]++
	}

	a.mu.Lock()
	for name := range a.unneeded {
		if _, ok := unneeded[name]; !ok {
			delete(a.unneeded, name)
		}
	}
	for name := range unneeded {
		if _, ok := a.unneeded[name]; !ok {
			a.unneeded[name] = now
		}
	}
	since := map[string]time.Time{}
	for k, v := range a.unneeded {
		since[k] = v
	}
	cooling := now.Before(a.lastScaleUp.Add(o.ScaleDownDelayAfterAdd)) || now.Before(a.lastDelete.Add(o.ScaleDownDelayAfterDelete)) ||
		now.Before(a.lastFailure.Add(o.ScaleDownDelayAfterFailure))
	drains := len(a.deleting)
	// AKS carries out one operation on a pool at a time: a group whose
	// deletion runs waits for it.
	busy := map[string]bool{}
	for _, g := range a.deleting {
		busy[g] = true
	}
	for g, p := range a.pending {
		if !p.done {
			busy[g] = true
		}
	}
	a.mu.Unlock()
	if forbidden || cooling {
		return out
	}

	// Ready ones after the unneeded time, unready ones after the unready
	// time; never below a group's minimum; empty nodes together (up to
	// max-empty-bulk-delete), one node with pods at a time.
	var names []string
	for name := range unneeded {
		names = append(names, name)
	}
	sort.Strings(names)
	var empty, drained []removal
	leaving := map[*group]int{}
	for _, name := range names {
		r := unneeded[name]
		wait := o.ScaleDownUnneededTime
		if !nodeReady(r.node) {
			wait = o.ScaleDownUnreadyTime
		}
		if now.Sub(since[name]) < wait {
			continue
		}
		if r.g.target-r.g.deleting-leaving[r.g] <= r.g.Min || busy[r.g.ScaleSet] {
			continue
		}
		switch {
		case r.empty && len(empty) < o.MaxEmptyBulkDelete:
			empty = append(empty, r)
			leaving[r.g]++
		case !r.empty && len(drained) == 0 && drains == 0:
			drained = append(drained, r)
			leaving[r.g]++
		}
	}
	// One operation per group: its empty nodes together; a node with
	// pods alone.
	byGroup := map[*group][]removal{}
	for _, r := range empty {
		byGroup[r.g] = append(byGroup[r.g], r)
	}
	for _, rs := range byGroup {
		a.startDeletion(ctx, rs, o)
	}
	for _, r := range drained {
		if _, busy := byGroup[r.g]; !busy {
			a.startDeletion(ctx, []removal{r}, o)
		}
	}
	return out
}

// movable lists the pods that must move off node for it to go, or says
// the node must stay: a pod no controller re-creates, a kube-system pod
// without a budget (skip-nodes-with-system-pods), a pod with local storage
// (skip-nodes-with-local-storage), one marked not safe to evict, or a
// budget that allows no disruption.
func (a *Autoscaler) movable(node *corev1.Node, pods []*corev1.Pod, pdbs []policyv1.PodDisruptionBudget, o profile.Options) ([]*corev1.Pod, bool) {
	var out []*corev1.Pod
	for _, p := range pods {
		if daemonSetPod(p) || mirrorPod(p) || p.DeletionTimestamp != nil {
			continue
		}
		safe := p.Annotations[SafeToEvictAnnotation]
		if safe == "false" {
			return nil, false
		}
		budgets := pdbsFor(p, pdbs)
		for _, b := range budgets {
			if b.Status.DisruptionsAllowed < 1 {
				return nil, false
			}
		}
		if safe != "true" {
			if metav1.GetControllerOf(p) == nil {
				return nil, false
			}
			if o.SkipNodesWithSystemPods && p.Namespace == metav1.NamespaceSystem && len(budgets) == 0 {
				return nil, false
			}
			if o.SkipNodesWithLocalStorage && localStorage(p) {
				return nil, false
			}
		}
		out = append(out, p)
	}
	return out, true
}

func localStorage(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.HostPath != nil || v.EmptyDir != nil && v.EmptyDir.Medium != corev1.StorageMediumMemory {
			return true
		}
	}
	return false
}

// startDeletion removes nodes of one group in one operation, as the
// autoscaler deletes a group's nodes in one call: it taints them, drains
// the one with pods (evictions honour disruption budgets, for at most
// max-graceful-termination-sec) and deletes their instances together; a
// failure takes the taints back.
func (a *Autoscaler) startDeletion(ctx context.Context, rs []removal, o profile.Options) {
	a.mu.Lock()
	for _, r := range rs {
		a.deleting[r.node.Name] = r.g.ScaleSet
		delete(a.unneeded, r.node.Name)
	}
	a.mu.Unlock()
	for _, r := range rs {
		name := r.node.Name
		if r.empty {
			a.eventOnStatus(ctx, corev1.EventTypeNormal, "ScaleDownEmpty", fmt.Sprintf("Scale-down: removing empty node %q", name))
		} else {
			var names []string
			for _, p := range r.pods {
				names = append(names, p.Namespace+"/"+p.Name)
			}
			a.eventOnStatus(ctx, corev1.EventTypeNormal, "ScaleDown",
				fmt.Sprintf("Scale-down: removing node %s, utilization: %.2f, pods to reschedule: %s", name, r.util, strings.Join(names, ",")))
		}
		a.log.Info("scale-down", "node", name, "group", r.g.ScaleSet, "empty", r.empty, "pods", len(r.pods))
	}
	go func() {
		err := a.deleteNodes(ctx, rs, o)
		a.mu.Lock()
		for _, r := range rs {
			delete(a.deleting, r.node.Name)
		}
		if err != nil {
			a.lastFailure = a.now()
		} else {
			a.lastDelete = a.now()
		}
		a.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		for _, r := range rs {
			name := r.node.Name
			switch {
			case err != nil:
				a.rec.Event(r.node, corev1.EventTypeWarning, "ScaleDownFailed", "failed to delete node: "+err.Error())
				a.untaint(context.WithoutCancel(ctx), name)
			case r.empty:
				a.eventOnStatus(ctx, corev1.EventTypeNormal, "ScaleDownEmpty", fmt.Sprintf("Scale-down: empty node %s removed", name))
			default:
				a.eventOnStatus(ctx, corev1.EventTypeNormal, "ScaleDown", fmt.Sprintf("Scale-down: node %s removed with drain", name))
			}
		}
		if err != nil {
			a.log.Warn("scale-down failed", "group", rs[0].g.ScaleSet, "err", err)
		}
	}()
}

func (a *Autoscaler) deleteNodes(ctx context.Context, rs []removal, o profile.Options) error {
	var ids []string
	for _, r := range rs {
		name := r.node.Name
		id := instanceID(r.node.Spec.ProviderID)
		if id == "" {
			return fmt.Errorf("node %s has no scale set instance in its providerID %q", name, r.node.Spec.ProviderID)
		}
		ids = append(ids, id)
		if err := a.taint(ctx, name); err != nil {
			return fmt.Errorf("taint %s: %w", name, err)
		}
		a.rec.Event(r.node, corev1.EventTypeNormal, "ScaleDown", "marked the node as toBeDeleted/unschedulable")
		if r.empty {
			continue
		}
		for _, p := range r.pods {
			a.rec.Event(p, corev1.EventTypeNormal, "ScaleDown", "deleting pod for node scale down")
		}
		h := &drain.Helper{
			Ctx: ctx, Client: a.client, Out: io.Discard, ErrOut: io.Discard,
			IgnoreAllDaemonSets: true, DeleteEmptyDirData: true, Force: true,
			GracePeriodSeconds: -1, Timeout: o.MaxGracefulTermination + time.Minute,
		}
		if err := drain.RunNodeDrain(h, name); err != nil {
			return fmt.Errorf("drain %s: %w", name, err)
		}
	}
	if err := a.cloud.DeleteInstances(ctx, rs[0].g.ScaleSet, ids); err != nil {
		return err
	}
	for _, r := range rs {
		a.rec.Event(r.node, corev1.EventTypeNormal, "ScaleDown", "nodes removed by cluster autoscaler")
	}
	return nil
}

// instanceID is the last segment of a scale set instance's providerID.
func instanceID(providerID string) string {
	if !strings.Contains(strings.ToLower(providerID), "/virtualmachinescalesets/") {
		return ""
	}
	return providerID[strings.LastIndex(providerID, "/")+1:]
}

func (a *Autoscaler) taint(ctx context.Context, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if tainted(n, ToBeDeletedTaint) {
			return nil
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: ToBeDeletedTaint, Value: strconv.FormatInt(a.now().Unix(), 10), Effect: corev1.TaintEffectNoSchedule})
		_, err = a.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

func (a *Autoscaler) untaint(ctx context.Context, name string) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var keep []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != ToBeDeletedTaint {
				keep = append(keep, t)
			}
		}
		if len(keep) == len(n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = keep
		_, err = a.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		a.log.Warn("untaint", "node", name, "err", err)
	}
}

// PriorityConfigMap holds the priority expander's priorities (upstream's
// name and format: priorities → list of node-group name patterns).
const PriorityConfigMap = "cluster-autoscaler-priority-expander"

// byPriority keeps the options of the highest priority whose pattern
// matches their node group; without the ConfigMap, all of them.
func (a *Autoscaler) byPriority(ctx context.Context, options []option) []option {
	cm, err := a.client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, PriorityConfigMap, metav1.GetOptions{})
	if err != nil {
		return options
	}
	var prio map[int][]string
	if err := yaml.Unmarshal([]byte(cm.Data["priorities"]), &prio); err != nil {
		a.eventOnStatus(ctx, corev1.EventTypeWarning, "PriorityConfigMapInvalid", "Wrong configuration for priority expander: "+err.Error())
		return options
	}
	bestPrio := 0
	var out []option
	for _, o := range options {
		p, ok := priorityOf(o.g.ScaleSet, prio)
		if !ok {
			continue
		}
		switch {
		case len(out) == 0 || p > bestPrio:
			bestPrio, out = p, []option{o}
		case p == bestPrio:
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return options
	}
	return out
}
