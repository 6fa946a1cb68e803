package aks

import (
	"encoding/json"
	"testing"

	"github.com/localaks/localaks/internal/store"
)

// The service principal's secret is write-only: kept in the store, never
// in a body.
func TestServicePrincipalSecretIsWriteOnly(t *testing.T) {
	c, err := DecodeCluster(&store.Resource{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
		Properties: json.RawMessage(`{"servicePrincipalProfile":{"clientId":"app","secret":"s3cret"},"dnsPrefix":"c"}`)})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.Public()
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := pub["servicePrincipalProfile"].(map[string]any)
	if !ok || sp["clientId"] != "app" {
		t.Fatalf("servicePrincipalProfile = %v, want the client ID", pub["servicePrincipalProfile"])
	}
	if _, has := sp["secret"]; has {
		t.Errorf("the rendered cluster shows the secret: %v", sp)
	}
	if err := c.Encode(); err != nil {
		t.Fatal(err)
	}
	stored, err := DecodeCluster(c.Record)
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.Props.ServicePrincipalProfile; got == nil || got.Secret != "s3cret" {
		t.Errorf("stored profile = %+v, want the secret kept", got)
	}
}
