package arm

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func testRegistry() *Registry {
	reg := NewRegistry()
	v := []string{"2021-04-01"}
	for _, t := range []struct {
		ns, typ string
		builtin bool
	}{
		{"Microsoft.Resources", "subscriptions", true},
		{"Microsoft.Resources", "tenants", true},
		{"Microsoft.Resources", "providers", true},
		{"Microsoft.Resources", "subscriptions/providers", true},
		{"Microsoft.Resources", "subscriptions/resourceGroups", true},
		{"Microsoft.Resources", "subscriptions/resourceGroups/resources", true},
		{"Microsoft.Resources", "subscriptions/operationresults", true},
		{"Microsoft.Resources", "tags", true},
		{"Microsoft.ContainerService", "managedClusters", false},
		{"Microsoft.ContainerService", "managedClusters/agentPools", false},
		{"Microsoft.ContainerService", "locations/operations", false},
		{"Microsoft.ContainerService", "locations/orchestrators", false},
		{"Microsoft.ContainerService", "operations", false},
	} {
		reg.Register(&ResourceType{Namespace: t.ns, Type: t.typ, APIVersions: v, Builtin: t.builtin})
	}
	noop := func(context.Context, *Request) (*Response, error) { return NoContent(), nil }
	reg.Lookup("Microsoft.Resources/subscriptions/providers").Actions = map[string]HandlerFunc{"register": noop}
	reg.Lookup("Microsoft.Resources/subscriptions/resourceGroups").Actions = map[string]HandlerFunc{"exportTemplate": noop}
	reg.Lookup("Microsoft.ContainerService/managedClusters").Actions = map[string]HandlerFunc{"listClusterUserCredential": noop}
	return reg
}

func TestParsePath(t *testing.T) {
	reg := testRegistry()
	const s = "/subscriptions/s1"
	mc := s + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
	tests := []struct {
		path, typ, id, action string
		collection            bool
	}{
		{path: "/subscriptions", typ: "Microsoft.Resources/subscriptions", collection: true},
		{path: s, typ: "Microsoft.Resources/subscriptions", id: s},
		{path: "/tenants", typ: "Microsoft.Resources/tenants", collection: true},
		{path: "/providers", typ: "Microsoft.Resources/providers", collection: true},
		{path: "/providers/Microsoft.ContainerService", typ: "Microsoft.Resources/providers", id: "/providers/Microsoft.ContainerService"},
		{path: "/providers/microsoft.containerservice/operations", typ: "Microsoft.ContainerService/operations", collection: true},
		{path: s + "/providers", typ: "Microsoft.Resources/subscriptions/providers", id: s, collection: true},
		{path: s + "/providers/microsoft.containerservice", typ: "Microsoft.Resources/subscriptions/providers",
			id: s + "/providers/Microsoft.ContainerService"},
		{path: s + "/providers/Microsoft.ContainerService/register", typ: "Microsoft.Resources/subscriptions/providers",
			id: s + "/providers/Microsoft.ContainerService", action: "register"},
		{path: s + "/resourcegroups", typ: "Microsoft.Resources/subscriptions/resourceGroups", id: s, collection: true},
		{path: s + "/resourcegroups/RG", typ: "Microsoft.Resources/subscriptions/resourceGroups", id: s + "/resourceGroups/RG"},
		{path: s + "/resourcegroups/RG/exportTemplate", typ: "Microsoft.Resources/subscriptions/resourceGroups",
			id: s + "/resourceGroups/RG", action: "exportTemplate"},
		{path: s + "/resourcegroups/RG/resources", typ: "Microsoft.Resources/subscriptions/resourceGroups/resources",
			id: s + "/resourceGroups/RG", collection: true},
		{path: s + "/operationresults/abc", typ: "Microsoft.Resources/subscriptions/operationresults", id: s + "/operationresults/abc"},
		{path: s + "/providers/Microsoft.ContainerService/managedClusters", typ: "Microsoft.ContainerService/managedClusters",
			id: s, collection: true},
		{path: s + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters", typ: "Microsoft.ContainerService/managedClusters",
			id: s + "/resourceGroups/rg", collection: true},
		{path: strings.ToLower(mc), typ: "Microsoft.ContainerService/managedClusters",
			id: s + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"},
		{path: mc + "/agentpools", typ: "Microsoft.ContainerService/managedClusters/agentPools", id: mc, collection: true},
		{path: mc + "/agentPools/np1", typ: "Microsoft.ContainerService/managedClusters/agentPools", id: mc + "/agentPools/np1"},
		{path: mc + "/listClusterUserCredential", typ: "Microsoft.ContainerService/managedClusters", id: mc, action: "listClusterUserCredential"},
		{path: mc + "/providers/Microsoft.Resources/tags/default", typ: "Microsoft.Resources/tags", id: mc + "/providers/Microsoft.Resources/tags/default"},
		{path: s + "/providers/Microsoft.Resources/tags/default", typ: "Microsoft.Resources/tags", id: s + "/providers/Microsoft.Resources/tags/default"},
		{path: s + "/providers/Microsoft.ContainerService/locations/eastus/operations/op1", typ: "Microsoft.ContainerService/locations/operations",
			id: s + "/providers/Microsoft.ContainerService/locations/eastus/operations/op1"},
		{path: s + "/providers/Microsoft.ContainerService/locations/eastus/orchestrators", typ: "Microsoft.ContainerService/locations/orchestrators",
			id: s + "/providers/Microsoft.ContainerService/locations/eastus", collection: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r, err := reg.parsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Type.FullType(); got != tt.typ {
				t.Errorf("type = %q, want %q", got, tt.typ)
			}
			if got := r.ID.String(); got != tt.id {
				t.Errorf("id = %q, want %q", got, tt.id)
			}
			if r.Collection != tt.collection || r.Action != tt.action {
				t.Errorf("collection, action = %v, %q; want %v, %q", r.Collection, r.Action, tt.collection, tt.action)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		path, code string
	}{
		{"/subscriptions/s/foo", "NotFound"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Nope/things/x", "InvalidResourceNamespace"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/snapshots/x", "InvalidResourceType"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService", "InvalidResourceType"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/bogus", "InvalidResourceType"},
	}
	for _, tt := range tests {
		_, err := reg.parsePath(tt.path)
		if err == nil || err.Code != tt.code || err.Status >= 500 {
			t.Errorf("parsePath(%q) = %v, want code %s", tt.path, err, tt.code)
		}
	}
}

// FuzzParsePath checks that no path makes the router panic or answer with
// anything but a route or a client error.
func FuzzParsePath(f *testing.F) {
	reg := testRegistry()
	for _, s := range []string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/agentPools/a",
		"/providers", "//subscriptions//x/providers/ns/register", "/subscriptions/s/providers/Microsoft.Resources/tags/default",
		"/subscriptions/s/resourceGroups/rg/providers/A/b/c/providers/D/e/f/g",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, err := reg.parsePath(path)
		if err != nil {
			if err.Status < 400 || err.Status >= 500 {
				t.Fatalf("parsePath(%q): status %d", path, err.Status)
			}
			return
		}
		if r.Type == nil {
			t.Fatalf("parsePath(%q): route without type", path)
		}
	})
}

func TestPickMethodNotAllowed(t *testing.T) {
	reg := testRegistry()
	s := NewServer(Config{Registry: reg})
	route, _ := reg.parsePath("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c")
	route.Type.Get = func(context.Context, *Request) (*Response, error) { return OK(nil), nil }
	for method, want := range map[string]bool{http.MethodGet: true, http.MethodPut: false, http.MethodPost: false} {
		req := &Request{HTTP: &http.Request{Method: method}, Route: route}
		if got := s.pick(req) != nil; got != want {
			t.Errorf("%s: handler found = %v, want %v", method, got, want)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
