package dataplane

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

// selfSigned is base64 of a PEM certificate and key for host.
func selfSigned(t *testing.T, host string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})...)
	return base64.StdEncoding.EncodeToString(pemData)
}

// The gateway routes by host name and path to healthy backends with the
// settings' overrides, terminates TLS with the listener's certificate,
// redirects, answers 502 without a healthy backend, and its firewall in
// Prevention blocks an SQL injection.
func TestApplicationGateway(t *testing.T) {
	// Backends: "pods" at 10.244.0.5 (web) and 10.244.1.6 (api), port 8080.
	echo := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s %s %s", name, r.Host, r.URL.Path, r.Header.Get("X-Forwarded-Proto"))
		}))
		t.Cleanup(s.Close)
		return s
	}
	pods := map[string]string{"10.244.0.5:8080": echo("web").Listener.Addr().String(), "10.244.1.6:8080": echo("api").Listener.Addr().String()}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		real, ok := pods[addr]
		if !ok {
			return nil, fmt.Errorf("nothing at %s", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, real)
	}
	e := New(Config{Dial: dial, Running: func(netip.Addr) bool { return true }})
	defer e.Close()
	httpPort, httpsPort := freePort(t), freePort(t)
	gw := clusterspec.AppGateway{ID: "gw",
		Frontends:    []clusterspec.LBFrontend{{Name: "fe", Address: "127.0.0.1", Public: true}},
		Certificates: []clusterspec.AGCertificate{{Name: "shop", Data: selfSigned(t, "shop.example.com")}},
		Listeners: []clusterspec.AGListener{
			{Name: "shop-http", Frontend: "fe", Port: httpPort, Protocol: "Http", HostNames: []string{"shop.example.com"}},
			{Name: "shop-https", Frontend: "fe", Port: httpsPort, Protocol: "Https", HostNames: []string{"shop.example.com"}, Certificate: "shop"},
			{Name: "any", Frontend: "fe", Port: httpPort, Protocol: "Http"},
			{Name: "old", Frontend: "fe", Port: httpPort, Protocol: "Http", HostNames: []string{"old.example.com"}},
		},
		Rules: []clusterspec.AGRule{
			{Name: "shop", Priority: 10, Listener: "shop-http", PathMap: "shop"},
			{Name: "shop-tls", Priority: 11, Listener: "shop-https", PathMap: "shop"},
			{Name: "old", Priority: 12, Listener: "old", Redirect: "to-shop"},
			{Name: "any", Priority: 20, Listener: "any", Pool: "empty", Settings: "web"},
		},
		PathMaps: []clusterspec.AGPathMap{{Name: "shop", DefaultPool: "web", DefaultSettings: "web",
			Rules: []clusterspec.AGPathRule{{Name: "api", Paths: []string{"/api/*"}, Pool: "api", Settings: "api"}}}},
		Redirects: []clusterspec.AGRedirect{{Name: "to-shop", Type: "Permanent", TargetURL: "https://shop.example.com", IncludePath: true}},
		Pools: []clusterspec.AGPool{{Name: "web", Addresses: []string{"10.244.0.5"}}, {Name: "api", Addresses: []string{"10.244.1.6"}},
			{Name: "empty", Addresses: []string{"10.244.9.9"}}},
		Settings: []clusterspec.AGSettings{{Name: "web", Port: 8080, Protocol: "Http", RequestTimeoutSeconds: 5},
			{Name: "api", Port: 8080, Protocol: "Http", Path: "/v1/", HostName: "api.internal", RequestTimeoutSeconds: 5}},
		WAF: &clusterspec.AGFirewall{Enabled: true, Mode: "Prevention", RuleSet: "OWASP 3.2"},
	}
	e.Set(clusterspec.Fabric{ApplicationGateways: []clusterspec.AppGateway{gw}})

	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "shop.example.com"}}}
	get := func(scheme string, port int, host, path string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", scheme+"://127.0.0.1:"+strconv.Itoa(port)+path, nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error(), nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	want := func(scheme string, port int, host, path string, status int, body string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, got, _ := get(scheme, port, host, path)
			if code == status && strings.Contains(got, body) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s %s%s: %d %q, want %d %q", scheme, host, path, code, got, status, body)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	want("http", httpPort, "shop.example.com", "/", 200, "web shop.example.com / http")
	want("http", httpPort, "shop.example.com", "/api/items", 200, "api api.internal /v1/items http")
	want("https", httpsPort, "shop.example.com", "/api/x", 200, "api api.internal /v1/x https")
	want("http", httpPort, "other.example.com", "/", 502, "Microsoft-Azure-Application-Gateway/v2")
	code, _, h := get("http", httpPort, "old.example.com", "/a")
	if code != 301 || h.Get("Location") != "https://shop.example.com/a" {
		t.Errorf("redirect: %d %v", code, h)
	}
	want("http", httpPort, "shop.example.com", "/?id=1'%20OR%20'1'='1", 403, "403 Forbidden")

	// The certificate is the listener's.
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(httpsPort), &tls.Config{InsecureSkipVerify: true, ServerName: "shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "shop.example.com" {
		t.Errorf("certificate CN %q", cn)
	}
	conn.Close()
}
