package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

const (
	groupType       = "Microsoft.Resources/resourceGroups"
	kindDeleteGroup = "Microsoft.Resources/resourceGroups/delete"
	stateSucceeded  = "Succeeded"
	stateDeleting   = "Deleting"
)

// groupProps is what the store keeps in a resource group's properties.
type groupProps struct {
	ProvisioningState string `json:"provisioningState"`
	// DeleteOperation is the running deletion, so a repeated DELETE joins
	// it. Not shown to clients.
	DeleteOperation string `json:"deleteOperation,omitempty"`
}

// groupBody is a resource group on the wire.
type groupBody struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	ManagedBy  string            `json:"managedBy,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func renderGroup(r *store.Resource) (*groupBody, error) {
	var props groupProps
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return nil, err
	}
	b := &groupBody{ID: r.ID, Name: r.Name, Type: groupType, Location: r.Location, ManagedBy: r.ManagedBy, Tags: r.Tags}
	b.Properties.ProvisioningState = props.ProvisioningState
	return b, nil
}

// ValidateGroupName applies ARM's resource-group naming rules: 1–90
// letters, digits, '-', '_', '.', '(' and ')', not ending in '.'.
func ValidateGroupName(name string) error {
	var bad []rune
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.()", r)) && !containsRune(bad, r) {
			bad = append(bad, r)
		}
	}
	switch {
	case len(bad) > 0:
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceGroup",
			"The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.",
			name, string(bad))
	case len([]rune(name)) > 90:
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceGroup",
			"The provided resource group name '%s' is too long. Resource group names can be at most 90 characters.", name)
	case strings.HasSuffix(name, "."):
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceGroup",
			"The provided resource group name '%s' has these invalid trailing characters: '.'. The name can not end with characters: '.'.", name)
	}
	return nil
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// loadGroup reads a resource group, answering ResourceGroupNotFound.
func loadGroup(tx store.Tx, id resourceid.ID) (*store.Resource, error) {
	r, err := tx.Get(id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, arm.ErrResourceGroupNotFound(id.Name())
	}
	return r, err
}

func (p *Provider) getGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	if err := ValidateGroupName(req.Route.ID.Name()); err != nil {
		return nil, err
	}
	var body *groupBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		r, err := loadGroup(tx, req.Route.ID)
		if err != nil {
			return err
		}
		body, err = renderGroup(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

func (p *Provider) headGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(req.Route.ID.String())
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &arm.Response{Status: http.StatusNotFound}, nil
	case err != nil:
		return nil, err
	}
	return arm.NoContent(), nil
}

type groupInput struct {
	Location  *string           `json:"location"`
	ManagedBy *string           `json:"managedBy"`
	Tags      map[string]string `json:"tags"`
}

func (p *Provider) putGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if err := ValidateGroupName(id.Name()); err != nil {
		return nil, err
	}
	var in groupInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	region, err := arm.RequireLocation(in.Location, func(loc string) error {
		return arm.Errorf(http.StatusBadRequest, "LocationNotAvailableForResourceGroup",
			"The provided location '%s' is not available for resource group. List of available regions is '%s'.", loc, regions.Names())
	})
	if err != nil {
		return nil, err
	}
	if err := arm.ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	status := http.StatusOK
	var body *groupBody
	err = p.store.Update(ctx, func(tx store.Tx) error {
		existing, err := tx.Get(id.String())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := req.CheckPreconditions(existing); err != nil {
			return err
		}
		r := &store.Resource{ID: id.String(), Type: groupType, Name: id.Name(), Location: region.Name, Tags: in.Tags}
		if in.ManagedBy != nil {
			r.ManagedBy = *in.ManagedBy
		}
		if existing == nil {
			status = http.StatusCreated
		}
		if err := SaveGroup(tx, r, existing, req.Caller, p.now()); err != nil {
			return err
		}
		body, err = renderGroup(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: body}, nil
}

// SaveGroup writes resource group r (existing: its current record, nil on
// create) as caller at now: the one write path of a user's PUT and of the groups
// the platform makes (an AKS node resource group). A group being deleted,
// another location and another managedBy are refused, as ARM does.
func SaveGroup(tx store.Tx, r, existing *store.Resource, caller arm.Caller, now time.Time) error {
	r.Type = groupType
	if existing != nil {
		var props groupProps
		if err := json.Unmarshal(existing.Properties, &props); err != nil {
			return fmt.Errorf("decode resource group %s: %w", existing.ID, err)
		}
		if props.ProvisioningState == stateDeleting {
			return errBeingDeleted(existing.Name)
		}
		if !strings.EqualFold(existing.Location, r.Location) {
			return arm.Errorf(http.StatusConflict, "InvalidResourceGroupLocation",
				"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", r.Location, existing.Location)
		}
		if err := checkManagedBy(existing, r.ManagedBy); err != nil {
			return err
		}
		r.Name = existing.Name
	}
	raw, err := json.Marshal(groupProps{ProvisioningState: stateSucceeded})
	if err != nil {
		return err
	}
	r.Properties = raw
	arm.Stamp(r, caller, now)
	return tx.Put(r)
}

// checkManagedBy refuses to change the managedBy of a group that has one,
// as ARM does (this is what hits users who PUT an AKS node resource group).
func checkManagedBy(existing *store.Resource, managedBy string) error {
	if existing.ManagedBy != "" && !strings.EqualFold(existing.ManagedBy, managedBy) {
		return arm.Errorf(http.StatusConflict, "ResourceGroupManagedByMismatch",
			"The managed by property of the resource group cannot be changed from its current value '%s'.", existing.ManagedBy)
	}
	return nil
}

func errBeingDeleted(name string) error {
	return arm.Errorf(http.StatusConflict, "ResourceGroupBeingDeleted",
		"The resource group '%s' is in deprovisioning state and cannot perform this operation.", name)
}

func (p *Provider) patchGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if err := ValidateGroupName(id.Name()); err != nil {
		return nil, err
	}
	var in groupInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if err := arm.ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	var body *groupBody
	err := p.store.Update(ctx, func(tx store.Tx) error {
		r, err := loadGroup(tx, id)
		if err != nil {
			return err
		}
		if err := req.CheckPreconditions(r); err != nil {
			return err
		}
		var props groupProps
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return err
		}
		if props.ProvisioningState == stateDeleting {
			return errBeingDeleted(r.Name)
		}
		if in.ManagedBy != nil {
			if err := checkManagedBy(r, *in.ManagedBy); err != nil {
				return err
			}
			r.ManagedBy = *in.ManagedBy
		}
		if in.Tags != nil {
			r.Tags = in.Tags
		}
		arm.Stamp(r, req.Caller, p.now())
		if err := tx.Put(r); err != nil {
			return err
		}
		body, err = renderGroup(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

func (p *Provider) listGroups(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	f, err := parseFilter(req.Query().Get("$filter"))
	if err != nil {
		return nil, err
	}
	var (
		out  []*groupBody
		next string
	)
	err = p.store.View(ctx, func(tx store.Tx) error {
		page, nl, err := arm.ListPage(tx, req, store.Query{Subscription: req.Subscription(), Type: groupType}, f.match)
		if err != nil {
			return err
		}
		next = nl
		for _, r := range page {
			b, err := renderGroup(r)
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
	return arm.OK(arm.List{Value: nonNil(out), NextLink: next}), nil
}

// deleteGroup starts the deletion of a group and everything in it: 202 with
// a Location to poll, as ARM answers. A second DELETE joins the running
// deletion.
func (p *Provider) deleteGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if err := ValidateGroupName(id.Name()); err != nil {
		return nil, err
	}
	op, err := p.engine.NewOperation(kindDeleteGroup, req.Subscription(), Namespace, "", id.String(), nil)
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	errJoined := errors.New("joined running deletion")
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		r, err := loadGroup(tx, id)
		if err != nil {
			return err
		}
		if err := req.CheckPreconditions(r); err != nil {
			return err
		}
		var props groupProps
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return err
		}
		if props.ProvisioningState == stateDeleting && props.DeleteOperation != "" {
			running, err := tx.GetOperation(props.DeleteOperation)
			if err == nil && !running.Terminal() {
				op = running
				return errJoined
			}
		}
		props.ProvisioningState, props.DeleteOperation = stateDeleting, op.ID
		r.Properties, _ = json.Marshal(props)
		return tx.Put(r)
	})
	if err != nil && !errors.Is(err, errJoined) {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}

// runDeleteGroup tears down what the group's resources hold outside the
// store; finishDeleteGroup then removes the group and every resource in it
// in the transaction that ends the operation, so the group disappears
// exactly when the operation reports success. Rerunning after a crash
// finishes the job.
func (p *Provider) runDeleteGroup(ctx context.Context, op *store.Operation) (*arm.Outcome, error) {
	id, err := resourceid.Parse(op.ResourceID)
	if err != nil {
		return nil, err
	}
	var contents []*store.Resource
	if err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		contents, err = tx.List(store.Query{Subscription: id.SubscriptionID(), ResourceGroup: id.ResourceGroupName()})
		return err
	}); err != nil {
		return nil, err
	}
	// Children before parents: deeper IDs first.
	sort.SliceStable(contents, func(i, j int) bool { return len(contents[i].ID) > len(contents[j].ID) })
	for _, r := range contents {
		if rt := p.reg.Lookup(r.Type); rt != nil && rt.Teardown != nil {
			if err := rt.Teardown(ctx, r); err != nil {
				return nil, err
			}
		}
	}
	return &arm.Outcome{Status: http.StatusOK}, nil
}

// finishDeleteGroup removes the group and its contents when the deletion
// succeeded, and puts the group back to Succeeded when it did not.
func (p *Provider) finishDeleteGroup(tx store.Tx, op *store.Operation) error {
	if op.Status == store.StatusSucceeded {
		_, err := tx.Delete(op.ResourceID)
		return err
	}
	r, err := tx.Get(op.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.Properties, _ = json.Marshal(groupProps{ProvisioningState: stateSucceeded})
	return tx.Put(r)
}
