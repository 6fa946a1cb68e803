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

// poolBody is an agent pool on the wire.
type poolBody struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
}

func renderPool(pool *aks.Pool) (*poolBody, error) {
	props, err := pool.Public(false)
	if err != nil {
		return nil, err
	}
	return &poolBody{ID: pool.Record.ID, Name: pool.Record.Name, Type: aks.PoolType, Properties: props}, nil
}

func (p *Provider) getPool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body *poolBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, _, pool, err := aks.GetPool(tx, req.Route.ID)
		if err != nil {
			return err
		}
		body, err = renderPool(pool)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

func (p *Provider) listPools(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []*poolBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, pools, err := aks.Get(tx, req.Route.ID)
		if err != nil {
			return err
		}
		for _, pool := range pools {
			b, err := renderPool(pool)
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
		out = []*poolBody{}
	}
	return arm.OK(arm.List{Value: out}), nil
}

// putPool creates or updates an agent pool (201/200, long-running).
func (p *Provider) putPool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	var in struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	op, err := p.engine.NewOperation(kindPoolReconcile, id.SubscriptionID(), Namespace, "", id.String(),
		opInput{Cluster: aks.ClusterOf(id).String(), Pool: id.Name()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	status := http.StatusOK
	var body *poolBody
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		pool, c, created, err := p.rules.PutPool(tx, req, id, in.Properties, op.ID)
		if c != nil {
			op.Location = c.Record.Location
		}
		if err != nil {
			return err
		}
		if created {
			status = http.StatusCreated
		}
		var cluster *aks.Cluster
		if c.EnsureAutoScalerProfile(pool) {
			cluster = c
		}
		if err := aks.Save(tx, cluster, pool); err != nil {
			return err
		}
		body, err = renderPool(pool)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.engine.AsyncOnly(req, op, status, body), nil
}

// deletePool deletes an agent pool (202, long-running; 204 when it does not
// exist).
func (p *Provider) deletePool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	op, err := p.engine.NewOperation(kindPoolDelete, id.SubscriptionID(), Namespace, "", id.String(),
		opInput{Cluster: aks.ClusterOf(id).String(), Pool: id.Name()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		pool, c, err := aks.BeginDeletePool(tx, req, id, op.ID)
		if c != nil {
			op.Location = c.Record.Location
		}
		if err != nil {
			return err
		}
		return aks.Save(tx, nil, pool)
	})
	if errors.Is(err, aks.ErrPoolGone) {
		return arm.NoContent(), nil
	}
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}
