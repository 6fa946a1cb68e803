// Package management is the Microsoft.Management resource provider:
// management groups, the tree above subscriptions that every tenant has
// (its root is the tenant root group, named after the tenant ID), and the
// subscriptions' places in it. Role assignments at a management group
// apply to every group, subscription and resource below it (package
// authorization reads the tree through Ancestors).
package management

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = "Microsoft.Management"

// Resource types.
const (
	groupType        = Namespace + "/managementGroups"
	subscriptionType = Namespace + "/managementGroups/subscriptions"
)

// GroupPrefix starts every management group's ID.
const GroupPrefix = "/providers/Microsoft.Management/managementGroups/"

// GroupID is the resource ID of management group name.
func GroupID(name string) string { return GroupPrefix + name }

// GroupOf is the management group an ID is (or is below), if it is one.
func GroupOf(id string) (string, bool) {
	if len(id) <= len(GroupPrefix) || !strings.EqualFold(id[:len(GroupPrefix)], GroupPrefix) {
		return "", false
	}
	name, _, _ := strings.Cut(id[len(GroupPrefix):], "/")
	return name, name != ""
}

// groupProps is a management group as stored.
type groupProps struct {
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName"`
	// Parent is the parent group's name (the tenant root's: the tenant ID).
	Parent      string `json:"parent"`
	Version     int    `json:"version"`
	UpdatedTime string `json:"updatedTime"`
	UpdatedBy   string `json:"updatedBy"`
}

// node is one group of the tree.
type node struct {
	name string
	groupProps
}

// tree is every tenant's management groups and the subscriptions placed
// under them, as of an access generation.
type tree struct {
	generation string
	groups     map[string]*node  // lower-case name → group (not the roots)
	subParent  map[string]string // lower-case subscription ID → group name
}

var cached struct {
	sync.Mutex
	t *tree
}

// load reads the tree, from the cache when the access generation has not
// moved (every write of the tree bumps it).
func load(tx store.Tx) (*tree, error) {
	gen, err := store.Generation(tx, store.AccessGeneration)
	if err != nil {
		return nil, err
	}
	return loadAt(tx, gen)
}

func loadAt(tx store.Tx, gen string) (*tree, error) {
	cached.Lock()
	t := cached.t
	cached.Unlock()
	if t != nil && gen != "" && t.generation == gen {
		return t, nil
	}
	t, err := read(tx, gen)
	if err != nil {
		return nil, err
	}
	if gen != "" {
		cached.Lock()
		cached.t = t
		cached.Unlock()
	}
	return t, nil
}

// read reads the tree without the cache (a write transaction reads what
// it wrote this way: until it commits, its generation is not yet one).
func read(tx store.Tx, gen string) (*tree, error) {
	t := &tree{generation: gen, groups: map[string]*node{}, subParent: map[string]string{}}
	recs, err := tx.List(store.Query{Type: groupType})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		n := &node{name: r.Name}
		if err := json.Unmarshal(r.Properties, &n.groupProps); err != nil {
			return nil, fmt.Errorf("decode %s: %w", r.ID, err)
		}
		t.groups[strings.ToLower(r.Name)] = n
	}
	subs, err := tx.List(store.Query{Type: subscriptionType})
	if err != nil {
		return nil, err
	}
	for _, r := range subs {
		if g, ok := GroupOf(r.ID); ok {
			t.subParent[strings.ToLower(r.Name)] = g
		}
	}
	return t, nil
}

// group is the named group; the tenant root of tenant (named after it)
// is synthesized.
func (t *tree) group(name, tenant string) (*node, bool) {
	if strings.EqualFold(name, tenant) {
		return &node{name: strings.ToLower(tenant), groupProps: groupProps{TenantID: strings.ToLower(tenant), DisplayName: RootDisplayName}}, true
	}
	n, ok := t.groups[strings.ToLower(name)]
	if !ok || !strings.EqualFold(n.TenantID, tenant) {
		return nil, false
	}
	return n, true
}

// RootDisplayName is the tenant root group's display name.
const RootDisplayName = "Tenant Root Group"

// chain is the names of the groups above group name (its parent first, the
// tenant root last); a group not in the tree hangs off the root.
func (t *tree) chain(name, tenant string) []string {
	var out []string
	seen := map[string]bool{}
	for cur := name; !strings.EqualFold(cur, tenant); {
		n, ok := t.group(cur, tenant)
		if !ok || seen[strings.ToLower(cur)] {
			break
		}
		seen[strings.ToLower(cur)] = true
		out = append(out, n.Parent)
		cur = n.Parent
	}
	if len(out) == 0 || !strings.EqualFold(out[len(out)-1], tenant) {
		out = append(out, strings.ToLower(tenant))
	}
	return out
}

// subscriptionGroup is the group a subscription is placed under (the
// tenant root unless moved).
func (t *tree) subscriptionGroup(sub, tenant string) string {
	if g, ok := t.subParent[strings.ToLower(sub)]; ok {
		if _, ok := t.group(g, tenant); ok {
			return g
		}
	}
	return strings.ToLower(tenant)
}

// Ancestors is the IDs of the management groups above a subscription of
// tenant (its group first, the tenant root last), as of the access
// generation gen read in tx.
func Ancestors(tx store.Tx, gen, tenant, subscription string) ([]string, error) {
	t, err := loadAt(tx, gen)
	if err != nil {
		return nil, err
	}
	g := t.subscriptionGroup(subscription, tenant)
	out := []string{GroupID(g)}
	if !strings.EqualFold(g, tenant) {
		for _, a := range t.chain(g, tenant) {
			out = append(out, GroupID(a))
		}
	}
	return out, nil
}

// GroupAncestors is the IDs of the groups above management group name
// (parent first, the tenant root last; none for the root), and the
// group's tenant (ok false: no such group).
func GroupAncestors(tx store.Tx, gen, name string) (ids []string, tenant string, ok bool, err error) {
	t, err := loadAt(tx, gen)
	if err != nil {
		return nil, "", false, err
	}
	n, found := t.groups[strings.ToLower(name)]
	if !found {
		root, err := isTenant(tx, name)
		if err != nil || !root {
			return nil, "", false, err
		}
		return nil, strings.ToLower(name), true, nil
	}
	for _, a := range t.chain(n.name, n.TenantID) {
		ids = append(ids, GroupID(a))
	}
	return ids, n.TenantID, true, nil
}

// isTenant tells whether name is a tenant's ID (its root group's name).
func isTenant(tx store.Tx, name string) (bool, error) {
	if strings.ContainsAny(name, "/") {
		return false, nil
	}
	_, err := tx.Get("/tenants/" + name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
