package main

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/localaks/localaks/internal/kwatch"
)

// benchAutoscaler measures the cluster autoscaler on simulated nodes: a
// cluster with a system pool of one node and a user pool autoscaled from
// one node up to nodes, the profile's scan interval as given; one pending
// pod → its new node Ready and the pod Running; then pods that need nodes
// nodes → the pool at nodes, every node Ready and every pod Running.
func benchAutoscaler(ctx context.Context, out, logw io.Writer, bin string, nodes int, scan time.Duration) error {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "bench: "+format+"\n", args...) }
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	bin, cleanup, err := localaksBinary(ctx, logf, bin)
	if err != nil {
		return err
	}
	defer cleanup()
	b, err := start(ctx, instanceConfig{conns: 4, controlPlane: []string{bin, "controlplane"}})
	if err != nil {
		return err
	}
	defer func() { b.stop() }()
	if err := b.createGroup(ctx, "bench"); err != nil {
		return err
	}
	mc := kubenetCluster("cas", 1, false)
	mc.Properties.AgentPoolProfiles = append(mc.Properties.AgentPoolProfiles, &armcontainerservice.ManagedClusterAgentPoolProfile{
		Name: to.Ptr("burst"), Count: to.Ptr(int32(1)), VMSize: to.Ptr("Standard_D2s_v5"), Mode: to.Ptr(armcontainerservice.AgentPoolModeUser),
		EnableAutoScaling: to.Ptr(true), MinCount: to.Ptr(int32(1)), MaxCount: to.Ptr(int32(nodes)),
	})
	mc.Properties.AutoScalerProfile = &armcontainerservice.ManagedClusterPropertiesAutoScalerProfile{ScanInterval: to.Ptr(fmt.Sprintf("%ds", int(scan.Seconds())))}
	logf("create a cluster with a pool autoscaled 1–%d, scan interval %v", nodes, scan)
	p, err := b.clusters.BeginCreateOrUpdate(ctx, "bench", "cas", mc, nil)
	if err != nil {
		return err
	}
	if _, err := await(ctx, p); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	rc, err := b.restConfig(ctx, "cas")
	if err != nil {
		return err
	}
	var rows []measure
	add := func(m measure) {
		logf("%s: %s", m.name, m.format(m.ours))
		rows = append(rows, m)
	}

	// One pod more than the pool holds.
	node, pod, err := scaleOut(ctx, rc, "one", 2, 2)
	if err != nil {
		return err
	}
	add(measure{name: "1 pending pod → its new node Ready", ours: node.Seconds(), unit: "s"})
	add(measure{name: "1 pending pod → Running on the new node", ours: pod.Seconds(), unit: "s"})

	// A burst: pods for every node the pool may have.
	logf("deploy %d pods, one per node", nodes)
	node, pod, err = scaleOut(ctx, rc, "burst", nodes, nodes)
	if err != nil {
		return err
	}
	add(measure{name: fmt.Sprintf("%d pending pods → the pool at %d nodes, all Ready", nodes, nodes), ours: node.Seconds(), unit: "s"})
	add(measure{name: fmt.Sprintf("%d pending pods → all Running", nodes), ours: pod.Seconds(), unit: "s"})

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s, %d CPUs, Go %s; scan interval %v, simulated nodes\n", machine(), goruntime.NumCPU(), goruntime.Version(), scan)
	fmt.Fprintln(tw, "measure\tlocalaks")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.name, r.format(r.ours))
	}
	return tw.Flush()
}

// scaleOut deploys replicas pods of app on the burst pool, one per node
// (required anti-affinity on the host name), and returns the times until
// the pool's Ready nodes number poolNodes and until every pod runs.
func scaleOut(ctx context.Context, cfg *rest.Config, app string, replicas, poolNodes int) (nodes, pods time.Duration, err error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, 0, err
	}
	nw, err := kwatch.Nodes(ctx, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer nw.Stop()
	pw, err := kwatch.Pods(ctx, cfg, "default", "app="+app)
	if err != nil {
		return 0, 0, err
	}
	defer pw.Stop()
	n := int32(replicas)
	labels := map[string]string{"app": app}
	start := time.Now()
	_, err = cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"agentpool": "burst"},
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, TopologyKey: "kubernetes.io/hostname"}}}},
					Containers: []corev1.Container{{Name: "pause", Image: "pause:3.10",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}},
				}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return 0, 0, err
	}
	// The system pool's node is Ready too.
	nodeAt, err := nw.Until(ctx, poolNodes+1)
	if err != nil {
		return 0, 0, err
	}
	podAt, err := pw.Until(ctx, replicas)
	if err != nil {
		return 0, 0, err
	}
	return nodeAt.Sub(start), podAt.Sub(start), nil
}
