package network

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// Application gateway types.
const (
	ApplicationGatewayType = "Microsoft.Network/applicationGateways"
	WAFPolicyType          = "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"
)

// appGatewayChildren are an application gateway's child arrays, and the
// type name of their items.
var appGatewayChildren = []string{
	"gatewayIPConfigurations", "authenticationCertificates", "trustedRootCertificates", "trustedClientCertificates",
	"sslCertificates", "frontendIPConfigurations", "frontendPorts", "probes", "backendAddressPools",
	"backendHttpSettingsCollection", "backendSettingsCollection", "httpListeners", "listeners", "sslProfiles",
	"urlPathMaps", "requestRoutingRules", "routingRules", "rewriteRuleSets", "redirectConfigurations",
	"privateLinkConfigurations",
}

// appGatewayRefs are the references inside children that must name
// another child of the same gateway: child array → property → target array.
var appGatewayRefs = map[string]map[string]string{
	"httpListeners": {"frontendIPConfiguration": "frontendIPConfigurations", "frontendPort": "frontendPorts",
		"sslCertificate": "sslCertificates", "sslProfile": "sslProfiles"},
	"requestRoutingRules": {"httpListener": "httpListeners", "backendAddressPool": "backendAddressPools",
		"backendHttpSettings": "backendHttpSettingsCollection", "urlPathMap": "urlPathMaps",
		"redirectConfiguration": "redirectConfigurations", "rewriteRuleSet": "rewriteRuleSets"},
	"urlPathMaps": {"defaultBackendAddressPool": "backendAddressPools", "defaultBackendHttpSettings": "backendHttpSettingsCollection",
		"defaultRedirectConfiguration": "redirectConfigurations", "defaultRewriteRuleSet": "rewriteRuleSets"},
	"backendHttpSettingsCollection": {"probe": "probes"},
	"redirectConfigurations":        {"targetListener": "httpListeners"},
}

// pathRuleRefs are the references of a URL path map's path rules.
var pathRuleRefs = map[string]string{"backendAddressPool": "backendAddressPools", "backendHttpSettings": "backendHttpSettingsCollection",
	"redirectConfiguration": "redirectConfigurations", "rewriteRuleSet": "rewriteRuleSets"}

// childSingular is the child type segment Azure gives each array's items.
func childSingular(field string) string {
	switch field {
	case "backendHttpSettingsCollection":
		return "backendHttpSettingsCollection"
	case "backendSettingsCollection":
		return "backendSettingsCollection"
	}
	return field
}

func (p *Provider) registerApplicationGateways(reg *arm.Registry) {
	t := p.tracked("applicationGateways", validName)
	t.Prepare = p.prepareApplicationGateway
	t.Render = p.renderApplicationGateway
	t.BeforeDelete = p.beforeDeleteApplicationGateway
	t.Install(reg)
	p.ApplicationGateways = t

	w := p.tracked("ApplicationGatewayWebApplicationFirewallPolicies", validName)
	w.Prepare = p.prepareWAFPolicy
	w.Render = p.renderWAFPolicy
	w.BeforeDelete = p.beforeDeleteWAFPolicy
	w.Install(reg)
	p.WAFPolicies = w
}

// gatewaySKU is an application gateway's SKU.
type gatewaySKU struct {
	Name     string `json:"name"`
	Tier     string `json:"tier"`
	Capacity *int   `json:"capacity,omitempty"`
	Family   string `json:"family,omitempty"`
}

// refID reads {"id": ...} at key of a JSON object.
func refID(props map[string]any, key string) (string, bool) {
	v, ok := props[key].(map[string]any)
	if !ok {
		return "", false
	}
	id, ok := v["id"].(string)
	return id, ok && id != ""
}

// prepareApplicationGateway validates and completes an application gateway
// PUT, kept as JSON so that whatever localaks does not model is stored as
// sent. The order of the steps is the precedence of their errors, and
// public IPs change hands only once every check has passed.
func (p *Provider) prepareApplicationGateway(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	gw := &gatewayPreparation{p: p, tx: tx, req: req, r: r, existing: existing}
	return runSteps(
		gw.decode,
		gw.validateSKU,
		gw.checkChildNames,
		gw.requireOneGatewayIPConfiguration,
		gw.checkReferences,
		gw.preparePathRules,
		gw.prepareRoutingRules,
		gw.checkGatewaySubnet,
		gw.prepareFrontends,
		gw.prepareFirewall,
		gw.stampChildren,
		gw.recallPrevious,
		gw.assignPublicIPs,
		gw.store,
	)
}

// gatewayPreparation is one application gateway PUT on its way to the
// store: the request's record, the stored one it replaces, and what the
// steps of prepareApplicationGateway learn for the steps after them.
type gatewayPreparation struct {
	p        *Provider
	tx       store.Tx
	req      *arm.Request // nil when the platform writes
	r        *store.Resource
	existing *store.Resource // nil on create

	props    map[string]any
	sku      gatewaySKU
	children map[string][]map[string]any // child field → its items
	refs     childRefs
	usedPIPs map[string]string // lower-case public IP ID → frontend ID

	guidOld string
	oldPIPs []string // public IP IDs of the old frontends
}

func (p *Provider) renderApplicationGateway(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	var props map[string]any
	if err := decodeStored("properties", r.ID, orEmpty(r.Properties), &props); err != nil {
		return nil, err
	}
	return p.ApplicationGateways.Envelope(r, over(r, props)), nil
}

func (p *Provider) beforeDeleteApplicationGateway(tx store.Tx, r *store.Resource) error {
	var props map[string]any
	if err := decodeStored("properties", r.ID, r.Properties, &props); err != nil {
		return err
	}
	for _, v := range asList(props["frontendIPConfigurations"]) {
		if pip, ok := refID(asMap(asMap(v)["properties"]), "publicIPAddress"); ok {
			if err := p.setPublicIPUser(tx, pip, "", false); err != nil {
				return err
			}
		}
	}
	return nil
}

// WAF policies.

func (p *Provider) prepareWAFPolicy(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	var props map[string]any
	if err := json.Unmarshal(orEmpty(r.Properties), &props); err != nil {
		return arm.ErrInvalidRequestContent("properties: " + err.Error())
	}
	if props == nil {
		props = map[string]any{}
	}
	mr := asMap(props["managedRules"])
	sets := asList(mr["managedRuleSets"])
	if len(sets) == 0 {
		return badRequest("ApplicationGatewayFirewallPolicyManagedRuleSetsMissing",
			"Web application firewall policy %s must have at least one managed rule set (managedRules.managedRuleSets).", r.Name)
	}
	for i, v := range sets {
		set := asMap(v)
		if set["ruleSetType"] == nil || set["ruleSetVersion"] == nil {
			return badRequest("InvalidManagedRuleSet", "Managed rule set %d of %s needs ruleSetType and ruleSetVersion.", i, r.Name)
		}
	}
	ps := asMap(props["policySettings"])
	if ps == nil {
		ps = map[string]any{}
	}
	defaults := map[string]any{"state": "Enabled", "mode": "Detection", "requestBodyCheck": true, "maxRequestBodySizeInKb": 128,
		"fileUploadLimitInMb": 100, "requestBodyInspectLimitInKB": 128, "fileUploadEnforcement": true, "requestBodyEnforcement": true}
	for k, v := range defaults {
		if ps[k] == nil {
			ps[k] = v
		}
	}
	var ok bool
	if ps["state"], ok = canonicalOf(fmt.Sprint(ps["state"]), "Enabled", "Disabled"); !ok {
		return badRequest("InvalidPolicySettings", "policySettings.state must be Enabled or Disabled.")
	}
	if ps["mode"], ok = canonicalOf(fmt.Sprint(ps["mode"]), "Prevention", "Detection"); !ok {
		return badRequest("InvalidPolicySettings", "policySettings.mode must be Prevention or Detection.")
	}
	props["policySettings"] = ps
	if props["customRules"] == nil {
		props["customRules"] = []any{}
	}
	if mr["exclusions"] == nil {
		mr["exclusions"] = []any{}
	}
	guidOld := ""
	if existing != nil {
		var old map[string]any
		if err := decodeStored("properties", existing.ID, existing.Properties, &old); err != nil {
			return err
		}
		guidOld, _ = old["resourceGuid"].(string)
	}
	props["provisioningState"], props["resourceState"], props["resourceGuid"] = "Succeeded", "Enabled", guid(guidOld)
	delete(props, "applicationGateways")
	out, err := json.Marshal(props)
	r.Properties = out
	return err
}

// renderWAFPolicy adds the gateways that use the policy.
func (p *Provider) renderWAFPolicy(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	var props map[string]any
	if err := decodeStored("properties", r.ID, orEmpty(r.Properties), &props); err != nil {
		return nil, err
	}
	users, err := p.wafPolicyUsers(tx, r.ID)
	if err != nil {
		return nil, err
	}
	var gws []any
	for _, u := range users {
		gws = append(gws, map[string]string{"id": u})
	}
	if gws != nil {
		if props == nil { // stored as null
			props = map[string]any{}
		}
		props["applicationGateways"] = gws
	}
	return p.WAFPolicies.Envelope(r, over(r, props)), nil
}

func (p *Provider) wafPolicyUsers(tx store.Tx, policyID string) ([]string, error) {
	gws, err := tx.List(store.Query{Subscription: subscriptionOf(policyID), Type: ApplicationGatewayType})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gws {
		var props map[string]any
		if err := decodeStored("properties", g.ID, g.Properties, &props); err != nil {
			return nil, err
		}
		if id, ok := refID(props, "firewallPolicy"); ok && strings.EqualFold(id, policyID) {
			out = append(out, g.ID)
		}
	}
	return out, nil
}

func (p *Provider) beforeDeleteWAFPolicy(tx store.Tx, r *store.Resource) error {
	users, err := p.wafPolicyUsers(tx, r.ID)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return badRequest("ApplicationGatewayFirewallPolicyInUse",
			"Web application firewall policy %s cannot be deleted since it is in use by %s.", r.ID, users[0])
	}
	return nil
}

func orEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage(`{}`)
	}
	return b
}

// childName is a child's name; prepareApplicationGateway has checked that
// every child has one (validName).
func childName(item map[string]any) string {
	name, _ := item["name"].(string)
	return name
}

// childProperties is a child's properties object; one the request left out
// is made and attached, so that the steps can fill it in.
func childProperties(item map[string]any) map[string]any {
	cp, _ := item["properties"].(map[string]any)
	if cp == nil {
		cp = map[string]any{}
		item["properties"] = cp
	}
	return cp
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func intPtr(n int) *int { return &n }
