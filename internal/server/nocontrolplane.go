package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/pki"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/supervisor"
)

// noControlPlanePrefix is where the kubeconfigs of serve --control-planes=
// false point: {prefix}{cluster's resource UID}/, on serve's own address.
const noControlPlanePrefix = "/localaks/no-control-plane/"

// noControlPlaneKubeconfig is a cluster's kubeconfig when serve runs no
// control planes: AKS's shape (cluster, context and user names, a client
// certificate — this data directory's, from its local CA, the same for
// every cluster, so the kubeconfig is stable across reads), its server
// serve's own address under noControlPlanePrefix.
func (s *Server) noControlPlaneKubeconfig(ca *pki.CA, d datadir.Dir, c *aks.Cluster, role string) ([]byte, error) {
	name := "no-control-plane-" + role
	if _, err := ca.ClientCert(d.PKI(), name, role, nil); err != nil {
		return nil, err
	}
	var pems [3][]byte
	for i, f := range []string{ca.CertFile, filepath.Join(d.PKI(), name+".pem"), filepath.Join(d.PKI(), name+"-key.pem")} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pems[i] = b
	}
	id := resourceid.MustParse(c.Record.ID)
	uid := c.Props.ResourceUID
	if uid == "" {
		uid = id.Name()
	}
	server := strings.TrimSuffix(s.url, "/") + noControlPlanePrefix + uid
	// A token of the local accounts' shape, derived from the (stable)
	// client key, so that it too is the same on every read.
	sum := sha256.Sum256(pems[2])
	tok := hex.EncodeToString(sum[:16])
	return supervisor.RenderKubeconfig(pems[0], pems[1], pems[2], tok, role, id.ResourceGroupName(), id.Name(), server)
}

// noControlPlane answers a Kubernetes client that follows such a
// kubeconfig: 503 with a Status that says there is no control plane.
func noControlPlane(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // the client may be gone
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure", "reason": "ServiceUnavailable", "code": http.StatusServiceUnavailable,
		"message": "this managed cluster has no Kubernetes control plane: localaks serve runs with --control-planes=false (ARM only); restart serve without it to get one",
	})
}
