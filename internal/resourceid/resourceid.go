// Package resourceid parses and formats Azure Resource Manager resource IDs.
//
// An ARM resource ID is a sequence of key/value segment pairs:
//
//	/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}...]
//
// optionally followed by further /providers/{ns}/{type}/{name} chunks for
// extension resources (tags, role assignments) scoped to the resource before
// them. ARM compares IDs case-insensitively but echoes the casing the caller
// first used, so an ID keeps its original spelling and offers a lower-case Key
// for comparisons and storage.
package resourceid

import (
	"errors"
	"fmt"
	"strings"
)

// ID is a parsed resource ID. The zero value is the tenant root ("").
type ID struct {
	pairs []pair
}

type pair struct{ key, value string }

// ErrInvalid reports a string that is not a well-formed resource ID.
var ErrInvalid = errors.New("invalid resource ID")

// Parse parses a resource ID such as
// "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v".
// Repeated slashes are tolerated; a trailing slash is not part of the ID.
func Parse(s string) (ID, error) {
	segs := Split(s)
	if len(segs) == 0 {
		return ID{}, fmt.Errorf("%w %q: empty", ErrInvalid, s)
	}
	if len(segs)%2 != 0 {
		return ID{}, fmt.Errorf("%w %q: segments do not come in type/name pairs", ErrInvalid, s)
	}
	id := ID{pairs: make([]pair, 0, len(segs)/2)}
	for i := 0; i < len(segs); i += 2 {
		id.pairs = append(id.pairs, pair{segs[i], segs[i+1]})
	}
	if err := id.check(); err != nil {
		return ID{}, fmt.Errorf("%w %q: %v", ErrInvalid, s, err)
	}
	return id, nil
}

// MustParse is Parse for IDs built by the program itself; it panics on error.
func MustParse(s string) ID {
	id, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

func (id ID) check() error {
	for i, p := range id.pairs {
		switch {
		case i == 0 && !strings.EqualFold(p.key, "subscriptions") && !strings.EqualFold(p.key, "providers") && !strings.EqualFold(p.key, "tenants"):
			return fmt.Errorf("must start with /subscriptions, /tenants or /providers")
		case strings.EqualFold(p.key, "resourceGroups") && (i != 1 || !strings.EqualFold(id.pairs[0].key, "subscriptions")):
			return fmt.Errorf("resourceGroups must follow the subscription")
		}
	}
	return nil
}

// Split breaks a URL path into its non-empty segments, so "//a/b/" is [a b].
func Split(path string) []string {
	parts := strings.Split(path, "/")
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Subscription builds the ID of a subscription.
func Subscription(sub string) ID {
	return ID{pairs: []pair{{"subscriptions", sub}}}
}

// ResourceGroup builds the ID of a resource group.
func ResourceGroup(sub, rg string) ID {
	return ID{pairs: []pair{{"subscriptions", sub}, {"resourceGroups", rg}}}
}

// Child returns the ID of a child resource of id. Under a subscription or
// resource group it starts a /providers/{ns} chunk; under a provider resource
// it appends the type/name pair (nested resources share their parent's
// namespace, so ns is not repeated).
func (id ID) Child(ns, typ, name string) ID {
	out := ID{pairs: append([]pair(nil), id.pairs...)}
	if id.isScopeOnly() {
		out.pairs = append(out.pairs, pair{"providers", ns})
	}
	out.pairs = append(out.pairs, pair{typ, name})
	return out
}

// Extension returns the ID of an extension resource (for example
// Microsoft.Resources/tags/default) scoped to id.
func (id ID) Extension(ns, typ, name string) ID {
	out := ID{pairs: append([]pair(nil), id.pairs...)}
	out.pairs = append(out.pairs, pair{"providers", ns}, pair{typ, name})
	return out
}

// isScopeOnly reports whether the ID is a subscription, resource group or
// tenant, i.e. has no provider resource chunk.
func (id ID) isScopeOnly() bool {
	for _, p := range id.pairs {
		if strings.EqualFold(p.key, "providers") {
			return false
		}
	}
	return true
}

// IsZero reports whether the ID is the tenant root.
func (id ID) IsZero() bool { return len(id.pairs) == 0 }

// String renders the ID with the casing it was parsed or built with.
func (id ID) String() string {
	var b strings.Builder
	for _, p := range id.pairs {
		b.WriteByte('/')
		b.WriteString(p.key)
		b.WriteByte('/')
		b.WriteString(p.value)
	}
	return b.String()
}

// Key is the lower-case form used for comparison and storage.
func (id ID) Key() string { return strings.ToLower(id.String()) }

// Equal compares two IDs as ARM does, ignoring case.
func (id ID) Equal(other ID) bool { return id.Key() == other.Key() }

// SubscriptionID returns the subscription segment, or "".
func (id ID) SubscriptionID() string {
	if len(id.pairs) > 0 && strings.EqualFold(id.pairs[0].key, "subscriptions") {
		return id.pairs[0].value
	}
	return ""
}

// ResourceGroupName returns the resource group segment, or "".
func (id ID) ResourceGroupName() string {
	if len(id.pairs) > 1 && strings.EqualFold(id.pairs[1].key, "resourceGroups") {
		return id.pairs[1].value
	}
	return ""
}

// Name is the last segment: the resource's own name.
func (id ID) Name() string {
	if len(id.pairs) == 0 {
		return ""
	}
	return id.pairs[len(id.pairs)-1].value
}

// lastProviders is the index of the last "providers" pair, or -1.
func (id ID) lastProviders() int {
	for i := len(id.pairs) - 1; i >= 0; i-- {
		if strings.EqualFold(id.pairs[i].key, "providers") {
			return i
		}
	}
	return -1
}

// Namespace is the resource provider namespace of the resource, e.g.
// Microsoft.Network; subscriptions, resource groups and provider
// registrations belong to Microsoft.Resources.
func (id ID) Namespace() string {
	i := id.lastProviders()
	if i < 0 || i == len(id.pairs)-1 {
		if len(id.pairs) == 0 {
			return ""
		}
		return "Microsoft.Resources"
	}
	return id.pairs[i].value
}

// Type is the full resource type with the ID's casing, e.g.
// "Microsoft.Network/virtualNetworks/subnets" or
// "Microsoft.Resources/resourceGroups".
func (id ID) Type() string {
	if len(id.pairs) == 0 {
		return ""
	}
	i := id.lastProviders()
	if i < 0 {
		return "Microsoft.Resources/" + id.pairs[len(id.pairs)-1].key
	}
	if i == len(id.pairs)-1 {
		return "Microsoft.Resources/providers"
	}
	parts := []string{id.pairs[i].value}
	for _, p := range id.pairs[i+1:] {
		parts = append(parts, p.key)
	}
	return strings.Join(parts, "/")
}

// Parent is the ID of the resource that contains id: a child resource's
// parent resource, a top-level resource's resource group, a resource
// group's subscription, an extension resource's scope.
func (id ID) Parent() ID {
	if len(id.pairs) == 0 {
		return id
	}
	out := ID{pairs: append([]pair(nil), id.pairs[:len(id.pairs)-1]...)}
	if n := len(out.pairs); n > 0 && strings.EqualFold(out.pairs[n-1].key, "providers") && len(id.pairs) > 1 &&
		!strings.EqualFold(id.pairs[len(id.pairs)-1].key, "providers") {
		out.pairs = out.pairs[:n-1]
	}
	return out
}

// IsTopLevel reports whether the ID names a top-level resource in a resource
// group: /subscriptions/s/resourceGroups/rg/providers/ns/type/name. These are
// what the generic resource listings return — not ARM's own types in a
// group (Microsoft.Resources deployments, Microsoft.Authorization role
// assignments), which ARM does not list.
func (id ID) IsTopLevel() bool {
	return len(id.pairs) == 4 && id.ResourceGroupName() != "" && strings.EqualFold(id.pairs[2].key, "providers") &&
		!strings.EqualFold(id.pairs[2].value, "Microsoft.Resources") && !strings.EqualFold(id.pairs[2].value, "Microsoft.Authorization")
}
