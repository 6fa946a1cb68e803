package clusterspec

import "path/filepath"

// Layout is a cluster's data directory, <data-dir>/clusters/<uid>. serve
// writes the PKI; the control-plane process owns etcd/ and its log.
type Layout string

// PKI is the directory of the cluster's certificates and keys.
func (l Layout) PKI() string { return filepath.Join(string(l), "pki") }

// CAName is the cluster CA's file name stem (ca.pem, ca-key.pem).
const CAName = "ca"

// CACert is the cluster CA certificate.
func (l Layout) CACert() string { return filepath.Join(l.PKI(), CAName+".pem") }

// CAKey is the cluster CA key (the controller-manager signs CSRs with it).
func (l Layout) CAKey() string { return filepath.Join(l.PKI(), CAName+"-key.pem") }

// Cert and Key are a leaf certificate's files by name stem.
func (l Layout) Cert(name string) string { return filepath.Join(l.PKI(), name+".pem") }

// Key is a leaf key's file by name stem.
func (l Layout) Key(name string) string { return filepath.Join(l.PKI(), name+"-key.pem") }

// ServiceAccountKey is the service-account signing key (RSA, PKCS#8 PEM);
// ServiceAccountPub its public half.
func (l Layout) ServiceAccountKey() string { return filepath.Join(l.PKI(), "sa-key.pem") }

// ServiceAccountPub is the service-account verification key.
func (l Layout) ServiceAccountPub() string { return filepath.Join(l.PKI(), "sa.pem") }

// LocalAccountToken is the bearer token of the cluster's local accounts
// (the kubeconfigs' token, beside their client certificate, as AKS's);
// TokenAuthFile the API server's static token file that accepts it.
func (l Layout) LocalAccountToken() string { return filepath.Join(l.PKI(), "local-account-token") }

// TokenAuthFile is kube-apiserver's --token-auth-file.
func (l Layout) TokenAuthFile() string { return filepath.Join(l.PKI(), "tokens.csv") }

// PreviousServiceAccountPub is the public key the last rotation replaced:
// tokens it signed stay valid until the next rotation.
func (l Layout) PreviousServiceAccountPub() string { return filepath.Join(l.PKI(), "sa-previous.pem") }

// TunnelSocket is where the control-plane process takes the API server's
// cluster-bound connections (HTTP CONNECT); EgressConfig points it there.
func (l Layout) TunnelSocket() string { return filepath.Join(string(l), "tunnel.sock") }

// EgressConfig is the API server's egress selector configuration.
func (l Layout) EgressConfig() string { return filepath.Join(string(l), "egress.yaml") }

// Identity is the cluster's resource ID file (cluster.json), by which
// local commands (image load) find the cluster's directory.
func (l Layout) Identity() string { return filepath.Join(string(l), "cluster.json") }

// Images holds the image archives loaded into the cluster: every real node
// imports them when it starts.
func (l Layout) Images() string { return filepath.Join(string(l), "images") }

// Nodes holds the real nodes' directories.
func (l Layout) Nodes() string { return filepath.Join(string(l), "nodes") }

// NodePID is the file holding a running real node's process ID (as the
// host sees it).
func (l Layout) NodePID(node string) string { return filepath.Join(l.Nodes(), node, "pid") }

// Log is the control-plane process's log.
func (l Layout) Log() string { return filepath.Join(string(l), "controlplane.log") }

// Leaf certificate name stems.
const (
	// APIServerCert is the API server's serving certificate.
	APIServerCert = "apiserver"
	// WebhookCert is the serving certificate of what the control-plane
	// process serves itself: webhooks on 127.0.0.1 (workload identity),
	// the metrics-server it plays and the simulated nodes' kubelet API.
	WebhookCert = "webhook"
	// MasterClient is the system:masters client certificate in the
	// credentials kubeconfigs (CN masterclient, as AKS's).
	MasterClient = "masterclient"
	// ControllerManagerClient, SchedulerClient and NodeSimulatorClient are
	// the in-process components' identities.
	ControllerManagerClient = "kube-controller-manager"
	SchedulerClient         = "kube-scheduler"
	NodeSimulatorClient     = "node-simulator"
	// MetricsServerClient is metrics-server's identity (its service
	// account's user) where the control plane plays its pod.
	MetricsServerClient = "metrics-server"
	// KubeletClient is the API server's client certificate at kubelets.
	KubeletClient = "apiserver-kubelet-client"
	// FrontProxyCA signs FrontProxyClient, the API server's certificate
	// at aggregated API servers (metrics-server), which trust the user
	// it names in request headers.
	FrontProxyCA     = "front-proxy-ca"
	FrontProxyClient = "front-proxy-client"
)

// AuthenticationConfig is the API server's structured authentication
// configuration (Entra ID clusters).
func (l Layout) AuthenticationConfig() string { return filepath.Join(string(l), "authentication.yaml") }

// AuthorizationConfig is the API server's structured authorization
// configuration (Azure RBAC for Kubernetes).
func (l Layout) AuthorizationConfig() string { return filepath.Join(string(l), "authorization.yaml") }

// AzureRBACKubeconfig is how the API server reaches the Azure RBAC webhook.
func (l Layout) AzureRBACKubeconfig() string {
	return filepath.Join(string(l), "azure-rbac-webhook.kubeconfig")
}
