package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// exportTemplate serves POST {group}/exportTemplate: an ARM template of the
// group's resources (all of them, or those named in "resources"), with the
// api-version localaks serves each type at.
func (p *Provider) exportTemplate(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Resources []string `json:"resources"`
		Options   string   `json:"options"`
	}
	if err := req.DecodeBody(&in, false); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	all := len(in.Resources) == 0
	for _, r := range in.Resources {
		if r == "*" {
			all = true
		}
		want[strings.ToLower(r)] = true
	}
	var resources []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		if _, err := loadGroup(tx, req.Route.ID); err != nil {
			return err
		}
		rs, err := tx.List(store.Query{Subscription: req.Subscription(), ResourceGroup: req.Route.ID.Name()})
		if err != nil {
			return err
		}
		for _, r := range rs {
			// (the group itself, and ARM's own records in it: deployments,
			// role assignments)
			if t := strings.ToLower(r.Type); strings.HasPrefix(t, "microsoft.resources/") || strings.HasPrefix(t, "microsoft.authorization/") || (!all && !want[strings.ToLower(r.ID)]) {
				continue
			}
			resources = append(resources, templateResource(p.reg, r))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(map[string]any{
		"template": map[string]any{
			"$schema":        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
			"contentVersion": "1.0.0.0",
			"parameters":     map[string]any{},
			"variables":      map[string]any{},
			"resources":      nonNil(resources),
		},
	}), nil
}

// templateResource renders one resource for a template: nested resources
// are named "parent/child" and typed "ns/parentType/childType".
func templateResource(reg *arm.Registry, r *store.Resource) map[string]any {
	id, _ := resourceid.Parse(r.ID)
	var names []string
	for cur := id; !cur.IsZero() && cur.ResourceGroupName() != "" && !strings.EqualFold(cur.Type(), groupType); cur = cur.Parent() {
		names = append([]string{cur.Name()}, names...)
	}
	out := map[string]any{
		"type": r.Type,
		"name": strings.Join(names, "/"),
	}
	if rt := reg.Lookup(r.Type); rt != nil && len(rt.APIVersions) > 0 {
		out["apiVersion"] = rt.APIVersions[0]
	}
	for k, v := range map[string]any{"location": r.Location, "kind": r.Kind, "managedBy": r.ManagedBy} {
		if v != "" {
			out[k] = v
		}
	}
	if len(r.Tags) > 0 {
		out["tags"] = r.Tags
	}
	for k, raw := range map[string]json.RawMessage{"sku": r.SKU, "identity": r.Identity, "plan": r.Plan, "properties": r.Properties} {
		if len(raw) > 0 {
			out[k] = raw
		}
	}
	if len(r.Zones) > 0 {
		out["zones"] = r.Zones
	}
	if parent := id.Parent(); parent.ResourceGroupName() != "" && !strings.EqualFold(parent.Type(), groupType) {
		out["dependsOn"] = []string{fmt.Sprintf("[resourceId('%s', %s)]", parent.Type(), quotedNames(parent))}
	}
	return out
}

func quotedNames(id resourceid.ID) string {
	var names []string
	for cur := id; !strings.EqualFold(cur.Type(), groupType) && !cur.IsZero(); cur = cur.Parent() {
		names = append([]string{"'" + cur.Name() + "'"}, names...)
	}
	return strings.Join(names, ", ")
}
