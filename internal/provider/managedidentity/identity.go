// Package managedidentity is the Microsoft.ManagedIdentity resource
// provider: user-assigned identities, each with the service principal
// (client ID, object ID) Entra gives it.
package managedidentity

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = "Microsoft.ManagedIdentity"

// Type is the user-assigned identity type.
const Type = "Microsoft.ManagedIdentity/userAssignedIdentities"

// APIVersions are the accepted api-versions (package apiversions).
var APIVersions = apiversions.For(Namespace + "/userAssignedIdentities")

// Properties are an identity's properties.
type Properties struct {
	TenantID    string `json:"tenantId"`
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
	// IsolationScope is "None" unless regionally isolated.
	IsolationScope string `json:"isolationScope,omitempty"`
}

// Provider is the Microsoft.ManagedIdentity provider.
type Provider struct {
	Identities *arm.Tracked
	tenant     func(subscription string) string
}

var nameRule = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$`)

// Register creates the provider; tenantOf maps a subscription to its tenant
// (identities live in the subscription's tenant).
func Register(reg *arm.Registry, st store.Store, tenantOf func(subscription string) string) *Provider {
	p := &Provider{tenant: tenantOf}
	locs := regions.List()
	p.Identities = &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: "userAssignedIdentities", APIVersions: APIVersions, Locations: locs},
		Located:      true, Store: st,
		ValidateName: func(name string) error {
			if !nameRule.MatchString(name) {
				return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
					"Resource name '%s' is invalid. The name must be 3 to 128 characters: letters, digits, '-' and '_', starting with a letter or digit.", name)
			}
			return nil
		},
	}
	p.Identities.Prepare = func(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
		return p.complete(r, existing)
	}
	p.Identities.Install(reg)
	p.registerFederated(reg, st)
	return p
}

// complete fills an identity's read-only properties, keeping those it has;
// isolationScope (None or Regional) and properties localaks does not model
// are kept as sent (package jsonx), as Azure returns them.
func (p *Provider) complete(r, existing *store.Resource) error {
	var sent Properties
	extra, err := jsonx.Decode(r.Properties, &sent)
	if err != nil {
		return arm.ErrInvalidRequestContent("properties: " + err.Error())
	}
	props := Properties{IsolationScope: "None"}
	if existing != nil {
		if err := json.Unmarshal(existing.Properties, &props); err != nil {
			return err
		}
	} else {
		props.PrincipalID, props.ClientID = uuid.NewString(), uuid.NewString()
	}
	switch sent.IsolationScope {
	case "":
	case "None", "Regional":
		props.IsolationScope = sent.IsolationScope
	default:
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The isolation scope '%s' is not valid; use None or Regional.", sent.IsolationScope)
	}
	if props.TenantID == "" {
		props.TenantID = p.tenant(subscriptionOf(r.ID))
	}
	raw, err := jsonx.Encode(extra, &props)
	r.Properties = raw
	return err
}

// Ensure creates the identity r if it does not exist (the AKS reconciler
// uses it for kubelet and add-on identities) and returns its properties.
func (p *Provider) Ensure(tx store.Tx, r *store.Resource) (*Properties, error) {
	existing, err := tx.Get(r.ID)
	if err == nil {
		var props Properties
		return &props, json.Unmarshal(existing.Properties, &props)
	}
	r.Type = Type
	if err := p.complete(r, nil); err != nil {
		return nil, err
	}
	if err := tx.Put(r); err != nil {
		return nil, err
	}
	var props Properties
	return &props, json.Unmarshal(r.Properties, &props)
}

func subscriptionOf(id string) string {
	parsed, err := resourceid.Parse(id)
	if err != nil {
		return ""
	}
	return parsed.SubscriptionID()
}
