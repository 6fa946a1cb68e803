package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

func TestScratch(t *testing.T) {
	bin := os.Getenv("SCRATCH_BIN")
	if bin == "" {
		t.Skip()
	}
	dir := os.Getenv("SCRATCH_DIR")
	s, err := New(Config{Dir: dir, Command: []string{bin, "controlplane"}, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	spec := &clusterspec.Spec{UID: "c1", Name: "c1", ResourceGroup: "rg", SubscriptionID: "sub", Location: "eastus",
		NodeResourceGroup: "MC_rg_c1_eastus", KubernetesVersion: "1.35.4", FQDN: "c1-abc.hcp.eastus.azmk8s.io",
		APIServerPort: 16443, AdvertiseAddress: "198.18.0.5", ServiceAccountIssuer: "https://kubernetes.default.svc.cluster.local",
		EnableRBAC: true, Network: clusterspec.Network{Plugin: "kubenet", PodCIDR: "10.128.0.0/13", ServiceCIDR: "10.0.0.0/16", DNSServiceIP: "10.0.0.10"},
		Pools: []clusterspec.Pool{{Name: "nodepool1", Mode: "System", VMSize: "Standard_DS2_v2", OSType: "Linux", OSSKU: "Ubuntu", Version: "1.35.4", NodeImageVersion: "AKSUbuntu-2204gen2containerd-202511.04.0", MaxPods: 110, OSDiskSizeGB: 128}},
	}
	n := 3
	if v := os.Getenv("SCRATCH_NODES"); v != "" {
		fmt.Sscan(v, &n)
	}
	for i := 0; i < n; i++ {
		spec.Nodes = append(spec.Nodes, clusterspec.Node{Name: fmt.Sprintf("aks-nodepool1-12345678-vmss%06d", i), Pool: "nodepool1",
			ProviderID: fmt.Sprintf("azure:///subscriptions/sub/resourceGroups/mc_rg_c1_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/%d", i),
			InternalIP: fmt.Sprintf("10.224.%d.%d", (4+i)/250, (4+i)%250+1), PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 128+i/256, i%256)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := s.Apply(ctx, spec); err != nil {
		t.Fatal(err)
	}
	t.Logf("converged in %v, version %s", time.Since(start), s.Version("c1"))
	if os.Getenv("SCRATCH_HOLD") != "" {
		time.Sleep(5 * time.Minute)
	}
	s.Shutdown(ctx)
}
