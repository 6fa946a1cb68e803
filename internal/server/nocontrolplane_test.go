package server

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestNoControlPlaneKubeconfig: with control planes off, the credential
// listings still return a well-formed kubeconfig of AKS's shape, the same
// on every read, whose server answers a Kubernetes client with a 503
// Status that says why.
func TestNoControlPlaneKubeconfig(t *testing.T) {
	in := start(t, Config{})
	if r := in.do("PUT", in.sub()+"/resourcegroups/rg1"+v, `{"location":"eastus"}`); r.status != 201 {
		t.Fatal(r.status)
	}
	mc := in.sub() + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	r := in.do("PUT", mc+"?api-version=2025-10-01", `{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"c1",
		"agentPoolProfiles":[{"name":"system","count":1,"vmSize":"Standard_DS2_v2","mode":"System"}]}}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	in.waitSucceeded(t, r.header.Get("Azure-AsyncOperation"))
	list := func(action string) []byte {
		t.Helper()
		r := in.do("POST", mc+"/"+action+"?api-version=2025-10-01", "")
		kcs, _ := r.body["kubeconfigs"].([]any)
		if r.status != 200 || len(kcs) != 1 {
			t.Fatalf("%s: %d %s", action, r.status, r.raw)
		}
		raw, err := base64.StdEncoding.DecodeString(kcs[0].(map[string]any)["value"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	user := list("listClusterUserCredential")
	if again := list("listClusterUserCredential"); string(again) != string(user) {
		t.Error("the kubeconfig changes between reads")
	}
	cfg, err := clientcmd.Load(user)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "c1" || cfg.AuthInfos["clusterUser_rg1_c1"] == nil || len(cfg.AuthInfos["clusterUser_rg1_c1"].ClientCertificateData) == 0 {
		t.Errorf("kubeconfig: %s", user)
	}
	if admin := list("listClusterAdminCredential"); !strings.Contains(string(admin), "clusterAdmin_rg1_c1") {
		t.Errorf("admin kubeconfig: %s", admin)
	}
	restCfg, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(restCfg.Host, in.srv.URL()) {
		t.Errorf("server %s is not serve's %s", restCfg.Host, in.srv.URL())
	}
	// What kubectl gets there, through client-go's transport for the
	// kubeconfig (its CA verifies serve's certificate).
	tr, err := rest.TransportFor(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get(restCfg.Host + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "--control-planes=false") {
		t.Errorf("API request: %d %s", resp.StatusCode, body)
	}
}
