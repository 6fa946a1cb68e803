package nodesim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubectl/pkg/drain"

	"github.com/localaks/localaks/internal/clusterspec"
)

// workers bounds concurrent node writes.
const workers = 16

// DrainError is a drain that could not finish (a disruption budget kept
// refusing evictions until the timeout).
type DrainError struct {
	Node string
	Err  error
}

func (e *DrainError) Error() string { return fmt.Sprintf("drain node %s: %v", e.Node, e.Err) }

// nodeWatch is a node cache that wakes waiters on every change.
type nodeWatch struct {
	lister listersv1.NodeLister
	mu     sync.Mutex
	change chan struct{}
}

func (w *nodeWatch) changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.change
}

func (w *nodeWatch) notify() {
	w.mu.Lock()
	close(w.change)
	w.change = make(chan struct{})
	w.mu.Unlock()
}

// startNodeWatch runs the node cache Sync waits on.
func (s *Simulator) startNodeWatch(ctx context.Context) error {
	f := informers.NewSharedInformerFactoryWithOptions(s.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ManagedLabel }))
	inf := f.Core().V1().Nodes()
	w := &nodeWatch{lister: inf.Lister(), change: make(chan struct{})}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.notify() },
		UpdateFunc: func(any, any) { w.notify() },
		DeleteFunc: func(any) { w.notify() },
	})
	if err != nil {
		return err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return fmt.Errorf("node informer did not sync")
	}
	s.nodes = w
	return nil
}

// Sync makes the cluster's nodes what spec says: it registers new
// instances, updates changed ones (labels, taints, kubelet version),
// cordons and drains the nodes in spec.Drain, deletes nodes whose instances
// are gone, and returns once every node is Ready.
func (s *Simulator) Sync(ctx context.Context, spec *clusterspec.Spec) (ready int, err error) {
	s.SetSpec(spec)
	want := map[string]*corev1.Node{}
	var names []string
	for _, n := range spec.Nodes {
		node, err := BuildNode(spec, n)
		if err != nil {
			return 0, err
		}
		want[n.Name] = node
		names = append(names, n.Name)
	}
	existing, err := s.nodes.lister.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	have := map[string]*corev1.Node{}
	for _, n := range existing {
		have[n.Name] = n
	}

	var jobs []func() error
	upgrades := map[string][]string{} // pool → nodes to reimage
	for _, name := range names {
		node := want[name]
		if cur, ok := have[name]; ok {
			if (Simulated(node) || s.Reimage != nil) && reimage(cur, node) {
				pool := node.Labels["agentpool"]
				upgrades[pool] = append(upgrades[pool], name)
				continue
			}
			if job := s.updateJob(ctx, cur, node); job != nil {
				jobs = append(jobs, job)
			}
			continue
		}
		jobs = append(jobs, func() error {
			_, err := s.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		})
	}
	for name := range have {
		if _, ok := want[name]; ok {
			continue
		}
		jobs = append(jobs, func() error {
			err := s.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		})
	}
	if err := runParallel(jobs); err != nil {
		return 0, err
	}
	if s.Registered != nil {
		if err := s.Registered(ctx, spec); err != nil {
			return 0, err
		}
	}
	for pool, nodes := range upgrades {
		if err := s.upgradePool(ctx, spec, pool, nodes, have, want); err != nil {
			return 0, err
		}
	}
	if len(spec.Drain) > 0 {
		if err := s.drain(ctx, spec.Drain, time.Duration(spec.DrainTimeoutSeconds)*time.Second); err != nil {
			return 0, err
		}
	}
	return s.waitReady(ctx, names)
}

// updateJob brings an existing node's labels, taints and kubelet version to
// want's, or returns nil when nothing differs. Labels set by others stay.
func (s *Simulator) updateJob(ctx context.Context, cur, want *corev1.Node) func() error {
	needMeta := false
	for k, v := range want.Labels {
		if cur.Labels[k] != v {
			needMeta = true
		}
	}
	if cur.Spec.ProviderID != want.Spec.ProviderID || !sameTaints(cur.Spec.Taints, want.Spec.Taints) {
		needMeta = true
	}
	for k, v := range want.Annotations {
		if k == SimulatedAnnotation && cur.Annotations[k] != v {
			needMeta = true
		}
	}
	// A real node's kubelet owns its status.
	needStatus := Simulated(want) && (cur.Status.NodeInfo.KubeletVersion != want.Status.NodeInfo.KubeletVersion ||
		cur.Status.NodeInfo.OSImage != want.Status.NodeInfo.OSImage)
	if !needMeta && !needStatus {
		return nil
	}
	return func() error {
		node, err := s.client.CoreV1().Nodes().Get(ctx, cur.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if needMeta {
			for k, v := range want.Labels {
				node.Labels[k] = v
			}
			if v, ok := want.Annotations[SimulatedAnnotation]; ok {
				if node.Annotations == nil {
					node.Annotations = map[string]string{}
				}
				node.Annotations[SimulatedAnnotation] = v
			}
			node.Spec.Taints = mergeTaints(node.Spec.Taints, want.Spec.Taints)
			if node, err = s.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		if needStatus {
			node.Status.NodeInfo.KubeletVersion = want.Status.NodeInfo.KubeletVersion
			node.Status.NodeInfo.OSImage = want.Status.NodeInfo.OSImage
			node.Status.NodeInfo.KernelVersion = want.Status.NodeInfo.KernelVersion
			node.Status.NodeInfo.ContainerRuntimeVersion = want.Status.NodeInfo.ContainerRuntimeVersion
			if _, err := s.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		return nil
	}
}

// reimage reports whether a node runs another Kubernetes version or node
// image than its pool: AKS upgrades such nodes by reimaging them.
func reimage(cur, want *corev1.Node) bool {
	const image = "kubernetes.azure.com/node-image-version"
	return cur.Status.NodeInfo.KubeletVersion != want.Status.NodeInfo.KubeletVersion || cur.Labels[image] != want.Labels[image]
}

// upgradePool reimages a pool's nodes as AKS's rolling upgrade does: a
// batch of max-surge nodes at a time is cordoned and drained (honouring
// disruption budgets), brought to the new version and node image, and made
// schedulable again. (AKS also adds surge nodes while it works; localaks
// drains onto the pool's other nodes.)
func (s *Simulator) upgradePool(ctx context.Context, spec *clusterspec.Spec, pool string, nodes []string, have, want map[string]*corev1.Node) error {
	p, _ := spec.Pool(pool)
	batch := max(p.UpgradeBatch, 1)
	sort.Strings(nodes)
	for len(nodes) > 0 {
		n := min(batch, len(nodes))
		group := nodes[:n]
		nodes = nodes[n:]
		if err := s.drain(ctx, group, time.Duration(p.DrainTimeoutSeconds)*time.Second); err != nil {
			return err
		}
		var real []string
		for _, name := range group {
			if !Simulated(want[name]) {
				real = append(real, name)
			}
		}
		if len(real) > 0 {
			if err := s.Reimage(ctx, spec, real); err != nil {
				return err
			}
			if err := s.waitVersion(ctx, real, want); err != nil {
				return err
			}
		}
		var jobs []func() error
		for _, name := range group {
			if job := s.updateJob(ctx, have[name], want[name]); job != nil {
				jobs = append(jobs, job)
			}
			jobs = append(jobs, func() error {
				node, err := s.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				h := &drain.Helper{Ctx: ctx, Client: s.client, Out: io.Discard, ErrOut: io.Discard}
				return drain.RunCordonOrUncordon(h, node, false)
			})
		}
		// The version update and the uncordon of one node must not race.
		for _, job := range jobs {
			if err := job(); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeTaints replaces a node's pool taints with want, keeping the taints
// Kubernetes itself manages (node.kubernetes.io/..., such as unschedulable).
func mergeTaints(cur, want []corev1.Taint) []corev1.Taint {
	keep := cur[:0:0]
	for _, t := range cur {
		if strings.HasPrefix(t.Key, "node.kubernetes.io/") || strings.HasPrefix(t.Key, "node.cloudprovider.kubernetes.io/") {
			keep = append(keep, t)
		}
	}
	return append(keep, want...)
}

func sameTaints(cur, want []corev1.Taint) bool {
	var a []string
	for _, t := range cur {
		if !strings.HasPrefix(t.Key, "node.kubernetes.io/") && !strings.HasPrefix(t.Key, "node.cloudprovider.kubernetes.io/") {
			a = append(a, t.ToString())
		}
	}
	var b []string
	for _, t := range want {
		b = append(b, t.ToString())
	}
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// drain cordons the nodes and evicts their pods as `kubectl drain
// --ignore-daemonsets --delete-emptydir-data --force` does: evictions honour
// PodDisruptionBudgets and are retried until timeout.
func (s *Simulator) drain(ctx context.Context, nodes []string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	var jobs []func() error
	for _, name := range nodes {
		jobs = append(jobs, func() error {
			h := &drain.Helper{
				Ctx: ctx, Client: s.client, Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
				GracePeriodSeconds: -1, Timeout: timeout, Out: io.Discard, ErrOut: io.Discard,
			}
			node, err := s.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			} else if err != nil {
				return err
			}
			if err := drain.RunCordonOrUncordon(h, node, true); err != nil {
				return fmt.Errorf("cordon %s: %w", name, err)
			}
			if err := drain.RunNodeDrain(h, name); err != nil {
				return &DrainError{Node: name, Err: err}
			}
			return nil
		})
	}
	return runParallel(jobs)
}

// waitReady waits until every named node is Ready and returns how many
// there are.
func (s *Simulator) waitReady(ctx context.Context, names []string) (int, error) {
	for {
		changed := s.nodes.changed()
		notReady := 0
		for _, name := range names {
			n, err := s.nodes.lister.Get(name)
			if err != nil || !isReady(n) {
				notReady++
			}
		}
		if notReady == 0 {
			return len(names), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return len(names) - notReady, fmt.Errorf("%d of %d nodes not Ready: %w", notReady, len(names), ctx.Err())
		}
	}
}

// waitVersion waits until the named (reimaged) nodes are Ready with want's
// kubelet version.
func (s *Simulator) waitVersion(ctx context.Context, names []string, want map[string]*corev1.Node) error {
	for {
		changed := s.nodes.changed()
		var behind []string
		for _, name := range names {
			n, err := s.nodes.lister.Get(name)
			if err != nil || !isReady(n) || n.Status.NodeInfo.KubeletVersion != want[name].Status.NodeInfo.KubeletVersion {
				behind = append(behind, name)
			}
		}
		if len(behind) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("reimaged nodes %v not back at their new version: %w", behind, ctx.Err())
		}
	}
}

func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// runParallel runs jobs on a few workers and joins their errors.
func runParallel(jobs []func() error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	ch := make(chan func() error)
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range ch {
				if err := job(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}
