package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/localaks/localaks/internal/entra"
)

const acrAPI = "?api-version=2025-11-01"

// registryClient is an HTTP client that reaches login servers as a client
// with HTTPS_PROXY set to serve does.
func (in *instance) registryClient() *http.Client {
	in.t.Helper()
	caPEM, err := os.ReadFile(in.dir.CAFile())
	if err != nil {
		in.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	proxy, _ := url.Parse("http://" + strings.TrimPrefix(in.srv.URL(), "https://"))
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// newRegistry creates resource group rg and registry name in it.
func (in *instance) newRegistry(rg, name string, admin bool) {
	in.t.Helper()
	if r := in.do("PUT", in.sub()+"/resourceGroups/"+rg+v, `{"location":"westus2"}`); r.status >= 300 {
		in.t.Fatalf("create group: %d %s", r.status, r.raw)
	}
	body := fmt.Sprintf(`{"location":"westus2","sku":{"name":"Standard"},"properties":{"adminUserEnabled":%t}}`, admin)
	if r := in.do("PUT", in.sub()+"/resourceGroups/"+rg+"/providers/Microsoft.ContainerRegistry/registries/"+name+acrAPI, body); r.status >= 300 {
		in.t.Fatalf("create registry: %d %s", r.status, r.raw)
	}
}

func TestRegistryPushPullAdmin(t *testing.T) {
	in := start(t, Config{})
	in.newRegistry("rg1", "myRegistry1", true)
	creds := in.do("POST", in.sub()+"/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myRegistry1/listCredentials"+acrAPI, "")
	user := creds.body["username"].(string)
	pass := creds.body["passwords"].([]any)[0].(map[string]any)["value"].(string)
	hc := in.registryClient()
	opts := []remote.Option{remote.WithTransport(hc.Transport), remote.WithAuth(&authn.Basic{Username: user, Password: pass})}

	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference("myregistry1.azurecr.io/team/app:v1")
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	layers, _ := got.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("read layer: %v", err)
		}
		rc.Close()
	}
	usages := in.do("GET", in.sub()+"/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myRegistry1/listUsages"+acrAPI, "")
	if size := usages.body["value"].([]any)[0].(map[string]any)["currentValue"].(float64); size < 3*4096 {
		t.Errorf("listUsages Size = %v after pushing three 4 KiB layers", size)
	}
	repos, err := remote.Catalog(t.Context(), ref.Context().Registry, opts...)
	if err != nil || len(repos) != 1 || repos[0] != "team/app" {
		t.Fatalf("catalog = %v, %v", repos, err)
	}

	// Without credentials: ACR's challenge.
	resp, err := hc.Get("https://myregistry1.azurecr.io/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="https://myregistry1.azurecr.io/oauth2/token",service="myregistry1.azurecr.io"` {
		t.Fatalf("anonymous /v2/: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, err = hc.Get("https://myregistry1.azurecr.io/oauth2/token?service=myregistry1.azurecr.io&scope=repository:team/app:pull")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous token: %d, want 401 (anonymous pull is off)", resp.StatusCode)
	}

	// ACR's metadata API, as az acr repository show-tags reads it.
	req, _ := http.NewRequest("GET", "https://myregistry1.azurecr.io/acr/v1/team/app/_tags", nil)
	req.SetBasicAuth(user, pass)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tags struct {
		ImageName string `json:"imageName"`
		Tags      []struct{ Name, Digest string }
	}
	json.NewDecoder(resp.Body).Decode(&tags)
	resp.Body.Close()
	if resp.StatusCode != 200 || tags.ImageName != "team/app" || len(tags.Tags) != 1 || tags.Tags[0].Name != "v1" || tags.Tags[0].Digest != want.String() {
		t.Fatalf("_tags: %d %+v", resp.StatusCode, tags)
	}

	// importImage copies it into another registry.
	in.newRegistry("rg2", "importTarget1", true)
	target := in.sub() + "/resourceGroups/rg2/providers/Microsoft.ContainerRegistry/registries/importTarget1"
	body := fmt.Sprintf(`{"source":{"resourceId":"%s/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myRegistry1","sourceImage":"team/app:v1"},"targetTags":["copied/app:v2"]}`, in.sub())
	if r := in.do("POST", target+"/importImage"+acrAPI, body); r.status != 200 {
		t.Fatalf("importImage: %d %s", r.status, r.raw)
	}
	if r := in.do("POST", target+"/importImage"+acrAPI, body); r.status != 409 || r.code() != "TagAlreadyExists" {
		t.Fatalf("importImage onto an existing tag: %d %s", r.status, r.raw)
	}
	tcreds := in.do("POST", target+"/listCredentials"+acrAPI, "")
	tpass := tcreds.body["passwords"].([]any)[0].(map[string]any)["value"].(string)
	copied, _ := name.ParseReference("importtarget1.azurecr.io/copied/app:v2")
	if d, err := remote.Head(copied, remote.WithTransport(hc.Transport), remote.WithAuth(&authn.Basic{Username: "importTarget1", Password: tpass})); err != nil || d.Digest != want {
		t.Fatalf("imported image: %v %v, want %s", d, err, want)
	}

	// Deleting the manifest and collecting garbage frees the layers.
	if err := remote.Delete(ref.Context().Digest(want.String()), opts...); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := in.srv.acr.Collect(t.Context(), "myregistry1"); err != nil {
		t.Fatalf("collect: %v", err)
	}
	l0, _ := layers[0].Digest()
	req, _ = http.NewRequest("HEAD", "https://myregistry1.azurecr.io/v2/team/app/blobs/"+l0.String(), nil)
	req.SetBasicAuth(user, pass)
	if resp, err = hc.Do(req); err != nil || resp.StatusCode != 404 {
		t.Fatalf("layer after collection: %v %v, want 404", resp.StatusCode, err)
	}

	// Deleting the registry deletes its content.
	if r := in.do("DELETE", in.sub()+"/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myRegistry1"+acrAPI, ""); r.status >= 300 {
		t.Fatalf("delete registry: %d %s", r.status, r.raw)
	}
	if err := in.srv.acr.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(in.dir.Registries()))
	if len(entries) != 1 {
		t.Fatalf("content after one of two registries' deletion: %v", entries)
	}
}

func TestRegistryRoles(t *testing.T) {
	// Open: the service principal below signs in unregistered.
	in := start(t, Config{Open: true})
	in.newRegistry("rg1", "rolesacr1", false)
	hc := in.registryClient()
	// A service principal signs in to Entra and exchanges its token, as
	// az acr login does.
	const app = "5a1b2c3d-0000-4000-8000-00000000abcd"
	tok, status, _ := in.tokenFor(in.client.TenantID, app, "secret", "https://management.core.windows.net//.default")
	if status != 200 {
		t.Fatalf("token: %d", status)
	}
	resp, err := hc.PostForm("https://rolesacr1.azurecr.io/oauth2/exchange", url.Values{
		"grant_type": {"access_token"}, "service": {"rolesacr1.azurecr.io"}, "tenant": {in.client.TenantID}, "access_token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&ex)
	resp.Body.Close()
	if resp.StatusCode != 200 || ex.RefreshToken == "" {
		t.Fatalf("exchange: %d", resp.StatusCode)
	}
	opts := []remote.Option{remote.WithTransport(hc.Transport), remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: ex.RefreshToken})}
	img, _ := random.Image(1024, 1)
	ref, _ := name.ParseReference("rolesacr1.azurecr.io/app:v1")

	denied := func(err error) bool {
		var te *transport.Error
		return err != nil && (strings.Contains(err.Error(), "UNAUTHORIZED") || (errors.As(err, &te) && te.StatusCode == 401))
	}
	if err := remote.Write(ref, img, opts...); !denied(err) {
		t.Fatalf("push without a role: %v, want UNAUTHORIZED", err)
	}
	oid := entra.ServicePrincipalObjectID(in.client.TenantID, app)
	registry := in.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/rolesacr1"
	assign := func(role, guid string) {
		t.Helper()
		body := fmt.Sprintf(`{"properties":{"roleDefinitionId":"%s/providers/Microsoft.Authorization/roleDefinitions/%s","principalId":"%s","principalType":"ServicePrincipal"}}`, in.sub(), role, oid)
		if r := in.do("PUT", registry+"/providers/Microsoft.Authorization/roleAssignments/"+guid+"?api-version=2022-04-01", body); r.status >= 300 {
			t.Fatalf("assign %s: %d %s", role, r.status, r.raw)
		}
	}
	assign("8311e382-0749-4cb8-b61a-304f252e45ec", "0d5e1e5c-0000-4000-8000-000000000001") // AcrPush
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push with AcrPush: %v", err)
	}
	if err := remote.Delete(ref, opts...); !denied(err) {
		t.Fatalf("delete with AcrPush: %v, want UNAUTHORIZED", err)
	}
	if _, err := remote.Image(ref, opts...); err != nil {
		t.Fatalf("pull with AcrPush: %v", err)
	}
}

func TestRegistryTunnelRefusesOtherHosts(t *testing.T) {
	in := start(t, Config{})
	addr := strings.TrimPrefix(in.srv.URL(), "https://")
	for _, tc := range []struct{ request, status string }{
		{"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "403"},
		{"CONNECT myacr.azurecr.io:80 HTTP/1.1\r\nHost: myacr.azurecr.io:80\r\n\r\n", "403"},
		{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"},
		{"CONNECT myacr.azurecr.io:443 HTTP/1.1\r\nHost: myacr.azurecr.io:443\r\n\r\n", "200"},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, tc.request)
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 "+tc.status) {
			t.Errorf("%q: %q %v, want %s", strings.SplitN(tc.request, "\r", 2)[0], line, err, tc.status)
		}
	}
}

// TestRegistryBadInput: the registry's own error codes for content that
// is wrong, and concurrent pushes of one tag that leave one consistent
// image.
func TestRegistryBadInput(t *testing.T) {
	in := start(t, Config{})
	in.newRegistry("rg1", "badinput1", true)
	creds := in.do("POST", in.sub()+"/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/badinput1/listCredentials"+acrAPI, "")
	pass := creds.body["passwords"].([]any)[0].(map[string]any)["value"].(string)
	hc := in.registryClient()
	send := func(method, path, contentType string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://badinput1.azurecr.io"+path, bytes.NewReader(body))
		req.SetBasicAuth("badinput1", pass)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Errors []struct{ Code string } `json:"errors"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		code := ""
		if len(e.Errors) > 0 {
			code = e.Errors[0].Code
		}
		return resp.StatusCode, code
	}
	const manifestType = "application/vnd.oci.image.manifest.v1+json"
	missing := `{"schemaVersion":2,"mediaType":"` + manifestType + `","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	for _, tc := range []struct {
		what, method, path, contentType string
		body                            []byte
		status                          int
		code                            string
	}{
		{"a manifest whose config blob is missing", "PUT", "/v2/app/manifests/v1", manifestType, []byte(missing), 400, "MANIFEST_BLOB_UNKNOWN"},
		{"a malformed manifest", "PUT", "/v2/app/manifests/v1", manifestType, []byte(`{"schemaVersion":2,`), 400, "MANIFEST_INVALID"},
		{"a manifest over 4 MiB", "PUT", "/v2/app/manifests/v1", manifestType, bytes.Repeat([]byte(" "), 4<<20+1), 400, "MANIFEST_INVALID"},
		{"a manifest pushed by a digest that is not its own", "PUT", "/v2/app/manifests/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", manifestType, []byte(missing), 400, "DIGEST_INVALID"},
	} {
		status, code := send(tc.method, tc.path, tc.contentType, tc.body)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.what, status, code, tc.status, tc.code)
		}
	}

	// A blob whose content does not match the digest it is put with.
	req, _ := http.NewRequest("POST", "https://badinput1.azurecr.io/v2/app/blobs/uploads/", nil)
	req.SetBasicAuth("badinput1", pass)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("start an upload: %v %v", resp, err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	if status, code := send("PUT", loc+sep+"digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "application/octet-stream", []byte("not {}")); status != 400 || code != "DIGEST_INVALID" {
		t.Errorf("a blob whose digest does not match: %d %s", status, code)
	}

	// Eight clients push different images to one tag at once: every push
	// succeeds, and the tag names one of them, whole.
	ref, _ := name.ParseReference("badinput1.azurecr.io/race:latest")
	opts := []remote.Option{remote.WithTransport(hc.Transport), remote.WithAuth(&authn.Basic{Username: "badinput1", Password: pass})}
	digests := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		img, _ := random.Image(1024, 2)
		d, _ := img.Digest()
		digests[d.String()] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := remote.Write(ref, img, opts...); err != nil {
				mu.Lock()
				t.Errorf("concurrent push: %v", err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); !digests[d.String()] {
		t.Fatalf("the tag names %s, which no client pushed", d)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("the tagged image is not whole: %v", err)
	}
}
