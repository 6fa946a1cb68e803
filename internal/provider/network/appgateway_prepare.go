package network

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/localaks/localaks/internal/arm"
)

// The steps of prepareApplicationGateway, in the order it runs them.

// decode reads the request's properties as JSON; no properties are an
// empty object.
func (gw *gatewayPreparation) decode() error {
	if err := json.Unmarshal(orEmpty(gw.r.Properties), &gw.props); err != nil {
		return arm.ErrInvalidRequestContent("properties: " + err.Error())
	}
	if gw.props == nil {
		gw.props = map[string]any{}
	}
	return nil
}

// validateSKU accepts the v2 SKUs and Basic (the v1 SKUs are retired),
// with a matching tier, and a capacity of 1 when neither a capacity nor
// autoscaling is given.
func (gw *gatewayPreparation) validateSKU() error {
	sku, ok := gw.props["sku"].(map[string]any)
	if !ok {
		return badRequest("ApplicationGatewaySkuMissing", "Application gateway %s must have a sku.", gw.r.Name)
	}
	s := &gw.sku
	raw, _ := json.Marshal(sku)
	if err := json.Unmarshal(raw, s); err != nil {
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
	if _, autoscale := gw.props["autoscaleConfiguration"]; s.Capacity == nil && !autoscale {
		s.Capacity = intPtr(1)
	}
	if s.Capacity != nil && (*s.Capacity < 0 || *s.Capacity > 125) {
		return badRequest("ApplicationGatewayInvalidCapacity", "Application gateway capacity %d is outside 0–125.", *s.Capacity)
	}
	gw.props["sku"] = *s
	return nil
}

// checkChildNames collects the items of each child array, rejecting
// non-objects and invalid or duplicate names, and records the names, which
// references between children are checked against.
func (gw *gatewayPreparation) checkChildNames() error {
	gw.children = map[string][]map[string]any{}
	gw.refs = childRefs{parentID: gw.r.ID, names: map[string]map[string]bool{}}
	names := gw.refs.names
	for _, field := range appGatewayChildren {
		arr, _ := gw.props[field].([]any)
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
				return badRequest("DuplicateResourceName", "Application gateway %s has two %s named %s.", gw.r.Name, field, name)
			}
			names[field][strings.ToLower(name)] = true
			items = append(items, item)
		}
		gw.children[field] = items
	}
	return nil
}

// requireOneGatewayIPConfiguration: a gateway sits in exactly one subnet
// (checkGatewaySubnet).
func (gw *gatewayPreparation) requireOneGatewayIPConfiguration() error {
	if n := len(gw.children["gatewayIPConfigurations"]); n != 1 {
		return badRequest("ApplicationGatewayMustHaveOneGatewayIPConfiguration",
			"Application gateway %s must have exactly one gateway IP configuration, it has %d.", gw.r.Name, n)
	}
	return nil
}

// checkReferences checks that the references between children
// (appGatewayRefs) name children of this gateway: listeners' frontends,
// ports and certificates, rules' listeners, pools and settings, and so on.
func (gw *gatewayPreparation) checkReferences() error {
	for field, refs := range appGatewayRefs {
		for _, item := range gw.children[field] {
			owner := gw.r.ID + "/" + field + "/" + childName(item)
			cp := childProperties(item)
			for key, target := range refs {
				if id, ok := refID(cp, key); ok {
					if err := gw.refs.check(owner, &SubResource{ID: id}, target); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// preparePathRules checks the path rules of each URL path map: a valid
// name, at least one path, and references (pathRuleRefs) to children of
// this gateway; each gets its ID, type and state.
func (gw *gatewayPreparation) preparePathRules() error {
	for _, m := range gw.children["urlPathMaps"] {
		mp := childProperties(m)
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
			owner := gw.r.ID + "/urlPathMaps/" + childName(m) + "/pathRules/" + name
			pp := childProperties(pr)
			if paths, _ := pp["paths"].([]any); len(paths) == 0 {
				return badRequest("ApplicationGatewayPathRuleMustHavePaths", "Path rule %s has no paths.", owner)
			}
			for key, target := range pathRuleRefs {
				if id, ok := refID(pp, key); ok {
					if err := gw.refs.check(owner, &SubResource{ID: id}, target); err != nil {
						return err
					}
				}
			}
			pr["id"], pr["type"] = owner, ApplicationGatewayType+"/urlPathMaps/pathRules"
			pp["provisioningState"] = "Succeeded"
		}
	}
	return nil
}

// prepareRoutingRules: a listener each; v2 SKUs need unique priorities
// from api-version 2021-08-01.
func (gw *gatewayPreparation) prepareRoutingRules() error {
	priorities := map[float64]string{}
	for _, rr := range gw.children["requestRoutingRules"] {
		cp := childProperties(rr)
		owner := gw.r.ID + "/requestRoutingRules/" + childName(rr)
		if _, ok := refID(cp, "httpListener"); !ok {
			return badRequest("ApplicationGatewayRequestRoutingRuleMustReferenceListener", "Request routing rule %s must reference an HTTP listener.", owner)
		}
		if cp["ruleType"] == nil {
			cp["ruleType"] = "Basic"
		}
		prio, hasPrio := cp["priority"].(float64)
		if !hasPrio && gw.req != nil && gw.req.APIVersion >= "2021-08-01" && gw.sku.Name != "Basic" {
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
	return nil
}

// checkGatewaySubnet: the gateway's subnet must exist, and hold nothing
// but gateways.
func (gw *gatewayPreparation) checkGatewaySubnet() error {
	gip := childProperties(gw.children["gatewayIPConfigurations"][0])
	subnet, ok := refID(gip, "subnet")
	if !ok {
		return badRequest("ApplicationGatewayGatewayIPConfigurationMustReferenceSubnet", "The gateway IP configuration of %s must reference a subnet.", gw.r.Name)
	}
	if _, _, err := gw.p.Subnet(gw.tx, subnet); err != nil {
		return err
	}
	users, err := gw.p.SubnetUsers(gw.tx, subnet)
	if err != nil {
		return err
	}
	for _, u := range users {
		// Other application gateways may share the subnet; nothing else.
		if strings.Contains(strings.ToLower(u), "/providers/microsoft.network/applicationgateways/") {
			continue
		}
		return badRequest("ApplicationGatewaySubnetCannotBeUsedByOtherResources",
			"Subnet %s cannot be used for application gateway %s since it is already used by %s.", subnet, gw.r.ID, u)
	}
	return nil
}

// prepareFrontends: a public frontend's IP must exist and, but on the
// Basic SKU, be a Standard one; it is noted in usedPIPs for
// assignPublicIPs. A private frontend is allocated dynamically unless the
// request says otherwise.
func (gw *gatewayPreparation) prepareFrontends() error {
	gw.usedPIPs = map[string]string{}
	for _, f := range gw.children["frontendIPConfigurations"] {
		cp := childProperties(f)
		owner := gw.r.ID + "/frontendIPConfigurations/" + childName(f)
		if pip, ok := refID(cp, "publicIPAddress"); ok {
			rec, err := gw.tx.Get(pip)
			if err != nil {
				return badRequest("InvalidResourceReference",
					"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", pip, owner)
			}
			var pipSKU SKU
			if err := decodeStored("sku", rec.ID, rec.SKU, &pipSKU); err != nil {
				return err
			}
			if gw.sku.Name != "Basic" && !strings.EqualFold(pipSKU.Name, "Standard") {
				return badRequest("ApplicationGatewayV2SkuMustHaveStandardPublicIP", "Application gateway %s (%s) needs a Standard public IP, %s is %s.", gw.r.Name, gw.sku.Name, pip, pipSKU.Name)
			}
			gw.usedPIPs[strings.ToLower(pip)] = owner
		} else if _, ok := refID(cp, "subnet"); ok {
			if cp["privateIPAllocationMethod"] == nil {
				cp["privateIPAllocationMethod"] = "Dynamic"
			}
		}
	}
	return nil
}

// prepareFirewall checks that a referenced WAF policy exists; a WAF_v2
// gateway with neither a policy nor a WAF configuration gets Azure's
// default configuration, disabled.
func (gw *gatewayPreparation) prepareFirewall() error {
	if fp, ok := gw.props["firewallPolicy"].(map[string]any); ok {
		if id, _ := fp["id"].(string); id != "" {
			if _, err := gw.tx.Get(id); err != nil {
				return badRequest("InvalidResourceReference", "Firewall policy %s referenced by application gateway %s was not found.", id, gw.r.ID)
			}
		}
	}
	if gw.sku.Name == "WAF_v2" && gw.props["webApplicationFirewallConfiguration"] == nil && gw.props["firewallPolicy"] == nil {
		gw.props["webApplicationFirewallConfiguration"] = map[string]any{"enabled": false, "firewallMode": "Detection",
			"ruleSetType": "OWASP", "ruleSetVersion": "3.2", "disabledRuleGroups": []any{}, "requestBodyCheck": true,
			"maxRequestBodySizeInKb": 128, "fileUploadLimitInMb": 100}
	}
	return nil
}

// stampChildren gives the children their IDs, types and states. An array
// the request sent stays, even when empty; one it left out stays out.
func (gw *gatewayPreparation) stampChildren() error {
	for _, field := range appGatewayChildren {
		arr := make([]any, 0, len(gw.children[field]))
		for _, item := range gw.children[field] {
			item["id"] = gw.r.ID + "/" + field + "/" + childName(item)
			item["type"] = ApplicationGatewayType + "/" + childSingular(field)
			childProperties(item)["provisioningState"] = "Succeeded"
			arr = append(arr, item)
		}
		if len(arr) > 0 || gw.props[field] != nil {
			gw.props[field] = arr
		}
	}
	return nil
}

// recallPrevious reads what the gateway was: its resourceGuid stays, and
// the public IPs its frontends used are released unless still used
// (assignPublicIPs).
func (gw *gatewayPreparation) recallPrevious() error {
	if gw.existing == nil {
		return nil
	}
	var old map[string]any
	if err := decodeStored("properties", gw.existing.ID, gw.existing.Properties, &old); err != nil {
		return err
	}
	gw.guidOld, _ = old["resourceGuid"].(string)
	for _, v := range asList(old["frontendIPConfigurations"]) {
		if pip, ok := refID(asMap(asMap(v)["properties"]), "publicIPAddress"); ok {
			gw.oldPIPs = append(gw.oldPIPs, pip)
		}
	}
	return nil
}

// assignPublicIPs releases the public IPs no longer used, and makes each
// public frontend the user of its IP.
func (gw *gatewayPreparation) assignPublicIPs() error {
	for _, pip := range gw.oldPIPs {
		if _, still := gw.usedPIPs[strings.ToLower(pip)]; !still {
			if err := gw.p.setPublicIPUser(gw.tx, pip, "", false); err != nil {
				return err
			}
		}
	}
	for pip, owner := range gw.usedPIPs {
		if err := gw.p.setPublicIPUser(gw.tx, pip, owner, false); err != nil {
			return err
		}
	}
	return nil
}

// store writes the gateway's properties with its own state.
func (gw *gatewayPreparation) store() error {
	gw.props["provisioningState"] = "Succeeded"
	gw.props["operationalState"] = "Running"
	gw.props["resourceGuid"] = guid(gw.guidOld)
	out, err := json.Marshal(gw.props)
	if err != nil {
		return err
	}
	gw.r.Properties = out
	return nil
}
