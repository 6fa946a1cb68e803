package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/apiversions"
)

// namespaceWide are the listed types whose api-versions follow their
// namespace's rather than a resource type's spec entry: operation
// endpoints, locations and lists that every version of the namespace has.
var namespaceWide = map[string]bool{
	"Microsoft.Resources/tenants": true, "Microsoft.Resources/locations": true, "Microsoft.Resources/resources": true,
	"Microsoft.Resources/tagNames": true, "Microsoft.Resources/operationresults": true,
	"Microsoft.ContainerService/locations/kubernetesVersions": true, "Microsoft.ContainerService/locations/orchestrators": true,
	"Microsoft.ContainerService/operations": true,
}

// TestAPIVersionsFromData: every resource type the providers' listing
// shows takes its api-versions from package apiversions (the specs'
// lists), and each version a real client pins is accepted on a request.
func TestAPIVersionsFromData(t *testing.T) {
	in := start(t, Config{})
	r := in.do("GET", in.sub()+"/providers"+v, "")
	if r.status != 200 {
		t.Fatalf("providers: %d %s", r.status, r.raw)
	}
	seen := 0
	for _, p := range r.body["value"].([]any) {
		p := p.(map[string]any)
		ns := p["namespace"].(string)
		for _, rt := range p["resourceTypes"].([]any) {
			rt := rt.(map[string]any)
			typ := ns + "/" + rt["resourceType"].(string)
			var got []string
			for _, v := range rt["apiVersions"].([]any) {
				got = append(got, v.(string))
			}
			switch {
			case apiversions.Has(typ):
				seen++
				if want := apiversions.For(typ); !slices.Equal(got, want) {
					t.Errorf("%s: api-versions %v, want the data's %v", typ, got, want)
				}
			case !namespaceWide[typ]:
				t.Errorf("%s is served with api-versions that are not in package apiversions", typ)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d listed types checked", seen)
	}
	// What clients pin works on a real request (role definitions at
	// azurerm's 2022-05-01-preview were refused before).
	for client, pins := range apiversions.Clients() {
		for typ, ver := range pins {
			if !strings.EqualFold(typ, "Microsoft.Authorization/roleDefinitions") {
				continue
			}
			r := in.do("GET", in.sub()+"/providers/Microsoft.Authorization/roleDefinitions?api-version="+ver, "")
			if r.status != 200 {
				t.Errorf("%s's role definitions at %s: %d %s", client, ver, r.status, r.raw)
			}
		}
	}
}
