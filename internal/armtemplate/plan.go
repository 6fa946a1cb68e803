package armtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// maxResources is ARM's limit on resources in a template, copies included.
const maxResources = 800

// plan expands the template's resources — nested children, copy loops,
// conditions — computes their IDs and orders them by dependsOn.
func (d *Deployment) plan() error {
	var raw []map[string]any
	if len(d.t.Resources) > 0 {
		dec := json.NewDecoder(bytes.NewReader(d.t.Resources))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return invalid("resources must be an array of resources: %v", err)
		}
	}
	var all []*Resource
	var deps [][]any // raw dependsOn per resource, plus implicit parent names
	loops := map[string][]int{}
	var expand func(list []map[string]any, parentType, parentName string) error
	expand = func(list []map[string]any, parentType, parentName string) error {
		for _, r := range list {
			r = normalize(r).(map[string]any)
			count, loopName := 1, ""
			if c, ok := field(r, "copy").(map[string]any); ok {
				loopName, _ = field(c, "name").(string)
				n, err := (&evaluator{d: d, copyIndex: -1}).value(field(c, "count"))
				if err != nil {
					return invalid("copy count: %v", err)
				}
				cn, ok := n.(int64)
				if !ok || cn < 0 || cn > 800 {
					return invalid("the copy count of '%s' must be an integer from 0 to 800", loopName)
				}
				count = int(cn)
			}
			for i := 0; i < count; i++ {
				if len(all) >= maxResources {
					return invalid("the template has more than %d resources (after copy loops), ARM's limit", maxResources)
				}
				idx := -1
				if loopName != "" {
					idx = i
				}
				e := &evaluator{d: d, copyIndex: idx, copyName: loopName}
				if cond, ok := r["condition"]; ok {
					c, err := e.value(cond)
					if err != nil {
						return invalid("condition: %v", err)
					}
					if b, _ := c.(bool); !b {
						continue
					}
				}
				typ, err := stringField(e, r, "type")
				if err != nil {
					return err
				}
				name, err := stringField(e, r, "name")
				if err != nil {
					return err
				}
				version, err := stringField(e, r, "apiVersion")
				if err != nil {
					return err
				}
				if parentType != "" && !strings.Contains(typ, ".") {
					typ = parentType + "/" + typ
					name = parentName + "/" + name
				}
				id, err := d.idOf(typ, name)
				if err != nil {
					return err
				}
				// An extension resource (a role assignment on a subnet)
				// names the resource it applies to in "scope".
				if sc, ok := r["scope"]; ok {
					v, err := e.value(sc)
					if err != nil {
						return invalid("scope of '%s': %v", name, err)
					}
					target, _ := v.(string)
					if !strings.HasPrefix(target, "/subscriptions/") {
						if target, err = d.idOfRef(target); err != nil {
							return err
						}
					}
					id = target + id[strings.Index(id, "/providers/"):]
				}
				res := &Resource{ID: id, Type: typ, Name: name, APIVersion: version, raw: r, copyIndex: idx, copyName: loopName}
				var dep []any
				if list, ok := field(r, "dependsOn").([]any); ok {
					for _, x := range list {
						v, err := e.value(x)
						if err != nil {
							return invalid("dependsOn of '%s': %v", name, err)
						}
						dep = append(dep, v)
					}
				}
				if parentType != "" {
					dep = append(dep, parentType+"/"+parentName)
				}
				all = append(all, res)
				deps = append(deps, dep)
				if loopName != "" {
					loops[strings.ToLower(loopName)] = append(loops[strings.ToLower(loopName)], len(all)-1)
				}
				if children, ok := field(r, "resources").([]any); ok {
					var list []map[string]any
					for _, c := range children {
						if m, ok := c.(map[string]any); ok {
							list = append(list, m)
						}
					}
					if err := expand(list, typ, name); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := expand(raw, "", ""); err != nil {
		return err
	}
	// Resolve dependsOn: a resource ID, "type/name", a name, or a copy
	// loop's name.
	for i, list := range deps {
		for _, x := range list {
			ref, _ := x.(string)
			found := loops[strings.ToLower(ref)]
			for j, r := range all {
				if j != i && (strings.EqualFold(r.ID, ref) || strings.EqualFold(r.Type+"/"+r.Name, ref) || strings.EqualFold(r.Name, ref)) {
					found = append(found, j)
				}
			}
			if len(found) == 0 {
				// A resource that is not in this template (or excluded by
				// its condition): ARM ignores it.
				continue
			}
			all[i].DependsOn = append(all[i].DependsOn, found...)
		}
	}
	order, err := topological(all)
	if err != nil {
		return err
	}
	// Reindex dependencies to plan order.
	pos := make([]int, len(all))
	for p, i := range order {
		pos[i] = p
	}
	for _, r := range all {
		for k, j := range r.DependsOn {
			r.DependsOn[k] = pos[j]
		}
	}
	d.Plan = make([]*Resource, len(all))
	for p, i := range order {
		d.Plan[p] = all[i]
	}
	return nil
}

// topological orders resources so that each follows what it depends on,
// keeping template order otherwise.
func topological(all []*Resource) ([]int, error) {
	state := make([]int, len(all)) // 0 new, 1 visiting, 2 done
	var order []int
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return invalid("circular dependency detected on resource '%s'", all[i].ID)
		case 2:
			return nil
		}
		state[i] = 1
		for _, j := range all[i].DependsOn {
			if err := visit(j); err != nil {
				return err
			}
		}
		state[i] = 2
		order = append(order, i)
		return nil
	}
	for i := range all {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func field(m map[string]any, name string) any {
	v, _ := lookup(m, name)
	return v
}

func stringField(e *evaluator, r map[string]any, name string) (string, error) {
	v, err := e.value(field(r, name))
	if err != nil {
		return "", invalid("%s: %v", name, err)
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", invalid("the resource %s is required and must be a string", name)
	}
	return s, nil
}

// idOfRef is the ID of a template resource named "type/name" (a scope
// given by symbolic reference, as Bicep compiles it).
func (d *Deployment) idOfRef(ref string) (string, error) {
	parts := strings.Split(ref, "/")
	if len(parts) < 3 {
		return "", invalid("the scope '%s' must be a resource ID or a 'type/name' reference", ref)
	}
	n := (len(parts) - 1) / 2
	return d.idOf(strings.Join(parts[:n+1], "/"), strings.Join(parts[n+1:], "/"))
}

// idOf is the ID of a resource of type "Ns/t1/t2" named "n1/n2" in the
// deployment's resource group.
func (d *Deployment) idOf(typ, name string) (string, error) {
	return d.resourceIDIn(d.scope.SubscriptionID, d.scope.ResourceGroup, typ, strings.Split(name, "/"))
}

func (d *Deployment) resourceIDIn(sub, rg, typ string, names []string) (string, error) {
	parts := strings.Split(typ, "/")
	if len(parts) < 2 || !strings.Contains(parts[0], ".") {
		return "", invalid("the resource type '%s' is not valid: it must be a namespace and a type, like Microsoft.Network/virtualNetworks", typ)
	}
	if len(names) != len(parts)-1 {
		return "", invalid("the resource name '%s' has %d segments; type '%s' needs %d", strings.Join(names, "/"), len(names), typ, len(parts)-1)
	}
	var b strings.Builder
	b.WriteString("/subscriptions/" + sub)
	if rg != "" {
		b.WriteString("/resourceGroups/" + rg)
	}
	b.WriteString("/providers/" + parts[0])
	for i, t := range parts[1:] {
		b.WriteString("/" + t + "/" + names[i])
	}
	return b.String(), nil
}

// resourceID implements resourceId([subscriptionId], [resourceGroupName],
// type, name...) and subscriptionResourceId([subscriptionId], type, name...).
func (d *Deployment) resourceID(a []any, inGroup bool) (any, error) {
	typeAt := -1
	for i, x := range a {
		if s, ok := x.(string); ok && strings.Contains(s, "/") && strings.Contains(strings.SplitN(s, "/", 2)[0], ".") {
			typeAt = i
			break
		}
	}
	if typeAt < 0 {
		return nil, fmt.Errorf("resourceId() needs a resource type like 'Microsoft.Network/virtualNetworks'")
	}
	sub, rg := d.scope.SubscriptionID, d.scope.ResourceGroup
	switch {
	case inGroup && typeAt == 1:
		rg = toString(a[0])
	case inGroup && typeAt == 2:
		sub, rg = toString(a[0]), toString(a[1])
	case !inGroup && typeAt == 1:
		sub = toString(a[0])
	case typeAt > 2 || (!inGroup && typeAt > 1):
		return nil, fmt.Errorf("resourceId(): too many arguments before the resource type")
	}
	if !inGroup {
		rg = ""
	}
	names := make([]string, 0, len(a)-typeAt-1)
	for _, x := range a[typeAt+1:] {
		names = append(names, toString(x))
	}
	return d.resourceIDIn(sub, rg, toString(a[typeAt]), names)
}

// reference resolves reference(idOrName[, apiVersion, 'Full']).
func (d *Deployment) reference(target string, full bool) (any, error) {
	id := target
	if !strings.HasPrefix(target, "/subscriptions/") {
		for _, r := range d.Plan {
			if strings.EqualFold(r.Name, target) || strings.EqualFold(r.Type+"/"+r.Name, target) {
				id = r.ID
			}
		}
	}
	if !strings.HasPrefix(id, "/subscriptions/") {
		return nil, fmt.Errorf("the resource '%s' referenced by reference() is not defined in the template; use its resource ID", target)
	}
	if d.scope.Reference == nil {
		return nil, fmt.Errorf("reference() is not available here")
	}
	return d.scope.Reference(id, full)
}
