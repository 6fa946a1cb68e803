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

func (p *Provider) prepareApplicationGateway(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	var props map[string]any
	if err := json.Unmarshal(orEmpty(r.Properties), &props); err != nil {
		return arm.ErrInvalidRequestContent("properties: " + err.Error())
	}
	if props == nil {
		props = map[string]any{}
	}
	sku, ok := props["sku"].(map[string]any)
	if !ok {
		return badRequest("ApplicationGatewaySkuMissing", "Application gateway %s must have a sku.", r.Name)
	}
	var s gatewaySKU
	raw, _ := json.Marshal(sku)
	if err := json.Unmarshal(raw, &s); err != nil {
		return arm.ErrInvalidRequestContent("sku: " + err.Error())
	}
	if s.Name, ok = canonicalOf(s.Name, "Standard_v2", "WAF_v2", "Basic"); !ok {
		return badRequest("ApplicationGatewaySkuNameInvalid",
			"Application gateway SKU name %s is not supported. Supported values: Basic, Standard_v2, WAF_v2 (the v1 SKUs are retired).", s.Name)
	}
	if s.Tier == "" {
		s.Tier = s.Name
	}
	if !strings.EqualFold(s.Tier, s.Name) {
		return badRequest("ApplicationGatewaySkuTierMismatch", "Application gateway SKU tier %s does not match SKU name %s.", s.Tier, s.Name)
	}
	s.Tier = s.Name
	if _, autoscale := props["autoscaleConfiguration"]; s.Capacity == nil && !autoscale {
		s.Capacity = intPtr(1)
	}
	if s.Capacity != nil && (*s.Capacity < 0 || *s.Capacity > 125) {
		return badRequest("ApplicationGatewayInvalidCapacity", "Application gateway capacity %d is outside 0–125.", *s.Capacity)
	}
	props["sku"] = s

	children := map[string][]map[string]any{}
	names := map[string]map[string]bool{}
	for _, field := range appGatewayChildren {
		arr, _ := props[field].([]any)
		names[field] = map[string]bool{}
		var items []map[string]any
		for i, v := range arr {
			item, ok := v.(map[string]any)
			if !ok {
				return arm.ErrInvalidRequestContent(fmt.Sprintf("properties.%s[%d] is not an object", field, i))
			}
			name, _ := item["name"].(string)
			if err := validName(name); err != nil {
				return err
			}
			if names[field][strings.ToLower(name)] {
				return badRequest("DuplicateResourceName", "Application gateway %s has two %s named %s.", r.Name, field, name)
			}
			names[field][strings.ToLower(name)] = true
			items = append(items, item)
		}
		children[field] = items
	}
	if n := len(children["gatewayIPConfigurations"]); n != 1 {
		return badRequest("ApplicationGatewayMustHaveOneGatewayIPConfiguration",
			"Application gateway %s must have exactly one gateway IP configuration, it has %d.", r.Name, n)
	}
	check := func(owner, target, id string) error {
		prefix := strings.ToLower(r.ID + "/" + target + "/")
		if !strings.HasPrefix(strings.ToLower(id), prefix) || !names[target][strings.TrimPrefix(strings.ToLower(id), prefix)] {
			return badRequest("InvalidResourceReference",
				"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", id, owner)
		}
		return nil
	}
	childProps := func(item map[string]any) map[string]any {
		cp, _ := item["properties"].(map[string]any)
		if cp == nil {
			cp = map[string]any{}
			item["properties"] = cp
		}
		return cp
	}
	for field, refs := range appGatewayRefs {
		for _, item := range children[field] {
			owner := r.ID + "/" + field + "/" + childName(item)
			cp := childProps(item)
			for key, target := range refs {
				if id, ok := refID(cp, key); ok {
					if err := check(owner, target, id); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, m := range children["urlPathMaps"] {
		mp := childProps(m)
		rules, _ := mp["pathRules"].([]any)
		for i, v := range rules {
			pr, ok := v.(map[string]any)
			if !ok {
				return arm.ErrInvalidRequestContent(fmt.Sprintf("pathRules[%d] is not an object", i))
			}
			name, _ := pr["name"].(string)
			if err := validName(name); err != nil {
				return err
			}
			owner := r.ID + "/urlPathMaps/" + childName(m) + "/pathRules/" + name
			pp := childProps(pr)
			if paths, _ := pp["paths"].([]any); len(paths) == 0 {
				return badRequest("ApplicationGatewayPathRuleMustHavePaths", "Path rule %s has no paths.", owner)
			}
			for key, target := range pathRuleRefs {
				if id, ok := refID(pp, key); ok {
					if err := check(owner, target, id); err != nil {
						return err
					}
				}
			}
			pr["id"], pr["type"] = owner, ApplicationGatewayType+"/urlPathMaps/pathRules"
			pp["provisioningState"] = "Succeeded"
		}
	}
	// Routing rules: a listener each; v2 SKUs need unique priorities from
	// api-version 2021-08-01.
	priorities := map[float64]string{}
	for _, rr := range children["requestRoutingRules"] {
		cp := childProps(rr)
		owner := r.ID + "/requestRoutingRules/" + childName(rr)
		if _, ok := refID(cp, "httpListener"); !ok {
			return badRequest("ApplicationGatewayRequestRoutingRuleMustReferenceListener", "Request routing rule %s must reference an HTTP listener.", owner)
		}
		if cp["ruleType"] == nil {
			cp["ruleType"] = "Basic"
		}
		prio, hasPrio := cp["priority"].(float64)
		if !hasPrio && req != nil && req.APIVersion >= "2021-08-01" && s.Name != "Basic" {
			return badRequest("ApplicationGatewayRequestRoutingRulePriorityCannotBeEmpty",
				"Priority for the request routing rule %s cannot be empty. All request routing rules should have a priority defined starting from api-version 2021-08-01.", owner)
		}
		if hasPrio {
			if prio < 1 || prio > 20000 {
				return badRequest("ApplicationGatewayRequestRoutingRulePriorityOutOfRange", "Priority %v of request routing rule %s is outside 1–20000.", prio, owner)
			}
			if other, dup := priorities[prio]; dup {
				return badRequest("ApplicationGatewayRequestRoutingRulesCannotHaveSamePriority",
					"Request routing rules %s and %s have the same priority %v.", other, owner, prio)
			}
			priorities[prio] = owner
		}
	}

	// The gateway's subnet: it must exist, and hold nothing but gateways.
	gip := childProps(children["gatewayIPConfigurations"][0])
	subnet, ok := refID(gip, "subnet")
	if !ok {
		return badRequest("ApplicationGatewayGatewayIPConfigurationMustReferenceSubnet", "The gateway IP configuration of %s must reference a subnet.", r.Name)
	}
	if _, _, err := p.Subnet(tx, subnet); err != nil {
		return err
	}
	users, err := p.SubnetUsers(tx, subnet)
	if err != nil {
		return err
	}
	for _, u := range users {
		// Other application gateways may share the subnet; nothing else.
		if strings.Contains(strings.ToLower(u), "/providers/microsoft.network/applicationgateways/") {
			continue
		}
		return badRequest("ApplicationGatewaySubnetCannotBeUsedByOtherResources",
			"Subnet %s cannot be used for application gateway %s since it is already used by %s.", subnet, r.ID, u)
	}
	// Public frontends take a Standard static public IP.
	usedPIPs := map[string]string{}
	for _, f := range children["frontendIPConfigurations"] {
		cp := childProps(f)
		owner := r.ID + "/frontendIPConfigurations/" + childName(f)
		if pip, ok := refID(cp, "publicIPAddress"); ok {
			rec, err := tx.Get(pip)
			if err != nil {
				return badRequest("InvalidResourceReference",
					"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", pip, owner)
			}
			var pipSKU SKU
			if err := decodeStored("sku", rec.ID, rec.SKU, &pipSKU); err != nil {
				return err
			}
			if s.Name != "Basic" && !strings.EqualFold(pipSKU.Name, "Standard") {
				return badRequest("ApplicationGatewayV2SkuMustHaveStandardPublicIP", "Application gateway %s (%s) needs a Standard public IP, %s is %s.", r.Name, s.Name, pip, pipSKU.Name)
			}
			usedPIPs[strings.ToLower(pip)] = owner
		} else if _, ok := refID(cp, "subnet"); ok {
			if cp["privateIPAllocationMethod"] == nil {
				cp["privateIPAllocationMethod"] = "Dynamic"
			}
		}
	}
	if fp, ok := props["firewallPolicy"].(map[string]any); ok {
		if id, _ := fp["id"].(string); id != "" {
			if _, err := tx.Get(id); err != nil {
				return badRequest("InvalidResourceReference", "Firewall policy %s referenced by application gateway %s was not found.", id, r.ID)
			}
		}
	}
	if s.Name == "WAF_v2" && props["webApplicationFirewallConfiguration"] == nil && props["firewallPolicy"] == nil {
		props["webApplicationFirewallConfiguration"] = map[string]any{"enabled": false, "firewallMode": "Detection",
			"ruleSetType": "OWASP", "ruleSetVersion": "3.2", "disabledRuleGroups": []any{}, "requestBodyCheck": true,
			"maxRequestBodySizeInKb": 128, "fileUploadLimitInMb": 100}
	}

	// Children get their IDs, types and states; the gateway its own.
	for _, field := range appGatewayChildren {
		arr := make([]any, 0, len(children[field]))
		for _, item := range children[field] {
			item["id"] = r.ID + "/" + field + "/" + childName(item)
			item["type"] = ApplicationGatewayType + "/" + childSingular(field)
			childProps(item)["provisioningState"] = "Succeeded"
			arr = append(arr, item)
		}
		if len(arr) > 0 || props[field] != nil {
			props[field] = arr
		}
	}
	guidOld := ""
	if existing != nil {
		var old map[string]any
		if err := decodeStored("properties", existing.ID, existing.Properties, &old); err != nil {
			return err
		}
		guidOld, _ = old["resourceGuid"].(string)
		// Public IPs no longer used are released.
		for _, v := range asList(old["frontendIPConfigurations"]) {
			if pip, ok := refID(asMap(asMap(v)["properties"]), "publicIPAddress"); ok {
				if _, still := usedPIPs[strings.ToLower(pip)]; !still {
					if err := p.setPublicIPUser(tx, pip, "", false); err != nil {
						return err
					}
				}
			}
		}
	}
	for pip, owner := range usedPIPs {
		if err := p.setPublicIPUser(tx, pip, owner, false); err != nil {
			return err
		}
	}
	props["provisioningState"] = "Succeeded"
	props["operationalState"] = "Running"
	props["resourceGuid"] = guid(guidOld)
	out, err := json.Marshal(props)
	if err != nil {
		return err
	}
	r.Properties = out
	return nil
}

func (p *Provider) renderApplicationGateway(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	var props map[string]any
	if err := decodeStored("properties", r.ID, orEmpty(r.Properties), &props); err != nil {
		return nil, err
	}
	return p.ApplicationGateways.Envelope(r, props), nil
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
	return p.WAFPolicies.Envelope(r, props), nil
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

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func intPtr(n int) *int { return &n }
