package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/kwatch"
	"github.com/localaks/localaks/internal/supervisor"
)

// clusterBenchOptions are `bench clusters` settings.
type clusterBenchOptions struct {
	sizes      []int
	pods       int
	extra      int
	idle       time.Duration
	kwokConfig string
	localaks   string
}

// measure is one row of the comparison: localaks's value and, when measured,
// kwokctl's.
type measure struct {
	name       string
	ours, peer float64 // seconds or MiB
	unit       string
	hasPeer    bool
}

func (m measure) format(v float64) string {
	if m.unit == "MiB" {
		return fmt.Sprintf("%.0f MiB", v)
	}
	switch m.unit {
	case "":
		return fmt.Sprintf("%.0f", v)
	case "/s", "%":
		return fmt.Sprintf("%.0f %s", v, m.unit)
	}
	return fmtDur(time.Duration(v * float64(time.Second)))
}

// benchClusters measures clusters with real control planes through the ARM
// API, as the SDK drives them, and (with a kwokctl configuration) the same
// steps with kwokctl, in one run.
func benchClusters(ctx context.Context, out, logw io.Writer, o clusterBenchOptions) error {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "bench: "+format+"\n", args...) }
	_, memAvail, _ := machineMemory()
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	bin, cleanup, err := localaksBinary(ctx, logf, o.localaks)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg := instanceConfig{conns: 4, controlPlane: []string{bin, "controlplane"}}
	var rows []measure
	b, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { b.stop() }()
	if err := b.createGroup(ctx, "bench"); err != nil {
		return err
	}
	add := func(m measure) {
		logf("%s: %s", m.name, m.format(m.ours))
		rows = append(rows, m)
	}
	var small string
	for _, n := range o.sizes {
		name := fmt.Sprintf("c%d", n)
		logf("create a %d-node cluster", n)
		d, err := b.createCluster(ctx, name, n, n == o.sizes[0])
		if err != nil {
			return err
		}
		rc, err := b.restConfig(ctx, name)
		if err != nil {
			return err
		}
		w, err := kwatch.Nodes(ctx, rc)
		if err != nil {
			return err
		}
		ready := w.Count()
		w.Stop()
		if ready != n {
			return fmt.Errorf("%d-node cluster created with %d Ready nodes", n, ready)
		}
		add(measure{name: fmt.Sprintf("create → %d nodes Ready", n), ours: d.Seconds(), unit: "s"})
		if n == o.sizes[0] {
			small = name
			d, err := exposeService(ctx, rc)
			if err != nil {
				return err
			}
			add(measure{name: "Service type LoadBalancer → external IP", ours: d.Seconds(), unit: "s"})
			if d, err = applyIngress(ctx, rc); err != nil {
				return err
			}
			add(measure{name: "Ingress (AGIC) → gateway configured, address on the Ingress", ours: d.Seconds(), unit: "s"})
			continue
		}
		if n == o.sizes[len(o.sizes)-1] && o.pods > 0 {
			// The nodes' DaemonSet pods (five per node) start after the
			// create returns; deploy once they run, on a settled cluster.
			s, err := settle(ctx, rc)
			if err != nil {
				return err
			}
			add(measure{name: fmt.Sprintf("create → %d nodes' kube-system pods Running", n), ours: (d + s).Seconds(), unit: "s"})
			logf("deploy %d pods on %d nodes", o.pods, n)
			d, err := deployPods(ctx, rc, o.pods)
			if err != nil {
				return err
			}
			add(measure{name: fmt.Sprintf("Deployment → %d pods Running", o.pods), ours: d.Seconds(), unit: "s"})
			logf("idle %v", o.idle)
			idle(ctx, o.idle)
			rss, pss := processMemory(b.controlPlanePIDs(ctx, name))
			add(measure{name: fmt.Sprintf("RSS at %d nodes + %d pods, idle", n, o.pods), ours: rss, unit: "MiB"})
			add(measure{name: fmt.Sprintf("PSS at %d nodes + %d pods, idle", n, o.pods), ours: pss, unit: "MiB"})
		}
		logf("delete the %d-node cluster", n)
		if err := b.deleteCluster(ctx, name); err != nil {
			return err
		}
	}
	if small != "" {
		logf("idle %v", o.idle)
		idle(ctx, o.idle)
		rss, pss := processMemory(b.controlPlanePIDs(ctx, small))
		add(measure{name: "RSS per idle cluster (one cluster)", ours: rss, unit: "MiB"})
		add(measure{name: "PSS per idle cluster (one cluster)", ours: pss, unit: "MiB"})
		names := []string{small}
		for i := range o.extra {
			name := fmt.Sprintf("x%d", i)
			logf("create idle cluster %s", name)
			if _, err := b.createCluster(ctx, name, 3, false); err != nil {
				return err
			}
			names = append(names, name)
		}
		if o.extra > 0 {
			idle(ctx, o.idle)
			var pids []int
			for _, n := range names {
				pids = append(pids, b.controlPlanePIDs(ctx, n)...)
			}
			_, pss := processMemory(pids)
			per := pss / float64(len(names))
			add(measure{name: fmt.Sprintf("PSS per idle cluster (%d clusters)", len(names)), ours: per, unit: "MiB"})
			if per > 0 && memAvail > 0 {
				add(measure{name: fmt.Sprintf("idle clusters that fit in %.0f MiB available", memAvail), ours: float64(int(memAvail / per)), unit: ""})
			}
			logf("restart serve with %d running clusters", len(names))
			d, err := b.restart(ctx, cfg, names)
			if err != nil {
				return err
			}
			add(measure{name: fmt.Sprintf("serve restart → %d clusters Ready", len(names)), ours: d.Seconds(), unit: "s"})
		}
	}

	if o.kwokConfig != "" {
		if err := benchKwok(ctx, logf, o, rows); err != nil {
			return fmt.Errorf("kwokctl: %w", err)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s, %d CPUs, Go %s\n", machine(), goruntime.NumCPU(), goruntime.Version())
	if o.kwokConfig != "" {
		fmt.Fprintln(tw, "measure\tlocalaks\tkwokctl\tlocalaks / kwokctl")
	} else {
		fmt.Fprintln(tw, "measure\tlocalaks")
	}
	for _, r := range rows {
		if o.kwokConfig == "" {
			fmt.Fprintf(tw, "%s\t%s\n", r.name, r.format(r.ours))
			continue
		}
		peer, ratio := "—", "—"
		if r.hasPeer {
			peer = r.format(r.peer)
			if r.peer > 0 {
				ratio = fmt.Sprintf("%.2f", r.ours/r.peer)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, r.format(r.ours), peer, ratio)
	}
	return tw.Flush()
}

// localaksBinary is the localaks binary whose `controlplane` command runs
// the clusters: path if set, else ./cmd/localaks built into a temporary
// directory (cleanup removes it). The bench binary has no control plane of
// its own: that is the product's, and links Kubernetes.
func localaksBinary(ctx context.Context, logf func(string, ...any), path string) (string, func(), error) {
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", nil, fmt.Errorf("localaks binary: %w", err)
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "localaks-bench-bin-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "localaks")
	_, file, _, _ := goruntime.Caller(0)
	logf("build ./cmd/localaks (the first build compiles Kubernetes)")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/localaks")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build localaks: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// idle lets the clusters idle for d (the GC returns memory meanwhile)
// before their memory is read.
func idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// createCluster creates a kubenet cluster of n nodes and waits for its
// operation: Succeeded means the control plane runs and every node is
// Ready.
func (in *instance) createCluster(ctx context.Context, name string, n int, agic bool) (time.Duration, error) {
	start := time.Now()
	p, err := in.clusters.BeginCreateOrUpdate(ctx, "bench", name, kubenetCluster(name, n, agic), nil)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", name, err)
	}
	ended, err := await(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", name, err)
	}
	return ended.Sub(start), nil
}

func (in *instance) deleteCluster(ctx context.Context, name string) error {
	p, err := in.clusters.BeginDelete(ctx, "bench", name, nil)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if _, err := await(ctx, p); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// restConfig is the cluster's admin kubeconfig from listClusterAdminCredential.
func (in *instance) restConfig(ctx context.Context, name string) (*rest.Config, error) {
	res, err := in.clusters.ListClusterAdminCredentials(ctx, "bench", name, nil)
	if err != nil {
		return nil, fmt.Errorf("credentials of %s: %w", name, err)
	}
	if len(res.Kubeconfigs) == 0 || res.Kubeconfigs[0] == nil {
		return nil, fmt.Errorf("credentials of %s: no kubeconfig", name)
	}
	return clientcmd.RESTConfigFromKubeConfig(res.Kubeconfigs[0].Value)
}

// controlPlanePIDs finds a cluster's control-plane process.
func (in *instance) controlPlanePIDs(ctx context.Context, name string) []int {
	mc, err := in.clusters.Get(ctx, "bench", name, nil)
	if err != nil || mc.Properties == nil || mc.Properties.ResourceUID == nil || *mc.Properties.ResourceUID == "" {
		return nil
	}
	return supervisor.Processes(filepath.Join(datadir.Dir{Path: in.dir}.Clusters(), *mc.Properties.ResourceUID))
}

// restart stops serve and starts it again on the same data dir, and
// returns the time until every named cluster's nodes are Ready again.
func (in *instance) restart(ctx context.Context, cfg instanceConfig, names []string) (time.Duration, error) {
	in.keep = true
	in.stop()
	began := time.Now()
	cfg.dir = in.dir
	nb, err := start(ctx, cfg)
	if err != nil {
		return 0, err
	}
	*in = *nb
	for _, name := range names {
		rc, err := in.restConfig(ctx, name)
		if err != nil {
			return 0, err
		}
		rc.Timeout = 5 * time.Second
		// The API server comes back on its port; wait for it, then for the
		// nodes (a watch needs a server to watch).
		if err := waitReadyz(ctx, rc, false); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		w, err := kwatch.Nodes(ctx, rc)
		if err != nil {
			return 0, err
		}
		_, err = w.Until(ctx, 3)
		w.Stop()
		if err != nil {
			return 0, err
		}
	}
	return time.Since(began), nil
}

// waitReadyz waits until the API server's /readyz answers (with "ok" if
// wantOK).
func waitReadyz(ctx context.Context, cfg *rest.Config, wantOK bool) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		b, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && (!wantOK || string(b) == "ok"), nil
	})
}

// exposeService creates a Service of type LoadBalancer and returns the time
// until its status has the load balancer's address (the cloud controller
// has made the frontend, rule, probe, public IP and NSG rule).
func exposeService(ctx context.Context, cfg *rest.Config) (time.Duration, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	w, err := cs.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=bench-lb"})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	start := time.Now()
	_, err = cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-lb"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "bench"},
			Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	for ev := range w.ResultChan() {
		if svc, ok := ev.Object.(*corev1.Service); ok && len(svc.Status.LoadBalancer.Ingress) > 0 && svc.Status.LoadBalancer.Ingress[0].IP != "" {
			return time.Since(start), nil
		}
	}
	return 0, fmt.Errorf("service watch ended before the load balancer address: %v", ctx.Err())
}

// applyIngress runs two pods behind a Service, then creates an Ingress of
// the application gateway's class and returns the time until the Ingress
// has the gateway's address (AGIC has written the gateway's configuration
// with the pods' addresses first).
func applyIngress(ctx context.Context, cfg *rest.Config) (time.Duration, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	pw, err := kwatch.Pods(ctx, cfg, "default", "app=bench-web")
	if err != nil {
		return 0, err
	}
	replicas := int32(2)
	labels := map[string]string{"app": "bench-web"}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "bench-web"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}}}, metav1.CreateOptions{}); err != nil {
		pw.Stop()
		return 0, err
	}
	_, err = pw.Until(ctx, 2)
	pw.Stop()
	if err != nil {
		return 0, err
	}
	if _, err := cs.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "bench-web"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	w, err := cs.NetworkingV1().Ingresses("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=bench-web"})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	class := "azure-application-gateway"
	prefix := networkingv1.PathTypePrefix
	start := time.Now()
	if _, err := cs.NetworkingV1().Ingresses("default").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "bench-web"},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "bench-web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	for ev := range w.ResultChan() {
		if ing, ok := ev.Object.(*networkingv1.Ingress); ok && len(ing.Status.LoadBalancer.Ingress) > 0 {
			return time.Since(start), nil
		}
	}
	return 0, fmt.Errorf("ingress watch ended before the gateway address: %v", ctx.Err())
}

// settle waits until every kube-system DaemonSet and Deployment has all its
// pods ready, and returns how long that took.
func settle(ctx context.Context, cfg *rest.Config) (time.Duration, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		dss, err := cs.AppsV1().DaemonSets("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		deps, err := cs.AppsV1().Deployments("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		done := true
		for _, ds := range dss.Items {
			done = done && ds.Status.DesiredNumberScheduled > 0 && ds.Status.NumberReady == ds.Status.DesiredNumberScheduled
		}
		for _, d := range deps.Items {
			done = done && d.Spec.Replicas != nil && d.Status.ReadyReplicas == *d.Spec.Replicas
		}
		return done, nil
	})
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// deployPods creates a Deployment of n replicas and returns the time until
// all its pods are Running.
func deployPods(ctx context.Context, cfg *rest.Config, n int) (time.Duration, error) {
	w, err := kwatch.Pods(ctx, cfg, "default", "app=bench")
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	replicas := int32(n)
	labels := map[string]string{"app": "bench"}
	start := time.Now()
	_, err = cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: "pause:3.10"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	at, err := w.Until(ctx, n)
	if err != nil {
		return 0, err
	}
	return at.Sub(start), nil
}
