package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// until checks cond until it holds, failing the test after timeout.
func until(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v", timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitServiceIP waits (watching, through kubectl wait) until the Service
// has a load balancer address and returns it.
func waitServiceIP(t *testing.T, kc, svc string, ns ...string) string {
	t.Helper()
	args := append([]string{"wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}", "service/" + svc, "--timeout=60s"}, nsArgs(ns)...)
	mustKubectl(t, kc, args...)
	return mustKubectl(t, kc, append([]string{"get", "service", svc, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"}, nsArgs(ns)...)...)
}

func nsArgs(ns []string) []string {
	if len(ns) == 0 {
		return nil
	}
	return []string{"-n", ns[0]}
}

type lbView struct {
	Name                     string
	FrontendIPConfigurations []struct {
		Name       string
		Properties struct {
			PrivateIPAddress string
			PublicIPAddress  struct{ ID string }
			Subnet           struct{ ID string }
		}
	}
	LoadBalancingRules []struct {
		Name       string
		Properties struct {
			FrontendPort, BackendPort, IdleTimeoutInMinutes int
			EnableFloatingIP, EnableTCPReset                bool
			Probe                                           struct{ ID string }
		}
	}
	Probes []struct {
		Name       string
		Properties struct {
			Protocol    string
			Port        int
			RequestPath string
		}
	}
	BackendAddressPools []struct {
		Name       string
		Properties struct {
			BackendIPConfigurations []struct{ ID string }
		}
	}
}

// loadBalancer reads a load balancer as ARM returns it (az network lb show
// is broken client-side in Debian's az 2.45; az resource show is not).
func (s *serve) loadBalancer(t *testing.T, rg, name string) (lbView, bool) {
	t.Helper()
	r := s.localaksAz("resource", "show", "-g", rg, "-n", name, "--resource-type", "Microsoft.Network/loadBalancers", "--api-version", "2024-05-01")
	if r.code != 0 {
		return lbView{}, false
	}
	var lb struct {
		Name       string
		Properties lbView
	}
	r.json(t, &lb)
	lb.Properties.Name = lb.Name
	return lb.Properties, true
}

// TestAzServiceLoadBalancer: Services of type LoadBalancer change the node
// resource group as cloud-provider-azure does, and get their address.
func TestAzServiceLoadBalancer(t *testing.T) {
	t.Parallel()
	needAz(t)
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	mustAz(t, s.localaksAz("group", "create", "-n", "ips", "-l", "eastus"))
	kc := s.smallCluster(t, "svc")
	mrg := "MC_svc_c1_eastus"
	mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx", "--replicas=2")

	// A public Service: frontend, rule, probe, public IP, NSG rule.
	mustKubectl(t, kc, "expose", "deployment", "web", "--port=80", "--type=LoadBalancer")
	ip := waitServiceIP(t, kc, "web")
	uid := strings.ReplaceAll(mustKubectl(t, kc, "get", "svc", "web", "-o", "jsonpath={.metadata.uid}"), "-", "")
	base := ("a" + uid)[:32]
	nodePort := mustKubectl(t, kc, "get", "svc", "web", "-o", "jsonpath={.spec.ports[0].nodePort}")
	lb, ok := s.loadBalancer(t, mrg, "kubernetes")
	if !ok {
		t.Fatal("no kubernetes load balancer")
	}
	var fe []string
	for _, f := range lb.FrontendIPConfigurations {
		fe = append(fe, f.Name)
	}
	if !slices.Contains(fe, base) || len(lb.LoadBalancingRules) != 1 || len(lb.Probes) != 1 {
		t.Fatalf("load balancer: frontends %v, %d rules, %d probes", fe, len(lb.LoadBalancingRules), len(lb.Probes))
	}
	rule := lb.LoadBalancingRules[0]
	if rule.Name != base+"-TCP-80" || rule.Properties.FrontendPort != 80 || rule.Properties.BackendPort != 80 || !rule.Properties.EnableFloatingIP ||
		!rule.Properties.EnableTCPReset || rule.Properties.IdleTimeoutInMinutes != 4 || !strings.HasSuffix(rule.Properties.Probe.ID, "/probes/"+base+"-TCP-80") {
		t.Errorf("rule = %+v", rule)
	}
	if p := lb.Probes[0]; p.Properties.Protocol != "Tcp" || nodePort == "" || p.Properties.Port == 0 {
		t.Errorf("probe = %+v (node port %s)", p, nodePort)
	}
	var pips []struct {
		Name, IPAddress string
		Tags            map[string]string
	}
	mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", mrg)).json(t, &pips)
	found := false
	for _, p := range pips {
		if p.Name == "kubernetes-"+base {
			found = true
			if p.IPAddress != ip || p.Tags["k8s-azure-service"] != "default/web" || p.Tags["k8s-azure-cluster-name"] != "kubernetes" {
				t.Errorf("service public IP = %+v, Service has %s", p, ip)
			}
		}
	}
	if !found {
		t.Errorf("no public IP kubernetes-%s in %+v", base, pips)
	}
	nsg := strings.TrimSpace(mustAz(t, s.localaksAz("network", "nsg", "list", "-g", mrg, "--query", "[0].name", "-o", "tsv")).stdout)
	var rules []struct {
		Name                       string
		DestinationAddressPrefixes []string
		DestinationPortRanges      []string
		SourceAddressPrefixes      []string
		Priority                   int
	}
	mustAz(t, s.localaksAz("network", "nsg", "rule", "list", "-g", mrg, "--nsg-name", nsg)).json(t, &rules)
	if len(rules) != 1 || !strings.HasPrefix(rules[0].Name, "k8s-azure-lb_allow_IPv4_") || !slices.Equal(rules[0].DestinationAddressPrefixes, []string{ip}) ||
		!slices.Equal(rules[0].DestinationPortRanges, []string{"80"}) || !slices.Equal(rules[0].SourceAddressPrefixes, []string{"Internet"}) || rules[0].Priority != 500 {
		t.Errorf("NSG rules = %+v", rules)
	}

	// Annotations: an internal Service gets a private frontend on
	// kubernetes-internal; a named IP with a DNS label; a user's IP in
	// another group; a bad annotation is a Warning event.
	pipIP := strings.TrimSpace(mustAz(t, s.localaksAz("network", "public-ip", "create", "-g", "ips", "-n", "mine", "--sku", "Standard",
		"--allocation-method", "Static", "--query", "publicIp.ipAddress", "-o", "tsv")).stdout)
	manifest := filepath.Join(t.TempDir(), "svcs.yaml")
	os.WriteFile(manifest, []byte(`
apiVersion: v1
kind: Service
metadata:
  name: private
  annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "true"}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 8080, targetPort: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: named
  annotations:
    service.beta.kubernetes.io/azure-pip-name: web-ip
    service.beta.kubernetes.io/azure-dns-label-name: localaks-web
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443, targetPort: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: byo
  annotations:
    service.beta.kubernetes.io/azure-load-balancer-resource-group: ips
    service.beta.kubernetes.io/azure-load-balancer-ipv4: "`+pipIP+`"
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 81, targetPort: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: bad
  annotations: {service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout: "2"}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 82, targetPort: 80}]}
`), 0o644)
	mustKubectl(t, kc, "apply", "-f", manifest)
	private := waitServiceIP(t, kc, "private")
	if !strings.HasPrefix(private, "10.224.") {
		t.Errorf("internal Service address %s is not in the node subnet", private)
	}
	ilb, ok := s.loadBalancer(t, mrg, "kubernetes-internal")
	if !ok || len(ilb.FrontendIPConfigurations) != 1 || ilb.FrontendIPConfigurations[0].Properties.PrivateIPAddress != private ||
		!strings.HasSuffix(ilb.FrontendIPConfigurations[0].Properties.Subnet.ID, "/subnets/aks-subnet") {
		t.Errorf("internal load balancer = %+v", ilb)
	}
	// A public Service turned internal loses its public IP.
	mustKubectl(t, kc, "expose", "deployment", "web", "--name=flip", "--port=8082", "--target-port=80", "--type=LoadBalancer")
	waitServiceIP(t, kc, "flip")
	mustKubectl(t, kc, "annotate", "svc", "flip", "service.beta.kubernetes.io/azure-load-balancer-internal=true")
	until(t, 60*time.Second, func() bool {
		ip := mustKubectl(t, kc, "get", "svc", "flip", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
		var tags []string
		mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", mrg, "--query", "[].tags.\"k8s-azure-service\"")).json(t, &tags)
		return strings.HasPrefix(ip, "10.224.") && !slices.Contains(tags, "default/flip")
	})
	mustKubectl(t, kc, "delete", "svc", "flip", "--wait=true", "--timeout=60s")
	// Its pool holds the nodes' NICs (the scale set model took the pool and
	// the instances were upgraded to it), and keeps them across a scale.
	ilbMembers := func() int {
		ilb, _ := s.loadBalancer(t, mrg, "kubernetes-internal")
		if len(ilb.BackendAddressPools) != 1 {
			return -1
		}
		return len(ilb.BackendAddressPools[0].Properties.BackendIPConfigurations)
	}
	if n := ilbMembers(); n != 2 {
		t.Errorf("kubernetes-internal pool has %d members, want the 2 nodes", n)
	}
	mustAz(t, s.localaksAz("aks", "scale", "-g", "svc", "-n", "c1", "--node-count", "3"))
	if n := ilbMembers(); n != 3 {
		t.Errorf("after scaling to 3, kubernetes-internal pool has %d members", n)
	}
	named := waitServiceIP(t, kc, "named")
	var pip struct {
		IPAddress   string
		DNSSettings struct{ Fqdn, DomainNameLabel string }
	}
	// (az network public-ip show is broken client-side in Debian's az 2.45.)
	mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", mrg, "--query", "[?name=='web-ip'] | [0]")).json(t, &pip)
	if pip.IPAddress != named || pip.DNSSettings.DomainNameLabel != "localaks-web" || pip.DNSSettings.Fqdn != "localaks-web.eastus.cloudapp.azure.com" {
		t.Errorf("named public IP = %+v, Service has %s", pip, named)
	}
	// As on AKS, the cluster identity may use an IP in another group only
	// with a role there (until then the Service's events say
	// AuthorizationFailed).
	principal := strings.TrimSpace(mustAz(t, s.localaksAz("aks", "show", "-g", "svc", "-n", "c1", "--query", "identity.principalId", "-o", "tsv")).stdout)
	s.grant(t, s.sub()+"/resourceGroups/ips", networkContributorRole, principal)
	if got := waitServiceIP(t, kc, "byo"); got != pipIP {
		t.Errorf("Service with a user's IP got %s, want %s", got, pipIP)
	}
	var msg string
	until(t, 60*time.Second, func() bool {
		msg = mustKubectl(t, kc, "get", "events", "--field-selector=involvedObject.name=bad,reason=SyncLoadBalancerFailed", "-o", "jsonpath={.items[*].message}")
		return msg != ""
	})
	if !strings.Contains(msg, "idle timeout value must be a whole number representing minutes between 4 and 100") {
		t.Errorf("bad annotation event: %q", msg)
	}

	// The portal draws the public Service: its IP → frontend → rule → the
	// node pool; a browser renders the picture.
	clusterID := s.sub() + "/resourceGroups/svc/providers/Microsoft.ContainerService/managedClusters/c1"
	network := lower(s.sub() + "/resourceGroups/" + mrg + "/providers/Microsoft.Network/")
	pipID, feID := network+"publicipaddresses/kubernetes-"+base, network+"loadbalancers/kubernetes/frontendipconfigurations/"+base
	ruleID := network + "loadbalancers/kubernetes/loadbalancingrules/" + base + "-tcp-80"
	edges := s.portalEdges(t, clusterID)
	toPool := false
	for e := range edges {
		toPool = toPool || (strings.HasPrefix(e, ruleID+"→") && strings.Contains(e, "/virtualmachinescalesets/"))
	}
	if !edges[pipID+"→"+feID] || !edges[feID+"→"+ruleID] || !toPool {
		t.Errorf("portal picture lacks the Service's path (%v %v %v): %v", edges[pipID+"→"+feID], edges[feID+"→"+ruleID], toPool, edges)
	}
	// The picture names the Service on what it became (read through the
	// API server) and the pods on their nodes.
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")
	webPods := pods(t, kc, "-l", "app=web")
	s.portalUntil(t, clusterID, 60*time.Second, func(p portalPicture) bool {
		for _, id := range []string{pipID, feID, ruleID} {
			if !strings.Contains(p.Boxes[id].Kube, "Service default/web") {
				return false
			}
		}
		for _, pod := range webPods {
			found := false
			for _, b := range p.Boxes {
				found = found || b.Kind == "node" && strings.Contains(b.Pods, "default/"+pod.Metadata.Name+" · Running · "+pod.Status.PodIP)
			}
			if !found {
				return false
			}
		}
		return strings.HasPrefix(p.Kube, "Kubernetes: ") && strings.Contains(p.Kube, "LoadBalancer Services")
	})
	s.screenshotPortal(t, clusterID)

	// A restart of serve loses nothing: the Service keeps its address and
	// a Service made afterwards is served.
	s.kill(syscall.SIGKILL)
	s = startServe(t, dataDir)
	untilAPI(t, kc)
	if got := mustKubectl(t, kc, "get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"); got != ip {
		t.Errorf("after restart web has %q, had %s", got, ip)
	}
	mustKubectl(t, kc, "expose", "deployment", "web", "--name=later", "--port=8081", "--target-port=80", "--type=LoadBalancer")
	waitServiceIP(t, kc, "later")

	// Deleting Services removes what they had; the user's IP stays.
	mustKubectl(t, kc, "delete", "svc", "web", "private", "named", "byo", "bad", "later", "--wait=true", "--timeout=60s")
	lb, _ = s.loadBalancer(t, mrg, "kubernetes")
	if len(lb.FrontendIPConfigurations) != 1 || len(lb.LoadBalancingRules) != 0 || len(lb.Probes) != 0 {
		t.Errorf("after delete: %d frontends (the outbound one only), %d rules, %d probes", len(lb.FrontendIPConfigurations), len(lb.LoadBalancingRules), len(lb.Probes))
	}
	if _, ok := s.loadBalancer(t, mrg, "kubernetes-internal"); ok {
		t.Error("kubernetes-internal left without Services")
	}
	var names []string
	mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", mrg, "--query", "[].name")).json(t, &names)
	if len(names) != 1 {
		t.Errorf("public IPs left in %s: %v (want the outbound one)", mrg, names)
	}
	var mine []string
	mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", "ips", "--query", "[].name")).json(t, &mine)
	if !slices.Equal(mine, []string{"mine"}) {
		t.Errorf("the user's public IPs after delete: %v", mine)
	}
	var left []json.RawMessage
	mustAz(t, s.localaksAz("network", "nsg", "rule", "list", "-g", mrg, "--nsg-name", nsg)).json(t, &left)
	if len(left) != 0 {
		t.Errorf("NSG rules left: %s", left)
	}
}

// TestAppRouting: the application routing add-on, enabled through the
// REST API (az 2.45 has no approuting commands): the nginx controller and
// its LoadBalancer Service, the IngressClass, Ingress status, the add-on
// identity; disabling removes them.
func TestAppRouting(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	kc := s.smallCluster(t, "ar")
	cluster := s.sub() + "/resourceGroups/ar/providers/Microsoft.ContainerService/managedClusters/c1"
	setAppRouting := func(on bool) map[string]any { return s.setAppRouting(t, cluster, on) }
	war := setAppRouting(true)
	ident, _ := war["identity"].(map[string]any)
	if ident == nil || !strings.HasSuffix(ident["resourceId"].(string), "/resourcegroups/MC_ar_c1_eastus/providers/Microsoft.ManagedIdentity/userAssignedIdentities/webapprouting-c1") ||
		war["nginx"].(map[string]any)["defaultIngressControllerType"] != "AnnotationControlled" {
		t.Errorf("webAppRouting = %v", war)
	}
	if got := mustKubectl(t, kc, "get", "ingressclass", "webapprouting.kubernetes.azure.com", "-o", "jsonpath={.spec.controller}"); got != "approuting.kubernetes.azure.com/nginx" {
		t.Errorf("IngressClass controller = %q", got)
	}
	mustKubectl(t, kc, "rollout", "status", "-n", "app-routing-system", "deployment/nginx", "--timeout=60s")
	nginx := waitServiceIP(t, kc, "nginx", "app-routing-system")
	mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx")
	mustKubectl(t, kc, "expose", "deployment", "web", "--port=80")
	mustKubectl(t, kc, "create", "ingress", "web", "--class=webapprouting.kubernetes.azure.com", "--rule=/*=web:80")
	mustKubectl(t, kc, "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}="+nginx, "ingress/web", "--timeout=60s")

	setAppRouting(false)
	until(t, 60*time.Second, func() bool {
		return kubectl(t, kc, "get", "namespace", "app-routing-system").code != 0 && kubectl(t, kc, "get", "ingressclass", "webapprouting.kubernetes.azure.com").code != 0
	})
	var ids []string
	mustAz(t, s.localaksAz("identity", "list", "-g", "MC_ar_c1_eastus", "--query", "[].name")).json(t, &ids)
	if slices.Contains(ids, "webapprouting-c1") {
		t.Errorf("add-on identity left after disabling: %v", ids)
	}
}

// setAppRouting turns the cluster's application routing add-on on or off
// with a PUT of the cluster (az 2.45 has no approuting commands), waits for
// the operation, and returns the cluster's webAppRouting profile.
func (s *serve) setAppRouting(t *testing.T, cluster string, on bool) map[string]any {
	t.Helper()
	_, _, mc := s.request("GET", cluster+mcAPI, "")
	props := mc["properties"].(map[string]any)
	props["ingressProfile"] = map[string]any{"webAppRouting": map[string]any{"enabled": on}}
	body, _ := json.Marshal(map[string]any{"location": mc["location"], "identity": map[string]any{"type": "SystemAssigned"}, "properties": props})
	status, h, resp := s.request("PUT", cluster+mcAPI, string(body))
	if status != 200 {
		t.Fatalf("PUT with app routing %v: %d %v", on, status, resp)
	}
	if st := s.waitOperation(h.Get("Azure-AsyncOperation")); st != "Succeeded" {
		t.Fatalf("app routing %v: %s", on, st)
	}
	_, _, mc = s.request("GET", cluster+mcAPI, "")
	return mc["properties"].(map[string]any)["ingressProfile"].(map[string]any)["webAppRouting"].(map[string]any)
}

// TestAzIngressApplicationGateway: az aks enable-addons -a ingress-appgw
// creates the gateway in the node resource group; an Ingress with two
// paths becomes listeners, a path map and pools of pod IPs; scaling the
// Deployment moves the pool; deleting the Ingress returns the gateway to
// AGIC's defaults.
func TestAzIngressApplicationGateway(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	kc := s.smallCluster(t, "ag")
	mrg := "MC_ag_c1_eastus"
	r := s.localaksAz("aks", "enable-addons", "-g", "ag", "-n", "c1", "-a", "ingress-appgw", "--appgw-name", "gw", "--appgw-subnet-cidr", "10.0.0.0/16")
	if r.code == 0 || !strings.Contains(r.stderr, "IngressAppGwAddonConfigInvalidSubnetCIDRNotContainedWithinVirtualNetwork") {
		t.Errorf("gateway subnet outside the VNet: exit %d, %s", r.code, r.stderr)
	}
	var mc struct {
		AddonProfiles map[string]struct {
			Enabled  bool
			Config   map[string]string
			Identity struct{ ResourceID string }
		}
	}
	mustAz(t, s.localaksAz("aks", "enable-addons", "-g", "ag", "-n", "c1", "-a", "ingress-appgw", "--appgw-name", "gw", "--appgw-subnet-cidr", "10.225.0.0/16")).json(t, &mc)
	addon := mc.AddonProfiles["ingressApplicationGateway"]
	if !addon.Enabled || !strings.HasSuffix(addon.Config["effectiveApplicationGatewayId"], "/resourceGroups/"+mrg+"/providers/Microsoft.Network/applicationGateways/gw") ||
		!strings.HasSuffix(addon.Identity.ResourceID, "/userAssignedIdentities/ingressapplicationgateway-c1") {
		t.Errorf("add-on = %+v", addon)
	}
	type gateway struct {
		Name, OperationalState string
		SKU                    struct{ Name string }
		BackendAddressPools    []struct {
			Name             string
			BackendAddresses []struct{ IPAddress string }
		}
		HTTPListeners       []struct{ Name string }
		RequestRoutingRules []struct{ Name, RuleType string }
		URLPathMaps         []struct {
			Name      string
			PathRules []struct {
				Name  string
				Paths []string
			}
		}
	}
	// (az network application-gateway show is broken client-side in
	// Debian's az 2.45; list works.)
	gw := func() gateway {
		t.Helper()
		var gws []gateway
		mustAz(t, s.localaksAz("network", "application-gateway", "list", "-g", mrg)).json(t, &gws)
		if len(gws) != 1 {
			t.Fatalf("%d gateways in %s", len(gws), mrg)
		}
		return gws[0]
	}
	g := gw()
	if g.Name != "gw" || g.SKU.Name != "Standard_v2" || g.OperationalState != "Running" || len(g.BackendAddressPools) != 1 || g.BackendAddressPools[0].Name != "defaultaddresspool" {
		t.Errorf("new gateway = %+v", g)
	}
	var pips []string
	mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", mrg, "--query", "[].name")).json(t, &pips)
	if !slices.Contains(pips, "gw-appgwpip") {
		t.Errorf("public IPs = %v", pips)
	}
	pipIP := strings.TrimSpace(mustAz(t, s.localaksAz("network", "public-ip", "list", "-g", mrg, "--query", "[?name=='gw-appgwpip'].ipAddress | [0]", "-o", "tsv")).stdout)

	mustKubectl(t, kc, "create", "deployment", "api", "--image=nginx", "--replicas=2")
	mustKubectl(t, kc, "create", "deployment", "web", "--image=nginx")
	mustKubectl(t, kc, "expose", "deployment", "api", "--port=80", "--target-port=8080")
	mustKubectl(t, kc, "expose", "deployment", "web", "--port=80")
	mustKubectl(t, kc, "rollout", "status", "deployment/api", "--timeout=60s")
	mustKubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s")
	mustKubectl(t, kc, "create", "ingress", "shop", "--class=azure-application-gateway", "--rule=/api/*=api:80", "--rule=/web/*=web:80")
	mustKubectl(t, kc, "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}="+pipIP, "ingress/shop", "--timeout=60s")
	// The portal names the Ingress on the gateway and on its routing rule.
	clusterID := s.sub() + "/resourceGroups/ag/providers/Microsoft.ContainerService/managedClusters/c1"
	s.portalUntil(t, clusterID, 60*time.Second, func(p portalPicture) bool {
		gwOK, ruleOK := false, false
		for _, b := range p.Boxes {
			gwOK = gwOK || b.Kind == "gateway" && strings.Contains(b.Kube, "Ingress default/shop")
			ruleOK = ruleOK || b.Kind == "gwrule" && strings.Contains(b.Kube, "Ingress default/shop")
		}
		return gwOK && ruleOK
	})

	podIPs := func(app string) []string {
		var out []string
		for _, p := range pods(t, kc, "-l", "app="+app) {
			out = append(out, p.Status.PodIP)
		}
		slices.Sort(out)
		return out
	}
	poolOf := func(g gateway, name string) []string {
		var out []string
		for _, p := range g.BackendAddressPools {
			if p.Name == name {
				for _, a := range p.BackendAddresses {
					out = append(out, a.IPAddress)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	until(t, 60*time.Second, func() bool { return slices.Equal(poolOf(gw(), "pool-default-api-80-bp-8080"), podIPs("api")) })
	g = gw()
	if !slices.Equal(poolOf(g, "pool-default-web-80-bp-80"), podIPs("web")) || len(g.HTTPListeners) != 1 || !strings.HasPrefix(g.HTTPListeners[0].Name, "fl-") ||
		len(g.RequestRoutingRules) != 1 || g.RequestRoutingRules[0].RuleType != "PathBasedRouting" || len(g.URLPathMaps) != 1 || len(g.URLPathMaps[0].PathRules) != 2 ||
		g.URLPathMaps[0].PathRules[0].Name != "pr-default-shop-rule-0-path-0" || !slices.Equal(g.URLPathMaps[0].PathRules[0].Paths, []string{"/api/*"}) {
		t.Errorf("gateway for the Ingress = %+v", g)
	}

	mustKubectl(t, kc, "scale", "deployment", "api", "--replicas=4")
	mustKubectl(t, kc, "rollout", "status", "deployment/api", "--timeout=60s")
	until(t, 60*time.Second, func() bool {
		p := poolOf(gw(), "pool-default-api-80-bp-8080")
		return len(p) == 4 && slices.Equal(p, podIPs("api"))
	})

	mustKubectl(t, kc, "delete", "ingress", "shop")
	until(t, 60*time.Second, func() bool {
		g := gw()
		return len(g.BackendAddressPools) == 1 && g.BackendAddressPools[0].Name == "defaultaddresspool" && len(g.URLPathMaps) == 0
	})
}
