package aks

import (
	"slices"
	"testing"
)

func TestResolveAndUpgrades(t *testing.T) {
	for in, want := range map[string]string{"": "1.36.3", "1.36": "1.36.3", "1.34.3": "1.34.3", "1.37": "1.37.2", " 1.35 ": "1.35.4", "v1.37.2": "1.37.2"} {
		if got, ok := Versions.Resolve(in); !ok || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"1.33", "1.36.2", "2.0", "latest", "1", "1.36.3.4"} {
		if _, ok := Versions.Resolve(bad); ok {
			t.Errorf("Resolve(%q) accepted", bad)
		}
	}
	if got := Versions.Upgrades("1.34.3"); !slices.Equal(got, []string{"1.34.4", "1.35.1", "1.35.4"}) {
		t.Errorf("Upgrades(1.34.3) = %v", got)
	}
	if got := Versions.Upgrades("1.37.2"); len(got) != 0 {
		t.Errorf("Upgrades(1.37.2) = %v", got)
	}
	if Compare("1.36.3", "1.37.0") != -1 || Compare("1.36", "1.36.0") != 0 || Compare("1.10.1", "1.9.9") != 1 {
		t.Error("Compare")
	}
}

func TestNames(t *testing.T) {
	id := ClusterID("c1-rg1-737f5c")
	if len(id) != 8 || id != ClusterID("c1-rg1-737f5c") || id == ClusterID("c2-rg1-737f5c") {
		t.Errorf("ClusterID = %q (must be 8 digits, stable, prefix-dependent)", id)
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			t.Errorf("ClusterID %q is not decimal", id)
		}
	}
	if got := DefaultDNSPrefix("my_cluster.name", "rg-with-a-very-long-name", "737f5ccb-0bd9"); got != "myclustern-rg-with-a-very-l-737f5c" {
		t.Errorf("DefaultDNSPrefix = %q", got)
	}
	if got := DefaultDNSPrefix("1c", "rg", "abcdefgh"); got != "a1c-rg-abcdef" {
		t.Errorf("DefaultDNSPrefix for a digit start = %q", got)
	}
	if got := NodeResourceGroupName("rg1", "c1", "eastus"); got != "MC_rg1_c1_eastus" {
		t.Errorf("NodeResourceGroupName = %q", got)
	}
}
