package supervisor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"text/template"

	"github.com/localaks/localaks/internal/clusterspec"
)

// Credential roles, as listCluster{User,Admin}Credential name them.
const (
	RoleUser  = "clusterUser"
	RoleAdmin = "clusterAdmin"
)

var kubeconfigTmpl = template.Must(template.New("kubeconfig").Parse(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {{ .CA }}
    server: {{ .Server }}
  name: {{ .Cluster }}
contexts:
- context:
    cluster: {{ .Cluster }}
    user: {{ .User }}
  name: {{ .Context }}
current-context: {{ .Context }}
kind: Config
preferences: {}
users:
- name: {{ .User }}
  user:
    client-certificate-data: {{ .Cert }}
    client-key-data: {{ .Key }}
{{- if .Token }}
    token: {{ .Token }}
{{- end }}
`))

// Kubeconfig renders a cluster's kubeconfig as AKS's credential actions
// return it: cluster and context named after the managed cluster, user
// {role}_{resourceGroup}_{cluster}, and the local-account client
// certificate (az aks get-credentials --admin renames the context
// {cluster}-admin itself when it merges). The server is the API server's
// loopback address.
func Kubeconfig(dir, role, resourceGroup, cluster string, port int) ([]byte, error) {
	l := clusterspec.Layout(dir)
	var files [3][]byte
	for i, path := range []string{l.CACert(), l.Cert(clusterspec.MasterClient), l.Key(clusterspec.MasterClient)} {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		files[i] = b
	}
	tok, err := LocalAccountToken(l)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return RenderKubeconfig(files[0], files[1], files[2], tok, role, resourceGroup, cluster, fmt.Sprintf("https://127.0.0.1:%d", port))
}

// RenderKubeconfig renders a kubeconfig of Kubeconfig's shape from PEM
// files (the CA, the client certificate and its key), the local accounts'
// token ("" for none) and a server URL.
func RenderKubeconfig(ca, cert, key []byte, token, role, resourceGroup, cluster, server string) ([]byte, error) {
	b64 := base64.StdEncoding.EncodeToString
	var buf bytes.Buffer
	err := kubeconfigTmpl.Execute(&buf, map[string]string{
		"CA": b64(ca), "Cert": b64(cert), "Key": b64(key), "Token": token, "Cluster": cluster, "Context": cluster,
		"User":   fmt.Sprintf("%s_%s_%s", role, resourceGroup, cluster),
		"Server": server,
	})
	return buf.Bytes(), err
}
