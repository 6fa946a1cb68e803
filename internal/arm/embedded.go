package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Child is a sub-resource kept inside its parent's properties, as Azure's
// network resource provider keeps subnets inside their virtual network:
// {"name", "id", "etag", "type", "properties"}.
type Child struct {
	Name       string          `json:"name"`
	ID         string          `json:"id,omitempty"`
	ETag       string          `json:"etag,omitempty"`
	Type       string          `json:"type,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// Embedded serves a child type stored in an array of its parent's
// properties (e.g. Microsoft.Network/virtualNetworks/subnets in the
// VNet's "subnets"). Writes change the parent record, so the child and the
// parent always agree, and the child's ETag is the parent's.
type Embedded struct {
	*ResourceType
	Parent *Tracked
	// Field is the key of the array in the parent's properties.
	Field string
	// ChildType is the child's "type" in bodies, e.g.
	// "Microsoft.Network/virtualNetworks/subnets"; empty omits it.
	ChildType string
	// ReadOnly children are changed only through their parent (load
	// balancer rules and probes).
	ReadOnly bool
	// ValidateName checks a child name.
	ValidateName func(name string) error
	// Prepare validates and completes a child (existing is nil on create)
	// against the parent record, in the write transaction.
	Prepare func(tx store.Tx, req *Request, parent *store.Resource, child, existing *Child) error
	// BeforeDelete refuses or releases, in the deleting transaction.
	BeforeDelete func(tx store.Tx, parent *store.Resource, child *Child) error
}

// Install fills the handlers and registers the type.
func (e *Embedded) Install(reg *Registry) {
	e.Get, e.List = e.get, e.list
	if !e.ReadOnly {
		e.Put, e.Delete = e.put, e.delete
	}
	reg.Register(e.ResourceType)
}

// Children reads the child array of a parent record, with IDs, types and
// ETags filled in.
func (e *Embedded) Children(parent *store.Resource) ([]Child, error) {
	return ChildrenOf(parent, e.Field, e.ChildType)
}

// ChildrenOf reads the array field of a record's properties as children.
func ChildrenOf(parent *store.Resource, field, childType string) ([]Child, error) {
	var props map[string]json.RawMessage
	if len(parent.Properties) > 0 {
		if err := json.Unmarshal(parent.Properties, &props); err != nil {
			return nil, fmt.Errorf("decode %s: %w", parent.ID, err)
		}
	}
	var out []Child
	if raw, ok := props[field]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("decode %s of %s: %w", field, parent.ID, err)
		}
	}
	for i := range out {
		out[i].ID = parent.ID + "/" + field + "/" + out[i].Name
		out[i].ETag = NetworkETag(parent.ETag)
		out[i].Type = childType
	}
	return out, nil
}

// NewChild is a child named name with typed properties.
func NewChild(name string, props any) (Child, error) {
	raw, err := json.Marshal(props)
	if err != nil {
		return Child{}, fmt.Errorf("child %s: %w", name, err)
	}
	return Child{Name: name, Properties: raw}, nil
}

// SetChildren writes the array field of a record's properties; IDs, ETags
// and types are derived, so they are not stored.
func SetChildren(parent *store.Resource, field string, children []Child) error {
	props := map[string]json.RawMessage{}
	if len(parent.Properties) > 0 {
		if err := json.Unmarshal(parent.Properties, &props); err != nil {
			return fmt.Errorf("decode %s: %w", parent.ID, err)
		}
	}
	stored := make([]Child, len(children))
	for i, c := range children {
		stored[i] = Child{Name: c.Name, Properties: c.Properties}
	}
	raw, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	props[field] = raw
	parent.Properties, err = json.Marshal(props)
	return err
}

func findChild(children []Child, name string) int {
	for i, c := range children {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func (e *Embedded) errNotFound(id resourceid.ID) *Error {
	return ErrResourceNotFound(e.FullType(), id.Parent().Name()+"/"+id.Name(), id.ResourceGroupName())
}

func (e *Embedded) get(ctx context.Context, req *Request) (*Response, error) {
	var child Child
	err := e.Parent.view(ctx, func(tx store.Tx) error {
		parent, err := e.Parent.Load(tx, req.Route.ID.Parent())
		if err != nil {
			return err
		}
		children, err := e.Children(parent)
		if err != nil {
			return err
		}
		i := findChild(children, req.Route.ID.Name())
		if i < 0 {
			return e.errNotFound(req.Route.ID)
		}
		child = children[i]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return OK(child), nil
}

func (e *Embedded) list(ctx context.Context, req *Request) (*Response, error) {
	var children []Child
	err := e.Parent.view(ctx, func(tx store.Tx) error {
		parent, err := e.Parent.Load(tx, req.Route.ID)
		if err != nil {
			return err
		}
		children, err = e.Children(parent)
		return err
	})
	if err != nil {
		return nil, err
	}
	if children == nil {
		children = []Child{}
	}
	return OK(List{Value: children}), nil
}

func (e *Embedded) put(ctx context.Context, req *Request) (*Response, error) {
	id := req.Route.ID
	if e.ValidateName != nil {
		if err := e.ValidateName(id.Name()); err != nil {
			return nil, err
		}
	}
	var in Child
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	in.Name = id.Name()
	status := http.StatusOK
	var out Child
	var op *store.Operation
	err := e.Parent.update(ctx, id.Parent(), func(tx store.Tx) error {
		parent, err := e.Parent.Load(tx, id.Parent())
		if err != nil {
			return err
		}
		children, err := e.Children(parent)
		if err != nil {
			return err
		}
		i := findChild(children, id.Name())
		var existing *Child
		if i >= 0 {
			existing = &children[i]
			in.Name = existing.Name
		}
		if err := e.checkChildPreconditions(req, parent, existing); err != nil {
			return err
		}
		if e.Prepare != nil {
			if err := e.Prepare(tx, req, parent, &in, existing); err != nil {
				return err
			}
		}
		if i >= 0 {
			children[i] = in
		} else {
			status = http.StatusCreated
			children = append(children, in)
		}
		if err := SetChildren(parent, e.Field, children); err != nil {
			return err
		}
		Stamp(parent, req.Caller, e.Parent.Now())
		if err := tx.Put(parent); err != nil {
			return err
		}
		after, err := e.Children(parent)
		if err != nil {
			return err
		}
		out = after[findChild(after, in.Name)]
		op, err = e.Parent.completed(tx, id, parent.Location, status)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e.Parent.answer(req, op, status, out), nil
}

func (e *Embedded) checkChildPreconditions(req *Request, parent *store.Resource, existing *Child) error {
	var cur *store.Resource
	if existing != nil {
		cur = parent
	}
	return req.CheckPreconditions(cur)
}

func (e *Embedded) delete(ctx context.Context, req *Request) (*Response, error) {
	id := req.Route.ID
	gone := false
	var op *store.Operation
	err := e.Parent.update(ctx, id.Parent(), func(tx store.Tx) error {
		parent, err := tx.Get(id.Parent().String())
		if errors.Is(err, store.ErrNotFound) {
			gone = true
			return nil
		}
		if err != nil {
			return err
		}
		children, err := e.Children(parent)
		if err != nil {
			return err
		}
		i := findChild(children, id.Name())
		if i < 0 {
			gone = true
			return nil
		}
		if e.BeforeDelete != nil {
			if err := e.BeforeDelete(tx, parent, &children[i]); err != nil {
				return err
			}
		}
		children = append(children[:i], children[i+1:]...)
		if err := SetChildren(parent, e.Field, children); err != nil {
			return err
		}
		Stamp(parent, req.Caller, e.Parent.Now())
		if err := tx.Put(parent); err != nil {
			return err
		}
		op, err = e.Parent.completed(tx, id, parent.Location, http.StatusNoContent)
		return err
	})
	if err != nil {
		return nil, err
	}
	if gone {
		return NoContent(), nil
	}
	if op != nil {
		return e.Parent.answer(req, op, http.StatusAccepted, nil), nil
	}
	return &Response{Status: http.StatusOK}, nil
}
