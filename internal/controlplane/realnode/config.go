package realnode

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
)

// Config is what a node process needs, written by the control plane as
// node.json in the node's directory before it starts the process.
type Config struct {
	Name string `json:"name"`
	// IP is the node's private address (its NIC's, from the ARM model).
	IP string `json:"ip"`
	// Dir is the node's directory (absolute): containerd's and the
	// kubelet's state, the node's kubeconfig and logs.
	Dir string `json:"dir"`
	// Containerd, Runc and CNIDir are the host's programs.
	Containerd string `json:"containerd"`
	Runc       string `json:"runc"`
	CNIDir     string `json:"cniDir"`
	// Sh and Mount run the system images' hook (hook.go).
	Sh    string `json:"sh"`
	Mount string `json:"mount"`
	// Images are image archives every node imports at start (the pause
	// image, images loaded into the cluster).
	Images []string `json:"images"`
	// Version is what the kubelet and kube-proxy report ("v1.35.4"): the
	// pool's, as on AKS (the code is the release localaks is built from).
	Version string `json:"version,omitempty"`
	// NodeImage is the pool's node image version the node was made from.
	NodeImage string `json:"nodeImage,omitempty"`
	// CPUs and MemoryBytes are the node's VM size's: what the kubelet
	// finds as its machine (machine.go).
	CPUs        int   `json:"cpus,omitempty"`
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
	// RegistryCA is the CA containerd trusts for registries (localaks's:
	// its registries are the only ones a node reaches).
	RegistryCA string `json:"registryCA,omitempty"`
	// KubeletArgs and ProxyArgs are the kubelet's and kube-proxy's flags.
	KubeletArgs []string `json:"kubeletArgs"`
	ProxyArgs   []string `json:"proxyArgs"`
}

// The node's directory.
func (c *Config) socket() string         { return nodeSocket }
func (c *Config) containerdConf() string { return filepath.Join(c.Dir, "containerd.toml") }
func (c *Config) cniConfDir() string     { return filepath.Join(c.Dir, "cni") }
func (c *Config) kubeconfig() string     { return filepath.Join(c.Dir, "kubeconfig") }
func (c *Config) kubeletConf() string    { return filepath.Join(c.Dir, "kubelet.yaml") }
func (c *Config) baseSpec() string       { return filepath.Join(c.Dir, "containerd", "base-spec.json") }

// nodeSocket is where a node's containerd listens, in the node's own /run
// (socket paths are short; the host reaches it through the node process's
// root: nodehost.ContainerdSocket); its state and runc's are there too.
const nodeSocket = "/run/containerd/containerd.sock"

// kubeletRoot is the kubelet's root directory in the node's namespace.
const kubeletRoot = "/run/kubelet"

// PauseImage is the sandbox image, named as AKS's node images name it
// [unverified: the tag AKS's current node images pin].
const PauseImage = "mcr.microsoft.com/oss/kubernetes/pause:3.6"

// containerdConfig is the node's containerd configuration (version 2, as
// Debian's containerd 1.6 reads it): its own root, state and socket under
// the node's directory, the CRI plugin with the node's CNI configuration,
// runc with the systemd-less cgroupfs driver the kubelet uses.
func containerdConfig(c *Config) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return fmt.Sprintf(`version = 2
root = %s
state = %s
[grpc]
  address = %s
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %s
  # Hosts without CAP_SYS_RESOURCE (containers, sandboxes) cannot lower an
  # OOM score below the runtime's own; the kubelet asks for -998.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %s
    conf_dir = %s
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      # Every container starts from this spec: containerd's default, with
      # the hook that binds the system images' program (hook.go).
      base_runtime_spec = %s
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = %s
        Root = %s
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %s
`, q(filepath.Join(c.Dir, "containerd", "root")), q("/run/containerd"), q(c.socket()),
		q(PauseImage), q(c.CNIDir), q(c.cniConfDir()), q(c.baseSpec()), q(c.Runc), q("/run/containerd/runc"),
		q(filepath.Join(c.Dir, "containerd", "certs.d")))
}

// cniConfig is the node's pod network (kubenet and overlay: a bridge cbr0
// on the node's pod range, as AKS's kubenet makes it; the fabric routes the
// range to the node).
func cniConfig(podCIDR string) (string, error) {
	pfx, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return "", fmt.Errorf("pod range %q: %w", podCIDR, err)
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "kubenet",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "cbr0", "isGateway": true, "ipMasq": false, "hairpinMode": true, "mtu": 1500,
				"ipam": map[string]any{
					"type": "host-local",
					// In the node's /run: a node that restarts has no pods
					// left, so no addresses either.
					"dataDir": "/run/cni/networks",
					"ranges":  [][]map[string]string{{{"subnet": pfx.Masked().String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	return string(b), err
}

// azureCNIConfig is the node's pod network under Azure CNI: pods take the
// addresses pre-allocated on the node's NIC (the standard ptp and
// host-local plugins, one range per address), each reached through a /32
// route, the node's own address as their gateway; the fabric routes each
// pod address to its node.
func azureCNIConfig(subnet, nodeIP string, podIPs []string) (string, error) {
	pfx, err := netip.ParsePrefix(subnet)
	if err != nil {
		return "", fmt.Errorf("subnet %q: %w", subnet, err)
	}
	if len(podIPs) == 0 {
		return "", fmt.Errorf("the node has no pre-allocated pod addresses")
	}
	var ranges []map[string]string
	for _, ip := range podIPs {
		ranges = append(ranges, map[string]string{"subnet": pfx.Masked().String(), "rangeStart": ip, "rangeEnd": ip, "gateway": nodeIP})
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "azure",
		"plugins": []any{
			map[string]any{
				"type": "ptp", "ipMasq": false, "mtu": 1500,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni/networks",
					"ranges":  [][]map[string]string{ranges},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	return string(b), err
}

// kubeletConfig is the node's KubeletConfiguration: AKS's settings where
// they matter to pods (max pods, cluster DNS, cgroupfs), and what a kubelet
// needs to run in a namespace beside others on one host (cgroup v1
// allowed, no swap check, its own cgroup root, no host-wide eviction by
// disk pressure on a shared disk).
// reserved is what the kubelet keeps from pods: AKS's kube-reserved CPU,
// and its kube-reserved memory with its 100 Mi eviction threshold (the
// threshold itself is off here: the kubelet measures memory use host-wide
// on cgroup v1, not the node's).
type reserved struct {
	cpuMilli, memoryBytes int64
}

func (r reserved) yaml() string {
	if r.cpuMilli <= 0 && r.memoryBytes <= 0 {
		return "evictionHard: {memory.available: \"100Mi\"}\n"
	}
	return fmt.Sprintf("kubeReserved: {cpu: \"%dm\", memory: \"%d\"}\nevictionHard: {}\n", r.cpuMilli, r.memoryBytes)
}

func kubeletConfig(maxPods int, clusterDNS, cgroupRoot, resolvConf, providerID, podLogs, clientCA string, res reserved) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: %s
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: [%s]
maxPods: %d
resolvConf: %s
providerID: %s
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
nodeStatusUpdateFrequency: 10s
imageGCHighThresholdPercent: 100
%sevictionPressureTransitionPeriod: 30s
protectKernelDefaults: false
makeIPTablesUtilChains: true
localStorageCapacityIsolation: true
kernelMemcgNotification: false
podLogsDir: %s
`, clientCA, cgroupRoot, clusterDNS, maxPods, resolvConf, providerID, res.yaml(), podLogs)
}

// nodeLabelsFlag renders labels for --node-labels, leaving out those the
// kubelet sets itself.
func nodeLabelsFlag(labels map[string]string) string {
	own := map[string]bool{"kubernetes.io/hostname": true, "kubernetes.io/os": true, "kubernetes.io/arch": true,
		"beta.kubernetes.io/os": true, "beta.kubernetes.io/arch": true}
	var parts []string
	for k, v := range labels {
		if !own[k] {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
