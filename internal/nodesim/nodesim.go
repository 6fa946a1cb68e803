// Package nodesim simulates the kubelets of a cluster's VMSS instances: it
// registers each instance as a Node the way AKS's node bootstrap does
// (names, labels, capacity, addresses), and runs KWOK's controllers to keep
// nodes Ready and to move pods through their lifecycle. Pod addresses come
// from the cluster's network model (a node's /24 for kubenet and overlay, the
// node's pre-allocated subnet addresses for Azure CNI), not from KWOK's own
// allocator.
package nodesim

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/kwok/kustomize/stage/node/fast"
	heartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/controllers"
	"sigs.k8s.io/kwok/pkg/utils/client"
	"sigs.k8s.io/kwok/pkg/utils/gotpl"

	"github.com/localaks/localaks/internal/clusterspec"
)

// ManagedLabel selects the nodes the simulator runs: every AKS node carries
// the cluster's node resource group under this label.
const ManagedLabel = "kubernetes.azure.com/cluster"

//go:embed pod-ready.yaml
var podReadyStage string

// Config configures a Simulator.
type Config struct {
	// Kubeconfig is the simulator's kubeconfig file.
	Kubeconfig string
	// LeaseDurationSeconds is each node's lease duration; leases are
	// renewed every quarter of it.
	LeaseDurationSeconds uint
	// KubeletCert and KubeletKey are the simulated kubelets' serving
	// certificate; without them simulated nodes serve no kubelet API.
	KubeletCert, KubeletKey string
	Log                     *slog.Logger
}

// Simulator registers nodes and runs their simulated kubelets.
type Simulator struct {
	cfg    Config
	client kubernetes.Interface
	rest   *rest.Config
	ips    *podIPs
	nodes  *nodeWatch

	mu       sync.Mutex
	spec     *clusterspec.Spec
	kubelets *kubeletServer

	// Registered, when set, runs in every Sync once the spec's nodes exist
	// as objects and before Sync waits for them to be Ready: the real nodes'
	// kubelets start there, and find their Node made as AKS's are.
	Registered func(context.Context, *clusterspec.Spec) error
	// Reimage, when set, reimages real nodes (drained) in an upgrade:
	// their kubelets come back reporting their pool's new version.
	Reimage func(context.Context, *clusterspec.Spec, []string) error
}

// New builds a simulator; Start runs it.
func New(cfg Config) (*Simulator, error) {
	cs, err := client.NewClientset("", cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	rc, err := cs.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	// Typed traffic (watches, lists, responses) in protobuf, as the
	// controller-manager and scheduler speak it: cheaper than JSON.
	pc := rest.CopyConfig(rc)
	pc.ContentType = "application/vnd.kubernetes.protobuf"
	pc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	typed, err := kubernetes.NewForConfig(pc)
	if err != nil {
		return nil, err
	}
	s := &Simulator{cfg: cfg, client: typed, rest: rc}
	s.ips = newPodIPs(s.nodeAddresses)
	return s, nil
}

// Client is the simulator's API client.
func (s *Simulator) Client() kubernetes.Interface { return s.client }

// SetSpec makes spec the one node addresses and registrations follow.
func (s *Simulator) SetSpec(spec *clusterspec.Spec) {
	s.mu.Lock()
	s.spec = spec
	s.mu.Unlock()
}

// nodeAddresses returns the pod addresses a node may hand out.
func (s *Simulator) nodeAddresses(node string) (addressSource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spec == nil {
		return addressSource{}, false
	}
	for _, n := range s.spec.Nodes {
		if n.Name == node {
			return addressSource{cidr: n.PodCIDR, list: n.PodIPs, nodeIP: n.InternalIP}, true
		}
	}
	return addressSource{}, false
}

// Start runs KWOK's controllers and the pod address bookkeeping until ctx
// ends.
func (s *Simulator) Start(ctx context.Context) error {
	cs, err := client.NewClientset("", s.cfg.Kubeconfig)
	if err != nil {
		return err
	}
	rc, err := cs.ToRESTConfig()
	if err != nil {
		return err
	}
	dyn, err := cs.ToDynamicClient()
	if err != nil {
		return err
	}
	mapper, err := cs.ToRESTMapper()
	if err != nil {
		return err
	}
	restClient, err := rest.RESTClientFor(rc)
	if err != nil {
		return err
	}
	stages, err := loadStages()
	if err != nil {
		return err
	}
	if err := s.ips.start(ctx, s.client); err != nil {
		return err
	}
	if err := s.startNodeWatch(ctx); err != nil {
		return err
	}
	ctr, err := controllers.NewController(controllers.Config{
		Clock:                        clock.RealClock{},
		DynamicClient:                dyn,
		RESTClient:                   restClient,
		RESTMapper:                   mapper,
		ImpersonatingDynamicClient:   cs.ToImpersonatingDynamicClient(),
		ImpersonatingTypedClient:     cs.ToImpersonatingTypedClient(),
		TypedClient:                  s.client,
		ManageNodesWithLabelSelector: ManagedLabel,
		// Real nodes carry the label too: their kubelets play themselves.
		ManageNodesWithAnnotationSelector: SimulatedAnnotation + "=fake",
		LocalStages:                       stages,
		NodeLeaseDurationSeconds:          s.cfg.LeaseDurationSeconds,
		// Enough parallelism that a 1000-node scale-out or a 1000-pod
		// Deployment is not queued behind a handful of workers.
		PodPlayStageParallelism:   16,
		NodePlayStageParallelism:  16,
		NodeLeaseParallelism:      8,
		PodsOnNodeSyncParallelism: 8,
		// The simulated kubelets' resource metrics (kubelet.go) need
		// KWOK's pods-per-node bookkeeping and its pod cache.
		EnableMetrics:  s.cfg.KubeletCert != "",
		EnablePodCache: s.cfg.KubeletCert != "",
		ID:             "localaks",
		FuncMap: gotpl.FuncMap{
			"PodIPWith":   s.ips.podIP,
			"PodIPsWith":  s.ips.podIPs,
			"ContainerID": containerID,
			"ImageID":     imageID,
		},
	})
	if err != nil {
		return err
	}
	if err := ctr.Start(ctx); err != nil {
		return err
	}
	return s.startKubelets(ctx, ctr)
}

// loadStages reads the lifecycle stages: KWOK's node initialisation and
// lease heartbeat, pod completion (Jobs) and deletion, and localaks's own pod
// start.
func loadStages() (map[internalversion.StageResourceRef][]*internalversion.Stage, error) {
	out := map[internalversion.StageResourceRef][]*internalversion.Stage{}
	for _, raw := range []string{fast.DefaultNodeInit, heartbeat.DefaultNodeHeartbeatWithLease,
		podReadyStage, podfast.DefaultPodComplete, podfast.DefaultPodDelete} {
		st, err := config.UnmarshalWithType[*internalversion.Stage](raw)
		if err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		out[st.Spec.ResourceRef] = append(out[st.Spec.ResourceRef], st)
	}
	return out, nil
}

// containerID is a container's runtime ID: stable for a pod and container.
func containerID(podUID, name string) string {
	sum := sha256.Sum256([]byte(podUID + "/" + name))
	return "containerd://" + hex.EncodeToString(sum[:])
}

// imageID is an image's digest reference.
func imageID(image string) string {
	sum := sha256.Sum256([]byte(image))
	repo := image
	for i := len(image) - 1; i >= 0; i-- {
		if image[i] == ':' {
			repo = image[:i]
			break
		}
		if image[i] == '/' {
			break
		}
	}
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}
