package supervisor

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/clusterspec"
)

func testSpec() *clusterspec.Spec {
	return &clusterspec.Spec{UID: "u1", Name: "c1", KubernetesVersion: "1.35.4", FQDN: "c1-abc.hcp.eastus.azmk8s.io",
		APIServerPort: 16443, AdvertiseAddress: "198.18.0.7", EnableRBAC: true,
		Network: clusterspec.Network{ServiceCIDR: "10.2.0.0/16"}}
}

// The cluster PKI: a CA named as AKS's, a serving certificate for every
// name the API server answers to, client identities in their groups.
func TestEnsurePKI(t *testing.T) {
	l := clusterspec.Layout(t.TempDir())
	ca, err := ensurePKI(l, testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if ca.Cert.Subject.CommonName != "ca" {
		t.Errorf("CA CN = %q", ca.Cert.Subject.CommonName)
	}
	srv, err := tls.LoadX509KeyPair(l.Cert(clusterspec.APIServerCert), l.Key(clusterspec.APIServerCert))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost", "c1-abc.hcp.eastus.azmk8s.io", "kubernetes.default.svc", "10.2.0.1", "198.18.0.7"} {
		if err := srv.Leaf.VerifyHostname(host); err != nil {
			t.Errorf("serving certificate: %v", err)
		}
	}
	admin, err := tls.LoadX509KeyPair(l.Cert(clusterspec.MasterClient), l.Key(clusterspec.MasterClient))
	if err != nil {
		t.Fatal(err)
	}
	if admin.Leaf.Subject.CommonName != "masterclient" || !slices.Equal(admin.Leaf.Subject.Organization, []string{"system:masters"}) ||
		!slices.Contains(admin.Leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("masterclient = %v", admin.Leaf.Subject)
	}
	if err := admin.Leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Error(err)
	}
	// Ensuring again keeps everything; rotating replaces the CA and what
	// it signed, not the service-account key.
	saKey, _ := os.ReadFile(l.ServiceAccountKey())
	again, err := ensurePKI(l, testSpec())
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("second ensure changed the CA (%v)", err)
	}
	if err := rotatePKI(l); err != nil {
		t.Fatal(err)
	}
	rotated, err := ensurePKI(l, testSpec())
	if err != nil {
		t.Fatal(err)
	}
	newAdmin, _ := tls.LoadX509KeyPair(l.Cert(clusterspec.MasterClient), l.Key(clusterspec.MasterClient))
	if rotated.Cert.Equal(ca.Cert) || newAdmin.Leaf.CheckSignatureFrom(ca.Cert) == nil {
		t.Error("rotation kept the old CA or its certificates")
	}
	if b, _ := os.ReadFile(l.ServiceAccountKey()); string(b) != string(saKey) {
		t.Error("rotation replaced the service-account key")
	}
}

// Rotating the service-account key keeps the replaced public key as the
// previous one (published and accepted); a second rotation drops it.
func TestRotateServiceAccountKey(t *testing.T) {
	dir := t.TempDir()
	s := &Supervisor{cfg: Config{Dir: dir}}
	l := s.Layout("u1")
	if _, err := ensurePKI(l, testSpec()); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(l.ServiceAccountPub())
	cert, _ := os.ReadFile(l.CACert())
	keys, err := s.ServiceAccountKeys("u1")
	if err != nil || len(keys) != 1 || string(keys[0]) != string(first) {
		t.Fatalf("keys before rotating: %d (%v)", len(keys), err)
	}
	for round := 1; round <= 2; round++ {
		before, _ := os.ReadFile(l.ServiceAccountPub())
		if err := rotateServiceAccountKey(l); err != nil {
			t.Fatal(err)
		}
		if _, err := ensurePKI(l, testSpec()); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ServiceAccountKeys("u1")
		if err != nil || len(keys) != 2 || string(keys[1]) != string(before) || string(keys[0]) == string(before) {
			t.Fatalf("round %d: %d keys (%v)", round, len(keys), err)
		}
		if round == 2 && (string(keys[0]) == string(first) || string(keys[1]) == string(first)) {
			t.Error("the first key survived two rotations")
		}
	}
	if now, _ := os.ReadFile(l.CACert()); string(now) != string(cert) {
		t.Error("rotating the service-account key replaced the CA")
	}
}

// Kubeconfigs are named as AKS names them.
func TestKubeconfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := ensurePKI(clusterspec.Layout(dir), testSpec()); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{RoleUser, RoleAdmin} {
		kc, err := Kubeconfig(dir, role, "my-rg", "c1", 16443)
		if err != nil {
			t.Fatal(err)
		}
		s := string(kc)
		for _, want := range []string{"server: https://127.0.0.1:16443\n", "  name: c1\n", "current-context: c1\n",
			"user: " + role + "_my-rg_c1\n", "- name: " + role + "_my-rg_c1\n"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s kubeconfig lacks %q:\n%s", role, want, s)
			}
		}
		m := regexp.MustCompile(`client-certificate-data: (\S+)`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no client certificate:\n%s", s)
		}
		if pem, err := base64.StdEncoding.DecodeString(m[1]); err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
			t.Errorf("client certificate data: %v", err)
		}
	}
	if _, err := Kubeconfig(t.TempDir(), RoleUser, "rg", "c1", 1); err == nil {
		t.Error("a kubeconfig without PKI")
	}
}

// Changing what a process cannot change at run time restarts it.
func TestRestartKey(t *testing.T) {
	a, b := testSpec(), testSpec()
	b.Nodes = append(b.Nodes, clusterspec.Node{Name: "n"})
	if restartKey(a) != restartKey(b) {
		t.Error("a node change restarts the control plane")
	}
	b.KubernetesVersion = "1.36.3"
	if restartKey(a) == restartKey(b) {
		t.Error("a minor version change does not restart the control plane")
	}
	c := testSpec()
	c.KubernetesVersion = "1.35.9"
	if restartKey(a) != restartKey(c) {
		t.Error("a patch version change restarts the control plane")
	}
}
