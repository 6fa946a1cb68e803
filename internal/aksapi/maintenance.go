package aksapi

import (
	"context"
	"encoding/json"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// registerMaintenance serves maintenance configurations: synchronous child
// resources of a cluster, ARM's tracked-resource behaviour with AKS's
// rules (aks.ValidateMaintenance) and the cluster's 404s.
func (p *Provider) registerMaintenance(reg *arm.Registry, rt *arm.ResourceType) {
	t := &arm.Tracked{ResourceType: rt, Store: p.store,
		Parent: p.clusterParent,
		Prepare: func(_ context.Context, _ store.Tx, _ *arm.Request, r, _ *store.Resource) error {
			if len(r.Properties) == 0 {
				r.Properties = json.RawMessage(`{}`)
			}
			return aks.ValidateMaintenance(r.Name, r.Properties)
		},
		Render: func(_ store.Tx, _ *arm.Request, r *store.Resource) (any, error) { return maintenanceBody(r) },
	}
	t.Install(reg)
	t.Patch = nil // AKS has no PATCH of maintenance configurations
}
