package aks

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/store"
)

// fakeControlPlane records what the reconciler asks of a control plane.
type fakeControlPlane struct {
	applied []*clusterspec.Spec
	calls   []string
	// fail, when set, is what Apply returns.
	fail error
}

func (f *fakeControlPlane) Apply(_ context.Context, s *clusterspec.Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if f.fail != nil {
		f.calls = append(f.calls, "apply failed")
		return f.fail
	}
	f.applied = append(f.applied, s)
	f.calls = append(f.calls, "apply")
	return nil
}
func (f *fakeControlPlane) Stop(_ context.Context, uid string) error {
	f.calls = append(f.calls, "stop "+uid)
	return nil
}
func (f *fakeControlPlane) Delete(_ context.Context, uid string) error {
	f.calls = append(f.calls, "delete "+uid)
	return nil
}
func (f *fakeControlPlane) Rotate(_ context.Context, uid string, what clusterspec.Rotation) error {
	f.calls = append(f.calls, "rotate "+string(what)+" "+uid)
	return nil
}

func nodeNames(s *clusterspec.Spec) []string {
	var out []string
	for _, n := range s.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// The pipelines hand the control plane the cluster as it stands: nodes with
// their addresses and provider IDs, drains before machines go, stop, start
// and delete.
func TestControlPlaneSpec(t *testing.T) {
	e := newEnv(t)
	cp := &fakeControlPlane{}
	e.rec.ControlPlane = cp
	c, err := e.create("c1", `{"dnsPrefix":"c1","kubernetesVersion":"1.35","agentPoolProfiles":[{"name":"nodepool1","count":3,"mode":"System",
		"nodeLabels":{"tier":"web"},"nodeTaints":["dedicated=web:NoSchedule"],"upgradeSettings":{"maxSurge":"2","drainTimeoutInMinutes":5}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.applied) != 1 {
		t.Fatalf("applied %d specs, want 1", len(cp.applied))
	}
	s := cp.applied[0]
	cid := ClusterID("c1")
	vmss := "aks-nodepool1-" + cid + "-vmss"
	if s.UID == "" || s.Name != "c1" || s.ResourceGroup != "rg1" || s.NodeResourceGroup != "MC_rg1_c1_eastus" || s.KubernetesVersion != "1.35.4" ||
		s.EmulatedVersion() != "1.35" || s.Network.Model() != "kubenet" || s.Network.ServiceCIDR != "10.0.0.0/16" || s.Network.DNSServiceIP != "10.0.0.10" {
		t.Errorf("spec = %+v", s)
	}
	if s.APIServerPort <= 0 || !netip.MustParsePrefix("198.18.0.0/15").Contains(netip.MustParseAddr(s.AdvertiseAddress)) {
		t.Errorf("endpoint = port %d, advertise %s", s.APIServerPort, s.AdvertiseAddress)
	}
	if p := s.Pools[0]; p.Name != "nodepool1" || p.Mode != "System" || p.MaxPods != 110 || p.Labels["tier"] != "web" ||
		!slices.Equal(p.Taints, []string{"dedicated=web:NoSchedule"}) || p.UpgradeBatch != 2 || p.DrainTimeoutSeconds != 300 || p.Version != "1.35.4" {
		t.Errorf("pool = %+v", p)
	}
	insts := e.instances("MC_rg1_c1_eastus", vmss)
	if len(s.Nodes) != 3 {
		t.Fatalf("nodes = %v", nodeNames(s))
	}
	for i, n := range s.Nodes {
		want := "azure:///subscriptions/" + sub + "/resourceGroups/mc_rg1_c1_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/" + vmss + "/virtualMachines/" + string(rune('0'+i))
		if n.Name != insts[i].OSProfile.ComputerName || n.InternalIP != insts[i].Localaks.PrivateIP || n.PodCIDR != insts[i].Localaks.PodCIDR ||
			n.ProviderID != want || n.Pool != "nodepool1" {
			t.Errorf("node %d = %+v (instance %+v)", i, n, insts[i].Localaks)
		}
	}
	// The endpoint is kept across reconciles.
	port := s.APIServerPort
	id := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"

	// Scale-in drains the newest node first, then removes it.
	e.update(func(tx store.Tx) error {
		r, err := tx.Get(id + "/agentPools/nodepool1")
		if err != nil {
			return err
		}
		p, err := DecodePool(r)
		if err != nil {
			return err
		}
		*p.Props.Count = 2
		if err := p.Encode(); err != nil {
			return err
		}
		return tx.Put(p.Record)
	})
	if err := e.rec.Reconcile(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if len(cp.applied) != 3 {
		t.Fatalf("applied %d specs, want 3 (create, drain, after)", len(cp.applied))
	}
	drain, after := cp.applied[1], cp.applied[2]
	last := vmss + "000002"
	if !slices.Equal(drain.Drain, []string{last}) || len(drain.Nodes) != 3 || drain.DrainTimeoutSeconds != 300 {
		t.Errorf("drain spec: drain %v, nodes %v, timeout %d", drain.Drain, nodeNames(drain), drain.DrainTimeoutSeconds)
	}
	if len(after.Drain) != 0 || slices.Contains(nodeNames(after), last) || len(after.Nodes) != 2 || after.APIServerPort != port {
		t.Errorf("after scale-in: drain %v, nodes %v, port %d (was %d)", after.Drain, nodeNames(after), after.APIServerPort, port)
	}

	// Stop stops it; start applies again; delete deletes it.
	cp.calls = nil
	if err := e.rec.SetPower(context.Background(), id, false); err != nil {
		t.Fatal(err)
	}
	e.update(func(tx store.Tx) error {
		r, err := tx.Get(id)
		if err != nil {
			return err
		}
		var props map[string]any
		json.Unmarshal(r.Properties, &props)
		props["powerState"] = map[string]string{"code": "Stopped"}
		r.Properties, _ = json.Marshal(props)
		return tx.Put(r)
	})
	// A stopped cluster's control plane is not applied by a reconcile.
	if err := e.rec.Reconcile(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := e.rec.SetPower(context.Background(), id, true); err != nil {
		t.Fatal(err)
	}
	if err := e.rec.Teardown(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	uid := c.Props.ResourceUID
	if got := strings.Join(cp.calls, ","); got != "stop "+uid+",apply,delete "+uid {
		t.Errorf("calls = %s", got)
	}
}

func TestAdvertiseAddress(t *testing.T) {
	seen := map[string]bool{}
	for _, uid := range []string{"a", "b", "0123456789abcdef01234567", ""} {
		a := advertiseAddress(uid)
		ip := netip.MustParseAddr(a)
		if !netip.MustParsePrefix("198.18.0.0/15").Contains(ip) || ip.As4()[3] == 0 || ip.As4()[3] == 255 {
			t.Errorf("advertiseAddress(%q) = %s", uid, a)
		}
		if advertiseAddress(uid) != a {
			t.Errorf("advertiseAddress(%q) is not stable", uid)
		}
		seen[a] = true
	}
	if len(seen) < 3 {
		t.Errorf("addresses collide: %v", seen)
	}
}

// What the cloud controller adds to the `kubernetes` load balancer (a
// Service's frontend, rule and probe) survives the cluster's own
// reconciles, which own only the outbound side.
func TestServiceFrontendsSurviveReconcile(t *testing.T) {
	e := newEnv(t)
	if _, err := e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":1,"mode":"System"}]}`); err != nil {
		t.Fatal(err)
	}
	id := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	rg := "/subscriptions/" + sub + "/resourceGroups/MC_rg1_c1_eastus"
	lbID := rg + "/providers/Microsoft.Network/loadBalancers/kubernetes"
	fe := "a3a46f54bcde9474e95f0b598a2306f7" // also a UUID without dashes
	e.update(func(tx store.Tx) error {
		pip := &store.Resource{ID: rg + "/providers/Microsoft.Network/publicIPAddresses/kubernetes-" + fe, Type: "Microsoft.Network/publicIPAddresses",
			Name: "kubernetes-" + fe, Location: "eastus", SKU: json.RawMessage(`{"name":"Standard"}`),
			Properties: json.RawMessage(`{"publicIPAllocationMethod":"Static"}`)}
		if err := e.rec.Net.PublicIPs.Write(context.Background(), tx, pip); err != nil {
			return err
		}
		lb, err := tx.Get(lbID)
		if err != nil {
			return err
		}
		var props map[string]any
		json.Unmarshal(lb.Properties, &props)
		props["frontendIPConfigurations"] = append(props["frontendIPConfigurations"].([]any),
			map[string]any{"name": fe, "properties": map[string]any{"publicIPAddress": map[string]string{"id": pip.ID}}})
		props["probes"] = []any{map[string]any{"name": fe + "-TCP-80", "properties": map[string]any{"protocol": "Tcp", "port": 31000, "intervalInSeconds": 5}}}
		props["loadBalancingRules"] = []any{map[string]any{"name": fe + "-TCP-80", "properties": map[string]any{
			"frontendIPConfiguration": map[string]string{"id": lbID + "/frontendIPConfigurations/" + fe},
			"backendAddressPool":      map[string]string{"id": lbID + "/backendAddressPools/kubernetes"},
			"probe":                   map[string]string{"id": lbID + "/probes/" + fe + "-TCP-80"},
			"protocol":                "Tcp", "frontendPort": 80, "backendPort": 80}}}
		lb.Properties, _ = json.Marshal(props)
		return e.rec.Net.LoadBalancers.Save(context.Background(), tx, nil, lb, nil)
	})
	if err := e.rec.Reconcile(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	var props struct {
		FrontendIPConfigurations []struct{ Name string }
		LoadBalancingRules       []struct{ Name string }
		Probes                   []struct{ Name string }
	}
	json.Unmarshal(e.get(lbID).Properties, &props)
	var names []string
	for _, f := range props.FrontendIPConfigurations {
		names = append(names, f.Name)
	}
	if !slices.Contains(names, fe) || len(props.LoadBalancingRules) != 1 || len(props.Probes) != 1 || len(names) != 2 {
		t.Errorf("after reconcile: frontends %v, %d rules, %d probes", names, len(props.LoadBalancingRules), len(props.Probes))
	}
}

// The AGIC add-on: identity, gateway, subnet and public IP in the node
// resource group; a subnet CIDR outside the VNet is refused.
func TestAGICAddon(t *testing.T) {
	e := newEnv(t)
	_, err := e.create("bad", `{"dnsPrefix":"bad","agentPoolProfiles":[{"name":"nodepool1","count":1,"mode":"System"}],
		"addonProfiles":{"ingressApplicationGateway":{"enabled":true,"config":{"applicationGatewayName":"gw","subnetCIDR":"10.0.0.0/24"}}}}`)
	var armErr *arm.Error
	if !errors.As(err, &armErr) || armErr.Code != "IngressAppGwAddonConfigInvalidSubnetCIDRNotContainedWithinVirtualNetwork" {
		t.Errorf("subnet outside the VNet: %v", err)
	}
	_, err = e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":1,"mode":"System"}],
		"addonProfiles":{"ingressApplicationGateway":{"enabled":true,"config":{"applicationGatewayName":"gw","subnetCIDR":"10.225.0.0/16"}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	inv := strings.Join(e.inventory("MC_rg1_c1_eastus"), ",")
	for _, want := range []string{"Microsoft.Network/applicationGateways/gw", "Microsoft.Network/publicIPAddresses/gw-appgwpip",
		"Microsoft.ManagedIdentity/userAssignedIdentities/ingressapplicationgateway-c1"} {
		if !strings.Contains(inv, want) {
			t.Errorf("node resource group lacks %s: %s", want, inv)
		}
	}
	id := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"
	got, err := DecodeCluster(e.get(id))
	if err != nil {
		t.Fatal(err)
	}
	_, a := got.Props.Addon(AGICAddon)
	if a == nil || a.Identity == nil || !strings.HasSuffix(a.Config["effectiveApplicationGatewayId"], "/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network/applicationGateways/gw") {
		t.Errorf("add-on profile = %+v", a)
	}
	vnet := e.get("/subscriptions/" + sub + "/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network/virtualNetworks/aks-vnet-" + ClusterID("c1"))
	if !strings.Contains(string(vnet.Properties), `"ingress-appgateway-subnet"`) || !strings.Contains(string(vnet.Properties), `10.225.0.0/16`) {
		t.Errorf("VNet without the gateway subnet: %s", vnet.Properties)
	}
}

// A create whose control plane fails stops the control plane it started
// (it would restart for ever); an update that fails leaves it running.
func TestFailedCreateStopsControlPlane(t *testing.T) {
	e := newEnv(t)
	cp := &fakeControlPlane{fail: errors.New("the control plane exited")}
	e.rec.ControlPlane = cp
	if _, err := e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":1,"mode":"System"}]}`); err == nil {
		t.Fatal("create succeeded")
	}
	if len(cp.calls) != 2 || cp.calls[0] != "apply failed" || !strings.HasPrefix(cp.calls[1], "stop ") || cp.calls[1] == "stop " {
		t.Errorf("calls = %q, want a failed apply, then a stop of the cluster", cp.calls)
	}
}
