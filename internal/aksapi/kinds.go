package aksapi

import (
	"context"
	"encoding/json"

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
	finish := func(fn func(tx store.Tx, in opInput, op *store.Operation) error) func(store.Tx, *store.Operation) error {
		return func(tx store.Tx, op *store.Operation) error {
			in, err := input(op)
			if err != nil {
				return err
			}
			return fn(tx, in, op)
		}
	}
	finishCluster := func(power aks.PowerChange) func(store.Tx, *store.Operation) error {
		return finish(func(tx store.Tx, in opInput, op *store.Operation) error {
			return aks.FinishCluster(tx, in.Cluster, op, power)
		})
	}
	finishPool := func(deleting bool) func(store.Tx, *store.Operation) error {
		return finish(func(tx store.Tx, in opInput, op *store.Operation) error {
			return aks.FinishPool(tx, in.Cluster, in.Pool, op, deleting)
		})
	}
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterReconcile,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.Reconcile(ctx, in.Cluster) }),
		Finish: finishCluster("")})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindRunCommand, Run: p.execCommand})
	for kind, what := range map[string]clusterspec.Rotation{kindClusterRotate: clusterspec.RotateCertificates, kindClusterRotateKeys: clusterspec.RotateServiceAccountKeys} {
		p.engine.RegisterKind(&arm.OperationKind{Name: kind,
			Run:    run(func(ctx context.Context, in opInput) error { return p.rec.Rotate(ctx, in.Cluster, what) }),
			Finish: finishCluster("")})
	}
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterStart,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.SetPower(ctx, in.Cluster, true) }),
		Finish: finishCluster(aks.PowerRunning)})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterStop,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.SetPower(ctx, in.Cluster, false) }),
		Finish: finishCluster(aks.PowerStopped)})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindClusterDelete,
		Run: run(func(ctx context.Context, in opInput) error { return p.rec.Teardown(ctx, in.Cluster) }),
		Finish: finish(func(tx store.Tx, in opInput, op *store.Operation) error {
			return aks.FinishClusterDelete(tx, in.Cluster, op)
		})})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindPoolReconcile,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.Reconcile(ctx, in.Cluster) }),
		Finish: finishPool(false)})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindPoolDelete,
		Run:    run(func(ctx context.Context, in opInput) error { return p.rec.RemovePool(ctx, in.Cluster, in.Pool) }),
		Finish: finishPool(true)})
}
