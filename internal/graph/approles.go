package graph

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/store"
)

// appRoleAssignment gives a principal (user, group or service principal)
// one app role of a resource service principal's application.
type appRoleAssignment struct {
	ID            string    `json:"id"`
	AppRoleID     string    `json:"appRoleId"`
	PrincipalID   string    `json:"principalId"`
	PrincipalType string    `json:"principalType"`
	Created       time.Time `json:"created"`
}

// defaultAppRole is the role Graph assigns when an application defines
// none ("default access").
const defaultAppRole = "00000000-0000-0000-0000-000000000000"

// appRoles are the enabled app roles of the resource service principal's
// application, by ID → value.
func appRoles(tx store.Tx, tenant string, sp *Object) (map[string]string, error) {
	apps, err := findBy(tx, tenant, Applications, "appId", sp.str("appId"))
	if err != nil || len(apps) == 0 {
		return map[string]string{}, err
	}
	out := map[string]string{}
	raw, _ := apps[0].rec.Doc["appRoles"].([]any)
	for _, r := range raw {
		m, _ := r.(map[string]any)
		id, _ := m["id"].(string)
		value, _ := m["value"].(string)
		if enabled, ok := m["isEnabled"].(bool); id != "" && (!ok || enabled) {
			out[strings.ToLower(id)] = value
		}
	}
	return out, nil
}

func assignmentDoc(resource *Object, a appRoleAssignment, principal *Object) map[string]any {
	name := ""
	if principal != nil {
		name = principal.str("displayName")
	}
	return map[string]any{"id": a.ID, "deletedDateTime": nil, "appRoleId": a.AppRoleID, "createdDateTime": a.Created.Format(time.RFC3339),
		"principalDisplayName": name, "principalId": a.PrincipalID, "principalType": a.PrincipalType,
		"resourceDisplayName": resource.str("displayName"), "resourceId": resource.ID}
}

var principalTypes = map[string]string{Users: "User", Groups: "Group", ServicePrincipals: "ServicePrincipal"}

// assignAppRole serves POST /servicePrincipals/{resource}/appRoleAssignedTo
// and POST /{users|groups|servicePrincipals}/{principal}/appRoleAssignments:
// the body names principalId, resourceId and appRoleId.
func (h *Handler) assignAppRole(tx store.Tx, req *request, o *Object, segment string) (int, any, error) {
	principalID, _ := req.body["principalId"].(string)
	resourceID, _ := req.body["resourceId"].(string)
	roleID, _ := req.body["appRoleId"].(string)
	if segment == "appRoleAssignments" && !strings.EqualFold(principalID, o.ID) || segment == "appRoleAssignedTo" && !strings.EqualFold(resourceID, o.ID) {
		return 0, nil, badRequest("The principalId or resourceId of the body does not match the object of the request.")
	}
	if _, err := uuid.Parse(roleID); err != nil {
		return 0, nil, badRequest("Invalid value specified for property 'appRoleId' of resource 'AppRoleAssignment'.")
	}
	resource, err := get(tx, req.tenant, ServicePrincipals, resourceID)
	if err != nil {
		return 0, nil, notFound(resourceID)
	}
	principal, err := find(tx, req.tenant, principalID)
	if err != nil || principalTypes[principal.Collection] == "" {
		return 0, nil, notFound(principalID)
	}
	roles, err := appRoles(tx, req.tenant, resource)
	if err != nil {
		return 0, nil, err
	}
	if _, ok := roles[strings.ToLower(roleID)]; !ok && (roleID != defaultAppRole || len(roles) > 0) {
		return 0, nil, badRequest("Permission being assigned was not found on application '%s'.", resource.str("appId"))
	}
	for _, a := range resource.rec.AppRoleAssignments {
		if strings.EqualFold(a.PrincipalID, principal.ID) && strings.EqualFold(a.AppRoleID, roleID) {
			return 0, nil, badRequest("Permission being assigned already exists on the object")
		}
	}
	a := appRoleAssignment{ID: uuid.NewString(), AppRoleID: strings.ToLower(roleID), PrincipalID: principal.ID,
		PrincipalType: principalTypes[principal.Collection], Created: h.cfg.Now().UTC()}
	resource.rec.AppRoleAssignments = append(resource.rec.AppRoleAssignments, a)
	if err := put(tx, req.tenant, resource); err != nil {
		return 0, nil, err
	}
	doc := assignmentDoc(resource, a, principal)
	doc["@odata.context"] = req.context(segment + "/$entity")
	return http.StatusCreated, doc, nil
}

// holders are the service principals whose records may hold the
// assignments a request is about: the resource itself (appRoleAssignedTo),
// or every one (a principal's appRoleAssignments live with the resources).
func holders(tx store.Tx, req *request, o *Object, segment string) ([]*Object, error) {
	if segment == "appRoleAssignedTo" {
		return []*Object{o}, nil
	}
	return list(tx, req.tenant, ServicePrincipals)
}

// concerns tells whether an assignment is one the request's object has on
// that side: any of a resource's, or those to the principal.
func concerns(a appRoleAssignment, o *Object, segment string) bool {
	return segment == "appRoleAssignedTo" || strings.EqualFold(a.PrincipalID, o.ID)
}

// appRoleAssignmentsOf lists a resource's assignments (appRoleAssignedTo)
// or a principal's (appRoleAssignments).
func (h *Handler) appRoleAssignmentsOf(tx store.Tx, req *request, o *Object, segment string) (int, any, error) {
	var docs []map[string]any
	sps, err := holders(tx, req, o, segment)
	if err != nil {
		return 0, nil, err
	}
	for _, sp := range sps {
		for _, a := range sp.rec.AppRoleAssignments {
			if !concerns(a, o, segment) {
				continue
			}
			p, _ := find(tx, req.tenant, a.PrincipalID)
			docs = append(docs, assignmentDoc(sp, a, p))
		}
	}
	if docs == nil {
		docs = []map[string]any{}
	}
	return h.page(req, segment, docs)
}

// unassignAppRole deletes an assignment by ID, from either side.
func (h *Handler) unassignAppRole(tx store.Tx, req *request, o *Object, segment, id string) (int, any, error) {
	sps, err := holders(tx, req, o, segment)
	if err != nil {
		return 0, nil, err
	}
	for _, sp := range sps {
		n := len(sp.rec.AppRoleAssignments)
		sp.rec.AppRoleAssignments = slices.DeleteFunc(sp.rec.AppRoleAssignments, func(a appRoleAssignment) bool {
			return strings.EqualFold(a.ID, id) && concerns(a, o, segment)
		})
		if len(sp.rec.AppRoleAssignments) != n {
			return http.StatusNoContent, nil, put(tx, req.tenant, sp)
		}
	}
	return 0, nil, notFound(id)
}

// Roles are the values of the app roles that the application addressed by
// audience (its appId, an identifier URI, or api://{appId}) gives the
// principal, directly or through its groups (implements entra.AppRoles).
func (d *Directory) Roles(ctx context.Context, tenantID, objectID, audience string) ([]string, error) {
	var out []string
	err := d.store.View(ctx, func(tx store.Tx) error {
		key := strings.TrimSuffix(strings.TrimPrefix(audience, "api://"), "/")
		apps, err := list(tx, tenantID, Applications)
		if err != nil {
			return err
		}
		var appID string
		for _, a := range apps {
			uris, _ := a.rec.Doc["identifierUris"].([]any)
			match := strings.EqualFold(a.str("appId"), key)
			for _, u := range uris {
				if s, _ := u.(string); strings.EqualFold(strings.TrimSuffix(s, "/"), strings.TrimSuffix(audience, "/")) {
					match = true
				}
			}
			if match {
				appID = a.str("appId")
				break
			}
		}
		if appID == "" {
			return nil
		}
		sps, err := findBy(tx, tenantID, ServicePrincipals, "appId", appID)
		if err != nil || len(sps) == 0 {
			return err
		}
		roles, err := appRoles(tx, tenantID, sps[0])
		if err != nil {
			return err
		}
		who := map[string]bool{strings.ToLower(objectID): true}
		groups, err := MemberOf(tx, tenantID, objectID)
		if err != nil {
			return err
		}
		for _, g := range groups {
			who[strings.ToLower(g)] = true
		}
		for _, a := range sps[0].rec.AppRoleAssignments {
			if v := roles[a.AppRoleID]; who[strings.ToLower(a.PrincipalID)] && v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}
