package autoscaler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/nodesim"
)

// fakeCloud is a node resource group whose scale sets change when asked.
type fakeCloud struct {
	mu      sync.Mutex
	sets    map[string]*ScaleSet
	fail    error
	calls   []string
	changed chan struct{}
}

func (c *fakeCloud) ScaleSets(context.Context) (map[string]ScaleSet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]ScaleSet{}
	for k, v := range c.sets {
		out[k] = *v
	}
	return out, nil
}

func (c *fakeCloud) SetCapacity(_ context.Context, s ScaleSet, n int) error {
	c.mu.Lock()
	defer func() { c.mu.Unlock(); c.changed <- struct{}{} }()
	c.calls = append(c.calls, fmt.Sprintf("capacity %s %d", s.Name, n))
	if c.fail != nil {
		return c.fail
	}
	c.sets[strings.ToLower(s.Name)].Capacity = n
	return nil
}

func (c *fakeCloud) DeleteInstances(_ context.Context, set string, ids []string) error {
	c.mu.Lock()
	defer func() { c.mu.Unlock(); c.changed <- struct{}{} }()
	c.calls = append(c.calls, fmt.Sprintf("delete %s %v", set, ids))
	c.sets[strings.ToLower(set)].Capacity -= len(ids)
	return nil
}

const vmss = "aks-user-12345678-vmss"

func testSpec(min, max int, profile map[string]string) *clusterspec.Spec {
	return &clusterspec.Spec{
		Location: "eastus", NodeResourceGroup: "MC_rg_c_eastus",
		Pools:      []clusterspec.Pool{{Name: "user", Mode: "User", VMSize: "Standard_D2s_v3", OSType: "Linux", OSSKU: "Ubuntu", Version: "1.33.0", MaxPods: 110, OSDiskSizeGB: 128}},
		Autoscaler: &clusterspec.Autoscaler{Profile: profile, Groups: []clusterspec.NodeGroup{{Pool: "user", ScaleSet: vmss, Min: min, Max: max}}},
	}
}

func node(t *testing.T, spec *clusterspec.Spec, i int) *corev1.Node {
	t.Helper()
	n, err := nodesim.BuildNode(spec, clusterspec.Node{Name: fmt.Sprintf("aks-user-12345678-vmss%06d", i), Pool: "user",
		ProviderID: fmt.Sprintf("azure:///subscriptions/s/resourceGroups/mc_rg_c_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%d", vmss, i)})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	return n
}

func pendingPod(name, cpu string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name),
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: ptr(true), APIVersion: "apps/v1"}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}},
	}
}

func ptr[T any](v T) *T { return &v }

func newTest(t *testing.T, spec *clusterspec.Spec, capacity int, objs ...any) (*Autoscaler, *fakeCloud, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset()
	ctx := context.Background()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Node:
			_, err = client.CoreV1().Nodes().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Pod:
			_, err = client.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cloud := &fakeCloud{sets: map[string]*ScaleSet{vmss: {Name: vmss, Location: "eastus", SKU: "Standard_D2s_v3", Capacity: capacity}}, changed: make(chan struct{}, 16)}
	a := New(client, cloud, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	a.Set(spec)
	return a, cloud, client
}

func events(t *testing.T, client *fake.Clientset, reason string) []corev1.Event {
	t.Helper()
	var out []corev1.Event
	// The broadcaster writes asynchronously; wait for the event to land.
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := client.CoreV1().Events("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = out[:0]
		for _, e := range list.Items {
			if e.Reason == reason {
				out = append(out, e)
			}
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScaleUpToFitPendingPods(t *testing.T) {
	spec := testSpec(1, 5, nil)
	// One node; four pods of 1.5 CPU need a node each (a D2s_v3 has 1.9
	// allocatable), and the first node is taken by the first pod.
	objs := []any{node(t, spec, 0)}
	for i := range 4 {
		objs = append(objs, pendingPod(fmt.Sprintf("p%d", i), "1500m"))
	}
	a, cloud, client := newTest(t, spec, 1, objs...)
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	cloud.wait(t)
	if got := cloud.calls; len(got) != 1 || got[0] != "capacity "+vmss+" 4" {
		t.Fatalf("calls = %v, want one capacity change to 4", got)
	}
	ev := events(t, client, "TriggeredScaleUp")
	if len(ev) == 0 || !strings.Contains(ev[0].Message, "pod triggered scale-up: [{"+vmss+" 1->4 (max: 5)}]") || ev[0].Source.Component != Component {
		t.Fatalf("TriggeredScaleUp events = %+v", ev)
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(context.Background(), StatusConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var st autoscalerStatus
	if err := yaml.Unmarshal([]byte(cm.Data["status"]), &st); err != nil {
		t.Fatal(err)
	}
	if st.AutoscalerStatus != "Running" || len(st.NodeGroups) != 1 || st.NodeGroups[0].Name != vmss || *st.NodeGroups[0].Health.CloudProviderTarget != 4 ||
		st.ClusterWide.ScaleUp.Status != "InProgress" {
		t.Fatalf("status = %s", cm.Data["status"])
	}
	// The next loop counts the coming nodes and asks for nothing more.
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.calls) != 1 {
		t.Fatalf("second loop called %v", cloud.calls)
	}
}

func TestMaxReachedAndNoFit(t *testing.T) {
	spec := testSpec(1, 1, nil)
	a, cloud, client := newTest(t, spec, 1, node(t, spec, 0), pendingPod("big", "8"), pendingPod("fits", "1500m"), pendingPod("fits2", "1500m"))
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.calls) != 0 {
		t.Fatalf("calls = %v, want none", cloud.calls)
	}
	ev := events(t, client, "NotTriggerScaleUp")
	msgs := map[string]string{}
	for _, e := range ev {
		msgs[e.InvolvedObject.Name] = e.Message
	}
	if msgs["big"] != "pod didn't trigger scale-up: 1 Insufficient cpu" {
		t.Errorf("big: %q", msgs["big"])
	}
	if msgs["fits2"] != "pod didn't trigger scale-up: 1 max node group size reached" {
		t.Errorf("fits2: %q (all: %v)", msgs["fits2"], msgs)
	}
}

func TestScaleUpFailureBacksOff(t *testing.T) {
	spec := testSpec(1, 3, nil)
	a, cloud, client := newTest(t, spec, 1, node(t, spec, 0), pendingPod("a", "1500m"), pendingPod("b", "1500m"))
	cloud.fail = fmt.Errorf("OperationNotAllowed")
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	cloud.wait(t)
	if len(events(t, client, "FailedToScaleUpGroup")) == 0 {
		t.Fatal("no FailedToScaleUpGroup event")
	}
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.calls) != 1 {
		t.Fatalf("calls in back-off = %v", cloud.calls)
	}
	found := false
	for _, e := range events(t, client, "NotTriggerScaleUp") {
		found = found || strings.Contains(e.Message, "1 in backoff after failed scale-up")
	}
	if !found {
		t.Fatal("no back-off reason")
	}
}

func TestScaleDownEmptyNodeAfterUnneededTime(t *testing.T) {
	spec := testSpec(1, 5, map[string]string{"scale-down-unneeded-time": "1m", "scale-down-delay-after-add": "0m"})
	a, cloud, client := newTest(t, spec, 3, node(t, spec, 0), node(t, spec, 1), node(t, spec, 2))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.calls) != 0 {
		t.Fatalf("deleted before the unneeded time: %v", cloud.calls)
	}
	now = now.Add(61 * time.Second)
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	cloud.wait(t)
	// Down to the minimum (1): two empty nodes go, together.
	if len(cloud.calls) != 1 || cloud.calls[0] != "delete "+vmss+" [0 1]" {
		t.Fatalf("calls = %v", cloud.calls)
	}
	n, err := client.CoreV1().Nodes().Get(context.Background(), "aks-user-12345678-vmss000001", metav1.GetOptions{})
	if err != nil || !tainted(n, ToBeDeletedTaint) {
		t.Fatalf("node not tainted: %v %v", err, n.Spec.Taints)
	}
	if len(events(t, client, "ScaleDownEmpty")) == 0 {
		t.Fatal("no ScaleDownEmpty event")
	}
}

func TestNodeWithUnreplicatedPodStays(t *testing.T) {
	spec := testSpec(1, 5, map[string]string{"scale-down-unneeded-time": "0m", "scale-down-delay-after-add": "0m"})
	bare := pendingPod("bare", "100m")
	bare.OwnerReferences = nil
	bare.Spec.NodeName = "aks-user-12345678-vmss000001"
	bare.Status = corev1.PodStatus{Phase: corev1.PodRunning}
	a, cloud, _ := newTest(t, spec, 2, node(t, spec, 0), node(t, spec, 1), bare)
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	cloud.wait(t)
	// Node 0 is empty and goes; node 1 keeps its pod that nothing
	// re-creates.
	if len(cloud.calls) != 1 || !strings.Contains(cloud.calls[0], "[0]") {
		t.Fatalf("calls = %v", cloud.calls)
	}
}

// A node whose pods fit elsewhere is drained (its pod evicted) and deleted;
// a budget that allows no disruption keeps it.
func TestScaleDownDrainsHonouringBudgets(t *testing.T) {
	for _, allowed := range []int32{1, 0} {
		t.Run(fmt.Sprintf("disruptionsAllowed=%d", allowed), func(t *testing.T) {
			spec := testSpec(1, 5, map[string]string{"scale-down-unneeded-time": "0m", "scale-down-delay-after-add": "0m"})
			p := pendingPod("mover", "100m")
			p.Labels = map[string]string{"app": "mover"}
			p.Spec.NodeName = "aks-user-12345678-vmss000001"
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning}
			// Node 0 is kept busy above the threshold.
			busy := pendingPod("busy", "1200m")
			busy.Spec.NodeName = "aks-user-12345678-vmss000000"
			busy.Status = corev1.PodStatus{Phase: corev1.PodRunning}
			a, cloud, client := newTest(t, spec, 2, node(t, spec, 0), node(t, spec, 1), p, busy)
			ctx := context.Background()
			pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "mover", Namespace: "default"},
				Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "mover"}}},
				Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed}}
			if _, err := client.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			client.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{
				{Name: "pods/eviction", Kind: "Eviction", Group: "policy", Version: "v1"}}}}
			// The fake API server evicts by deleting, as the real one does
			// when the budget allows.
			client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
				if action.GetSubresource() != "eviction" {
					return false, nil, nil
				}
				ev := action.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
				return true, nil, client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ev.Namespace, ev.Name)
			})
			if err := a.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if allowed == 0 {
				if err := a.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				if len(cloud.calls) != 0 {
					t.Fatalf("deleted a node a budget protects: %v", cloud.calls)
				}
				return
			}
			cloud.wait(t)
			if len(cloud.calls) != 1 || cloud.calls[0] != "delete "+vmss+" [1]" {
				t.Fatalf("calls = %v", cloud.calls)
			}
			if _, err := client.CoreV1().Pods("default").Get(ctx, "mover", metav1.GetOptions{}); err == nil {
				t.Fatal("the pod was not evicted")
			}
			if len(events(t, client, "ScaleDown")) == 0 {
				t.Fatal("no ScaleDown event")
			}
		})
	}
}

// testWriter sends the autoscaler's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// wait waits for the cloud's next call (an autoscaler's goroutine makes it).
func (c *fakeCloud) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.changed:
	case <-time.After(10 * time.Second):
		t.Fatalf("no call to the cloud (calls so far: %v)", c.calls)
	}
}

// A registered node that is not Ready yet (as after a control plane's
// restart) is room coming: its pods wait for it rather than asking for more.
func TestNotReadyNodeIsRoomComing(t *testing.T) {
	spec := testSpec(1, 5, nil)
	busy := pendingPod("busy", "1500m")
	busy.Spec.NodeName = "aks-user-12345678-vmss000000"
	busy.Status = corev1.PodStatus{Phase: corev1.PodRunning}
	starting := node(t, spec, 1)
	starting.Status.Conditions[0].Status = corev1.ConditionFalse
	a, cloud, _ := newTest(t, spec, 2, node(t, spec, 0), starting, busy, pendingPod("waiting", "1500m"))
	if err := a.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.calls) != 0 {
		t.Fatalf("scaled up for a pod whose node is coming: %v", cloud.calls)
	}
}
