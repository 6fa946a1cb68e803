package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAzVMSSScaleFollows: `az vmss scale` on a node pool's scale set (what
// the cluster autoscaler does to it, through ARM) is carried out as the
// pool's scale: the pool's count follows and the cluster gets the nodes;
// `az vmss delete-instances` removes exactly the instance named, and its
// node.
func TestAzVMSSScaleFollows(t *testing.T) {
	needAz(t)
	t.Parallel()
	s := startServe(t, "")
	kc := s.smallCluster(t, "vs")
	var vmss []string
	mustAz(t, s.localaksAz("vmss", "list", "-g", "MC_vs_c1_eastus", "--query", "[].name")).json(t, &vmss)
	if len(vmss) != 1 {
		t.Fatalf("scale sets: %v", vmss)
	}
	mustAz(t, s.localaksAz("vmss", "scale", "-g", "MC_vs_c1_eastus", "-n", vmss[0], "--new-capacity", "4", "-o", "none"))
	eventually(t, "the pool follows the scale set", 60*time.Second, func() string {
		count := strings.TrimSpace(s.localaksAz("aks", "nodepool", "show", "-g", "vs", "--cluster-name", "c1", "-n", "nodepool1", "--query", "[count, provisioningState]", "-o", "tsv").stdout)
		if n := len(nodes(t, kc)); strings.Fields(count)[0] != "4" || !strings.Contains(count, "Succeeded") || n != 4 {
			return fmt.Sprintf("pool %q, %d nodes", count, n)
		}
		return ""
	})
	var ids []string
	mustAz(t, s.localaksAz("vmss", "list-instances", "-g", "MC_vs_c1_eastus", "-n", vmss[0], "--query", "[].instanceId")).json(t, &ids)
	victim := ids[1]
	mustAz(t, s.localaksAz("vmss", "delete-instances", "-g", "MC_vs_c1_eastus", "-n", vmss[0], "--instance-ids", victim, "-o", "none"))
	eventually(t, "the pool follows the deletion", 60*time.Second, func() string {
		count := strings.TrimSpace(s.localaksAz("aks", "nodepool", "show", "-g", "vs", "--cluster-name", "c1", "-n", "nodepool1", "--query", "count", "-o", "tsv").stdout)
		ns := nodes(t, kc)
		for _, n := range ns {
			if strings.HasSuffix(n.Metadata.Name, fmt.Sprintf("%06s", victim)) {
				return "node of instance " + victim + " still there"
			}
		}
		if count != "3" || len(ns) != 3 {
			return fmt.Sprintf("pool count %q, %d nodes", count, len(ns))
		}
		return ""
	})
}
