package nodesim

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/vmsizes"
)

func size(t *testing.T, name string) vmsizes.Size {
	t.Helper()
	s, ok := vmsizes.Lookup(name)
	if !ok {
		t.Fatalf("no VM size %s", name)
	}
	return s
}

// Allocatable follows AKS's reservations (1.29+): CPU by core count, memory
// min(20 MiB × maxPods + 50 MiB, 25%) + 100 Mi.
func TestNodeResources(t *testing.T) {
	cases := []struct {
		size            string
		maxPods         int
		cpu, memMi, pod string
	}{
		// 2 vCPU, 7 GiB, 110 pods: 25% (1792 Mi) < 2250 Mi.
		{"Standard_DS2_v2", 110, "1900m", fmt.Sprint(7*1024 - 1792 - 100), "110"},
		// 4 vCPU, 16 GiB, 30 pods: 650 Mi < 4 GiB.
		{"Standard_D4s_v5", 30, "3860m", fmt.Sprint(16*1024 - 650 - 100), "30"},
	}
	for _, tc := range cases {
		r := NodeResources(size(t, tc.size), tc.maxPods, 128)
		cpu := r.Allocatable[corev1.ResourceCPU]
		mem := r.Allocatable[corev1.ResourceMemory]
		pods := r.Allocatable[corev1.ResourcePods]
		if cpu.String() != tc.cpu || mem.Value() != mustInt(tc.memMi)<<20 || pods.String() != tc.pod {
			t.Errorf("%s/%d: allocatable cpu %s memory %dMi pods %s; want %s %sMi %s", tc.size, tc.maxPods, cpu.String(), mem.Value()>>20, pods.String(), tc.cpu, tc.memMi, tc.pod)
		}
		capCPU := r.Capacity[corev1.ResourceCPU]
		if capCPU.Value() != int64(size(t, tc.size).VCPUs) {
			t.Errorf("%s: capacity cpu %s", tc.size, capCPU.String())
		}
	}
}

func mustInt(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

func spec() *clusterspec.Spec {
	return &clusterspec.Spec{Name: "c1", Location: "eastus", NodeResourceGroup: "MC_rg_c1_eastus",
		Network: clusterspec.Network{Plugin: "azure", PluginMode: "overlay"},
		Pools: []clusterspec.Pool{
			{Name: "system", Mode: "System", VMSize: "Standard_DS2_v2", OSType: "Linux", OSSKU: "Ubuntu", Version: "1.35.4", MaxPods: 250, OSDiskSizeGB: 128},
			{Name: "arm", Mode: "User", VMSize: "Standard_D2ps_v5", OSType: "Linux", OSSKU: "AzureLinux", Version: "1.35.4", MaxPods: 30, OSDiskSizeGB: 64,
				Labels: map[string]string{"tier": "web"}, Taints: []string{"dedicated=web:NoSchedule"}, Spot: true},
		}}
}

func TestBuildNode(t *testing.T) {
	s := spec()
	n, err := BuildNode(s, clusterspec.Node{Name: "aks-system-1-vmss000000", Pool: "system", ProviderID: "azure:///x/0", InternalIP: "10.224.0.4", PodCIDR: "10.244.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	l := n.Labels
	for k, v := range map[string]string{"agentpool": "system", "kubernetes.azure.com/mode": "system", "kubernetes.azure.com/cluster": "MC_rg_c1_eastus",
		"topology.kubernetes.io/zone": "0", "kubernetes.io/arch": "amd64", "kubernetes.azure.com/storagetier": "Premium_LRS",
		"kubernetes.azure.com/azure-cni-overlay": "true", "node.kubernetes.io/instance-type": "Standard_DS2_v2", "kubernetes.io/hostname": "aks-system-1-vmss000000"} {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
	if n.Spec.PodCIDR != "10.244.0.0/24" || n.Spec.ProviderID != "azure:///x/0" || n.Status.NodeInfo.KubeletVersion != "v1.35.4" ||
		n.Status.Addresses[0].Address != "10.224.0.4" || len(n.Spec.Taints) != 0 {
		t.Errorf("node = %+v", n)
	}
	a, err := BuildNode(s, clusterspec.Node{Name: "aks-arm-1-vmss000000", Pool: "arm", InternalIP: "10.224.0.5", Zone: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Labels["kubernetes.io/arch"] != "arm64" || a.Labels["tier"] != "web" || a.Labels["topology.kubernetes.io/zone"] != "eastus-2" ||
		a.Labels["kubernetes.azure.com/scalesetpriority"] != "spot" || !strings.HasPrefix(a.Status.NodeInfo.OSImage, "Microsoft Azure Linux") {
		t.Errorf("arm spot node labels = %v, os %q", a.Labels, a.Status.NodeInfo.OSImage)
	}
	var taints []string
	for _, tt := range a.Spec.Taints {
		taints = append(taints, tt.ToString())
	}
	if strings.Join(taints, ",") != "dedicated=web:NoSchedule,kubernetes.azure.com/scalesetpriority=spot:NoSchedule" {
		t.Errorf("taints = %v", taints)
	}
	if _, err := BuildNode(s, clusterspec.Node{Name: "x", Pool: "nope"}); err == nil {
		t.Error("node of an unknown pool was built")
	}
	if _, err := parseTaints([]string{"novalue"}); err == nil {
		t.Error("taint without an effect was accepted")
	}
}

// Pod addresses: .2 upwards of the node's /24, or the node's
// pre-allocated list; stable per pod; freed on release; exhaustion is an
// error; host-network pods take the node's address.
func TestPodIPs(t *testing.T) {
	src := map[string]addressSource{
		"kubenet": {cidr: "10.244.3.0/24", nodeIP: "10.224.0.4"},
		"cni":     {list: []string{"10.224.0.5", "10.224.0.6"}, nodeIP: "10.224.0.4"},
	}
	p := newPodIPs(func(n string) (addressSource, bool) { s, ok := src[n]; return s, ok })
	c, _ := src["kubenet"].candidates()
	if len(c) != 253 || c[0] != "10.244.3.2" || c[len(c)-1] != "10.244.3.254" {
		t.Errorf("/24 candidates: %d, %s … %s", len(c), c[0], c[len(c)-1])
	}
	a1, _ := p.podIP("kubenet", false, "u1", "a", "ns")
	a2, _ := p.podIP("kubenet", false, "u2", "b", "ns")
	again, _ := p.podIP("kubenet", false, "u1", "a", "ns")
	if a1 != "10.244.3.2" || a2 != "10.244.3.3" || again != a1 {
		t.Errorf("kubenet addresses %s %s %s", a1, a2, again)
	}
	p.release("u1")
	if a3, _ := p.podIP("kubenet", false, "u3", "c", "ns"); a3 != "10.244.3.2" {
		t.Errorf("freed address not reused: %s", a3)
	}
	b1, _ := p.podIP("cni", false, "v1", "a", "ns")
	b2, _ := p.podIP("cni", false, "v2", "b", "ns")
	if b1 != "10.224.0.5" || b2 != "10.224.0.6" {
		t.Errorf("CNI addresses %s %s", b1, b2)
	}
	if _, err := p.podIP("cni", false, "v3", "c", "ns"); err == nil {
		t.Error("a third pod got an address from a node with two")
	}
	if h, _ := p.podIP("cni", true, "v4", "d", "ns"); h != "10.224.0.4" {
		t.Errorf("host-network pod = %s", h)
	}
	if _, err := p.podIP("other", false, "w", "e", "ns"); err == nil {
		t.Error("unknown node gave an address")
	}
}

func TestSizeLetters(t *testing.T) {
	for name, want := range map[string]string{"Standard_DS2_v2": "ds/", "Standard_D4ps_v5": "d/ps", "Standard_B2s": "b/s", "Standard_NC24ads_A100_v4": "nc/ads"} {
		p, f := sizeLetters(name)
		if p+"/"+f != want {
			t.Errorf("sizeLetters(%s) = %s/%s, want %s", name, p, f, want)
		}
	}
}
