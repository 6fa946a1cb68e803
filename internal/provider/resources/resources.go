package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// genericResource is a resource as the generic listings show it: the
// envelope only.
type genericResource struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	Location          string            `json:"location,omitempty"`
	ExtendedLocation  json.RawMessage   `json:"extendedLocation,omitempty"`
	Kind              string            `json:"kind,omitempty"`
	ManagedBy         string            `json:"managedBy,omitempty"`
	SKU               json.RawMessage   `json:"sku,omitempty"`
	Identity          json.RawMessage   `json:"identity,omitempty"`
	Plan              json.RawMessage   `json:"plan,omitempty"`
	Zones             []string          `json:"zones,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	CreatedTime       string            `json:"createdTime,omitempty"`
	ChangedTime       string            `json:"changedTime,omitempty"`
	ProvisioningState string            `json:"provisioningState,omitempty"`
}

// listResources serves GET /subscriptions/{s}/resources and
// /subscriptions/{s}/resourceGroups/{rg}/resources: top-level resources,
// with $filter, $top/$skiptoken paging and $expand of
// createdTime, changedTime and provisioningState.
func (p *Provider) listResources(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	q := req.Query()
	f, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return nil, err
	}
	expand := strings.ToLower(q.Get("$expand"))
	rg := req.Route.ID.ResourceGroupName()
	var (
		out  []genericResource
		next string
	)
	err = p.store.View(ctx, func(tx store.Tx) error {
		if rg != "" {
			if _, err := loadGroup(tx, req.Route.ID); err != nil {
				return err
			}
		}
		// Role and deny assignments are extension resources on the group
		// (or a resource), not resources of it: ARM does not list them.
		match := func(r *store.Resource) bool {
			return !strings.HasPrefix(strings.ToLower(r.Type), "microsoft.authorization/") && f.match(r)
		}
		page, nl, err := arm.ListPage(tx, req, store.Query{Subscription: req.Subscription(), ResourceGroup: rg, TopLevel: true}, match)
		if err != nil {
			return err
		}
		next = nl
		for _, r := range page {
			g := genericResource{ID: r.ID, Name: r.Name, Type: r.Type, Location: r.Location, ExtendedLocation: r.ExtendedLocation,
				Kind: r.Kind, ManagedBy: r.ManagedBy, SKU: r.SKU, Identity: r.Identity, Plan: r.Plan, Zones: r.Zones, Tags: r.Tags}
			if strings.Contains(expand, "createdtime") && !r.SystemData.CreatedAt.IsZero() {
				g.CreatedTime = r.SystemData.CreatedAt.Format("2006-01-02T15:04:05.0000000Z")
			}
			if strings.Contains(expand, "changedtime") && !r.SystemData.LastModifiedAt.IsZero() {
				g.ChangedTime = r.SystemData.LastModifiedAt.Format("2006-01-02T15:04:05.0000000Z")
			}
			if strings.Contains(expand, "provisioningstate") && len(r.Properties) > 0 {
				// Resources without the field (or without properties) have none.
				var props struct {
					ProvisioningState string `json:"provisioningState"`
				}
				if err := json.Unmarshal(r.Properties, &props); err != nil {
					return fmt.Errorf("decode properties of %s: %w", r.ID, err)
				}
				g.ProvisioningState = props.ProvisioningState
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(arm.List{Value: nonNil(out), NextLink: next}), nil
}

// listTagNames serves GET /subscriptions/{s}/tagNames: every tag name and
// value in use in the subscription (resources and groups), with counts.
func (p *Provider) listTagNames(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	sub := req.Subscription()
	counts := map[string]map[string]int{}
	names := map[string]string{}
	err := p.store.View(ctx, func(tx store.Tx) error {
		rs, err := tx.List(store.Query{Subscription: sub})
		if err != nil {
			return err
		}
		for _, r := range rs {
			for k, v := range r.Tags {
				key := strings.ToLower(k)
				if _, ok := names[key]; !ok {
					names[key] = k
					counts[key] = map[string]int{}
				}
				counts[key][v]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	base := "/subscriptions/" + sub + "/tagNames/"
	var out []map[string]any
	for _, k := range keys {
		total := 0
		var values []map[string]any
		vals := make([]string, 0, len(counts[k]))
		for v := range counts[k] {
			vals = append(vals, v)
		}
		sort.Strings(vals)
		for _, v := range vals {
			total += counts[k][v]
			values = append(values, map[string]any{"id": base + names[k] + "/tagValues/" + v, "tagValue": v,
				"count": count{Type: "Total", Value: counts[k][v]}})
		}
		out = append(out, map[string]any{"id": base + names[k], "tagName": names[k], "count": count{Type: "Total", Value: total}, "values": values})
	}
	return arm.OK(arm.List{Value: nonNil(out)}), nil
}
