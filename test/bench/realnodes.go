package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/localaks/localaks/internal/nodehost"
)

// benchRealNodes measures real nodes (kubelet + containerd): a cluster
// whose one node is real, from create to Ready; a loaded image's
// Deployment to its first HTTP 200 through the cluster network; a scale-out
// by one real node; pod-to-pod throughput; a Service of type LoadBalancer's
// first answer and throughput through the load balancer against the same
// load straight to the pod; and the memory of a node's processes.
func benchRealNodes(ctx context.Context, out, logw io.Writer, localaks string) error {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "bench: "+format+"\n", args...) }
	if missing := nodehost.Missing(); len(missing) > 0 {
		return fmt.Errorf("this host cannot run real nodes: it lacks %s", strings.Join(missing, "; "))
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	bin, cleanup, err := localaksBinary(ctx, logf, localaks)
	if err != nil {
		return err
	}
	defer cleanup()
	images, err := os.MkdirTemp("", "localaks-bench-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(images)
	_, file, _, _ := goruntime.Caller(0)
	build := exec.CommandContext(ctx, "go", "run", "./test/images", "-o", images)
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build test images: %v\n%s", err, out)
	}

	b, err := start(ctx, instanceConfig{conns: 4, controlPlane: []string{bin, "controlplane"}})
	if err != nil {
		return err
	}
	defer func() { b.stop() }()
	if err := b.createGroup(ctx, "bench"); err != nil {
		return err
	}
	var rows []measure
	add := func(m measure) {
		logf("%s: %s", m.name, m.format(m.ours))
		rows = append(rows, m)
	}
	mc := kubenetCluster("real", 1, true)
	mc.Properties.AgentPoolProfiles[0].Tags = map[string]*string{"localaks.io/nodes": to.Ptr("real")}
	logf("create a cluster with one real node")
	t0 := time.Now()
	p, err := b.clusters.BeginCreateOrUpdate(ctx, "bench", "real", mc, nil)
	if err != nil {
		return err
	}
	ended, err := await(ctx, p)
	if err != nil {
		return err
	}
	add(measure{name: "create → 1 real node Ready", ours: ended.Sub(t0).Seconds(), unit: "s"})
	defer b.deleteCluster(context.WithoutCancel(ctx), "real") //nolint:errcheck // the instance goes anyway

	load := exec.CommandContext(ctx, bin, "image", "load", "--data-dir", b.dir, "-g", "bench", "-n", "real", filepath.Join(images, "hello.tar"))
	if out, err := load.CombinedOutput(); err != nil {
		return fmt.Errorf("image load: %v\n%s", err, out)
	}
	rc, err := b.restConfig(ctx, "real")
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	// Right after create the node is starting the kube-system pods that
	// land on it; measure both then and on the settled node.
	d, err := firstResponse(ctx, cs, "hello")
	if err != nil {
		return err
	}
	add(measure{name: "Deployment of a loaded image → first HTTP 200, right after create", ours: d.Seconds(), unit: "s"})
	idle(ctx, 15*time.Second)
	if d, err = firstResponse(ctx, cs, "hello2"); err != nil {
		return err
	}
	add(measure{name: "Deployment of a loaded image → first HTTP 200, settled node", ours: d.Seconds(), unit: "s"})

	pool, err := b.pools.Get(ctx, "bench", "real", "nodepool1", nil)
	if err != nil {
		return err
	}
	pool.Properties.Count = to.Ptr(int32(2))
	t0 = time.Now()
	pp, err := b.pools.BeginCreateOrUpdate(ctx, "bench", "real", "nodepool1", pool.AgentPool, nil)
	if err != nil {
		return err
	}
	ended, err = await(ctx, pp)
	if err != nil {
		return err
	}
	add(measure{name: "scale 1 → 2 real nodes Ready", ours: ended.Sub(t0).Seconds(), unit: "s"})

	across, within, err := podToPod(ctx, cs)
	if err != nil {
		return err
	}
	add(measure{name: "pod-to-pod HTTP requests/s within one node (8 keep-alive clients)", ours: within, unit: "/s"})
	add(measure{name: "pod-to-pod HTTP requests/s across nodes (8 keep-alive clients)", ours: across, unit: "/s"})
	add(measure{name: "across nodes / within one node", ours: 100 * across / within, unit: "%"})

	first, viaLB, direct, err := loadBalancerPath(ctx, cs, "hello2")
	if err != nil {
		return err
	}
	add(measure{name: "Service type LoadBalancer → first HTTP 200 through its external IP", ours: first.Seconds(), unit: "s"})
	add(measure{name: "HTTP requests/s through the load balancer, from the host (8 keep-alive clients)", ours: viaLB.rps, unit: "/s"})
	add(measure{name: "HTTP requests/s straight to the pod, from the virtual network (same client)", ours: direct.rps, unit: "/s"})
	add(measure{name: "through the load balancer / straight", ours: 100 * viaLB.rps / direct.rps, unit: "%"})
	add(measure{name: "p99 latency through the load balancer", ours: viaLB.p99.Seconds(), unit: "s"})
	add(measure{name: "p99 latency straight to the pod", ours: direct.p99.Seconds(), unit: "s"})

	firstGW, viaGW, err := gatewayPath(ctx, cs, "hello2-lb")
	if err != nil {
		return err
	}
	add(measure{name: "Ingress (AGIC) → first HTTP 200 through the application gateway", ours: firstGW.Seconds(), unit: "s"})
	add(measure{name: "HTTP requests/s through the application gateway, from the host (8 keep-alive clients)", ours: viaGW.rps, unit: "/s"})
	add(measure{name: "through the application gateway / straight", ours: 100 * viaGW.rps / direct.rps, unit: "%"})
	add(measure{name: "p99 latency through the application gateway", ours: viaGW.p99.Seconds(), unit: "s"})

	idle(ctx, 20*time.Second)
	var inits []int
	for _, p := range nodehost.NodeProcesses(b.dir) {
		if p.Role == "init" {
			inits = append(inits, p.PID)
		}
	}
	// The node's own processes (its init, kubelet and containerd, kube-proxy)
	// apart from the containers' shims and the processes of its pods (the
	// system workloads' and the bench's).
	var own, pods []int
	for _, pid := range inits {
		inShim := map[int]bool{}
		for _, p := range descendants(pid) {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); strings.HasPrefix(string(comm), "containerd-shim") {
				for _, q := range descendants(p) {
					inShim[q] = true
				}
			}
		}
		for _, p := range descendants(pid) {
			if inShim[p] {
				pods = append(pods, p)
			} else {
				own = append(own, p)
			}
		}
	}
	if n := float64(len(inits)); n > 0 {
		rss, pss := processMemory(own)
		add(measure{name: fmt.Sprintf("memory per real node, PSS: the node (kubelet, containerd, kube-proxy; %d processes)", len(own)/len(inits)), ours: pss / n, unit: "MiB"})
		add(measure{name: "memory per real node, RSS: the node", ours: rss / n, unit: "MiB"})
		_, pss = processMemory(pods)
		add(measure{name: fmt.Sprintf("memory per real node, PSS: shims and pods (system workloads, the bench's; %d processes)", len(pods)/len(inits)), ours: pss / n, unit: "MiB"})
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "real nodes (%s)\tlocalaks\n", machine())
	for _, m := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", m.name, m.format(m.ours))
	}
	return tw.Flush()
}

// firstResponse creates a Deployment of the test image and returns the
// time until one of its pods answers HTTP through the API server's proxy
// (which reaches the pod through the tunnel and the node's network). The
// API server proxy is the measuring client: a GET from the host through the
// same path a pod's peer would take on the virtual network.
func firstResponse(ctx context.Context, cs kubernetes.Interface, name string) (time.Duration, error) {
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: to.Ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: "localaks.test/hello:v1"}}},
			},
		},
	}
	t0 := time.Now()
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	var took time.Duration
	err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil || len(pods.Items) == 0 || pods.Items[0].Status.PodIP == "" {
			return false, nil
		}
		body, err := cs.CoreV1().Pods("default").ProxyGet("http", pods.Items[0].Name, "8080", "/", nil).DoRaw(ctx)
		if err != nil || !strings.HasPrefix(string(body), "hello from ") {
			return false, nil
		}
		took = time.Since(t0)
		return true, nil
	})
	return took, err
}

// descendants is pid and every process under it.
func descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		raw, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces.
		i := strings.LastIndexByte(string(raw), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(raw)[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		p, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// podToPod serves hello on one node and loads it for 5 s from a pod on
// the same node and from one on the other: requests per second across and
// within.
func podToPod(ctx context.Context, cs kubernetes.Interface) (across, within float64, err error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	if len(nodes.Items) < 2 {
		return 0, 0, fmt.Errorf("%d nodes, want 2", len(nodes.Items))
	}
	a, b := nodes.Items[0].Name, nodes.Items[1].Name
	pod := func(name, node string, args []string, env []corev1.EnvVar) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: node, RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "hello", Image: "localaks.test/hello:v1", Args: args, Env: env}}},
		}
	}
	pods := cs.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, pod("rps-server", a, nil, []corev1.EnvVar{{Name: "QUIET", Value: "1"}}), metav1.CreateOptions{}); err != nil {
		return 0, 0, err
	}
	var ip string
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "rps-server", metav1.GetOptions{})
		if err != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return false, nil
		}
		ip = p.Status.PodIP
		return true, nil
	}); err != nil {
		return 0, 0, fmt.Errorf("rps server: %w", err)
	}
	run := func(name, node string) (float64, error) {
		if _, err := pods.Create(ctx, pod(name, node, []string{"load", "http://" + ip + ":8080/", "5s"}, nil), metav1.CreateOptions{}); err != nil {
			return 0, err
		}
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			if p.Status.Phase == corev1.PodFailed {
				return false, fmt.Errorf("%s failed", name)
			}
			return p.Status.Phase == corev1.PodSucceeded, nil
		}); err != nil {
			return 0, err
		}
		out, err := pods.GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			return 0, err
		}
		var n int64
		var d string
		var rps float64
		if _, err := fmt.Sscanf(string(out), "%d requests in %s %f/s", &n, &d, &rps); err != nil {
			return 0, fmt.Errorf("%s said %q: %w", name, out, err)
		}
		return rps, nil
	}
	if within, err = run("rps-within", a); err != nil {
		return 0, 0, err
	}
	if across, err = run("rps-across", b); err != nil {
		return 0, 0, err
	}
	return across, within, nil
}
