package realnode

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kubenet and overlay pods get the node's range on cbr0; Azure CNI pods
// the node's pre-allocated addresses, one range each, the node as gateway.
func TestCNIConfigs(t *testing.T) {
	type rng struct{ Subnet, RangeStart, RangeEnd, Gateway string }
	decode := func(conf string) (string, [][]rng) {
		var c struct {
			Plugins []struct {
				Type string
				IPAM struct{ Ranges [][]rng }
			}
		}
		if err := json.Unmarshal([]byte(conf), &c); err != nil {
			t.Fatal(err)
		}
		return c.Plugins[0].Type, c.Plugins[0].IPAM.Ranges
	}
	conf, err := cniConfig("10.244.3.0/24")
	if err != nil {
		t.Fatal(err)
	}
	typ, ranges := decode(conf)
	if diff := cmp.Diff([][]rng{{{Subnet: "10.244.3.0/24"}}}, ranges); typ != "bridge" || diff != "" {
		t.Errorf("kubenet: %s %s", typ, diff)
	}
	conf, err = azureCNIConfig("10.224.0.0/16", "10.224.0.4", []string{"10.224.0.5", "10.224.0.6"})
	if err != nil {
		t.Fatal(err)
	}
	typ, ranges = decode(conf)
	want := [][]rng{{{"10.224.0.0/16", "10.224.0.5", "10.224.0.5", "10.224.0.4"}, {"10.224.0.0/16", "10.224.0.6", "10.224.0.6", "10.224.0.4"}}}
	if diff := cmp.Diff(want, ranges); typ != "ptp" || diff != "" {
		t.Errorf("azure: %s %s", typ, diff)
	}
	if _, err := azureCNIConfig("10.224.0.0/16", "10.224.0.4", nil); err == nil {
		t.Error("azure CNI without addresses: no error")
	}
}

// Link names fit the kernel's 15 bytes; a namespace's name is stable.
func TestNames(t *testing.T) {
	for _, n := range []string{bridgeName(mustPrefix(t, "10.224.0.0/16")), nicName("aks-nodepool1-12345678-vmss00000a")} {
		if len(n) > 15 {
			t.Errorf("link name %q is longer than 15 bytes", n)
		}
	}
	a, b := fabricName("/d", "/subscriptions/s/resourceGroups/MC/providers/Microsoft.Network/virtualNetworks/v"), fabricName("/d", "/subscriptions/s/resourcegroups/mc/providers/microsoft.network/virtualnetworks/v")
	if a != b || fabricName("/e", "x") == fabricName("/d", "x") {
		t.Errorf("fabric names: %s %s", a, b)
	}
	if got := nodeLabelsFlag(map[string]string{"kubernetes.io/hostname": "n", "agentpool": "np", "kubernetes.azure.com/mode": "user"}); got != "agentpool=np,kubernetes.azure.com/mode=user" {
		t.Errorf("labels flag %q", got)
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
