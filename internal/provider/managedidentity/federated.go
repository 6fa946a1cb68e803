package managedidentity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// FederatedType is the federated identity credential type: a trust that
// lets tokens of an external issuer (a cluster's OIDC issuer) sign in as
// the identity.
const FederatedType = Type + "/federatedIdentityCredentials"

// federatedAPIVersions are the versions that have federated credentials.
var federatedAPIVersions = apiversions.For(Namespace + "/userAssignedIdentities/federatedIdentityCredentials")

// maxFederated is Entra's limit of federated credentials per identity.
const maxFederated = 20

// FederatedCredential is a federated identity credential's properties.
type FederatedCredential struct {
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

var federatedNameRule = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$`)

func (p *Provider) registerFederated(reg *arm.Registry, st store.Store) {
	t := &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: "userAssignedIdentities/federatedIdentityCredentials", APIVersions: federatedAPIVersions},
		Store:        st,
		ValidateName: func(name string) error {
			if !federatedNameRule.MatchString(name) {
				return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
					"Resource name '%s' is invalid. The name must be 3 to 120 characters: letters, digits, '-' and '_', starting with a letter or digit.", name)
			}
			return nil
		},
	}
	t.Prepare = func(_ context.Context, tx store.Tx, _ *arm.Request, r, existing *store.Resource) error {
		fc, err := validateFederated(r.Properties)
		if err != nil {
			return err
		}
		siblings, err := tx.List(store.Query{Parent: parentOf(r.ID), Type: FederatedType})
		if err != nil {
			return err
		}
		n := 0
		for _, s := range siblings {
			if strings.EqualFold(s.ID, r.ID) {
				continue
			}
			n++
			var other FederatedCredential
			if json.Unmarshal(s.Properties, &other) == nil && other.Issuer == fc.Issuer && other.Subject == fc.Subject {
				// Entra keeps (issuer, subject) unique per identity; the
				// code and text are localaks's.
				return arm.Errorf(http.StatusBadRequest, "BadRequest",
					"Federated identity credential '%s' already has issuer '%s' and subject '%s'; an identity may trust each pair once.", s.Name, fc.Issuer, fc.Subject)
			}
		}
		if existing == nil && n >= maxFederated {
			return arm.Errorf(http.StatusBadRequest, "BadRequest",
				"Too many Federated Identity Credentials are written to Managed Identity '%s': at most %d are allowed.", parentOf(r.ID), maxFederated)
		}
		r.Properties, err = json.Marshal(fc)
		return err
	}
	t.Install(reg)
}

// validateFederated applies the ManagedIdentity provider's rules: issuer,
// subject and exactly one audience.
func validateFederated(raw json.RawMessage) (*FederatedCredential, error) {
	var fc FederatedCredential
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &fc); err != nil {
			return nil, arm.ErrInvalidRequestContent(err.Error())
		}
	}
	if fc.Issuer == "" || fc.Subject == "" || len(fc.Audiences) == 0 {
		return nil, arm.Errorf(http.StatusBadRequest, "BadRequest",
			"The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.")
	}
	if len(fc.Audiences) != 1 {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidFederatedIdentityCredentialsAudienceLength",
			"Federated identity credentials must have exactly 1 audience.")
	}
	if u, err := url.Parse(fc.Issuer); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "The issuer '%s' is not a valid URL: it must start with 'https://'.", fc.Issuer)
	}
	if len(fc.Subject) > 600 || len(fc.Audiences[0]) > 600 {
		return nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "Subject and audience must be at most 600 characters.")
	}
	return &fc, nil
}

func parentOf(id string) string {
	return id[:strings.LastIndex(strings.ToLower(id), "/federatedidentitycredentials/")]
}

// Trusts reports whether the credential accepts a token with this issuer,
// subject and audiences (exact matches, as Entra compares them).
func (fc FederatedCredential) Trusts(issuer, subject string, audiences []string) bool {
	if fc.Issuer != issuer || fc.Subject != subject {
		return false
	}
	for _, a := range audiences {
		for _, want := range fc.Audiences {
			if a == want {
				return true
			}
		}
	}
	return false
}

// Federated finds the identity with this client ID and the federated
// credentials it trusts (ok is false when no identity has the ID).
func Federated(tx store.Tx, clientID string) (props *Properties, creds []FederatedCredential, ok bool, err error) {
	ids, err := tx.List(store.Query{Type: Type})
	if err != nil {
		return nil, nil, false, err
	}
	for _, r := range ids {
		var p Properties
		if json.Unmarshal(r.Properties, &p) != nil || !strings.EqualFold(p.ClientID, clientID) {
			continue
		}
		fcs, err := tx.List(store.Query{Parent: r.ID, Type: FederatedType})
		if err != nil {
			return nil, nil, false, err
		}
		for _, f := range fcs {
			var fc FederatedCredential
			if json.Unmarshal(f.Properties, &fc) == nil {
				creds = append(creds, fc)
			}
		}
		return &p, creds, true, nil
	}
	return nil, nil, false, nil
}
