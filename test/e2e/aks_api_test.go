package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/localaks/localaks/internal/aks"
)

// TestAzNodePoolSnapshots: az aks nodepool snapshot create takes a pool's
// version, node image, OS and VM size; a pool added with --snapshot-id
// gets them; a snapshot of a pool that is not there is refused; show,
// list, delete.
func TestAzNodePoolSnapshots(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "", "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "snap", "-l", "eastus", "-o", "none"))
	mustAz(t, s.aksCreate(t, "-g", "snap", "-n", "c1", "--node-count", "1"))
	var pool struct {
		ID, CurrentOrchestratorVersion, NodeImageVersion, VMSize, OSSku string
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "show", "-g", "snap", "--cluster-name", "c1", "-n", "nodepool1")).json(t, &pool)

	type snapshot struct {
		ID, Name, Type, Location, KubernetesVersion, NodeImageVersion, OSSku, OSType, VMSize, SnapshotType string
		CreationData                                                                                       struct{ SourceResourceID string }
	}
	var snap snapshot
	mustAz(t, s.localaksAz("aks", "nodepool", "snapshot", "create", "-g", "snap", "-n", "s1", "--nodepool-id", pool.ID, "-l", "eastus")).json(t, &snap)
	if snap.Type != "Microsoft.ContainerService/Snapshots" && snap.Type != "Microsoft.ContainerService/snapshots" || snap.KubernetesVersion != pool.CurrentOrchestratorVersion ||
		snap.NodeImageVersion != pool.NodeImageVersion || snap.VMSize != pool.VMSize || snap.OSSku != pool.OSSku || snap.OSType != "Linux" ||
		snap.SnapshotType != "NodePool" || !strings.EqualFold(snap.CreationData.SourceResourceID, pool.ID) {
		t.Errorf("snapshot = %+v, pool %+v", snap, pool)
	}
	var listed []snapshot
	mustAz(t, s.localaksAz("aks", "nodepool", "snapshot", "list", "-g", "snap")).json(t, &listed)
	if len(listed) != 1 || listed[0].ID != snap.ID {
		t.Errorf("list = %+v", listed)
	}

	// A pool from the snapshot.
	var added struct {
		CurrentOrchestratorVersion, NodeImageVersion string
		CreationData                                 struct{ SourceResourceID string }
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "add", "-g", "snap", "--cluster-name", "c1", "-n", "fromsnap", "--node-count", "1", "--snapshot-id", snap.ID)).json(t, &added)
	if added.CurrentOrchestratorVersion != snap.KubernetesVersion || added.NodeImageVersion != snap.NodeImageVersion ||
		!strings.EqualFold(added.CreationData.SourceResourceID, snap.ID) {
		t.Errorf("pool from snapshot = %+v", added)
	}

	// Another Kubernetes version than the snapshot's is refused.
	other := ""
	for _, m := range aks.Versions.Minors {
		for _, v := range m.Patches {
			if v != snap.KubernetesVersion && !m.Preview {
				other = v
			}
		}
	}
	if other == "" {
		t.Fatal("no other Kubernetes version to ask for")
	}
	if r := s.localaksAz("aks", "nodepool", "add", "-g", "snap", "--cluster-name", "c1", "-n", "othersnap", "--node-count", "1",
		"--snapshot-id", snap.ID, "--kubernetes-version", other); r.code == 0 || !strings.Contains(r.stderr, "snapshot's Kubernetes version") {
		t.Errorf("a pool from the snapshot at %s: exit %d %s", other, r.code, r.stderr)
	}

	// A pool that is not there.
	r := s.localaksAz("aks", "nodepool", "snapshot", "create", "-g", "snap", "-n", "s2", "--nodepool-id", pool.ID+"x", "-l", "eastus")
	if r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("snapshot of a missing pool: exit %d, %s", r.code, r.stderr)
	}
	mustAz(t, s.localaksAz("aks", "nodepool", "snapshot", "delete", "-g", "snap", "-n", "s1", "--yes"))
	mustAz(t, s.localaksAz("aks", "nodepool", "snapshot", "list", "-g", "snap")).json(t, &listed)
	if len(listed) != 0 {
		t.Errorf("after delete: %+v", listed)
	}
}

// TestSDKAKSSmallerAPIs drives, with armcontainerservice, trusted access
// (roles per location, bindings with AKS's checks), the Istio revision and
// upgrade profiles, outbound network dependencies, the deprecated access
// profile and resetAADProfile.
func TestSDKAKSSmallerAPIs(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "", "--control-planes=false")
	mustAz(t, s.localaksAz("group", "create", "-n", "api", "-l", "eastus", "-o", "none"))
	mustAz(t, s.aksCreate(t, "-g", "api", "-n", "c1", "--node-count", "1"))
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, opts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	code := func(err error) (int, string, string) {
		var re *azcore.ResponseError
		if !errors.As(err, &re) {
			return 0, "", ""
		}
		return re.StatusCode, re.ErrorCode, err.Error()
	}

	// Trusted access.
	roles, _ := armcontainerservice.NewTrustedAccessRolesClient(sub, cred, opts)
	page, err := roles.NewListPager("eastus", nil).NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reader := false
	for _, r := range page.Value {
		reader = reader || *r.SourceResourceType == "Microsoft.MachineLearningServices/workspaces" && *r.Name == "reader" && len(r.Rules) == 1
	}
	if !reader {
		t.Errorf("roles: %d, no ML reader with its rule", len(page.Value))
	}
	bindings, _ := armcontainerservice.NewTrustedAccessRoleBindingsClient(sub, cred, opts)
	ws := "/subscriptions/" + sub + "/resourceGroups/api/providers/Microsoft.MachineLearningServices/workspaces/ml"
	bind := func(name, source string, roles ...string) (*armcontainerservice.TrustedAccessRoleBinding, error) {
		p, err := bindings.BeginCreateOrUpdate(ctx, "api", "c1", name, armcontainerservice.TrustedAccessRoleBinding{
			Properties: &armcontainerservice.TrustedAccessRoleBindingProperties{SourceResourceID: to.Ptr(source), Roles: to.SliceOfPtrs(roles...)}}, nil)
		if err != nil {
			return nil, err
		}
		res, err := p.PollUntilDone(ctx, poll)
		return &res.TrustedAccessRoleBinding, err
	}
	b, err := bind("ml-reader", ws, "Microsoft.MachineLearningServices/workspaces/reader")
	if err != nil || *b.Properties.ProvisioningState != armcontainerservice.TrustedAccessRoleBindingProvisioningStateSucceeded {
		t.Fatalf("binding: %v %+v", err, b)
	}
	for _, bad := range []struct {
		name, source, role, code string
	}{
		{"wrongrole", ws, "Microsoft.MachineLearningServices/workspaces/owner", "InvalidParameter"},
		{"unprefixed", ws, "reader", "InvalidParameter"},
		{"storage", "/subscriptions/" + sub + "/resourceGroups/api/providers/Microsoft.Storage/storageAccounts/st", "Microsoft.Storage/storageAccounts/reader", "InvalidParameter"},
		{"name_with_underscore", ws, "Microsoft.MachineLearningServices/workspaces/reader", "InvalidParameter"},
	} {
		_, err := bind(bad.name, bad.source, bad.role)
		if status, c, _ := code(err); status != 400 || c != bad.code {
			t.Errorf("binding %s: %v", bad.name, err)
		}
	}
	list, err := bindings.NewListPager("api", "c1", nil).NextPage(ctx)
	if err != nil || len(list.Value) != 1 || *list.Value[0].Name != "ml-reader" {
		t.Errorf("bindings: %v %+v", err, list.Value)
	}
	del, err := bindings.BeginDelete(ctx, "api", "c1", "ml-reader", nil)
	if err == nil {
		_, err = del.PollUntilDone(ctx, poll)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bindings.Get(ctx, "api", "c1", "ml-reader", nil); func() int { s, _, _ := code(err); return s }() != 404 {
		t.Errorf("after delete: %v", err)
	}

	// Mesh profiles: revisions per location; no upgrade profile without a
	// mesh.
	mcs, _ := armcontainerservice.NewManagedClustersClient(sub, cred, opts)
	rev, err := mcs.GetMeshRevisionProfile(ctx, "eastus", "istio", nil)
	if err != nil || len(rev.Properties.MeshRevisions) == 0 || len(rev.Properties.MeshRevisions[0].CompatibleWith) != 1 {
		t.Errorf("mesh revisions: %v %+v", err, rev)
	}
	if _, err := mcs.GetMeshUpgradeProfile(ctx, "api", "c1", "istio", nil); func() int { s, _, _ := code(err); return s }() != 404 {
		t.Errorf("mesh upgrade profile of a cluster without a mesh: %v", err)
	}

	// Outbound dependencies name the API server.
	c, err := mcs.Get(ctx, "api", "c1", nil)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := mcs.NewListOutboundNetworkDependenciesEndpointsPager("api", "c1", nil).NextPage(ctx)
	apiserver := false
	for _, d := range deps.Value {
		apiserver = apiserver || *d.Category == "apiserver" && *d.Endpoints[0].DomainName == *c.Properties.Fqdn
	}
	if err != nil || !apiserver {
		t.Errorf("outbound dependencies: %v %d categories, no apiserver %s", err, len(deps.Value), *c.Properties.Fqdn)
	}

	// The deprecated access profile carries the user kubeconfig.
	ap, err := mcs.GetAccessProfile(ctx, "api", "c1", "clusterUser", nil)
	if err != nil || !strings.Contains(string(ap.Properties.KubeConfig), "clusterUser_api_c1") {
		kc, _ := base64.StdEncoding.DecodeString(string(ap.Properties.KubeConfig))
		t.Errorf("access profile: %v %s", err, kc)
	}

	// Identity bindings (2026-04-01 on; through az rest, which no az
	// command wraps yet): the identity's IDs and the cluster issuer's URL;
	// another identity under the same name is refused; unknown before
	// their first api-version.
	mustAz(t, s.localaksAz("identity", "create", "-g", "api", "-n", "wlid", "-o", "none"))
	var uami struct{ ID, ClientID, PrincipalID string }
	mustAz(t, s.localaksAz("identity", "show", "-g", "api", "-n", "wlid")).json(t, &uami)
	bindingURL := s.URL + s.sub() + "/resourceGroups/api/providers/Microsoft.ContainerService/managedClusters/c1/identityBindings/wlid?api-version=2026-10-01"
	putBinding := func(identity string) azResult {
		return s.localaksAz("rest", "--method", "put", "--url", bindingURL, "--body", `{"properties":{"managedIdentity":{"resourceId":"`+identity+`"}}}`)
	}
	var ib struct {
		Properties struct {
			ManagedIdentity   struct{ ResourceID, ClientID, ObjectID, TenantID string }
			OIDCIssuer        struct{ OIDCIssuerURL string }
			ProvisioningState string
		}
	}
	mustAz(t, putBinding(uami.ID)).json(t, &ib)
	issuer := strings.TrimSpace(mustAz(t, s.localaksAz("aks", "show", "-g", "api", "-n", "c1", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv")).stdout)
	if mi := ib.Properties.ManagedIdentity; mi.ClientID != uami.ClientID || mi.ObjectID != uami.PrincipalID || mi.TenantID != s.Client.TenantID ||
		ib.Properties.OIDCIssuer.OIDCIssuerURL != issuer || ib.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("identity binding = %+v (identity %+v, issuer %s)", ib, uami, issuer)
	}
	mustAz(t, s.localaksAz("identity", "create", "-g", "api", "-n", "other", "-o", "none"))
	other := strings.Replace(uami.ID, "/wlid", "/other", 1)
	if r := putBinding(other); r.code == 0 || !strings.Contains(r.stderr, "PropertyChangeNotAllowed") {
		t.Errorf("binding moved to another identity: exit %d %s", r.code, r.stderr)
	}
	if r := s.localaksAz("rest", "--method", "get", "--url", strings.Replace(bindingURL, "2026-10-01", "2026-03-01", 1)); r.code == 0 || !strings.Contains(r.stderr, "InvalidResourceType") {
		t.Errorf("identity bindings at 2026-03-01 (before they were published): exit %d %s", r.code, r.stderr)
	}
	mustAz(t, s.localaksAz("rest", "--method", "delete", "--url", bindingURL))

	// resetAADProfile is refused for a cluster without legacy AAD.
	_, err = mcs.BeginResetAADProfile(ctx, "api", "c1", armcontainerservice.ManagedClusterAADProfile{TenantID: to.Ptr(s.Client.TenantID)}, nil)
	if status, c, msg := code(err); status != 400 || c != "BadRequest" || !strings.Contains(msg, "no Azure AD integration to reset") {
		t.Errorf("resetAADProfile: %v", err)
	}
}

// TestManagedNamespaces: a managed namespace (az rest; az 2.45 has no
// command for them) becomes the cluster's namespace with its labels and
// annotations, a ResourceQuota and a NetworkPolicy; its credential is the
// user kubeconfig in that namespace; the system's namespaces are refused;
// a namespace already in the cluster is adopted only as adoptionPolicy
// says; deletion keeps or deletes the namespace as deletePolicy says.
func TestManagedNamespaces(t *testing.T) {
	t.Parallel()
	needAz(t)
	s := startServe(t, "")
	kc := s.smallCluster(t, "mns")
	base := s.sub() + "/resourceGroups/mns/providers/Microsoft.ContainerService/managedClusters/c1/managedNamespaces/"
	const v = "?api-version=2025-10-01"
	put := func(name, props string) (int, string) {
		t.Helper()
		status, h, body := s.request("PUT", base+name+v, `{"location":"eastus","properties":`+props+`}`)
		if status != 200 && status != 201 {
			return status, fmt.Sprint(body)
		}
		return status, s.waitOperation(h.Get("Azure-AsyncOperation"))
	}
	status, outcome := put("team-a", `{"labels":{"team":"a"},"annotations":{"owner":"platform"},
		"defaultResourceQuota":{"cpuRequest":"1","memoryLimit":"2Gi"},"defaultNetworkPolicy":{"ingress":"DenyAll"}}`)
	if status != 201 || outcome != "Succeeded" {
		t.Fatalf("create: %d %s", status, outcome)
	}
	_, _, got := s.request("GET", base+"team-a"+v, "")
	props := got["properties"].(map[string]any)
	if props["provisioningState"] != "Succeeded" || props["adoptionPolicy"] != "Never" || props["deletePolicy"] != "Keep" ||
		props["defaultNetworkPolicy"].(map[string]any)["egress"] != "AllowAll" {
		t.Errorf("managed namespace = %v", got)
	}
	if l := mustKubectl(t, kc, "get", "ns", "team-a", "-o", `jsonpath={.metadata.labels.team} {.metadata.annotations.owner} {.metadata.labels.kubernetes\.azure\.com/managedByArm}`); l != "a platform true" {
		t.Errorf("namespace labels and annotations: %q", l)
	}
	if q := mustKubectl(t, kc, "get", "resourcequota", "default", "-n", "team-a", "-o", `jsonpath={.spec.hard.requests\.cpu} {.spec.hard.limits\.memory}`); q != "1 2Gi" {
		t.Errorf("resource quota: %q", q)
	}
	if p := mustKubectl(t, kc, "get", "networkpolicy", "default", "-n", "team-a", "-o", `jsonpath={.spec.policyTypes} {.spec.ingress} {.spec.egress}`); p != `["Ingress","Egress"]  [{}]` {
		t.Errorf("network policy: %q", p)
	}

	// Its credential works in that namespace.
	var creds struct {
		Kubeconfigs []struct{ Name, Value string }
	}
	mustAz(t, s.localaksAz("rest", "--method", "post", "--url", s.URL+base+"team-a/listCredential"+v)).json(t, &creds)
	raw, _ := base64.StdEncoding.DecodeString(creds.Kubeconfigs[0].Value)
	if !strings.Contains(string(raw), "namespace: team-a") {
		t.Errorf("credential: %s", raw)
	}

	// The system's namespaces and bad names are refused.
	for _, name := range []string{"kube-system", "Team"} {
		if status, body := put(name, `{}`); status != 400 || !strings.Contains(body, "InvalidParameter") {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}

	// A namespace already there: Never refuses it, Always adopts it.
	mustKubectl(t, kc, "create", "namespace", "legacy")
	if _, outcome := put("legacy", `{}`); outcome != "Failed" {
		t.Errorf("adopting with Never: %s", outcome)
	}
	if _, outcome := put("legacy", `{"adoptionPolicy":"Always","labels":{"adopted":"yes"}}`); outcome != "Succeeded" {
		t.Errorf("adopting with Always: %s", outcome)
	}
	if l := mustKubectl(t, kc, "get", "ns", "legacy", "-o", "jsonpath={.metadata.labels.adopted}"); l != "yes" {
		t.Errorf("adopted namespace's label: %q", l)
	}
	// A label the resource no longer has leaves the namespace.
	if _, outcome := put("legacy", `{"adoptionPolicy":"Always"}`); outcome != "Succeeded" {
		t.Errorf("update: %s", outcome)
	}
	if l := mustKubectl(t, kc, "get", "ns", "legacy", "-o", "jsonpath={.metadata.labels.adopted}"); l != "" {
		t.Errorf("a removed label is still on the namespace: %q", l)
	}

	// Keep leaves the namespace; Delete deletes it.
	del := func(name string) {
		t.Helper()
		status, h, body := s.request("DELETE", base+name+v, "")
		if status != 202 {
			t.Fatalf("delete %s: %d %v", name, status, body)
		}
		if outcome := s.waitOperation(h.Get("Azure-AsyncOperation")); outcome != "Succeeded" {
			t.Fatalf("delete %s: %s", name, outcome)
		}
	}
	del("team-a")
	if l := mustKubectl(t, kc, "get", "ns", "team-a", "-o", `jsonpath={.metadata.labels.team}`); l != "a" {
		t.Errorf("kept namespace: %q", l)
	}
	if _, outcome := put("scratch", `{"deletePolicy":"Delete"}`); outcome != "Succeeded" {
		t.Fatalf("scratch: %s", outcome)
	}
	del("scratch")
	mustKubectl(t, kc, "wait", "--for=delete", "namespace/scratch", "--timeout=60s")
	if status, _, _ := s.request("GET", base+"scratch"+v, ""); status != 404 {
		t.Errorf("deleted managed namespace: %d", status)
	}
}
