package authorization

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// Custom role definitions: written at a scope (`PUT {scope}/providers/
// Microsoft.Authorization/roleDefinitions/{guid}`, as az role definition
// create, the SDK and azurerm_role_definition do), named uniquely in the
// tenant, assignable at the scopes they list and below.

const definitionType = Namespace + "/roleDefinitions"

// definitionProps is a custom role as stored (and shown).
type definitionProps struct {
	RoleName         string       `json:"roleName"`
	Description      string       `json:"description"`
	Type             string       `json:"type"`
	Permissions      []permission `json:"permissions"`
	AssignableScopes []string     `json:"assignableScopes"`
}

type permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
	// Condition and ConditionVersion: built-in roles only (not evaluated).
	Condition        string `json:"condition,omitempty"`
	ConditionVersion string `json:"conditionVersion,omitempty"`
}

func errNoRole(id string) error {
	return arm.Errorf(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", id)
}

// customRoles are the tenant's custom roles.
func customRoles(tx store.Tx) ([]Role, error) {
	recs, err := tx.List(store.Query{Type: definitionType})
	if err != nil {
		return nil, err
	}
	out := make([]Role, 0, len(recs))
	for _, r := range recs {
		var d definitionProps
		if err := json.Unmarshal(r.Properties, &d); err != nil {
			return nil, fmt.Errorf("decode role definition %s: %w", r.ID, err)
		}
		out = append(out, Role{ID: r.Name, Name: d.RoleName, Description: d.Description, Permissions: d.Permissions, Custom: true, AssignableScopes: d.AssignableScopes})
	}
	return out, nil
}

// assignableAt tells whether scope is one of the role's assignable scopes
// or below one; above are the management groups above scope.
func assignableAt(r Role, scope string, above []string) bool {
	scope = strings.ToLower(strings.TrimSuffix(scope, "/"))
	for _, s := range r.AssignableScopes {
		s = strings.ToLower(strings.TrimSuffix(s, "/"))
		if s == "" || s == scope || strings.HasPrefix(scope, s+"/") ||
			slices.ContainsFunc(above, func(g string) bool { return strings.EqualFold(g, s) }) {
			return true
		}
	}
	return false
}

func (p *Provider) putDefinition(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	name := id.Name()
	if _, err := uuid.Parse(name); err != nil {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidRoleDefinitionId",
			"The role definition ID '%s' is not valid. The role definition ID must be a GUID.", name)
	}
	for _, r := range builtinRoles {
		if strings.EqualFold(r.ID, name) {
			return nil, arm.Errorf(http.StatusForbidden, "AuthorizationFailed", "Built-in role definition '%s' (%s) cannot be changed.", r.Name, r.ID)
		}
	}
	var in struct {
		Properties definitionProps `json:"properties"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	d := in.Properties
	d.RoleName = strings.TrimSpace(d.RoleName)
	if d.RoleName == "" {
		return nil, arm.Errorf(http.StatusBadRequest, "RoleDefinitionNameNullOrEmpty", "The role definition name cannot be null or empty.")
	}
	if len(d.AssignableScopes) == 0 {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidAssignableScopes", "The role definition must have at least one assignable scope.")
	}
	if len(d.Permissions) == 0 {
		d.Permissions = []permission{{}}
	}
	for i := range d.Permissions {
		perm := &d.Permissions[i]
		for _, list := range [][]string{perm.Actions, perm.NotActions, perm.DataActions, perm.NotDataActions} {
			for _, a := range list {
				if !validAction(a) {
					return nil, arm.Errorf(http.StatusBadRequest, "InvalidActionOrNotAction", "'%s' does not match any of the actions supported by the providers.", a)
				}
			}
		}
		perm.Actions, perm.NotActions, perm.DataActions, perm.NotDataActions = orEmpty(perm.Actions), orEmpty(perm.NotActions), orEmpty(perm.DataActions), orEmpty(perm.NotDataActions)
	}
	d.Type = "CustomRole"
	status := http.StatusCreated
	var rec *store.Resource
	err := p.store.Update(ctx, func(tx store.Tx) error {
		for _, s := range d.AssignableScopes {
			if s == "/" {
				continue
			}
			if err := checkScope(tx, s); err != nil {
				return arm.Errorf(http.StatusBadRequest, "InvalidAssignableScopes", "The assignable scope '%s' is not valid: %v", s, err)
			}
		}
		customs, err := customRoles(tx)
		if err != nil {
			return err
		}
		for _, r := range customs {
			if strings.EqualFold(r.Name, d.RoleName) && !strings.EqualFold(r.ID, name) {
				return arm.Errorf(http.StatusConflict, "RoleDefinitionWithSameNameExists", "A role definition cannot be updated with a name that already exists.")
			}
		}
		existing, err := findDefinition(tx, name)
		if err != nil {
			return err
		}
		recID := id.String()
		if existing != nil {
			status, recID = http.StatusOK, existing.ID
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		rec = &store.Resource{ID: recID, Type: definitionType, Name: strings.ToLower(name), Properties: raw}
		if err := bumpAssignments(tx); err != nil {
			return err
		}
		return tx.Put(rec)
	})
	if err != nil {
		return nil, err
	}
	var role Role
	if err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		role, _, err = lookupRole(tx, name)
		return err
	}); err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: definitionBody(req.Subscription(), role)}, nil
}

// findDefinition finds a custom role's record by its ID, at whatever scope
// it was written.
func findDefinition(tx store.Tx, name string) (*store.Resource, error) {
	recs, err := tx.List(store.Query{Type: definitionType})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if strings.EqualFold(r.Name, name) {
			return r, nil
		}
	}
	return nil, nil
}

// validAction: a provider namespace and a path, or a wildcard.
func validAction(a string) bool {
	a = strings.TrimSpace(a)
	return a == "*" || strings.HasPrefix(a, "*/") || strings.Contains(a, "/") && !strings.ContainsAny(a, " \t")
}

func (p *Provider) deleteDefinition(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	name := req.Route.ID.Name()
	var body map[string]any
	err := p.store.Update(ctx, func(tx store.Tx) error {
		rec, err := findDefinition(tx, name)
		if err != nil || rec == nil {
			return err
		}
		assigned, err := tx.List(store.Query{Type: assignmentType})
		if err != nil {
			return err
		}
		for _, a := range assigned {
			ap, err := decodeAssignment(a)
			if err != nil {
				return err
			}
			if strings.EqualFold(ap.RoleDefinitionID[strings.LastIndex(ap.RoleDefinitionID, "/")+1:], name) {
				return arm.Errorf(http.StatusConflict, "RoleDefinitionHasAssignments",
					"There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).")
			}
		}
		role, _, err := lookupRole(tx, name)
		if err != nil {
			return err
		}
		body = definitionBody(req.Subscription(), role)
		if err := bumpAssignments(tx); err != nil {
			return err
		}
		_, err = tx.Delete(rec.ID)
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
