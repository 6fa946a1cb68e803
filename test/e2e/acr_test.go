package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerregistry/armcontainerregistry"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/uuid"

	"github.com/localaks/localaks/test/registrytools"
)

// registryTool builds (once per machine) and returns a tool of
// tools/registry.
func registryTool(t *testing.T, tool registrytools.Tool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	path, err := registrytools.Ensure(ctx, tool)
	if err != nil {
		t.Fatalf("build %s: %v", tool.Output, err)
	}
	return path
}

// registryEnv is what a client on this machine needs to reach s's
// registries by their login servers: serve's CONNECT tunnel and the local
// CA, plus a docker config directory of its own.
func (s *serve) registryEnv(t *testing.T) []string {
	return []string{
		"HTTPS_PROXY=" + strings.Replace(s.URL, "https://", "http://", 1),
		"NO_PROXY=localhost,127.0.0.1",
		"SSL_CERT_FILE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem"),
		"DOCKER_CONFIG=" + t.TempDir(),
	}
}

// TestACRConformance runs the OCI distribution-spec conformance suite
// (pull, push, content discovery, content management) against a registry
// created with az, signed in as its admin user through ACR's token flow.
func TestACRConformance(t *testing.T) {
	needAz(t)
	t.Parallel()
	conformance := registryTool(t, registrytools.Conformance)
	s := startServe(t, "", "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "westus2", "-o", "none"))
	mustAz(t, s.localaksAz("acr", "create", "-n", "conformance1", "-g", "rg1", "--sku", "Standard", "--admin-enabled", "true", "-o", "none"))
	pass := strings.TrimSpace(mustAz(t, s.localaksAz("acr", "credential", "show", "-n", "conformance1", "--query", "passwords[0].value", "-o", "tsv")).stdout)
	results := t.TempDir()
	env := append(s.registryEnv(t),
		"OCI_REGISTRY=conformance1.azurecr.io", "OCI_TLS=enabled",
		"OCI_REPO1=conformance/one", "OCI_REPO2=conformance/two",
		"OCI_USERNAME=conformance1", "OCI_PASSWORD="+pass,
		"OCI_RESULTS_DIR="+results, "OCI_LOG=warn",
		// Optional in the spec and off by default in the suite; the
		// registry supports upload cancel.
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		// Digests are sha256, as the distribution registry's: a push by
		// sha512 is verified but stored and served by its sha256 (the
		// spec requires sha256 only).
		"OCI_DATA_SHA512=false",
	)
	r := runCmd(t, env, conformance)
	if r.code != 0 || !strings.Contains(r.stdout, "OCI Conformance Result: Pass") {
		report, _ := os.ReadFile(filepath.Join(results, "results.yaml"))
		t.Fatalf("conformance exited %d\n%s\n%s\n%s", r.code, r.stdout, r.stderr, report)
	}
	// All four workflows ran and passed: pull, push, content discovery,
	// content management.
	for _, api := range []string{"Manifest get by tag", "Blob get", "Blob chunked", "Manifest put by tag", "Blob mount",
		"Tag listing", "Referrers", "Manifest delete", "Tag delete", "Blob delete"} {
		if !regexp.MustCompile(`(?m)^\s*` + api + `\.+:\s+Pass$`).MatchString(r.stdout) {
			t.Errorf("the suite's summary does not pass %q:\n%s", api, r.stdout)
		}
	}
}

// layerTar is a tar with one file, as crane append takes a layer.
func layerTar(t *testing.T, name, content string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}) //nolint:errcheck // in memory
	tw.Write([]byte(content))                                                                                 //nolint:errcheck // in memory
	tw.Close()
	path := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAzACR is the az acr workflow: create, sign in with an Entra token
// (az acr login --expose-token), push with crane, attach with oras, list
// and show with az acr repository, import, untag, delete.
func TestAzACR(t *testing.T) {
	needAz(t)
	t.Parallel()
	crane := registryTool(t, registrytools.Crane)
	oras := registryTool(t, registrytools.Oras)
	s := startServe(t, "", "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "westus2", "-o", "none"))
	check := mustAz(t, s.localaksAz("acr", "check-name", "-n", "myacr1234", "-o", "json"))
	if !strings.Contains(check.stdout, `"nameAvailable": true`) {
		t.Fatalf("check-name before create: %s", check.stdout)
	}
	mustAz(t, s.localaksAz("acr", "create", "-n", "myacr1234", "-g", "rg1", "--sku", "Basic", "-o", "none"))
	check = mustAz(t, s.localaksAz("acr", "check-name", "-n", "myacr1234", "-o", "json"))
	if !strings.Contains(check.stdout, `"reason": "AlreadyExists"`) {
		t.Fatalf("check-name after create: %s", check.stdout)
	}

	// az acr login --expose-token: the Entra token exchanged for an ACR
	// refresh token; clients sign in with the null GUID and it.
	var login struct {
		AccessToken string `json:"accessToken"`
		LoginServer string `json:"loginServer"`
	}
	mustAz(t, s.localaksAz("acr", "login", "-n", "myacr1234", "--expose-token", "-o", "json")).json(t, &login)
	if login.LoginServer != "myacr1234.azurecr.io" || login.AccessToken == "" {
		t.Fatalf("acr login: %+v", login)
	}
	env := s.registryEnv(t)
	if r := runCmd(t, env, crane, "append", "-f", layerTar(t, "hello.txt", "hello"), "-t", "myacr1234.azurecr.io/app:v1"); r.code == 0 || !strings.Contains(r.stderr, "UNAUTHORIZED") {
		t.Fatalf("anonymous push: exit %d %s, want UNAUTHORIZED", r.code, r.stderr)
	}
	mustAz(t, runCmd(t, env, crane, "auth", "login", "myacr1234.azurecr.io", "-u", "00000000-0000-0000-0000-000000000000", "-p", login.AccessToken))
	push := mustAz(t, runCmd(t, env, crane, "append", "-f", layerTar(t, "hello.txt", "hello"), "-t", "myacr1234.azurecr.io/app:v1"))
	ref := strings.TrimSpace(push.stdout)
	digest := ref[strings.Index(ref, "@")+1:]

	// oras attaches a signature-like artifact; the referrers API finds it.
	sig := filepath.Join(t.TempDir(), "sig.json")
	os.WriteFile(sig, []byte(`{"signed":true}`), 0o644) //nolint:errcheck // a temp file
	mustAz(t, runCmdDir(t, filepath.Dir(sig), env, oras, "attach",
		"--artifact-type", "application/vnd.example.signature", "myacr1234.azurecr.io/app:v1", "sig.json"))
	disc := mustAz(t, runCmd(t, env, oras, "discover", "--format", "json", "myacr1234.azurecr.io/app@"+digest))
	if !strings.Contains(disc.stdout, "application/vnd.example.signature") {
		t.Fatalf("oras discover: %s", disc.stdout)
	}

	if r := mustAz(t, s.localaksAz("acr", "repository", "list", "-n", "myacr1234", "-o", "tsv")); strings.TrimSpace(r.stdout) != "app" {
		t.Fatalf("repository list: %q", r.stdout)
	}
	if r := mustAz(t, s.localaksAz("acr", "repository", "show-tags", "-n", "myacr1234", "--repository", "app", "-o", "tsv")); strings.TrimSpace(r.stdout) != "v1" {
		t.Fatalf("show-tags: %q", r.stdout)
	}
	var shown struct {
		Digest string `json:"digest"`
		Name   string `json:"name"`
	}
	mustAz(t, s.localaksAz("acr", "repository", "show", "-n", "myacr1234", "--image", "app:v1", "-o", "json")).json(t, &shown)
	if shown.Digest != digest || shown.Name != "v1" {
		t.Fatalf("repository show: %+v, want %s", shown, digest)
	}

	// Import into a second registry, then untag and delete there.
	mustAz(t, s.localaksAz("acr", "create", "-n", "otheracr1", "-g", "rg1", "--sku", "Standard", "-o", "none"))
	mustAz(t, s.localaksAz("acr", "import", "-n", "otheracr1", "--source", "myacr1234.azurecr.io/app:v1", "-t", "copy/app:v2"))
	if r := mustAz(t, s.localaksAz("acr", "repository", "show-tags", "-n", "otheracr1", "--repository", "copy/app", "-o", "tsv")); strings.TrimSpace(r.stdout) != "v2" {
		t.Fatalf("imported tags: %q", r.stdout)
	}
	if r := s.localaksAz("acr", "import", "-n", "otheracr1", "--source", "myacr1234.azurecr.io/app:v1", "-t", "copy/app:v2"); r.code == 0 || !strings.Contains(r.stderr, "TagAlreadyExists") {
		t.Fatalf("import onto an existing tag: %d %s", r.code, r.stderr)
	}
	mustAz(t, s.localaksAz("acr", "repository", "untag", "-n", "otheracr1", "--image", "copy/app:v2"))
	if r := mustAz(t, s.localaksAz("acr", "repository", "show-tags", "-n", "otheracr1", "--repository", "copy/app", "-o", "tsv")); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("tags after untag: %q", r.stdout)
	}
	mustAz(t, s.localaksAz("acr", "repository", "delete", "-n", "myacr1234", "--image", "app:v1", "--yes"))
	if r := runCmd(t, env, crane, "manifest", "myacr1234.azurecr.io/app:v1"); r.code == 0 {
		t.Fatal("the image is still there after az acr repository delete")
	}

	// Deleting a registry deletes its content.
	mustAz(t, s.localaksAz("acr", "delete", "-n", "otheracr1", "--yes"))
	mustAz(t, s.localaksAz("acr", "delete", "-n", "myacr1234", "--yes"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries, _ := os.ReadDir(filepath.Join(s.dataDir, "registries"))
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registries' content left after their deletion: %d directories", len(entries))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealNodesACR: a real node pulls an image of the cluster's own name
// for it (myacr.azurecr.io/app:v1) from the registry, signed in as the
// kubelet identity: before the identity has AcrPull the pull fails with
// the registry's 401 (ImagePullBackOff), as on AKS; once the role is
// assigned (what --attach-acr does) the Deployment runs.
func TestRealNodesACR(t *testing.T) {
	t.Parallel()
	s, ours, images := startRealNodes(t, t.TempDir())
	s.watchEgress(t)
	crane := registryTool(t, registrytools.Crane)
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus", "-o", "none"))
	mustAz(t, s.localaksAz("acr", "create", "-n", "attachacr1", "-g", "rg1", "--sku", "Basic", "-o", "none"))
	var login struct {
		AccessToken string `json:"accessToken"`
	}
	mustAz(t, s.localaksAz("acr", "login", "-n", "attachacr1", "--expose-token", "-o", "json")).json(t, &login)
	env := s.registryEnv(t)
	mustAz(t, runCmd(t, env, crane, "auth", "login", "attachacr1.azurecr.io", "-u", "00000000-0000-0000-0000-000000000000", "-p", login.AccessToken))
	mustAz(t, runCmd(t, env, crane, "push", filepath.Join(images, "hello.tar"), "attachacr1.azurecr.io/app:v1"))

	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "1", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)

	mustKubectl(t, kc, "run", "unattached", "--image=attachacr1.azurecr.io/app:v1", "--restart=Never")
	eventually(t, "a pull without AcrPull fails", 90*time.Second, func() string {
		r := kubectl(t, kc, "get", "pod", "unattached", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}/{.status.containerStatuses[0].state.waiting.message}")
		reason, msg, _ := strings.Cut(r.stdout, "/")
		if (reason == "ErrImagePull" || reason == "ImagePullBackOff") && strings.Contains(msg, "401 Unauthorized") {
			return ""
		}
		return r.stdout
	})

	// What az aks update --attach-acr does (client-side, and broken in
	// Debian's az 2.45): AcrPull on the registry for the kubelet identity.
	kubelet := strings.TrimSpace(mustAz(t, s.localaksAz("aks", "show", "-g", "rg1", "-n", "c1", "--query", "identityProfile.kubeletidentity.objectId", "-o", "tsv")).stdout)
	registry := s.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/attachacr1"
	body := `{"properties":{"roleDefinitionId":"` + s.sub() + `/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d","principalId":"` + kubelet + `","principalType":"ServicePrincipal"}}`
	assignment := registry + "/providers/Microsoft.Authorization/roleAssignments/6a3c4b2e-1d0f-4e5a-9b8c-7d6e5f4a3b21?api-version=2022-04-01"
	if code, _, resp := s.request("PUT", assignment, body); code != http.StatusCreated {
		t.Fatalf("AcrPull for the kubelet identity: %d %v", code, resp)
	}
	mustKubectl(t, kc, "create", "deployment", "app", "--image=attachacr1.azurecr.io/app:v1")
	mustKubectl(t, kc, "rollout", "status", "deployment/app", "--timeout=120s")

	// Detached (--detach-acr deletes the assignment): the next pull is
	// refused at once, whatever the kubelet has cached.
	if code, _, resp := s.request("DELETE", assignment, ""); code != http.StatusOK {
		t.Fatalf("delete the AcrPull assignment: %d %v", code, resp)
	}
	mustKubectl(t, kc, "run", "detached", "--image=attachacr1.azurecr.io/app:v1", "--image-pull-policy=Always", "--restart=Never")
	eventually(t, "a pull after detaching fails", 90*time.Second, func() string {
		r := kubectl(t, kc, "get", "pod", "detached", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}/{.status.containerStatuses[0].state.waiting.message}")
		reason, msg, _ := strings.Cut(r.stdout, "/")
		if (reason == "ErrImagePull" || reason == "ImagePullBackOff") && strings.Contains(msg, "401 Unauthorized") {
			return ""
		}
		return r.stdout
	})
	s.deleteLeavesNothing(t, ours, "c1")
}

// TestSDKContainerRegistry is the Terraform-style flow through the Azure
// SDK for Go: a registry (name check, create, credentials refused with the
// admin user off, update, usages), a service principal given AcrPush on it
// that then pushes with its own Entra token (exchanged as ACR's clients
// do), importImage as a long-running operation, deletion.
func TestSDKContainerRegistry(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--control-planes=false")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	opts, armOpts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	groups, _ := armresources.NewResourceGroupsClient(sub, cred, armOpts)
	if _, err := groups.CreateOrUpdate(ctx, "acr", armresources.ResourceGroup{Location: to.Ptr("westus2")}, nil); err != nil {
		t.Fatal(err)
	}
	regs, _ := armcontainerregistry.NewRegistriesClient(sub, cred, armOpts)
	check, err := regs.CheckNameAvailability(ctx, armcontainerregistry.RegistryNameCheckRequest{Name: to.Ptr("sdkacr1"), Type: to.Ptr("Microsoft.ContainerRegistry/registries")}, nil)
	if err != nil || !*check.NameAvailable {
		t.Fatalf("check name: %+v %v", check, err)
	}
	poller, err := regs.BeginCreate(ctx, "acr", "sdkacr1", armcontainerregistry.Registry{Location: to.Ptr("westus2"),
		SKU: &armcontainerregistry.SKU{Name: to.Ptr(armcontainerregistry.SKUNameStandard)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := poller.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Properties.LoginServer != "sdkacr1.azurecr.io" || *created.Properties.ProvisioningState != armcontainerregistry.ProvisioningStateSucceeded {
		t.Fatalf("created: %+v", created.Properties)
	}
	if _, err := regs.ListCredentials(ctx, "acr", "sdkacr1", nil); respErr(err) == nil || respErr(err).ErrorCode != "UnAuthorizedForCredentialOperations" {
		t.Fatalf("credentials with the admin user off: %v", err)
	}
	up, err := regs.BeginUpdate(ctx, "acr", "sdkacr1", armcontainerregistry.RegistryUpdateParameters{Properties: &armcontainerregistry.RegistryPropertiesUpdateParameters{AdminUserEnabled: to.Ptr(true)}}, nil)
	if err == nil {
		_, err = up.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := regs.ListCredentials(ctx, "acr", "sdkacr1", nil); err != nil || *creds.Username != "sdkacr1" || len(creds.Passwords) != 2 {
		t.Fatalf("credentials: %+v %v", creds, err)
	}

	// A pipeline's service principal with AcrPush pushes with its token.
	app, secret, _ := s.newServicePrincipal(t, "pipeline")
	spCred, err := azidentity.NewClientSecretCredential(s.Client.TenantID, app, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := spCred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	assignments, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, armOpts)
	acrPush := "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/8311e382-0749-4cb8-b61a-304f252e45ec"
	if _, err := assignments.Create(ctx, *created.ID, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(acrPush), PrincipalID: to.Ptr(tokenObjectID(t, tok.Token)), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}, nil); err != nil {
		t.Fatal(err)
	}
	hc := registryHTTP(t, s)
	resp, err := hc.PostForm("https://sdkacr1.azurecr.io/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"sdkacr1.azurecr.io"},
		"tenant": {s.Client.TenantID}, "access_token": {tok.Token}})
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&ex) //nolint:errcheck // checked below
	resp.Body.Close()
	if resp.StatusCode != 200 || ex.RefreshToken == "" {
		t.Fatalf("exchange: %d", resp.StatusCode)
	}
	img, _ := random.Image(2048, 2)
	ref, _ := name.ParseReference("sdkacr1.azurecr.io/pipeline/app:1.0")
	if err := remote.Write(ref, img, remote.WithTransport(hc.Transport), remote.WithAuth(&authn.Basic{Username: "00000000-0000-0000-0000-000000000000", Password: ex.RefreshToken})); err != nil {
		t.Fatalf("push as the pipeline's principal: %v", err)
	}

	// importImage is a long-running operation to the SDK.
	imp, err := regs.BeginImportImage(ctx, "acr", "sdkacr1", armcontainerregistry.ImportImageParameters{
		Source:     &armcontainerregistry.ImportSource{ResourceID: created.ID, SourceImage: to.Ptr("pipeline/app:1.0")},
		TargetTags: []*string{to.Ptr("release/app:1.0")}}, nil)
	if err == nil {
		_, err = imp.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	usages, err := regs.ListUsages(ctx, "acr", "sdkacr1", nil)
	if err != nil || len(usages.Value) != 2 || *usages.Value[0].Name != "Size" || *usages.Value[0].CurrentValue < 4096 {
		t.Fatalf("usages: %+v %v", usages, err)
	}
	del, err := regs.BeginDelete(ctx, "acr", "sdkacr1", nil)
	if err == nil {
		_, err = del.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if check, err := regs.CheckNameAvailability(ctx, armcontainerregistry.RegistryNameCheckRequest{Name: to.Ptr("sdkacr1"), Type: to.Ptr("Microsoft.ContainerRegistry/registries")}, nil); err != nil || !*check.NameAvailable {
		t.Fatalf("check name after delete: %+v %v", check, err)
	}
}

// registryHTTP is an HTTP client that reaches s's login servers through
// its CONNECT tunnel, trusting its CA.
func registryHTTP(t *testing.T, s *serve) *http.Client {
	t.Helper()
	proxy, _ := url.Parse(strings.Replace(s.URL, "https://", "http://", 1))
	tr := s.http.Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxy)
	return &http.Client{Transport: tr}
}

// tokenObjectID is the oid claim of an Entra access token: the principal a
// role assignment names.
func tokenObjectID(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		OID string `json:"oid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.OID == "" {
		t.Fatalf("token claims: %s %v", payload, err)
	}
	return c.OID
}

// TestACRKilledDuringPush: serve killed with SIGKILL half-way through a
// blob's upload leaves nothing visible: after the restart the blob is
// unknown, the content is consistent, and the push can be done again.
func TestACRKilledDuringPush(t *testing.T) {
	needAz(t)
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, dir, "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "westus2", "-o", "none"))
	mustAz(t, s.localaksAz("acr", "create", "-n", "killedacr1", "-g", "rg1", "--sku", "Basic", "--admin-enabled", "true", "-o", "none"))
	pass := strings.TrimSpace(mustAz(t, s.localaksAz("acr", "credential", "show", "-n", "killedacr1", "--query", "passwords[0].value", "-o", "tsv")).stdout)
	blob := make([]byte, 1<<20)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	do := func(s *serve, method, path string, body []byte, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "https://killedacr1.azurecr.io"+path, bytes.NewReader(body))
		req.SetBasicAuth("killedacr1", pass)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := registryHTTP(t, s).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// One blob pushed whole before the kill: it must survive.
	kept := []byte("pushed before the kill")
	keptSum := sha256.Sum256(kept)
	keptDigest := "sha256:" + hex.EncodeToString(keptSum[:])
	// push uploads content whole (POST, then PUT with its digest).
	push := func(s *serve, content []byte, digest string) int {
		t.Helper()
		loc := do(s, "POST", "/v2/app/blobs/uploads/", nil).Header.Get("Location")
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		return do(s, "PUT", loc+sep+"digest="+digest, content, "Content-Type", "application/octet-stream").StatusCode
	}
	if code := push(s, kept, keptDigest); code != 201 {
		t.Fatalf("push before the kill: %d", code)
	}
	start := do(s, "POST", "/v2/app/blobs/uploads/", nil)
	if start.StatusCode != 202 {
		t.Fatalf("start upload: %d", start.StatusCode)
	}
	half := do(s, "PATCH", start.Header.Get("Location"), blob[:len(blob)/2],
		"Content-Type", "application/octet-stream", "Content-Range", fmt.Sprintf("0-%d", len(blob)/2-1))
	if half.StatusCode != 202 {
		t.Fatalf("first chunk: %d", half.StatusCode)
	}
	s.kill(syscall.SIGKILL)

	s = startServe(t, dir)
	if r := do(s, "HEAD", "/v2/app/blobs/"+digest, nil); r.StatusCode != 404 {
		t.Fatalf("the half-pushed blob after kill -9: %d, want 404", r.StatusCode)
	}
	if r := do(s, "HEAD", "/v2/app/blobs/"+keptDigest, nil); r.StatusCode != 200 || r.ContentLength != int64(len(kept)) {
		t.Fatalf("the blob pushed before kill -9: %d, %d bytes", r.StatusCode, r.ContentLength)
	}
	// The whole push again, monolithic.
	if code := push(s, blob, digest); code != 201 {
		t.Fatalf("push after the restart: %d", code)
	}
	if r := do(s, "HEAD", "/v2/app/blobs/"+digest, nil); r.StatusCode != 200 || r.ContentLength != int64(len(blob)) {
		t.Fatalf("the blob after the push: %d, %d bytes", r.StatusCode, r.ContentLength)
	}
}
