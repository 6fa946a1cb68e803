// Package authorization is the Microsoft.Authorization resource provider:
// Azure's built-in role definitions, custom role definitions (with
// notActions and assignable scopes), and role assignments at any scope
// (subscription, resource group, resource), with ARM's validation — what
// `az role assignment create`, templates and Terraform write when they give
// a cluster's kubelet identity AcrPull or its identity Network Contributor
// on a subnet. Every ARM request is checked against them (Authorize, with
// ARM's linked checks in package arm), and so are the container
// registries' data plane and Entra clusters' Kubernetes API (Permits).
package authorization

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/graph"
	"github.com/localaks/localaks/internal/provider/management"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = "Microsoft.Authorization"

const assignmentType = Namespace + "/roleAssignments"

// APIVersions are the role assignments' api-versions (package
// apiversions); role definitions have their own.
var APIVersions = apiversions.For(assignmentType)

// Role is a role definition: one of Azure's built-in roles, or a custom
// role (stored, with the scopes it may be assigned at).
type Role struct {
	ID, Name, Description string
	// Permissions are the role's permission blocks: each grants its
	// actions (and data actions) but its notActions (notDataActions).
	Permissions []permission
	// Custom roles only.
	Custom           bool
	AssignableScopes []string
}

// grants tells whether the role allows action: in one of its permission
// blocks an action (or data action) pattern matches it and none of the
// block's not-patterns does. A block with a condition (a few built-in
// roles restrict what they assign that way) grants nothing: conditions
// are not evaluated, and granting without them would grant too much.
func (r Role) grants(action string) bool {
	for _, p := range r.Permissions {
		if p.Condition != "" {
			continue
		}
		for _, set := range [][2][]string{{p.Actions, p.NotActions}, {p.DataActions, p.NotDataActions}} {
			if matchAny(set[0], action) && !matchAny(set[1], action) {
				return true
			}
		}
	}
	return false
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if ActionMatches(p, action) {
			return true
		}
	}
	return false
}

// builtinRoles are Azure's built-in role definitions (builtinroles.json:
// IDs, names, descriptions and permissions as Azure publishes them, read
// from its documentation's role definitions; a few roles newer than that
// are missing).
//
//go:embed builtinroles.json
var builtinRolesJSON []byte

var builtinRoles, builtinByID = func() ([]Role, map[string]Role) {
	var list []struct {
		Name, RoleName, Description string
		Permissions                 []permission
	}
	if err := json.Unmarshal(builtinRolesJSON, &list); err != nil {
		panic("builtinroles.json: " + err.Error())
	}
	roles, byID := make([]Role, len(list)), map[string]Role{}
	for i, r := range list {
		roles[i] = Role{ID: r.Name, Name: r.RoleName, Description: r.Description, Permissions: r.Permissions}
		byID[strings.ToLower(r.Name)] = roles[i]
	}
	return roles, byID
}()

// Provider serves Microsoft.Authorization.
type Provider struct {
	store store.Store
	now   func() time.Time
}

// Register creates the provider and registers its types.
func Register(reg *arm.Registry, st store.Store) *Provider {
	p := &Provider{store: st, now: time.Now}
	defs := &arm.ResourceType{Namespace: Namespace, Type: "roleDefinitions", APIVersions: apiversions.For(Namespace + "/roleDefinitions"), Builtin: true}
	defs.Get, defs.List, defs.Put, defs.Delete = p.getDefinition, p.listDefinitions, p.putDefinition, p.deleteDefinition
	reg.Register(defs)
	as := &arm.ResourceType{Namespace: Namespace, Type: "roleAssignments", APIVersions: APIVersions, Builtin: true}
	as.Get, as.Put, as.Delete, as.List = p.getAssignment, p.putAssignment, p.deleteAssignment, p.listAssignments
	reg.Register(as)
	return p
}

// scopeOf is the scope a provider path hangs off ("" = tenant root).
func scopeOf(id resourceid.ID, collection bool) string {
	s := id.String()
	if !collection {
		if i := strings.LastIndex(strings.ToLower(s), "/providers/microsoft.authorization/"); i >= 0 {
			s = s[:i]
		}
	}
	return s
}

func definitionBody(sub string, r Role) map[string]any {
	id := "/providers/Microsoft.Authorization/roleDefinitions/" + r.ID
	if sub != "" {
		id = "/subscriptions/" + sub + id
	}
	typ, scopes := "BuiltInRole", []string{"/"}
	if r.Custom {
		typ, scopes = "CustomRole", r.AssignableScopes
	}
	perms := []map[string]any{}
	for _, p := range r.Permissions {
		m := map[string]any{"actions": orEmpty(p.Actions), "notActions": orEmpty(p.NotActions),
			"dataActions": orEmpty(p.DataActions), "notDataActions": orEmpty(p.NotDataActions)}
		if p.Condition != "" {
			m["condition"], m["conditionVersion"] = p.Condition, p.ConditionVersion
		}
		perms = append(perms, m)
	}
	return map[string]any{"id": id, "name": r.ID, "type": Namespace + "/roleDefinitions", "properties": map[string]any{
		"roleName": r.Name, "type": typ, "description": r.Description, "assignableScopes": scopes, "permissions": perms,
	}}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// lookupRole finds a role definition by ID (or a path ending in it):
// Azure's built-in roles, then the custom roles of the tenant.
func lookupRole(tx store.Tx, idOrName string) (Role, bool, error) {
	key := idOrName[strings.LastIndex(idOrName, "/")+1:]
	if r, ok := builtinByID[strings.ToLower(key)]; ok {
		return r, true, nil
	}
	if tx == nil {
		return Role{}, false, nil
	}
	customs, err := customRoles(tx)
	if err != nil {
		return Role{}, false, err
	}
	for _, r := range customs {
		if strings.EqualFold(r.ID, key) {
			return r, true, nil
		}
	}
	return Role{}, false, nil
}

// ownerRoleID is the Owner role's ID.
const ownerRoleID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

// EnsureOwner makes the service principal principal Owner of subscription
// sub (the built-in principal is, as an account is of the subscription it
// creates), unless it already is.
func EnsureOwner(tx store.Tx, sub, principal string, now time.Time) error {
	return EnsureAssignment(tx, "/subscriptions/"+sub, principal, ownerRoleID, now)
}

// groupsAbove is the IDs of the management groups above scope (a
// subscription, something in one, or a management group).
func groupsAbove(tx store.Tx, tenant, scope string) ([]string, error) {
	rid, err := resourceid.Parse(scope)
	if err != nil {
		return nil, nil
	}
	if sub := rid.SubscriptionID(); sub != "" {
		t, err := tenantOf(tx, sub)
		if err != nil || t == "" {
			return nil, err
		}
		return management.Ancestors(tx, "", t, sub)
	}
	if group, ok := management.GroupOf(scope); ok {
		ids, _, _, err := management.GroupAncestors(tx, "", group)
		return ids, err
	}
	return nil, nil
}

// definitionID is a role definition's ID as an assignment in subscription
// sub shows it; at a management group (no subscription), the tenant form.
func definitionID(sub, roleID string) string {
	if sub == "" {
		return "/providers/Microsoft.Authorization/roleDefinitions/" + roleID
	}
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID
}

// OwnerRoleID is the Owner role's ID.
const OwnerRoleID = ownerRoleID

// ContributorRoleID is the Contributor role's ID.
const ContributorRoleID = "b24988ac-6180-42a0-ab88-20f7382dd24c"

// EnsureAssignment gives the service principal principal the built-in
// role roleID at scope (a role assignment anyone can see, as the platform
// makes them), unless it has it; the assignment's name derives from the
// three, so it is written once.
func EnsureAssignment(tx store.Tx, scope, principal, roleID string, now time.Time) error {
	return EnsureAssignmentOf(tx, scope, principal, "ServicePrincipal", roleID, now)
}

// EnsureAssignmentOf is EnsureAssignment for a principal of the given type
// (User, Group or ServicePrincipal).
func EnsureAssignmentOf(tx store.Tx, scope, principal, principalType, roleID string, now time.Time) error {
	rid, err := resourceid.Parse(scope)
	if err != nil {
		return err
	}
	name := uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.ToLower(scope+"|"+principal+"|"+roleID))).String()
	id := scope + "/providers/" + assignmentType + "/" + name
	if _, err := tx.Get(id); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	props, err := json.Marshal(assignmentProps{RoleDefinitionID: definitionID(rid.SubscriptionID(), roleID),
		PrincipalID: strings.ToLower(principal), PrincipalType: principalType, Scope: scope, CreatedOn: now.UTC(), UpdatedOn: now.UTC()})
	if err != nil {
		return err
	}
	if err := bumpAssignments(tx); err != nil {
		return err
	}
	return tx.Put(&store.Resource{ID: id, Type: assignmentType, Name: name, Properties: props})
}

// Permits reports whether principal may perform action (an ARM action such
// as Microsoft.ContainerRegistry/registries/pull/read) on the resource or
// scope id: whether a role assignment to the principal at id or a scope
// above it (in id's subscription) names a role whose actions or data
// actions match it, with ARM's wildcards.
func Permits(tx store.Tx, principal, id, action string) (bool, error) {
	return PermitsIn(tx, "", principal, id, action)
}

// PermitsIn is Permits for a caller of tenant: a scope that names no
// subscription nor existing management group (a group about to be
// created, or one that does not exist) is taken to be below its tenant
// root group.
func PermitsIn(tx store.Tx, tenant, principal, id, action string) (bool, error) {
	gen, err := assignmentsGeneration(tx)
	if err != nil {
		return false, err
	}
	key := decisionKey{strings.ToLower(tenant), strings.ToLower(principal), strings.ToLower(id), strings.ToLower(action)}
	if d, ok := decisions.get(key); ok && gen != "" && d.generation == gen {
		if d.grant == "" {
			return d.allowed, nil
		}
		// Granted by an assignment below the subscription: it may have
		// gone with its scope.
		if _, err := tx.Get(d.grant); err == nil {
			return true, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	allowed, grant, err := permits(tx, gen, tenant, principal, id, action)
	if err != nil {
		return false, err
	}
	if gen != "" {
		decisions.put(key, decision{generation: gen, allowed: allowed, grant: grant})
	}
	return allowed, nil
}

// decisionKey is what a check decides: principal, scope, action (lower
// case).
type decisionKey struct{ tenant, principal, scope, action string }

// decision is a check's outcome as of an access generation; grant is the
// ID of the assignment that granted it when that is below the
// subscription (re-checked on use), else "".
type decision struct {
	generation string
	allowed    bool
	grant      string
}

// maxDecisions bounds the decision cache (it starts over when full).
const maxDecisions = 100_000

type decisionCache struct {
	sync.Mutex
	m map[decisionKey]decision
}

func (c *decisionCache) get(k decisionKey) (decision, bool) {
	c.Lock()
	defer c.Unlock()
	d, ok := c.m[k]
	return d, ok
}

func (c *decisionCache) put(k decisionKey, d decision) {
	c.Lock()
	defer c.Unlock()
	if c.m == nil || len(c.m) >= maxDecisions {
		c.m = map[decisionKey]decision{}
	}
	c.m[k] = d
}

// decisions caches checks: a request's check is then one read of the
// access generation (and, for a grant below the subscription, of that
// assignment).
var decisions decisionCache

// permits decides a check from the assignments; grant is the granting
// assignment's ID when it is below the subscription.
func permits(tx store.Tx, gen, tenant, principal, id, action string) (allowed bool, grant string, err error) {
	rid, err := resourceid.Parse(id)
	if err != nil {
		return false, "", err
	}
	// An assignment lives under its scope ({scope}/providers/
	// Microsoft.Authorization/roleAssignments/{name}), so the ones that
	// apply are the children of id and of each scope above it up to the
	// subscription (or management group), then of the management groups
	// above that: one indexed lookup per level, however many assignments
	// there are.
	var scopes []string
	sub := rid.SubscriptionID()
	group, inGroup := management.GroupOf(id)
	for scope := rid; scope.String() != ""; scope = scope.Parent() {
		scopes = append(scopes, scope.String())
		if sub != "" && strings.EqualFold(scope.String(), resourceid.Subscription(sub).String()) {
			break
		}
	}
	anchor := len(scopes) - 1 // the subscription or the group
	var above []string
	switch {
	case sub != "":
		if t, err := tenantOf(tx, sub); err != nil {
			return false, "", err
		} else if t != "" {
			tenant = t
			if above, err = management.Ancestors(tx, gen, tenant, sub); err != nil {
				return false, "", err
			}
		}
	case inGroup:
		ids, t, ok, err := management.GroupAncestors(tx, gen, group)
		if err != nil {
			return false, "", err
		}
		if ok {
			tenant, above = t, ids
		} else if tenant != "" {
			above = []string{management.GroupID(strings.ToLower(tenant))}
		}
	}
	scopes = append(scopes, above...)
	who, err := principals(tx, gen, principal, tenant)
	if err != nil {
		return false, "", err
	}
	for i, scope := range scopes {
		here, cached, err := assignmentsAt(tx, gen, scope)
		if err != nil {
			return false, "", err
		}
		below := i < anchor
		for _, ap := range here {
			if !who[strings.ToLower(ap.PrincipalID)] {
				continue
			}
			role, ok, err := lookupRole(tx, ap.RoleDefinitionID)
			if err != nil {
				return false, "", err
			}
			if !ok || !role.grants(action) {
				continue
			}
			if below && cached {
				// A cached list below the subscription may hold an
				// assignment that went with its scope.
				if _, err := tx.Get(ap.id); errors.Is(err, store.ErrNotFound) {
					continue
				} else if err != nil {
					return false, "", err
				}
			}
			if below {
				grant = ap.id
			}
			return true, grant, nil
		}
	}
	return false, "", nil
}

// principals is who assignments to apply to the principal: itself and
// the groups of the tenant it belongs to (transitively); lower-case
// object IDs.
func principals(tx store.Tx, gen, principal, tenant string) (map[string]bool, error) {
	who := map[string]bool{strings.ToLower(principal): true}
	if tenant == "" {
		return who, nil
	}
	groups, err := graph.MemberOfAt(tx, gen, tenant, principal)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		who[strings.ToLower(g)] = true
	}
	return who, nil
}

// Reaches tells whether the caller has a role assignment (its own or a
// group's) at the subscription or anywhere in it: ARM lists those
// subscriptions to it (resources.Reaches).
func (p *Provider) Reaches(ctx context.Context, caller arm.Caller, sub string) (bool, error) {
	var ok bool
	err := p.store.View(ctx, func(tx store.Tx) error {
		gen, err := assignmentsGeneration(tx)
		if err != nil {
			return err
		}
		tenant, err := tenantOf(tx, sub)
		if err != nil {
			return err
		}
		who, err := principals(tx, gen, caller.ObjectID, tenant)
		if err != nil {
			return err
		}
		// A role at a management group above the subscription reaches it.
		above, err := management.Ancestors(tx, gen, tenant, sub)
		if err != nil {
			return err
		}
		for _, scope := range above {
			here, _, err := assignmentsAt(tx, gen, scope)
			if err != nil {
				return err
			}
			for _, ap := range here {
				if who[strings.ToLower(ap.PrincipalID)] {
					ok = true
					return nil
				}
			}
		}
		recs, err := tx.List(store.Query{Subscription: sub, Type: assignmentType})
		if err != nil {
			return err
		}
		for _, r := range recs {
			ap, err := decodeAssignment(r)
			if err != nil {
				return err
			}
			if who[strings.ToLower(ap.PrincipalID)] {
				ok = true
				return nil
			}
		}
		return nil
	})
	return ok, err
}

// metaAssignments counts writes of role assignments and definitions
// (shared with the directory's writes): the subscription's own
// assignments and the decisions of checks are cached until it moves.
// (An assignment below the subscription also goes when its scope is
// deleted, which writes no count: a cached grant by one is checked again.)
const metaAssignments = store.AccessGeneration

func assignmentsGeneration(tx store.Tx) (string, error) { return store.Generation(tx, metaAssignments) }

func bumpAssignments(tx store.Tx) error { return store.Bump(tx, metaAssignments) }

// scopeAssignments caches the assignments at each scope read, as of an
// access generation (it starts over when the generation moves or it is
// full).
var scopeAssignments struct {
	sync.Mutex
	generation string
	m          map[string][]*assignmentProps
}

// maxScopes bounds scopeAssignments.
const maxScopes = 50_000

// assignmentsAt are the role assignments at scope (not below it); cached
// tells the list came from the cache (read at an earlier request of this
// generation: below the subscription, an assignment in it may have gone
// with its scope since).
func assignmentsAt(tx store.Tx, gen, scope string) (list []*assignmentProps, cached bool, err error) {
	key := strings.ToLower(scope)
	if gen != "" {
		scopeAssignments.Lock()
		l, ok := scopeAssignments.m[key]
		ok = ok && scopeAssignments.generation == gen
		scopeAssignments.Unlock()
		if ok {
			return l, true, nil
		}
	}
	recs, err := tx.List(store.Query{Parent: scope, Type: assignmentType})
	if err != nil {
		return nil, false, err
	}
	list = make([]*assignmentProps, 0, len(recs))
	for _, r := range recs {
		ap, err := decodeAssignment(r)
		if err != nil {
			return nil, false, err
		}
		list = append(list, ap)
	}
	if gen != "" {
		scopeAssignments.Lock()
		if scopeAssignments.generation != gen || len(scopeAssignments.m) >= maxScopes {
			scopeAssignments.generation, scopeAssignments.m = gen, map[string][]*assignmentProps{}
		}
		scopeAssignments.m[key] = list
		scopeAssignments.Unlock()
	}
	return list, false, nil
}

// tenants caches subscriptions' tenants (a subscription never changes
// tenant).
var tenants sync.Map

// tenantOf is the tenant of a subscription ("" if there is none).
func tenantOf(tx store.Tx, sub string) (string, error) {
	if t, ok := tenants.Load(strings.ToLower(sub)); ok {
		return t.(string), nil
	}
	t, err := readTenant(tx, sub)
	if err == nil && t != "" {
		tenants.Store(strings.ToLower(sub), t)
	}
	return t, err
}

func readTenant(tx store.Tx, sub string) (string, error) {
	r, err := tx.Get(resourceid.Subscription(sub).String())
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var props struct {
		TenantID string `json:"tenantId"`
	}
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return "", err
	}
	return props.TenantID, nil
}

// Authorize is ARM's check (arm.Authorizer): whether the caller's role
// assignments at scope and above grant action.
func (p *Provider) Authorize(ctx context.Context, caller arm.Caller, scope, action string) (bool, error) {
	var ok bool
	err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		ok, err = PermitsIn(tx, caller.TenantID, caller.ObjectID, scope, action)
		return err
	})
	return ok, err
}

// ActionMatches matches an action against a role's action pattern, where
// "*" stands for any run of characters and a "/*/" also for a single "/"
// (Managed Identity Operator's "userAssignedIdentities/*/assign/action"
// grants "userAssignedIdentities/assign/action"); ARM compares
// case-insensitively.
func ActionMatches(pattern, action string) bool {
	pattern, action = strings.ToLower(pattern), strings.ToLower(action)
	if glob(pattern, action) {
		return true
	}
	for i := 0; ; {
		j := strings.Index(pattern[i:], "/*/")
		if j < 0 {
			break
		}
		j += i
		if ActionMatches(pattern[:j]+pattern[j+2:], action) {
			return true
		}
		i = j + 1
	}
	return false
}

// glob matches action against pattern, "*" standing for any run.
func glob(pattern, action string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == action
	}
	if !strings.HasPrefix(action, parts[0]) {
		return false
	}
	action = action[len(parts[0]):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(action, part)
		if i < 0 {
			return false
		}
		action = action[i+len(part):]
	}
	return strings.HasSuffix(action, parts[len(parts)-1])
}

func (p *Provider) getDefinition(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.store, func(tx store.Tx) (any, error) {
		r, ok, err := lookupRole(tx, req.Route.ID.Name())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errNoRole(req.Route.ID.Name())
		}
		return definitionBody(req.Subscription(), r), nil
	})
}

var roleNameFilter = regexp.MustCompile(`(?i)^\s*roleName\s+eq\s+'(.*)'\s*$`)

// listDefinitions lists the built-in roles and the custom roles assignable
// at the scope; $filter=roleName eq 'X' (what az role assignment create
// sends) narrows to one, type eq 'BuiltInRole' or 'CustomRole' to a kind.
func (p *Provider) listDefinitions(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	filter := req.Query().Get("$filter")
	var name, kind string
	if filter != "" {
		m := roleNameFilter.FindStringSubmatch(filter)
		k := roleTypeFilter.FindStringSubmatch(filter)
		if m == nil && k == nil {
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidFilter", "The filter '%s' is not supported; use roleName eq '{name}' or type eq 'CustomRole'.", filter)
		}
		if m != nil {
			name = m[1]
		}
		if k != nil {
			kind = strings.ToLower(k[1])
		}
	}
	scope := scopeOf(req.Route.ID, true)
	return arm.ViewOK(ctx, p.store, func(tx store.Tx) (any, error) {
		customs, err := customRoles(tx)
		if err != nil {
			return nil, err
		}
		above, err := groupsAbove(tx, req.Caller.TenantID, scope)
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, r := range append(slices.Clone(builtinRoles), customs...) {
			if name != "" && !strings.EqualFold(r.Name, name) || kind == "builtinrole" && r.Custom || kind == "customrole" && !r.Custom {
				continue
			}
			if r.Custom && !assignableAt(r, scope, above) {
				continue
			}
			out = append(out, definitionBody(req.Subscription(), r))
		}
		return arm.List{Value: out}, nil
	})
}

var roleTypeFilter = regexp.MustCompile(`(?i)type\s+eq\s+'(BuiltInRole|CustomRole)'`)

type assignmentProps struct {
	// id is the assignment's resource ID (not stored: the record's).
	id               string
	RoleDefinitionID string    `json:"roleDefinitionId"`
	PrincipalID      string    `json:"principalId"`
	PrincipalType    string    `json:"principalType"`
	Scope            string    `json:"scope"`
	Description      *string   `json:"description,omitempty"`
	Condition        *string   `json:"condition"`
	ConditionVersion *string   `json:"conditionVersion"`
	CreatedOn        time.Time `json:"createdOn"`
	UpdatedOn        time.Time `json:"updatedOn"`
	CreatedBy        string    `json:"createdBy"`
	UpdatedBy        string    `json:"updatedBy"`
}

func assignmentBody(r *store.Resource) (map[string]any, error) {
	var props map[string]any
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return nil, fmt.Errorf("decode properties of %s: %w", r.ID, err)
		}
	}
	return map[string]any{"id": r.ID, "name": r.Name, "type": assignmentType, "properties": props}, nil
}

// decodeAssignment reads a stored assignment's properties.
func decodeAssignment(r *store.Resource) (*assignmentProps, error) {
	var ap assignmentProps
	if err := json.Unmarshal(r.Properties, &ap); err != nil {
		return nil, fmt.Errorf("decode properties of %s: %w", r.ID, err)
	}
	ap.id = r.ID
	return &ap, nil
}

var principalTypes = map[string]string{"user": "User", "group": "Group", "serviceprincipal": "ServicePrincipal", "foreigngroup": "ForeignGroup", "device": "Device"}

// principalTypeOf is the type ARM records for a principal that a
// request does not type, as Entra knows it: the directory's users, groups
// and service principals; managed identities (user-assigned ones and
// managed clusters' system-assigned ones) and the calling application are
// service principals. Anyone else does not exist: ARM's 400
// PrincipalNotFound (a request that names the type skips the lookup, as
// ARM's does, for principals too new to have replicated).
func principalTypeOf(tx store.Tx, sub, principal string, caller arm.Caller) (string, error) {
	if caller.AppID != "" && strings.EqualFold(caller.ObjectID, principal) {
		return "ServicePrincipal", nil
	}
	tenant := caller.TenantID
	if sub != "" {
		var err error
		if tenant, err = tenantOf(tx, sub); err != nil {
			return "", err
		}
	}
	if t, ok, err := graph.PrincipalType(tx, tenant, principal); err != nil || ok {
		return t, err
	}
	for _, typ := range []string{"Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.ContainerService/managedClusters"} {
		// At a management group (no subscription): in any subscription.
		rs, err := tx.List(store.Query{Subscription: sub, Type: typ})
		if err != nil {
			return "", err
		}
		for _, r := range rs {
			var props, ident struct {
				PrincipalID string `json:"principalId"`
			}
			json.Unmarshal(r.Properties, &props) //nolint:errcheck // a record without the field is not this principal
			json.Unmarshal(r.Identity, &ident)   //nolint:errcheck // likewise
			if strings.EqualFold(props.PrincipalID, principal) || strings.EqualFold(ident.PrincipalID, principal) {
				return "ServicePrincipal", nil
			}
		}
	}
	return "", arm.Errorf(http.StatusBadRequest, "PrincipalNotFound",
		"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
		strings.ReplaceAll(strings.ToLower(principal), "-", ""), tenant)
}

func (p *Provider) putAssignment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if _, err := uuid.Parse(id.Name()); err != nil {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidRoleAssignmentId",
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", id.Name())
	}
	var in struct {
		Properties struct {
			RoleDefinitionID string  `json:"roleDefinitionId"`
			PrincipalID      string  `json:"principalId"`
			PrincipalType    string  `json:"principalType"`
			Description      *string `json:"description"`
			Condition        *string `json:"condition"`
			ConditionVersion *string `json:"conditionVersion"`
		} `json:"properties"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	pr := in.Properties
	var role Role
	ok := false
	if err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		role, ok, err = lookupRole(tx, pr.RoleDefinitionID)
		return err
	}); err != nil {
		return nil, err
	}
	if pr.RoleDefinitionID == "" || !ok {
		return nil, arm.Errorf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.",
			pr.RoleDefinitionID[strings.LastIndex(pr.RoleDefinitionID, "/")+1:])
	}
	var above []string
	if role.Custom {
		if err := p.store.View(ctx, func(tx store.Tx) error {
			var err error
			above, err = groupsAbove(tx, req.Caller.TenantID, scopeOf(id, false))
			return err
		}); err != nil {
			return nil, err
		}
	}
	if role.Custom && !assignableAt(role, scopeOf(id, false), above) {
		return nil, arm.Errorf(http.StatusForbidden, "RoleDefinitionNotAssignableAtScope",
			"The role definition '%s' is not available for assignment at the requested scope '%s'.", role.ID, scopeOf(id, false))
	}
	if _, err := uuid.Parse(pr.PrincipalID); err != nil {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
	}
	ptype := "" // found in the tenant's identities below when not given
	if pr.PrincipalType != "" {
		if ptype, ok = principalTypes[strings.ToLower(pr.PrincipalType)]; !ok {
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidPrincipalType", "The principal type '%s' is not valid.", pr.PrincipalType)
		}
	}
	scope := scopeOf(id, false)
	sub := id.SubscriptionID()
	who := req.Caller.ObjectID
	now := p.now().UTC()
	props := assignmentProps{RoleDefinitionID: definitionID(sub, role.ID),
		PrincipalID: strings.ToLower(pr.PrincipalID), PrincipalType: ptype, Scope: scope, Description: pr.Description,
		Condition: pr.Condition, ConditionVersion: pr.ConditionVersion, CreatedOn: now, UpdatedOn: now, CreatedBy: who, UpdatedBy: who}
	status := http.StatusCreated
	var rec *store.Resource
	err := p.store.Update(ctx, func(tx store.Tx) error {
		if err := checkScope(tx, scope); err != nil {
			return err
		}
		if props.PrincipalType == "" {
			t, err := principalTypeOf(tx, sub, props.PrincipalID, req.Caller)
			if err != nil {
				return err
			}
			props.PrincipalType = t
		}
		existing, err := tx.Get(id.String())
		if err == nil {
			old, err := decodeAssignment(existing)
			if err != nil {
				return err
			}
			if !strings.EqualFold(old.PrincipalID, props.PrincipalID) || !strings.EqualFold(old.RoleDefinitionID, props.RoleDefinitionID) {
				return arm.Errorf(http.StatusBadRequest, "RoleAssignmentUpdateNotPermitted",
					"Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			status, props.CreatedOn, props.CreatedBy = http.StatusOK, old.CreatedOn, old.CreatedBy
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// One assignment per (scope, role, principal): those at this
		// scope are its children.
		all, err := tx.List(store.Query{Parent: scope, Type: assignmentType})
		if err != nil {
			return err
		}
		for _, a := range all {
			if strings.EqualFold(a.ID, id.String()) {
				continue
			}
			ap, err := decodeAssignment(a)
			if err != nil {
				return err
			}
			if strings.EqualFold(ap.Scope, scope) && strings.EqualFold(ap.PrincipalID, props.PrincipalID) && strings.EqualFold(ap.RoleDefinitionID, props.RoleDefinitionID) {
				return arm.Errorf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.")
			}
		}
		raw, err := json.Marshal(props)
		if err != nil {
			return err
		}
		rec = &store.Resource{ID: id.String(), Type: assignmentType, Name: id.Name(), Properties: raw}
		if err := bumpAssignments(tx); err != nil {
			return err
		}
		return tx.Put(rec)
	})
	if err != nil {
		return nil, err
	}
	body, err := assignmentBody(rec)
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: body}, nil
}

// checkScope answers 404 when the scope of an assignment does not exist.
func checkScope(tx store.Tx, scope string) error {
	id, err := resourceid.Parse(scope)
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidScope", "The scope '%s' is not valid.", scope)
	}
	if group, ok := management.GroupOf(scope); ok && id.SubscriptionID() == "" {
		if !strings.EqualFold(scope, management.GroupID(group)) {
			return arm.Errorf(http.StatusBadRequest, "InvalidScope", "The scope '%s' is not valid.", scope)
		}
		if _, _, ok, err := management.GroupAncestors(tx, "", group); err != nil || !ok {
			if err == nil {
				err = arm.Errorf(http.StatusNotFound, "NotFound", "'%s' not found", management.GroupID(group))
			}
			return err
		}
		return nil
	}
	if id.ResourceGroupName() == "" {
		return nil // the subscription (checked by the router)
	}
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		if ok, err := embeddedChildExists(tx, id); ok || err != nil {
			return err
		}
		// A Kubernetes namespace of a managed cluster is a scope (Azure RBAC
		// for Kubernetes) whether or not ARM manages it.
		if strings.EqualFold(id.Type(), "Microsoft.ContainerService/managedClusters/namespaces") {
			if _, err := tx.Get(id.Parent().String()); err == nil || !errors.Is(err, store.ErrNotFound) {
				return err
			}
			id = id.Parent()
		}
		if strings.EqualFold(id.Type(), "Microsoft.Resources/resourceGroups") {
			return arm.ErrResourceGroupNotFound(id.ResourceGroupName())
		}
		return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s' under resource group '%s' was not found.", id.Name(), id.ResourceGroupName())
	} else if err != nil {
		return err
	}
	return nil
}

// embeddedChildExists tells whether id is a child resource that lives in
// its parent's record (a subnet in its virtual network's "subnets", a
// security rule in its group's "securityRules"): the parent's property
// named after the child's type holds an element of that name.
func embeddedChildExists(tx store.Tx, id resourceid.ID) (bool, error) {
	parent := id.Parent()
	if parent.String() == id.String() || parent.Name() == "" {
		return false, nil
	}
	r, err := tx.Get(parent.String())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var props map[string]json.RawMessage
	if json.Unmarshal(r.Properties, &props) != nil {
		return false, nil
	}
	typ := id.Type()
	field := typ[strings.LastIndex(typ, "/")+1:]
	for k, raw := range props {
		if !strings.EqualFold(k, field) {
			continue
		}
		var children []struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &children) != nil {
			return false, nil
		}
		for _, c := range children {
			if strings.EqualFold(c.Name, id.Name()) {
				return true, nil
			}
		}
	}
	return false, nil
}

func (p *Provider) getAssignment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.store, func(tx store.Tx) (any, error) {
		r, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			return nil, arm.Errorf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", req.Route.ID.Name())
		} else if err != nil {
			return nil, err
		}
		return assignmentBody(r)
	})
}

func (p *Provider) deleteAssignment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body map[string]any
	err := p.store.Update(ctx, func(tx store.Tx) error {
		r, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if body, err = assignmentBody(r); err != nil {
			return err
		}
		if err := bumpAssignments(tx); err != nil {
			return err
		}
		_, err = tx.Delete(r.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if body == nil {
		return arm.NoContent(), nil
	}
	return arm.OK(body), nil
}

var (
	principalFilter = regexp.MustCompile(`(?i)principalId\s+eq\s+'([^']*)'`)
	assignedTo      = regexp.MustCompile(`(?i)assignedTo\('([^']*)'\)`)
)

// listAssignments lists the assignments that apply at a scope — at it and
// above it (and, without atScope(), below it too, as ARM lists them) —
// filtered by principalId eq / assignedTo().
func (p *Provider) listAssignments(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	scope := strings.ToLower(scopeOf(req.Route.ID, true))
	filter := req.Query().Get("$filter")
	principal := ""
	if m := principalFilter.FindStringSubmatch(filter); m != nil {
		principal = m[1]
	} else if m := assignedTo.FindStringSubmatch(filter); m != nil {
		principal = m[1]
	}
	atScope := strings.Contains(strings.ToLower(filter), "atscope()")
	out := []map[string]any{}
	err := p.store.View(ctx, func(tx store.Tx) error {
		all, err := tx.List(store.Query{Subscription: req.Subscription(), Type: assignmentType})
		if err != nil {
			return err
		}
		for _, a := range all {
			ap, err := decodeAssignment(a)
			if err != nil {
				return err
			}
			s := strings.ToLower(ap.Scope)
			above := s == scope || strings.HasPrefix(scope, s+"/")
			below := strings.HasPrefix(s, scope+"/")
			if !above && (atScope || !below) {
				continue
			}
			if principal != "" && !strings.EqualFold(ap.PrincipalID, principal) {
				continue
			}
			body, err := assignmentBody(a)
			if err != nil {
				return err
			}
			out = append(out, body)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(arm.List{Value: out}), nil
}
