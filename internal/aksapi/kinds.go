package aksapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/store"
)

// Operation kinds.
const (
	kindClusterReconcile  = "Microsoft.ContainerService/managedClusters/reconcile"
	kindClusterDelete     = "Microsoft.ContainerService/managedClusters/delete"
	kindClusterStop       = "Microsoft.ContainerService/managedClusters/stop"
	kindClusterStart      = "Microsoft.ContainerService/managedClusters/start"
	kindClusterRotate     = "Microsoft.ContainerService/managedClusters/rotateClusterCertificates"
	kindClusterRotateKeys = "Microsoft.ContainerService/managedClusters/rotateServiceAccountSigningKeys"
	kindRunCommand        = "Microsoft.ContainerService/managedClusters/runCommand"
	kindPoolReconcile     = "Microsoft.ContainerService/managedClusters/agentPools/reconcile"
	kindPoolDelete        = "Microsoft.ContainerService/managedClusters/agentPools/delete"
)

// opInput is what every AKS operation carries.
type opInput struct {
	Cluster string `json:"cluster"`
	Pool    string `json:"pool,omitempty"`
}

func input(op *store.Operation) (opInput, error) {
	var in opInput
	err := json.Unmarshal(op.Input, &in)
	return in, err
}

func (p *Provider) registerKinds() {
	run := func(fn func(ctx context.Context, in opInput) error) func(context.Context, *store.Operation) (*arm.Outcome, error) {
		return func(ctx context.Context, op *store.Operation) (*arm.Outcome, error) {
			in, err := input(op)
			if err != nil {
				return nil, err
			}
			return nil, fn(ctx, in)
		}
	}
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterReconcile,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.Reconcile(ctx, in.Cluster) }),
		Finish: p.finishCluster(nil)})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindRunCommand, Run: p.execCommand})
	for kind, what := range map[string]clusterspec.Rotation{kindClusterRotate: clusterspec.RotateCertificates, kindClusterRotateKeys: clusterspec.RotateServiceAccountKeys} {
		p.engine.RegisterKind(&arm.OperationKind{Name: kind,
			Run:    run(func(ctx context.Context, in opInput) error { return p.rec.Rotate(ctx, in.Cluster, what) }),
			Finish: p.finishCluster(nil)})
	}
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterStart,
		Run: run(func(ctx context.Context, in opInput) error { return p.rec.SetPower(ctx, in.Cluster, true) }),
		Finish: p.finishCluster(func(c *aks.Cluster, pools []*aks.Pool, ok bool) {
			if ok {
				setPower(c, pools, "Running")
			}
		})})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterStop,
		Run: run(func(ctx context.Context, in opInput) error { return p.rec.SetPower(ctx, in.Cluster, false) }),
		Finish: p.finishCluster(func(c *aks.Cluster, pools []*aks.Pool, ok bool) {
			if ok {
				setPower(c, pools, "Stopped")
			}
		})})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterDelete,
		Run: run(func(ctx context.Context, in opInput) error { return p.rec.Teardown(ctx, in.Cluster) }),
		Finish: func(tx store.Tx, op *store.Operation) error {
			in, err := input(op)
			if err != nil {
				return err
			}
			if op.Status == store.StatusSucceeded {
				_, err := tx.Delete(in.Cluster)
				return err
			}
			return p.finishCluster(nil)(tx, op)
		}})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindPoolReconcile,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.Reconcile(ctx, in.Cluster) }),
		Finish: p.finishPool(false)})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindPoolDelete,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.RemovePool(ctx, in.Cluster, in.Pool) }),
		Finish: p.finishPool(true)})
}

func setPower(c *aks.Cluster, pools []*aks.Pool, code string) {
	c.Props.PowerState = &aks.PowerState{Code: code}
	for _, pool := range pools {
		pool.Props.PowerState = &aks.PowerState{Code: code}
	}
}

// terminalState maps an operation's end to a provisioning state.
func terminalState(op *store.Operation) string {
	switch op.Status {
	case store.StatusSucceeded:
		return aks.StateSucceeded
	case store.StatusCanceled:
		return aks.StateCanceled
	}
	return aks.StateFailed
}

// finishCluster ends a cluster operation: the cluster and every pool it
// touched take the terminal state, and the operation marker is cleared; adjust
// may change more (power state).
func (p *Provider) finishCluster(adjust func(c *aks.Cluster, pools []*aks.Pool, ok bool)) func(store.Tx, *store.Operation) error {
	return func(tx store.Tx, op *store.Operation) error {
		in, err := input(op)
		if err != nil {
			return err
		}
		c, pools, err := aks.Load(tx, in.Cluster)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		state := terminalState(op)
		if c.Props.Localaks.Operation == op.ID {
			c.Props.ProvisioningState = state
			c.Props.Localaks.Operation, c.Props.Localaks.OperationKind = "", ""
		}
		if adjust != nil {
			adjust(c, pools, op.Status == store.StatusSucceeded)
		}
		for _, pool := range pools {
			if pool.Props.Localaks.Operation == op.ID || !aks.Terminal(pool.Props.ProvisioningState) {
				pool.Props.ProvisioningState = state
				pool.Props.Localaks.Operation, pool.Props.Localaks.OperationKind = "", ""
			}
			if err := pool.Encode(); err != nil {
				return err
			}
			if err := tx.Put(pool.Record); err != nil {
				return err
			}
		}
		if err := c.Encode(); err != nil {
			return err
		}
		return tx.Put(c.Record)
	}
}

// finishPool ends a pool operation; a successful delete removes the pool.
func (p *Provider) finishPool(deleting bool) func(store.Tx, *store.Operation) error {
	return func(tx store.Tx, op *store.Operation) error {
		in, err := input(op)
		if err != nil {
			return err
		}
		r, err := tx.Get(in.Cluster + "/agentPools/" + in.Pool)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if deleting && op.Status == store.StatusSucceeded {
			_, err := tx.Delete(r.ID)
			return err
		}
		pool, err := aks.DecodePool(r)
		if err != nil {
			return err
		}
		if pool.Props.Localaks.Operation == op.ID {
			pool.Props.ProvisioningState = terminalState(op)
			pool.Props.Localaks.Operation, pool.Props.Localaks.OperationKind = "", ""
		}
		if err := pool.Encode(); err != nil {
			return err
		}
		return tx.Put(pool.Record)
	}
}
