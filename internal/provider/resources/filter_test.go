package resources

import (
	"testing"

	"github.com/localaks/localaks/internal/store"
)

func TestParseFilter(t *testing.T) {
	rs := []*store.Resource{
		{ID: "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/web-vnet", Name: "web-vnet",
			Type: "Microsoft.Network/virtualNetworks", Location: "eastus", Tags: map[string]string{"env": "prod", "aks-managed-x": "1"}},
		{ID: "/subscriptions/s/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachineScaleSets/pool", Name: "pool",
			Type: "Microsoft.Compute/virtualMachineScaleSets", Location: "westus", Tags: map[string]string{"env": "dev"}},
		{ID: "/subscriptions/s/resourceGroups/rg1", Name: "rg1", Type: "Microsoft.Resources/resourceGroups", Location: "eastus"},
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"web-vnet", "pool", "rg1"}},
		{"resourceType eq 'microsoft.network/virtualnetworks'", []string{"web-vnet"}},
		{"tagName eq 'env'", []string{"web-vnet", "pool"}},
		{"tagName eq 'env' and tagValue eq 'dev'", []string{"pool"}},
		{"substringof('VNET', name)", []string{"web-vnet"}},
		{"startswith(tagName, 'aks-')", []string{"web-vnet"}},
		{"location eq 'eastus' and resourceGroup eq 'RG1'", []string{"web-vnet", "rg1"}},
		{"name eq 'it''s'", nil},
	}
	for _, tt := range tests {
		f, err := parseFilter(tt.filter)
		if err != nil {
			t.Errorf("parseFilter(%q): %v", tt.filter, err)
			continue
		}
		var got []string
		for _, r := range rs {
			if f.match(r) {
				got = append(got, r.Name)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q matched %v, want %v", tt.filter, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q matched %v, want %v", tt.filter, got, tt.want)
			}
		}
	}
	for _, bad := range []string{"tagValue eq 'x'", "foo eq 'x'", "name eq", "name eq 'x' or name eq 'y'", "name eq 'unterminated", "(name eq 'x')"} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("parseFilter(%q) succeeded, want error", bad)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"tagName eq 'a' and tagValue eq 'b'", "substringof('x', name)", "startswith(tagName, 'k')"} {
		f.Add(s)
	}
	r := &store.Resource{ID: "/subscriptions/s/resourceGroups/g", Name: "g", Tags: map[string]string{"a": "b"}}
	f.Fuzz(func(t *testing.T, s string) {
		if fl, err := parseFilter(s); err == nil {
			fl.match(r)
		}
	})
}

func TestValidateGroupName(t *testing.T) {
	for _, ok := range []string{"a", "rg-1", "MC_rg_c_eastus", "a.b", "(x)", "ünïcode", "a_b"} {
		if err := ValidateGroupName(ok); err != nil {
			t.Errorf("ValidateGroupName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"a.", "a b", "a*", "a/b", "a#"} {
		if err := ValidateGroupName(bad); err == nil {
			t.Errorf("ValidateGroupName(%q) succeeded", bad)
		}
	}
}
