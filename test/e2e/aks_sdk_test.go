package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

var poll = &runtime.PollUntilDoneOptions{Frequency: time.Second}

// TestSDKAKS drives the AKS resource provider with armcontainerservice
// (api-version 2025-02-01): an Azure CNI Overlay cluster, agent pools,
// maintenance configurations, versions and profiles, machines, stop and
// start, the node resource group read with armnetwork and armcompute, and
// AKS's errors.
func TestSDKAKS(t *testing.T) {
	t.Parallel()
	s := startServe(t, "")
	ctx := context.Background()
	cred := s.credential(t, s.Client.TenantID)
	_, opts := s.sdkOptions("https://management.core.windows.net/")
	sub := s.Client.SubscriptionID
	groups, _ := armresources.NewResourceGroupsClient(sub, cred, opts)
	if _, err := groups.CreateOrUpdate(ctx, "sdk", armresources.ResourceGroup{Location: to.Ptr("westus2")}, nil); err != nil {
		t.Fatal(err)
	}
	mcs, err := armcontainerservice.NewManagedClustersClient(sub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	cluster := armcontainerservice.ManagedCluster{
		Location: to.Ptr("westus2"),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Tags:     map[string]*string{"team": to.Ptr("platform")},
		Properties: &armcontainerservice.ManagedClusterProperties{
			DNSPrefix:         to.Ptr("ovl"),
			KubernetesVersion: to.Ptr("1.35"),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{
				Name: to.Ptr("system"), Count: to.Ptr[int32](2), VMSize: to.Ptr("Standard_D4s_v5"),
				Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem), OSType: to.Ptr(armcontainerservice.OSTypeLinux),
			}},
			NetworkProfile: &armcontainerservice.NetworkProfile{
				NetworkPlugin:     to.Ptr(armcontainerservice.NetworkPluginAzure),
				NetworkPluginMode: to.Ptr(armcontainerservice.NetworkPluginModeOverlay),
				PodCidr:           to.Ptr("192.168.0.0/16"),
			},
		},
	}
	poller, err := mcs.BeginCreateOrUpdate(ctx, "sdk", "ovl", cluster, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := poller.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	p := created.Properties
	if *p.ProvisioningState != "Succeeded" || *p.CurrentKubernetesVersion != "1.35.4" || *p.KubernetesVersion != "1.35" ||
		*p.NodeResourceGroup != "MC_sdk_ovl_westus2" || *p.AgentPoolProfiles[0].MaxPods != 250 ||
		*p.NetworkProfile.NetworkPluginMode != armcontainerservice.NetworkPluginModeOverlay || *created.Type != "Microsoft.ContainerService/ManagedClusters" {
		t.Errorf("created = %+v", p)
	}
	if created.Identity == nil || created.Identity.PrincipalID == nil || *created.Identity.TenantID != s.Client.TenantID {
		t.Errorf("identity = %+v", created.Identity)
	}

	// The node resource group, read with the Network and Compute SDKs.
	lbs, _ := armnetwork.NewLoadBalancersClient(sub, cred, opts)
	lb, err := lbs.Get(ctx, "MC_sdk_ovl_westus2", "kubernetes", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pools []string
	for _, bp := range lb.Properties.BackendAddressPools {
		pools = append(pools, *bp.Name)
		if len(bp.Properties.BackendIPConfigurations) != 2 {
			t.Errorf("backend pool %s has %d members, want 2", *bp.Name, len(bp.Properties.BackendIPConfigurations))
		}
	}
	if strings.Join(pools, ",") != "kubernetes,aksOutboundBackendPool" || len(lb.Properties.OutboundRules) != 1 ||
		*lb.Properties.OutboundRules[0].Name != "aksOutboundRule" || *lb.SKU.Name != armnetwork.LoadBalancerSKUNameStandard ||
		len(lb.Properties.FrontendIPConfigurations) != 1 {
		t.Errorf("load balancer = pools %v, outbound %v", pools, lb.Properties.OutboundRules)
	}
	vmsss, _ := armcompute.NewVirtualMachineScaleSetsClient(sub, cred, opts)
	var setName string
	for pager := vmsss.NewListPager("MC_sdk_ovl_westus2", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			setName = *v.Name
			if *v.SKU.Capacity != 2 || *v.SKU.Name != "Standard_D4s_v5" {
				t.Errorf("scale set %s sku = %+v", setName, v.SKU)
			}
		}
	}
	if !strings.HasPrefix(setName, "aks-system-") || !strings.HasSuffix(setName, "-vmss") {
		t.Errorf("scale set name %q", setName)
	}
	vms, _ := armcompute.NewVirtualMachineScaleSetVMsClient(sub, cred, opts)
	n := 0
	for pager := vms.NewListPager("MC_sdk_ovl_westus2", setName, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, vm := range page.Value {
			n++
			if !strings.HasPrefix(*vm.Properties.OSProfile.ComputerName, setName) || vm.InstanceID == nil {
				t.Errorf("instance = %+v", vm.Properties.OSProfile)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d instances, want 2", n)
	}

	// Agent pools.
	aps, _ := armcontainerservice.NewAgentPoolsClient(sub, cred, opts)
	pp, err := aps.BeginCreateOrUpdate(ctx, "sdk", "ovl", "user1", armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Count: to.Ptr[int32](1), VMSize: to.Ptr("Standard_D2s_v5"), NodeLabels: map[string]*string{"tier": to.Ptr("web")},
		NodeTaints: []*string{to.Ptr("dedicated=web:NoSchedule")},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := pp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if *ap.Properties.Mode != armcontainerservice.AgentPoolModeUser || *ap.Properties.OrchestratorVersion != "1.35" ||
		*ap.Properties.CurrentOrchestratorVersion != "1.35.4" || *ap.Properties.NodeLabels["tier"] != "web" {
		t.Errorf("agent pool = %+v", ap.Properties)
	}
	machines, _ := armcontainerservice.NewMachinesClient(sub, cred, opts)
	m := 0
	for pager := machines.NewListPager("sdk", "ovl", "user1", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, mach := range page.Value {
			m++
			if len(mach.Properties.Network.IPAddresses) != 1 || !strings.HasPrefix(*mach.Properties.Network.IPAddresses[0].IP, "10.224.") {
				t.Errorf("machine %s network = %+v", *mach.Name, mach.Properties.Network)
			}
		}
	}
	if m != 1 {
		t.Errorf("%d machines, want 1", m)
	}
	// Immutable pool properties and bad names get AKS's errors.
	_, err = aps.BeginCreateOrUpdate(ctx, "sdk", "ovl", "user1", armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Count: to.Ptr[int32](1), VMSize: to.Ptr("Standard_D8s_v5")}}, nil)
	if re := respErr(err); re == nil || re.ErrorCode != "PropertyChangeNotAllowed" {
		t.Errorf("changing vmSize: %v", err)
	}
	_, err = aps.BeginCreateOrUpdate(ctx, "sdk", "ovl", "Bad_Name", armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{Count: to.Ptr[int32](1)}}, nil)
	if re := respErr(err); re == nil || re.StatusCode != 400 || re.ErrorCode != "InvalidParameter" {
		t.Errorf("bad pool name: %v", err)
	}
	// A new pool in a cluster PUT is refused.
	got, err := mcs.Get(ctx, "sdk", "ovl", nil)
	if err != nil {
		t.Fatal(err)
	}
	withNew := got.ManagedCluster
	withNew.Properties.AgentPoolProfiles = append(withNew.Properties.AgentPoolProfiles, &armcontainerservice.ManagedClusterAgentPoolProfile{
		Name: to.Ptr("extra"), Count: to.Ptr[int32](1), Mode: to.Ptr(armcontainerservice.AgentPoolModeUser)})
	_, err = mcs.BeginCreateOrUpdate(ctx, "sdk", "ovl", withNew, nil)
	if re := respErr(err); re == nil || re.ErrorCode != "BadRequest" || !strings.Contains(re.Error(), "A new agent pool was introduced") {
		t.Errorf("new pool through cluster PUT: %v", err)
	}
	dp, err := aps.BeginDelete(ctx, "sdk", "ovl", "user1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}

	// Versions, profiles, maintenance.
	kv, err := mcs.ListKubernetesVersions(ctx, "westus2", nil)
	if err != nil || len(kv.Values) != 4 {
		t.Errorf("kubernetes versions = %+v, %v", kv.Values, err)
	}
	up, err := mcs.GetUpgradeProfile(ctx, "sdk", "ovl", nil)
	if err != nil || *up.Properties.ControlPlaneProfile.KubernetesVersion != "1.35.4" || len(up.Properties.ControlPlaneProfile.Upgrades) == 0 {
		t.Errorf("upgrade profile = %+v, %v", up, err)
	}
	mcfg, _ := armcontainerservice.NewMaintenanceConfigurationsClient(sub, cred, opts)
	if _, err := mcfg.CreateOrUpdate(ctx, "sdk", "ovl", "aksManagedAutoUpgradeSchedule", armcontainerservice.MaintenanceConfiguration{
		Properties: &armcontainerservice.MaintenanceConfigurationProperties{MaintenanceWindow: &armcontainerservice.MaintenanceWindow{
			Schedule:      &armcontainerservice.Schedule{Weekly: &armcontainerservice.WeeklySchedule{DayOfWeek: to.Ptr(armcontainerservice.WeekDaySunday), IntervalWeeks: to.Ptr[int32](1)}},
			DurationHours: to.Ptr[int32](4), StartTime: to.Ptr("00:00"), UTCOffset: to.Ptr("+00:00"),
		}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mcfg.CreateOrUpdate(ctx, "sdk", "ovl", "aksManagedNodeOSUpgradeSchedule", armcontainerservice.MaintenanceConfiguration{
		Properties: &armcontainerservice.MaintenanceConfigurationProperties{MaintenanceWindow: &armcontainerservice.MaintenanceWindow{
			Schedule:      &armcontainerservice.Schedule{Daily: &armcontainerservice.DailySchedule{IntervalDays: to.Ptr[int32](1)}},
			DurationHours: to.Ptr[int32](2), StartTime: to.Ptr("00:00")}}}, nil); err == nil {
		t.Error("a 2-hour maintenance window was accepted")
	}
	count := 0
	for pager := mcfg.NewListByManagedClusterPager("sdk", "ovl", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.Value)
	}
	if count != 1 {
		t.Errorf("%d maintenance configurations, want 1", count)
	}

	// Credentials: a kubeconfig kubectl uses to reach the cluster.
	creds, err := mcs.ListClusterAdminCredentials(ctx, "sdk", "ovl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Kubeconfigs) != 1 || *creds.Kubeconfigs[0].Name != "clusterAdmin" {
		t.Fatalf("admin credentials: %+v", creds.Kubeconfigs)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, creds.Kubeconfigs[0].Value, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustKubectl(t, kc, "get", "nodes", "-o", "name"); strings.Count(got, "node/aks-") != 2 {
		t.Errorf("nodes through the SDK's kubeconfig:\n%s", got)
	}

	// Stop, start, delete.
	sp, err := mcs.BeginStop(ctx, "sdk", "ovl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	got, _ = mcs.Get(ctx, "sdk", "ovl", nil)
	if *got.Properties.PowerState.Code != armcontainerservice.CodeStopped {
		t.Errorf("after stop: %v", *got.Properties.PowerState.Code)
	}
	stp, err := mcs.BeginStart(ctx, "sdk", "ovl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	del, err := mcs.BeginDelete(ctx, "sdk", "ovl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	if exists, _ := groups.CheckExistence(ctx, "MC_sdk_ovl_westus2", nil); exists.Success {
		t.Error("node resource group survived the delete")
	}
}
