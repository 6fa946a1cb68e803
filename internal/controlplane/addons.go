package controlplane

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/client-go/kubernetes"

	"github.com/localaks/localaks/internal/agic"
	"github.com/localaks/localaks/internal/clusterspec"
)

// agicRunner runs the AGIC controller while the spec enables the add-on,
// restarting it when its gateway changes.
type agicRunner struct {
	client kubernetes.Interface
	log    *slog.Logger

	mu      sync.Mutex
	current clusterspec.AGIC
	stop    context.CancelFunc
	done    chan struct{}
}

// set makes the controller match spec; ctx bounds its life.
func (r *agicRunner) set(ctx context.Context, spec *clusterspec.Spec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var want clusterspec.AGIC
	if spec.AGIC != nil {
		want = *spec.AGIC
	}
	if r.stop != nil && want == r.current {
		return
	}
	if r.stop != nil {
		r.stop()
		<-r.done
		r.stop, r.done = nil, nil
	}
	r.current = want
	if want.GatewayID == "" || spec.Cloud.ARMEndpoint == "" {
		return
	}
	c, err := agic.New(r.client, spec.Cloud, want.GatewayID, want.WatchNamespace, r.log)
	if err != nil {
		r.log.Error("ingress-appgw add-on", "err", err)
		return
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r.stop, r.done = cancel, done
	go func() {
		defer close(done)
		if err := c.Run(cctx); err != nil && cctx.Err() == nil {
			r.log.Error("ingress-appgw add-on", "err", err)
		}
	}()
}
