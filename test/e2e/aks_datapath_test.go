package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// getFrom fetches url once with a fresh connection (so each request is a
// new flow for the load balancer) and returns the body, or the error.
func getFrom(url string) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d: %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

// answersFrom asks url n times and counts the answers by the node of the
// pod that gave them ("error…" for failures).
func answersFrom(t *testing.T, kc, url string, n int) map[string]int {
	t.Helper()
	nodeOf := map[string]string{}
	for _, p := range pods(t, kc) {
		nodeOf[p.Metadata.Name] = p.Spec.NodeName
	}
	out := map[string]int{}
	for range n {
		a := getFrom(url)
		if pod, ok := strings.CutPrefix(a, "hello from "); ok && nodeOf[pod] != "" {
			a = nodeOf[pod]
		}
		out[a]++
	}
	return out
}

// dataPathLog is the last lines the clusters' control planes logged about
// their load balancers and gateways (for a failure's message).
func (s *serve) dataPathLog() string {
	return s.controlPlaneLog(8, "load balancer", "application gateway")
}

// controlPlaneLog is the last n lines the clusters' control planes logged
// that contain one of words.
func (s *serve) controlPlaneLog(n int, words ...string) string {
	logs, _ := filepath.Glob(filepath.Join(s.dataDir, "clusters", "*", "controlplane.log"))
	var lines []string
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		for _, line := range strings.Split(string(b), "\n") {
			for _, w := range words {
				if strings.Contains(line, w) {
					lines = append(lines, line)
					break
				}
			}
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// externalIP waits for the address of a LoadBalancer Service (or, with
// kind "ingress", an Ingress); args go to kubectl (a namespace).
func externalIP(t *testing.T, kc, svc string, args ...string) string {
	t.Helper()
	kind := "svc"
	if len(args) > 0 && args[0] == "ingress" {
		kind, args = "ingress", args[1:]
	}
	var ip string
	eventually(t, "address of "+svc, 60*time.Second, func() string {
		ip = mustKubectl(t, kc, append([]string{"get", kind, svc, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"}, args...)...)
		if ip == "" {
			return "no address yet"
		}
		return ""
	})
	return ip
}

// TestLoadBalancerDataPath: a Service of type LoadBalancer on real nodes
// answers on its external IP through the cluster's Azure load balancer:
// requests reach pods on both nodes, and the portal's picture counts them;
// loadBalancerSourceRanges and a
// security rule added with az decide who gets through, at once; with
// externalTrafficPolicy Local only the nodes with the Service's pods pass
// the health probe and get traffic; a UDP rule carries DNS to CoreDNS;
// deleting the Service closes the frontend. Nothing leaves loopback
// meanwhile.
func TestLoadBalancerDataPath(t *testing.T) {
	t.Parallel()
	// Frontends listen on the host: a public IP pool of the test's own
	// keeps other tests' addresses apart.
	s, ours, images := startRealNodes(t, t.TempDir(), "--public-ip-pool", "127.230.0.0/16")
	s.watchEgress(t)
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "2", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	s.deployHello(t, kc, "c1", images, 4)
	ns := nodes(t, kc)

	mustKubectl(t, kc, "expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080")
	web := "http://" + externalIP(t, kc, "web") + "/"
	eventually(t, "requests through the load balancer reach pods on both nodes", 2*time.Minute, func() string {
		got := answersFrom(t, kc, web, 24)
		if got[ns[0].Metadata.Name]+got[ns[1].Metadata.Name] != 24 || got[ns[0].Metadata.Name] == 0 || got[ns[1].Metadata.Name] == 0 {
			return fmt.Sprint(got) + "\n" + s.dataPathLog()
		}
		return ""
	})

	// The portal's picture shows what the rule carried.
	clusterID := s.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	eventually(t, "live counts in the portal's picture", 30*time.Second, func() string {
		resp, err := s.http.Get(s.URL + "/portal/topology.svg?id=" + url.QueryEscape(clusterID))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		svg, _ := io.ReadAll(resp.Body)
		if !regexp.MustCompile(`class="live"[^>]*>[1-9][0-9]* carried, [0-9]+ refused<`).Match(svg) ||
			!regexp.MustCompile(`healthy for 1 of 1 rules`).Match(svg) {
			return string(svg)
		}
		return ""
	})

	refused := func(what string) {
		t.Helper()
		eventually(t, what, 30*time.Second, func() string {
			if a := getFrom(web); !strings.HasPrefix(a, "error") {
				return a
			}
			return ""
		})
	}
	answers := func(what string) {
		t.Helper()
		eventually(t, what, 30*time.Second, func() string {
			if a := getFrom(web); !strings.HasPrefix(a, "hello from web-") {
				return a
			}
			return ""
		})
	}

	// loadBalancerSourceRanges become the Service's security rule's
	// sources: the host (127.0.0.1) outside them gets nowhere.
	mustKubectl(t, kc, "patch", "svc", "web", "-p", `{"spec":{"loadBalancerSourceRanges":["10.0.0.0/8"]}}`)
	refused("the host outside loadBalancerSourceRanges")
	mustKubectl(t, kc, "patch", "svc", "web", "-p", `{"spec":{"loadBalancerSourceRanges":["127.0.0.0/8"]}}`)
	answers("the host inside loadBalancerSourceRanges")

	// A deny rule ahead of the Service's allow rule, with az.
	var nsg string
	mustAz(t, s.localaksAz("network", "nsg", "list", "-g", "MC_rg1_c1_eastus", "--query", "[0].name")).json(t, &nsg)
	mustAz(t, s.localaksAz("network", "nsg", "rule", "create", "-g", "MC_rg1_c1_eastus", "--nsg-name", nsg, "-n", "deny-web",
		"--priority", "100", "--access", "Deny", "--protocol", "Tcp", "--destination-port-ranges", "80",
		"--source-address-prefixes", "*", "--destination-address-prefixes", "*"))
	refused("a security rule that denies port 80")
	mustAz(t, s.localaksAz("network", "nsg", "rule", "delete", "-g", "MC_rg1_c1_eastus", "--nsg-name", nsg, "-n", "deny-web"))
	answers("the deny rule deleted")

	// externalTrafficPolicy Local: only the node with the pods passes the
	// probe (kube-proxy's health check node port), so every request lands
	// there.
	one := filepath.Join(t.TempDir(), "one.yaml")
	os.WriteFile(one, []byte(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: one}
spec:
  replicas: 2
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: one}}
    spec:
      nodeSelector: {kubernetes.io/hostname: %s}
      containers: [{name: hello, image: localaks.test/hello:v1}]
---
apiVersion: v1
kind: Service
metadata: {name: one}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: one}
  ports: [{port: 8081, targetPort: 8080}]
`, ns[0].Metadata.Name)), 0o644)
	mustKubectl(t, kc, "apply", "-f", one)
	mustKubectl(t, kc, "rollout", "status", "deployment/one", "--timeout=90s")
	local := "http://" + externalIP(t, kc, "one") + ":8081/"
	eventually(t, "externalTrafficPolicy Local: every request to the node with the pods", 60*time.Second, func() string {
		got := answersFrom(t, kc, local, 16)
		if got[ns[0].Metadata.Name] != 16 {
			keys := make([]string, 0, len(got))
			for k, v := range got {
				keys = append(keys, fmt.Sprintf("%s=%d", k, v))
			}
			sort.Strings(keys)
			return strings.Join(keys, " ")
		}
		return ""
	})

	// No pod left: the probe fails, connections are reset and the Service
	// hears why.
	mustKubectl(t, kc, "scale", "deployment", "web", "--replicas=0")
	refused("no healthy backend")
	eventually(t, "the Service's event", 30*time.Second, func() string {
		out := mustKubectl(t, kc, "get", "events", "--field-selector", "involvedObject.name=web,reason=LoadBalancerNoHealthyBackend",
			"-o", "jsonpath={.items[*].message}")
		if !strings.Contains(out, "passes health probe") {
			return out
		}
		return ""
	})

	// UDP: the cluster's CoreDNS behind a UDP rule answers DNS queries
	// sent to the external IP.
	mustKubectl(t, kc, "expose", "deployment", "coredns", "-n", "kube-system", "--name=dns-lb", "--type=LoadBalancer",
		"--port=53", "--target-port=53", "--protocol=UDP")
	dnsIP := externalIP(t, kc, "dns-lb", "-n", "kube-system")
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", net.JoinHostPort(dnsIP, "53"))
	}}
	eventually(t, "a DNS query through the UDP rule", 60*time.Second, func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := resolver.LookupHost(ctx, "kubernetes.default.svc.cluster.local")
		if err != nil || len(addrs) != 1 || addrs[0] != "10.0.0.1" {
			return fmt.Sprint(addrs, err)
		}
		return ""
	})

	// The Service deleted: its rule goes, and the frontend with it.
	mustKubectl(t, kc, "delete", "svc", "web")
	eventually(t, "the frontend closed", 30*time.Second, func() string {
		if a := getFrom(web); !strings.Contains(a, "connection refused") {
			return a
		}
		return ""
	})
	s.deleteLeavesNothing(t, ours, "c1")
}

// gatewayClient sends every request to addr (the gateway's frontend), as
// `curl --resolve` does, trusting any certificate and keeping the
// server's name for TLS.
func gatewayClient(addr string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the test's own certificate
			DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(hostport)
				var d net.Dialer
				return d.DialContext(ctx, network, net.JoinHostPort(addr, port))
			}}}
}

// TestApplicationGatewayDataPath: with the AGIC add-on on real nodes, the
// gateway AGIC configures carries an Ingress's requests: by path to the
// right Service's pods, over HTTPS with the Ingress's TLS secret; scaling
// the Deployment reaches the new pods; a WAF policy in Prevention mode
// blocks an SQL injection with Application Gateway's 403.
func TestApplicationGatewayDataPath(t *testing.T) {
	t.Parallel()
	s, ours, images := startRealNodes(t, t.TempDir(), "--public-ip-pool", "127.231.0.0/16")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "1", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	mustAz(t, s.localaksAz("aks", "enable-addons", "-g", "rg1", "-n", "c1", "-a", "ingress-appgw", "--appgw-name", "gw", "--appgw-subnet-cidr", "10.225.0.0/16"))
	s.deployHello(t, kc, "c1", images, 1)
	mustKubectl(t, kc, "create", "deployment", "api", "--image=localaks.test/hello:v1", "--replicas=2")
	mustKubectl(t, kc, "rollout", "status", "deployment/api", "--timeout=90s")
	for _, d := range []string{"web", "api"} {
		mustKubectl(t, kc, "expose", "deployment", d, "--port=80", "--target-port=8080")
	}

	// A TLS secret for shop.example.com.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "shop.example.com"}, DNSNames: []string{"shop.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	mustKubectl(t, kc, "create", "secret", "tls", "shop-tls", "--cert="+filepath.Join(dir, "tls.crt"), "--key="+filepath.Join(dir, "tls.key"))
	ing := filepath.Join(dir, "shop.yaml")
	os.WriteFile(ing, []byte(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  annotations: {appgw.ingress.kubernetes.io/ssl-redirect: "true"}
spec:
  ingressClassName: azure-application-gateway
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /api/*, pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 80}}}}
      - {path: /web/*, pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
`), 0o644)
	mustKubectl(t, kc, "apply", "-f", ing)
	gwIP := externalIP(t, kc, "shop", "ingress")
	client := gatewayClient(gwIP)
	get := func(url string) string {
		resp, err := client.Get(url)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	for _, tc := range []struct{ url, want string }{
		{"https://shop.example.com/api/items", "200 hello from api-"},
		{"https://shop.example.com/web/index", "200 hello from web-"},
	} {
		eventually(t, tc.url, 60*time.Second, func() string {
			if got := get(tc.url); !strings.HasPrefix(got, tc.want) {
				return got
			}
			return ""
		})
	}
	// HTTP is redirected to HTTPS (ssl-redirect).
	resp, err := client.Get("http://shop.example.com/api/items?q=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://shop.example.com/api/items?q=1" {
		t.Errorf("HTTP with ssl-redirect: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	conn, err := tls.Dial("tcp", net.JoinHostPort(gwIP, "443"), &tls.Config{InsecureSkipVerify: true, ServerName: "shop.example.com"}) //nolint:gosec // checked below
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.ConnectionState().PeerCertificates[0]; !bytes.Equal(got.Raw, der) {
		t.Errorf("the gateway's certificate is %q, not the Ingress's secret's", got.Subject.CommonName)
	}
	conn.Close()

	// Scaled out, the gateway's pool follows and the new pods answer.
	mustKubectl(t, kc, "scale", "deployment", "api", "--replicas=4")
	mustKubectl(t, kc, "rollout", "status", "deployment/api", "--timeout=90s")
	eventually(t, "every api pod answers through the gateway", 90*time.Second, func() string {
		seen := map[string]bool{}
		for range 24 {
			if got, ok := strings.CutPrefix(get("https://shop.example.com/api/x"), "200 hello from "); ok {
				seen[got] = true
			}
		}
		if len(seen) != 4 {
			return fmt.Sprintf("answers from %v", seen)
		}
		return ""
	})

	// A WAF policy in Prevention mode on the gateway (WAF_v2): an SQL
	// injection gets Application Gateway's 403, other requests pass.
	mrg := "/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network"
	policy := s.sub() + mrg + "/ApplicationGatewayWebApplicationFirewallPolicies/shop-waf"
	if code, _, body := s.request("PUT", policy+"?api-version=2024-05-01", `{"location":"eastus","properties":{
		"policySettings":{"state":"Enabled","mode":"Prevention"},
		"managedRules":{"managedRuleSets":[{"ruleSetType":"OWASP","ruleSetVersion":"3.2"}]}}}`); code >= 300 {
		t.Fatalf("WAF policy: %d %v", code, body)
	}
	gwID := s.sub() + mrg + "/applicationGateways/gw?api-version=2024-05-01"
	code, _, body := s.request("GET", gwID, "")
	if code != http.StatusOK {
		t.Fatalf("get gateway: %d %v", code, body)
	}
	body["sku"] = map[string]any{"name": "WAF_v2", "tier": "WAF_v2", "capacity": 2}
	props := body["properties"].(map[string]any)
	props["sku"] = body["sku"]
	props["firewallPolicy"] = map[string]any{"id": strings.TrimSuffix(policy, "?api-version=2024-05-01")}
	delete(props, "webApplicationFirewallConfiguration")
	raw, _ := json.Marshal(body)
	if code, _, body := s.request("PUT", gwID, string(raw)); code >= 300 {
		t.Fatalf("gateway with the WAF policy: %d %v", code, body)
	}
	eventually(t, "an SQL injection blocked", 60*time.Second, func() string {
		if got := get("https://shop.example.com/api/items?id=1'%20OR%20'1'='1"); !strings.HasPrefix(got, "403 ") ||
			!strings.Contains(got, "Microsoft-Azure-Application-Gateway/v2") {
			return got
		}
		return ""
	})
	if got := get("https://shop.example.com/api/items?id=42"); !strings.HasPrefix(got, "200 hello from api-") {
		t.Errorf("a plain request behind the WAF: %s", got)
	}

	// No backend: Application Gateway's 502.
	mustKubectl(t, kc, "scale", "deployment", "web", "--replicas=0")
	eventually(t, "502 without a backend", 90*time.Second, func() string {
		if got := get("https://shop.example.com/web/"); !strings.HasPrefix(got, "502 ") || !strings.Contains(got, "502 Bad Gateway") {
			return got
		}
		return ""
	})
	s.deleteLeavesNothing(t, ours, "c1")
}

// TestAppRoutingDataPath: the application routing add-on's managed NGINX
// on a real node is the upstream ingress-nginx controller with Debian's
// nginx: an Ingress of its class answers through the add-on Service's
// load balancer address, with ingress-nginx's semantics (regex paths and
// rewrite-target, the Lua round robin spreading requests over the pods,
// upstream-hash-by keeping a URI on one pod, its 404 for unknown hosts),
// and the controller publishes the address on the Ingress.
func TestAppRoutingDataPath(t *testing.T) {
	t.Parallel()
	needManagedNginx(t)
	s, ours, images := startRealNodes(t, t.TempDir(), "--public-ip-pool", "127.232.0.0/16")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "1", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	s.deployHello(t, kc, "c1", images, 2)
	mustKubectl(t, kc, "expose", "deployment", "web", "--port=80", "--target-port=8080")
	// Turned on while the node runs: its image reaches the running node.
	s.setAppRouting(t, s.sub()+"/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1", true)
	dir := t.TempDir()
	ing := filepath.Join(dir, "web.yaml")
	os.WriteFile(ing, []byte(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  ingressClassName: webapprouting.kubernetes.azure.com
  rules:
  - host: hello.example
    http:
      paths:
      - {path: /app(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
`), 0o644)
	mustKubectl(t, kc, "apply", "-f", ing)
	mustKubectl(t, kc, "rollout", "status", "-n", "app-routing-system", "deployment/nginx", "--timeout=180s")
	if logs := mustKubectl(t, kc, "logs", "-n", "app-routing-system", "deployment/nginx", "--tail=-1"); !strings.Contains(logs, "NGINX Ingress controller") || !strings.Contains(logs, "nginx version: nginx/") {
		t.Fatalf("the managed NGINX is not ingress-nginx:\n%s", logs)
	}
	addr := externalIP(t, kc, "nginx", "-n", "app-routing-system")
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(host, path string) (int, string, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error(), ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("X-Path")
	}
	eventually(t, "hello.example/app/items through the managed NGINX", 120*time.Second, func() string {
		code, body, path := get("hello.example", "/app/items")
		if code != 200 || !strings.HasPrefix(body, "hello from web-") || path != "/items" {
			return fmt.Sprintf("%d %q (path %q)", code, body, path)
		}
		return ""
	})
	// The Lua round robin gives both pods requests.
	seen := map[string]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		if code, body, _ := get("hello.example", "/app/"); code == 200 {
			seen[body] = true
		}
	}
	if len(seen) != 2 {
		t.Errorf("answers over 20 requests: %v, want both pods", seen)
	}
	// upstream-hash-by: the consistent-hash balancer keeps each URI on one
	// pod, and the URIs spread over both. (A Service of its own: an
	// upstream takes its balancer from the first Ingress that names it.)
	mustKubectl(t, kc, "expose", "deployment", "web", "--name=web-hashed", "--port=80", "--target-port=8080")
	hashed := filepath.Join(dir, "hashed.yaml")
	os.WriteFile(hashed, []byte(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hashed
  annotations: {nginx.ingress.kubernetes.io/upstream-hash-by: $request_uri}
spec:
  ingressClassName: webapprouting.kubernetes.azure.com
  rules:
  - host: hash.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-hashed, port: {number: 80}}}}
`), 0o644)
	mustKubectl(t, kc, "apply", "-f", hashed)
	// Both pods in NGINX's upstream first (its endpoints follow the
	// Service's, a moment after the first pod answers).
	eventually(t, "hash.example through the managed NGINX, to both pods", 60*time.Second, func() string {
		seen := map[string]bool{}
		for i := range 12 {
			code, body, _ := get("hash.example", fmt.Sprintf("/item/%d", i))
			if code != 200 {
				return fmt.Sprintf("%d %q", code, body)
			}
			seen[body] = true
		}
		if len(seen) != 2 {
			return fmt.Sprintf("answered by %v", seen)
		}
		return ""
	})
	pods := map[string]bool{}
	for i := range 12 {
		uri := fmt.Sprintf("/item/%d", i)
		first := ""
		for range 4 {
			code, body, _ := get("hash.example", uri)
			if code != 200 {
				t.Fatalf("%s: %d %q", uri, code, body)
			}
			if first == "" {
				first = body
			} else if body != first {
				t.Errorf("%s answered by %q, then %q: the hash balancer moved it", uri, first, body)
			}
		}
		pods[first] = true
	}
	if len(pods) != 2 {
		t.Errorf("12 URIs hashed onto %v, want both pods", pods)
	}
	if code, body, _ := get("other.example", "/app/items"); code != 404 || !strings.Contains(body, "nginx") {
		t.Errorf("unknown host: %d %q, want nginx's 404", code, body)
	}
	mustKubectl(t, kc, "wait", "--for=jsonpath={.status.loadBalancer.ingress[0].ip}="+addr, "ingress/web", "--timeout=60s")
}
