package workloads

import (
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/nodeapps"
)

func names(t *testing.T, s *clusterspec.Spec) map[string]bool {
	t.Helper()
	objs, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "" || o.GetName() == "" {
			t.Fatalf("object without kind or name: %v", o.Object)
		}
		out[o.GetKind()+"/"+o.GetName()] = true
	}
	return out
}

func spec(plugin, mode, policy, dataplane string) *clusterspec.Spec {
	return &clusterspec.Spec{Name: "c", KubernetesVersion: "1.35.4", FQDN: "c-1.hcp.eastus.azmk8s.io",
		Network: clusterspec.Network{Plugin: plugin, PluginMode: mode, Policy: policy, Dataplane: dataplane,
			PodCIDR: "10.244.0.0/16", ServiceCIDR: "10.0.0.0/16", DNSServiceIP: "10.0.0.10"}}
}

// Each network configuration gets the agents AKS runs for it.
func TestRenderPerNetworkModel(t *testing.T) {
	common := []string{"Deployment/coredns", "Service/kube-dns", "Deployment/coredns-autoscaler", "Deployment/metrics-server",
		"Deployment/konnectivity-agent", "DaemonSet/azure-ip-masq-agent", "DaemonSet/cloud-node-manager",
		"DaemonSet/csi-azuredisk-node", "DaemonSet/csi-azurefile-node", "StorageClass/default", "StorageClass/managed-csi"}
	cases := []struct {
		name            string
		s               *clusterspec.Spec
		present, absent []string
	}{
		{"kubenet", spec("kubenet", "", "", ""), []string{"DaemonSet/kube-proxy"}, []string{"DaemonSet/azure-cns", "DaemonSet/cilium", "DaemonSet/azure-npm"}},
		{"azure", spec("azure", "", "azure", ""), []string{"DaemonSet/kube-proxy", "DaemonSet/azure-cns", "DaemonSet/azure-npm"}, []string{"DaemonSet/cilium"}},
		{"overlay", spec("azure", "overlay", "", ""), []string{"DaemonSet/kube-proxy", "DaemonSet/azure-cns"}, []string{"DaemonSet/cilium"}},
		{"cilium", spec("azure", "overlay", "cilium", "cilium"), []string{"DaemonSet/cilium", "Deployment/cilium-operator", "DaemonSet/azure-cns"}, []string{"DaemonSet/kube-proxy"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := names(t, tc.s)
			for _, n := range append(common, tc.present...) {
				if !got[n] {
					t.Errorf("missing %s", n)
				}
			}
			for _, n := range tc.absent {
				if got[n] {
					t.Errorf("unexpected %s", n)
				}
			}
		})
	}
}

// kube-dns takes the cluster's dnsServiceIP; kube-proxy runs the cluster's
// version.
func TestRenderUsesSpec(t *testing.T) {
	s := spec("kubenet", "", "", "")
	s.Network.DNSServiceIP = "10.2.0.10"
	objs, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch o.GetKind() + "/" + o.GetName() {
		case "Service/kube-dns":
			if ip := o.Object["spec"].(map[string]any)["clusterIP"]; ip != "10.2.0.10" {
				t.Errorf("kube-dns clusterIP = %v", ip)
			}
		case "DaemonSet/kube-proxy":
			c := o.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			if c["image"] != "mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.35.4" {
				t.Errorf("kube-proxy image = %v", c["image"])
			}
		}
	}
}

// The application routing add-on's objects come and go with it; pruning
// knows every kind the template can render.
func TestRenderAppRouting(t *testing.T) {
	s := spec("kubenet", "", "", "")
	if got := names(t, s); got["IngressClass/webapprouting.kubernetes.azure.com"] || got["Namespace/app-routing-system"] {
		t.Error("app routing objects without the add-on")
	}
	s.AppRouting = true
	got := names(t, s)
	for _, n := range []string{"Namespace/app-routing-system", "IngressClass/webapprouting.kubernetes.azure.com", "Deployment/nginx", "Service/nginx"} {
		if !got[n] {
			t.Errorf("missing %s", n)
		}
	}
	kinds, err := allKinds()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, k := range kinds {
		have[k.Kind] = true
	}
	for _, k := range []string{"Namespace", "IngressClass", "DaemonSet", "Deployment", "Service", "ClusterRole"} {
		if !have[k] {
			t.Errorf("prunable kinds lack %s: %v", k, kinds)
		}
	}
}

// Every image the workloads name, in any configuration, is one real nodes
// are given (nodeapps builds it), under AKS's name.
func TestEveryImageIsBuilt(t *testing.T) {
	for _, s := range []*clusterspec.Spec{
		spec("kubenet", "", "", ""), spec("azure", "", "azure", ""), spec("azure", "overlay", "cilium", "cilium"),
	} {
		s.AppRouting, s.AGIC, s.WorkloadIdentity = true, &clusterspec.AGIC{GatewayID: "g"}, true
		refs, err := ImageRefs(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) < 10 {
			t.Fatalf("only %d images: %v", len(refs), refs)
		}
		if _, err := nodeapps.ImagesFor(refs, nil); err != nil {
			t.Error(err)
		}
		for _, ref := range refs {
			if !strings.HasPrefix(ref, nodeapps.Registry+"/") {
				t.Errorf("%s is not named as AKS names it", ref)
			}
		}
	}
}

// metrics-server's API is registered whatever its pods' nodes are (the
// control plane plays the pod where they are simulated).
func TestMetricsAPIRegistered(t *testing.T) {
	s := spec("kubenet", "", "", "")
	for _, real := range []bool{false, true} {
		s.Pools = []clusterspec.Pool{{Name: "nodepool1", Mode: "System", Real: real}}
		if !names(t, s)["APIService/v1beta1.metrics.k8s.io"] {
			t.Errorf("no APIService (system pool real: %v)", real)
		}
	}
}

// A node holds the images of add-ons the cluster may enable later, at the
// cluster's version.
func TestImageRefsCoverLaterAddOns(t *testing.T) {
	refs, err := ImageRefs(spec("kubenet", "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(refs, " ")
	for _, want := range []string{"/oss/v2/kubernetes/ingress/nginx-ingress-controller:", "/azure-application-gateway/kubernetes-ingress:",
		"/containernetworking/azure-cns:", "/oss/v2/cilium/cilium:", "/oss/kubernetes/kube-proxy:v1.35.4"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %s in %v", want, refs)
		}
	}
}
