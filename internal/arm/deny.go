package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// DenyAssignmentType is the type of deny assignments, which ARM evaluates
// before any write below their scope (AKS puts one on a node resource group
// with restrictionLevel ReadOnly).
const DenyAssignmentType = "Microsoft.Authorization/denyAssignments"

// DenyAssignmentProperties is a deny assignment as Azure shows it.
type DenyAssignmentProperties struct {
	DenyAssignmentName string           `json:"denyAssignmentName"`
	Description        string           `json:"description,omitempty"`
	Permissions        []DenyPermission `json:"permissions"`
	Scope              string           `json:"scope"`
	DoNotApplyToChild  bool             `json:"doNotApplyToChildScopes"`
	Principals         []DenyPrincipal  `json:"principals"`
	ExcludePrincipals  []DenyPrincipal  `json:"excludePrincipals"`
	IsSystemProtected  bool             `json:"isSystemProtected"`
}

// DenyPermission lists denied and still-allowed actions.
type DenyPermission struct {
	Actions    []string `json:"actions"`
	NotActions []string `json:"notActions"`
}

// DenyPrincipal is a principal a deny assignment names.
type DenyPrincipal struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// EveryoneID is the principal ID that stands for everyone.
const EveryoneID = "00000000-0000-0000-0000-000000000000"

// action is the RBAC action of a request: {type}/write, /delete or
// /{action}/action; reads are "" (never denied).
func action(req *Request) string {
	typ := req.Route.Type.FullType()
	switch {
	case req.Route.Action != "":
		if strings.HasPrefix(strings.ToLower(req.Route.Action), "list") {
			return ""
		}
		return typ + "/" + req.Route.Action + "/action"
	case req.Method() == http.MethodPut || req.Method() == http.MethodPatch:
		return typ + "/write"
	case req.Method() == http.MethodDelete:
		return typ + "/delete"
	}
	return ""
}

// checkDenyAssignments refuses a write inside a resource group that a deny
// assignment covers, unless the caller is excluded, with ARM's 403.
func (s *Server) checkDenyAssignments(ctx context.Context, req *Request) error {
	act := action(req)
	rg := req.Route.ID.ResourceGroupName()
	if act == "" || rg == "" {
		return nil
	}
	scope := resourceid.ResourceGroup(req.Subscription(), rg)
	var denials []*store.Resource
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		denials, err = tx.List(store.Query{Parent: scope.String(), Type: DenyAssignmentType})
		return err
	}); err != nil {
		return ErrInternal(err)
	}
	for _, d := range denials {
		var p DenyAssignmentProperties
		if err := json.Unmarshal(d.Properties, &p); err != nil {
			return ErrInternal(err)
		}
		excluded := false
		for _, e := range p.ExcludePrincipals {
			if strings.EqualFold(e.ID, req.Caller.ObjectID) {
				excluded = true
			}
		}
		if excluded || !deniedBy(p.Permissions, act) {
			continue
		}
		caller := req.Caller.AppID
		if caller == "" {
			caller = req.Caller.ObjectID
		}
		return Errorf(http.StatusForbidden, "DenyAssignmentAuthorizationFailed",
			"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, the access is denied because of the deny assignment with name '%s' and Id '%s' at scope '%s'.",
			caller, req.Caller.ObjectID, act, req.Route.ID.String(), p.DenyAssignmentName, d.Name, p.Scope)
	}
	return nil
}

func deniedBy(perms []DenyPermission, act string) bool {
	for _, p := range perms {
		if matchesAny(p.Actions, act) && !matchesAny(p.NotActions, act) {
			return true
		}
	}
	return false
}

// matchesAny matches an action against RBAC patterns with '*' wildcards.
func matchesAny(patterns []string, act string) bool {
	for _, p := range patterns {
		if wildcard(strings.ToLower(p), strings.ToLower(act)) {
			return true
		}
	}
	return false
}

func wildcard(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for i := star; i <= len(s); i++ {
		if wildcard(rest, s[i:]) {
			return true
		}
	}
	return false
}
