package apiversions

import (
	"regexp"
	"slices"
	"sort"
	"testing"
)

var version = regexp.MustCompile(`^\d{4}-\d{2}(-\d{2})?(-preview|-beta|-alpha)?$`)

func TestData(t *testing.T) {
	if len(Types()) == 0 {
		t.Fatal("no types")
	}
	for typ, e := range Types() {
		if e.Source == "" || len(e.Versions) == 0 {
			t.Errorf("%s: no source or no versions", typ)
		}
		if !sort.IsSorted(sort.Reverse(sort.StringSlice(e.Versions))) {
			t.Errorf("%s: versions not newest first", typ)
		}
		for i, v := range e.Versions {
			if !version.MatchString(v) || i > 0 && v == e.Versions[i-1] {
				t.Errorf("%s: bad or repeated version %q", typ, v)
			}
		}
	}
}

// TestClients: every version a real client pins for a type is accepted.
func TestClients(t *testing.T) {
	for client, pins := range Clients() {
		for typ, v := range pins {
			if !Has(typ) {
				t.Errorf("%s pins %s for %s, which has no entry", client, v, typ)
			} else if !slices.Contains(For(typ), v) {
				t.Errorf("%s pins %s for %s, which is not accepted", client, v, typ)
			}
		}
	}
}

func TestForChildTypes(t *testing.T) {
	child := For("Microsoft.Network/networkSecurityGroups/securityRules")
	if !slices.Equal(child, For("Microsoft.Network/networkSecurityGroups")) {
		t.Error("a child type does not share its parent's versions")
	}
	if Has("Microsoft.Nothing/things") {
		t.Error("an unknown type has versions")
	}
	if !slices.Contains(For("microsoft.authorization/ROLEDEFINITIONS"), "2022-05-01-preview") {
		t.Error("type names are not case-insensitive")
	}
}
