package aks

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Identity bindings (2026-10-01): a user-assigned managed identity bound
// to a cluster, which its workloads can use through the cluster's OIDC
// issuer.

var identityBindingNameRule = regexp.MustCompile(`^[a-z][a-z0-9]{0,62}$`)

// ValidateIdentityBindingName applies the spec's name rule: a lowercase
// letter, then up to 62 lowercase letters and digits.
func ValidateIdentityBindingName(name string) error {
	if !identityBindingNameRule.MatchString(name) {
		return invalidParameter("identityBindingName",
			"Identity binding name '%s' is invalid: it must start with a lowercase letter and have only lowercase letters and digits, at most 63 characters.", name)
	}
	return nil
}

// IdentityBindingProperties are a binding's properties.
type IdentityBindingProperties struct {
	ManagedIdentity *struct {
		ResourceID string `json:"resourceId"`
		ObjectID   string `json:"objectId,omitempty"`
		ClientID   string `json:"clientId,omitempty"`
		TenantID   string `json:"tenantId,omitempty"`
	} `json:"managedIdentity"`
	OIDCIssuer *struct {
		OIDCIssuerURL string `json:"oidcIssuerUrl"`
	} `json:"oidcIssuer,omitempty"`
	ProvisioningState string `json:"provisioningState,omitempty"`
}

// PrepareIdentityBinding completes a binding of cluster's: the identity
// must exist (its client, object and tenant IDs are shown), the cluster
// must have its OIDC issuer on (the binding shows its URL), and the
// identity of an existing binding cannot change.
func PrepareIdentityBinding(tx store.Tx, c *Cluster, raw, existing json.RawMessage) (json.RawMessage, error) {
	var in IdentityBindingProperties
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, badRequest("InvalidRequestContent", "properties", "The identity binding's properties could not be read: %v", err)
		}
	}
	if in.ManagedIdentity == nil || in.ManagedIdentity.ResourceID == "" {
		return nil, invalidParameter("properties.managedIdentity.resourceId", "The identity binding's managedIdentity.resourceId is required.")
	}
	rid := in.ManagedIdentity.ResourceID
	if id, err := resourceid.Parse(rid); err != nil || !strings.EqualFold(id.Type(), "Microsoft.ManagedIdentity/userAssignedIdentities") {
		return nil, invalidParameter("properties.managedIdentity.resourceId", "'%s' is not the resource ID of a user-assigned managed identity.", rid)
	}
	if existing != nil {
		var old IdentityBindingProperties
		if json.Unmarshal(existing, &old) == nil && old.ManagedIdentity != nil && !strings.EqualFold(old.ManagedIdentity.ResourceID, rid) {
			return nil, badRequest("PropertyChangeNotAllowed", "properties.managedIdentity.resourceId",
				"Changing property 'managedIdentity.resourceId' is not allowed: create another identity binding for another identity.")
		}
	}
	id, err := resourceid.Parse(rid)
	if err != nil {
		return nil, invalidParameter("properties.managedIdentity.resourceId", "'%s' is not a resource ID: %v", rid, err)
	}
	rec, err := tx.Get(id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, Error(http.StatusBadRequest, "InvalidParameter", "properties.managedIdentity.resourceId", "The managed identity '%s' was not found.", rid)
	}
	if err != nil {
		return nil, err
	}
	var ip struct {
		TenantID    string `json:"tenantId"`
		PrincipalID string `json:"principalId"`
		ClientID    string `json:"clientId"`
	}
	if err := json.Unmarshal(rec.Properties, &ip); err != nil {
		return nil, err
	}
	issuer := c.Props.OIDCIssuerProfile
	if issuer == nil || issuer.Enabled == nil || !*issuer.Enabled || issuer.IssuerURL == "" {
		return nil, badRequest("OIDCIssuerNotEnabled", "properties",
			"Identity bindings need the cluster's OIDC issuer: enable it first (oidcIssuerProfile.enabled, az aks update --enable-oidc-issuer).")
	}
	in.ManagedIdentity.ResourceID = rec.ID
	in.ManagedIdentity.ClientID, in.ManagedIdentity.ObjectID, in.ManagedIdentity.TenantID = ip.ClientID, ip.PrincipalID, ip.TenantID
	in.OIDCIssuer = &struct {
		OIDCIssuerURL string `json:"oidcIssuerUrl"`
	}{issuer.IssuerURL}
	in.ProvisioningState = StateSucceeded
	return json.Marshal(in)
}
