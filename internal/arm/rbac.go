package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// Authorizer decides whether caller may perform action (an Azure RBAC
// action such as Microsoft.Network/virtualNetworks/write) at scope (a
// resource ID), from the role assignments at that scope and above.
type Authorizer func(ctx context.Context, caller Caller, scope, action string) (bool, error)

// rbacAction is the action ARM checks for a request: {type}/read for GET
// and HEAD, /write for PUT and PATCH, /delete for DELETE, and
// {type}/{action}/action for a POST action (the list* ones too).
func rbacAction(req *Request) string {
	typ := req.Route.Type.FullType()
	switch {
	case req.Route.Action != "":
		return typ + "/" + req.Route.Action + "/action"
	case req.Method() == http.MethodPut || req.Method() == http.MethodPatch || req.Method() == http.MethodPost:
		return typ + "/write"
	case req.Method() == http.MethodDelete:
		return typ + "/delete"
	}
	return typ + "/read"
}

// authorize refuses a request whose caller has no role assignment granting
// its action at its scope, with ARM's 403 AuthorizationFailed. Requests
// at the tenant (the subscription list, providers, metadata) are not
// checked, there is nothing to assign roles on there; those at a
// management group are.
func (s *Server) authorize(ctx context.Context, req *Request) error {
	scope := req.Route.ID.String()
	if s.cfg.Authorize == nil || operationStatus(req) ||
		req.Subscription() == "" && !strings.HasPrefix(strings.ToLower(scope), "/providers/microsoft.management/managementgroups/") {
		return nil
	}
	write := req.Method() == http.MethodPut || req.Method() == http.MethodPatch
	if write && req.Route.Type.OwnWriteChecks && !req.Route.Collection && req.Route.Action == "" {
		return nil
	}
	act := rbacAction(req)
	ok, err := s.cfg.Authorize(ctx, req.Caller, scope, act)
	if err != nil {
		return ErrInternal(err)
	}
	if !ok {
		return ErrAuthorizationFailed(req.Caller, act, scope)
	}
	if !write {
		return nil
	}
	client := clientName(req.Caller)
	// Linked checks: what the body points at must be usable by the caller
	// too — a subnet it joins, a user-assigned identity it assigns.
	var denied []linked
	for _, l := range linkedAccess(req.Body) {
		ok, err := s.cfg.Authorize(ctx, req.Caller, l.scope, l.action)
		if err != nil {
			return ErrInternal(err)
		}
		if !ok {
			denied = append(denied, l)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	var acts, scopes []string
	for _, l := range denied {
		acts, scopes = append(acts, l.action), append(scopes, l.scope)
	}
	return Errorf(http.StatusForbidden, "LinkedAuthorizationFailed",
		"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
		client, req.Caller.ObjectID, act, scope, strings.Join(acts, ","), strings.Join(scopes, ","))
}

// clientName is how ARM names a caller in its refusals: a user by
// principal name, an application by client ID.
func clientName(c Caller) string {
	switch {
	case c.UserPrincipalName != "":
		return c.UserPrincipalName
	case c.AppID != "":
		return c.AppID
	}
	return c.ObjectID
}

// ErrAuthorizationFailed is ARM's 403 for a caller whose roles do not
// grant action at scope.
func ErrAuthorizationFailed(c Caller, action, scope string) *Error {
	return Errorf(http.StatusForbidden, "AuthorizationFailed",
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		clientName(c), c.ObjectID, action, scope)
}

// linked is one linked access check.
type linked struct{ action, scope string }

// Actions of linked access checks.
const (
	subnetJoin     = "Microsoft.Network/virtualNetworks/subnets/join/action"
	identityAssign = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
)

// linkedAccess finds, anywhere in a request body, the resources ARM
// checks linked access to: subnets joined (a "subnet" object's id, AKS's
// vnetSubnetID and podSubnetID) and user-assigned identities assigned (the
// keys of "userAssignedIdentities").
func linkedAccess(body []byte) []linked {
	var v any
	if len(body) == 0 || json.Unmarshal(body, &v) != nil {
		return nil
	}
	seen := map[linked]bool{}
	add := func(action, id string) {
		if id = strings.TrimSpace(id); strings.HasPrefix(id, "/subscriptions/") {
			seen[linked{action, id}] = true
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				switch lk := strings.ToLower(k); {
				case lk == "subnet":
					if m, ok := child.(map[string]any); ok {
						if id, ok := m["id"].(string); ok {
							add(subnetJoin, id)
						}
					}
				case lk == "vnetsubnetid" || lk == "podsubnetid":
					if id, ok := child.(string); ok {
						add(subnetJoin, id)
					}
				case lk == "userassignedidentities":
					if m, ok := child.(map[string]any); ok {
						for id := range m {
							add(identityAssign, id)
						}
					}
				}
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(v)
	out := make([]linked, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].scope+out[i].action < out[j].scope+out[j].action })
	return out
}

// operationStatus tells a poll of a long-running operation's status or
// result (…/locations/{loc}/operations|operationresults|operationStatuses,
// /subscriptions/{id}/operationresults): ARM lets whoever holds the
// operation's opaque URL poll it, so a principal with a role on one
// resource group can follow the operations it starts there.
func operationStatus(req *Request) bool {
	if req.Method() != http.MethodGet {
		return false
	}
	typ := strings.ToLower(req.Route.Type.FullType())
	for _, suffix := range []string{"/operations", "/operationresults", "/operationstatuses", "/asyncoperations"} {
		if strings.HasSuffix(typ, suffix) && (strings.Contains(typ, "/locations/") || strings.HasPrefix(typ, "microsoft.resources/subscriptions/")) {
			return true
		}
	}
	return false
}
