package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Tracked gives a resource type ARM's standard behaviour over its stored
// record: PUT (201 create / 200 update), GET, PATCH of tags, DELETE (200 /
// 204), and the collection GETs (by parent; top-level types also by
// resource group and subscription). The type supplies what differs:
// validation and defaults (Prepare), computed output (Render), and what
// deletion must check or release.
type Tracked struct {
	*ResourceType
	// BodyType is the "type" value in bodies when it differs from the
	// registered type's spelling (AKS answers "Microsoft.ContainerService/ManagedClusters").
	BodyType string
	// Located types carry a location (top-level tracked resources).
	Located bool
	// ETag puts `"etag": "W/\"…\""` in bodies (Microsoft.Network does).
	ETag bool
	// ValidateName checks the resource name.
	ValidateName func(name string) error
	// Prepare validates and completes r (decoded from the PUT body, ID,
	// name and type set; existing is nil on create) inside the write
	// transaction. It may write other records.
	Prepare func(ctx context.Context, tx store.Tx, req *Request, r, existing *store.Resource) error
	// Render turns a stored record into its body; nil renders the record.
	Render func(tx store.Tx, req *Request, r *store.Resource) (any, error)
	// BeforeDelete refuses (in-use) or releases what the resource holds, in
	// the deleting transaction.
	BeforeDelete func(tx store.Tx, r *store.Resource) error
	// Parent, when set, reads the parent of a nested resource for every
	// request and answers its own 404s (an AKS cluster's); without it a
	// missing parent is ARM's generic ParentResourceNotFound.
	Parent func(tx store.Tx, id resourceid.ID) error
	// ReadOnly types are written by the platform only: GET and list.
	ReadOnly bool
	// Changed, when set, hears of every committed client write (PUT, PATCH,
	// DELETE, and writes of embedded children) with the resource's ID: the
	// platform acts on it at once (a route table's routes become the
	// virtual network's). It must not block.
	Changed func(id string)
	// Operations, when set, makes writes answer as asynchronous ones that
	// have completed (Engine.Completed): PUT 200/201 and DELETE 202 with
	// an Azure-AsyncOperation, as Microsoft.Network answers them.
	Operations *Engine
	// Store is where the records live.
	Store store.Store
	Now   func() time.Time
}

// completed records, when t answers writes as asynchronous operations, a
// completed operation for the write of id (in location) and returns it.
func (t *Tracked) completed(tx store.Tx, id resourceid.ID, location string, result int) (*store.Operation, error) {
	if t.Operations == nil {
		return nil, nil
	}
	// A nested resource without a location of its own is in its parent's
	// (the operation's URL names it).
	for p := id.Parent(); location == "" && p.Type() != "" && !strings.EqualFold(p.Type(), "Microsoft.Resources/resourceGroups"); p = p.Parent() {
		if r, err := tx.Get(p.String()); err == nil {
			location = r.Location
		}
	}
	return t.Operations.Completed(tx, id.SubscriptionID(), t.Namespace, regions.Normalize(location), id.String(), result)
}

// answer is a write's response: as it is, or, with op, as an asynchronous
// operation's (Accepted for a delete, AsyncOnly for a PUT).
func (t *Tracked) answer(req *Request, op *store.Operation, status int, body any) *Response {
	switch {
	case op == nil:
		return &Response{Status: status, Body: body}
	case status == http.StatusAccepted:
		return t.Operations.Accepted(req, op, status, body)
	}
	return t.Operations.AsyncOnly(req, op, status, body)
}

// Body is the wire form of a tracked resource.
type Body struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	ETag             string            `json:"etag,omitempty"`
	Location         string            `json:"location,omitempty"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation,omitempty"`
	Kind             string            `json:"kind,omitempty"`
	ManagedBy        string            `json:"managedBy,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	SKU              json.RawMessage   `json:"sku,omitempty"`
	Identity         json.RawMessage   `json:"identity,omitempty"`
	Plan             json.RawMessage   `json:"plan,omitempty"`
	Zones            []string          `json:"zones,omitempty"`
	Properties       any               `json:"properties,omitempty"`
	SystemData       *store.SystemData `json:"systemData,omitempty"`
}

// NetworkETag renders a store ETag as Microsoft.Network does: W/"guid".
func NetworkETag(etag string) string {
	if len(etag) == 32 {
		etag = etag[:8] + "-" + etag[8:12] + "-" + etag[12:16] + "-" + etag[16:20] + "-" + etag[20:]
	}
	return `W/"` + etag + `"`
}

// Envelope renders a record with its stored properties.
func (t *Tracked) Envelope(r *store.Resource, props any) *Body {
	typ := t.BodyType
	if typ == "" {
		typ = t.FullType()
	}
	b := &Body{ID: r.ID, Name: r.Name, Type: typ, Location: r.Location, ExtendedLocation: r.ExtendedLocation, Kind: r.Kind,
		ManagedBy: r.ManagedBy, Tags: r.Tags, SKU: r.SKU, Identity: r.Identity, Plan: r.Plan, Zones: r.Zones, Properties: props}
	if props == nil && len(r.Properties) > 0 {
		b.Properties = json.RawMessage(r.Properties)
	}
	if t.ETag {
		b.ETag = NetworkETag(r.ETag)
	}
	return b
}

// Install fills the ResourceType's handlers and registers it.
func (t *Tracked) Install(reg *Registry) {
	if t.Now == nil {
		t.Now = time.Now
	}
	if t.Get == nil {
		t.Get = t.get
	}
	if t.List == nil {
		t.List = t.list
	}
	if t.ReadOnly {
		reg.Register(t.ResourceType)
		return
	}
	if t.Put == nil {
		t.Put = t.put
	}
	if t.Patch == nil {
		t.Patch = t.patch
	}
	if t.Delete == nil {
		t.Delete = t.delete
	}
	reg.Register(t.ResourceType)
}

// render renders r with the type's Render, or as stored.
func (t *Tracked) render(tx store.Tx, req *Request, r *store.Resource) (any, error) {
	if t.Render != nil {
		return t.Render(tx, req, r)
	}
	return t.Envelope(r, nil), nil
}

// ErrNotFound is ARM's 404 for a resource of this type.
func (t *Tracked) ErrNotFound(id resourceid.ID) *Error {
	typ := t.FullType()
	parts := []string{}
	for cur := id; !cur.IsZero() && cur.ResourceGroupName() != "" && !strings.EqualFold(cur.Type(), "Microsoft.Resources/resourceGroups"); cur = cur.Parent() {
		parts = append([]string{cur.Name()}, parts...)
	}
	return ErrResourceNotFound(typ, strings.Join(parts, "/"), id.ResourceGroupName())
}

// Load reads a resource of this type, answering ARM's 404s: the resource
// group's first, then the resource's (or its parent's).
func (t *Tracked) Load(tx store.Tx, id resourceid.ID) (*store.Resource, error) {
	r, err := tx.Get(id.String())
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return nil, t.missing(tx, id)
}

// missing explains why id does not exist.
func (t *Tracked) missing(tx store.Tx, id resourceid.ID) error {
	if rg := id.ResourceGroupName(); rg != "" {
		if _, err := tx.Get(resourceid.ResourceGroup(id.SubscriptionID(), rg).String()); errors.Is(err, store.ErrNotFound) {
			return ErrResourceGroupNotFound(rg)
		}
	}
	return t.ErrNotFound(id)
}

func (t *Tracked) get(ctx context.Context, req *Request) (*Response, error) {
	var body any
	err := t.view(ctx, func(tx store.Tx) error {
		if err := t.parent(tx, req.Route.ID); err != nil {
			return err
		}
		r, err := t.Load(tx, req.Route.ID)
		if err != nil {
			return err
		}
		body, err = t.render(tx, req, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return OK(body), nil
}

// parent runs the Parent hook, if any.
func (t *Tracked) parent(tx store.Tx, id resourceid.ID) error {
	if t.Parent == nil {
		return nil
	}
	return t.Parent(tx, id.Parent())
}

var errNoStore = errors.New("tracked type used without a store")

func (t *Tracked) view(ctx context.Context, fn func(tx store.Tx) error) error {
	if t.Store == nil {
		return errNoStore
	}
	return t.Store.View(ctx, fn)
}

// update runs a client write of resource id and, once it commits, tells
// Changed.
func (t *Tracked) update(ctx context.Context, id resourceid.ID, fn func(tx store.Tx) error) error {
	if t.Store == nil {
		return errNoStore
	}
	if err := t.Store.Update(ctx, fn); err != nil {
		return err
	}
	if t.Changed != nil {
		t.Changed(id.String())
	}
	return nil
}

// input is the PUT body of a tracked resource.
type input struct {
	Location         *string           `json:"location"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation"`
	Kind             string            `json:"kind"`
	ManagedBy        string            `json:"managedBy"`
	Tags             map[string]string `json:"tags"`
	SKU              json.RawMessage   `json:"sku"`
	Identity         json.RawMessage   `json:"identity"`
	Plan             json.RawMessage   `json:"plan"`
	Zones            []string          `json:"zones"`
	Properties       json.RawMessage   `json:"properties"`
}

// Decode turns a PUT body into a record for id: envelope checks (location,
// tags) and the raw properties.
func (t *Tracked) Decode(req *Request, id resourceid.ID) (*store.Resource, error) {
	var in input
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	r := &store.Resource{ID: id.String(), Type: t.FullType(), Name: id.Name(), ExtendedLocation: in.ExtendedLocation, Kind: in.Kind,
		ManagedBy: in.ManagedBy, Tags: in.Tags, SKU: nullToEmpty(in.SKU), Identity: nullToEmpty(in.Identity), Plan: nullToEmpty(in.Plan),
		Zones: in.Zones, Properties: nullToEmpty(in.Properties)}
	if t.Located {
		region, err := RequireLocation(in.Location, func(loc string) error {
			return Errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
				"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
				loc, t.FullType(), regions.Names())
		})
		if err != nil {
			return nil, err
		}
		r.Location = region.Name
	}
	if err := ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	return r, nil
}

// RequireLocation checks a PUT body's location, as ARM does for every
// located resource: present (LocationRequired), and a known region (else
// unknown's error, whose code depends on the type).
func RequireLocation(location *string, unknown func(location string) error) (regions.Region, error) {
	if location == nil || strings.TrimSpace(*location) == "" {
		return regions.Region{}, Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	region, ok := regions.Lookup(*location)
	if !ok {
		return regions.Region{}, unknown(*location)
	}
	return region, nil
}

func nullToEmpty(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// PlatformAppID is the application that systemData names for writes the
// platform makes on its own: resources a resource provider creates for the
// user, such as the AKS resource provider's node resource group. Azure
// names the resource provider's first-party application there; its exact
// ID for AKS is not documented [unverified], so localaks uses this fixed
// one (see the README).
const PlatformAppID = "7319c514-987d-4e9b-ac3d-d38c4f427f4c"

// Platform is the caller of the platform's own writes.
var Platform = Caller{AppID: PlatformAppID}

// Save validates r with Prepare and writes it in tx, stamped with the
// request's caller (the platform's when req is nil): the one write path of
// PUTs and of resources other providers create (the AKS reconciler).
func (t *Tracked) Save(ctx context.Context, tx store.Tx, req *Request, r, existing *store.Resource) error {
	if t.Prepare != nil {
		if err := t.Prepare(ctx, tx, req, r, existing); err != nil {
			return err
		}
	}
	caller := Platform
	if req != nil {
		caller = req.Caller
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	Stamp(r, caller, t.Now())
	return tx.Put(r)
}

// Write creates or updates r as the platform, through Save.
func (t *Tracked) Write(ctx context.Context, tx store.Tx, r *store.Resource) error {
	existing, err := tx.Get(r.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return t.Save(ctx, tx, nil, r, existing)
}

// RemoveID deletes the resource with this ID through Remove (its
// BeforeDelete runs); a missing one is not an error.
func (t *Tracked) RemoveID(tx store.Tx, id string) error {
	r, err := tx.Get(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return t.Remove(tx, r)
}

// CheckParent answers 404 when the parent of a nested resource (or the
// resource group of a top-level one) does not exist.
func (t *Tracked) CheckParent(tx store.Tx, id resourceid.ID) error {
	if t.Parent != nil {
		return t.Parent(tx, id.Parent())
	}
	parent := id.Parent()
	if _, err := tx.Get(parent.String()); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if strings.EqualFold(parent.Type(), "Microsoft.Resources/resourceGroups") {
			return ErrResourceGroupNotFound(parent.Name())
		}
		return Errorf(http.StatusNotFound, "ParentResourceNotFound",
			"Can not perform requested operation on nested resource. Parent resource '%s' not found.", parent.Name())
	}
	return nil
}

func (t *Tracked) put(ctx context.Context, req *Request) (*Response, error) {
	id := req.Route.ID
	if t.ValidateName != nil {
		if err := t.ValidateName(id.Name()); err != nil {
			return nil, err
		}
	}
	r, err := t.Decode(req, id)
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	var body any
	var op *store.Operation
	err = t.update(ctx, id, func(tx store.Tx) error {
		if err := t.CheckParent(tx, id); err != nil {
			return err
		}
		existing, err := tx.Get(id.String())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := req.CheckPreconditions(existing); err != nil {
			return err
		}
		if existing == nil {
			status = http.StatusCreated
		} else if t.Located && !strings.EqualFold(existing.Location, r.Location) {
			return Errorf(http.StatusBadRequest, "InvalidResourceLocation",
				"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
				id.Name(), existing.Location, id.ResourceGroupName(), r.Location)
		}
		if err := t.Save(ctx, tx, req, r, existing); err != nil {
			return err
		}
		if body, err = t.render(tx, req, r); err != nil {
			return err
		}
		op, err = t.completed(tx, id, r.Location, status)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t.answer(req, op, status, body), nil
}

// patch updates tags (the one thing every ARM PATCH of a tracked resource
// takes).
func (t *Tracked) patch(ctx context.Context, req *Request) (*Response, error) {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if err := ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	var body any
	err := t.update(ctx, req.Route.ID, func(tx store.Tx) error {
		r, err := t.Load(tx, req.Route.ID)
		if err != nil {
			return err
		}
		if err := req.CheckPreconditions(r); err != nil {
			return err
		}
		if in.Tags != nil {
			r.Tags = in.Tags
		}
		Stamp(r, req.Caller, t.Now())
		if err := tx.Put(r); err != nil {
			return err
		}
		body, err = t.render(tx, req, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return OK(body), nil
}

func (t *Tracked) delete(ctx context.Context, req *Request) (*Response, error) {
	gone := false
	var op *store.Operation
	err := t.update(ctx, req.Route.ID, func(tx store.Tx) error {
		if err := t.parent(tx, req.Route.ID); err != nil {
			return err
		}
		r, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			gone = true
			// A missing resource group is still a 404.
			if rg := req.Route.ID.ResourceGroupName(); rg != "" {
				if _, err := tx.Get(resourceid.ResourceGroup(req.Subscription(), rg).String()); errors.Is(err, store.ErrNotFound) {
					return ErrResourceGroupNotFound(rg)
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := req.CheckPreconditions(r); err != nil {
			return err
		}
		if err := t.Remove(tx, r); err != nil {
			return err
		}
		op, err = t.completed(tx, req.Route.ID, r.Location, http.StatusNoContent)
		return err
	})
	if err != nil {
		return nil, err
	}
	if gone {
		return NoContent(), nil
	}
	if op != nil {
		return t.answer(req, op, http.StatusAccepted, nil), nil
	}
	return &Response{Status: http.StatusOK}, nil
}

// Remove deletes r (and what is nested under it) after BeforeDelete.
func (t *Tracked) Remove(tx store.Tx, r *store.Resource) error {
	if t.BeforeDelete != nil {
		if err := t.BeforeDelete(tx, r); err != nil {
			return err
		}
	}
	_, err := tx.Delete(r.ID)
	return err
}

// list serves collection GETs: children of the parent; for top-level types
// at a resource group or subscription, everything of the type there.
func (t *Tracked) list(ctx context.Context, req *Request) (*Response, error) {
	scope := req.Route.ID
	q := store.Query{Type: t.FullType(), Subscription: scope.SubscriptionID()}
	switch {
	case strings.EqualFold(scope.Type(), "Microsoft.Resources/subscriptions"):
	case strings.EqualFold(scope.Type(), "Microsoft.Resources/resourceGroups"):
		q.ResourceGroup = scope.ResourceGroupName()
	default:
		q.Parent = scope.String()
	}
	var (
		out  []any
		next string
	)
	err := t.view(ctx, func(tx store.Tx) error {
		if t.Parent != nil {
			if err := t.Parent(tx, scope); err != nil {
				return err
			}
		} else if !strings.EqualFold(scope.Type(), "Microsoft.Resources/subscriptions") {
			if _, err := tx.Get(scope.String()); errors.Is(err, store.ErrNotFound) {
				return t.missingScope(scope)
			}
		}
		page, nl, err := ListPage(tx, req, q, nil)
		if err != nil {
			return err
		}
		next = nl
		for _, r := range page {
			b, err := t.render(tx, req, r)
			if err != nil {
				return fmt.Errorf("render %s: %w", r.ID, err)
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
	return OK(List{Value: out, NextLink: next}), nil
}

func (t *Tracked) missingScope(scope resourceid.ID) error {
	if strings.EqualFold(scope.Type(), "Microsoft.Resources/resourceGroups") {
		return ErrResourceGroupNotFound(scope.Name())
	}
	return Errorf(http.StatusNotFound, "ParentResourceNotFound",
		"Can not perform requested operation on nested resource. Parent resource '%s' not found.", scope.Name())
}
