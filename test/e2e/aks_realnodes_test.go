package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/ingressnginx"
	"github.com/localaks/localaks/internal/nodehost"
)

// needRealNodes skips the test when this host cannot run real nodes,
// unless the run requires them (CI sets LOCALAKS_E2E_REQUIRE_REAL_NODES=1).
func needRealNodes(t *testing.T) {
	t.Helper()
	needHost(t, nodehost.Missing(), "this host cannot run real nodes: it lacks %s")
}

// needHost skips (or fails, when real nodes are required) a test when the
// host lacks what missing lists; why says so, with %s for the list.
func needHost(t *testing.T, missing []string, why string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	if os.Getenv("LOCALAKS_E2E_REQUIRE_REAL_NODES") != "" {
		t.Fatalf(why, strings.Join(missing, "; "))
	}
	t.Skipf(why+"; skipping", strings.Join(missing, "; "))
}

// needManagedNginx skips (or fails, when real nodes are required) a test
// of app routing's managed NGINX on a host without Debian's nginx.
func needManagedNginx(t *testing.T) {
	t.Helper()
	needHost(t, ingressnginx.MissingPackages(), "the managed NGINX needs Debian's %s")
}

// fabrics are the virtual networks' namespaces a test's clusters made
// (other tests' run beside them).
type fabrics map[string]bool

// track records the namespace that answers for a cluster's API server
// address (the `kubernetes` endpoint): its virtual network's.
func (f fabrics) track(t *testing.T, kc string) {
	t.Helper()
	ip := mustKubectl(t, kc, "get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[0].addresses[0].ip}")
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "lak-") {
			continue
		}
		out, err := exec.Command("ip", "-n", e.Name(), "-4", "addr", "show", "dev", "lo").CombinedOutput()
		if err == nil && strings.Contains(string(out), " "+ip+"/32") {
			f[e.Name()] = true
			return
		}
	}
	t.Fatalf("no virtual network namespace answers for %s", ip)
}

// clusterUIDs lists a data dir's cluster directories.
func clusterUIDs(dataDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dataDir, "clusters"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// realNodeLeftovers lists what real nodes of a data dir (clusters uids)
// left on the host: node processes, the clusters' network namespaces,
// cgroups, mounts, and any link or iptables chain of theirs in the host's
// namespace.
func realNodeLeftovers(dataDir string, uids []string, ours fabrics) []string {
	var left []string
	for _, p := range nodehost.NodeProcesses(dataDir) {
		left = append(left, fmt.Sprintf("process %d: node %s (%s)", p.PID, filepath.Base(p.Dir), p.Role))
	}
	for name := range ours {
		if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
			left = append(left, "network namespace "+name)
		}
	}
	for _, u := range uids {
		cg, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/localaks", u))
		for _, c := range cg {
			left = append(left, "cgroup "+c)
		}
	}
	// Nothing of a node's network is ever made in the host's namespace:
	// no NIC, bridge or veth of ours, no kube-proxy or CNI chain.
	if ifaces, err := net.Interfaces(); err == nil {
		for _, i := range ifaces {
			for _, prefix := range []string{"nic-", "sn-", "eth0-", "cbr0"} {
				if strings.HasPrefix(i.Name, prefix) {
					left = append(left, "host link "+i.Name)
				}
			}
		}
	}
	if out, err := exec.Command("iptables-save").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, ":KUBE-") || strings.HasPrefix(line, ":CNI-") {
				left = append(left, "host iptables chain "+strings.Fields(line)[0])
			}
		}
	}
	if raw, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, dataDir) {
				left = append(left, "mount "+line)
			}
		}
	}
	return left
}

// nodeProcess finds a node's process with the given role ("main": the
// kubelet's).
func nodeProcess(t *testing.T, dataDir, node, role string) int {
	t.Helper()
	for _, p := range nodehost.NodeProcesses(dataDir) {
		if filepath.Base(p.Dir) == node && p.Role == role {
			return p.PID
		}
	}
	t.Fatalf("no %s process of node %s", role, node)
	return 0
}

// removeRealNodeLeftovers cleans up after a test that failed midway (serve
// killed: its nodes die with it, their namespaces' pins and cgroups stay).
func removeRealNodeLeftovers(t *testing.T, dataDir string, ours fabrics) {
	for name := range ours {
		if _, err := os.Stat(filepath.Join("/run/netns", name)); err != nil {
			continue
		}
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Logf("remove network namespace %s: %v: %s", name, err, out)
		}
	}
	// The nodes' processes die with serve, but not at once: a cgroup with
	// a process still in it cannot be removed, so try again until the
	// trees are gone (or give up after a while, saying so).
	uids, _ := os.ReadDir(filepath.Join(dataDir, "clusters"))
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range uids {
		for {
			tops, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/localaks", u.Name()))
			if len(tops) == 0 {
				break
			}
			for _, top := range tops {
				var dirs []string
				filepath.Walk(top, func(p string, info os.FileInfo, err error) error { //nolint:errcheck // best effort
					if err == nil && info.IsDir() {
						dirs = append(dirs, p)
					}
					return nil
				})
				for i := len(dirs) - 1; i >= 0; i-- {
					os.Remove(dirs[i]) //nolint:errcheck // retried until gone
				}
			}
			if time.Now().After(deadline) {
				t.Logf("cgroups of cluster %s left: %v", u.Name(), tops)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// routeTo finds the route of the node resource group's route table whose
// prefix holds ip, and returns its ID and a PUT body that recreates it.
func (s *serve) routeTo(t *testing.T, nodeRG, ip string) (string, string) {
	t.Helper()
	_, _, body := s.request("GET", s.sub()+"/resourceGroups/"+nodeRG+"/providers/Microsoft.Network/routeTables?api-version=2024-07-01", "")
	tables, _ := body["value"].([]any)
	addr := netip.MustParseAddr(ip)
	for _, tbl := range tables {
		id := tbl.(map[string]any)["id"].(string)
		_, _, routes := s.request("GET", id+"/routes?api-version=2024-07-01", "")
		list, _ := routes["value"].([]any)
		for _, r := range list {
			rm := r.(map[string]any)
			props := rm["properties"].(map[string]any)
			if p, err := netip.ParsePrefix(fmt.Sprint(props["addressPrefix"])); err == nil && p.Contains(addr) {
				b, _ := json.Marshal(map[string]any{"properties": map[string]any{
					"addressPrefix": props["addressPrefix"], "nextHopType": props["nextHopType"], "nextHopIpAddress": props["nextHopIpAddress"]}})
				return rm["id"].(string), string(b)
			}
		}
	}
	t.Fatalf("no route in %s's route tables holds %s", nodeRG, ip)
	return "", ""
}

// freeLoopbackPort is a loopback TCP port free a moment ago.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// startRealNodes skips without az or real nodes, else starts serve on dir
// with the test images built; what its clusters leave is removed at the end.
func startRealNodes(t *testing.T, dir string, args ...string) (*serve, fabrics, string) {
	t.Helper()
	needAz(t)
	needRealNodes(t)
	ours := fabrics{}
	// Registered first, so it runs last: after serve has stopped and its
	// nodes are gone (their cgroups can go then).
	t.Cleanup(func() { removeRealNodeLeftovers(t, dir, ours) })
	s := startServe(t, dir, args...)
	return s, ours, testImages(t)
}

// deleteLeavesNothing deletes clusters in rg1 with az and waits until their
// real nodes have left nothing on the host.
func (s *serve) deleteLeavesNothing(t *testing.T, ours fabrics, clusters ...string) {
	t.Helper()
	uids := clusterUIDs(s.dataDir)
	for _, c := range clusters {
		mustAz(t, s.localaksAz("aks", "delete", "-g", "rg1", "-n", c, "--yes"))
	}
	eventually(t, "leftovers after delete", 30*time.Second, func() string {
		if left := realNodeLeftovers(s.dataDir, uids, ours); len(left) > 0 {
			return strings.Join(left, "\n")
		}
		return ""
	})
}

// testImages builds the test images (test/images) once for all tests,
// with the environment's Go caches (runCmd would give the go command an
// empty HOME, so empty caches).
func testImages(t *testing.T) string {
	t.Helper()
	images.once.Do(func() {
		dir := filepath.Join(filepath.Dir(binary), "images") // removed with the binary
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "run", "./test/images", "-o", dir)
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			images.err = fmt.Errorf("build test images: %v: %s", err, out)
			return
		}
		images.dir = dir
	})
	if images.err != nil {
		t.Fatal(images.err)
	}
	return images.dir
}

// images are the test images, built once.
var images struct {
	once sync.Once
	dir  string
	err  error
}

// deployHello loads the test image onto cluster (in rg1) with `localaks
// image load`, runs it as Deployment web with replicas, waits for the
// rollout, and returns what image load said.
func (s *serve) deployHello(t *testing.T, kc, cluster, images string, replicas int) string {
	t.Helper()
	load := runCmd(t, nil, binary, "image", "load", "--data-dir", s.dataDir, "-g", "rg1", "-n", cluster, filepath.Join(images, "hello.tar"))
	if load.code != 0 {
		t.Fatalf("image load: exit %d\n%s%s", load.code, load.stdout, load.stderr)
	}
	mustKubectl(t, kc, "create", "deployment", "web", "--image=localaks.test/hello:v1", fmt.Sprintf("--replicas=%d", replicas))
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=90s")
	return load.stdout
}

// systemWorkloadsRun waits until every kube-system pod of a cluster with
// real nodes is running and ready: its images are the nodes' own.
func systemWorkloadsRun(t *testing.T, kc string) {
	t.Helper()
	eventually(t, "kube-system pods ready", 90*time.Second, func() string {
		out := mustKubectl(t, kc, "get", "pods", "-n", "kube-system", "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.phase} {range .status.containerStatuses[*]}{.ready}/{.state.waiting.reason} {end}{"\n"}{end}`)
		var bad []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 || f[1] != "Running" {
				bad = append(bad, line)
				continue
			}
			for _, c := range f[2:] {
				if c != "true/" {
					bad = append(bad, line)
					break
				}
			}
		}
		return strings.Join(bad, "\n")
	})
}

// byServiceName has pod fetch from Service web by its DNS name (CoreDNS
// answers, kube-proxy carries the ClusterIP) until a web pod answers.
func byServiceName(t *testing.T, kc, pod string) {
	t.Helper()
	mustKubectl(t, kc, "expose", "deployment", "web", "--port=80", "--target-port=8080")
	for _, url := range []string{"http://web/", "http://web.default.svc.cluster.local/"} {
		eventually(t, "Service by name "+url, 30*time.Second, func() string {
			r := kubectl(t, kc, "exec", pod, "--", "/hello", "get", url)
			if r.code == 0 && strings.HasPrefix(r.stdout, "hello from web-") {
				return ""
			}
			return r.stdout + r.stderr
		})
	}
}

// topPods waits until metrics-server reports the web pods' usage.
func topPods(t *testing.T, kc string) {
	t.Helper()
	eventually(t, "kubectl top pods", 90*time.Second, func() string {
		r := kubectl(t, kc, "top", "pods", "-l", "app=web", "--no-headers")
		if r.code == 0 && strings.Contains(r.stdout, "web-") && strings.Contains(r.stdout, "Mi") {
			return ""
		}
		return r.stdout + r.stderr
	})
}

// watchEgress puts serve (and so every process it starts later: the
// control planes, the node processes) in a cgroup of its own, and has
// iptables count each packet such a process sends from the host's network
// namespace other than on loopback (a node's namespaces have their own
// chains: what stays in the virtual network is not counted). When the test
// ends the count must be 0: no DNS query, no connection off loopback.
func (s *serve) watchEgress(t *testing.T) {
	t.Helper()
	root := "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		root = filepath.Join(root, "unified") // cgroup v1 beside v2 (hybrid)
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		t.Fatalf("no cgroup v2 hierarchy to watch serve's packets from: %v", err)
	}
	name := fmt.Sprintf("localaks-e2e-egress-%d", s.cmd.Process.Pid)
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(s.cmd.Process.Pid)), 0o644); err != nil {
		os.Remove(dir) //nolint:errcheck // best effort
		t.Fatal(err)
	}
	rule := []string{"OUTPUT", "-m", "cgroup", "--path", name, "!", "-o", "lo", "-j", "RETURN"}
	tools := []string{"iptables", "ip6tables"}
	for _, ipt := range tools {
		if out, err := exec.Command(ipt, append([]string{"-w", "-I"}, rule...)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", ipt, err, out)
		}
	}
	t.Cleanup(func() {
		for _, ipt := range tools {
			out, err := exec.Command(ipt, "-w", "-L", "OUTPUT", "-v", "-n", "-x").CombinedOutput()
			if err != nil {
				t.Errorf("%s -L: %v: %s", ipt, err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); strings.Contains(line, "cgroup "+name) && len(f) > 1 && f[0] != "0" {
					t.Errorf("%s packets (%s bytes) left the host off loopback from serve or a process it started (%s)", f[0], f[1], ipt)
				}
			}
			if out, err := exec.Command(ipt, append([]string{"-w", "-D"}, rule...)...).CombinedOutput(); err != nil {
				t.Errorf("%s -D: %v: %s", ipt, err, out)
			}
		}
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, pid := range strings.Fields(string(procs)) {
			os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(pid), 0o644) //nolint:errcheck // it may have ended
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove the watch cgroup: %v", err)
		}
	})
}

// eventually retries fn until it returns "", or fails t with its last
// answer.
func eventually(t *testing.T, what string, timeout time.Duration, fn func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := fn()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAzRealNodes: a pool tagged localaks.io/nodes=real gets real nodes
// (kubelet + containerd): an image loaded with `localaks image load` runs,
// kubectl logs, exec, cp and port-forward reach its pods through the API
// server's tunnel, pods reach each other across nodes by pod IP (the route
// table's routes) and by ClusterIP (kube-proxy); a simulated pool beside it
// answers logs honestly; the mode cannot change; deleting the cluster
// leaves no process, namespace, cgroup or mount behind; and no packet of
// serve's or its children's leaves loopback all the while.
func TestAzRealNodes(t *testing.T) {
	t.Parallel()
	s, ours, images := startRealNodes(t, t.TempDir())
	s.watchEgress(t)

	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "2", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	ns := nodes(t, kc)
	if len(ns) != 2 {
		t.Fatalf("%d nodes, want 2", len(ns))
	}
	for _, n := range ns {
		if !n.ready() || !strings.HasPrefix(n.Metadata.Name, "aks-nodepool1-") || n.Metadata.Labels["kubernetes.azure.com/agentpool"] != "nodepool1" || n.Spec.PodCIDR == "" {
			t.Errorf("node %s: ready %v, labels %v, podCIDR %q", n.Metadata.Name, n.ready(), n.Metadata.Labels, n.Spec.PodCIDR)
		}
		ann := mustKubectl(t, kc, "get", "node", n.Metadata.Name, "-o", `jsonpath={.metadata.annotations.kwok\.x-k8s\.io/node}`)
		if ann != "" {
			t.Errorf("node %s is marked simulated (%q)", n.Metadata.Name, ann)
		} // A Standard_DS2_v2's machine, less what AKS reserves, as a
		// simulated node of the size has.
		c, a := n.Status.Capacity, n.Status.Allocatable
		if c["cpu"] != "2" || c["memory"] != "7Gi" || a["cpu"] != "1900m" || a["memory"] != "5276Mi" {
			t.Errorf("node %s: capacity %v, allocatable %v", n.Metadata.Name, c, a)
		}
	}

	if load := s.deployHello(t, kc, "c1", images, 4); !strings.Contains(load, "onto 2 running real node(s)") {
		t.Fatalf("image load: %s", load)
	}
	web := pods(t, kc, "-l", "app=web")
	byNode := map[string]k8sPod{}
	for _, p := range web {
		byNode[p.Spec.NodeName] = p
	}
	if len(byNode) != 2 {
		t.Fatalf("web pods on %d nodes, want both: %v", len(byNode), web)
	}
	var a, b k8sPod
	for _, p := range byNode {
		if a.Metadata.Name == "" {
			a = p
		} else {
			b = p
		}
	}

	if out := mustKubectl(t, kc, "logs", a.Metadata.Name); !strings.Contains(out, "hello "+a.Metadata.Name+" listening on :8080") {
		t.Errorf("logs of %s: %q", a.Metadata.Name, out)
	}
	// Across nodes by pod IP: the fabric routes b's node's /24 as the route
	// table says.
	if out := mustKubectl(t, kc, "exec", a.Metadata.Name, "--", "/hello", "get", "http://"+b.Status.PodIP+":8080/"); out != "hello from "+b.Metadata.Name+"\n" {
		t.Errorf("%s → %s (%s): %q", a.Metadata.Name, b.Metadata.Name, b.Status.PodIP, out)
	}
	// The route table is the fabric's: delete b's node's route with az and
	// a cannot reach b's pods; put it back and it can.
	route, routeBody := s.routeTo(t, "MC_rg1_c1_eastus", b.Status.PodIP)
	routeURL := s.URL + route + "?api-version=2024-07-01"
	mustAz(t, s.localaksAz("rest", "--method", "delete", "--url", routeURL))
	reach := func(want bool) func() string {
		return func() string {
			r := kubectl(t, kc, "exec", a.Metadata.Name, "--", "/hello", "get", "http://"+b.Status.PodIP+":8080/")
			if (r.code == 0) == want {
				return ""
			}
			return fmt.Sprintf("reachable %v, want %v: %s%s", r.code == 0, want, r.stdout, r.stderr)
		}
	}
	eventually(t, "pod "+b.Status.PodIP+" after its route was deleted", 30*time.Second, reach(false))
	mustAz(t, s.localaksAz("rest", "--method", "put", "--url", routeURL, "--body", routeBody))
	eventually(t, "pod "+b.Status.PodIP+" after its route came back", 30*time.Second, reach(true))

	// The system workloads run on the real nodes: CoreDNS resolves the
	// Service's name, metrics-server serves kubectl top.
	systemWorkloadsRun(t, kc)
	byServiceName(t, kc, a.Metadata.Name)
	svc := mustKubectl(t, kc, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
	eventually(t, "ClusterIP "+svc, 30*time.Second, func() string {
		r := kubectl(t, kc, "exec", a.Metadata.Name, "--", "/hello", "get", "http://"+svc+"/")
		if r.code == 0 && strings.HasPrefix(r.stdout, "hello from web-") {
			return ""
		}
		return r.stdout + r.stderr
	})
	topPods(t, kc)
	if out := mustKubectl(t, kc, "top", "nodes", "--no-headers"); strings.Count(out, "aks-nodepool1-") != 2 {
		t.Errorf("kubectl top nodes: %q", out)
	}

	// cp, both ways: kubectl runs tar in the container through exec.
	local := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(local, []byte("through the tunnel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, kc, "cp", local, a.Metadata.Name+":/tmp/note.txt")
	back := filepath.Join(t.TempDir(), "back.txt")
	mustKubectl(t, kc, "cp", a.Metadata.Name+":/tmp/note.txt", back)
	if got, err := os.ReadFile(back); err != nil || string(got) != "through the tunnel\n" {
		t.Errorf("kubectl cp round trip: %q, %v", got, err)
	}

	// port-forward: the tunnel carries the stream to the kubelet.
	port := freeLoopbackPort(t)
	pf := exec.Command("kubectl", "--kubeconfig", kc, "port-forward", "pod/"+b.Metadata.Name, port+":8080")
	if _, err := exec.LookPath("kubectl"); err != nil {
		pf = exec.Command(binary, "kubectl", "--kubeconfig", kc, "port-forward", "pod/"+b.Metadata.Name, port+":8080")
	}
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pf.Process.Kill(); pf.Wait() }) //nolint:errcheck // a test's helper
	eventually(t, "port-forward", 30*time.Second, func() string {
		res, err := http.Get("http://127.0.0.1:" + port + "/")
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if string(body) != "hello from "+b.Metadata.Name+"\n" {
			return fmt.Sprintf("%q", body)
		}
		return ""
	})

	// kill -9 of a node's kubelet (the node process): the control plane
	// restarts the node, its pods come back and answer.
	restarts := func(pod string) string {
		return mustKubectl(t, kc, "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
	}
	before0 := restarts(b.Metadata.Name)
	main := nodeProcess(t, s.dataDir, b.Spec.NodeName, "main")
	if err := syscall.Kill(main, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod "+b.Metadata.Name+" back after its node's kubelet was killed", 90*time.Second, func() string {
		if restarts(b.Metadata.Name) == before0 {
			return "not restarted"
		}
		ip := mustKubectl(t, kc, "get", "pod", b.Metadata.Name, "-o", "jsonpath={.status.podIP}")
		r := kubectl(t, kc, "exec", a.Metadata.Name, "--", "/hello", "get", "http://"+ip+":8080/")
		if r.code != 0 || r.stdout != "hello from "+b.Metadata.Name+"\n" {
			return r.stdout + r.stderr
		}
		return ""
	})

	// Scale out and in: nodes come and go with their processes.
	mustAz(t, s.localaksAz("aks", "nodepool", "scale", "-g", "rg1", "--cluster-name", "c1", "-n", "nodepool1", "--node-count", "3"))
	if n := len(nodes(t, kc)); n != 3 {
		t.Errorf("%d nodes after scaling to 3", n)
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "scale", "-g", "rg1", "--cluster-name", "c1", "-n", "nodepool1", "--node-count", "1"))
	eventually(t, "node processes after scaling to 1", 30*time.Second, func() string {
		n := 0
		for _, p := range nodehost.NodeProcesses(s.dataDir) {
			if p.Role == "init" {
				n++
			}
		}
		if n != 1 {
			return fmt.Sprintf("%d node processes", n)
		}
		return ""
	})

	// A simulated pool beside the real one: its pods answer honestly.
	mustAz(t, s.localaksAz("aks", "nodepool", "add", "-g", "rg1", "--cluster-name", "c1", "-n", "sim", "--node-count", "1"))
	mustKubectl(t, kc, "run", "simpod", "--image=localaks.test/hello:v1", `--overrides={"spec":{"nodeSelector":{"agentpool":"sim"}}}`)
	mustKubectl(t, kc, "wait", "--for=condition=Ready", "pod/simpod", "--timeout=60s")
	if r := kubectl(t, kc, "logs", "simpod"); r.code == 0 || !strings.Contains(r.stderr, "is simulated (KWOK)") {
		t.Errorf("logs of a simulated pod: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The node mode is fixed at creation.
	r := s.localaksAz("aks", "nodepool", "update", "-g", "rg1", "--cluster-name", "c1", "-n", "nodepool1", "--tags", "localaks.io/nodes=simulated")
	if r.code == 0 || !strings.Contains(r.stderr, "PropertyChangeNotAllowed") {
		t.Errorf("changing the node mode: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	s.deleteLeavesNothing(t, ours, "c1")
}

// TestRealNodesNetworkModels: Azure CNI (pods on their node's
// pre-allocated subnet addresses) and CNI Overlay (a /24 of the overlay
// range per node) carry pod traffic across real nodes, with two clusters
// side by side whose virtual networks use the same address space (each is
// its own namespace).
func TestRealNodesNetworkModels(t *testing.T) {
	t.Parallel()
	s, ours, images := startRealNodes(t, t.TempDir())
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	// Azure CNI with az; overlay through the REST API (Debian's az 2.45 has
	// no --network-plugin-mode).
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "cni", "--node-count", "2", "--network-plugin", "azure", "--nodepool-tags", "localaks.io/nodes=real"))
	overlay := `{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"overlay",
		"agentPoolProfiles":[{"name":"nodepool1","count":2,"vmSize":"Standard_D2s_v5","mode":"System","tags":{"localaks.io/nodes":"real"}}],
		"networkProfile":{"networkPlugin":"azure","networkPluginMode":"overlay","podCidr":"192.168.0.0/16"}}}`
	code, hdr, body := s.request("PUT", s.sub()+"/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/overlay?api-version=2025-10-01", overlay)
	if code != http.StatusCreated {
		t.Fatalf("create overlay cluster: %d %v", code, body)
	}
	if st := s.waitOperation(hdr.Get("Azure-AsyncOperation")); st != "Succeeded" {
		t.Fatalf("overlay cluster create: %s", st)
	}
	for _, tc := range []struct{ cluster, podRange string }{{"cni", "10.224.0.0/16"}, {"overlay", "192.168.0.0/16"}} {
		kc := s.credentials(t, "rg1", tc.cluster, "--admin")
		ours.track(t, kc)
		s.deployHello(t, kc, tc.cluster, images, 4)
		web := pods(t, kc, "-l", "app=web")
		onNodes := map[string]bool{}
		for _, p := range web {
			onNodes[p.Spec.NodeName] = true
			if !netip.MustParsePrefix(tc.podRange).Contains(netip.MustParseAddr(p.Status.PodIP)) {
				t.Errorf("%s: pod %s has %s, outside %s", tc.cluster, p.Metadata.Name, p.Status.PodIP, tc.podRange)
			}
		}
		if len(onNodes) != 2 {
			t.Fatalf("%s: pods on %d nodes, want 2", tc.cluster, len(onNodes))
		}
		for _, p := range web {
			if out := mustKubectl(t, kc, "exec", web[0].Metadata.Name, "--", "/hello", "get", "http://"+p.Status.PodIP+":8080/"); out != "hello from "+p.Metadata.Name+"\n" {
				t.Errorf("%s: %s → %s (%s on %s): %q", tc.cluster, web[0].Metadata.Name, p.Metadata.Name, p.Status.PodIP, p.Spec.NodeName, out)
			}
		}
		systemWorkloadsRun(t, kc)
		byServiceName(t, kc, web[0].Metadata.Name)
	}
	s.deleteLeavesNothing(t, ours, "cni", "overlay")
}

// containerFaults: on a real node, an image that is nowhere and a loaded
// image pulled Always fail as containerd fails to pull (no registry is
// reachable); a container that crashes goes into CrashLoopBackOff with its
// previous run's log kept; one over its memory limit is OOMKilled.
func containerFaults(t *testing.T, kc string) {
	t.Helper()
	mustKubectl(t, kc, "run", "missing", "--image=localaks.test/missing:v1", "--restart=Never")
	mustKubectl(t, kc, "run", "always", "--image=localaks.test/hello:v1", "--image-pull-policy=Always", "--restart=Never")
	mustKubectl(t, kc, "run", "crash", "--image=localaks.test/hello:v1", "--restart=Always", "--", "get", "http://127.0.0.1:1/")
	mustKubectl(t, kc, "run", "oom", "--image=localaks.test/hello:v1", "--restart=Never",
		`--overrides={"spec":{"containers":[{"name":"oom","image":"localaks.test/hello:v1","args":["eat","256"],"resources":{"limits":{"memory":"32Mi"}}}]}}`)
	status := func(pod, path string) string {
		return kubectl(t, kc, "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0]"+path+"}").stdout
	}
	for _, pod := range []string{"missing", "always"} {
		eventually(t, pod+" fails to pull", 60*time.Second, func() string {
			reason, msg := status(pod, ".state.waiting.reason"), status(pod, ".state.waiting.message")
			if (reason == "ErrImagePull" || reason == "ImagePullBackOff") && strings.Contains(msg, "localaks.test/") {
				return ""
			}
			return reason + ": " + msg
		})
	}
	// One read of both (two reads can straddle a restart); the kubelet of a
	// loaded machine can take minutes to get to the second crash.
	eventually(t, "crash in CrashLoopBackOff", 3*time.Minute, func() string {
		got := status("crash", ".state.waiting.reason}/{.status.containerStatuses[0].restartCount")
		if reason, restarts, _ := strings.Cut(got, "/"); reason != "CrashLoopBackOff" || restarts == "0" || restarts == "" {
			return got
		}
		return ""
	})
	// The previous run's log; a restart between the two reads can leave
	// the kubelet naming a container it has just removed, so read again
	// until one answers.
	eventually(t, "logs --previous of the crashed container", 60*time.Second, func() string {
		if r := kubectl(t, kc, "logs", "crash", "--previous"); !strings.Contains(r.stdout+r.stderr, "connection refused") {
			return fmt.Sprintf("%q %q", r.stdout, r.stderr)
		}
		return ""
	})
	// Killed by the kernel's OOM killer (SIGKILL: 137). containerd 1.6 on
	// cgroup v1 can miss the cgroup's OOM event when the machine is loaded
	// and then reports the kill as Error; the kill itself is the test.
	eventually(t, "oom OOMKilled", 60*time.Second, func() string {
		reason, code := status("oom", ".state.terminated.reason"), status("oom", ".state.terminated.exitCode")
		switch {
		case reason == "OOMKilled":
			return ""
		case reason == "Error" && code == "137":
			t.Logf("oom was killed (137), but containerd reported %s, not OOMKilled", reason)
			return ""
		}
		return reason + " " + code
	})
	mustKubectl(t, kc, "delete", "pod", "missing", "always", "crash", "oom", "--wait=false")
}

// TestRealNodesServeKilled: kill -9 of serve takes the real nodes with it
// (no node process outlives it); the next serve brings them back on the
// same data dir, their images kept, and a delete then leaves nothing.
func TestRealNodesServeKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pool := []string{"--public-ip-pool", "127.233.0.0/16"}
	s, ours, images := startRealNodes(t, dir, pool...)
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "1", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	s.deployHello(t, kc, "c1", images, 1)
	containerFaults(t, kc)
	mustKubectl(t, kc, "expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080")
	url := "http://" + externalIP(t, kc, "web") + "/"
	eventually(t, "the load balancer answers", 60*time.Second, func() string {
		if a := getFrom(url); !strings.HasPrefix(a, "hello from web-") {
			return a
		}
		return ""
	})

	// Killed while requests flow: the frontend goes with serve (nothing
	// listens on its address any more, no listener outlives it).
	flowing := make(chan struct{})
	go func() {
		defer close(flowing)
		for range 200 {
			getFrom(url)
		}
	}()
	s.kill(syscall.SIGKILL)
	<-flowing
	eventually(t, "node processes after serve was killed", 10*time.Second, func() string {
		if n := len(nodehost.NodeProcesses(dir)); n > 0 {
			return fmt.Sprintf("%d node processes outlive serve", n)
		}
		return ""
	})
	if a := getFrom(url); !strings.Contains(a, "connection refused") {
		t.Errorf("the frontend after serve was killed: %s", a)
	}
	s = startServe(t, dir, pool...)
	untilAPI(t, kc)
	eventually(t, "the pod back on its restarted node", 90*time.Second, func() string {
		web := pods(t, kc, "-l", "app=web")
		if len(web) != 1 || web[0].Status.Phase != "Running" {
			return fmt.Sprintf("%v", web)
		}
		if r := kubectl(t, kc, "logs", web[0].Metadata.Name); r.code != 0 || !strings.Contains(r.stdout, "listening on :8080") {
			return r.stdout + r.stderr
		}
		return ""
	})
	s.deleteLeavesNothing(t, ours, "c1")
}

// TestRealNodesUpgradeStopStart: an upgrade reimages real nodes one by one
// (drained, a new OS disk, back at the pool's new version); stop takes the
// nodes' processes away and start brings them back with their pods; a
// delete then leaves nothing.
func TestRealNodesUpgradeStopStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, ours, images := startRealNodes(t, dir)
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "2", "-k", "1.35.4", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	s.deployHello(t, kc, "c1", images, 2)
	versions := func() string {
		return mustKubectl(t, kc, "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.nodeInfo.kubeletVersion} {end}`)
	}
	if v := versions(); v != "v1.35.4 v1.35.4 " {
		t.Fatalf("kubelet versions before the upgrade: %q", v)
	}
	webAnswers := func() string {
		web := pods(t, kc, "-l", "app=web")
		if len(web) != 2 {
			return fmt.Sprintf("%d web pods", len(web))
		}
		for _, p := range web {
			if p.Status.Phase != "Running" {
				return p.Metadata.Name + " is " + p.Status.Phase
			}
			if r := kubectl(t, kc, "logs", p.Metadata.Name); r.code != 0 || !strings.Contains(r.stdout, "listening on :8080") {
				return r.stdout + r.stderr
			}
		}
		return ""
	}

	mustAz(t, s.localaksAz("aks", "upgrade", "-g", "rg1", "-n", "c1", "-k", "1.36.3", "--yes"))
	if v := versions(); v != "v1.36.3 v1.36.3 " {
		t.Errorf("kubelet versions after the upgrade: %q", v)
	}
	for _, n := range nodes(t, kc) {
		if !n.ready() || n.Spec.Unschedulable {
			t.Errorf("node %s after the upgrade: ready %v, unschedulable %v", n.Metadata.Name, n.ready(), n.Spec.Unschedulable)
		}
	}
	eventually(t, "web pods after the upgrade", 90*time.Second, webAnswers)

	mustAz(t, s.localaksAz("aks", "stop", "-g", "rg1", "-n", "c1"))
	if n := len(nodehost.NodeProcesses(dir)); n > 0 {
		t.Errorf("%d node processes run in a stopped cluster", n)
	}
	mustAz(t, s.localaksAz("aks", "start", "-g", "rg1", "-n", "c1"))
	eventually(t, "web pods after start", 90*time.Second, webAnswers)
	systemWorkloadsRun(t, kc)
	s.deleteLeavesNothing(t, ours, "c1")
}
