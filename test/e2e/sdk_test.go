package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// sdkOptions points the Azure SDK for Go at s, as the README shows.
func (s *serve) sdkOptions(audience string) (azcore.ClientOptions, *arm.ClientOptions) {
	c := azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: s.URL + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: s.URL, Audience: audience},
			},
		},
		Transport: s.http,
	}
	return c, &arm.ClientOptions{ClientOptions: c}
}

func (s *serve) credential(t *testing.T, tenant string) azcore.TokenCredential {
	t.Helper()
	opts, _ := s.sdkOptions("https://management.core.windows.net/")
	cred, err := azidentity.NewClientSecretCredential(tenant, s.Client.ClientID, s.Client.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func respErr(err error) *azcore.ResponseError {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// TestSDKResourceGroups drives resource groups, subscriptions, providers
// and tags with azidentity and the armresources / armsubscriptions
// clients.
func TestSDKResourceGroups(t *testing.T) {
	t.Parallel()
	s := startServe(t, "")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, armOpts := s.sdkOptions("https://management.core.windows.net/")

	subs, err := armsubscriptions.NewClient(cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for pager := subs.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range page.Value {
			ids = append(ids, *sub.SubscriptionID)
		}
	}
	if len(ids) != 1 || ids[0] != s.Client.SubscriptionID {
		t.Errorf("subscriptions = %v", ids)
	}
	got, err := subs.Get(ctx, s.Client.SubscriptionID, nil)
	if err != nil || *got.State != armsubscriptions.SubscriptionStateEnabled || *got.TenantID != s.Client.TenantID {
		t.Errorf("subscription get = %+v, %v", got, err)
	}

	groups, err := armresources.NewResourceGroupsClient(s.Client.SubscriptionID, cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	created, err := groups.CreateOrUpdate(ctx, "sdk-rg", armresources.ResourceGroup{
		Location: to.Ptr("westus2"), Tags: map[string]*string{"owner": to.Ptr("sdk")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Name != "sdk-rg" || *created.Location != "westus2" || *created.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("create = %+v", created.ResourceGroup)
	}
	exists, err := groups.CheckExistence(ctx, "SDK-RG", nil)
	if err != nil || !exists.Success {
		t.Errorf("CheckExistence = %v, %v", exists.Success, err)
	}
	upd, err := groups.Update(ctx, "sdk-rg", armresources.ResourceGroupPatchable{Tags: map[string]*string{"owner": to.Ptr("sdk"), "stage": to.Ptr("2")}}, nil)
	if err != nil || *upd.Tags["stage"] != "2" {
		t.Errorf("Update = %+v, %v", upd.Tags, err)
	}
	tags, err := armresources.NewTagsClient(s.Client.SubscriptionID, cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	poll, err := tags.BeginUpdateAtScope(ctx, *created.ID, armresources.TagsPatchResource{
		Operation: to.Ptr(armresources.TagsPatchOperationDelete), Properties: &armresources.Tags{Tags: map[string]*string{"stage": to.Ptr("2")}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := poll.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, still := tr.Properties.Tags["stage"]; still || *tr.Properties.Tags["owner"] != "sdk" {
		t.Errorf("tags after delete operation = %v", tr.Properties.Tags)
	}
	for i := 0; i < 3; i++ {
		if _, err := groups.CreateOrUpdate(ctx, "page-"+string(rune('a'+i)), armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for pager := groups.NewListPager(&armresources.ResourceGroupsClientListOptions{Top: to.Ptr[int32](2)}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Value) > 2 {
			t.Errorf("page of %d with $top=2", len(page.Value))
		}
		for _, g := range page.Value {
			names = append(names, *g.Name)
		}
	}
	if len(names) != 4 {
		t.Errorf("paged list = %v", names)
	}

	// Errors arrive as azcore.ResponseError with ARM's code.
	_, err = groups.Get(ctx, "missing", nil)
	if re := respErr(err); re == nil || re.StatusCode != http.StatusNotFound || re.ErrorCode != "ResourceGroupNotFound" {
		t.Errorf("get missing = %v", err)
	}
	_, err = groups.CreateOrUpdate(ctx, "noloc", armresources.ResourceGroup{}, nil)
	if re := respErr(err); re == nil || re.StatusCode != http.StatusBadRequest || re.ErrorCode != "LocationRequired" {
		t.Errorf("create without location = %v", err)
	}
	_, err = groups.CreateOrUpdate(ctx, "trailing.", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
	if re := respErr(err); re == nil || re.ErrorCode != "InvalidResourceGroup" {
		t.Errorf("create with a trailing period = %v", err)
	}

	providers, err := armresources.NewProvidersClient(s.Client.SubscriptionID, cred, armOpts)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := providers.Register(ctx, "Microsoft.Resources", nil)
	if err != nil || *reg.RegistrationState != "Registered" {
		t.Errorf("register = %+v, %v", reg.Provider, err)
	}

	// Delete is a long-running operation; the SDK's poller follows it.
	poller, err := groups.BeginDelete(ctx, "sdk-rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second}); err != nil {
		t.Fatal(err)
	}
	exists, err = groups.CheckExistence(ctx, "sdk-rg", nil)
	if err != nil || exists.Success {
		t.Errorf("after delete CheckExistence = %v, %v", exists.Success, err)
	}
}

// TestSDKAuthentication covers the other ways SDK users sign in: the
// ADFS-style tenant "adfs" (which needs no DisableInstanceDiscovery, so
// environment-only configuration works), and an audience naming localaks
// itself; and that a restricted instance refuses other secrets.
func TestSDKAuthentication(t *testing.T) {
	t.Parallel()
	s := startServe(t, "", "--service-principal", "0f1e2d3c-0000-4000-8000-000000000001=right")
	ctx := context.Background()
	opts, armOpts := s.sdkOptions(s.URL)
	adfs, err := azidentity.NewClientSecretCredential("adfs", s.Client.ClientID, s.Client.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := armresources.NewResourceGroupsClient(s.Client.SubscriptionID, adfs, armOpts)
	if _, err := groups.CreateOrUpdate(ctx, "adfs-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatalf("with tenant adfs and audience %s: %v", s.URL, err)
	}
	configured, _ := azidentity.NewClientSecretCredential(s.Client.TenantID, "0f1e2d3c-0000-4000-8000-000000000001", "right",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if _, err := configured.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.URL + "/.default"}}); err != nil {
		t.Errorf("configured service principal: %v", err)
	}
	wrong, _ := azidentity.NewClientSecretCredential(s.Client.TenantID, "0f1e2d3c-0000-4000-8000-000000000001", "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if _, err := wrong.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.URL + "/.default"}}); err == nil {
		t.Error("wrong secret got a token")
	}
	// The CA bundle written for other tools holds the local CA.
	if data, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca-bundle.pem")); err != nil || len(data) == 0 {
		t.Errorf("ca-bundle.pem: %v", err)
	}
}
