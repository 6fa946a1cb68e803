package aks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/graph"
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

// TestCloudConfigServicePrincipal: a service-principal cluster's cloud
// controller signs in as that principal when the directory has it (with
// the cluster's secret for it), else with the credentials localaks keeps.
func TestCloudConfigServicePrincipal(t *testing.T) {
	e := newEnv(t)
	if _, err := e.create("c", `{"dnsPrefix":"c","servicePrincipalProfile":{"clientId":"app-1","secret":"s1"},"agentPoolProfiles":[{"name":"np","count":1}]}`); err != nil {
		t.Fatal(err)
	}
	e.rec.TenantOf = func(string) string { return "tenant" }
	cloud := func() (string, string) {
		var id, secret string
		e.update(func(tx store.Tx) error {
			s, err := e.rec.BuildSpec(tx, clusterRID("c").String(), nil)
			if err != nil {
				return err
			}
			id, secret = s.Cloud.AADClientID, s.Cloud.AADClientSecret
			return nil
		})
		return id, secret
	}
	if id, _ := cloud(); id == "app-1" {
		t.Errorf("an unknown principal's credentials in the cloud config: %q", id)
	}
	e.update(func(tx store.Tx) error {
		return graph.New(e.st).EnsureServicePrincipal(tx, "tenant", "app-1", "00000000-0000-0000-0000-0000000000aa", "sp", "s1", false)
	})
	if id, secret := cloud(); id != "app-1" || secret != "s1" {
		t.Errorf("the principal's cloud config: %q %q", id, secret)
	}
}

// TestAuthorizedIPRanges: AKS's rules for the API server's authorized
// ranges.
func TestAuthorizedIPRanges(t *testing.T) {
	on := true
	for _, tc := range []struct {
		ap   APIServerAccessProfile
		want string
	}{
		{APIServerAccessProfile{AuthorizedIPRanges: []string{"20.1.2.3", "20.1.0.0/16"}}, ""},
		{APIServerAccessProfile{AuthorizedIPRanges: []string{"0.0.0.0/32"}}, ""},
		{APIServerAccessProfile{AuthorizedIPRanges: []string{"20.1.2.3/32"}, EnablePrivateCluster: &on}, "Private cluster cannot be enabled with AuthorizedIPRanges."},
		{APIServerAccessProfile{AuthorizedIPRanges: []string{"0.0.0.0/32", "20.1.2.3"}}, "Setting apiServerAuthorizedIPRange to 0.0.0.0/32 is not allowed with other IP ranges"},
		{APIServerAccessProfile{AuthorizedIPRanges: []string{"not-an-ip"}}, "is not an IPv4 address or CIDR"},
		{APIServerAccessProfile{AuthorizedIPRanges: []string{"2001:db8::/32"}}, "is not an IPv4 address or CIDR"},
	} {
		err := validateAPIServerAccess(&tc.ap)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "InvalidParameter")) {
			t.Errorf("%v: %v, want %q", tc.ap.AuthorizedIPRanges, err, tc.want)
		}
	}
}
