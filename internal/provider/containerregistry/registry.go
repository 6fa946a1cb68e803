// Package containerregistry is the Microsoft.ContainerRegistry resource
// provider's ARM side: registries (create, read, update, delete, list),
// their admin credentials (listCredentials, regenerateCredential), usages
// and replications, with ACR's names, defaults and errors. The registry
// data plane (an OCI registry per registry resource) is package acr.
package containerregistry

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = "Microsoft.ContainerRegistry"

// RegistryType is the registries' type.
const RegistryType = Namespace + "/registries"

// LoginSuffix is the DNS suffix of login servers ({name}.azurecr.io).
const LoginSuffix = ".azurecr.io"

// Properties are the registry properties localaks models; the others are
// kept as sent (package jsonx).
type Properties struct {
	LoginServer              string    `json:"loginServer"`
	CreationDate             time.Time `json:"creationDate"`
	ProvisioningState        string    `json:"provisioningState"`
	AdminUserEnabled         bool      `json:"adminUserEnabled"`
	PublicNetworkAccess      string    `json:"publicNetworkAccess"`
	ZoneRedundancy           string    `json:"zoneRedundancy"`
	AnonymousPullEnabled     bool      `json:"anonymousPullEnabled"`
	DataEndpointEnabled      bool      `json:"dataEndpointEnabled"`
	DataEndpointHostNames    []string  `json:"dataEndpointHostNames"`
	NetworkRuleBypassOptions string    `json:"networkRuleBypassOptions"`
	// NetworkRuleBypassAllowedForTasks and RoleAssignmentMode are ACR's
	// defaults unless sent.
	NetworkRuleBypassAllowedForTasks bool            `json:"networkRuleBypassAllowedForTasks"`
	RoleAssignmentMode               string          `json:"roleAssignmentMode"`
	Policies                         json.RawMessage `json:"policies"`
	Encryption                       json.RawMessage `json:"encryption"`
	PrivateEndpointConnections       []any           `json:"privateEndpointConnections"`
	// Admin holds the admin user's two passwords (never rendered).
	Admin []Password `json:"localaksAdmin,omitempty"`
}

// Password is one admin password, as listCredentials returns it.
type Password struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type sku struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

// defaultPolicies are a new registry's policies (ACR's defaults).
var defaultPolicies = json.RawMessage(`{"quarantinePolicy":{"status":"disabled"},"trustPolicy":{"type":"Notary","status":"disabled"},"retentionPolicy":{"days":7,"status":"disabled"},"exportPolicy":{"status":"enabled"},"azureADAuthenticationAsArmPolicy":{"status":"enabled"}}`)

// includedStorage is each SKU's included storage in bytes, webhooks its
// webhook limit (listUsages).
var (
	includedStorage = map[string]int64{"Basic": 10 << 30, "Standard": 100 << 30, "Premium": 500 << 30}
	webhookLimit    = map[string]int{"Basic": 2, "Standard": 10, "Premium": 500}
)

// Provider serves Microsoft.ContainerRegistry.
type Provider struct {
	Registries *arm.Tracked
	// ContentSize, when set, is the bytes a registry's content takes
	// (listUsages' Size).
	ContentSize func(r *store.Resource) (int64, error)
	// Import, when set, copies an image into registry r (importImage).
	Import func(ctx context.Context, r *store.Resource, in ImportParams) error
	now    func() time.Time
}

var nameRule = regexp.MustCompile(`^[a-zA-Z0-9]{5,50}$`)

// Register creates the provider and registers its types.
func Register(reg *arm.Registry, st store.Store) *Provider {
	p := &Provider{now: time.Now}
	t := &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: "registries", APIVersions: apiversions.For(RegistryType), Locations: regions.List()},
		Located:      true, Store: st,
		ValidateName: func(name string) error {
			if !nameRule.MatchString(name) {
				return arm.Errorf(http.StatusBadRequest, "ResourceNameInvalid",
					"Invalid resource name: '%s'. Resource names may contain alpha numeric characters only and must be between 5 and 50 characters.", name)
			}
			return nil
		},
	}
	t.Prepare = p.prepare
	t.Patch = p.patch(t)
	t.Render = func(_ store.Tx, _ *arm.Request, r *store.Resource) (any, error) {
		var props Properties
		extra, err := jsonx.Decode(r.Properties, &props)
		if err != nil {
			return nil, err
		}
		props.Admin = nil
		raw, err := jsonx.Encode(extra, &props)
		if err != nil {
			return nil, err
		}
		return t.Envelope(r, json.RawMessage(raw)), nil
	}
	t.Actions = map[string]arm.HandlerFunc{
		"listCredentials":      p.credentials(t, false),
		"regenerateCredential": p.credentials(t, true),
	}
	t.Actions["importImage"] = p.importImage(t)
	t.ReadActions = map[string]arm.HandlerFunc{"listUsages": p.usages(t)}
	t.Install(reg)
	p.Registries = t

	// Replications: localaks keeps none (geo-replication is Premium's and
	// not modelled); the list answers, as azurerm reads it for every
	// registry.
	repl := &arm.ResourceType{Namespace: Namespace, Type: "registries/replications", APIVersions: apiversions.For(RegistryType + "/replications"), Hidden: true}
	repl.List = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		err := st.View(ctx, func(tx store.Tx) error {
			_, err := t.Load(tx, req.Route.ID)
			return err
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(map[string]any{"value": []any{}}), nil
	}
	reg.Register(repl)

	// checkNameAvailability: POST /subscriptions/{s}/providers/
	// Microsoft.ContainerRegistry/checkNameAvailability.
	check := &arm.ResourceType{Namespace: Namespace, Type: "checkNameAvailability", APIVersions: apiversions.For(RegistryType), Hidden: true}
	check.Post = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var in struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		if err := req.DecodeBody(&in, true); err != nil {
			return nil, err
		}
		if !strings.EqualFold(in.Type, RegistryType) {
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
				"The resource type '%s' is not valid: use %s.", in.Type, RegistryType).WithTarget("type")
		}
		if !nameRule.MatchString(in.Name) {
			// [unverified] ACR's message for an invalid name here; this is
			// its ResourceNameInvalid text.
			return arm.OK(map[string]any{"nameAvailable": false, "reason": "Invalid",
				"message": "Resource names may contain alpha numeric characters only and must be between 5 and 50 characters."}), nil
		}
		taken := false
		err := st.View(ctx, func(tx store.Tx) error {
			all, err := tx.List(store.Query{Type: RegistryType})
			for _, o := range all {
				taken = taken || strings.EqualFold(o.Name, in.Name)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if taken {
			return arm.OK(map[string]any{"nameAvailable": false, "reason": "AlreadyExists",
				"message": fmt.Sprintf("The registry %s is already in use.", in.Name)}), nil
		}
		return arm.OK(map[string]any{"nameAvailable": true}), nil
	}
	reg.Register(check)
	return p
}

// prepare validates a registry and completes it with ACR's defaults; a
// registry's name is unique across the instance, as login servers are
// across Azure.
func (p *Provider) prepare(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	var s sku
	if len(r.SKU) > 0 {
		if err := json.Unmarshal(r.SKU, &s); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	switch strings.ToLower(s.Name) {
	case "basic", "standard", "premium":
		s.Name = strings.ToUpper(s.Name[:1]) + strings.ToLower(s.Name[1:])
	case "":
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The registry SKU is required (Basic, Standard or Premium).").WithTarget("sku")
	default:
		return arm.Errorf(http.StatusBadRequest, "InvalidSku", "The SKU '%s' is not valid: use Basic, Standard or Premium.", s.Name).WithTarget("sku.name")
	}
	s.Tier = s.Name
	r.SKU, _ = json.Marshal(s)

	var props Properties
	extra, err := jsonx.Decode(r.Properties, &props)
	if err != nil {
		return arm.ErrInvalidRequestContent("properties: " + err.Error())
	}
	var old Properties
	if existing != nil {
		if err := json.Unmarshal(existing.Properties, &old); err != nil {
			return err
		}
	} else {
		all, err := tx.List(store.Query{Type: RegistryType})
		if err != nil {
			return err
		}
		for _, o := range all {
			if strings.EqualFold(o.Name, r.Name) {
				return arm.Errorf(http.StatusBadRequest, "AlreadyInUse",
					"The registry DNS name %s%s is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability",
					strings.ToLower(r.Name), LoginSuffix)
			}
		}
		old.CreationDate = p.now().UTC()
	}
	if props.PublicNetworkAccess == "" {
		props.PublicNetworkAccess = "Enabled"
	}
	if props.ZoneRedundancy == "" {
		props.ZoneRedundancy = "Disabled"
	}
	for _, v := range []struct{ field, value, want string }{
		{"publicNetworkAccess", props.PublicNetworkAccess, "Enabled|Disabled"},
		{"zoneRedundancy", props.ZoneRedundancy, "Enabled|Disabled"},
	} {
		if !strings.Contains("|"+v.want+"|", "|"+v.value+"|") {
			return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The value '%s' of %s is not valid: use %s.", v.value, v.field, strings.ReplaceAll(v.want, "|", " or ")).WithTarget("properties." + v.field)
		}
	}
	if props.PublicNetworkAccess == "Disabled" && s.Name != "Premium" {
		return arm.Errorf(http.StatusBadRequest, "DisablingPublicNetworkAccessNotSupported",
			"Disabling public network access is not supported for the SKU %s. For more information, please visit https://aka.ms/acr/private-link.", s.Name)
	}
	if props.AnonymousPullEnabled && s.Name == "Basic" {
		return arm.Errorf(http.StatusBadRequest, "AnonymousPullNotSupported", "Anonymous pull is not supported for the SKU Basic.")
	}
	if existing != nil && props.ZoneRedundancy != old.ZoneRedundancy {
		return arm.Errorf(http.StatusBadRequest, "ZoneRedundancyCannotBeUpdated", "Zone redundancy of a registry cannot be changed after it is created.").WithTarget("properties.zoneRedundancy")
	}
	if props.NetworkRuleBypassOptions == "" {
		props.NetworkRuleBypassOptions = "AzureServices"
	}
	if props.RoleAssignmentMode == "" {
		props.RoleAssignmentMode = "LegacyRegistryPermissions"
	}
	if len(props.Policies) == 0 || string(props.Policies) == "null" {
		props.Policies = defaultPolicies
	}
	if len(props.Encryption) == 0 || string(props.Encryption) == "null" {
		props.Encryption = json.RawMessage(`{"status":"disabled"}`)
	}
	props.LoginServer = strings.ToLower(r.Name) + LoginSuffix
	props.CreationDate, props.ProvisioningState = old.CreationDate, "Succeeded"
	props.DataEndpointHostNames, props.PrivateEndpointConnections = []string{}, []any{}
	props.Admin = old.Admin
	if props.AdminUserEnabled && len(props.Admin) == 0 {
		props.Admin = []Password{{"password", newPassword()}, {"password2", newPassword()}}
	}
	raw, err := jsonx.Encode(extra, &props)
	if err != nil {
		return err
	}
	r.Properties = raw
	return nil
}

// patch serves PATCH (az acr update, azurerm's updates): tags, sku,
// identity and the properties sent replace those stored (properties one
// key at a time), and the registry is validated again.
func (p *Provider) patch(t *arm.Tracked) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var in struct {
			Tags       map[string]string          `json:"tags"`
			SKU        json.RawMessage            `json:"sku"`
			Identity   json.RawMessage            `json:"identity"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := req.DecodeBody(&in, true); err != nil {
			return nil, err
		}
		if err := arm.ValidateTags(in.Tags); err != nil {
			return nil, err
		}
		var body any
		err := t.Store.Update(ctx, func(tx store.Tx) error {
			existing, err := t.Load(tx, req.Route.ID)
			if err != nil {
				return err
			}
			if err := req.CheckPreconditions(existing); err != nil {
				return err
			}
			r := *existing
			if in.Tags != nil {
				r.Tags = in.Tags
			}
			if len(in.SKU) > 0 && string(in.SKU) != "null" {
				r.SKU = in.SKU
			}
			if len(in.Identity) > 0 && string(in.Identity) != "null" {
				r.Identity = in.Identity
			}
			if len(in.Properties) > 0 {
				var props map[string]json.RawMessage
				if err := json.Unmarshal(existing.Properties, &props); err != nil {
					return err
				}
				for k, v := range in.Properties {
					props[k] = v
				}
				if r.Properties, err = json.Marshal(props); err != nil {
					return err
				}
			}
			if err := t.Save(ctx, tx, req, &r, existing); err != nil {
				return err
			}
			body, err = t.Render(tx, req, &r)
			return err
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(body), nil
	}
}

// newPassword is an admin password of ACR's shape: 52 characters of
// base64 with a "+ACR" marker.
func newPassword() string {
	b := make([]byte, 36)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return strings.NewReplacer("/", "A", "+", "B", "=", "C").Replace(base64.StdEncoding.EncodeToString(b))[:48] + "+ACR"
}

// credentials serves listCredentials, and regenerateCredential when
// regenerate: the admin user's name (the registry's) and its passwords.
func (p *Provider) credentials(t *arm.Tracked, regenerate bool) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var in struct {
			Name string `json:"name"`
		}
		if regenerate {
			if err := req.DecodeBody(&in, true); err != nil {
				return nil, err
			}
			if in.Name != "password" && in.Name != "password2" {
				return nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The password name '%s' is not valid: use password or password2.", in.Name).WithTarget("name")
			}
		}
		var out map[string]any
		err := t.Store.Update(ctx, func(tx store.Tx) error {
			r, err := t.Load(tx, req.Route.ID)
			if err != nil {
				return err
			}
			var props Properties
			extra, err := jsonx.Decode(r.Properties, &props)
			if err != nil {
				return err
			}
			if !props.AdminUserEnabled {
				return arm.Errorf(http.StatusBadRequest, "UnAuthorizedForCredentialOperations",
					"Cannot perform credential operations for %s as admin user is disabled. Kindly enable admin user as per docs: https://docs.microsoft.com/en-us/azure/container-registry/container-registry-authentication#admin-account", r.ID)
			}
			if regenerate {
				for i := range props.Admin {
					if props.Admin[i].Name == in.Name {
						props.Admin[i].Value = newPassword()
					}
				}
				if r.Properties, err = jsonx.Encode(extra, &props); err != nil {
					return err
				}
				if err := tx.Put(r); err != nil {
					return err
				}
			}
			out = map[string]any{"username": r.Name, "passwords": props.Admin}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(out), nil
	}
}

// ImportSource is importImage's source: a registry by resource ID or
// login server, and the image in it (repo:tag or repo@digest).
type ImportSource struct {
	ResourceID  string `json:"resourceId"`
	RegistryURI string `json:"registryUri"`
	Credentials *struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"credentials"`
	SourceImage string `json:"sourceImage"`
}

// ImportParams is importImage's body.
type ImportParams struct {
	Source                     ImportSource `json:"source"`
	TargetTags                 []string     `json:"targetTags"`
	UntaggedTargetRepositories []string     `json:"untaggedTargetRepositories"`
	Mode                       string       `json:"mode"`
}

// importImage serves importImage (az acr import): the copy is done when
// the answer is sent (200, which ACR's long-running operation allows).
func (p *Provider) importImage(t *arm.Tracked) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var in ImportParams
		if err := req.DecodeBody(&in, true); err != nil {
			return nil, err
		}
		if in.Source.SourceImage == "" {
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The source image is required.").WithTarget("source.sourceImage")
		}
		switch strings.ToLower(in.Mode) {
		case "", "noforce", "force":
		default:
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The import mode '%s' is not valid: use NoForce or Force.", in.Mode).WithTarget("mode")
		}
		var r *store.Resource
		err := t.Store.View(ctx, func(tx store.Tx) error {
			var err error
			r, err = t.Load(tx, req.Route.ID)
			return err
		})
		if err != nil {
			return nil, err
		}
		if p.Import == nil {
			return nil, arm.Errorf(http.StatusBadRequest, "InvalidParameters", "This localaks serves no registry data plane to import into.")
		}
		if err := p.Import(ctx, r, in); err != nil {
			return nil, err
		}
		return arm.OK(nil), nil
	}
}

// usages serves listUsages: the SKU's included storage and what the
// content takes, and the webhook limit (localaks keeps no webhooks: 0).
func (p *Provider) usages(t *arm.Tracked) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		var s sku
		var size int64
		err := t.Store.View(ctx, func(tx store.Tx) error {
			r, err := t.Load(tx, req.Route.ID)
			if err != nil {
				return err
			}
			if p.ContentSize != nil {
				if size, err = p.ContentSize(r); err != nil {
					return err
				}
			}
			return json.Unmarshal(r.SKU, &s)
		})
		if err != nil {
			return nil, err
		}
		return arm.OK(map[string]any{"value": []map[string]any{
			{"name": "Size", "limit": includedStorage[s.Name], "currentValue": size, "unit": "Bytes"},
			{"name": "Webhooks", "limit": webhookLimit[s.Name], "currentValue": 0, "unit": "Count"},
		}}), nil
	}
}
