package nodesim

import (
	"crypto/sha256"
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/vmsizes"
)

// osImage is what a node image reports about itself. The strings are those
// of the node images AKS ships for each OS SKU at the node image version in
// localaks's version table; they are descriptive only.
type osImage struct {
	osImage, kernel, containerd string
}

var osImages = map[string]osImage{
	"ubuntu":      {"Ubuntu 22.04.5 LTS", "5.15.0-1092-azure", "containerd://1.7.28-1"},
	"ubuntu2204":  {"Ubuntu 22.04.5 LTS", "5.15.0-1092-azure", "containerd://1.7.28-1"},
	"ubuntu2404":  {"Ubuntu 24.04.3 LTS", "6.8.0-1036-azure", "containerd://2.1.4-1"},
	"azurelinux":  {"Microsoft Azure Linux 3.0", "6.6.104.2-4.azl3", "containerd://2.0.0"},
	"cblmariner":  {"CBL-Mariner/Linux", "5.15.186.1-1.cm2", "containerd://1.6.26"},
	"windows2022": {"Windows Server 2022 Datacenter", "10.0.20348.4294", "containerd://1.7.20+azure"},
}

// reservedCPU is AKS's kube-reserved CPU in millicores by core count
// (node-resource-reservations); sizes between rows take the lower row.
var reservedCPU = []struct{ cores, milli int64 }{
	{1, 60}, {2, 100}, {4, 140}, {8, 180}, {16, 260}, {32, 420}, {64, 740},
}

// Resources is a node's capacity and allocatable.
type Resources struct {
	Capacity, Allocatable corev1.ResourceList
}

// NodeResources computes a node's capacity from its VM size, OS disk and
// max pods, and its allocatable as AKS reserves for Kubernetes 1.29 and
// later: CPU by core count; memory the lesser of 20 MiB per pod + 50 MiB
// and 25% of memory, plus the 100 Mi eviction threshold; 10% of the OS disk
// (the kubelet's nodefs eviction threshold).
func NodeResources(size vmsizes.Size, maxPods, osDiskGB int) Resources {
	cores := int64(size.VCPUs)
	memKi := int64(size.MemoryGiB * 1024 * 1024)
	diskBytes := int64(osDiskGB) << 30

	var cpuReserved int64 = 60
	for _, r := range reservedCPU {
		if cores >= r.cores {
			cpuReserved = r.milli
		}
	}
	kubeReservedKi := min(int64(20*1024)*int64(maxPods)+50*1024, memKi/4)
	evictionKi := int64(100 * 1024)
	allocMemKi := max(memKi-kubeReservedKi-evictionKi, 0)

	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(cores, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(memKi*1024, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(diskBytes, resource.BinarySI),
		"hugepages-1Gi":                 *resource.NewQuantity(0, resource.DecimalSI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.DecimalSI),
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(cores*1000-cpuReserved, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(allocMemKi*1024, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(int64(math.Floor(float64(diskBytes)*0.9)), resource.DecimalSI),
		"hugepages-1Gi":                 *resource.NewQuantity(0, resource.DecimalSI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.DecimalSI),
	}
	if size.GPUs > 0 {
		capacity["nvidia.com/gpu"] = *resource.NewQuantity(int64(size.GPUs), resource.DecimalSI)
		alloc["nvidia.com/gpu"] = *resource.NewQuantity(int64(size.GPUs), resource.DecimalSI)
	}
	return Resources{Capacity: capacity, Allocatable: alloc}
}

// sizeLetters splits a size name's first part around its core count:
// Standard_DS2_v2 → "ds", ""; Standard_D4ps_v5 → "d", "ps".
func sizeLetters(vmSize string) (prefix, features string) {
	s := strings.ToLower(vmSize)
	s = strings.TrimPrefix(s, "standard_")
	s, _, _ = strings.Cut(s, "_")
	i := 0
	for i < len(s) && (s[i] < '0' || s[i] > '9') {
		i++
	}
	j := i
	for j < len(s) && ((s[j] >= '0' && s[j] <= '9') || s[j] == '-') {
		j++
	}
	return s[:i], s[j:]
}

// arch is a VM size's CPU architecture: the Ampere sizes (a "p" among the
// features, as in Standard_D2ps_v5) are arm64.
func arch(vmSize string) string {
	if _, features := sizeLetters(vmSize); strings.Contains(features, "p") {
		return "arm64"
	}
	return "amd64"
}

// zone is the node's topology zone: "{region}-{n}" in a zone, otherwise the
// fault domain "0" (AKS's value for non-zonal scale sets).
func zone(spec *clusterspec.Spec, n clusterspec.Node) string {
	if n.Zone != "" {
		return spec.Location + "-" + n.Zone
	}
	return "0"
}

// SimulatedAnnotation marks the nodes KWOK plays (KWOK's own convention);
// real nodes, whose kubelets report for themselves, lack it.
const SimulatedAnnotation = "kwok.x-k8s.io/node"

// Simulated reports whether a node is one the simulator plays.
func Simulated(n *corev1.Node) bool { return n.Annotations[SimulatedAnnotation] == "fake" }

// BuildNode is a VMSS instance as it registers: AKS's labels and taints,
// the pool's own, the instance's addresses and pod range, and the status a
// kubelet reports at registration (the Ready condition is the simulator's to
// set).
func BuildNode(spec *clusterspec.Spec, n clusterspec.Node) (*corev1.Node, error) {
	pool, ok := spec.Pool(n.Pool)
	if !ok {
		return nil, fmt.Errorf("node %s: unknown pool %q", n.Name, n.Pool)
	}
	size, ok := vmsizes.Lookup(pool.VMSize)
	if !ok {
		return nil, fmt.Errorf("node %s: unknown VM size %q", n.Name, pool.VMSize)
	}
	osType := strings.ToLower(pool.OSType)
	if osType == "" {
		osType = "linux"
	}
	sku := strings.ToLower(pool.OSSKU)
	if sku == "" {
		sku = "ubuntu"
	}
	img, ok := osImages[sku]
	if !ok {
		img = osImages["ubuntu"]
	}
	a := arch(pool.VMSize)
	z := zone(spec, n)
	storageTier := "Standard_LRS"
	if prefix, features := sizeLetters(size.Name); strings.Contains(prefix, "s") || strings.Contains(features, "s") {
		storageTier = "Premium_LRS"
	}
	labels := map[string]string{
		"agentpool":                                pool.Name,
		"beta.kubernetes.io/arch":                  a,
		"beta.kubernetes.io/instance-type":         size.Name,
		"beta.kubernetes.io/os":                    osType,
		"failure-domain.beta.kubernetes.io/region": spec.Location,
		"failure-domain.beta.kubernetes.io/zone":   z,
		"kubernetes.azure.com/agentpool":           pool.Name,
		ManagedLabel:                               spec.NodeResourceGroup,
		"kubernetes.azure.com/mode":                strings.ToLower(pool.Mode),
		"kubernetes.azure.com/node-image-version":  pool.NodeImageVersion,
		"kubernetes.azure.com/nodepool-type":       "VirtualMachineScaleSets",
		"kubernetes.azure.com/os-sku":              pool.OSSKU,
		"kubernetes.azure.com/role":                "agent",
		"kubernetes.azure.com/storageprofile":      "managed",
		"kubernetes.azure.com/storagetier":         storageTier,
		"kubernetes.io/arch":                       a,
		"kubernetes.io/hostname":                   n.Name,
		"kubernetes.io/os":                         osType,
		"node.kubernetes.io/instance-type":         size.Name,
		"storageprofile":                           "managed",
		"storagetier":                              storageTier,
		"topology.disk.csi.azure.com/zone":         zoneOrEmpty(spec, n),
		"topology.kubernetes.io/region":            spec.Location,
		"topology.kubernetes.io/zone":              z,
	}
	if np := spec.Network.Policy; np != "" {
		labels["kubernetes.azure.com/network-policy"] = np
	} else {
		labels["kubernetes.azure.com/network-policy"] = "none"
	}
	switch spec.Network.Model() {
	case "overlay":
		labels["kubernetes.azure.com/azure-cni-overlay"] = "true"
		labels["kubernetes.azure.com/podnetwork-type"] = "overlay"
	case "azure":
		labels["kubernetes.azure.com/podnetwork-type"] = "vnet"
	}
	if spec.Network.Dataplane == "cilium" {
		labels["kubernetes.azure.com/ebpf-dataplane"] = "cilium"
	}
	if pool.Spot {
		labels["kubernetes.azure.com/scalesetpriority"] = "spot"
	}
	for k, v := range pool.Labels {
		labels[k] = v
	}
	taints, err := parseTaints(pool.Taints)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name, err)
	}
	if pool.Spot {
		taints = append(taints, corev1.Taint{Key: "kubernetes.azure.com/scalesetpriority", Value: "spot", Effect: corev1.TaintEffectNoSchedule})
	}
	res := NodeResources(size, pool.MaxPods, pool.OSDiskSizeGB)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			Labels: labels,
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
				"csi.volume.kubernetes.io/nodeid":                        fmt.Sprintf(`{"disk.csi.azure.com":%q,"file.csi.azure.com":%q}`, n.Name, n.Name),
			},
		},
		Spec: corev1.NodeSpec{ProviderID: n.ProviderID, Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    res.Capacity,
			Allocatable: res.Allocatable,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.InternalIP},
				{Type: corev1.NodeHostName, Address: n.Name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               stableID(n.ProviderID, "machine"),
				SystemUUID:              uuid.NewSHA1(uuid.NameSpaceURL, []byte(n.ProviderID)).String(),
				BootID:                  uuid.NewSHA1(uuid.NameSpaceURL, []byte(n.ProviderID+"/boot")).String(),
				KernelVersion:           img.kernel,
				OSImage:                 img.osImage,
				ContainerRuntimeVersion: img.containerd,
				KubeletVersion:          "v" + strings.TrimPrefix(pool.Version, "v"),
				OperatingSystem:         osType,
				Architecture:            a,
			},
		},
	}
	if !pool.Real {
		node.Annotations[SimulatedAnnotation] = "fake"
	}
	if n.PodCIDR != "" {
		node.Spec.PodCIDR = n.PodCIDR
		node.Spec.PodCIDRs = []string{n.PodCIDR}
	}
	return node, nil
}

func zoneOrEmpty(spec *clusterspec.Spec, n clusterspec.Node) string {
	if n.Zone == "" {
		return ""
	}
	return spec.Location + "-" + n.Zone
}

// stableID is a 32-hex-digit ID derived from s (a machine ID).
func stableID(s, salt string) string {
	sum := sha256.Sum256([]byte(salt + "/" + s))
	return fmt.Sprintf("%x", sum[:16])
}

// parseTaints reads ARM's "key=value:Effect" taints.
func parseTaints(in []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, t := range in {
		kv, effect, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q has no effect", t)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	return out, nil
}
