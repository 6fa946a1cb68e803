package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/localaks/localaks/test/kubelogintool"
)

// TestAzEntraCluster: AKS's recommended set-up — AKS-managed Entra ID,
// Azure RBAC for Kubernetes, local accounts disabled — with az, kubelogin
// (built from its module) and kubectl. A group holding a deployer service
// principal has Azure Kubernetes Service RBAC Reader on namespace dev: its
// members list pods there, not secrets, not other namespaces; the admin
// group is cluster-admin; the admin credential is refused; a token for
// another audience is not taken by the API server.
func TestAzEntraCluster(t *testing.T) {
	needAz(t)
	t.Parallel()
	kubelogin, err := kubelogintool.Ensure(context.Background())
	if err != nil {
		t.Fatalf("build kubelogin: %v", err)
	}
	s := startServe(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("control plane:\n" + s.controlPlaneLog(20, "authentication", "jwt", "oidc", "webhook"))
		}
	})
	admins := s.graphCall(t, "POST", "/groups", map[string]any{"displayName": "aks-admins", "mailNickname": "aks-admins", "mailEnabled": false, "securityEnabled": true}, 201)["id"].(string)
	devs := s.graphCall(t, "POST", "/groups", map[string]any{"displayName": "devs", "mailNickname": "devs", "mailEnabled": false, "securityEnabled": true}, 201)["id"].(string)
	opsApp, opsSecret, opsOID := s.newServicePrincipal(t, "ops")
	devApp, devSecret, devOID := s.newServicePrincipal(t, "dev")
	dana, danaPW, danaOID := s.newUser(t, "dana")
	for _, m := range [][2]string{{admins, opsOID}, {devs, devOID}, {devs, danaOID}} {
		s.graphCall(t, "POST", "/groups/"+m[0]+"/members/$ref", map[string]any{"@odata.id": s.URL + "/graph/v1.0/directoryObjects/" + m[1]}, 204)
	}

	mustAz(t, s.localaksAz("group", "create", "-n", "entra", "-l", "eastus", "-o", "none"))
	mustAz(t, s.aksCreate(t, "-g", "entra", "-n", "c1", "--node-count", "1", "--enable-aad", "--enable-azure-rbac",
		"--aad-admin-group-object-ids", admins, "--disable-local-accounts"))
	var mc struct {
		ID         string
		AadProfile struct {
			Managed, EnableAzureRbac bool
			AdminGroupObjectIDs      []string
			TenantID                 string
		}
		DisableLocalAccounts bool
	}
	mustAz(t, s.localaksAz("aks", "show", "-g", "entra", "-n", "c1")).json(t, &mc)
	if !mc.AadProfile.Managed || !mc.AadProfile.EnableAzureRbac || mc.AadProfile.TenantID != s.Client.TenantID || !mc.DisableLocalAccounts {
		t.Fatalf("cluster: %+v", mc)
	}
	if r := s.localaksAz("aks", "get-credentials", "-g", "entra", "-n", "c1", "--admin", "--file", filepath.Join(t.TempDir(), "admin")); r.code == 0 ||
		!strings.Contains(r.stderr, "Getting static credential isn't allowed because this cluster is set to disable local accounts") {
		t.Fatalf("admin credential: %d %s", r.code, r.stderr)
	}
	// Users need the Cluster User role to fetch the kubeconfig, and Azure
	// RBAC roles for what they do in the cluster.
	s.grant(t, mc.ID, "4abbcc35-e782-43d8-92c5-2d3f1bd2253f", devOID)
	s.grant(t, mc.ID+"/namespaces/dev", "7f6c6a51-bcf8-42ba-9220-52d62157d7db", devs)

	// The user kubeconfig runs kubelogin, as AKS's does.
	kc := s.credentials(t, "entra", "c1")
	data, _ := os.ReadFile(kc)
	for _, want := range []string{"command: kubelogin", "6dae42f8-4368-4678-94ff-3960e28e3630", "--tenant-id", s.Client.TenantID} {
		if !strings.Contains(string(data), want) {
			t.Fatalf("kubeconfig lacks %q:\n%s", want, data)
		}
	}
	path := filepath.Dir(kubelogin) + string(os.PathListSeparator) + os.Getenv("PATH")
	mustRun(t, nil, kubelogin, "convert-kubeconfig", "-l", "azurecli", "--kubeconfig", kc)

	// Each principal signs in to az; kubelogin takes its token from az.
	// (ops holds no Azure role: it sees no subscription.)
	as := func(app, secret string) []string {
		env := []string{"AZURE_CONFIG_DIR=" + t.TempDir(), "REQUESTS_CA_BUNDLE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem"), "PATH=" + path}
		mustAz(t, az(t, env, "cloud", "register", "-n", "localaks", "--endpoint-resource-manager", s.URL+"/"))
		mustAz(t, az(t, env, "cloud", "set", "-n", "localaks"))
		mustAz(t, az(t, env, "login", "--service-principal", "-u", app, "-p", secret, "--tenant", s.Client.TenantID, "--allow-no-subscriptions", "-o", "none"))
		return env
	}
	ops, dev := as(opsApp, opsSecret), as(devApp, devSecret)
	k := func(env []string, args ...string) azResult {
		return kubectlCmd(t, env, append([]string{"--kubeconfig", kc}, args...)...)
	}
	must := func(env []string, args ...string) string {
		r := k(env, args...)
		if r.code != 0 {
			t.Fatalf("kubectl %s: %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	// The admin group is cluster-admin (Kubernetes RBAC).
	who := must(ops, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if !strings.Contains(who, opsOID) || !strings.Contains(who, admins) {
		t.Fatalf("whoami as ops: %q", who)
	}
	must(ops, "create", "namespace", "dev")
	must(ops, "-n", "dev", "create", "secret", "generic", "s", "--from-literal=a=b")
	must(ops, "-n", "dev", "run", "web", "--image=mcr.microsoft.com/oss/kubernetes/pause:3.9")
	must(ops, "get", "secrets", "-A")

	// The dev group's RBAC Reader on namespace dev, through Azure RBAC.
	if out := must(dev, "-n", "dev", "get", "pods", "-o", "name"); !strings.Contains(out, "pod/web") {
		t.Fatalf("dev's pods: %q", out)
	}
	for _, args := range [][]string{{"-n", "dev", "get", "secrets"}, {"-n", "default", "get", "pods"}, {"-n", "dev", "delete", "pod", "web"}} {
		r := k(dev, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "Forbidden") || !strings.Contains(r.stderr, "User does not have access to the resource in Azure") {
			t.Errorf("dev: kubectl %s: %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}

	// kubelogin's service-principal sign-in (the CI set-up): AKS's
	// kubeconfig names Entra's public authority, which serve answers through
	// its HTTPS_PROXY tunnel.
	spn := s.credentials(t, "entra", "c1")
	mustRun(t, nil, kubelogin, "convert-kubeconfig", "-l", "spn", "--kubeconfig", spn)
	spnEnv := []string{"PATH=" + path, "AZURE_CLIENT_ID=" + devApp, "AZURE_CLIENT_SECRET=" + devSecret,
		"HTTPS_PROXY=" + strings.Replace(s.URL, "https://", "http://", 1), "SSL_CERT_FILE=" + filepath.Join(s.dataDir, "pki", "ca-bundle.pem")}
	if r := kubectlCmd(t, spnEnv, "--kubeconfig", spn, "-n", "dev", "get", "pods", "-o", "name"); r.code != 0 || !strings.Contains(r.stdout, "pod/web") {
		t.Fatalf("kubelogin -l spn: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := kubectlCmd(t, spnEnv, "--kubeconfig", spn, "-n", "dev", "get", "secrets"); r.code == 0 || !strings.Contains(r.stderr, "User does not have access to the resource in Azure") {
		t.Errorf("kubelogin -l spn, secrets: %d %s", r.code, r.stderr)
	}

	// A user with her password (kubelogin -l ropc): named by her
	// principal name, with her groups, under the same Azure RBAC.
	ropc := s.credentials(t, "entra", "c1")
	mustRun(t, nil, kubelogin, "convert-kubeconfig", "-l", "ropc", "--kubeconfig", ropc)
	ropcEnv := []string{"PATH=" + path, "AAD_USER_PRINCIPAL_NAME=" + dana, "AAD_USER_PRINCIPAL_PASSWORD=" + danaPW,
		spnEnv[len(spnEnv)-2], spnEnv[len(spnEnv)-1]}
	if r := kubectlCmd(t, ropcEnv, "--kubeconfig", ropc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"); r.code != 0 ||
		!strings.HasPrefix(r.stdout, dana+" ") || !strings.Contains(r.stdout, devs) {
		t.Fatalf("kubelogin -l ropc, whoami: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := kubectlCmd(t, ropcEnv, "--kubeconfig", ropc, "-n", "dev", "get", "pods", "-o", "name"); r.code != 0 || !strings.Contains(r.stdout, "pod/web") {
		t.Fatalf("kubelogin -l ropc: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := kubectlCmd(t, ropcEnv, "--kubeconfig", ropc, "-n", "default", "get", "pods"); r.code == 0 || !strings.Contains(r.stderr, "User does not have access to the resource in Azure") {
		t.Errorf("kubelogin -l ropc, namespace default: %d %s", r.code, r.stderr)
	}

	// A token for another audience (ARM's) is not a Kubernetes credential.
	armToken := strings.TrimSpace(mustAz(t, az(t, dev, "account", "get-access-token", "--query", "accessToken", "-o", "tsv")).stdout)
	var claims jwt.MapClaims
	jwt.NewParser().ParseUnverified(armToken, &claims) //nolint:errcheck // checked below
	if claims["oid"] != devOID {
		t.Fatalf("ARM token's oid %v, want %s", claims["oid"], devOID)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	rc.ExecProvider, rc.BearerToken = nil, armToken
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("dev").List(context.Background(), metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("ARM token at the API server: %v, want 401", err)
	}
}

// kubectlCmd runs the installed kubectl, else localaks's.
func kubectlCmd(t *testing.T, env []string, args ...string) azResult {
	t.Helper()
	if p, err := exec.LookPath("kubectl"); err == nil {
		return runCmd(t, env, p, args...)
	}
	return runCmd(t, env, binary, append([]string{"kubectl"}, args...)...)
}

func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	r := runCmd(t, env, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: %d %s%s", name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
