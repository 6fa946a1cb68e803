package resourceid

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const sub = "/subscriptions/00000000-0000-0000-0000-000000000001"
	tests := []struct {
		in, str, typ, parent, name, sub, rg, ns string
		topLevel                                bool
	}{
		{in: sub, str: sub, typ: "Microsoft.Resources/subscriptions", parent: "", name: "00000000-0000-0000-0000-000000000001",
			sub: "00000000-0000-0000-0000-000000000001", ns: "Microsoft.Resources"},
		{in: sub + "/resourceGroups/rg1", str: sub + "/resourceGroups/rg1", typ: "Microsoft.Resources/resourceGroups", parent: sub,
			name: "rg1", sub: "00000000-0000-0000-0000-000000000001", rg: "rg1", ns: "Microsoft.Resources"},
		{in: "//subscriptions/x/resourcegroups/RG//providers/Microsoft.Network/virtualNetworks/v1/",
			str: "/subscriptions/x/resourcegroups/RG/providers/Microsoft.Network/virtualNetworks/v1",
			typ: "Microsoft.Network/virtualNetworks", parent: "/subscriptions/x/resourcegroups/RG", name: "v1", sub: "x", rg: "RG",
			ns: "Microsoft.Network", topLevel: true},
		{in: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1/subnets/s1",
			str: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1/subnets/s1",
			typ: "Microsoft.Network/virtualNetworks/subnets", parent: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1",
			name: "s1", sub: "x", rg: "rg", ns: "Microsoft.Network"},
		{in: "/subscriptions/x/providers/Microsoft.ContainerService", str: "/subscriptions/x/providers/Microsoft.ContainerService",
			typ: "Microsoft.Resources/providers", parent: "/subscriptions/x", name: "Microsoft.ContainerService", sub: "x", ns: "Microsoft.Resources"},
		{in: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/providers/Microsoft.Resources/tags/default",
			str: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/providers/Microsoft.Resources/tags/default",
			typ: "Microsoft.Resources/tags", parent: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
			name: "default", sub: "x", rg: "rg", ns: "Microsoft.Resources"},
		{in: "/tenants/t1", str: "/tenants/t1", typ: "Microsoft.Resources/tenants", name: "t1", ns: "Microsoft.Resources"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ what, got, want string }{
				{"String", id.String(), tt.str}, {"Type", id.Type(), tt.typ}, {"Parent", id.Parent().String(), tt.parent},
				{"Name", id.Name(), tt.name}, {"Subscription", id.SubscriptionID(), tt.sub}, {"ResourceGroup", id.ResourceGroupName(), tt.rg},
				{"Namespace", id.Namespace(), tt.ns}, {"Key", id.Key(), strings.ToLower(tt.str)},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if id.IsTopLevel() != tt.topLevel {
				t.Errorf("IsTopLevel = %v, want %v", id.IsTopLevel(), tt.topLevel)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "/", "/subscriptions", "/subscriptions/x/resourceGroups", "/foo/bar",
		"/subscriptions/x/providers/Microsoft.Network/virtualNetworks/v/resourceGroups/rg",
	} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
		}
	}
}

func TestChildAndExtension(t *testing.T) {
	rg := ResourceGroup("s", "rg")
	vnet := rg.Child("Microsoft.Network", "virtualNetworks", "v")
	if got, want := vnet.String(), "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"; got != want {
		t.Errorf("Child = %q, want %q", got, want)
	}
	subnet := vnet.Child("Microsoft.Network", "subnets", "a")
	if got, want := subnet.String(), vnet.String()+"/subnets/a"; got != want {
		t.Errorf("nested Child = %q, want %q", got, want)
	}
	tags := vnet.Extension("Microsoft.Resources", "tags", "default")
	if got, want := tags.Parent().String(), vnet.String(); got != want {
		t.Errorf("Extension parent = %q, want %q", got, want)
	}
	if !vnet.Equal(MustParse(strings.ToUpper(vnet.String()))) {
		t.Error("IDs differing in case are not Equal")
	}
}

// FuzzParse checks that Parse never panics and that what it accepts
// round-trips: the rendered ID parses to the same key, and its parent chain
// ends at the root.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a",
		"//subscriptions//s/", "/providers/Microsoft.Compute/operations/x", "/tenants/t", "/subscriptions/s/providers/NS",
		"/subscriptions/s/resourceGroups/rg/providers/A.B/t/n/providers/Microsoft.Resources/tags/default",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(id.String())
		if err != nil {
			t.Fatalf("rendered ID %q does not parse: %v", id.String(), err)
		}
		if again.Key() != id.Key() {
			t.Fatalf("round trip changed key: %q → %q", id.Key(), again.Key())
		}
		_ = id.Type()
		for cur, n := id, 0; !cur.IsZero(); cur, n = cur.Parent(), n+1 {
			if n > len(s) {
				t.Fatalf("parent chain of %q does not end", s)
			}
		}
	})
}
