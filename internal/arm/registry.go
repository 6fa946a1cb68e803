package arm

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/store"
)

// HandlerFunc serves one ARM request.
type HandlerFunc func(ctx context.Context, req *Request) (*Response, error)

// ResourceType declares a resource type (or an ARM endpoint shaped like one)
// and the handlers that serve it. Method handlers left nil answer 405.
type ResourceType struct {
	// Namespace is the provider namespace, e.g. Microsoft.ContainerService.
	Namespace string
	// Type is the type path below the namespace, e.g. "managedClusters" or
	// "managedClusters/agentPools"; built-in ARM paths use the
	// Microsoft.Resources chain ("subscriptions/resourceGroups").
	Type string
	// APIVersions lists the accepted api-versions, newest first.
	APIVersions []string
	// AnyAPIVersion accepts every api-version, and none.
	AnyAPIVersion bool
	// Builtin marks types served by ARM itself rather than a resource
	// provider: they need no provider registration and a bad api-version is
	// InvalidApiVersionParameter rather than a provider error.
	Builtin bool
	// Hidden keeps the type out of the provider's resourceTypes listing.
	Hidden bool
	// OwnWriteChecks: the provider checks PUT and PATCH of an item itself
	// (a management group's create needs write on its parent, which ARM's
	// check of the request's own scope cannot see); ARM checks the rest.
	OwnWriteChecks bool
	// LenientJSON accepts bodies with comments, trailing commas and bare
	// keys, as ARM does for deployments (az sends templates that way).
	LenientJSON bool
	// Locations lists the regions the type is offered in (provider listing).
	Locations []string

	Get, Head, Put, Patch, Delete HandlerFunc
	// List serves GET on the collection.
	List HandlerFunc
	// Actions serves POST {resource}/{action}; keys are matched
	// case-insensitively.
	Actions map[string]HandlerFunc
	// ReadActions serves GET {resource}/{action} (e.g. a registry's
	// listUsages); keys are matched case-insensitively.
	ReadActions map[string]HandlerFunc
	// Post serves POST on the collection: a provider-level action such as
	// /subscriptions/{s}/providers/{ns}/checkNameAvailability, registered
	// as a hidden type named after the action.
	Post HandlerFunc

	// Teardown, when set, releases what a resource of this type holds
	// outside its own record (processes, other resource groups) when the
	// resource goes with its resource group. It must be idempotent. The
	// records themselves are removed by the group deletion.
	Teardown func(ctx context.Context, r *store.Resource) error
}

// FullType is "Namespace/Type".
func (rt *ResourceType) FullType() string { return rt.Namespace + "/" + rt.Type }

func (rt *ResourceType) action(name string) HandlerFunc { return handlerNamed(rt.Actions, name) }

func (rt *ResourceType) readAction(name string) HandlerFunc {
	return handlerNamed(rt.ReadActions, name)
}

func handlerNamed(m map[string]HandlerFunc, name string) HandlerFunc {
	for k, h := range m {
		if strings.EqualFold(k, name) {
			return h
		}
	}
	return nil
}

// supportsVersion reports whether v is accepted.
func (rt *ResourceType) supportsVersion(v string) bool {
	return rt.AnyAPIVersion || slices.ContainsFunc(rt.APIVersions, func(s string) bool { return strings.EqualFold(s, v) })
}

// Registry holds every resource type localaks serves.
type Registry struct {
	types      map[string]*ResourceType
	namespaces map[string]string // lower-case → canonical
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]*ResourceType{}, namespaces: map[string]string{}}
}

// Register adds a resource type. Registering the same type twice is a
// programming error.
func (reg *Registry) Register(rt *ResourceType) {
	key := strings.ToLower(rt.FullType())
	if _, dup := reg.types[key]; dup {
		panic(fmt.Sprintf("arm: resource type %s registered twice", rt.FullType()))
	}
	if !rt.AnyAPIVersion && len(rt.APIVersions) == 0 {
		panic(fmt.Sprintf("arm: resource type %s has no api-versions", rt.FullType()))
	}
	reg.types[key] = rt
	reg.namespaces[strings.ToLower(rt.Namespace)] = rt.Namespace
}

func (reg *Registry) lookup(ns string, types []string) *ResourceType {
	if len(types) == 0 {
		return nil
	}
	return reg.types[strings.ToLower(ns+"/"+strings.Join(types, "/"))]
}

// Lookup returns the registered type for a full type name such as
// "Microsoft.Network/virtualNetworks", or nil.
func (reg *Registry) Lookup(fullType string) *ResourceType {
	return reg.types[strings.ToLower(fullType)]
}

func (reg *Registry) hasNamespace(ns string) bool {
	_, ok := reg.namespaces[strings.ToLower(ns)]
	return ok
}

// Namespace returns the canonical spelling of a registered namespace.
func (reg *Registry) Namespace(ns string) (string, bool) {
	c, ok := reg.namespaces[strings.ToLower(ns)]
	return c, ok
}

// ProviderNamespaces lists the namespaces that resource providers serve
// (those with at least one non-built-in type), sorted.
func (reg *Registry) ProviderNamespaces() []string {
	set := map[string]bool{}
	for _, rt := range reg.types {
		if !rt.Builtin {
			set[rt.Namespace] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// TypesOf lists the visible resource types of a namespace, sorted by type.
func (reg *Registry) TypesOf(ns string) []*ResourceType {
	var out []*ResourceType
	for _, rt := range reg.types {
		if strings.EqualFold(rt.Namespace, ns) && !rt.Hidden && !rt.Builtin {
			out = append(out, rt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}
