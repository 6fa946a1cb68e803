package controlplane

import (
	"bytes"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/etcd/server/v3/embed"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/oidcissuer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testLayout is a cluster directory in the default data directory. The
// arguments only name paths in it, so it need not exist, and the golden
// files show the paths a real cluster gets.
const testLayout = clusterspec.Layout("/home/dev/.localaks/clusters/6a1f0c3e9b2d4f7a8c5e1b0d")

// argCases are the specs the golden files show: what the arguments depend
// on is the API server's port and address, the token issuer (the OIDC
// issuer), RBAC, the service range, the Kubernetes version and a rotated
// service-account key; the network model and add-ons are there to show
// that they change nothing.
var argCases = []struct {
	name string
	spec clusterspec.Spec
	// previousKey: a service-account key rotation left the old key.
	previousKey bool
}{
	{
		// az aks create -g rg1 -n c1 (eastus): kubenet, RBAC, the default
		// issuer and version.
		name: "kubenet-defaults",
		spec: clusterspec.Spec{
			Generation: 1, UID: "6a1f0c3e9b2d4f7a8c5e1b0d", Name: "c1", ResourceGroup: "rg1",
			SubscriptionID: "00000000-0000-0000-0000-000000000001", Location: "eastus", NodeResourceGroup: "MC_rg1_c1_eastus",
			KubernetesVersion: "1.36.3", FQDN: "c1-rg1-000000-1a2b3c4d.hcp.eastus.azmk8s.io",
			APIServerPort: 40101, AdvertiseAddress: "198.18.121.7",
			ServiceAccountIssuer: clusterspec.DefaultServiceAccountIssuer, EnableRBAC: true,
			Network: clusterspec.Network{Plugin: "kubenet", PodCIDR: "10.244.0.0/16", ServiceCIDR: "10.0.0.0/16", DNSServiceIP: "10.0.0.10"},
			Pools:   []clusterspec.Pool{{Name: "nodepool1", Mode: "System", VMSize: "Standard_DS2_v2", OSType: "Linux", OSSKU: "Ubuntu", Version: "1.36.3", MaxPods: 110}},
		},
	},
	{
		// Azure CNI overlay, OIDC issuer and workload identity, an older
		// minor, a custom service range, after rotateServiceAccountSigningKeys.
		name: "overlay-oidc-workload-identity",
		spec: clusterspec.Spec{
			Generation: 4, UID: "6a1f0c3e9b2d4f7a8c5e1b0d", Name: "wi", ResourceGroup: "apps",
			SubscriptionID: "00000000-0000-0000-0000-000000000001", Location: "westeurope", NodeResourceGroup: "MC_apps_wi_westeurope",
			KubernetesVersion: "1.35.4", FQDN: "wi-apps-000000-5e6f7a8b.hcp.westeurope.azmk8s.io",
			APIServerPort: 40217, AdvertiseAddress: "198.19.4.200",
			ServiceAccountIssuer: oidcissuer.URL("https://localhost:7443", "westeurope", "72f988bf-86f1-41af-91ab-2d7cd011db47", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
			EnableRBAC:           true, WorkloadIdentity: true,
			Network: clusterspec.Network{Plugin: "azure", PluginMode: "overlay", Policy: "cilium", Dataplane: "cilium",
				PodCIDR: "192.168.0.0/16", ServiceCIDR: "172.16.0.0/16", DNSServiceIP: "172.16.0.10"},
		},
		previousKey: true,
	},
	{
		// Azure CNI (pods on the node subnet), RBAC off, the application
		// gateway ingress controller and application routing.
		name: "azure-cni-rbac-off-agic",
		spec: clusterspec.Spec{
			Generation: 2, UID: "6a1f0c3e9b2d4f7a8c5e1b0d", Name: "legacy", ResourceGroup: "rg1",
			SubscriptionID: "00000000-0000-0000-0000-000000000001", Location: "eastus", NodeResourceGroup: "MC_rg1_legacy_eastus",
			KubernetesVersion: "1.34.4", FQDN: "legacy-rg1-000000-9c0d1e2f.hcp.eastus.azmk8s.io",
			APIServerPort: 40333, AdvertiseAddress: "198.18.3.17",
			ServiceAccountIssuer: clusterspec.DefaultServiceAccountIssuer, EnableRBAC: false, AppRouting: true,
			AGIC:    &clusterspec.AGIC{GatewayID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/MC_rg1_legacy_eastus/providers/Microsoft.Network/applicationGateways/applicationgateway6a1f0c3e"},
			Network: clusterspec.Network{Plugin: "azure", Policy: "azure", ServiceCIDR: "10.2.0.0/16", DNSServiceIP: "10.2.0.10"},
		},
	},
}

// TestComponentArgs compares every component's arguments with the golden
// files in testdata/<case>/ and parses them with the component's own flag
// sets, so that a flag upstream renames or drops fails here rather than
// at a cluster's start.
func TestComponentArgs(t *testing.T) {
	client, peer, ok := etcdSockets(string(testLayout))
	if !ok {
		t.Fatalf("%s: too long for etcd's sockets", testLayout)
	}
	golden(t, filepath.Join("testdata", "etcd.golden"), etcdSettings(etcdConfig(testLayout, client, peer)))
	if parseAPIServerFlags([]string{"--no-such-flag=1"}) == nil || parseSchedulerFlags([]string{"--controllers=*"}) == nil {
		t.Error("flags no component has parse")
	}
	for _, tc := range argCases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			components := []struct {
				name  string
				args  []string
				parse func([]string) error
			}{
				{"kube-apiserver", apiServerArgs(testLayout, &s, client.String(), tc.previousKey), parseAPIServerFlags},
				{"kube-controller-manager", controllerManagerArgs(testLayout, &s), parseControllerManagerFlags},
				{"kube-scheduler", schedulerArgs(testLayout, &s), parseSchedulerFlags},
			}
			for _, c := range components {
				golden(t, filepath.Join("testdata", tc.name, c.name+".golden"), c.args)
				if err := c.parse(c.args); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
		})
	}
}

// The arguments go through the same flag sets the components run with.

func parseAPIServerFlags(args []string) error {
	return parseFlags("kube-apiserver", apiserveroptions.NewServerRunOptions().Flags(), args)
}

func parseControllerManagerFlags(args []string) error {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return err
	}
	return parseFlags("kube-controller-manager", s.Flags(kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases()), args)
}

func parseSchedulerFlags(args []string) error {
	return parseFlags("kube-scheduler", *scheduleroptions.NewOptions().Flags, args)
}

// TestEtcdSocketsTooLong: a data directory too deep for a unix socket
// gets no socket URLs (etcdURLs falls back to loopback TCP).
func TestEtcdSocketsTooLong(t *testing.T) {
	// The longest directory whose client socket path stays under the limit.
	dir := "/" + strings.Repeat("d", maxSocketPath-len("/etcd-client.sock")-2)
	if _, _, ok := etcdSockets(dir); !ok {
		t.Errorf("%d-byte directory: no sockets", len(dir))
	}
	if _, _, ok := etcdSockets(dir + "d"); ok {
		t.Errorf("%d-byte directory: sockets of %d bytes", len(dir)+1, len(dir)+1+len("/etcd-client.sock"))
	}
}

// etcdSettings lists what cfg sets apart from etcd's defaults, one
// "Field: value" a line in the struct's order: a new setting shows in the
// golden file without the test naming it. (The logger is set by startEtcd.)
func etcdSettings(cfg *embed.Config) []string {
	v, def := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(embed.NewConfig()).Elem()
	var out []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Type.Kind() == reflect.Func {
			continue
		}
		if reflect.DeepEqual(v.Field(i).Interface(), def.Field(i).Interface()) {
			continue
		}
		out = append(out, f.Name+": "+settingValue(v.Field(i).Interface()))
	}
	return out
}

func settingValue(v any) string {
	if urls, ok := v.([]url.URL); ok {
		s := make([]string, len(urls))
		for i, u := range urls {
			s[i] = u.String()
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprint(v)
}

// golden compares lines with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, lines []string) {
	t.Helper()
	got := []byte(strings.Join(lines, "\n") + "\n")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
	}
}
