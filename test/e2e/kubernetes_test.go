package e2e

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/nodehost"
	"github.com/localaks/localaks/internal/supervisor"
)

// kubectl runs kubectl against a kubeconfig: the machine's kubectl when
// there is one, else the kubectl built into localaks.
func kubectl(t *testing.T, kubeconfig string, args ...string) azResult {
	t.Helper()
	args = append([]string{"--kubeconfig", kubeconfig}, args...)
	if _, err := exec.LookPath("kubectl"); err == nil {
		return runCmd(t, nil, "kubectl", args...)
	}
	return runCmd(t, nil, binary, append([]string{"kubectl"}, args...)...)
}

func mustKubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	r := kubectl(t, kubeconfig, args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// credentials writes the cluster's kubeconfig (az aks get-credentials) and
// returns its path.
func (s *serve) credentials(t *testing.T, rg, name string, extra ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	mustAz(t, s.localaksAz(append([]string{"aks", "get-credentials", "-g", rg, "-n", name, "--file", path}, extra...)...))
	return path
}

// smallCluster creates group rg with a two-node cluster c1 in eastus and
// returns its kubeconfig.
func (s *serve) smallCluster(t *testing.T, rg string) string {
	t.Helper()
	mustAz(t, s.localaksAz("group", "create", "-n", rg, "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", rg, "-n", "c1", "--node-count", "2"))
	return s.credentials(t, rg, "c1")
}

type k8sNode struct {
	Metadata struct {
		Name   string
		Labels map[string]string
	}
	Spec struct {
		PodCIDR       string `json:"podCIDR"`
		ProviderID    string `json:"providerID"`
		Taints        []struct{ Key, Value, Effect string }
		Unschedulable bool
	}
	Status struct {
		Capacity, Allocatable map[string]string
		Addresses             []struct{ Type, Address string }
		Conditions            []struct{ Type, Status string }
		NodeInfo              struct{ KubeletVersion, OSImage string }
	}
}

func (n k8sNode) ready() bool {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func (n k8sNode) internalIP() string {
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			return a.Address
		}
	}
	return ""
}

func nodes(t *testing.T, kc string) []k8sNode {
	t.Helper()
	var l struct{ Items []k8sNode }
	if err := json.Unmarshal([]byte(mustKubectl(t, kc, "get", "nodes", "-o", "json")), &l); err != nil {
		t.Fatal(err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Metadata.Name < l.Items[j].Metadata.Name })
	return l.Items
}

type k8sPod struct {
	Metadata struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Spec struct {
		NodeName    string `json:"nodeName"`
		HostNetwork bool   `json:"hostNetwork"`
	}
	Status struct {
		Phase, PodIP string
		Conditions   []struct{ Type, Status, Reason, Message string }
	}
}

func pods(t *testing.T, kc string, args ...string) []k8sPod {
	t.Helper()
	var l struct{ Items []k8sPod }
	if err := json.Unmarshal([]byte(mustKubectl(t, kc, append([]string{"get", "pods", "-o", "json"}, args...)...)), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// untilAPI retries kubectl until the API server answers (after a restart).
func untilAPI(t *testing.T, kc string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := kubectl(t, kc, "get", "--raw", "/readyz", "--request-timeout", "5s")
		if r.code == 0 && strings.TrimSpace(r.stdout) == "ok" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("API server not ready: %s%s", r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func emulation(t *testing.T, kc string) (git, minor string) {
	t.Helper()
	var v struct{ GitVersion, EmulationMinor string }
	if err := json.Unmarshal([]byte(mustKubectl(t, kc, "get", "--raw", "/version")), &v); err != nil {
		t.Fatal(err)
	}
	return v.GitVersion, v.EmulationMinor
}

// controlPlanePIDs finds the control-plane processes of a data dir.
func controlPlanePIDs(dataDir string) []int {
	return supervisor.Processes(filepath.Join(dataDir, "clusters"))
}

// TestAzKubernetesCluster: az aks create gives a real cluster that kubectl
// drives: nodes as AKS names and labels them, pods Running with kubenet
// addresses, system workloads, the simulated kubelets' API (kubectl top;
// logs and exec refused plainly), scale with drain, stop/start, upgrade,
// command invoke, certificate rotation, delete; and (where the host can
// watch) nothing of it sends a packet off loopback.
func TestAzKubernetesCluster(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	if len(nodehost.Missing()) == 0 {
		// Simulated clusters too dial and resolve nothing off loopback.
		s.watchEgress(t)
	}
	mustAz(t, s.localaksAz("group", "create", "-n", "k", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "k", "-n", "c1", "--node-count", "3", "-k", "1.35.4"))

	kc := s.credentials(t, "k", "c1")
	kcText, _ := os.ReadFile(kc)
	if !strings.Contains(string(kcText), "current-context: c1\n") || !strings.Contains(string(kcText), "name: clusterUser_k_c1") ||
		!regexp.MustCompile(`server: https://127\.0\.0\.1:\d+`).Match(kcText) {
		t.Errorf("user kubeconfig:\n%s", kcText)
	}
	admin := s.credentials(t, "k", "c1", "--admin")
	if b, _ := os.ReadFile(admin); !strings.Contains(string(b), "current-context: c1-admin\n") || !strings.Contains(string(b), "name: clusterAdmin_k_c1") {
		t.Errorf("admin kubeconfig:\n%s", b)
	}
	if git, minor := emulation(t, kc); git != "v1.37.2" || minor != "35" {
		t.Errorf("/version = %s emulating 1.%s, want v1.37.2 emulating 1.35", git, minor)
	}

	// Nodes are the VMSS instances.
	var vmss []string
	mustAz(t, s.localaksAz("vmss", "list", "-g", "MC_k_c1_eastus", "--query", "[].name")).json(t, &vmss)
	var nicIPs []string
	mustAz(t, s.localaksAz("vmss", "nic", "list", "-g", "MC_k_c1_eastus", "--vmss-name", vmss[0],
		"--query", "[].ipConfigurations[0].privateIPAddress")).json(t, &nicIPs)
	sort.Strings(nicIPs)
	ns := nodes(t, kc)
	if len(ns) != 3 {
		t.Fatalf("%d nodes, want 3", len(ns))
	}
	var nodeIPs []string
	for i, n := range ns {
		nodeIPs = append(nodeIPs, n.internalIP())
		want := vmss[0] + "00000" + strconv.Itoa(i)
		l := n.Metadata.Labels
		if n.Metadata.Name != want || !n.ready() || l["agentpool"] != "nodepool1" || l["kubernetes.azure.com/agentpool"] != "nodepool1" ||
			l["kubernetes.azure.com/mode"] != "system" || l["kubernetes.azure.com/cluster"] != "MC_k_c1_eastus" ||
			l["node.kubernetes.io/instance-type"] != "Standard_DS2_v2" || l["topology.kubernetes.io/region"] != "eastus" ||
			l["topology.kubernetes.io/zone"] != "0" || l["kubernetes.io/os"] != "linux" {
			t.Errorf("node %d: %s ready=%v labels %v", i, n.Metadata.Name, n.ready(), l)
		}
		wantProvider := "azure:///subscriptions/" + s.Client.SubscriptionID + "/resourceGroups/mc_k_c1_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/" +
			vmss[0] + "/virtualMachines/" + strconv.Itoa(i)
		if n.Spec.ProviderID != wantProvider || n.Spec.PodCIDR != "10.244."+strconv.Itoa(i)+".0/24" {
			t.Errorf("node %d: providerID %q podCIDR %q", i, n.Spec.ProviderID, n.Spec.PodCIDR)
		}
		if n.Status.NodeInfo.KubeletVersion != "v1.35.4" || n.Status.Capacity["pods"] != "110" || n.Status.Allocatable["cpu"] != "1900m" {
			t.Errorf("node %d: kubelet %s capacity %v allocatable %v", i, n.Status.NodeInfo.KubeletVersion, n.Status.Capacity, n.Status.Allocatable)
		}
	}
	sort.Strings(nodeIPs)
	if strings.Join(nodeIPs, ",") != strings.Join(nicIPs, ",") {
		t.Errorf("node InternalIPs %v, VMSS NIC addresses %v", nodeIPs, nicIPs)
	}

	// AKS's system workloads run.
	sys := pods(t, kc, "-n", "kube-system")
	seen := map[string]int{}
	for _, p := range sys {
		if p.Status.Phase != "Running" {
			t.Errorf("kube-system pod %s is %s", p.Metadata.Name, p.Status.Phase)
		}
		seen[regexp.MustCompile(`-[a-z0-9]{5}$|-[a-z0-9]{8,10}-[a-z0-9]{5}$`).ReplaceAllString(p.Metadata.Name, "")]++
	}
	for name, n := range map[string]int{"coredns": 2, "coredns-autoscaler": 1, "metrics-server": 2, "konnectivity-agent": 2, "kube-proxy": 3,
		"azure-ip-masq-agent": 3, "cloud-node-manager": 3, "csi-azuredisk-node": 3, "csi-azurefile-node": 3} {
		if seen[name] != n {
			t.Errorf("kube-system has %d %s pods, want %d (all: %v)", seen[name], name, n, seen)
		}
	}
	if ip := mustKubectl(t, kc, "get", "svc", "-n", "kube-system", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"); ip != "10.0.0.10" {
		t.Errorf("kube-dns clusterIP = %q", ip)
	}

	// A Deployment's pods run with addresses from their node's /24.
	mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx", "--replicas=6")
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")
	checkPodsInNodeRanges := func() {
		t.Helper()
		cidr := map[string]netip.Prefix{}
		for _, n := range nodes(t, kc) {
			cidr[n.Metadata.Name] = netip.MustParsePrefix(n.Spec.PodCIDR)
		}
		web := pods(t, kc, "-l", "app=web")
		if len(web) != 6 {
			t.Errorf("%d web pods, want 6", len(web))
		}
		for _, p := range web {
			ip, err := netip.ParseAddr(p.Status.PodIP)
			if p.Status.Phase != "Running" || err != nil || !cidr[p.Spec.NodeName].Contains(ip) {
				t.Errorf("pod %s on %s: %s %q (node range %v)", p.Metadata.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, cidr[p.Spec.NodeName])
			}
		}
	}
	checkPodsInNodeRanges()
	mustKubectl(t, kc, "create", "poddisruptionbudget", "web", "--selector=app=web", "--min-available=4")

	// Simulated kubelets answer as kubelets do: resource metrics from
	// KWOK's usage simulation (a pod's kwok.x-k8s.io/usage-* annotations),
	// scraped by metrics-server for kubectl top, and a plain refusal for a
	// container's logs, exec, attach or port-forward.
	mustKubectl(t, kc, "run", "busy", "--image=nginx", "--annotations=kwok.x-k8s.io/usage-cpu=250m", "--annotations=kwok.x-k8s.io/usage-memory=100Mi")
	mustKubectl(t, kc, "wait", "--for=condition=Ready", "pod/busy", "--timeout=60s")
	for _, args := range [][]string{{"logs", "busy"}, {"exec", "busy", "--", "ls"}, {"port-forward", "pod/busy", "0:80"}, {"attach", "busy"}} {
		if r := kubectl(t, kc, args...); r.code == 0 || !strings.Contains(r.stderr, "is simulated (KWOK): its pods run no containers") {
			t.Errorf("kubectl %s on a simulated pod: exit %d\n%s%s", args[0], r.code, r.stdout, r.stderr)
		}
	}
	eventually(t, "kubectl top pod busy", 2*time.Minute, func() string {
		r := kubectl(t, kc, "top", "pod", "busy", "--no-headers")
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) != 3 {
			return r.stdout + r.stderr
		}
		// CPU is a rate over two scrapes of a cumulative counter.
		if cpu, err := strconv.Atoi(strings.TrimSuffix(f[1], "m")); err != nil || cpu < 240 || cpu > 260 || f[2] != "100Mi" {
			return r.stdout
		}
		return ""
	})
	eventually(t, "kubectl top nodes", time.Minute, func() string {
		r := kubectl(t, kc, "top", "nodes", "--no-headers")
		if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || strings.Contains(r.stdout, "unknown") {
			return r.stdout + r.stderr
		}
		return ""
	})
	mustKubectl(t, kc, "delete", "pod", "busy", "--wait=true", "--timeout=60s")

	// Jobs complete; pods that cannot fit stay Pending with the scheduler's reason.
	mustKubectl(t, kc, "create", "job", "once", "--image=busybox")
	mustKubectl(t, kc, "wait", "--for=condition=complete", "job/once", "--timeout=60s")
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"64"}}}]}}`), 0o644)
	mustKubectl(t, kc, "apply", "-f", big)
	mustKubectl(t, kc, "wait", "--for=condition=PodScheduled=false", "pod/big", "--timeout=60s")
	if msg := mustKubectl(t, kc, "get", "pod", "big", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}`); !strings.Contains(msg, "Insufficient cpu") {
		t.Errorf("pending pod's condition: %q", msg)
	}
	mustKubectl(t, kc, "delete", "pod", "big", "--wait=true", "--timeout=60s")

	// Scale out and in: nodes follow, drained pods are rescheduled.
	mustAz(t, s.localaksAz("aks", "scale", "-g", "k", "-n", "c1", "-c", "5"))
	if ns := nodes(t, kc); len(ns) != 5 || !ns[4].ready() || ns[4].Metadata.Name != vmss[0]+"000004" {
		t.Errorf("after scale to 5: %d nodes", len(ns))
	}
	mustAz(t, s.localaksAz("aks", "scale", "-g", "k", "-n", "c1", "-c", "2"))
	if ns := nodes(t, kc); len(ns) != 2 || ns[1].Metadata.Name != vmss[0]+"000001" {
		t.Errorf("after scale to 2: %d nodes", len(ns))
	}
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")
	checkPodsInNodeRanges()

	// Stop keeps the cluster's objects; start brings them back.
	mustKubectl(t, kc, "create", "configmap", "keep", "--from-literal=a=b")
	mustAz(t, s.localaksAz("aks", "stop", "-g", "k", "-n", "c1"))
	if r := kubectl(t, kc, "get", "ns", "--request-timeout", "5s"); r.code == 0 {
		t.Error("the API server answers while the cluster is stopped")
	}
	// The portal's picture says so (without waiting on the API server).
	if pic := s.portalPicture(t, s.sub()+"/resourceGroups/k/providers/Microsoft.ContainerService/managedClusters/c1"); pic.Kube != "Kubernetes: the control plane is stopped: no Kubernetes objects to show" {
		t.Errorf("the portal's picture of a stopped cluster says %q", pic.Kube)
	}
	mustAz(t, s.localaksAz("aks", "start", "-g", "k", "-n", "c1"))
	if v := mustKubectl(t, kc, "get", "configmap", "keep", "-o", "jsonpath={.data.a}"); v != "b" {
		t.Errorf("configmap after stop/start: %q", v)
	}
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")

	// Upgrade: the control plane emulates the new minor, nodes run it.
	mustAz(t, s.localaksAz("aks", "upgrade", "-g", "k", "-n", "c1", "-k", "1.36.3", "--yes"))
	if _, minor := emulation(t, kc); minor != "36" {
		t.Errorf("after upgrade to 1.36.3 the API server emulates 1.%s", minor)
	}
	for _, n := range nodes(t, kc) {
		if n.Status.NodeInfo.KubeletVersion != "v1.36.3" || !n.ready() {
			t.Errorf("node %s after upgrade: %s ready=%v", n.Metadata.Name, n.Status.NodeInfo.KubeletVersion, n.ready())
		}
	}

	// az aks command invoke runs kubectl in the cluster, with context files.
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-file}\ndata: {k: v}\n"), 0o644)
	r := runCmdDir(t, work, nil, binary, "az", "--data-dir", s.dataDir, "aks", "command", "invoke", "-g", "k", "-n", "c1",
		"--command", "kubectl apply -f cm.yaml && kubectl get nodes", "--file", "cm.yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "exitcode=0") || !strings.Contains(r.stdout, "configmap/from-file created") ||
		!strings.Contains(r.stdout, vmss[0]+"000001") {
		t.Errorf("command invoke: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		ExitCode int
		Logs     string
	}
	mustAz(t, s.localaksAz("aks", "command", "invoke", "-g", "k", "-n", "c1", "--command", "kubectl get nope", "-o", "json")).json(t, &res)
	if res.ExitCode != 1 || !strings.Contains(res.Logs, `the server doesn't have a resource type "nope"`) {
		t.Errorf("failing command: %+v", res)
	}

	// Rotating certificates invalidates the old kubeconfig.
	mustAz(t, s.localaksAz("aks", "rotate-certs", "-g", "k", "-n", "c1", "--yes"))
	if r := kubectl(t, kc, "get", "ns"); r.code == 0 {
		t.Error("the kubeconfig from before the rotation still works")
	}
	kc = s.credentials(t, "k", "c1")
	mustKubectl(t, kc, "get", "configmap", "from-file")

	// Delete removes the process and the data.
	dirs, _ := os.ReadDir(filepath.Join(s.dataDir, "clusters"))
	if len(dirs) != 1 || len(controlPlanePIDs(s.dataDir)) != 1 {
		t.Fatalf("before delete: %d cluster dirs, control planes %v", len(dirs), controlPlanePIDs(s.dataDir))
	}
	mustAz(t, s.localaksAz("aks", "delete", "-g", "k", "-n", "c1", "--yes"))
	if dirs, _ := os.ReadDir(filepath.Join(s.dataDir, "clusters")); len(dirs) != 0 {
		t.Errorf("cluster data left after delete: %v", dirs)
	}
	if pids := controlPlanePIDs(s.dataDir); len(pids) != 0 {
		t.Errorf("control-plane processes left after delete: %v", pids)
	}
}

// TestAzKubernetesNetworkModels: pod addresses follow the network plugin:
// Azure CNI hands out the node NIC's pre-allocated subnet addresses,
// overlay the node's /24 of the pod CIDR (and runs azure-cns).
func TestAzKubernetesNetworkModels(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	mustAz(t, s.localaksAz("group", "create", "-n", "nm", "-l", "westeurope"))

	mustAz(t, s.aksCreate(t, "-g", "nm", "-n", "cni", "--network-plugin", "azure", "--node-count", "2", "--skip-subnet-role-assignment"))
	kc := s.credentials(t, "nm", "cni")
	var vmss []string
	mustAz(t, s.localaksAz("vmss", "list", "-g", "MC_nm_cni_westeurope", "--query", "[].name")).json(t, &vmss)
	var nics []struct {
		IPConfigurations []struct{ PrivateIPAddress string }
	}
	mustAz(t, s.localaksAz("vmss", "nic", "list", "-g", "MC_nm_cni_westeurope", "--vmss-name", vmss[0])).json(t, &nics)
	secondary := map[string]map[string]bool{} // node IP → its pre-allocated pod addresses
	for _, nic := range nics {
		m := map[string]bool{}
		for _, c := range nic.IPConfigurations[1:] {
			m[c.PrivateIPAddress] = true
		}
		secondary[nic.IPConfigurations[0].PrivateIPAddress] = m
	}
	nodeIP := map[string]string{}
	for _, n := range nodes(t, kc) {
		nodeIP[n.Metadata.Name] = n.internalIP()
		if n.Spec.PodCIDR != "" {
			t.Errorf("Azure CNI node %s has a pod CIDR %s", n.Metadata.Name, n.Spec.PodCIDR)
		}
	}
	mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx", "--replicas=8")
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")
	for _, p := range pods(t, kc, "-A") {
		host := nodeIP[p.Spec.NodeName]
		switch {
		case p.Spec.HostNetwork && p.Status.PodIP != host:
			t.Errorf("host-network pod %s has %s, node %s", p.Metadata.Name, p.Status.PodIP, host)
		case !p.Spec.HostNetwork && !secondary[host][p.Status.PodIP]:
			t.Errorf("pod %s has %s, not one of node %s's pre-allocated addresses", p.Metadata.Name, p.Status.PodIP, p.Spec.NodeName)
		}
	}
	if n := len(pods(t, kc, "-n", "kube-system", "-l", "k8s-app=azure-cns")); n != 2 {
		t.Errorf("%d azure-cns pods, want 2", n)
	}

	// az 2.45 has no --network-plugin-mode: the overlay cluster is PUT as
	// the REST API takes it.
	status, h, body := s.request("PUT", s.sub()+"/resourceGroups/nm/providers/Microsoft.ContainerService/managedClusters/ovl"+mcAPI,
		`{"location":"westeurope","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"ovl",
		"agentPoolProfiles":[{"name":"system","mode":"System","count":2,"vmSize":"Standard_D2s_v3"}],
		"networkProfile":{"networkPlugin":"azure","networkPluginMode":"overlay"}}}`)
	if status != 201 {
		t.Fatalf("PUT overlay cluster: %d %v", status, body)
	}
	if st := s.waitOperation(h.Get("Azure-AsyncOperation")); st != "Succeeded" {
		t.Fatalf("overlay cluster create: %s", st)
	}
	kc = s.credentials(t, "nm", "ovl")
	cidr := map[string]netip.Prefix{}
	for _, n := range nodes(t, kc) {
		p, err := netip.ParsePrefix(n.Spec.PodCIDR)
		if err != nil || p.Bits() != 24 || !netip.MustParsePrefix("10.244.0.0/16").Contains(p.Addr()) || n.Metadata.Labels["kubernetes.azure.com/azure-cni-overlay"] != "true" {
			t.Errorf("overlay node %s: pod CIDR %q labels %v", n.Metadata.Name, n.Spec.PodCIDR, n.Metadata.Labels)
		}
		cidr[n.Metadata.Name] = p
	}
	mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx", "--replicas=4")
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")
	for _, p := range pods(t, kc, "-l", "app=web") {
		if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !cidr[p.Spec.NodeName].Contains(ip) {
			t.Errorf("overlay pod %s has %q, node range %v", p.Metadata.Name, p.Status.PodIP, cidr[p.Spec.NodeName])
		}
	}
}

// TestControlPlaneRestarts: a killed control-plane process is restarted
// with the cluster's objects; after serve is killed and started again,
// every running cluster comes back; nothing is left running after serve
// stops.
func TestControlPlaneRestarts(t *testing.T) {
	t.Parallel()
	needAz(t)
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	kc := s.smallCluster(t, "r")
	mustKubectl(t, kc, "create", "configmap", "keep", "--from-literal=a=b")

	pids := controlPlanePIDs(dataDir)
	if len(pids) != 1 {
		t.Fatalf("control planes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	untilAPI(t, kc)
	if now := controlPlanePIDs(dataDir); len(now) != 1 || now[0] == pids[0] {
		t.Errorf("control planes after kill -9: %v (killed %d)", now, pids[0])
	}
	mustKubectl(t, kc, "wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
	if v := mustKubectl(t, kc, "get", "configmap", "keep", "-o", "jsonpath={.data.a}"); v != "b" {
		t.Errorf("configmap after the control plane was killed: %q", v)
	}

	// kill -9 serve: its control planes die with it, and come back with it.
	old := controlPlanePIDs(dataDir)
	s.kill(syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for len(controlPlanePIDs(dataDir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := controlPlanePIDs(dataDir); len(left) > 0 {
		t.Fatalf("control planes outlived serve: %v", left)
	}
	s2 := startServe(t, dataDir)
	untilAPI(t, kc)
	mustKubectl(t, kc, "wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
	if v := mustKubectl(t, kc, "get", "configmap", "keep", "-o", "jsonpath={.data.a}"); v != "b" {
		t.Errorf("configmap after serve was killed: %q", v)
	}
	if now := controlPlanePIDs(dataDir); len(now) != 1 || now[0] == old[0] {
		t.Errorf("control planes after serve restart: %v", now)
	}
	// A graceful stop takes the control planes down too.
	s2.kill(syscall.SIGTERM)
	if left := controlPlanePIDs(dataDir); len(left) > 0 {
		t.Errorf("control planes left after serve stopped: %v", left)
	}
}
