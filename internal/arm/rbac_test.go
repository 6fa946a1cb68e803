package arm

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLinkedAccess(t *testing.T) {
	subnet := "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes"
	pods := "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/pods"
	uai := "/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cp"
	body := `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + uai + `":{}}},
		"properties":{"agentPoolProfiles":[{"name":"a","vnetSubnetID":"` + subnet + `","podSubnetID":"` + pods + `"},{"name":"b","vnetSubnetID":"` + subnet + `"}],
		"frontendIPConfigurations":[{"properties":{"subnet":{"id":"` + subnet + `"}}}],"other":{"id":"` + subnet + `"}}}`
	want := []linked{{identityAssign, uai}, {subnetJoin, subnet}, {subnetJoin, pods}}
	if diff := cmp.Diff(want, linkedAccess([]byte(body)), cmp.AllowUnexported(linked{})); diff != "" {
		t.Errorf("linked checks (-want +got):\n%s", diff)
	}
	if got := linkedAccess([]byte(`{"properties":{"subnet":{"id":"not-an-id"}}}`)); len(got) != 0 {
		t.Errorf("a non-ID: %v", got)
	}
}
