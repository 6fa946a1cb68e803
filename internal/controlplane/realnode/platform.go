package realnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

// Two platform services real nodes reach inside the virtual network, as
// VMs reach Azure's:
//
//   - Container registries. Login servers ({name}.azurecr.io) resolve, in
//     the VNet's DNS, to RegistryAddress, where a relay on port 443 carries
//     the connection to serve on the host's loopback: containerd pulls
//     myacr.azurecr.io/app:v1 from localaks's registry by ACR's own name,
//     verifying serve's certificate (*.azurecr.io) against localaks's CA.
//   - The instance metadata service at 169.254.169.254, whose managed
//     identity endpoint gives tokens of the kubelet identity (the identity
//     AKS assigns to every node pool's scale set), signed in at serve's
//     Entra with the credential the cluster holds for it. The kubelet's
//     image credential provider trades them for registry credentials.

// RegistryAddress is where login servers resolve inside virtual networks:
// Azure's platform address (168.63.129.16, the VNet's DNS server too),
// port 443.
const RegistryAddress = AzureDNS

// IMDSAddress is the instance metadata service's address.
const IMDSAddress = "169.254.169.254"

// registrySuffix is the login servers' DNS suffix.
const registrySuffix = ".azurecr.io"

// servePort is serve's port on the host's loopback (from its URL).
func servePort(s *clusterspec.Spec) (string, error) {
	u, err := url.Parse(s.Cloud.ARMEndpoint)
	if err != nil || u.Port() == "" {
		return "", fmt.Errorf("localaks's URL %q names no port", s.Cloud.ARMEndpoint)
	}
	return u.Port(), nil
}

// ensurePlatform serves the registry relay and the metadata service in
// the fabric. Like the DNS, a second cluster in the same virtual network
// finds the addresses taken and leaves them to the first (whose metadata
// service knows only its own kubelet identity).
func (m *Manager) ensurePlatform(s *clusterspec.Spec) error {
	if s.Cloud.ARMEndpoint == "" {
		return nil // no serve to relay to (a control plane run by hand)
	}
	m.imds.set(s)
	port, err := servePort(s)
	if err != nil {
		return err
	}
	target := net.JoinHostPort("127.0.0.1", port)
	if m.platformTarget == target {
		return nil
	}
	m.stopPlatform()
	for _, a := range []string{RegistryAddress, IMDSAddress} {
		if err := m.fab.ensureAddress(netip.MustParseAddr(a)); err != nil {
			return err
		}
	}
	var relay, meta net.Listener
	err = inNetns(m.fab.ns, func() error {
		var err error
		if relay, err = net.Listen("tcp", net.JoinHostPort(RegistryAddress, "443")); err != nil {
			return err
		}
		if meta, err = net.Listen("tcp", net.JoinHostPort(IMDSAddress, "80")); err != nil {
			relay.Close()
		}
		return err
	})
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("serve the registries and instance metadata in the virtual network: %w", err)
	}
	go forward(relay, target)
	srv := &http.Server{Handler: m.imds, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(meta) //nolint:errcheck // ends when closed
	m.platform = []func(){func() { relay.Close() }, func() { srv.Close() }}
	m.platformTarget = target
	return nil
}

func (m *Manager) stopPlatform() {
	for _, stop := range m.platform {
		stop()
	}
	m.platform, m.platformTarget = nil, ""
}

// imds is the instance metadata service's managed-identity endpoint.
type imds struct {
	mu     sync.Mutex
	cloud  clusterspec.Cloud
	tokens map[string]imdsToken // by resource
}

type imdsToken struct {
	body    map[string]string
	expires time.Time
}

func (d *imds) set(s *clusterspec.Spec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cloud.KubeletClientID != s.Cloud.KubeletClientID || d.cloud.KubeletClientSecret != s.Cloud.KubeletClientSecret {
		d.tokens = nil
	}
	d.cloud = s.Cloud
}

// imdsError answers as IMDS does.
func imdsError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc}) //nolint:errcheck // the client may be gone
}

func (d *imds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metadata/identity/oauth2/token" {
		imdsError(w, http.StatusNotFound, "not_found", "The requested path is not served by this instance metadata service (only the managed identity's tokens are).")
		return
	}
	if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
		return
	}
	q := r.URL.Query()
	resource := q.Get("resource")
	if resource == "" {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Required audience parameter not specified")
		return
	}
	d.mu.Lock()
	cloud := d.cloud
	d.mu.Unlock()
	id := q.Get("client_id")
	if cloud.KubeletClientID == "" || (id != "" && !strings.EqualFold(id, cloud.KubeletClientID)) || q.Get("object_id") != "" || q.Get("msi_res_id") != "" || q.Get("mi_res_id") != "" {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Identity not found")
		return
	}
	body, err := d.token(r.Context(), cloud, resource)
	if err != nil {
		imdsError(w, http.StatusInternalServerError, "unknown_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(body) //nolint:errcheck // the client may be gone
}

// token signs in at serve's Entra as the kubelet identity, for resource;
// tokens are reused until five minutes before they expire.
func (d *imds) token(ctx context.Context, cloud clusterspec.Cloud, resource string) (map[string]string, error) {
	d.mu.Lock()
	if t, ok := d.tokens[resource]; ok && time.Until(t.expires) > 5*time.Minute {
		d.mu.Unlock()
		return t.body, nil
	}
	d.mu.Unlock()
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(cloud.CAFile); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cloud.KubeletClientID},
		"client_secret": {cloud.KubeletClientSecret}, "resource": {resource}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(cloud.ARMEndpoint, "/")+"/"+cloud.TenantID+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign in as the kubelet identity: %d %v", resp.StatusCode, out["error_description"])
	}
	body := map[string]string{"client_id": cloud.KubeletClientID, "resource": resource, "token_type": "Bearer"}
	for _, k := range []string{"access_token", "expires_in", "expires_on", "ext_expires_in", "not_before"} {
		body[k] = fmt.Sprint(out[k])
	}
	exp, _ := strconv.ParseInt(body["expires_on"], 10, 64)
	d.mu.Lock()
	if d.tokens == nil {
		d.tokens = map[string]imdsToken{}
	}
	d.tokens[resource] = imdsToken{body: body, expires: time.Unix(exp, 0)}
	d.mu.Unlock()
	return body, nil
}
