package network

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/store"
)

// gateway is a minimal AGIC-shaped configuration: one listener, one rule,
// one pool, one setting, one probe; change() edits its properties JSON.
func gateway(change func(string) string) string {
	gw := rg + "applicationGateways/gw/"
	s := `{"sku":{"name":"Standard_v2","tier":"Standard_v2","capacity":2},
	"gatewayIPConfigurations":[{"name":"appGatewayIpConfig","properties":{"subnet":{"id":"` + rg + `virtualNetworks/v/subnets/agw"}}}],
	"frontendIPConfigurations":[{"name":"appGatewayFrontendIP","properties":{"publicIPAddress":{"id":"` + rg + `publicIPAddresses/gw-pip"}}}],
	"frontendPorts":[{"name":"fp-80","properties":{"port":80}}],
	"backendAddressPools":[{"name":"pool-default-web-80-bp-80","properties":{"backendAddresses":[{"ipAddress":"10.244.0.5"}]}}],
	"probes":[{"name":"pb-default-web-80-web","properties":{"protocol":"Http","host":"localhost","path":"/","interval":30,"timeout":30,"unhealthyThreshold":3}}],
	"backendHttpSettingsCollection":[{"name":"bp-default-web-80-80-web","properties":{"port":80,"protocol":"Http","probe":{"id":"` + gw + `probes/pb-default-web-80-web"}}}],
	"httpListeners":[{"name":"fl-abc","properties":{"frontendIPConfiguration":{"id":"` + gw + `frontendIPConfigurations/appGatewayFrontendIP"},"frontendPort":{"id":"` + gw + `frontendPorts/fp-80"},"protocol":"Http"}}],
	"requestRoutingRules":[{"name":"rr-abc","properties":{"ruleType":"Basic","priority":19500,"httpListener":{"id":"` + gw + `httpListeners/fl-abc"},
		"backendAddressPool":{"id":"` + gw + `backendAddressPools/pool-default-web-80-bp-80"},"backendHttpSettings":{"id":"` + gw + `backendHttpSettingsCollection/bp-default-web-80-80-web"}}}]}`
	if change != nil {
		s = change(s)
	}
	return s
}

func TestApplicationGateway(t *testing.T) {
	p, st := newProvider(t)
	if err := save(st, p.VirtualNetworks, "virtualNetworks", "v", `{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"agw","properties":{"addressPrefix":"10.0.1.0/24"}}]}`, ""); err != nil {
		t.Fatal(err)
	}
	if err := save(st, p.PublicIPs, "publicIPAddresses", "gw-pip", `{"publicIPAllocationMethod":"Static"}`, `{"name":"Standard"}`); err != nil {
		t.Fatal(err)
	}
	if err := save(st, p.PublicIPs, "publicIPAddresses", "basic-pip", `{"publicIPAllocationMethod":"Dynamic"}`, `{"name":"Basic"}`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, props, code string
	}{
		{"unknown listener", gateway(func(s string) string { return strings.Replace(s, `httpListeners/fl-abc"}`, `httpListeners/nope"}`, 1) }), "InvalidResourceReference"},
		{"unknown probe", gateway(func(s string) string { return strings.Replace(s, `probes/pb-default-web-80-web"}`, `probes/x"}`, 1) }), "InvalidResourceReference"},
		{"v1 SKU", gateway(func(s string) string { return strings.ReplaceAll(s, "Standard_v2", "Standard_Medium") }), "ApplicationGatewaySkuNameInvalid"},
		{"Basic public IP", gateway(func(s string) string { return strings.Replace(s, "gw-pip", "basic-pip", 1) }), "ApplicationGatewayV2SkuMustHaveStandardPublicIP"},
		{"no gateway IP configuration", gateway(func(s string) string {
			return strings.Replace(s, `"gatewayIPConfigurations":[{"name":"appGatewayIpConfig","properties":{"subnet":{"id":"`+rg+`virtualNetworks/v/subnets/agw"}}}],`, "", 1)
		}), "ApplicationGatewayMustHaveOneGatewayIPConfiguration"},
		{"ok", gateway(nil), ""},
	} {
		if got := code(save(st, p.ApplicationGateways, "applicationGateways", "gw", tt.props, "")); got != tt.code {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.code)
		}
	}
	var gw map[string]any
	st.View(context.Background(), func(tx store.Tx) error {
		r, err := tx.Get(rg + "applicationGateways/gw")
		if err == nil {
			json.Unmarshal(r.Properties, &gw)
		}
		return err
	})
	if gw["operationalState"] != "Running" || gw["provisioningState"] != "Succeeded" || gw["resourceGuid"] == "" {
		t.Errorf("gateway = %v", gw)
	}
	l := gw["httpListeners"].([]any)[0].(map[string]any)
	if l["id"] != rg+"applicationGateways/gw/httpListeners/fl-abc" || l["type"] != "Microsoft.Network/applicationGateways/httpListeners" {
		t.Errorf("listener = %v", l)
	}
	// The public IP is in use; the subnet holds only gateways.
	var pip PublicIPProperties
	st.View(context.Background(), func(tx store.Tx) error {
		r, _ := tx.Get(rg + "publicIPAddresses/gw-pip")
		json.Unmarshal(r.Properties, &pip)
		return nil
	})
	if pip.IPConfiguration == nil || !strings.HasSuffix(pip.IPConfiguration.ID, "/frontendIPConfigurations/appGatewayFrontendIP") {
		t.Errorf("gateway public IP's user = %+v", pip.IPConfiguration)
	}
	// A second gateway may share the subnet.
	if err := save(st, p.PublicIPs, "publicIPAddresses", "gw2-pip", `{"publicIPAllocationMethod":"Static"}`, `{"name":"Standard"}`); err != nil {
		t.Fatal(err)
	}
	second := strings.ReplaceAll(strings.ReplaceAll(gateway(nil), "applicationGateways/gw/", "applicationGateways/gw2/"), "gw-pip", "gw2-pip")
	if err := save(st, p.ApplicationGateways, "applicationGateways", "gw2", second, ""); err != nil {
		t.Errorf("second gateway in the subnet: %v", err)
	}
}

func TestWAFPolicy(t *testing.T) {
	p, st := newProvider(t)
	if got := code(save(st, p.WAFPolicies, "ApplicationGatewayWebApplicationFirewallPolicies", "waf", `{"policySettings":{"mode":"Prevention"}}`, "")); got != "ApplicationGatewayFirewallPolicyManagedRuleSetsMissing" {
		t.Errorf("policy without rule sets: %q", got)
	}
	if err := save(st, p.WAFPolicies, "ApplicationGatewayWebApplicationFirewallPolicies", "waf",
		`{"policySettings":{"mode":"prevention"},"managedRules":{"managedRuleSets":[{"ruleSetType":"OWASP","ruleSetVersion":"3.2"}]}}`, ""); err != nil {
		t.Fatal(err)
	}
	var props map[string]any
	st.View(context.Background(), func(tx store.Tx) error {
		r, _ := tx.Get(rg + "ApplicationGatewayWebApplicationFirewallPolicies/waf")
		json.Unmarshal(r.Properties, &props)
		return nil
	})
	ps := props["policySettings"].(map[string]any)
	if ps["mode"] != "Prevention" || ps["state"] != "Enabled" || ps["maxRequestBodySizeInKb"] != float64(128) {
		t.Errorf("policy settings = %v", ps)
	}
}
