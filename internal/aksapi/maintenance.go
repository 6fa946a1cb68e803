package aksapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

func (p *Provider) getMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.store, func(tx store.Tx) (any, error) {
		if _, _, err := aks.Get(tx, aks.ClusterOf(req.Route.ID)); err != nil {
			return nil, err
		}
		r, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			return nil, arm.ErrResourceNotFound(aks.MaintenanceType, aks.ClusterOf(req.Route.ID).Name()+"/"+req.Route.ID.Name(), req.Route.ID.ResourceGroupName())
		} else if err != nil {
			return nil, err
		}
		return maintenanceBody(r)
	})
}

func (p *Provider) listMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		if _, _, err := aks.Get(tx, req.Route.ID); err != nil {
			return err
		}
		rs, err := tx.List(store.Query{Parent: req.Route.ID.String(), Type: aks.MaintenanceType})
		if err != nil {
			return err
		}
		for _, r := range rs {
			b, err := maintenanceBody(r)
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
		out = []map[string]any{}
	}
	return arm.OK(arm.List{Value: out}), nil
}

func (p *Provider) putMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if len(in.Properties) == 0 {
		in.Properties = json.RawMessage(`{}`)
	}
	if err := aks.ValidateMaintenance(req.Route.ID.Name(), in.Properties); err != nil {
		return nil, err
	}
	status := http.StatusOK
	var body map[string]any
	err := p.store.Update(ctx, func(tx store.Tx) error {
		if _, _, err := aks.Get(tx, aks.ClusterOf(req.Route.ID)); err != nil {
			return err
		}
		existing, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			status, existing = http.StatusCreated, nil
		} else if err != nil {
			return err
		}
		if err := req.CheckPreconditions(existing); err != nil {
			return err
		}
		r := &store.Resource{ID: req.Route.ID.String(), Type: aks.MaintenanceType, Name: req.Route.ID.Name(), Properties: in.Properties}
		arm.Stamp(r, req.Caller, time.Now())
		if err := tx.Put(r); err != nil {
			return err
		}
		body, err = maintenanceBody(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: body}, nil
}

func (p *Provider) deleteMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	n := 0
	err := p.store.Update(ctx, func(tx store.Tx) error {
		if _, _, err := aks.Get(tx, aks.ClusterOf(req.Route.ID)); err != nil {
			return err
		}
		var err error
		n, err = tx.Delete(req.Route.ID.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.Deleted(n > 0), nil
}
