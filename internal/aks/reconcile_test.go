package aks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/logging"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// env is a store with the providers the reconciler writes through.
type env struct {
	t   *testing.T
	st  store.Store
	rec *Reconciler
	val *Rules
}

const sub = "00000000-0000-0000-0000-000000000001"

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := arm.NewRegistry()
	log := logging.Discard()
	net := network.Register(network.Config{Store: st, Registry: reg, Log: log})
	comp := compute.Register(compute.Config{Store: st, Registry: reg, Network: net, Log: log})
	ids := managedidentity.Register(reg, st, func(string) string { return "tenant" })
	e := &env{t: t, st: st, rec: &Reconciler{Store: st, Net: net, Compute: comp, Identity: ids, Log: log}, val: &Rules{Net: net, Compute: comp, TenantOf: func(string) string { return "tenant" }}}
	e.update(func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: "/subscriptions/" + sub + "/resourceGroups/rg1", Type: "Microsoft.Resources/resourceGroups", Name: "rg1",
			Location: "eastus", Properties: json.RawMessage(`{"provisioningState":"Succeeded"}`)})
	})
	return e
}

func (e *env) update(fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.st.Update(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// create builds, validates and stores a cluster from a managedClusters
// properties document, as a PUT does, then reconciles it.
func (e *env) create(name, props string) (*Cluster, error) {
	e.t.Helper()
	id := resourceid.MustParse("/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/" + name)
	loc := "eastus"
	in := &ClusterInput{Location: &loc, Properties: json.RawMessage(props)}
	req := &arm.Request{HTTP: httptest.NewRequest(http.MethodPut, id.String(), nil), APIVersion: APIVersions[0]}
	var c *Cluster
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		var pools []*Pool
		var err error
		c, pools, _, err = e.val.PutCluster(tx, req, id, in, "op-create")
		if err != nil {
			return err
		}
		return Save(tx, c, pools...)
	})
	if err != nil {
		return nil, err
	}
	if err := e.rec.Reconcile(context.Background(), id.String()); err != nil {
		return nil, err
	}
	return c, nil
}

// inventory lists "type/name" of everything in a resource group.
func (e *env) inventory(rg string) []string {
	var out []string
	e.st.View(context.Background(), func(tx store.Tx) error {
		rs, err := tx.List(store.Query{Subscription: sub, ResourceGroup: rg, TopLevel: true})
		for _, r := range rs {
			out = append(out, r.Type+"/"+r.Name)
		}
		return err
	})
	sort.Strings(out)
	return out
}

func (e *env) instances(rg, vmss string) []compute.InstanceProperties {
	var out []compute.InstanceProperties
	e.st.View(context.Background(), func(tx store.Tx) error {
		_, props, err := e.rec.Compute.Instances(tx, "/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Compute/virtualMachineScaleSets/"+vmss)
		out = props
		return err
	})
	return out
}

func (e *env) get(id string) *store.Resource {
	var r *store.Resource
	e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		r, err = tx.Get(id)
		return err
	})
	return r
}

func TestKubenetInventory(t *testing.T) {
	e := newEnv(t)
	_, err := e.create("c1", `{"dnsPrefix":"c1-rg1-000000","agentPoolProfiles":[{"name":"nodepool1","count":3,"mode":"System"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	id := ClusterID("c1-rg1-000000")
	rg := "MC_rg1_c1_eastus"
	inv := e.inventory(rg)
	var pip string
	for _, s := range inv {
		if strings.HasPrefix(s, "Microsoft.Network/publicIPAddresses/") {
			pip = strings.TrimPrefix(s, "Microsoft.Network/publicIPAddresses/")
		}
	}
	want := []string{
		"Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-" + id + "-vmss",
		"Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool",
		"Microsoft.Network/loadBalancers/kubernetes",
		"Microsoft.Network/networkSecurityGroups/aks-agentpool-" + id + "-nsg",
		"Microsoft.Network/publicIPAddresses/" + pip,
		"Microsoft.Network/routeTables/aks-agentpool-" + id + "-routetable",
		"Microsoft.Network/virtualNetworks/aks-vnet-" + id,
	}
	if strings.Join(inv, "\n") != strings.Join(want, "\n") {
		t.Errorf("node resource group:\n%s\nwant:\n%s", strings.Join(inv, "\n"), strings.Join(want, "\n"))
	}
	insts := e.instances(rg, "aks-nodepool1-"+id+"-vmss")
	if len(insts) != 3 {
		t.Fatalf("%d instances, want 3", len(insts))
	}
	for i, in := range insts {
		wantCIDR := netip.MustParsePrefix("10.244.0.0/16")
		pfx := netip.MustParsePrefix(in.Localaks.PodCIDR)
		if pfx.Bits() != 24 || !wantCIDR.Contains(pfx.Addr()) {
			t.Errorf("instance %d pod CIDR %s", i, in.Localaks.PodCIDR)
		}
		if in.OSProfile.ComputerName != ComputerNameFor("nodepool1", id, i) {
			t.Errorf("instance %d computer name %s", i, in.OSProfile.ComputerName)
		}
		if a := netip.MustParseAddr(in.Localaks.PrivateIP); !netip.MustParsePrefix("10.224.0.0/16").Contains(a) {
			t.Errorf("instance %d IP %s outside aks-subnet", i, a)
		}
	}
	// One route per node, to the node's IP.
	rt := e.get("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/routeTables/aks-agentpool-" + id + "-routetable")
	routes, _ := arm.ChildrenOf(rt, "routes", "")
	if len(routes) != 3 {
		t.Fatalf("%d routes, want 3", len(routes))
	}
	for _, r := range routes {
		var rp network.RouteProperties
		json.Unmarshal(r.Properties, &rp)
		if rp.NextHopType != "VirtualAppliance" || !strings.HasPrefix(rp.AddressPrefix, "10.244.") || !strings.HasPrefix(r.Name, "aks-nodepool1-") {
			t.Errorf("route %s = %+v", r.Name, rp)
		}
	}
	// Both backend pools hold every node.
	var members map[string][]network.SubResource
	e.st.View(context.Background(), func(tx store.Tx) error {
		lb, _ := tx.Get("/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/loadBalancers/kubernetes")
		var err error
		members, err = e.rec.Net.PoolMembers(tx, lb)
		return err
	})
	for pool, m := range members {
		if len(m) != 3 {
			t.Errorf("backend pool %s has %d members", pool, len(m))
		}
	}
	if len(members) != 2 {
		t.Errorf("%d backend pools with members, want 2", len(members))
	}

	// Reconcile again: nothing changes (idempotent).
	if err := e.rec.Reconcile(context.Background(), "/subscriptions/"+sub+"/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"); err != nil {
		t.Fatal(err)
	}
	if again := e.inventory(rg); strings.Join(again, ",") != strings.Join(inv, ",") || len(e.instances(rg, "aks-nodepool1-"+id+"-vmss")) != 3 {
		t.Errorf("second reconcile changed the inventory: %v", again)
	}

	// Teardown removes the node resource group.
	if err := e.rec.Teardown(context.Background(), "/subscriptions/"+sub+"/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"); err != nil {
		t.Fatal(err)
	}
	if left := e.inventory(rg); len(left) != 0 {
		t.Errorf("after teardown: %v", left)
	}
}

// ComputerNameFor is the node name of instance n of a pool.
func ComputerNameFor(pool, id string, n int) string {
	return compute.ComputerName(vmssName(pool, id), n)
}

func TestAzureCNIAndScale(t *testing.T) {
	e := newEnv(t)
	e.update(func(tx store.Tx) error {
		return e.rec.Net.VirtualNetworks.Save(context.Background(), tx, nil, &store.Resource{
			ID: "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v", Type: network.VirtualNetworkType,
			Name: "v", Location: "eastus",
			Properties: json.RawMessage(`{"addressSpace":{"addressPrefixes":["10.10.0.0/16"]},"subnets":[{"name":"s","properties":{"addressPrefix":"10.10.0.0/24"}}]}`),
		}, nil)
	})
	subnet := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
	_, err := e.create("cni", `{"dnsPrefix":"cni","networkProfile":{"networkPlugin":"azure"},
		"agentPoolProfiles":[{"name":"nodepool1","count":2,"mode":"System","vnetSubnetID":"`+subnet+`"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	rg := "MC_rg1_cni_eastus"
	for _, s := range e.inventory(rg) {
		if strings.Contains(s, "virtualNetworks") || strings.Contains(s, "routeTables") {
			t.Errorf("Azure CNI in a custom subnet made %s", s)
		}
	}
	insts := e.instances(rg, vmssName("nodepool1", ClusterID("cni")))
	if len(insts) != 2 || len(insts[0].Localaks.PodIPs) != 30 || insts[0].Localaks.PodCIDR != "" {
		t.Fatalf("instances = %+v", insts)
	}
	// 2 nodes × 31 addresses used; a /24 has 251: 8 nodes fit, 9 do not.
	var free int64
	e.st.View(context.Background(), func(tx store.Tx) error {
		pool, err := e.rec.Net.SubnetPool(tx, subnet, "")
		free = pool.Free()
		return err
	})
	if free != 251-62 {
		t.Errorf("free addresses = %d, want %d", free, 251-62)
	}
	var checkErr error
	e.st.View(context.Background(), func(tx store.Tx) error {
		c, pools, err := Load(tx, "/subscriptions/"+sub+"/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/cni")
		if err != nil {
			return err
		}
		*pools[0].Props.Count = 9
		checkErr = e.val.CheckGrowth(tx, c, pools, map[string]int{"nodepool1": 2})
		return nil
	})
	var armErr *arm.Error
	if !errors.As(checkErr, &armErr) || armErr.Code != "SubnetIsFull" {
		t.Errorf("scale to 9 in a /24: %v, want SubnetIsFull", checkErr)
	}
}

func TestValidationErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, props, code, target string
	}{
		{"no system pool", `{"agentPoolProfiles":[{"name":"p","count":1,"mode":"User"}]}`, "InvalidParameter", "agentPoolProfiles"},
		{"bad pool name", `{"agentPoolProfiles":[{"name":"Pool_1","count":1}]}`, "InvalidParameter", "agentPoolProfile.name"},
		{"long windows pool name", `{"agentPoolProfiles":[{"name":"np","count":1},{"name":"winpool","count":1,"osType":"Windows","mode":"User"}]}`, "InvalidParameter", "agentPoolProfile.name"},
		{"small system vm", `{"agentPoolProfiles":[{"name":"np","count":1,"vmSize":"Standard_B1s"}]}`, "InvalidParameter", "agentPoolProfile.vmSize"},
		{"unknown vm size", `{"agentPoolProfiles":[{"name":"np","count":1,"vmSize":"Standard_Nope"}]}`, "InvalidParameter", "vmSize"},
		{"count too big", `{"agentPoolProfiles":[{"name":"np","count":1001}]}`, "InvalidParameter", "agentPoolProfile.count"},
		{"maxPods too small for system", `{"agentPoolProfiles":[{"name":"np","count":1,"maxPods":10}]}`, "InvalidParameter", "agentPoolProfile.maxPods"},
		{"bad version", `{"kubernetesVersion":"1.20.7","agentPoolProfiles":[{"name":"np","count":1}]}`, "K8sVersionNotSupported", "kubernetesVersion"},
		{"pool newer than control plane", `{"kubernetesVersion":"1.35","agentPoolProfiles":[{"name":"np","count":1,"orchestratorVersion":"1.36"}]}`, "NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion"},
		{"pool too old", `{"kubernetesVersion":"1.37","agentPoolProfiles":[{"name":"np","count":1,"orchestratorVersion":"1.34"}]}`, "NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion"},
		{"dns outside service range", `{"networkProfile":{"serviceCidr":"10.200.0.0/16","dnsServiceIP":"10.0.0.10"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "DnsServiceIpOutOfServiceCidr", "networkProfile.dnsServiceIP"},
		{"dns is first address", `{"networkProfile":{"serviceCidr":"10.200.0.0/16","dnsServiceIP":"10.200.0.1"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.dnsServiceIP"},
		{"forbidden service range", `{"networkProfile":{"serviceCidr":"172.30.0.0/16","dnsServiceIP":"172.30.0.10"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.serviceCidr"},
		{"pod overlaps service", `{"networkProfile":{"networkPlugin":"kubenet","podCidr":"10.0.0.0/16"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.podCidr"},
		{"pod cidr with azure cni", `{"networkProfile":{"networkPlugin":"azure","podCidr":"10.244.0.0/16"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.podCidr"},
		{"overlay without azure", `{"networkProfile":{"networkPlugin":"kubenet","networkPluginMode":"overlay"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.networkPluginMode"},
		{"azure policy with kubenet", `{"networkProfile":{"networkPlugin":"kubenet","networkPolicy":"azure"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.networkPolicy"},
		{"udr without custom subnet", `{"networkProfile":{"outboundType":"userDefinedRouting"},"agentPoolProfiles":[{"name":"np","count":1}]}`, "InvalidParameter", "networkProfile.outboundType"},
		{"overlay pod range too small", `{"networkProfile":{"networkPlugin":"azure","networkPluginMode":"overlay","podCidr":"10.244.0.0/22"},"agentPoolProfiles":[{"name":"np","count":5}]}`, "InsufficientSubnetSize", "networkProfile.podCIDR"},
		{"outbound ports", `{"networkProfile":{"loadBalancerProfile":{"managedOutboundIPs":{"count":1},"allocatedOutboundPorts":8000}},"agentPoolProfiles":[{"name":"np","count":9}]}`, "InvalidLoadBalancerProfileAllocatedOutboundPorts", "networkProfile.loadBalancerProfile.allocatedOutboundPorts"},
		{"reserved cluster name", ``, "InvalidParameter", "name"},
		{"autoscale range", `{"agentPoolProfiles":[{"name":"np","count":5,"enableAutoScaling":true,"minCount":1,"maxCount":3}]}`, "InvalidParameter", "agentPoolProfile.count"},
		{"local accounts without aad", `{"disableLocalAccounts":true,"agentPoolProfiles":[{"name":"np","count":1}]}`, "BadRequest", "disableLocalAccounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, props := "c", tt.props
			if props == "" {
				name, props = "my-microsoft-cluster", `{"agentPoolProfiles":[{"name":"np","count":1}]}`
			}
			_, err := e.create(name, props)
			var armErr *arm.Error
			if !errors.As(err, &armErr) || armErr.Code != tt.code || armErr.Target != tt.target || !armErr.Native || armErr.Status != 400 {
				t.Errorf("got %v, want %s at %s (AKS body shape, 400)", err, tt.code, tt.target)
			}
		})
	}
}
