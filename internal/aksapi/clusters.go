package aksapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// clusterBody is a managed cluster on the wire.
type clusterBody struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	Location         string            `json:"location"`
	Tags             map[string]string `json:"tags,omitempty"`
	SKU              json.RawMessage   `json:"sku,omitempty"`
	Identity         json.RawMessage   `json:"identity,omitempty"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation,omitempty"`
	Kind             string            `json:"kind,omitempty"`
	Properties       map[string]any    `json:"properties"`
	SystemData       *store.SystemData `json:"systemData,omitempty"`
}

// render shows a cluster as the api-version in the request has it.
func (p *Provider) render(req *arm.Request, c *aks.Cluster, pools []*aks.Pool) (*clusterBody, error) {
	props, err := c.Public()
	if err != nil {
		return nil, err
	}
	var profiles []map[string]any
	for _, pool := range pools {
		pp, err := pool.Public(true)
		if err != nil {
			return nil, err
		}
		profiles = append(profiles, pp)
	}
	if profiles != nil {
		props["agentPoolProfiles"] = profiles
	}
	shapeForVersion(req.APIVersion, props)
	r := c.Record
	return &clusterBody{ID: r.ID, Name: r.Name, Type: "Microsoft.ContainerService/ManagedClusters", Location: r.Location,
		Tags: r.Tags, SKU: r.SKU, Identity: r.Identity, ExtendedLocation: r.ExtendedLocation, Kind: r.Kind, Properties: props}, nil
}

// shapeForVersion adjusts a cluster body for older api-versions: before
// 2023-05-01 the network profile had dockerBridgeCidr (AKS filled in
// 172.17.0.1/16); later versions dropped it.
func shapeForVersion(version string, props map[string]any) {
	np, ok := props["networkProfile"].(map[string]any)
	if !ok {
		return
	}
	if version < "2023-05-01" {
		if _, has := np["dockerBridgeCidr"]; !has {
			np["dockerBridgeCidr"] = "172.17.0.1/16"
		}
	} else {
		delete(np, "dockerBridgeCidr")
	}
}

func (p *Provider) getCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body *clusterBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		c, pools, err := aks.Get(tx, req.Route.ID)
		if err != nil {
			return err
		}
		body, err = p.render(req, c, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

func (p *Provider) listClusters(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	scope := req.Route.ID
	q := store.Query{Subscription: scope.SubscriptionID(), Type: aks.ClusterType, ResourceGroup: scope.ResourceGroupName()}
	var out []any
	var next string
	err := p.store.View(ctx, func(tx store.Tx) error {
		if rg := scope.ResourceGroupName(); rg != "" {
			if _, err := tx.Get(scope.String()); errors.Is(err, store.ErrNotFound) {
				return arm.ErrResourceGroupNotFound(rg)
			}
		}
		page, nl, err := arm.ListPage(tx, req, q, nil)
		if err != nil {
			return err
		}
		next = nl
		for _, r := range page {
			c, pools, err := aks.Load(tx, r.ID)
			if err != nil {
				return err
			}
			b, err := p.render(req, c, pools)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []any{}
	}
	return arm.OK(arm.List{Value: out, NextLink: next}), nil
}

// putCluster creates or updates a managed cluster (201/200, long-running).
func (p *Provider) putCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if err := aks.ValidateClusterName(id.Name()); err != nil {
		return nil, err
	}
	var in aks.ClusterInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	op, err := p.engine.NewOperation(kindClusterReconcile, id.SubscriptionID(), Namespace, "", id.String(), opInput{Cluster: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	status := http.StatusOK
	var body *clusterBody
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, pools, created, err := p.rules.PutCluster(tx, req, id, &in, op.ID)
		if err != nil {
			return err
		}
		if created {
			status = http.StatusCreated
		}
		op.Location = c.Record.Location
		if err := aks.Save(tx, c, pools...); err != nil {
			return err
		}
		body, err = p.render(req, c, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.engine.AsyncOnly(req, op, status, body), nil
}

func (p *Provider) patchCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if err := arm.ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	var body *clusterBody
	err := p.store.Update(ctx, func(tx store.Tx) error {
		c, pools, err := p.rules.PatchTags(tx, req, req.Route.ID, in.Tags)
		if err != nil {
			return err
		}
		if err := aks.Save(tx, c); err != nil {
			return err
		}
		body, err = p.render(req, c, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

// deleteCluster deletes a cluster and its node resource group (202,
// long-running; 204 when it does not exist). It preempts the operation
// running on the cluster.
func (p *Provider) deleteCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	var exists bool
	var preempt string
	err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		exists, preempt, err = aks.PrepareDelete(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !exists {
		return arm.NoContent(), nil
	}
	if preempt != "" {
		if err := p.engine.Cancel(ctx, preempt); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, arm.ErrInternal(err)
		}
	}
	op, err := p.engine.NewOperation(kindClusterDelete, id.SubscriptionID(), Namespace, "", id.String(), opInput{Cluster: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, pools, err := aks.BeginDeleteCluster(tx, req, id, op.ID)
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		return aks.Save(tx, c, pools...)
	})
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}
