package terraform

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/server"
)

// The Terraform CLI and the provider's directory, found or built once.
var (
	tfBinary    string
	providerDir string
	setupErr    error
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	if tfBinary, setupErr = FindTerraform(ctx); setupErr == nil {
		// LOCALAKS_AZURERM_DIR names a directory with a provider built
		// already (terraform-provider-azurerm).
		if providerDir = os.Getenv("LOCALAKS_AZURERM_DIR"); providerDir == "" {
			providerDir, setupErr = EnsureProvider(ctx)
		}
	}
	code := m.Run()
	if buildErr == nil && binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// needTerraform skips a test (fails it when LOCALAKS_E2E_REQUIRE_TERRAFORM
// is set, as CI sets it) without a Terraform CLI and the provider.
func needTerraform(t *testing.T) {
	t.Helper()
	if setupErr == nil {
		return
	}
	if os.Getenv("LOCALAKS_E2E_REQUIRE_TERRAFORM") != "" {
		t.Fatalf("Terraform: %v", setupErr)
	}
	t.Skipf("Terraform: %v; skipping", setupErr)
}

// workspace is one Terraform working directory against one localaks.
type workspace struct {
	t      *testing.T
	dir    string
	env    []string
	srv    *server.Server
	caPath string
}

// newWorkspace starts an ARM-only localaks in-process and a working
// directory with config as main.tf, configured as the README tells
// Terraform users (localaks env), the provider from providerDir.
func newWorkspace(t *testing.T, config string) *workspace {
	t.Helper()
	return newWorkspaceWith(t, config, nil)
}

// newWorkspaceWith is newWorkspace whose localaks runs a control plane per
// cluster with controlPlane (the localaks binary's controlplane command),
// when given.
func newWorkspaceWith(t *testing.T, config string, controlPlane []string) *workspace {
	t.Helper()
	needTerraform(t)
	data := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{DataDir: datadir.Dir{Path: data}, Listen: []string{"127.0.0.1:0"},
		ControlPlanes: len(controlPlane) > 0, ControlPlaneCommand: controlPlane})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(dir, ".terraformrc")
	if err := os.WriteFile(cli, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"hashicorp/azurerm\" = %q\n  }\n}\n", providerDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1", "HOME="+dir,
		"ARM_METADATA_HOSTNAME="+strings.TrimPrefix(srv.URL(), "https://"),
		"ARM_TENANT_ID="+c.TenantID, "ARM_SUBSCRIPTION_ID="+c.SubscriptionID, "ARM_CLIENT_ID="+c.ClientID, "ARM_CLIENT_SECRET="+c.ClientSecret,
		"ARM_RESOURCE_PROVIDER_REGISTRATIONS=none", "SSL_CERT_FILE="+datadir.Dir{Path: data}.CABundle())
	if d := os.Getenv("LOCALAKS_TF_LOG_DIR"); d != "" {
		env = append(env, "TF_LOG=DEBUG", "TF_LOG_PATH="+filepath.Join(d, t.Name()+".log"))
	}
	return &workspace{t: t, dir: dir, env: env, srv: srv, caPath: datadir.Dir{Path: data}.CAFile()}
}

// run runs the Terraform CLI in the workspace and returns its exit code
// and output.
func (w *workspace) run(args ...string) (int, string) {
	w.t.Helper()
	cmd := exec.Command(tfBinary, append(args, "-no-color")...)
	cmd.Dir, cmd.Env = w.dir, w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return code, out.String()
}

// must runs a command that must succeed.
func (w *workspace) must(args ...string) string {
	w.t.Helper()
	start := time.Now()
	code, out := w.run(args...)
	if args[0] != "output" && args[0] != "state" {
		w.t.Logf("terraform %s: %s", args[0], time.Since(start).Round(100*time.Millisecond))
	}
	if code != 0 {
		w.t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// planClean checks that a plan finds nothing to change (exit 0 of
// -detailed-exitcode).
func (w *workspace) planClean(what string, vars ...string) {
	w.t.Helper()
	start := time.Now()
	code, out := w.run(append([]string{"plan", "-detailed-exitcode", "-input=false"}, vars...)...)
	w.t.Logf("terraform plan: %s", time.Since(start).Round(100*time.Millisecond))
	if code != 0 {
		w.t.Errorf("plan after %s: exit %d, want 0 (no changes)\n%s", what, code, out)
	}
}

// get GETs a path below the subscription from localaks, as the built-in
// service principal, and returns the status.
func (w *workspace) get(path string) int {
	w.t.Helper()
	return w.getTenant("/subscriptions/" + w.srv.Client().SubscriptionID + path)
}

// getTenant GETs an ARM path (from the root) as the built-in service
// principal and returns the status.
func (w *workspace) getTenant(path string) int {
	w.t.Helper()
	ca, err := os.ReadFile(w.caFile())
	if err != nil {
		w.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c := w.srv.Client()
	resp, err := hc.PostForm(w.srv.URL()+"/"+c.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}, "scope": {"https://management.core.windows.net//.default"}})
	if err != nil {
		w.t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok) //nolint:errcheck // checked by the request below
	resp.Body.Close()
	req, _ := http.NewRequest("GET", w.srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (w *workspace) caFile() string { return w.caPath }

// changeLine is a line of a plan that changes something.
var changeLine = regexp.MustCompile(`^\s+[-+~] `)

// maxSurgeDrift matches the lines of the one drift real AKS gives azurerm
// configurations that leave a pool's upgrade settings out: AKS returns
// maxSurge 10%, which azurerm then plans to remove.
var maxSurgeDrift = regexp.MustCompile(`^\s+(~ update in-place|~ resource "azurerm_kubernetes_cluster(_node_pool)?" |~ default_node_pool \{|- upgrade_settings \{|- (drain_timeout_in_minutes|max_surge|node_soak_duration_in_minutes|undrainable_node_behavior|max_unavailable) )`)

// planOnly checks that a plan changes nothing but what allowed matches.
func (w *workspace) planOnly(what string, allowed *regexp.Regexp, vars ...string) {
	w.t.Helper()
	code, out := w.run(append([]string{"plan", "-detailed-exitcode", "-input=false"}, vars...)...)
	if code == 0 {
		return
	}
	if code != 2 {
		w.t.Errorf("plan after %s: exit %d\n%s", what, code, out)
		return
	}
	_, actions, _ := strings.Cut(out, "Terraform will perform the following actions:")
	reading := false // inside a data source that the drift makes Terraform read again
	for _, line := range strings.Split(actions, "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "<= data "):
			reading = true
			continue
		case reading:
			reading = strings.TrimSpace(line) != "}"
			continue
		}
		if changeLine.MatchString(line) && !allowed.MatchString(line) {
			w.t.Errorf("plan after %s changes %q\n%s", what, strings.TrimSpace(line), out)
			return
		}
	}
}
