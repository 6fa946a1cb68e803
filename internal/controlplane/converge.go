package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/localaks/localaks/internal/clusterspec"
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
	return c.sim.Sync(ctx, s)
}
