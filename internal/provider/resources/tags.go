package resources

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// The tags of any resource, resource group or subscription, as the extension
// resource {scope}/providers/Microsoft.Resources/tags/default.

type tagsBody struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Tags map[string]string `json:"tags"`
	} `json:"properties"`
}

func renderTags(req *arm.Request, tags map[string]string) *tagsBody {
	b := &tagsBody{ID: req.Route.ID.String(), Name: "default", Type: "Microsoft.Resources/tags"}
	b.Properties.Tags = tags
	if b.Properties.Tags == nil {
		b.Properties.Tags = map[string]string{}
	}
	return b
}

// withScope loads the resource the tags belong to, lets fn change its tags
// (write) or read them, and renders the result.
func (p *Provider) withScope(ctx context.Context, req *arm.Request, write bool, fn func(r *store.Resource) error) (*arm.Response, error) {
	if !strings.EqualFold(req.Route.ID.Name(), "default") {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidTagsResourceName", "The tags resource name must be 'default'.")
	}
	scope := req.Route.ID.Parent()
	var tags map[string]string
	run := p.store.View
	if write {
		run = p.store.Update
	}
	err := run(ctx, func(tx store.Tx) error {
		r, err := tx.Get(scope.String())
		if errors.Is(err, store.ErrNotFound) {
			if strings.EqualFold(scope.Type(), groupType) {
				return arm.ErrResourceGroupNotFound(scope.Name())
			}
			return arm.ErrResourceNotFound(scope.Type(), scope.Name(), scope.ResourceGroupName())
		}
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		if write {
			if err := arm.ValidateTags(r.Tags); err != nil {
				return err
			}
			arm.Stamp(r, req.Caller, p.now())
			if err := tx.Put(r); err != nil {
				return err
			}
		}
		tags = r.Tags
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(renderTags(req, tags)), nil
}

type tagsInput struct {
	Operation  string `json:"operation"`
	Properties struct {
		Tags map[string]string `json:"tags"`
	} `json:"properties"`
}

func (p *Provider) getTags(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.withScope(ctx, req, false, func(*store.Resource) error { return nil })
}

func (p *Provider) putTags(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in tagsInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	return p.withScope(ctx, req, true, func(r *store.Resource) error {
		r.Tags = in.Properties.Tags
		return nil
	})
}

// patchTags applies {"operation": "Merge" | "Replace" | "Delete"}.
func (p *Provider) patchTags(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in tagsInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	return p.withScope(ctx, req, true, func(r *store.Resource) error {
		switch strings.ToLower(in.Operation) {
		case "merge":
			if r.Tags == nil {
				r.Tags = map[string]string{}
			}
			for k, v := range in.Properties.Tags {
				r.Tags[k] = v
			}
		case "replace":
			r.Tags = in.Properties.Tags
		case "delete":
			for k, v := range in.Properties.Tags {
				if cur, ok := r.Tags[k]; ok && (v == "" || cur == v) {
					delete(r.Tags, k)
				}
			}
		default:
			return arm.Errorf(http.StatusBadRequest, "InvalidTagPatchOperation",
				"The tag patch operation '%s' is invalid. The supported operations are 'Replace', 'Merge' and 'Delete'.", in.Operation).
				WithTarget("operation")
		}
		return nil
	})
}

func (p *Provider) deleteTags(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	if _, err := p.withScope(ctx, req, true, func(r *store.Resource) error {
		r.Tags = nil
		return nil
	}); err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK}, nil
}
