package aks

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
)

// Trusted access: roles Azure services are given in a cluster, and the
// bindings that give a service's resource one.

//go:embed data/trustedaccessroles.json
var trustedAccessRolesJSON []byte

// TrustedAccessRole is a role AKS offers to a source resource type.
type TrustedAccessRole struct {
	SourceResourceType string            `json:"sourceResourceType"`
	Name               string            `json:"name"`
	Rules              []json.RawMessage `json:"rules"`
}

// TrustedAccessRoles are the roles AKS lists in every location.
var TrustedAccessRoles = func() []TrustedAccessRole {
	var d struct {
		Roles []TrustedAccessRole `json:"roles"`
	}
	if err := json.Unmarshal(trustedAccessRolesJSON, &d); err != nil {
		panic("trustedaccessroles.json: " + err.Error())
	}
	return d.Roles
}()

var bindingNameRule = regexp.MustCompile(`^[A-Za-z0-9-]{1,24}$`)

// ValidateTrustedAccessBindingName applies the binding name rule: 1–24
// letters, digits and hyphens.
func ValidateTrustedAccessBindingName(name string) error {
	if !bindingNameRule.MatchString(name) {
		return invalidParameter("trustedAccessRoleBindingName",
			"Trusted access role binding name '%s' is invalid: 1 to 24 characters, letters, digits and hyphens.", name)
	}
	return nil
}

// TrustedAccessBindingProperties are a binding's properties.
type TrustedAccessBindingProperties struct {
	SourceResourceID  string   `json:"sourceResourceId"`
	Roles             []string `json:"roles"`
	ProvisioningState string   `json:"provisioningState,omitempty"`
}

// PrepareTrustedAccessBinding checks a binding: a source resource ID, and
// roles that are "{its type}/{role}" for roles AKS offers to that type;
// the source of an existing binding cannot change.
func PrepareTrustedAccessBinding(raw, existing json.RawMessage) (json.RawMessage, error) {
	var in TrustedAccessBindingProperties
	if len(raw) == 0 {
		return nil, badRequest("InvalidParameter", "properties", "The trusted access role binding needs properties: sourceResourceId and roles.")
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest("InvalidRequestContent", "properties", "The trusted access role binding's properties could not be read: %v", err)
	}
	if in.SourceResourceID == "" {
		return nil, invalidParameter("properties.sourceResourceId", "The trusted access role binding's sourceResourceId is required.")
	}
	src, err := resourceid.Parse(in.SourceResourceID)
	if err != nil || src.ResourceGroupName() == "" || src.Type() == "" {
		return nil, invalidParameter("properties.sourceResourceId", "The source resource ID '%s' is not a valid Azure resource ID.", in.SourceResourceID)
	}
	if len(in.Roles) == 0 {
		return nil, invalidParameter("properties.roles", "The trusted access role binding needs at least one role.")
	}
	offered := false
	for _, r := range TrustedAccessRoles {
		offered = offered || strings.EqualFold(r.SourceResourceType, src.Type())
	}
	if !offered {
		return nil, invalidParameter("properties.sourceResourceId",
			"Resource type '%s' of the source resource is not supported by trusted access (no trusted access role is offered to it).", src.Type())
	}
	for _, role := range in.Roles {
		i := strings.LastIndex(role, "/")
		if i < 0 || !strings.EqualFold(role[:i], src.Type()) {
			return nil, invalidParameter("properties.roles",
				"Role '%s' is invalid: a role must begin with the source resource type '%s' (for example %s/reader).", role, src.Type(), src.Type())
		}
		known := false
		for _, r := range TrustedAccessRoles {
			known = known || strings.EqualFold(r.SourceResourceType, src.Type()) && strings.EqualFold(r.Name, role[i+1:])
		}
		if !known {
			return nil, invalidParameter("properties.roles", "Role '%s' is not a trusted access role of '%s'.", role, src.Type())
		}
	}
	if existing != nil {
		var old TrustedAccessBindingProperties
		if err := json.Unmarshal(existing, &old); err == nil && !strings.EqualFold(old.SourceResourceID, in.SourceResourceID) {
			return nil, Error(http.StatusBadRequest, "PropertyChangeNotAllowed", "properties.sourceResourceId",
				"Changing property 'sourceResourceId' is not allowed: create another binding for another source.")
		}
	}
	in.ProvisioningState = StateSucceeded
	return json.Marshal(in)
}
