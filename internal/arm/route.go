package arm

import (
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
)

// Route is what a request path addresses.
type Route struct {
	// Type is the registered resource type (see ResourceType) the request
	// is about; for a collection, the type of its items.
	Type *ResourceType
	// ID is the addressed resource; for a collection, the resource (or
	// scope) the collection hangs off.
	ID resourceid.ID
	// Collection is set for a request to a collection (list or create-by-POST).
	Collection bool
	// Action is the POST action name, e.g. "listClusterUserCredential".
	Action string
}

// Name is the addressed resource's name (empty for collections).
func (r Route) Name() string {
	if r.Collection {
		return ""
	}
	return r.ID.Name()
}

// chain is a path broken into the resource-type chain of its last provider
// chunk. Built-in ARM paths (/subscriptions/..., /tenants, /providers at the
// root) belong to the Microsoft.Resources chain, so resource groups are
// "Microsoft.Resources/subscriptions/resourceGroups".
type chain struct {
	ns       string
	types    []string
	names    []string
	idSegs   []string // the segments of the ID of the last complete resource
	trailing string   // a type (collection) or action after the last name
}

// parsePath resolves a normalised path against the registry.
func (reg *Registry) parsePath(path string) (Route, *Error) {
	segs := resourceid.Split(path)
	if len(segs) == 0 {
		return Route{}, errNoRoute(path)
	}
	c := chain{ns: "Microsoft.Resources"}
	i := 0
	if strings.EqualFold(segs[0], "providers") {
		// Tenant-level: /providers, /providers/{ns}, /providers/{ns}/{type}...
		switch len(segs) {
		case 1:
			return reg.resolve(path, chain{ns: "Microsoft.Resources", trailing: "providers"})
		case 2:
			return reg.resolve(path, chain{ns: "Microsoft.Resources", types: []string{"providers"}, names: []string{segs[1]}, idSegs: segs})
		}
		c.ns, i = segs[1], 2
	}
	for i < len(segs) {
		seg := segs[i]
		complete := len(c.types) == len(c.names)
		if complete && strings.EqualFold(seg, "providers") && i+1 < len(segs) && len(c.types) > 0 {
			rest := len(segs) - (i + 2)
			atSubscription := c.ns == "Microsoft.Resources" && len(c.types) == 1 && strings.EqualFold(c.types[0], "subscriptions")
			if atSubscription && (rest == 0 || (rest == 1 && isRegistrationAction(segs[i+2]))) {
				// /subscriptions/{s}/providers/{ns}[/register|/unregister]
				c.types = append(c.types, "providers")
				c.names = append(c.names, segs[i+1])
				c.idSegs = segs[:i+2]
				if rest == 1 {
					c.trailing = segs[i+2]
				}
				return reg.resolve(path, c)
			}
			// A new provider chunk scoped to the resource so far.
			c = chain{ns: segs[i+1], idSegs: segs[:i]}
			i += 2
			continue
		}
		if i+1 < len(segs) {
			c.types = append(c.types, seg)
			c.names = append(c.names, segs[i+1])
			c.idSegs = segs[:i+2]
			i += 2
			continue
		}
		c.trailing = seg
		i++
	}
	return reg.resolve(path, c)
}

func isRegistrationAction(s string) bool {
	return strings.EqualFold(s, "register") || strings.EqualFold(s, "unregister")
}

// resolve turns a chain into a Route: an item, a collection of a registered
// child type, or an action on an item.
func (reg *Registry) resolve(path string, c chain) (Route, *Error) {
	id := resourceid.ID{}
	if len(c.idSegs) > 0 {
		parsed, err := resourceid.Parse("/" + strings.Join(reg.canonicalSegs(c.idSegs), "/"))
		if err != nil {
			return Route{}, errNoRoute(path)
		}
		id = parsed
	}
	if c.trailing == "" {
		rt := reg.lookup(c.ns, c.types)
		if rt == nil {
			return Route{}, reg.errUnknownType(path, c.ns, c.types)
		}
		return Route{Type: rt, ID: id}, nil
	}
	if rt := reg.lookup(c.ns, append(append([]string(nil), c.types...), c.trailing)); rt != nil {
		return Route{Type: rt, ID: id, Collection: true}, nil
	}
	if len(c.types) == 0 {
		return Route{}, reg.errUnknownType(path, c.ns, []string{c.trailing})
	}
	rt := reg.lookup(c.ns, c.types)
	if rt == nil {
		return Route{}, reg.errUnknownType(path, c.ns, c.types)
	}
	if rt.action(c.trailing) == nil && rt.readAction(c.trailing) == nil {
		return Route{}, reg.errUnknownType(path, c.ns, append(append([]string(nil), c.types...), c.trailing))
	}
	return Route{Type: rt, ID: id, Action: c.trailing}, nil
}

func errNoRoute(path string) *Error {
	return Errorf(http.StatusNotFound, "NotFound", "The requested path '%s' is not an Azure Resource Manager resource path.", path)
}

func (reg *Registry) errUnknownType(path, ns string, types []string) *Error {
	if strings.EqualFold(ns, "Microsoft.Resources") && len(types) > 0 && !strings.EqualFold(types[0], "tags") &&
		!strings.EqualFold(types[0], "deployments") {
		return errNoRoute(path)
	}
	if !reg.hasNamespace(ns) {
		return Errorf(http.StatusBadRequest, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", ns)
	}
	return Errorf(http.StatusBadRequest, "InvalidResourceType",
		"The resource type '%s' could not be found in the namespace '%s'.", strings.Join(types, "/"), ns)
}

// canonicalSegs spells the type segments of an ID path as ARM does
// ("resourcegroups" → "resourceGroups", namespaces and registered types in
// their canonical casing); names keep the caller's casing.
func (reg *Registry) canonicalSegs(segs []string) []string {
	out := append([]string(nil), segs...)
	ns := "Microsoft.Resources"
	var types []string
	for i := 0; i+1 < len(out); i += 2 {
		if strings.EqualFold(out[i], "providers") {
			out[i] = "providers"
			if c, ok := reg.Namespace(out[i+1]); ok {
				out[i+1] = c
			}
			ns, types = out[i+1], nil
			continue
		}
		types = append(types, out[i])
		if rt := reg.lookup(ns, types); rt != nil {
			out[i] = rt.Type[strings.LastIndex(rt.Type, "/")+1:]
		}
	}
	return out
}
