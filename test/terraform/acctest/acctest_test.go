package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/test/terraform"
)

// Subset is the part of azurerm's AKS acceptance tests that the suite
// (and so CI) runs: one test per area localaks serves, chosen among those
// that pass (docs/terraform.md has the whole table; `make azurerm-acc`
// runs every test of the families).
var Subset = []string{
	"TestAccKubernetesCluster_userAssignedIdentity",
	"TestAccKubernetesCluster_userAssignedKubeletIdentity",
	"TestAccKubernetesCluster_basicMaintenanceConfigAutoUpgrade",
	"TestAccKubernetesCluster_autoScalingWithMaxCount",
	"TestAccKubernetesCluster_networkPluginMode",
	"TestAccKubernetesCluster_upgradeKubenetToAzureCNIOverlay",
	"TestAccKubernetesCluster_roleBasedAccessControlAADManagedWithLocalAccountDisabled",
	"TestAccKubernetesCluster_privateClusterOnWithPrivateDNSZoneSystem",
	"TestAccKubernetesClusterNodePool_manualScale",
	"TestAccKubernetesClusterNodePool_autoScaleUpdate",
	"TestAccKubernetesClusterNodePool_upgradeSettingsMaxSurge",
	"TestAccKubernetesClusterNodePool_spot",
}

// TestAzurermAcceptance runs Subset and wants every test to pass.
func TestAzurermAcceptance(t *testing.T) {
	ctx := context.Background()
	if _, err := terraform.FindTerraform(ctx); err != nil {
		if os.Getenv("LOCALAKS_E2E_REQUIRE_TERRAFORM") != "" {
			t.Fatalf("Terraform: %v", err)
		}
		t.Skipf("Terraform: %v; skipping", err)
	}
	results, err := Run(ctx, Options{Run: "^(" + strings.Join(Subset, "|") + ")$", Parallel: 6, Timeout: 9 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Name] = true
		t.Logf("%s %s (%s)", r.Outcome, r.Name, r.Elapsed.Round(time.Second))
		if r.Outcome != "pass" {
			t.Errorf("%s: %s: %s", r.Name, r.Outcome, r.Reason)
		}
	}
	for _, name := range Subset {
		if !seen[name] {
			t.Errorf("%s did not run (no such test in this azurerm?)", name)
		}
	}
}
