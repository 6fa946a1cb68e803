package aksapi

import (
	"context"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// registerSnapshots serves node-pool snapshots: tracked resources written
// synchronously (as AKS answers them: PUT 200/201, PATCH of tags, DELETE
// 200/204), whose properties are read from the source pool when taken
// (aks.PrepareSnapshot). A pool or cluster created with creationData
// naming one takes its version and node image.
func (p *Provider) registerSnapshots(reg *arm.Registry, rt *arm.ResourceType) {
	t := &arm.Tracked{ResourceType: rt, Store: p.store, Located: true, ValidateName: aks.ValidateSnapshotName,
		Prepare: func(_ context.Context, tx store.Tx, _ *arm.Request, r, existing *store.Resource) error {
			return aks.PrepareSnapshot(tx, r, existing)
		},
	}
	t.Install(reg)
}
