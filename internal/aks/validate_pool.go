package aks

import (
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/vmsizes"
)

// AKS's rules for a pool's spec.

// ValidatePool checks a pool (already defaulted) for cluster c.
func (v *Rules) ValidatePool(c *Cluster, p *Pool) error {
	pp := &p.Props
	if err := ValidatePoolName(p.Record.Name, pp.OSType); err != nil {
		return err
	}
	if t := pp.Type; t != "VirtualMachineScaleSets" {
		return invalidParameter("agentPoolProfile.type", "Agent pool type '%s' is not supported by localaks; use VirtualMachineScaleSets", t)
	}
	if pp.OSType != "Linux" && pp.OSType != "Windows" {
		return invalidParameter("agentPoolProfile.osType", "OS type '%s' is not supported; use Linux or Windows", pp.OSType)
	}
	if pp.Mode != "System" && pp.Mode != "User" {
		return invalidParameter("agentPoolProfile.mode", "Agent pool mode '%s' is not supported; use System or User", pp.Mode)
	}
	size, ok := vmsizes.Lookup(pp.VMSize)
	if !ok {
		return badRequest("InvalidParameter", "vmSize",
			"The requested VM size %s is not available in the current region. The sizes available in the current region are: %s. Find out more on the available VM sizes in each region at https://aka.ms/azure-regions.",
			pp.VMSize, allSizes())
	}
	count := *pp.Count
	if pp.Mode == "System" {
		if pp.OSType != "Linux" {
			return invalidParameter("agentPoolProfile.mode", "System node pool '%s' must use the Linux OS type", p.Record.Name)
		}
		if pp.ScaleSetPriority == "Spot" {
			return invalidParameter("agentPoolProfile.mode", "Spot node pool '%s' can not be a system node pool", p.Record.Name)
		}
		if size.VCPUs < 2 || size.MemoryGiB < 4 {
			return invalidParameter("agentPoolProfile.vmSize",
				"System node pool must use VM sku with more than 2 cores and 4GB memory. Nodepool name: %s", p.Record.Name)
		}
	}
	// AKS's own text for a count out of the pool's range (user pools 0–1000,
	// system pools 1–1000).
	if allowedMin := map[bool]int{true: 1, false: 0}[pp.Mode == "System"]; count < allowedMin || count > 1000 {
		return badRequest("InvalidParameter", "agentPoolProfile.count",
			"agentPoolProfile.count was %d. It must be greater or equal to minCount:%d and less than or equal to maxCount:1000. If allowedMinCount was expected to be 0 but is 1: 1) The nodepool is a VMAS pool. 2) api Version is less than 2020-03-01. 3) The node is a system pool.",
			count, allowedMin)
	}
	if isTrue(pp.EnableAutoScaling) {
		if pp.MinCount == nil || pp.MaxCount == nil {
			return invalidParameter("agentPoolProfile.minCount", "Both minCount and maxCount must be set when enableAutoScaling is true for agent pool '%s'", p.Record.Name)
		}
		if *pp.MinCount > *pp.MaxCount || *pp.MinCount < 0 || *pp.MaxCount > 1000 {
			return invalidParameter("agentPoolProfile.minCount", "minCount %d and maxCount %d of agent pool '%s' are not a valid range", *pp.MinCount, *pp.MaxCount, p.Record.Name)
		}
		if count < *pp.MinCount || count > *pp.MaxCount {
			return badRequest("InvalidParameter", "agentPoolProfile.count",
				"Node count %d of agent pool '%s' is not in the autoscaler range [%d, %d].", count, p.Record.Name, *pp.MinCount, *pp.MaxCount)
		}
	} else if pp.MinCount != nil || pp.MaxCount != nil {
		return invalidParameter("agentPoolProfile.minCount", "minCount and maxCount can only be set when enableAutoScaling is true for agent pool '%s'", p.Record.Name)
	}
	maxPods := *pp.MaxPods
	if maxPods < 10 || maxPods > 250 {
		return invalidParameter("agentPoolProfile.maxPods", "Max pods %d of agent pool '%s' is out of range; it must be between 10 and 250", maxPods, p.Record.Name)
	}
	if pp.Mode == "System" && maxPods*max(count, intv(pp.MinCount, 0)) < 30 {
		return invalidParameter("agentPoolProfile.maxPods",
			"System node pool '%s' must support at least 30 pods: %d nodes with maxPods %d support %d", p.Record.Name, count, maxPods, maxPods*count)
	}
	if _, err := ipam.Surge(pp.maxSurge(), count); err != nil {
		return invalidParameter("agentPoolProfile.upgradeSettings.maxSurge", "%v", err)
	}
	if pp.OSDiskSizeGB != nil && (*pp.OSDiskSizeGB < 30 || *pp.OSDiskSizeGB > 2048) {
		return invalidParameter("agentPoolProfile.osDiskSizeGB", "OS disk size %d GB of agent pool '%s' must be between 30 and 2048", *pp.OSDiskSizeGB, p.Record.Name)
	}
	for _, t := range pp.NodeTaints {
		if !taintRule.MatchString(t) {
			return invalidParameter("agentPoolProfile.nodeTaints", "Taint '%s' is not of the form key=value:NoSchedule|PreferNoSchedule|NoExecute", t)
		}
	}
	if err := v.settleNodes(c, p); err != nil {
		return err
	}
	return v.validatePoolVersion(c, p)
}

var taintRule = regexp.MustCompile(`^[a-zA-Z\d][\w\-\./]{0,252}=[a-zA-Z\d]?[\w\-\.]{0,62}:(NoSchedule|PreferNoSchedule|NoExecute)$`)

func allSizes() string {
	var names []string
	for _, s := range vmsizes.All() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// validatePoolVersion resolves a pool's orchestratorVersion and checks its
// skew against the control plane.
func (v *Rules) validatePoolVersion(c *Cluster, p *Pool) error {
	pp := &p.Props
	resolved, ok := Versions.Resolve(pp.OrchestratorVersion)
	if !ok {
		return badRequest("AgentPoolK8sVersionNotSupported", "agentPoolProfile.orchestratorVersion",
			"Version %s is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list", pp.OrchestratorVersion)
	}
	cp := c.Props.CurrentKubernetesVersion
	if cp == "" {
		cp, _ = Versions.Resolve(c.Props.KubernetesVersion)
	}
	if Compare(resolved, cp) > 0 {
		return badRequest("NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion",
			"Node pool version %s and control plane version %s are incompatible. Node pool version cannot be bigger than control plane version.", resolved, cp)
	}
	if minorDistance(resolved, cp) > 2 {
		return badRequest("NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion",
			"Node pool version %s and control plane version %s are incompatible. Minor version of node pool cannot be more than 2 versions less than control plane's version. Minor version of node pool is %s and control plane is %s.",
			resolved, cp, MinorOf(resolved), MinorOf(cp))
	}
	pp.CurrentOrchestratorVersion = resolved
	return nil
}
