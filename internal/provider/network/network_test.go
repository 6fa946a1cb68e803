package network

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/logging"
	"github.com/localaks/localaks/internal/store"
)

const rg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"

func newProvider(t *testing.T) (*Provider, store.Store) {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return Register(Config{Store: st, Registry: arm.NewRegistry(), Log: logging.Discard()}), st
}

// save writes a resource through its type, in its own transaction.
func save(st store.Store, t *arm.Tracked, typ, name, props string, sku string) error {
	return st.Update(context.Background(), func(tx store.Tx) error {
		r := &store.Resource{ID: rg + typ + "/" + name, Type: "Microsoft.Network/" + typ, Name: name, Location: "eastus", Properties: json.RawMessage(props)}
		if sku != "" {
			r.SKU = json.RawMessage(sku)
		}
		existing, _ := tx.Get(r.ID)
		return t.Save(context.Background(), tx, nil, r, existing)
	})
}

func code(err error) string {
	var e *arm.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestVirtualNetworkRules(t *testing.T) {
	p, st := newProvider(t)
	for _, tt := range []struct {
		props, code string
	}{
		{`{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"a","properties":{"addressPrefix":"10.0.0.0/24"}}]}`, ""},
		{`{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"a","properties":{"addressPrefix":"10.1.0.0/24"}}]}`, "NetcfgSubnetRangeOutsideVnet"},
		{`{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"a","properties":{"addressPrefix":"10.0.0.0/24"}},{"name":"b","properties":{"addressPrefix":"10.0.0.128/25"}}]}`, "NetcfgSubnetRangesOverlap"},
		{`{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"subnets":[{"name":"a","properties":{"addressPrefix":"10.0.0.0/30"}}]}`, "InvalidSubnetPrefixLength"},
		{`{"addressSpace":{"addressPrefixes":["10.0.0.1/16"]}}`, "InvalidAddressPrefixFormat"},
		{`{"addressSpace":{"addressPrefixes":[]}}`, "AddressSpaceMissing"},
	} {
		if got := code(save(st, p.VirtualNetworks, "virtualNetworks", "v", tt.props, "")); got != tt.code {
			t.Errorf("%s: %q, want %q", tt.props, got, tt.code)
		}
	}
	// A PUT without "subnets" keeps the subnets.
	if err := save(st, p.VirtualNetworks, "virtualNetworks", "v", `{"addressSpace":{"addressPrefixes":["10.0.0.0/16","10.5.0.0/16"]}}`, ""); err != nil {
		t.Fatal(err)
	}
	var prefixes map[string]string
	st.View(context.Background(), func(tx store.Tx) error {
		m, err := p.SubnetPrefixes(tx, rg+"virtualNetworks/v")
		prefixes = map[string]string{}
		for k, v := range m {
			prefixes[k] = v.String()
		}
		return err
	})
	if prefixes["a"] != "10.0.0.0/24" {
		t.Errorf("subnets after a PUT without subnets: %v", prefixes)
	}
}

func TestSecurityRulesAndRouteTables(t *testing.T) {
	p, st := newProvider(t)
	rule := func(name string, prio int, dir string) string {
		return `{"name":"` + name + `","properties":{"protocol":"tcp","access":"Allow","direction":"` + dir + `","priority":` + itoa(prio) +
			`,"sourcePortRange":"*","destinationPortRange":"80","sourceAddressPrefix":"*","destinationAddressPrefix":"*"}}`
	}
	for _, tt := range []struct{ props, code string }{
		{`{"securityRules":[` + rule("a", 100, "Inbound") + `,` + rule("b", 100, "Outbound") + `]}`, ""},
		{`{"securityRules":[` + rule("a", 100, "Inbound") + `,` + rule("b", 100, "Inbound") + `]}`, "SecurityRuleConflict"},
		{`{"securityRules":[` + rule("a", 99, "Inbound") + `]}`, "SecurityRuleInvalidPriority"},
		{`{"securityRules":[` + rule("a", 200, "Sideways") + `]}`, "SecurityRuleInvalidDirection"},
	} {
		if got := code(save(st, p.NSGs, "networkSecurityGroups", "n", tt.props, "")); got != tt.code {
			t.Errorf("%s: %q, want %q", tt.props, got, tt.code)
		}
	}
	for _, tt := range []struct{ props, code string }{
		{`{"routes":[{"name":"r","properties":{"addressPrefix":"10.244.0.0/24","nextHopType":"VirtualAppliance","nextHopIpAddress":"10.0.0.4"}}]}`, ""},
		{`{"routes":[{"name":"r","properties":{"addressPrefix":"10.244.0.0/24","nextHopType":"VirtualAppliance"}}]}`, "InvalidRouteNextHopIpAddress"},
		{`{"routes":[{"name":"r","properties":{"addressPrefix":"10.244.0.0/24","nextHopType":"Teleport"}}]}`, "InvalidRouteNextHopType"},
	} {
		if got := code(save(st, p.RouteTables, "routeTables", "rt", tt.props, "")); got != tt.code {
			t.Errorf("%s: %q, want %q", tt.props, got, tt.code)
		}
	}
	// An NSG used by a subnet cannot be deleted.
	if err := save(st, p.VirtualNetworks, "virtualNetworks", "v", `{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},
		"subnets":[{"name":"a","properties":{"addressPrefix":"10.0.0.0/24","networkSecurityGroup":{"id":"`+rg+`networkSecurityGroups/n"}}}]}`, ""); err != nil {
		t.Fatal(err)
	}
	err := st.Update(context.Background(), func(tx store.Tx) error {
		r, _ := tx.Get(rg + "networkSecurityGroups/n")
		return p.NSGs.Remove(tx, r)
	})
	if code(err) != "InUseNetworkSecurityGroupCannotBeDeleted" {
		t.Errorf("delete used NSG: %v", err)
	}
}

func TestPublicIPsAndLoadBalancer(t *testing.T) {
	p, st := newProvider(t)
	for _, name := range []string{"pip1", "pip2"} {
		if err := save(st, p.PublicIPs, "publicIPAddresses", name, `{}`, `{"name":"Standard"}`); err != nil {
			t.Fatal(err)
		}
	}
	if got := code(save(st, p.PublicIPs, "publicIPAddresses", "dyn", `{"publicIPAllocationMethod":"Dynamic"}`, `{"name":"Standard"}`)); got != "StandardSkuPublicIPAddressesCannotBeDynamic" {
		t.Errorf("dynamic standard IP: %q", got)
	}
	var a1, a2 string
	st.View(context.Background(), func(tx store.Tx) error {
		a1, _ = p.PublicIPAddress(tx, rg+"publicIPAddresses/pip1")
		a2, _ = p.PublicIPAddress(tx, rg+"publicIPAddresses/pip2")
		return nil
	})
	if a1 == "" || a1 == a2 || !DefaultPublicIPPool.Contains(mustAddr(a1)) {
		t.Errorf("addresses %q, %q", a1, a2)
	}
	if got := code(save(st, p.PublicIPs, "publicIPAddresses", "l1", `{"dnsSettings":{"domainNameLabel":"myapp"}}`, "")); got != "" {
		t.Errorf("dns label: %v", got)
	}
	if got := code(save(st, p.PublicIPs, "publicIPAddresses", "l2", `{"dnsSettings":{"domainNameLabel":"myapp"}}`, "")); got != "DnsRecordInUse" {
		t.Errorf("duplicate dns label: %v", got)
	}
	lb := `{"frontendIPConfigurations":[{"name":"fe","properties":{"publicIPAddress":{"id":"` + rg + `publicIPAddresses/pip1"}}}],
		"backendAddressPools":[{"name":"be"}],"probes":[{"name":"p","properties":{"protocol":"Tcp","port":80}}],
		"loadBalancingRules":[{"name":"r","properties":{"frontendIPConfiguration":{"id":"` + rg + `loadBalancers/lb/frontendIPConfigurations/fe"},
		"backendAddressPool":{"id":"` + rg + `loadBalancers/lb/backendAddressPools/be"},"probe":{"id":"` + rg + `loadBalancers/lb/probes/p"},
		"protocol":"Tcp","frontendPort":80,"backendPort":80}}]}`
	if err := save(st, p.LoadBalancers, "loadBalancers", "lb", lb, `{"name":"Standard"}`); err != nil {
		t.Fatal(err)
	}
	// The public IP knows its user now, and cannot be deleted.
	err := st.Update(context.Background(), func(tx store.Tx) error {
		r, _ := tx.Get(rg + "publicIPAddresses/pip1")
		return p.PublicIPs.Remove(tx, r)
	})
	if code(err) != "PublicIPAddressCannotBeDeleted" {
		t.Errorf("delete used IP: %v", err)
	}
	bad := `{"frontendIPConfigurations":[{"name":"fe","properties":{"publicIPAddress":{"id":"` + rg + `publicIPAddresses/pip2"}}}],
		"loadBalancingRules":[{"name":"r","properties":{"frontendIPConfiguration":{"id":"` + rg + `loadBalancers/lb2/frontendIPConfigurations/nope"},"protocol":"Tcp","frontendPort":80,"backendPort":80}}]}`
	if got := code(save(st, p.LoadBalancers, "loadBalancers", "lb2", bad, `{"name":"Standard"}`)); got != "InvalidResourceReference" {
		t.Errorf("dangling rule reference: %q", got)
	}
	basic := `{"frontendIPConfigurations":[{"name":"fe","properties":{"publicIPAddress":{"id":"` + rg + `publicIPAddresses/pip2"}}}]}`
	if got := code(save(st, p.LoadBalancers, "loadBalancers", "lb3", basic, `{"name":"Basic"}`)); got != "LoadBalancerReferencesPublicIPAddressWithDifferentSku" {
		t.Errorf("basic load balancer with a standard IP: %q", got)
	}
	// Deleting the load balancer releases the IP.
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		r, _ := tx.Get(rg + "loadBalancers/lb")
		return p.LoadBalancers.Remove(tx, r)
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		r, _ := tx.Get(rg + "publicIPAddresses/pip1")
		return p.PublicIPs.Remove(tx, r)
	}); err != nil {
		t.Errorf("delete released IP: %v", err)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestUnmodelledPropertiesRoundTrip: properties localaks does not act on
// are stored as sent (azurerm sends privateEndpointVNetPolicies and a
// subnet's defaultOutboundAccess and reads them back), while read-only
// ones are still localaks's own.
func TestUnmodelledPropertiesRoundTrip(t *testing.T) {
	p, st := newProvider(t)
	props := `{"addressSpace":{"addressPrefixes":["10.0.0.0/16"]},"privateEndpointVNetPolicies":"Disabled","flowTimeoutInMinutes":10,
		"provisioningState":"Failed","subnets":[{"name":"a","properties":{"addressPrefix":"10.0.0.0/24","defaultOutboundAccess":false}}]}`
	if err := save(st, p.VirtualNetworks, "virtualNetworks", "v", props, ""); err != nil {
		t.Fatal(err)
	}
	st.View(context.Background(), func(tx store.Tx) error {
		r, err := tx.Get(rg + "virtualNetworks/v")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Policies          string `json:"privateEndpointVNetPolicies"`
			FlowTimeout       int    `json:"flowTimeoutInMinutes"`
			ProvisioningState string `json:"provisioningState"`
			Subnets           []struct {
				Properties struct {
					DefaultOutboundAccess *bool `json:"defaultOutboundAccess"`
				} `json:"properties"`
			} `json:"subnets"`
		}
		if err := json.Unmarshal(r.Properties, &got); err != nil {
			t.Fatal(err)
		}
		if got.Policies != "Disabled" || got.FlowTimeout != 10 || got.ProvisioningState != "Succeeded" {
			t.Errorf("virtual network properties = %s", r.Properties)
		}
		if len(got.Subnets) != 1 || got.Subnets[0].Properties.DefaultOutboundAccess == nil || *got.Subnets[0].Properties.DefaultOutboundAccess {
			t.Errorf("subnet properties = %s", r.Properties)
		}
		// GET renders them too.
		body, err := p.renderVirtualNetwork(tx, nil, r)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(body)
		var rendered struct {
			Properties struct {
				Policies string `json:"privateEndpointVNetPolicies"`
			} `json:"properties"`
		}
		if json.Unmarshal(raw, &rendered); rendered.Properties.Policies != "Disabled" {
			t.Errorf("rendered: %s", raw)
		}
		return nil
	})
}

func TestApplicationSecurityGroups(t *testing.T) {
	p, st := newProvider(t)
	if err := save(st, p.ApplicationSecurityGroups, "applicationSecurityGroups", "web", `{"provisioningState":"Failed"}`, ""); err != nil {
		t.Fatal(err)
	}
	if got := code(p.ApplicationSecurityGroups.ValidateName("-bad")); got != "InvalidResourceName" {
		t.Errorf("bad name: %q", got)
	}
	var first string
	for i := 0; i < 2; i++ { // a second PUT keeps the group's GUID
		if i == 1 {
			if err := save(st, p.ApplicationSecurityGroups, "applicationSecurityGroups", "web", `{}`, ""); err != nil {
				t.Fatal(err)
			}
		}
		st.View(context.Background(), func(tx store.Tx) error {
			r, err := tx.Get(rg + "applicationSecurityGroups/web")
			if err != nil {
				t.Fatal(err)
			}
			var got ApplicationSecurityGroupProperties
			if err := json.Unmarshal(r.Properties, &got); err != nil {
				t.Fatal(err)
			}
			if got.ProvisioningState != "Succeeded" || got.ResourceGUID == "" || (first != "" && got.ResourceGUID != first) {
				t.Errorf("properties = %s (first GUID %s)", r.Properties, first)
			}
			first = got.ResourceGUID
			return nil
		})
	}
}
