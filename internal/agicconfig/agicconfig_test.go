package agicconfig

import (
	"encoding/json"
	"strings"
	"testing"
)

const gwID = "/subscriptions/s/resourceGroups/MC_rg_c1_eastus/providers/Microsoft.Network/applicationGateways/gw"

func gateway() Gateway {
	return Gateway{ID: gwID, SubnetID: "/subscriptions/s/resourceGroups/MC/providers/Microsoft.Network/virtualNetworks/v/subnets/agw",
		PublicIPID: "/subscriptions/s/resourceGroups/MC/providers/Microsoft.Network/publicIPAddresses/gw-appgwpip"}
}

func names(cfg map[string]any, field string) []string {
	var out []string
	for _, v := range cfg[field].([]any) {
		out = append(out, v.(map[string]any)["name"].(string))
	}
	return out
}

// Without Ingresses the gateway has AGIC's defaults: port 80 to the empty
// default pool.
func TestDefaultConfig(t *testing.T) {
	cfg := Build(gateway(), nil)
	if got := strings.Join(names(cfg, "backendAddressPools"), ","); got != DefaultPoolName {
		t.Errorf("pools = %s", got)
	}
	if got := strings.Join(names(cfg, "frontendPorts"), ","); got != "fp-80" {
		t.Errorf("ports = %s", got)
	}
	l := names(cfg, "httpListeners")
	r := names(cfg, "requestRoutingRules")
	if len(l) != 1 || !strings.HasPrefix(l[0], "fl-") || len(l[0]) != 35 || len(r) != 1 || r[0] != "rr-"+strings.TrimPrefix(l[0], "fl-") {
		t.Errorf("listeners %v, rules %v", l, r)
	}
	if got := strings.Join(names(cfg, "probes"), ","); got != "defaultprobe-Http,defaultprobe-Https" {
		t.Errorf("probes = %s", got)
	}
}

// Two paths of one Ingress: a URL path map with a path rule each, pools
// of pod addresses named by AGIC's scheme.
func TestTwoPaths(t *testing.T) {
	api := &Backend{Namespace: "default", Service: "api", ServicePort: 80, TargetPort: 8080, Addresses: []string{"10.244.1.3", "10.244.0.2"}}
	web := &Backend{Namespace: "default", Service: "web", ServicePort: 80, TargetPort: 80, Addresses: []string{"10.244.0.7"}}
	cfg := Build(gateway(), []Rule{{Namespace: "default", Ingress: "shop", Paths: []Path{{Path: "/api/*", Backend: api}, {Path: "/web/*", Backend: web}}}})
	pools := cfg["backendAddressPools"].([]any)
	got := map[string]string{}
	for _, p := range pools {
		m := p.(map[string]any)
		b, _ := json.Marshal(m["properties"].(map[string]any)["backendAddresses"])
		got[m["name"].(string)] = string(b)
	}
	if got["pool-default-api-80-bp-8080"] != `[{"ipAddress":"10.244.0.2"},{"ipAddress":"10.244.1.3"}]` || got["pool-default-web-80-bp-80"] != `[{"ipAddress":"10.244.0.7"}]` {
		t.Errorf("pools = %v", got)
	}
	if s := strings.Join(names(cfg, "backendHttpSettingsCollection"), ","); s != "bp-default-api-80-8080-shop,bp-default-web-80-80-shop,defaulthttpsetting" {
		t.Errorf("settings = %s", s)
	}
	maps := cfg["urlPathMaps"].([]any)
	if len(maps) != 1 {
		t.Fatalf("url path maps = %v", maps)
	}
	um := maps[0].(map[string]any)
	rules := um["properties"].(map[string]any)["pathRules"].([]any)
	var prs []string
	for _, r := range rules {
		prs = append(prs, r.(map[string]any)["name"].(string))
	}
	if strings.Join(prs, ",") != "pr-default-shop-rule-0-path-0,pr-default-shop-rule-0-path-1" || !strings.HasPrefix(um["name"].(string), "url-") {
		t.Errorf("path map %v with rules %v", um["name"], prs)
	}
	rr := cfg["requestRoutingRules"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	if rr["ruleType"] != "PathBasedRouting" || rr["priority"] != firstPriority {
		t.Errorf("routing rule = %v", rr)
	}
}

// A host gets its own listener, before the catch-all; TLS adds port 443
// and the certificate; ssl-redirect a redirect from 80.
func TestHostsAndTLS(t *testing.T) {
	web := &Backend{Namespace: "shop", Service: "web", ServicePort: 80, TargetPort: 80}
	gw := gateway()
	gw.Certificates = map[string]Certificate{"shop/tls": {PFXBase64: "UEZY"}}
	cfg := Build(gw, []Rule{
		{Namespace: "shop", Ingress: "a", Host: "shop.example.com", Paths: []Path{{Path: "/", Backend: web}}, TLSSecret: "tls", SSLRedirect: true},
		{Namespace: "shop", Ingress: "b", Index: 0, Paths: []Path{{Path: "/", Backend: web}}},
	})
	if got := strings.Join(names(cfg, "frontendPorts"), ","); got != "fp-80,fp-443" {
		t.Errorf("ports = %s", got)
	}
	ls := cfg["httpListeners"].([]any)
	if len(ls) != 3 {
		t.Fatalf("%d listeners", len(ls))
	}
	first := ls[0].(map[string]any)["properties"].(map[string]any)
	if first["hostName"] == nil {
		t.Errorf("first listener is the catch-all: %v", first)
	}
	if got := strings.Join(names(cfg, "sslCertificates"), ","); got != "cert-shop-tls" {
		t.Errorf("certificates = %s", got)
	}
	if len(cfg["redirectConfigurations"].([]any)) != 1 {
		t.Errorf("redirects = %v", cfg["redirectConfigurations"])
	}
	if ListenerName(443, "shop.example.com", false) == ListenerName(80, "shop.example.com", false) {
		t.Error("listener names ignore the port")
	}
}

func TestName(t *testing.T) {
	long := "bp-" + strings.Repeat("x", 100)
	if n := Name(long); len(n) != 80 || n == Name(long+"y") {
		t.Errorf("Name(long) = %q", n)
	}
	if Name("short") != "short" {
		t.Error("short names change")
	}
}
