package app

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

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
	if m.unit == "" {
		return fmt.Sprintf("%.0f", v)
	}
	return fmtDur(time.Duration(v * float64(time.Second)))
}

// benchClusters measures clusters with real control planes through the ARM
// API, as az drives them, and (with a kwokctl configuration) the same steps
// with kwokctl, in one run.
func benchClusters(ctx context.Context, out, logw io.Writer, o clusterBenchOptions) error {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "bench: "+format+"\n", args...) }
	memAvail := meminfo("MemAvailable")
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	var rows []measure
	b, err := startBench(ctx, 4, true, "")
	if err != nil {
		return err
	}
	defer func() { b.stop() }()
	rg := "/subscriptions/" + b.sub + "/resourcegroups/bench?api-version=2021-04-01"
	if status, _, body, err := b.do(ctx, http.MethodPut, rg, []byte(`{"location":"eastus"}`)); err != nil || status >= 300 {
		return fmt.Errorf("create group: %d %s %v", status, body, err)
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
		cfg, err := b.restConfig(ctx, name)
		if err != nil {
			return err
		}
		w, err := kwatch.Nodes(ctx, cfg)
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
			d, err := exposeService(ctx, cfg)
			if err != nil {
				return err
			}
			add(measure{name: "Service type LoadBalancer → external IP", ours: d.Seconds(), unit: "s"})
			if d, err = applyIngress(ctx, cfg); err != nil {
				return err
			}
			add(measure{name: "Ingress (AGIC) → gateway configured, address on the Ingress", ours: d.Seconds(), unit: "s"})
			continue
		}
		if n == o.sizes[len(o.sizes)-1] && o.pods > 0 {
			// The nodes' DaemonSet pods (five per node) start after the
			// create returns; deploy once they run, on a settled cluster.
			s, err := settle(ctx, cfg)
			if err != nil {
				return err
			}
			add(measure{name: fmt.Sprintf("create → %d nodes' kube-system pods Running", n), ours: (d + s).Seconds(), unit: "s"})
			logf("deploy %d pods on %d nodes", o.pods, n)
			d, err := deployPods(ctx, cfg, o.pods)
			if err != nil {
				return err
			}
			add(measure{name: fmt.Sprintf("Deployment → %d pods Running", o.pods), ours: d.Seconds(), unit: "s"})
			logf("idle %v", o.idle)
			sleepCtx(ctx, o.idle)
			rss, pss := processMemory(b.controlPlanePIDs(name))
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
		sleepCtx(ctx, o.idle)
		rss, pss := processMemory(b.controlPlanePIDs(small))
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
			sleepCtx(ctx, o.idle)
			var pids []int
			for _, n := range names {
				pids = append(pids, b.controlPlanePIDs(n)...)
			}
			_, pss := processMemory(pids)
			per := pss / float64(len(names))
			add(measure{name: fmt.Sprintf("PSS per idle cluster (%d clusters)", len(names)), ours: per, unit: "MiB"})
			if per > 0 && memAvail > 0 {
				add(measure{name: fmt.Sprintf("idle clusters that fit in %.0f MiB available", memAvail), ours: float64(int(memAvail / per)), unit: ""})
			}
			logf("restart serve with %d running clusters", len(names))
			d, err := b.restart(ctx, names)
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
	fmt.Fprintf(tw, "# %s, %d CPUs, Go %s\n", machine(), runtime.NumCPU(), runtime.Version())
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

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (b *benchInstance) clusterPath(name string) string {
	return "/subscriptions/" + b.sub + "/resourceGroups/bench/providers/Microsoft.ContainerService/managedClusters/" + name + "?api-version=2025-10-01"
}

// createCluster PUTs a kubenet cluster of n nodes and waits for its
// operation: Succeeded means the control plane runs and every node is
// Ready.
func (b *benchInstance) createCluster(ctx context.Context, name string, n int, agic bool) (time.Duration, error) {
	addons := ""
	if agic {
		addons = `,"addonProfiles":{"ingressApplicationGateway":{"enabled":true,"config":{"applicationGatewayName":"gw","subnetCIDR":"10.225.0.0/16"}}}`
	}
	body := fmt.Sprintf(`{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"%s",
		"agentPoolProfiles":[{"name":"nodepool1","count":%d,"vmSize":"Standard_D2s_v5","mode":"System"}],
		"networkProfile":{"networkPlugin":"kubenet","podCidr":"10.128.0.0/13"}%s}}`, name, n, addons)
	start := time.Now()
	status, hdr, resp, err := b.do(ctx, http.MethodPut, b.clusterPath(name), []byte(body))
	if err != nil || status != http.StatusCreated {
		return 0, fmt.Errorf("create %s: %d %s %v", name, status, resp, err)
	}
	if err := b.waitOp(ctx, hdr.Get("Azure-AsyncOperation")); err != nil {
		return 0, fmt.Errorf("create %s: %w", name, err)
	}
	return time.Since(start), nil
}

func (b *benchInstance) deleteCluster(ctx context.Context, name string) error {
	status, hdr, resp, err := b.do(ctx, http.MethodDelete, b.clusterPath(name), nil)
	if err != nil || status != http.StatusAccepted {
		return fmt.Errorf("delete %s: %d %s %v", name, status, resp, err)
	}
	return b.waitOp(ctx, hdr.Get("Azure-AsyncOperation"))
}

// waitOp polls an Azure-AsyncOperation URL until the operation ends.
func (b *benchInstance) waitOp(ctx context.Context, aao string) error {
	for {
		status, _, body, err := b.do(ctx, http.MethodGet, aao, nil)
		if err != nil {
			return err
		}
		var st struct {
			Status string `json:"status"`
			Error  any    `json:"error"`
		}
		json.Unmarshal(body, &st) //nolint:errcheck // checked below
		switch st.Status {
		case "Succeeded":
			return nil
		case "Failed", "Canceled":
			return fmt.Errorf("operation %s: %v", st.Status, st.Error)
		}
		if status != http.StatusOK {
			return fmt.Errorf("poll: %d %s", status, body)
		}
		sleepCtx(ctx, 5*time.Millisecond)
	}
}

// restConfig is the cluster's admin kubeconfig from listClusterAdminCredential.
func (b *benchInstance) restConfig(ctx context.Context, name string) (*rest.Config, error) {
	path := strings.Replace(b.clusterPath(name), "?", "/listClusterAdminCredential?", 1)
	status, _, body, err := b.do(ctx, http.MethodPost, path, nil)
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("credentials of %s: %d %s %v", name, status, body, err)
	}
	var res struct {
		Kubeconfigs []struct{ Value string } `json:"kubeconfigs"`
	}
	if err := json.Unmarshal(body, &res); err != nil || len(res.Kubeconfigs) == 0 {
		return nil, fmt.Errorf("credentials of %s: %s", name, body)
	}
	kc, err := base64.StdEncoding.DecodeString(res.Kubeconfigs[0].Value)
	if err != nil {
		return nil, err
	}
	return clientcmd.RESTConfigFromKubeConfig(kc)
}

// controlPlanePIDs finds a cluster's control-plane process.
func (b *benchInstance) controlPlanePIDs(name string) []int {
	status, _, body, err := b.do(context.Background(), http.MethodGet, b.clusterPath(name), nil)
	if err != nil || status != http.StatusOK {
		return nil
	}
	var mc struct {
		Properties struct{ ResourceUID string } `json:"properties"`
	}
	json.Unmarshal(body, &mc) //nolint:errcheck // an empty UID matches nothing
	if mc.Properties.ResourceUID == "" {
		return nil
	}
	return supervisor.Processes(filepath.Join(b.dir, "clusters", mc.Properties.ResourceUID))
}

// restart stops serve and starts it again on the same data dir, and
// returns the time until every named cluster's nodes are Ready again.
func (b *benchInstance) restart(ctx context.Context, names []string) (time.Duration, error) {
	dir := b.dir
	b.keep = true
	b.stop()
	start := time.Now()
	nb, err := startBench(ctx, 4, true, dir)
	if err != nil {
		return 0, err
	}
	*b = *nb
	for _, name := range names {
		cfg, err := b.restConfig(ctx, name)
		if err != nil {
			return 0, err
		}
		cfg.Timeout = 5 * time.Second
		// The API server comes back on its port; wait for it, then for the
		// nodes (a watch needs a server to watch).
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return 0, err
		}
		for {
			if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			sleepCtx(ctx, 20*time.Millisecond)
		}
		w, err := kwatch.Nodes(ctx, cfg)
		if err != nil {
			return 0, err
		}
		_, err = w.Until(ctx, 3)
		w.Stop()
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
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
	for {
		dss, err := cs.AppsV1().DaemonSets("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		deps, err := cs.AppsV1().Deployments("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		done := true
		for _, ds := range dss.Items {
			done = done && ds.Status.DesiredNumberScheduled > 0 && ds.Status.NumberReady == ds.Status.DesiredNumberScheduled
		}
		for _, d := range deps.Items {
			done = done && d.Spec.Replicas != nil && d.Status.ReadyReplicas == *d.Spec.Replicas
		}
		if done {
			return time.Since(start), nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
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

// processMemory sums RSS and PSS (MiB) over processes.
func processMemory(pids []int) (rss, pss float64) {
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			kb, _ := strconv.ParseFloat(fields[1], 64)
			switch fields[0] {
			case "Rss:":
				rss += kb / 1024
			case "Pss:":
				pss += kb / 1024
			}
		}
		f.Close()
	}
	return rss, pss
}

// meminfo reads a /proc/meminfo field in MiB.
func meminfo(field string) float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// machine describes the machine the benchmark ran on.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %.0f GiB RAM", model, meminfo("MemTotal")/1024)
}

// benchKwok runs the same steps with kwokctl (binary runtime, the
// configuration file names the component binaries) and fills in the peer
// column of rows: per size a new cluster (kwokctl create cluster, then
// scale node to the size), as each of localaks's is a new cluster.
func benchKwok(ctx context.Context, logf func(string, ...any), o clusterBenchOptions, rows []measure) error {
	set := func(name string, v float64) {
		logf("kwokctl: %s: %.3f", name, v)
		for i := range rows {
			if rows[i].name == name {
				rows[i].peer, rows[i].hasPeer = v, true
			}
		}
	}
	for i, n := range o.sizes {
		last := i == len(o.sizes)-1
		if err := kwokCluster(ctx, logf, o, n, i == 0, last && o.pods > 0, set); err != nil {
			return err
		}
	}
	return nil
}

// kwokCluster creates one kwokctl cluster with n nodes and measures it.
func kwokCluster(ctx context.Context, logf func(string, ...any), o clusterBenchOptions, n int, idle, pods bool, set func(string, float64)) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "localaks-bench-kwok-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	kubeconfig := filepath.Join(work, "kubeconfig")
	kwokctl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "kwokctl", append([]string{"-c", o.kwokConfig, "--name", "bench"}, args...)...)
		cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kwokctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	logf("kwokctl: create a cluster for %d nodes", n)
	start := time.Now()
	if err := kwokctl("create", "cluster", "--kubeconfig", kubeconfig); err != nil {
		return err
	}
	defer kwokctl("delete", "cluster", "--kubeconfig", kubeconfig) //nolint:errcheck // best effort
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(work, "clusters", "bench", "kubeconfig.yaml"))
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for {
		if b, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err == nil && string(b) == "ok" {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	w, err := kwatch.Nodes(ctx, cfg)
	if err != nil {
		return err
	}
	defer w.Stop()
	if err := kwokctl("scale", "node", "--replicas", strconv.Itoa(n)); err != nil {
		return err
	}
	if _, err := w.Until(ctx, n); err != nil {
		return err
	}
	set(fmt.Sprintf("create → %d nodes Ready", n), time.Since(start).Seconds())
	pids := func() []int {
		var out []int
		files, _ := filepath.Glob(filepath.Join(work, "clusters", "bench", "pids", "*.pid"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				out = append(out, pid)
			}
		}
		return out
	}
	if idle {
		logf("kwokctl: idle %v", o.idle)
		sleepCtx(ctx, o.idle)
		rss, pss := processMemory(pids())
		set("RSS per idle cluster (one cluster)", rss)
		set("PSS per idle cluster (one cluster)", pss)
	}
	if pods {
		logf("kwokctl: deploy %d pods", o.pods)
		d, err := deployPods(ctx, cfg, o.pods)
		if err != nil {
			return err
		}
		set(fmt.Sprintf("Deployment → %d pods Running", o.pods), d.Seconds())
		logf("kwokctl: idle %v", o.idle)
		sleepCtx(ctx, o.idle)
		rss, pss := processMemory(pids())
		set(fmt.Sprintf("RSS at %d nodes + %d pods, idle", n, o.pods), rss)
		set(fmt.Sprintf("PSS at %d nodes + %d pods, idle", n, o.pods), pss)
	}
	return nil
}
