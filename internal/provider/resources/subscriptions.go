package resources

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

type count struct {
	Type  string `json:"type"`
	Value int    `json:"value"`
}

func (p *Provider) listTenants(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		rs, err := tx.List(store.Query{Type: "Microsoft.Resources/tenants"})
		if err != nil {
			return err
		}
		for _, r := range rs {
			// A principal sees the tenants it belongs to: its own.
			if !strings.EqualFold(r.Name, req.Caller.TenantID) {
				continue
			}
			var props arm.TenantProperties
			if err := json.Unmarshal(r.Properties, &props); err != nil {
				return err
			}
			out = append(out, map[string]any{
				"id": r.ID, "tenantId": r.Name, "countryCode": "US", "displayName": props.DisplayName,
				"domains": props.Domains, "defaultDomain": props.DefaultDomain, "tenantCategory": "Home", "tenantType": "AAD",
			})
		}
		return nil
	})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	return arm.OK(map[string]any{"value": nonNil(out)}), nil
}

func (p *Provider) subscriptionBody(r *store.Resource) (map[string]any, error) {
	var props arm.SubscriptionProperties
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return nil, err
	}
	body := map[string]any{
		"id":                   r.ID,
		"authorizationSource":  "RoleBased",
		"managedByTenants":     []any{},
		"subscriptionId":       r.Name,
		"tenantId":             props.TenantID,
		"displayName":          props.DisplayName,
		"state":                props.State,
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
	if len(r.Tags) > 0 {
		body["tags"] = r.Tags
	}
	return body, nil
}

func (p *Provider) listSubscriptions(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		rs, err := tx.List(store.Query{Type: "Microsoft.Resources/subscriptions"})
		if err != nil {
			return err
		}
		for _, r := range rs {
			body, err := p.subscriptionBody(r)
			if err != nil {
				return err
			}
			if strings.EqualFold(body["tenantId"].(string), req.Caller.TenantID) {
				out = append(out, body)
			}
		}
		return nil
	})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	if p.reaches != nil {
		// A principal sees the subscriptions it has a role in (at the
		// subscription, in it, or above it), as ARM lists them.
		seen := out[:0]
		for _, body := range out {
			ok, err := p.reaches(ctx, req.Caller, body["subscriptionId"].(string))
			if err != nil {
				return nil, arm.ErrInternal(err)
			}
			if ok {
				seen = append(seen, body)
			}
		}
		out = seen
	}
	return arm.OK(map[string]any{"value": nonNil(out), "count": count{Type: "Total", Value: len(out)}}), nil
}

func (p *Provider) getSubscription(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(req.Route.ID.String())
		if err != nil {
			return err
		}
		body, err = p.subscriptionBody(r)
		return err
	})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	return arm.OK(body), nil
}

func (p *Provider) listLocations(_ context.Context, req *arm.Request) (*arm.Response, error) {
	sub := resourceid.Subscription(req.Subscription()).String()
	var out []map[string]any
	for _, r := range regions.All() {
		category := "Other"
		if r.Zones > 0 {
			category = "Recommended"
		}
		meta := map[string]any{
			"regionType": "Physical", "regionCategory": category, "geography": r.Geography, "geographyGroup": r.GeographyGroup,
			"longitude": r.Longitude, "latitude": r.Latitude, "physicalLocation": r.PhysicalLocation,
		}
		if r.PairedRegion != "" {
			meta["pairedRegion"] = []map[string]string{{"name": r.PairedRegion, "id": sub + "/locations/" + r.PairedRegion}}
		}
		loc := map[string]any{
			"id": sub + "/locations/" + r.Name, "name": r.Name, "type": "Region", "displayName": r.DisplayName,
			"regionalDisplayName": "(" + r.GeographyGroup + ") " + r.DisplayName, "metadata": meta,
		}
		if r.Zones > 0 {
			var zones []map[string]string
			for z := 1; z <= r.Zones; z++ {
				zones = append(zones, map[string]string{"logicalZone": strconv.Itoa(z), "physicalZone": r.Name + "-az" + strconv.Itoa(z)})
			}
			loc["availabilityZoneMappings"] = zones
		}
		out = append(out, loc)
	}
	return arm.OK(map[string]any{"value": out}), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
