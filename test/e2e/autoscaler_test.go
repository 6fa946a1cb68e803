package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

// spreadDeployment is n replicas of 500m CPU, one per node (required
// anti-affinity on the host name), on pool.
func spreadDeployment(name, pool string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: default}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      nodeSelector: {agentpool: %[2]s}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: %[1]s}}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: app
        image: mcr.microsoft.com/oss/kubernetes/pause:3.9
        resources: {requests: {cpu: 500m}}
`, name, pool, replicas)
}

// TestAzClusterAutoscaler: a user pool autoscaled 1–5 (az aks nodepool add
// --enable-cluster-autoscaler), the profile shortened with az aks update;
// a Deployment that needs four nodes makes the autoscaler grow the scale
// set (the pool's count and the scale set's capacity follow, read with the
// SDK), the pods run, the autoscaler reports TriggeredScaleUp and its status
// ConfigMap; a pod no pool fits gets NotTriggerScaleUp; the Deployment
// scaled to 0 takes the pool back to its minimum; a new range takes effect
// (max 2: "max node group size reached"); az refuses a manual scale;
// disabling keeps the count and the status ConfigMap goes.
func TestAzClusterAutoscaler(t *testing.T) {
	needAz(t)
	t.Parallel()
	s := startServe(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("the autoscaler's log:\n" + s.controlPlaneLog(40, "cluster-autoscaler"))
		}
	})
	rg, nrg := "cas", "MC_cas_c1_eastus"
	mustAz(t, s.localaksAz("group", "create", "-n", rg, "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", rg, "-n", "c1", "--node-count", "1"))
	kc := s.credentials(t, rg, "c1")

	// AKS's rules for profile values.
	r := s.localaksAz("aks", "update", "-g", rg, "-n", "c1", "--cluster-autoscaler-profile", "scan-interval=1m")
	if r.code == 0 || !strings.Contains(r.stderr, "Invalid value specified for the cluster-autoscaler parameter 'scan-interval'") {
		t.Fatalf("scan-interval=1m: exit %d\n%s", r.code, r.stderr)
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "add", "-g", rg, "--cluster-name", "c1", "-n", "work", "--node-count", "1",
		"--enable-cluster-autoscaler", "--min-count", "1", "--max-count", "5", "-o", "none"))
	// The first autoscaled pool gives the cluster AKS's profile.
	if got := strings.TrimSpace(s.localaksAz("aks", "show", "-g", rg, "-n", "c1", "--query", "autoScalerProfile.expander", "-o", "tsv").stdout); got != "random" {
		t.Fatalf("profile's expander after nodepool add: %q", got)
	}
	mustAz(t, s.localaksAz("aks", "update", "-g", rg, "-n", "c1", "-o", "none", "--cluster-autoscaler-profile",
		"scan-interval=2s", "scale-down-delay-after-add=0m", "scale-down-delay-after-delete=2s", "scale-down-unneeded-time=0m"))
	var profile map[string]any
	mustAz(t, s.localaksAz("aks", "show", "-g", rg, "-n", "c1", "--query", "autoScalerProfile")).json(t, &profile)
	if profile["scanInterval"] != "2s" || profile["expander"] != "random" || profile["scaleDownUtilizationThreshold"] != "0.5" {
		t.Fatalf("autoScalerProfile = %v", profile)
	}

	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, opts := s.sdkOptions("https://management.core.windows.net/")
	pools, _ := armcontainerservice.NewAgentPoolsClient(s.Client.SubscriptionID, cred, opts)
	sets, _ := armcompute.NewVirtualMachineScaleSetsClient(s.Client.SubscriptionID, cred, opts)
	vmss := strings.TrimSpace(s.localaksAz("vmss", "list", "-g", nrg, "--query", "[?tags.\"aks-managed-poolName\"=='work'].name | [0]", "-o", "tsv").stdout)
	if vmss == "" {
		t.Fatal("no scale set for pool work")
	}
	sizes := func() (count, capacity int32, state string) {
		p, err := pools.Get(ctx, rg, "c1", "work", nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sets.Get(ctx, nrg, vmss, nil)
		if err != nil {
			t.Fatal(err)
		}
		return *p.Properties.Count, int32(*v.SKU.Capacity), *p.Properties.ProvisioningState
	}
	workNodes := func() (all, ready int) {
		for _, n := range nodes(t, kc) {
			if n.Metadata.Labels["agentpool"] == "work" {
				all++
				if n.ready() {
					ready++
				}
			}
		}
		return
	}

	// Scale-up.
	apply := func(doc string) {
		path := filepath.Join(t.TempDir(), "doc.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		mustKubectl(t, kc, "apply", "-f", path)
	}
	apply(spreadDeployment("spread", "work", 4))
	eventually(t, "four nodes and four running pods", 90*time.Second, func() string {
		count, capacity, state := sizes()
		all, ready := workNodes()
		running := strings.Count(mustKubectl(t, kc, "get", "pods", "-l", "app=spread", "--field-selector", "status.phase=Running", "-o", "name"), "pod/")
		if count != 4 || capacity != 4 || state != "Succeeded" || ready != 4 || all != 4 || running != 4 {
			return fmt.Sprintf("pool count %d (%s), capacity %d, nodes %d (%d ready), %d pods running", count, state, capacity, all, ready, running)
		}
		return ""
	})
	ev := mustKubectl(t, kc, "get", "events", "-A", "--field-selector", "source=cluster-autoscaler,reason=TriggeredScaleUp", "-o", "jsonpath={.items[*].message}")
	// One scale-up to 4, or more when the scheduler marks the pods in
	// more than one scan interval (1->3, then 3->4).
	if !strings.Contains(ev, "pod triggered scale-up: [{"+vmss+" 1->") || !strings.Contains(ev, "->4 (max: 5)}]") {
		t.Fatalf("TriggeredScaleUp events: %q", ev)
	}
	status := mustKubectl(t, kc, "get", "configmap", "-n", "kube-system", "cluster-autoscaler-status", "-o", "jsonpath={.data.status}")
	if !strings.Contains(status, "autoscalerStatus: Running") || !strings.Contains(status, "name: "+vmss) || !strings.Contains(status, "maxSize: 5") {
		t.Fatalf("status ConfigMap:\n%s", status)
	}

	// A pod no pool can fit.
	apply(`apiVersion: v1
kind: Pod
metadata: {name: huge, namespace: default, labels: {app: huge}}
spec:
  nodeSelector: {agentpool: work}
  containers: [{name: app, image: mcr.microsoft.com/oss/kubernetes/pause:3.9, resources: {requests: {cpu: "64"}}}]
`)
	eventually(t, "NotTriggerScaleUp for the huge pod", 30*time.Second, func() string {
		ev := mustKubectl(t, kc, "get", "events", "--field-selector", "involvedObject.name=huge,reason=NotTriggerScaleUp", "-o", "jsonpath={.items[*].message}")
		if !strings.Contains(ev, "pod didn't trigger scale-up: 1 Insufficient cpu") {
			return fmt.Sprintf("events %q", ev)
		}
		return ""
	})
	mustKubectl(t, kc, "delete", "pod", "huge", "--wait=false")

	// Scale-down to the minimum.
	mustKubectl(t, kc, "scale", "deployment", "spread", "--replicas", "0")
	eventually(t, "back to one node", 90*time.Second, func() string {
		count, capacity, state := sizes()
		all, _ := workNodes()
		if count != 1 || capacity != 1 || all != 1 || state != "Succeeded" {
			return fmt.Sprintf("pool count %d (%s), capacity %d, %d nodes", count, state, capacity, all)
		}
		return ""
	})
	ev = mustKubectl(t, kc, "get", "events", "-n", "kube-system", "--field-selector", "source=cluster-autoscaler,reason=ScaleDownEmpty", "-o", "jsonpath={.items[*].message}")
	if !strings.Contains(ev, "Scale-down: removing empty node") {
		t.Fatalf("ScaleDownEmpty events: %q", ev)
	}

	// A new range takes effect.
	mustAz(t, s.localaksAz("aks", "nodepool", "update", "-g", rg, "--cluster-name", "c1", "-n", "work",
		"--update-cluster-autoscaler", "--min-count", "1", "--max-count", "2", "-o", "none"))
	mustKubectl(t, kc, "scale", "deployment", "spread", "--replicas", "3")
	eventually(t, "two nodes at most, the third pod told why", 90*time.Second, func() string {
		count, capacity, _ := sizes()
		ev := mustKubectl(t, kc, "get", "events", "--field-selector", "reason=NotTriggerScaleUp", "-o", "jsonpath={.items[*].message}")
		if count != 2 || capacity != 2 || !strings.Contains(ev, "max node group size reached") {
			return fmt.Sprintf("pool count %d, capacity %d, events %q", count, capacity, ev)
		}
		return ""
	})

	// Manual scale of an autoscaled pool: az refuses it.
	r = s.localaksAz("aks", "nodepool", "scale", "-g", rg, "--cluster-name", "c1", "-n", "work", "--node-count", "3")
	if r.code == 0 || !strings.Contains(r.stderr, "Cannot scale cluster autoscaler enabled node pool") {
		t.Fatalf("manual scale: exit %d\n%s", r.code, r.stderr)
	}
	// A count outside the range, through the API.
	poolDef, err := pools.Get(ctx, rg, "c1", "work", nil)
	if err != nil {
		t.Fatal(err)
	}
	poolDef.Properties.MinCount, poolDef.Properties.MaxCount = ptr32(3), ptr32(2)
	if _, err := pools.BeginCreateOrUpdate(ctx, rg, "c1", "work", poolDef.AgentPool, nil); err == nil || !strings.Contains(err.Error(), "InvalidParameter") {
		t.Fatalf("min > max: %v", err)
	}

	// Disable: the count stays, the autoscaler stops (its status goes).
	mustAz(t, s.localaksAz("aks", "nodepool", "update", "-g", rg, "--cluster-name", "c1", "-n", "work", "--disable-cluster-autoscaler", "-o", "none"))
	var pool struct {
		Count             int
		EnableAutoScaling bool
		MinCount          *int
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "show", "-g", rg, "--cluster-name", "c1", "-n", "work")).json(t, &pool)
	if pool.Count != 2 || pool.EnableAutoScaling || pool.MinCount != nil {
		t.Fatalf("after disable: %+v", pool)
	}
	eventually(t, "the status ConfigMap removed", 30*time.Second, func() string {
		r := kubectl(t, kc, "get", "configmap", "-n", "kube-system", "cluster-autoscaler-status", "-o", "name")
		if r.code == 0 {
			return "still there"
		}
		return ""
	})
}

func ptr32(v int32) *int32 { return &v }

// TestAutoscalerKilledMidScaleUp: serve dies (SIGKILL, from a failpoint) in
// the middle of the pool operation an autoscaler scale-up started; after
// the restart the operation completes, and the scale set, the pool's count,
// the nodes and the pods agree — no second scale-up, nothing orphaned.
func TestAutoscalerKilledMidScaleUp(t *testing.T) {
	needAz(t)
	t.Parallel()
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	rg, nrg := "caskill", "MC_caskill_c1_eastus"
	mustAz(t, s.localaksAz("group", "create", "-n", rg, "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", rg, "-n", "c1", "--node-count", "1", "--enable-cluster-autoscaler", "--min-count", "1", "--max-count", "5",
		"--cluster-autoscaler-profile", "scan-interval=2s"))
	kc := s.credentials(t, rg, "c1")
	vmss := strings.TrimSpace(s.localaksAz("vmss", "list", "-g", nrg, "--query", "[0].name", "-o", "tsv").stdout)
	s.kill(syscall.SIGTERM)

	s = startServeEnv(t, dataDir, []string{"LOCALAKS_FAILPOINTS=aks:after:scale sets"})
	path := filepath.Join(t.TempDir(), "spread.yaml")
	if err := os.WriteFile(path, []byte(spreadDeployment("spread", "nodepool1", 4)), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the API server back", 60*time.Second, func() string {
		if r := kubectl(t, kc, "apply", "-f", path); r.code != 0 {
			return r.stderr
		}
		return ""
	})
	s.waitDead()
	s = startServe(t, dataDir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("the autoscaler's log:\n" + s.controlPlaneLog(40, "cluster-autoscaler"))
		}
	})
	eventually(t, "scale set, pool, nodes and pods agree at 4", 120*time.Second, func() string {
		var pool struct {
			Count             int
			ProvisioningState string
		}
		mustAz(t, s.localaksAz("aks", "nodepool", "show", "-g", rg, "--cluster-name", "c1", "-n", "nodepool1")).json(t, &pool)
		var instances []string
		mustAz(t, s.localaksAz("vmss", "list-instances", "-g", nrg, "-n", vmss, "--query", "[].name")).json(t, &instances)
		capacity := strings.TrimSpace(s.localaksAz("vmss", "show", "-g", nrg, "-n", vmss, "--query", "sku.capacity", "-o", "tsv").stdout)
		ready := 0
		for _, n := range nodes(t, kc) {
			if n.ready() {
				ready++
			}
		}
		running := strings.Count(mustKubectl(t, kc, "get", "pods", "-l", "app=spread", "--field-selector", "status.phase=Running", "-o", "name"), "pod/")
		if pool.Count != 4 || pool.ProvisioningState != "Succeeded" || len(instances) != 4 || capacity != "4" || ready != 4 || running != 4 {
			return fmt.Sprintf("pool %d (%s), %d instances, capacity %s, %d nodes ready, %d pods running", pool.Count, pool.ProvisioningState, len(instances), capacity, ready, running)
		}
		return ""
	})
	ev := mustKubectl(t, kc, "get", "events", "-A", "--field-selector", "source=cluster-autoscaler,reason=TriggeredScaleUp", "-o", "jsonpath={.items[*].message}")
	if strings.Contains(ev, "4->") {
		t.Fatalf("a second scale-up after the restart: %q", ev)
	}
}

// TestSDKAutoscalerBurst: a cluster created with the SDK whose user pool
// autoscales 1–100 (profile through the SDK's model); pods that need a
// node each take the pool to 100 nodes, all Ready and the pods Running, and
// the pool's count and the scale set's capacity say 100.
func TestSDKAutoscalerBurst(t *testing.T) {
	t.Parallel()
	s := startServe(t, "")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, opts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	if status, _, body := s.request("PUT", s.sub()+"/resourcegroups/burst?api-version=2021-04-01", `{"location":"eastus"}`); status != 201 {
		t.Fatalf("group: %d %v", status, body)
	}
	mcs, _ := armcontainerservice.NewManagedClustersClient(sub, cred, opts)
	mc := armcontainerservice.ManagedCluster{
		Location: to.Ptr("eastus"),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			DNSPrefix: to.Ptr("burst"),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{
				{Name: to.Ptr("system"), Count: to.Ptr[int32](1), VMSize: to.Ptr("Standard_D2s_v5"), Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem)},
				{Name: to.Ptr("burst"), Count: to.Ptr[int32](1), VMSize: to.Ptr("Standard_D2s_v5"), Mode: to.Ptr(armcontainerservice.AgentPoolModeUser),
					EnableAutoScaling: to.Ptr(true), MinCount: to.Ptr[int32](1), MaxCount: to.Ptr[int32](100)},
			},
			NetworkProfile:    &armcontainerservice.NetworkProfile{NetworkPlugin: to.Ptr(armcontainerservice.NetworkPluginKubenet), PodCidr: to.Ptr("10.128.0.0/13")},
			AutoScalerProfile: &armcontainerservice.ManagedClusterPropertiesAutoScalerProfile{ScanInterval: to.Ptr("2s"), Expander: to.Ptr(armcontainerservice.ExpanderLeastWaste)},
		},
	}
	p, err := mcs.BeginCreateOrUpdate(ctx, "burst", "c1", mc, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if prof := res.Properties.AutoScalerProfile; prof == nil || *prof.ScanInterval != "2s" || *prof.Expander != armcontainerservice.ExpanderLeastWaste ||
		*prof.ScaleDownUnneededTime != "10m" {
		t.Fatalf("autoScalerProfile = %+v", prof)
	}
	creds, err := mcs.ListClusterAdminCredentials(ctx, "burst", "c1", nil)
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, creds.Kubeconfigs[0].Value, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "burst.yaml")
	if err := os.WriteFile(path, []byte(spreadDeployment("burst", "burst", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, kc, "apply", "-f", path)
	pools, _ := armcontainerservice.NewAgentPoolsClient(sub, cred, opts)
	sets, _ := armcompute.NewVirtualMachineScaleSetsClient(sub, cred, opts)
	eventually(t, "100 nodes, 100 pods", 120*time.Second, func() string {
		ready := 0
		for _, n := range nodes(t, kc) {
			if n.Metadata.Labels["agentpool"] == "burst" && n.ready() {
				ready++
			}
		}
		running := strings.Count(mustKubectl(t, kc, "get", "pods", "-l", "app=burst", "--field-selector", "status.phase=Running", "-o", "name"), "pod/")
		pool, err := pools.Get(ctx, "burst", "c1", "burst", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ready != 100 || running != 100 || *pool.Properties.Count != 100 {
			return fmt.Sprintf("%d nodes Ready, %d pods running, pool count %d", ready, running, *pool.Properties.Count)
		}
		return ""
	})
	pager := sets.NewListPager("MC_burst_c1_eastus", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			if *v.Tags["aks-managed-poolName"] == "burst" && *v.SKU.Capacity != 100 {
				t.Errorf("scale set %s capacity %d", *v.Name, *v.SKU.Capacity)
			}
		}
	}
}
