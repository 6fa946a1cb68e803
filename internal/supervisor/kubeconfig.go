package supervisor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"text/template"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/entra"
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

// AKSClientAppID is the Azure Kubernetes Service AAD Client, the public
// client kubelogin signs users in with.
const AKSClientAppID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

// EntraKubeconfig turns a user credential into the one AKS returns for an
// Entra ID cluster: the same cluster and context, and a user that runs
// kubelogin (client.authentication.k8s.io/v1beta1 exec) for a token of the
// AKS server application in the cluster's tenant. kubelogin
// convert-kubeconfig then picks the sign-in (-l azurecli, spn, …).
func EntraKubeconfig(kc []byte, tenantID string) ([]byte, error) {
	cfg, err := clientcmd.Load(kc)
	if err != nil {
		return nil, err
	}
	for name := range cfg.AuthInfos {
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1beta1",
			Command:    "kubelogin",
			Args: []string{"get-token", "--environment", "AzurePublicCloud", "--server-id", entra.AKSServerAppID,
				"--client-id", AKSClientAppID, "--tenant-id", tenantID, "--login", "devicecode"},
			InstallHint:     "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n",
			InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
		}}
	}
	return clientcmd.Write(*cfg)
}
