package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/ingress"
	"github.com/localaks/localaks/internal/nodesim"
	"github.com/localaks/localaks/internal/workloads"
)

// converger brings the cluster to a spec: system workloads, then nodes.
type converger struct {
	log    *slog.Logger
	sim    *nodesim.Simulator
	client kubernetes.Interface
	rest   *rest.Config
	events *events
	// ready closes when the API server's /readyz first passes.
	ready <-chan struct{}
}

// converge retries until the spec is reached (then reports converged), a
// drain times out (reports failed), or ctx ends (a newer spec came).
func (c *converger) converge(ctx context.Context, s *clusterspec.Spec) {
	backoff := 100 * time.Millisecond
	for {
		ready, err := c.once(ctx, s)
		if err == nil {
			select {
			case <-c.ready:
			case <-ctx.Done():
				return
			}
			c.events.send(clusterspec.Event{Type: clusterspec.EventConverged, Generation: s.Generation, ReadyNodes: ready})
			return
		}
		if ctx.Err() != nil {
			return
		}
		var de *nodesim.DrainError
		if errors.As(err, &de) {
			c.events.send(clusterspec.Event{Type: clusterspec.EventFailed, Generation: s.Generation, Code: "PodDrainFailure", Error: err.Error()})
			return
		}
		c.log.Warn("converge", "generation", s.Generation, "err", err, "retry in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *converger) once(ctx context.Context, s *clusterspec.Spec) (int, error) {
	if err := workloads.Apply(ctx, c.rest, s); err != nil {
		return 0, err
	}
	ready, err := c.sim.Sync(ctx, s)
	if err != nil || !s.AppRouting {
		return ready, err
	}
	return ready, c.restartPulling(ctx, ingress.AppRoutingNamespace)
}

// restartPulling deletes the pods of namespace whose images could not be
// pulled: turning application routing on while real nodes run, the
// add-on's pods may start before its image is imported into their nodes
// (the nodes Sync just gave it to), and would wait out the kubelet's pull
// back-off; their ReplicaSet replaces them at once.
func (c *converger) restartPulling(ctx context.Context, namespace string) error {
	pods, err := c.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		for _, st := range p.Status.ContainerStatuses {
			if w := st.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				c.log.Info("restarting a pod that waited for its image", "pod", namespace+"/"+p.Name)
				if err := c.client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return err
				}
				break
			}
		}
	}
	return nil
}
