package aksapi

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Trusted access, service mesh profiles, outbound dependencies and access
// profiles: the smaller parts of the AKS API.

// registerTrustedAccess serves the roles AKS offers per location and a
// cluster's role bindings (written as completed asynchronous operations:
// PUT 200/201 and DELETE 202 with an Azure-AsyncOperation, as AKS answers
// them).
func (p *Provider) registerTrustedAccess(reg *arm.Registry, roles, bindings *arm.ResourceType) {
	roles.List = func(context.Context, *arm.Request) (*arm.Response, error) {
		out := make([]any, 0, len(aks.TrustedAccessRoles))
		for _, r := range aks.TrustedAccessRoles {
			out = append(out, r)
		}
		return arm.OK(arm.List{Value: out}), nil
	}
	reg.Register(roles)
	t := &arm.Tracked{ResourceType: bindings, Store: p.store, Operations: p.engine, ValidateName: aks.ValidateTrustedAccessBindingName,
		Parent: p.clusterParent,
		Prepare: func(_ context.Context, _ store.Tx, _ *arm.Request, r, existing *store.Resource) error {
			var old json.RawMessage
			if existing != nil {
				old = existing.Properties
			}
			props, err := aks.PrepareTrustedAccessBinding(r.Properties, old)
			if err != nil {
				return err
			}
			r.Properties = props
			return nil
		},
	}
	t.Install(reg)
	t.Patch = nil // AKS has no PATCH of bindings
}

// clusterParent answers a cluster's own 404s for its child resources.
func (p *Provider) clusterParent(tx store.Tx, cluster resourceid.ID) error {
	_, _, err := aks.Get(tx, cluster)
	return err
}

// registerMesh serves the Istio revisions offered per location and a
// cluster's mesh upgrade profiles.
func (p *Provider) registerMesh(reg *arm.Registry, revisions, upgrades *arm.ResourceType) {
	revisionProfile := func(scope resourceid.ID) map[string]any {
		return map[string]any{"id": scope.String() + "/meshRevisionProfiles/" + aks.MeshMode, "name": aks.MeshMode,
			"type": Namespace + "/locations/meshRevisionProfiles", "properties": map[string]any{"meshRevisions": aks.MeshRevisions}}
	}
	revisions.List = func(_ context.Context, req *arm.Request) (*arm.Response, error) {
		return arm.OK(arm.List{Value: []any{revisionProfile(req.Route.ID)}}), nil
	}
	revisions.Get = func(_ context.Context, req *arm.Request) (*arm.Response, error) {
		if !strings.EqualFold(req.Route.ID.Name(), aks.MeshMode) {
			return nil, aks.ErrNoMeshProfile(req.Route.ID.Name())
		}
		return arm.OK(revisionProfile(req.Route.ID.Parent())), nil
	}
	reg.Register(revisions)

	// A cluster without an Istio mesh has no upgrade profile.
	upgradeProfile := func(ctx context.Context, cluster resourceid.ID) (map[string]any, error) {
		c, err := p.viewCluster(ctx, cluster)
		if err != nil {
			return nil, err
		}
		up := c.MeshUpgrade()
		if up == nil {
			return nil, nil
		}
		return map[string]any{"id": cluster.String() + "/meshUpgradeProfiles/" + aks.MeshMode, "name": aks.MeshMode,
			"type": Namespace + "/managedClusters/meshUpgradeProfiles", "properties": up}, nil
	}
	upgrades.List = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		prof, err := upgradeProfile(ctx, req.Route.ID)
		if err != nil {
			return nil, err
		}
		out := []any{}
		if prof != nil {
			out = append(out, prof)
		}
		return arm.OK(arm.List{Value: out}), nil
	}
	upgrades.Get = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		prof, err := upgradeProfile(ctx, req.Route.ID.Parent())
		if err != nil {
			return nil, err
		}
		if prof == nil || !strings.EqualFold(req.Route.ID.Name(), aks.MeshMode) {
			return nil, aks.ErrNoMeshProfile(req.Route.ID.Name())
		}
		return arm.OK(prof), nil
	}
	reg.Register(upgrades)
}

// outboundDependencies serves a cluster's outbound network dependencies.
func (p *Provider) outboundDependencies(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	c, err := p.viewCluster(ctx, req.Route.ID)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, e := range c.OutboundEndpoints() {
		out = append(out, e)
	}
	return arm.OK(arm.List{Value: out}), nil
}

// registerIdentityBindings serves a cluster's identity bindings (written
// as completed asynchronous operations).
func (p *Provider) registerIdentityBindings(reg *arm.Registry, rt *arm.ResourceType) {
	t := &arm.Tracked{ResourceType: rt, Store: p.store, Operations: p.engine, ValidateName: aks.ValidateIdentityBindingName,
		Parent: p.clusterParent,
		Prepare: func(_ context.Context, tx store.Tx, _ *arm.Request, r, existing *store.Resource) error {
			c, _, err := aks.Get(tx, resourceid.MustParse(r.ID).Parent())
			if err != nil {
				return err
			}
			var old json.RawMessage
			if existing != nil {
				old = existing.Properties
			}
			props, err := aks.PrepareIdentityBinding(tx, c, r.Properties, old)
			if err != nil {
				return err
			}
			r.Properties = props
			return nil
		},
	}
	t.Install(reg)
	t.Patch = nil
}
