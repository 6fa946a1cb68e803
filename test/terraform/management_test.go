package terraform

import (
	"strings"
	"testing"
)

// managementConfig: a management-group hierarchy as platform teams write
// it — a platform group, an apps group below it holding the subscription,
// and roles assigned at both to a user-assigned identity (so they reach
// the subscription below). (A custom role at a group is left to the unit
// tests: azurerm waits 20 × 10 s for a deleted role definition to stay
// gone.)
const managementConfig = providerBlock + `
variable "apps_display_name" {
  default = "Applications"
}

data "azurerm_subscription" "current" {}

resource "azurerm_management_group" "platform" {
  name         = "platform"
  display_name = "Platform"
}

resource "azurerm_management_group" "apps" {
  name                       = "apps"
  display_name               = var.apps_display_name
  parent_management_group_id = azurerm_management_group.platform.id
  subscription_ids           = [data.azurerm_subscription.current.subscription_id]
}

resource "azurerm_resource_group" "rg" {
  name     = "tf-mg"
  location = "westeurope"
}

resource "azurerm_user_assigned_identity" "auditor" {
  name                = "auditor"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
}

resource "azurerm_role_assignment" "network_reader" {
  scope                = azurerm_management_group.platform.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_user_assigned_identity.auditor.principal_id
}

resource "azurerm_role_assignment" "reader" {
  scope                = azurerm_management_group.apps.id
  role_definition_name = "Reader"
  principal_id         = azurerm_user_assigned_identity.auditor.principal_id
}

output "apps_parent" {
  value = azurerm_management_group.apps.parent_management_group_id
}
`

// TestManagementGroups: the hierarchy goes through the whole cycle (its
// change renames a group); the subscription sits under apps meanwhile and
// is back under the tenant root after destroy.
func TestManagementGroups(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, managementConfig)
	c := w.srv.Client()
	placed := func(want string) {
		t.Helper()
		if r := w.getTenant("/providers/Microsoft.Management/managementGroups/" + want + "/subscriptions/" + c.SubscriptionID + "?api-version=2021-04-01"); r != 200 {
			t.Errorf("the subscription under %s: %d, want 200", want, r)
		}
	}
	w.cycle(func() {
		placed("apps")
		if out := w.must("output", "-raw", "apps_parent"); !strings.HasSuffix(out, "/managementGroups/platform") {
			t.Errorf("apps' parent: %q", out)
		}
	}, nil, []string{"-var", "apps_display_name=Apps"}, `0 added, 1 changed, 0 destroyed`,
		[]string{"azurerm_management_group.apps", "azurerm_role_assignment.network_reader"}, "tf-mg")
	placed(c.TenantID)
	for _, g := range []string{"apps", "platform"} {
		if r := w.getTenant("/providers/Microsoft.Management/managementGroups/" + g + "?api-version=2021-04-01"); r != 404 {
			t.Errorf("management group %s after destroy: %d, want 404", g, r)
		}
	}
}
