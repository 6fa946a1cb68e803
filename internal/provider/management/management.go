package management

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// Config configures the provider.
type Config struct {
	Store store.Store
	// Permits checks a principal's access in tx (nil: everyone may do
	// everything, serve --open).
	Permits func(tx store.Tx, principal, scope, action string) (bool, error)
	// GrantOwner makes the caller Owner of scope (a group's creator is, as
	// in Azure).
	GrantOwner func(tx store.Tx, scope string, caller arm.Caller) error
	Now        func() time.Time
}

// Provider serves Microsoft.Management.
type Provider struct{ cfg Config }

// Register creates the provider and registers its types. Writes answer
// at once (Azure's group PUT and DELETE are long-running; here they are
// done before the answer, which clients take as finished).
func Register(reg *arm.Registry, cfg Config) *Provider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Provider{cfg: cfg}
	versions := apiversions.For(groupType)
	groups := &arm.ResourceType{Namespace: Namespace, Type: "managementGroups", APIVersions: versions, OwnWriteChecks: true}
	groups.Get, groups.Put, groups.Patch, groups.Delete, groups.List = p.getGroup, p.putGroup, p.patchGroup, p.deleteGroup, p.listGroups
	reg.Register(groups)
	subs := &arm.ResourceType{Namespace: Namespace, Type: "managementGroups/subscriptions", APIVersions: versions}
	subs.Get, subs.Put, subs.Delete, subs.List = p.getSubscription, p.putSubscription, p.deleteSubscription, p.listSubscriptions
	reg.Register(subs)
	desc := &arm.ResourceType{Namespace: Namespace, Type: "managementGroups/descendants", APIVersions: versions, Hidden: true}
	desc.List = p.listDescendants
	reg.Register(desc)
	check := &arm.ResourceType{Namespace: Namespace, Type: "checkNameAvailability", APIVersions: versions, Hidden: true}
	check.Post = p.checkName
	reg.Register(check)
	return p
}

// validName is a group name Azure accepts: 1–90 ASCII letters, digits,
// '-', '_', '(', ')' and '.'.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_().-]{1,90}$`)

// maxDepth is how many levels of groups may hang below the tenant root.
const maxDepth = 6

func errNotFound(name string) error {
	return arm.Errorf(http.StatusNotFound, "NotFound", "'%s' not found", GroupID(name))
}

func badRequest(format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, "BadRequest", format, args...)
}

// bump records a change of the tree (it decides access).
func bump(tx store.Tx) error { return store.Bump(tx, store.AccessGeneration) }

// authorize checks the caller's action at scope (ARM's refusal otherwise).
func (p *Provider) authorize(tx store.Tx, req *arm.Request, scope, action string) error {
	if p.cfg.Permits == nil {
		return nil
	}
	ok, err := p.cfg.Permits(tx, req.Caller.ObjectID, scope, action)
	if err != nil {
		return err
	}
	if !ok {
		return arm.ErrAuthorizationFailed(req.Caller, action, scope)
	}
	return nil
}

// subscriptionsOf is the tenant's subscriptions: ID → display name.
func subscriptionsOf(tx store.Tx, tenant string) (map[string]string, error) {
	recs, err := tx.List(store.Query{Type: "Microsoft.Resources/subscriptions"})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range recs {
		var props arm.SubscriptionProperties
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return nil, err
		}
		if strings.EqualFold(props.TenantID, tenant) {
			out[strings.ToLower(r.Name)] = props.DisplayName
		}
	}
	return out, nil
}

// children are a group's direct child groups and subscriptions (sorted by
// name).
func (t *tree) children(name, tenant string, subs map[string]string) (groups []*node, subscriptions []string) {
	for _, n := range t.groups {
		if strings.EqualFold(n.TenantID, tenant) && strings.EqualFold(n.Parent, name) {
			groups = append(groups, n)
		}
	}
	for sub := range subs {
		if strings.EqualFold(t.subscriptionGroup(sub, tenant), name) {
			subscriptions = append(subscriptions, sub)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].name < groups[j].name })
	sort.Strings(subscriptions)
	return groups, subscriptions
}

// expansion is what a GET asks to see besides the group.
type expansion struct {
	children, path, ancestors, recurse bool
	// onlySubscriptions / noSubscriptions: $filter=children.childType
	// eq|ne Subscription.
	onlySubscriptions, noSubscriptions bool
}

func expansionOf(req *arm.Request) (expansion, error) {
	q := req.Query()
	var e expansion
	for _, v := range strings.Split(q.Get("$expand"), ",") {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "children":
			e.children = true
		case "path":
			e.path = true
		case "ancestors":
			e.ancestors = true
		case "":
		default:
			return e, badRequest("The value '%s' of $expand is not supported: use children, path or ancestors.", v)
		}
	}
	e.recurse = strings.EqualFold(q.Get("$recurse"), "true")
	if e.recurse && !e.children {
		return e, badRequest("$recurse=true requires $expand=children.")
	}
	f := strings.ToLower(strings.Join(strings.Fields(strings.NewReplacer("'", "", `"`, "").Replace(q.Get("$filter"))), " "))
	switch f {
	case "":
	case "children.childtype eq subscription", "children.childtype eq /subscriptions":
		e.onlySubscriptions = true
	case "children.childtype ne subscription", "children.childtype ne /subscriptions":
		e.noSubscriptions = true
	default:
		return e, badRequest("The $filter '%s' is not supported: use children.childType eq Subscription or children.childType ne Subscription.", q.Get("$filter"))
	}
	return e, nil
}

// groupBody is a group as Microsoft.Management returns it.
func groupBody(tx store.Tx, t *tree, n *node, tenant string, e expansion) (map[string]any, error) {
	details := map[string]any{"version": n.Version, "updatedTime": n.UpdatedTime, "updatedBy": n.UpdatedBy}
	root := strings.EqualFold(n.name, tenant)
	if root {
		details = map[string]any{"version": 1}
	} else {
		parent, _ := t.group(n.Parent, tenant)
		details["parent"] = map[string]any{"id": GroupID(parent.name), "name": parent.name, "displayName": parent.DisplayName}
	}
	if (e.path || e.ancestors) && !root {
		chain := t.chain(n.name, tenant)
		var path, ancestors []map[string]any
		var names []string
		for i := range chain {
			a, _ := t.group(chain[i], tenant)
			ancestors = append(ancestors, map[string]any{"name": a.name, "displayName": a.DisplayName})
			names = append(names, a.name)
			r, _ := t.group(chain[len(chain)-1-i], tenant)
			path = append(path, map[string]any{"name": r.name, "displayName": r.DisplayName})
		}
		if e.path {
			details["path"] = path
		}
		if e.ancestors {
			details["managementGroupAncestorsChain"] = ancestors
			details["managementGroupAncestors"] = names
		}
	}
	props := map[string]any{"tenantId": tenant, "displayName": n.DisplayName, "details": details}
	if e.children {
		subs, err := subscriptionsOf(tx, tenant)
		if err != nil {
			return nil, err
		}
		props["children"] = childInfo(t, n.name, tenant, subs, e, e.recurse)
	}
	return map[string]any{"id": GroupID(n.name), "type": groupType, "name": n.name, "properties": props}, nil
}

func childInfo(t *tree, name, tenant string, subs map[string]string, e expansion, recurse bool) []map[string]any {
	groups, subscriptions := t.children(name, tenant, subs)
	out := []map[string]any{}
	if !e.onlySubscriptions {
		for _, g := range groups {
			c := map[string]any{"type": groupType, "id": GroupID(g.name), "name": g.name, "displayName": g.DisplayName}
			if recurse {
				c["children"] = childInfo(t, g.name, tenant, subs, e, true)
			}
			out = append(out, c)
		}
	}
	if !e.noSubscriptions {
		for _, s := range subscriptions {
			out = append(out, map[string]any{"type": "/subscriptions", "id": "/subscriptions/" + s, "name": s, "displayName": subs[s]})
		}
	}
	return out
}

func (p *Provider) getGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	e, err := expansionOf(req)
	if err != nil {
		return nil, err
	}
	return arm.ViewOK(ctx, p.cfg.Store, func(tx store.Tx) (any, error) {
		t, err := load(tx)
		if err != nil {
			return nil, err
		}
		n, ok := t.group(req.Route.Name(), req.Caller.TenantID)
		if !ok {
			return nil, errNotFound(req.Route.Name())
		}
		return groupBody(tx, t, n, strings.ToLower(req.Caller.TenantID), e)
	})
}

func (p *Provider) listGroups(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []map[string]any
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		t, err := load(tx)
		if err != nil {
			return err
		}
		tenant := strings.ToLower(req.Caller.TenantID)
		names := []string{tenant}
		for _, n := range t.groups {
			if strings.EqualFold(n.TenantID, tenant) {
				names = append(names, n.name)
			}
		}
		sort.Strings(names[1:])
		for _, name := range names {
			// Listed: the groups the caller may read.
			if p.cfg.Permits != nil {
				ok, err := p.cfg.Permits(tx, req.Caller.ObjectID, GroupID(name), groupType+"/read")
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			n, _ := t.group(name, tenant)
			out = append(out, map[string]any{"id": GroupID(n.name), "type": groupType, "name": n.name,
				"properties": map[string]any{"tenantId": tenant, "displayName": n.DisplayName}})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []map[string]any{}
	}
	return arm.OK(map[string]any{"value": out, "@nextLink": nil}), nil
}

// groupRequest is a PUT's body.
type groupRequest struct {
	Name       *string `json:"name"`
	Properties struct {
		TenantID    *string `json:"tenantId"`
		DisplayName *string `json:"displayName"`
		Details     struct {
			Parent struct {
				ID *string `json:"id"`
			} `json:"parent"`
		} `json:"details"`
	} `json:"properties"`
}

// parentName reads a parent reference: a group's ID or its name.
func parentName(ref string) string {
	if name, ok := GroupOf(ref); ok {
		return name
	}
	return strings.TrimSpace(ref)
}

func (p *Provider) putGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in groupRequest
	if err := req.DecodeBody(&in, false); err != nil {
		return nil, err
	}
	name := req.Route.Name()
	if in.Name != nil && !strings.EqualFold(*in.Name, name) {
		return nil, badRequest("Name of the group doesn't match the group id.")
	}
	if in.Properties.TenantID != nil && !strings.EqualFold(*in.Properties.TenantID, req.Caller.TenantID) {
		return nil, badRequest("The tenant ID '%s' is not the tenant of the caller.", *in.Properties.TenantID)
	}
	parent := ""
	if in.Properties.Details.Parent.ID != nil {
		parent = parentName(*in.Properties.Details.Parent.ID)
	}
	return p.write(ctx, req, name, in.Properties.DisplayName, parent)
}

func (p *Provider) patchGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		DisplayName   *string `json:"displayName"`
		ParentGroupID *string `json:"parentGroupId"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	exists := false
	if err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		t, err := load(tx)
		if err == nil {
			_, exists = t.group(req.Route.Name(), req.Caller.TenantID)
		}
		return err
	}); err != nil {
		return nil, err
	}
	if !exists {
		return nil, errNotFound(req.Route.Name())
	}
	parent := ""
	if in.ParentGroupID != nil {
		parent = parentName(*in.ParentGroupID)
	}
	return p.write(ctx, req, req.Route.Name(), in.DisplayName, parent)
}

// write creates or updates a group: displayName nil keeps (or, new,
// defaults to the name); parent "" keeps (or, new, the tenant root).
// Creating needs write on the parent (the tenant root's too: localaks
// checks group creation as Azure does with the hierarchy setting
// requireAuthorizationForGroupCreation on), updating write on the group,
// moving write on the new parent as well; the creator becomes Owner.
func (p *Provider) write(ctx context.Context, req *arm.Request, name string, displayName *string, parent string) (*arm.Response, error) {
	tenant := strings.ToLower(req.Caller.TenantID)
	if strings.EqualFold(name, tenant) {
		return nil, badRequest("The tenant root group '%s' cannot be changed or moved.", name)
	}
	if !validName.MatchString(name) {
		return nil, badRequest("The provided management group name has invalid characters: a name has 1 to 90 letters, digits, '-', '_', '(', ')' and '.'.")
	}
	if displayName != nil && (len(*displayName) > 90 || strings.TrimSpace(*displayName) == "") {
		return nil, badRequest("The display name must have 1 to 90 characters.")
	}
	var body map[string]any
	err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		t, err := load(tx)
		if err != nil {
			return err
		}
		if other, ok := t.groups[strings.ToLower(name)]; ok && !strings.EqualFold(other.TenantID, tenant) {
			return arm.Errorf(http.StatusConflict, "Conflict", "The group with the specified name already exists")
		}
		cur, exists := t.group(name, tenant)
		n := &node{name: name}
		if exists {
			n = &node{name: cur.name, groupProps: cur.groupProps}
			if err := p.authorize(tx, req, GroupID(cur.name), groupType+"/write"); err != nil {
				return err
			}
		} else {
			n.TenantID, n.DisplayName, n.Parent = tenant, name, tenant
		}
		if parent != "" && !strings.EqualFold(parent, n.Parent) || !exists {
			if parent == "" {
				parent = n.Parent
			}
			pn, ok := t.group(parent, tenant)
			if !ok {
				return badRequest("The parent management group '%s' was not found.", parent)
			}
			if strings.EqualFold(pn.name, name) || slices.ContainsFunc(t.chain(pn.name, tenant), func(a string) bool { return strings.EqualFold(a, name) }) {
				return badRequest("The management group '%s' cannot be moved under itself or one of its descendants ('%s').", name, pn.name)
			}
			if depth := len(t.chain(pn.name, tenant)) + subtreeDepth(t, name, tenant); !strings.EqualFold(pn.name, tenant) && depth > maxDepth {
				return badRequest("The management group hierarchy may have at most %d levels below the tenant root group.", maxDepth)
			}
			if err := p.authorize(tx, req, GroupID(pn.name), groupType+"/write"); err != nil {
				return err
			}
			n.Parent = pn.name
		}
		if displayName != nil {
			n.DisplayName = *displayName
		}
		n.Version++
		n.UpdatedTime = p.cfg.Now().UTC().Format(time.RFC3339Nano)
		n.UpdatedBy = req.Caller.ObjectID
		props, err := json.Marshal(n.groupProps)
		if err != nil {
			return err
		}
		if err := tx.Put(&store.Resource{ID: GroupID(n.name), Type: groupType, Name: n.name, Properties: props}); err != nil {
			return err
		}
		if !exists && p.cfg.GrantOwner != nil {
			if err := p.cfg.GrantOwner(tx, GroupID(n.name), req.Caller); err != nil {
				return err
			}
		}
		if err := bump(tx); err != nil {
			return err
		}
		if t, err = read(tx, ""); err != nil {
			return err
		}
		nn, _ := t.group(n.name, tenant)
		body, err = groupBody(tx, t, nn, tenant, expansion{})
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body).SetHeader(arm.SkipPollingDelay, "true"), nil
}

// subtreeDepth is how many levels group name and its descendants take
// (1 for a leaf; 1 for a group that does not exist yet).
func subtreeDepth(t *tree, name, tenant string) int {
	depth := 1
	for _, n := range t.groups {
		if strings.EqualFold(n.TenantID, tenant) && strings.EqualFold(n.Parent, name) {
			depth = max(depth, 1+subtreeDepth(t, n.name, tenant))
		}
	}
	return depth
}

func (p *Provider) deleteGroup(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	name, tenant := req.Route.Name(), strings.ToLower(req.Caller.TenantID)
	if strings.EqualFold(name, tenant) {
		return nil, badRequest("The tenant root group '%s' cannot be deleted.", name)
	}
	err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		t, err := load(tx)
		if err != nil {
			return err
		}
		n, ok := t.group(name, tenant)
		if !ok {
			return errNotFound(name)
		}
		subs, err := subscriptionsOf(tx, tenant)
		if err != nil {
			return err
		}
		if groups, subscriptions := t.children(n.name, tenant, subs); len(groups)+len(subscriptions) > 0 {
			return badRequest("The management group '%s' has %d child groups and %d subscriptions: move or delete them first.", n.name, len(groups), len(subscriptions))
		}
		// The group's role assignments go with it.
		if _, err := tx.Delete(GroupID(n.name)); err != nil {
			return err
		}
		return bump(tx)
	})
	if err != nil {
		return nil, err
	}
	return arm.NoContent().SetHeader(arm.SkipPollingDelay, "true"), nil
}

// subscriptionBody is a subscription as placed under a group.
func subscriptionBody(group, sub, displayName, tenant string) map[string]any {
	return map[string]any{"id": GroupID(group) + "/subscriptions/" + sub, "type": subscriptionType, "name": sub,
		"properties": map[string]any{"tenant": tenant, "displayName": displayName, "state": "Active",
			"parent": map[string]any{"id": GroupID(group)}}}
}

// placement reads a subscription-under-group request: the tree, the
// group (ok false: none), the tenant's subscriptions.
func placement(tx store.Tx, req *arm.Request) (*tree, *node, map[string]string, error) {
	t, err := load(tx)
	if err != nil {
		return nil, nil, nil, err
	}
	group, _ := GroupOf(req.Route.ID.String())
	n, ok := t.group(group, req.Caller.TenantID)
	if !ok {
		return nil, nil, nil, errNotFound(group)
	}
	subs, err := subscriptionsOf(tx, req.Caller.TenantID)
	return t, n, subs, err
}

func errNoSubscription(sub string) error {
	return arm.Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub)
}

func (p *Provider) getSubscription(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	sub := strings.ToLower(req.Route.Name())
	return arm.ViewOK(ctx, p.cfg.Store, func(tx store.Tx) (any, error) {
		t, n, subs, err := placement(tx, req)
		if err != nil {
			return nil, err
		}
		dn, ok := subs[sub]
		if !ok || !strings.EqualFold(t.subscriptionGroup(sub, req.Caller.TenantID), n.name) {
			return nil, arm.Errorf(http.StatusNotFound, "NotFound", "'%s' not found", req.Route.ID.String())
		}
		return subscriptionBody(n.name, sub, dn, strings.ToLower(req.Caller.TenantID)), nil
	})
}

func (p *Provider) listSubscriptions(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.cfg.Store, func(tx store.Tx) (any, error) {
		t, n, subs, err := placement(tx, req)
		if err != nil {
			return nil, err
		}
		_, under := t.children(n.name, req.Caller.TenantID, subs)
		out := []map[string]any{}
		for _, s := range under {
			out = append(out, subscriptionBody(n.name, s, subs[s], strings.ToLower(req.Caller.TenantID)))
		}
		return arm.List{Value: out}, nil
	})
}

// move places a subscription under group (the tenant root: no record).
// Moving needs the right to write and delete role assignments on the
// subscription, as in Azure (ARM has checked the target group).
func (p *Provider) move(tx store.Tx, req *arm.Request, t *tree, sub, group string) error {
	if p.cfg.Permits != nil {
		for _, act := range []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"} {
			ok, err := p.cfg.Permits(tx, req.Caller.ObjectID, "/subscriptions/"+sub, act)
			if err != nil {
				return err
			}
			if !ok {
				return badRequest("Permission to write and delete on resources of type 'Microsoft.Authorization/roleAssignments' is required on the subscription or its ancestors. Subscription ID: '/subscriptions/%s'", sub)
			}
		}
	}
	if old, ok := t.subParent[sub]; ok {
		if _, err := tx.Delete(GroupID(old) + "/subscriptions/" + sub); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if !strings.EqualFold(group, req.Caller.TenantID) {
		if err := tx.Put(&store.Resource{ID: GroupID(group) + "/subscriptions/" + sub, Type: subscriptionType, Name: sub, Properties: json.RawMessage(`{}`)}); err != nil {
			return err
		}
	}
	return bump(tx)
}

func (p *Provider) putSubscription(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	sub := strings.ToLower(req.Route.Name())
	var body map[string]any
	err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		t, n, subs, err := placement(tx, req)
		if err != nil {
			return err
		}
		dn, ok := subs[sub]
		if !ok {
			return errNoSubscription(req.Route.Name())
		}
		if err := p.move(tx, req, t, sub, n.name); err != nil {
			return err
		}
		body = subscriptionBody(n.name, sub, dn, strings.ToLower(req.Caller.TenantID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

// deleteSubscription takes a subscription out of a group: back under the
// tenant root.
func (p *Provider) deleteSubscription(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	sub := strings.ToLower(req.Route.Name())
	existed := false
	err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		t, n, subs, err := placement(tx, req)
		if err != nil {
			return err
		}
		if _, ok := subs[sub]; !ok || !strings.EqualFold(t.subscriptionGroup(sub, req.Caller.TenantID), n.name) || strings.EqualFold(n.name, req.Caller.TenantID) {
			return nil
		}
		existed = true
		return p.move(tx, req, t, sub, req.Caller.TenantID)
	})
	if err != nil {
		return nil, err
	}
	return arm.Deleted(existed), nil
}

func (p *Provider) listDescendants(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.cfg.Store, func(tx store.Tx) (any, error) {
		t, err := load(tx)
		if err != nil {
			return nil, err
		}
		group, _ := GroupOf(req.Route.ID.String())
		tenant := strings.ToLower(req.Caller.TenantID)
		n, ok := t.group(group, tenant)
		if !ok {
			return nil, errNotFound(group)
		}
		subs, err := subscriptionsOf(tx, tenant)
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		var walk func(name string)
		walk = func(name string) {
			groups, subscriptions := t.children(name, tenant, subs)
			for _, g := range groups {
				out = append(out, map[string]any{"id": GroupID(g.name), "type": groupType, "name": g.name,
					"properties": map[string]any{"displayName": g.DisplayName, "parent": map[string]any{"id": GroupID(name)}}})
				walk(g.name)
			}
			for _, s := range subscriptions {
				out = append(out, map[string]any{"id": "/subscriptions/" + s, "type": subscriptionType, "name": s,
					"properties": map[string]any{"displayName": subs[s], "parent": map[string]any{"id": GroupID(name)}}})
			}
		}
		walk(n.name)
		return arm.List{Value: out}, nil
	})
}

func (p *Provider) checkName(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct{ Name, Type string }
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if !validName.MatchString(in.Name) {
		return arm.OK(map[string]any{"nameAvailable": false, "reason": "Invalid", "message": "The provided management group name has invalid characters"}), nil
	}
	return arm.ViewOK(ctx, p.cfg.Store, func(tx store.Tx) (any, error) {
		t, err := load(tx)
		if err != nil {
			return nil, err
		}
		if _, taken := t.groups[strings.ToLower(in.Name)]; taken || strings.EqualFold(in.Name, req.Caller.TenantID) {
			return map[string]any{"nameAvailable": false, "reason": "AlreadyExists", "message": "The group with the specified name already exists"}, nil
		}
		return map[string]any{"nameAvailable": true}, nil
	})
}
