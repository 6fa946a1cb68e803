// Package nodeapps is what runs in the containers of AKS's system images
// on real nodes. No registry is reachable from this offline host, so
// localaks builds every image its system workloads name (with AKS's names)
// itself: in each image the entrypoint the real image has, a link to this
// very binary, which the node binds into the container as it starts
// (realnode's hook.go). Started under one of those
// names, the binary runs that program: the upstream one, linked in (CoreDNS,
// metrics-server), or, for a component whose job localaks's control plane
// does itself on this machine, a standby that says so in the container's
// log and holds the pod's place until it is stopped (a few bytes of
// machine code, elf.go).
package nodeapps

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// Registry is the host of every image AKS's system workloads name.
const Registry = "mcr.microsoft.com"

// Binary is where the image's layer holds this binary; every entrypoint
// is a symbolic link to it.
const Binary = "/usr/lib/localaks/localaks"

// Image is one of AKS's system images: its repository (below Registry) and
// the entrypoint the real image has.
type Image struct {
	Repository string
	Entrypoint string
}

// Images lists the system images by repository, with their entrypoints.
// The manifests in internal/workloads name them; a test checks each is
// here.
var Images = []Image{
	{"oss/v2/kubernetes/coredns", "/coredns"},
	{"oss/v2/kubernetes/metrics-server", "/metrics-server"},
	{"oss/v2/kubernetes/autoscaler/cluster-proportional-autoscaler", "/cluster-proportional-autoscaler"},
	{"oss/v2/kubernetes/apiserver-network-proxy/agent", "/proxy-agent"},
	{"oss/kubernetes/kube-proxy", "/usr/local/bin/kube-proxy"},
	{"oss/v2/kubernetes/ip-masq-agent", "/ip-masq-agent"},
	{"oss/kubernetes/azure-cloud-node-manager", "/usr/local/bin/cloud-node-manager"},
	{"oss/v2/kubernetes-csi/livenessprobe", "/livenessprobe"},
	{"oss/v2/kubernetes-csi/csi-node-driver-registrar", "/csi-node-driver-registrar"},
	{"oss/v2/kubernetes-csi/azuredisk-csi", "/azurediskplugin"},
	{"oss/v2/kubernetes-csi/azurefile-csi", "/azurefileplugin"},
	{"containernetworking/azure-cns", "/usr/local/bin/azure-cns"},
	{"containernetworking/azure-npm", "/usr/bin/azure-npm"},
	{"oss/v2/cilium/cilium", "/usr/local/bin/cilium-agent"},
	{"oss/v2/cilium/operator-generic", "/usr/local/bin/cilium-operator-generic"},
	// Built apart: ingress-nginx and Debian's nginx (package ingressnginx).
	{"oss/v2/kubernetes/ingress/nginx-ingress-controller", "/nginx-ingress-controller"},
	{"azure-application-gateway/kubernetes-ingress", "/appgw-ingress"},
	{"oss/v2/azure/workload-identity/webhook", "/manager"},
}

// standbys says, per entrypoint, who does the component's job on
// localaks.
var standbys = map[string]string{
	"cluster-proportional-autoscaler": "CoreDNS's replica count is the Deployment's on localaks; nothing scales it with the cluster's size",
	"proxy-agent":                     "the API server reaches this cluster's kubelets, pods and services through localaks's own tunnel, from inside the real nodes' network namespaces",
	"kube-proxy":                      "each real node runs its own kube-proxy (iptables mode) in the node's network namespace, beside its kubelet",
	"ip-masq-agent":                   "pods' traffic never leaves the virtual network's namespace on localaks, so there is nothing to masquerade",
	"cloud-node-manager":              "localaks's control plane keeps each node's providerID, addresses and Azure labels from its scale-set instance",
	"livenessprobe":                   "there are no Azure disks or file shares to attach on localaks; the CSI node drivers are not run",
	"csi-node-driver-registrar":       "there are no Azure disks or file shares to attach on localaks; the CSI node drivers are not run",
	"azurediskplugin":                 "there are no Azure disks to attach on localaks; the CSI node driver is not run",
	"azurefileplugin":                 "there are no Azure file shares to mount on localaks; the CSI node driver is not run",
	"azure-cns":                       "localaks's control plane allocates Azure CNI's pod addresses from the nodes' network interfaces",
	"azure-npm":                       "network policy is not enforced on localaks's real nodes yet",
	"cilium-agent":                    "the Cilium dataplane is not run on localaks's real nodes; kube-proxy carries Services",
	"cilium-operator-generic":         "the Cilium dataplane is not run on localaks's real nodes",
	"appgw-ingress":                   "localaks's control plane runs the application gateway ingress controller",
	"manager":                         "localaks's control plane serves the workload identity webhook",
}

// programs are the upstream programs linked in, by entrypoint name
// (package programs registers them).
var programs = map[string]func(args []string) int{}

// Register makes run the program of the entrypoint called name.
func Register(name string, run func(args []string) int) { programs[name] = run }

// Lookup finds an image by reference (registry/repository:tag).
func Lookup(ref string) (Image, bool) {
	repo := strings.TrimPrefix(ref, Registry+"/")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for _, im := range Images {
		if im.Repository == repo {
			return im, true
		}
	}
	return Image{}, false
}

// Main runs the linked-in program argv0 names and returns its exit code,
// or false when argv0 names none, or the binary does not run from the
// system image's layer (at Binary, as in a container).
func Main(argv0 string, args []string) (int, bool) {
	p, ok := programs[path.Base(argv0)]
	if !ok || os.Getenv(programEnv) == "" && !inContainer() {
		return 0, false
	}
	return p(args), true
}

// programEnv, set, lets a program run outside a container (tests).
const programEnv = "LOCALAKS_NODEAPP"

// inContainer tells whether this process runs from the system image's
// layer (the binary at Binary), as it does in a container.
func inContainer() bool {
	exe, err := os.Executable()
	return err == nil && exe == Binary
}

// standbyMessage is what a standby writes to its log.
func standbyMessage(name string) string {
	why := standbys[name]
	if why == "" {
		why = "localaks does not run this component"
	}
	return fmt.Sprintf("%s: not run on localaks: %s. This container holds the pod's place until it is stopped.\n", name, why)
}
