package aks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/store"
)

// TestPrepareIdentityBinding: a binding needs the cluster's OIDC issuer
// and an identity that exists.
func TestPrepareIdentityBinding(t *testing.T) {
	e := newEnv(t)
	uami := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wl"
	body := json.RawMessage(`{"managedIdentity":{"resourceId":"` + uami + `"}}`)
	c := &Cluster{Record: &store.Resource{Name: "c1"}}
	err := e.st.View(t.Context(), func(tx store.Tx) error {
		_, err := PrepareIdentityBinding(tx, c, body, nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Errorf("missing identity: %v", err)
	}
	e.update(func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: uami, Type: "Microsoft.ManagedIdentity/userAssignedIdentities", Name: "wl", Location: "eastus",
			Properties: json.RawMessage(`{"tenantId":"t","principalId":"p","clientId":"c"}`)})
	})
	err = e.st.View(t.Context(), func(tx store.Tx) error {
		_, err := PrepareIdentityBinding(tx, c, body, nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "OIDCIssuerNotEnabled") {
		t.Errorf("no OIDC issuer: %v", err)
	}
	on := true
	c.Props.OIDCIssuerProfile = &OIDCIssuerProfile{Enabled: &on, IssuerURL: "https://issuer/"}
	var out json.RawMessage
	err = e.st.View(t.Context(), func(tx store.Tx) error {
		out, err = PrepareIdentityBinding(tx, c, body, nil)
		return err
	})
	if err != nil || !strings.Contains(string(out), `"clientId":"c"`) || !strings.Contains(string(out), `"oidcIssuerUrl":"https://issuer/"`) {
		t.Errorf("binding: %v %s", err, out)
	}
	for _, bad := range []string{"Wl", "1wl", "w_l"} {
		if ValidateIdentityBindingName(bad) == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}
