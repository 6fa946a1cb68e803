package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAzResourceGroups drives resource groups with the real az CLI through
// `localaks az`, which sets up and signs in its own config dir.
func TestAzResourceGroups(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")

	var acct struct {
		ID, TenantID, EnvironmentName string
		User                          struct{ Name, Type string }
	}
	mustAz(t, s.localaksAz("account", "show")).json(t, &acct)
	if acct.ID != s.Client.SubscriptionID || acct.TenantID != s.Client.TenantID || acct.EnvironmentName != "localaks" ||
		acct.User.Type != "servicePrincipal" {
		t.Errorf("account show = %+v", acct)
	}

	var rg struct {
		ID, Name, Location string
		Tags               map[string]string
		Properties         struct{ ProvisioningState string }
	}
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus", "--tags", "env=dev")).json(t, &rg)
	if rg.Name != "rg1" || rg.Location != "eastus" || rg.Tags["env"] != "dev" || rg.Properties.ProvisioningState != "Succeeded" ||
		rg.ID != s.sub()+"/resourceGroups/rg1" {
		t.Errorf("group create = %+v", rg)
	}
	mustAz(t, s.localaksAz("group", "show", "-n", "RG1")).json(t, &rg)
	if rg.Name != "rg1" {
		t.Errorf("group show with other casing = %+v", rg)
	}
	if out := mustAz(t, s.localaksAz("group", "exists", "-n", "rg1")).stdout; strings.TrimSpace(out) != "true" {
		t.Errorf("group exists rg1 = %q", out)
	}
	if out := mustAz(t, s.localaksAz("group", "exists", "-n", "nope")).stdout; strings.TrimSpace(out) != "false" {
		t.Errorf("group exists nope = %q", out)
	}
	mustAz(t, s.localaksAz("group", "update", "-n", "rg1", "--set", "tags.team=blue")).json(t, &rg)
	if rg.Tags["team"] != "blue" || rg.Tags["env"] != "dev" {
		t.Errorf("group update tags = %v", rg.Tags)
	}
	mustAz(t, s.localaksAz("group", "create", "-n", "rg2", "-l", "westeurope"))
	var list []struct{ Name string }
	mustAz(t, s.localaksAz("group", "list", "--tag", "team=blue")).json(t, &list)
	if len(list) != 1 || list[0].Name != "rg1" {
		t.Errorf("group list --tag team=blue = %+v", list)
	}
	mustAz(t, s.localaksAz("group", "list")).json(t, &list)
	if len(list) != 2 {
		t.Errorf("group list = %+v", list)
	}

	// Errors: az prints ARM's code and exits 3 for a missing group.
	r := s.localaksAz("group", "show", "-n", "missing")
	if r.code != 3 || !strings.Contains(r.stderr, "ResourceGroupNotFound") || !strings.Contains(r.stderr, "Resource group 'missing' could not be found.") {
		t.Errorf("show missing: exit %d, stderr %s", r.code, r.stderr)
	}
	r = s.localaksAz("group", "create", "-n", "bad*name", "-l", "eastus")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidResourceGroup") {
		t.Errorf("invalid name: exit %d, stderr %s", r.code, r.stderr)
	}
	r = s.localaksAz("group", "create", "-n", "rg3", "-l", "atlantis")
	if r.code == 0 || !strings.Contains(r.stderr, "LocationNotAvailableForResourceGroup") {
		t.Errorf("unknown location: exit %d, stderr %s", r.code, r.stderr)
	}
	r = s.localaksAz("group", "create", "-n", "rg1", "-l", "westus")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidResourceGroupLocation") {
		t.Errorf("move location: exit %d, stderr %s", r.code, r.stderr)
	}

	mustAz(t, s.localaksAz("group", "delete", "-n", "rg1", "--yes"))
	if out := mustAz(t, s.localaksAz("group", "exists", "-n", "rg1")).stdout; strings.TrimSpace(out) != "false" {
		t.Errorf("after delete, exists = %q", out)
	}
	// --no-wait returns at once; `az group wait --deleted` polls GET to 404.
	mustAz(t, s.localaksAz("group", "delete", "-n", "rg2", "--yes", "--no-wait"))
	mustAz(t, s.localaksAz("group", "wait", "--deleted", "-n", "rg2", "--interval", "1"))
}

// TestAzProviders registers and unregisters a provider with az.
func TestAzProviders(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	var p struct {
		Namespace, RegistrationState string
		ResourceTypes                []struct{ ResourceType string }
	}
	mustAz(t, s.localaksAz("provider", "show", "-n", "microsoft.resources")).json(t, &p)
	if p.Namespace != "Microsoft.Resources" || p.RegistrationState != "Registered" || len(p.ResourceTypes) == 0 {
		t.Errorf("provider show = %+v", p)
	}
	mustAz(t, s.localaksAz("provider", "unregister", "-n", "Microsoft.Resources", "--wait"))
	mustAz(t, s.localaksAz("provider", "show", "-n", "Microsoft.Resources")).json(t, &p)
	if p.RegistrationState != "Unregistered" {
		t.Errorf("after unregister: %s", p.RegistrationState)
	}
	mustAz(t, s.localaksAz("provider", "register", "-n", "Microsoft.Resources", "--wait"))
	mustAz(t, s.localaksAz("provider", "show", "-n", "Microsoft.Resources")).json(t, &p)
	if p.RegistrationState != "Registered" {
		t.Errorf("after register: %s", p.RegistrationState)
	}
	r := s.localaksAz("provider", "register", "-n", "Microsoft.DoesNotExist")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidResourceNamespace") {
		t.Errorf("register unknown namespace: exit %d, stderr %s", r.code, r.stderr)
	}
	var locs []struct{ Name, DisplayName string }
	mustAz(t, s.localaksAz("account", "list-locations")).json(t, &locs)
	if len(locs) < 40 || locs[0].Name != "eastus" {
		t.Errorf("list-locations: %d regions, first %+v", len(locs), locs[0])
	}
}

// TestAzManualSetup follows the README's by-hand az set-up: register the
// cloud from its metadata endpoint, sign in through the ADFS-style
// authority, and use it — no wrapper involved.
func TestAzManualSetup(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	env := []string{
		"AZURE_CONFIG_DIR=" + t.TempDir(),
		"REQUESTS_CA_BUNDLE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem"),
	}
	mustAz(t, az(t, env, "cloud", "register", "-n", "localaks", "--endpoint-resource-manager", s.URL+"/"))
	mustAz(t, az(t, env, "cloud", "set", "-n", "localaks"))
	mustAz(t, az(t, env, "login", "--service-principal", "-u", s.Client.ClientID, "-p", s.Client.ClientSecret, "--tenant", s.Client.TenantID))
	var rg struct{ Name string }
	mustAz(t, az(t, env, "group", "create", "-n", "manual", "-l", "northeurope")).json(t, &rg)
	if rg.Name != "manual" {
		t.Errorf("group create = %+v", rg)
	}
	var tags struct {
		Properties struct{ Tags map[string]string }
	}
	mustAz(t, az(t, env, "tag", "update", "--resource-id", s.sub()+"/resourceGroups/manual", "--operation", "merge", "--tags", "a=b")).json(t, &tags)
	if tags.Properties.Tags["a"] != "b" {
		t.Errorf("tag update = %+v", tags)
	}
	// A token that is not ARM's is refused with ARM's code.
	r := az(t, append(env, "AZURE_CORE_ONLY_SHOW_ERRORS=true"), "rest", "--method", "get",
		"--url", s.URL+s.sub()+"/resourcegroups?api-version=2021-04-01", "--resource", "https://graph.microsoft.com/")
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidAuthenticationTokenAudience") {
		t.Errorf("az rest with a Graph token: exit %d, stderr %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "az")); err == nil {
		t.Error("manual set-up touched the wrapper's config dir")
	}
}
