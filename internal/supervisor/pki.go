package supervisor

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/fsutil"
	"github.com/localaks/localaks/internal/pki"
)

// clientIdentities are the client certificates of a cluster: user (CN) and
// groups (O).
var clientIdentities = []struct {
	name, cn string
	groups   []string
}{
	// AKS's local-account certificate: CN masterclient in system:masters.
	{clusterspec.MasterClient, "masterclient", []string{"system:masters"}},
	{clusterspec.ControllerManagerClient, "system:kube-controller-manager", nil},
	{clusterspec.SchedulerClient, "system:kube-scheduler", nil},
	// The node simulator acts for every node's kubelet.
	{clusterspec.NodeSimulatorClient, "localaks:node-simulator", []string{"system:masters"}},
	// metrics-server's service account, where the control plane plays it.
	{clusterspec.MetricsServerClient, "system:serviceaccount:kube-system:metrics-server", []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}},
	// The API server's identity at kubelets (logs, exec, port-forward).
	{clusterspec.KubeletClient, "kube-apiserver-kubelet-client", []string{"system:masters"}},
}

// ensurePKI creates what is missing of a cluster's PKI: the cluster CA
// (CN "ca", as AKS's), the API server's serving certificate for the
// cluster's names, client certificates, the front proxy's CA and client
// certificate, and the service-account key.
func ensurePKI(l clusterspec.Layout, s *clusterspec.Spec) (*pki.CA, error) {
	ca, err := pki.LoadOrCreateCA(l.PKI(), clusterspec.CAName, "ca")
	if err != nil {
		return nil, err
	}
	hosts := []string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local"}
	if s.FQDN != "" {
		hosts = append(hosts, s.FQDN)
	}
	if s.AdvertiseAddress != "" {
		hosts = append(hosts, s.AdvertiseAddress)
	}
	if ip, err := firstServiceIP(s.Network.ServiceCIDR); err == nil {
		hosts = append(hosts, ip)
	}
	if _, err := ca.ServingCert(l.PKI(), clusterspec.APIServerCert, hosts); err != nil {
		return nil, err
	}
	if _, err := ca.ServingCert(l.PKI(), clusterspec.WebhookCert, []string{"127.0.0.1"}); err != nil {
		return nil, err
	}
	for _, id := range clientIdentities {
		if _, err := ca.ClientCert(l.PKI(), id.name, id.cn, id.groups); err != nil {
			return nil, err
		}
	}
	fp, err := pki.LoadOrCreateCA(l.PKI(), clusterspec.FrontProxyCA, clusterspec.FrontProxyCA)
	if err != nil {
		return nil, err
	}
	if _, err := fp.ClientCert(l.PKI(), clusterspec.FrontProxyClient, clusterspec.FrontProxyClient, nil); err != nil {
		return nil, err
	}
	if err := ensureServiceAccountKey(l); err != nil {
		return nil, err
	}
	if err := ensureLocalAccountToken(l); err != nil {
		return nil, err
	}
	return ca, nil
}

// ensureLocalAccountToken creates the local accounts' bearer token (32
// hexadecimal digits, as AKS's kubeconfigs carry) and the API server's
// static token file that maps it to masterclient in system:masters, the
// identity of the local-account certificate.
func ensureLocalAccountToken(l clusterspec.Layout) error {
	tok, err := LocalAccountToken(l)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		tok = hex.EncodeToString(b)
		if err := fsutil.WriteFileAtomic(l.LocalAccountToken(), []byte(tok+"\n"), 0o600); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(l.TokenAuthFile(), []byte(tok+`,masterclient,masterclient,"system:masters"`+"\n"), 0o600)
}

// LocalAccountToken reads a cluster's local-account token.
func LocalAccountToken(l clusterspec.Layout) (string, error) {
	b, err := os.ReadFile(l.LocalAccountToken())
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// firstServiceIP is the `kubernetes` Service's address: the service range's
// first host.
func firstServiceIP(cidr string) (string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", err
	}
	return p.Masked().Addr().Next().String(), nil
}

// ensureServiceAccountKey creates the RSA key that signs service-account
// tokens (RS256, as AKS's issuer), and its public half.
func ensureServiceAccountKey(l clusterspec.Layout) error {
	if _, err := os.Stat(l.ServiceAccountKey()); err == nil {
		if _, err := os.Stat(l.ServiceAccountPub()); err == nil {
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service-account key: %w", err)
	}
	if err := pki.WriteKey(l.ServiceAccountKey(), key); err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(l.ServiceAccountPub(), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// ServiceAccountKeys are the PEM public keys that verify the cluster's
// service-account tokens, as its OIDC issuer publishes them: the signing
// key's, then the one the last rotation replaced.
func (s *Supervisor) ServiceAccountKeys(uid string) ([][]byte, error) {
	l := s.Layout(uid)
	pub, err := os.ReadFile(l.ServiceAccountPub())
	if err != nil {
		return nil, err
	}
	keys := [][]byte{pub}
	if prev, err := os.ReadFile(l.PreviousServiceAccountPub()); err == nil {
		keys = append(keys, prev)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return keys, nil
}

// rotateServiceAccountKey keeps the current public key as the previous
// one and drops the signing key; ensureServiceAccountKey makes a new pair
// at the next start. As in AKS, tokens signed before one rotation stay
// valid and a second rotation invalidates them. A crash between the steps
// leaves a key without its public half, which also means "make a new one".
func rotateServiceAccountKey(l clusterspec.Layout) error {
	if err := os.Rename(l.ServiceAccountPub(), l.PreviousServiceAccountPub()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(l.ServiceAccountKey()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// rotatePKI replaces the cluster CA and every certificate it signed (not
// the service-account key, which rotateServiceAccountSigningKeys owns).
func rotatePKI(l clusterspec.Layout) error {
	names := []string{clusterspec.CAName, clusterspec.APIServerCert, clusterspec.WebhookCert}
	for _, id := range clientIdentities {
		names = append(names, id.name)
	}
	for _, n := range names {
		for _, f := range []string{l.Cert(n), l.Key(n)} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
