package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestCAAndServingCert(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "ca", "test CA")
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir, "ca", "test CA")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("second load made a new CA")
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode: %v %v", fi.Mode(), err)
	}

	c1, err := ca.ServingCert(dir, "serving", []string{"localhost", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := c1.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	c2, _ := ca.ServingCert(dir, "serving", []string{"localhost"})
	if !c2.Leaf.Equal(c1.Leaf) {
		t.Error("certificate reissued although it covers the hosts")
	}
	c3, _ := ca.ServingCert(dir, "serving", []string{"localhost", "my.host"})
	if c3.Leaf.Equal(c1.Leaf) || c3.Leaf.VerifyHostname("my.host") != nil {
		t.Error("certificate not reissued for a new host")
	}
	other, _ := LoadOrCreateCA(t.TempDir(), "ca", "other")
	c4, _ := other.ServingCert(dir, "serving", []string{"localhost"})
	if c4.Leaf.CheckSignatureFrom(other.Cert) != nil {
		t.Error("certificate of another CA reused")
	}
}
