package aks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// customSubnet makes virtual network v with subnets s (10.10.0.0/24) and
// t (10.10.1.0/24) in rg1 and returns the ID of s.
func (e *env) customSubnet() string {
	e.t.Helper()
	vnet := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v"
	e.update(func(tx store.Tx) error {
		return e.rec.Net.VirtualNetworks.Save(context.Background(), tx, nil, &store.Resource{
			ID: vnet, Type: network.VirtualNetworkType, Name: "v", Location: "eastus",
			Properties: json.RawMessage(`{"addressSpace":{"addressPrefixes":["10.10.0.0/16"]},"subnets":[
				{"name":"s","properties":{"addressPrefix":"10.10.0.0/24"}},{"name":"t","properties":{"addressPrefix":"10.10.1.0/24"}}]}`),
		}, nil)
	})
	return vnet + "/subnets/s"
}

// putPool runs an agent pool PUT and saves the pool it returns.
func (e *env) putPool(req *arm.Request, cluster, pool, props, opID string) (*Pool, *Cluster, bool, error) {
	e.t.Helper()
	var p *Pool
	var c *Cluster
	var created bool
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		p, c, created, err = e.val.PutPool(tx, req, poolRID(cluster, pool), json.RawMessage(props), opID)
		if err != nil {
			return err
		}
		return Save(tx, nil, p)
	})
	return p, c, created, err
}

// A pool added to a cluster is a User pool at the cluster's version unless
// it says otherwise, and shows Creating under the PUT's operation.
func TestPutPoolCreate(t *testing.T) {
	tests := []struct {
		name, props   string
		mode          string
		spec, current string
		maxPods       int
	}{
		{"defaults", `{"count":2}`, "User", "1.36", "1.36.3", 110},
		{"system pool", `{"count":1,"mode":"System"}`, "System", "1.36", "1.36.3", 110},
		{"older version", `{"count":1,"orchestratorVersion":"1.34"}`, "User", "1.34", "1.34.4", 110},
		{"own max pods", `{"count":1,"maxPods":60}`, "User", "1.36", "1.36.3", 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1}]}`)
			p, c, created, err := e.putPool(request(http.MethodPut, poolRID("c", "user")), "c", "user", tt.props, "op-pool")
			if err != nil {
				t.Fatal(err)
			}
			if !created || c == nil || c.Record.ID != clusterRID("c").String() {
				t.Errorf("created %v, cluster %v", created, c)
			}
			type view struct {
				ID, Mode, Spec, Current string
				MaxPods                 int
				State                   stateOf
			}
			want := view{poolRID("c", "user").String(), tt.mode, tt.spec, tt.current, tt.maxPods,
				stateOf{State: StateCreating, Operation: "op-pool", Kind: StateCreating, Power: PowerRunning}}
			_, pools := e.load("c")
			saved := poolNamed(pools, "user")
			if saved == nil {
				t.Fatal("the pool was not saved")
			}
			for _, p := range []*Pool{p, saved} {
				got := view{p.Record.ID, p.Props.Mode, p.Props.OrchestratorVersion, p.Props.CurrentOrchestratorVersion, *p.Props.MaxPods, poolState(p)}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pool (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPutPoolCreateErrors(t *testing.T) {
	nameRule := func(name string) apiError {
		return aksError(400, "InvalidParameter", "agentPoolProfile.name", "The value of parameter agentPoolProfile.name is invalid. Error details: Agent Pool name '"+name+
			"' should start with a lowercase letter, have max length of 12, and only have characters a-z0-9. Please see https://aka.ms/aks-naming-rules for more details.")
	}
	windowsName := aksError(400, "InvalidParameter", "agentPoolProfile.name",
		"The value of parameter agentPoolProfile.name is invalid. Error details: Windows agent pool name 'winpool' can not be longer than 6 characters. Please see https://aka.ms/aks-naming-rules for more details.")
	tests := []struct {
		name    string
		byo     bool // the cluster's pools are in a custom subnet
		setup   func(c *Cluster, pools []*Pool)
		cluster string
		pool    string
		props   string
		want    apiError
	}{
		{name: "capital letters", pool: "Pool1", props: `{"count":1}`, want: nameRule("Pool1")},
		{name: "underscore", pool: "pool_1", props: `{"count":1}`, want: nameRule("pool_1")},
		{name: "leading digit", pool: "1pool", props: `{"count":1}`, want: nameRule("1pool")},
		{name: "13 characters", pool: "abcdefghijklm", props: `{"count":1}`, want: nameRule("abcdefghijklm")},
		{name: "long windows name", pool: "winpool", props: `{"count":1,"osType":"Windows"}`, want: windowsName},
		{name: "long windows name in lower case", pool: "winpool", props: `{"count":1,"osType":"windows"}`, want: windowsName},
		{name: "max agent pools", setup: func(c *Cluster, _ []*Pool) { c.Props.MaxAgentPools = 1 }, pool: "user", props: `{"count":1}`,
			want: aksError(400, "InvalidParameter", "agentPoolProfiles", "A cluster can have at most 1 agent pools.")},
		{name: "custom subnet in a managed network", pool: "user",
			props: `{"count":1,"vnetSubnetID":"/subscriptions/` + sub + `/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v/subnets/s"}`,
			want: aksError(400, "InvalidParameter", "agentPoolProfile.vnetSubnetID",
				"All agent pools must use a custom subnet, or none must: the cluster's pools do not use one.")},
		{name: "no subnet in a custom network", byo: true, pool: "user", props: `{"count":1}`,
			want: aksError(400, "InvalidParameter", "agentPoolProfile.vnetSubnetID",
				"All agent pools must use a custom subnet, or none must: the cluster's pools use one.")},
		{name: "pool rules", pool: "user", props: `{"count":1001}`,
			want: aksError(400, "InvalidParameter", "agentPoolProfile.count",
				"agentPoolProfile.count was 1001. It must be greater or equal to minCount:0 and less than or equal to maxCount:1000. If allowedMinCount was expected to be 0 but is 1: 1) The nodepool is a VMAS pool. 2) api Version is less than 2020-03-01. 3) The node is a system pool.")},
		{name: "beyond the pod range", pool: "user", props: `{"count":256}`,
			want: aksError(400, "InsufficientSubnetSize", "networkProfile.podCIDR",
				"Pre-allocated IPs 65792 exceeds IPs available 65536 in Subnet Cidr 10.244.0.0/16, Subnet Name networkProfile.podCIDR. http://aka.ms/aks/insufficientsubnetsize")},
		{name: "stopped cluster", setup: func(c *Cluster, pools []*Pool) { setPower(c, pools, PowerStopped) }, pool: "user", props: `{"count":1}`,
			want: aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: managed cluster is in Provisioning State(Succeeded) and Power State(Stopped), agent pool operations cannot be performed. Please start the cluster first: https://aka.ms/aks/start")},
		{name: "cluster operation running", setup: func(c *Cluster, _ []*Pool) { c.begin("op-x", StateUpdating) }, pool: "user", props: `{"count":1}`,
			want: aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details")},
		{name: "no cluster", cluster: "nope", pool: "user", props: `{"count":1}`,
			want: apiError{Status: 404, Code: "ResourceNotFound",
				Message: "The Resource 'Microsoft.ContainerService/managedClusters/nope' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.byo {
				subnet := e.customSubnet()
				e.ready("c", `{"networkProfile":{"networkPlugin":"kubenet"},"agentPoolProfiles":[{"name":"np","count":1,"vnetSubnetID":"`+subnet+`"}]}`)
			} else {
				e.ready("c", `{"agentPoolProfiles":[{"name":"np","count":1}]}`)
			}
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			cluster := tt.cluster
			if cluster == "" {
				cluster = "c"
			}
			_, _, _, err := e.putPool(request(http.MethodPut, poolRID(cluster, tt.pool)), cluster, tt.pool, tt.props, "op-pool")
			checkError(t, err, tt.want)
			if _, pools := e.load("c"); len(pools) != 1 {
				t.Errorf("%d pools after a refused PUT, want 1", len(pools))
			}
		})
	}
}

// A change to a pool: immutable properties (strings in any case; 0, null
// and "" keep the value), what it is (Scaling, Upgrading, Updating), and
// the last system pool keeping its mode.
func TestPutPoolChange(t *testing.T) {
	const create = `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1},
		{"name":"user","count":2,"mode":"User","orchestratorVersion":"1.35","nodeLabels":{"tier":"web"}}]}`
	immutable := func(k string) apiError {
		return aksError(400, "PropertyChangeNotAllowed", "agentPoolProfile."+k, "Changing property '"+k+"' is not allowed.")
	}
	subnet := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
	tests := []struct {
		name   string
		pool   string // user when empty
		extra  string // another pool of the cluster's create
		setup  func(c *Cluster, pools []*Pool)
		header [2]string
		props  string
		state  string
		change func(p *PoolProperties)
		want   *apiError
	}{
		{name: "vmSize", props: `{"vmSize":"Standard_D4s_v3"}`, want: ptr(immutable("vmSize"))},
		{name: "osDiskSizeGB", props: `{"osDiskSizeGB":64}`, want: ptr(immutable("osDiskSizeGB"))},
		{name: "osDiskType", props: `{"osDiskType":"Ephemeral"}`, want: ptr(immutable("osDiskType"))},
		{name: "kubeletDiskType", props: `{"kubeletDiskType":"Temporary"}`, want: ptr(immutable("kubeletDiskType"))},
		{name: "osType", props: `{"osType":"Windows"}`, want: ptr(immutable("osType"))},
		{name: "vnetSubnetID", props: `{"vnetSubnetID":"` + subnet + `"}`, want: ptr(immutable("vnetSubnetID"))},
		{name: "podSubnetID", props: `{"podSubnetID":"` + subnet + `"}`, want: ptr(immutable("podSubnetID"))},
		{name: "maxPods", props: `{"maxPods":50}`, want: ptr(immutable("maxPods"))},
		{name: "availabilityZones", props: `{"availabilityZones":["1","2"]}`, want: ptr(immutable("availabilityZones"))},
		{name: "enableNodePublicIP", props: `{"enableNodePublicIP":true}`, want: ptr(immutable("enableNodePublicIP"))},
		{name: "type", props: `{"type":"AvailabilitySet"}`, want: ptr(immutable("type"))},
		{name: "scaleSetPriority", props: `{"scaleSetPriority":"Spot"}`, want: ptr(immutable("scaleSetPriority"))},
		{name: "enableEncryptionAtHost", props: `{"enableEncryptionAtHost":true}`, want: ptr(immutable("enableEncryptionAtHost"))},
		{name: "enableUltraSSD", props: `{"enableUltraSSD":true}`, want: ptr(immutable("enableUltraSSD"))},

		{name: "same values", props: `{"vmSize":"Standard_DS2_v2","osDiskSizeGB":128,"osDiskType":"Managed","maxPods":110,"type":"VirtualMachineScaleSets","enableNodePublicIP":false}`,
			state: StateUpdating},
		{name: "a string in another case", props: `{"vmSize":"standard_ds2_v2"}`, state: StateUpdating},
		{name: "zero means keep", props: `{"osDiskSizeGB":0,"maxPods":0}`, state: StateUpdating},
		{name: "null means keep", props: `{"vmSize":null,"osType":null,"count":null,"maxPods":null}`, state: StateUpdating},
		{name: "empty means keep", props: `{"vmSize":"","osType":"","osDiskType":"","orchestratorVersion":""}`, state: StateUpdating},
		{name: "read-only properties", props: `{"provisioningState":"Failed","currentOrchestratorVersion":"1.34.3","nodeImageVersion":"old","powerState":{"code":"Stopped"}}`,
			state: StateUpdating},
		{name: "labels", props: `{"nodeLabels":{"tier":"api"}}`, state: StateUpdating,
			change: func(p *PoolProperties) { p.NodeLabels = map[string]string{"tier": "api"} }},
		{name: "count", props: `{"count":5}`, state: StateScaling, change: func(p *PoolProperties) { p.Count = intp(5) }},
		{name: "the same count", props: `{"count":2}`, state: StateUpdating},
		{name: "version", props: `{"orchestratorVersion":"1.36"}`, state: StateUpgrading,
			change: func(p *PoolProperties) { p.OrchestratorVersion, p.CurrentOrchestratorVersion = "1.36", "1.36.3" }},
		{name: "version and count", props: `{"orchestratorVersion":"1.36.1","count":3}`, state: StateUpgrading,
			change: func(p *PoolProperties) {
				p.OrchestratorVersion, p.CurrentOrchestratorVersion, p.Count = "1.36.1", "1.36.1", intp(3)
			}},
		{name: "the same version spelled out", props: `{"orchestratorVersion":"1.35.4"}`, state: StateUpdating,
			change: func(p *PoolProperties) { p.OrchestratorVersion = "1.35.4" }},
		{name: "user to system", props: `{"mode":"System"}`, state: StateUpdating, change: func(p *PoolProperties) { p.Mode = "System" }},
		{name: "autoscaler", props: `{"enableAutoScaling":true,"minCount":1,"maxCount":4}`, state: StateUpdating,
			change: func(p *PoolProperties) { p.EnableAutoScaling, p.MinCount, p.MaxCount = boolp(true), intp(1), intp(4) }},

		{name: "the last system pool to user", pool: "np", props: `{"mode":"User"}`,
			want: ptr(aksError(400, "OperationNotAllowed", "agentPoolProfile.mode",
				"Cannot change the mode of agent pool np to User: it is the last system node pool, and a cluster must have at least one."))},
		{name: "a system pool to user with another left", pool: "np", extra: `{"name":"sys2","count":1,"mode":"System"}`, props: `{"mode":"User"}`,
			state: StateUpdating, change: func(p *PoolProperties) { p.Mode = "User" }},
		{name: "version beyond the control plane", props: `{"orchestratorVersion":"1.37"}`,
			want: ptr(aksError(400, "NodePoolMcVersionIncompatible", "agentPoolProfile.orchestratorVersion",
				"Node pool version 1.37.2 and control plane version 1.36.3 are incompatible. Node pool version cannot be bigger than control plane version."))},
		{name: "system pool rules", pool: "np", props: `{"count":0}`,
			want: ptr(aksError(400, "InvalidParameter", "agentPoolProfile.count",
				"agentPoolProfile.count was 0. It must be greater or equal to minCount:1 and less than or equal to maxCount:1000. If allowedMinCount was expected to be 0 but is 1: 1) The nodepool is a VMAS pool. 2) api Version is less than 2020-03-01. 3) The node is a system pool."))},
		{name: "pool operation running", setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-x", StateScaling) }, props: `{"count":3}`,
			want: ptr(aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: Another agentpool operation (user - Scaling) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))},
		{name: "stale if-match", header: [2]string{"If-Match", `"stale"`}, props: `{"count":3}`,
			want: &apiError{Status: 412, Code: "PreconditionFailed", Message: "The condition specified using HTTP conditional header(s) is not met."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			body := create
			if tt.extra != "" {
				body = body[:len(body)-2] + "," + tt.extra + "]}"
			}
			e.ready("c", body)
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			name := tt.pool
			if name == "" {
				name = "user"
			}
			_, beforePools := e.load("c")
			before := poolNamed(beforePools, name)
			req := request(http.MethodPut, poolRID("c", name))
			if tt.header[0] != "" {
				req.HTTP.Header.Set(tt.header[0], tt.header[1])
			}
			p, _, created, err := e.putPool(req, "c", name, tt.props, "op-change")
			if tt.want != nil {
				checkError(t, err, *tt.want)
				_, pools := e.load("c")
				if diff := cmp.Diff(before.Props, poolNamed(pools, name).Props); diff != "" {
					t.Errorf("a refused PUT changed the pool (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created {
				t.Error("created = true for a change")
			}
			want := before.Props
			want.ProvisioningState = tt.state
			want.Localaks = &PoolState{Operation: "op-change", OperationKind: tt.state, Nodes: NodesSimulated}
			if tt.change != nil {
				tt.change(&want)
			}
			_, pools := e.load("c")
			for what, got := range map[string]*Pool{"returned": p, "saved": poolNamed(pools, name)} {
				if diff := cmp.Diff(want, got.Props); diff != "" {
					t.Errorf("%s pool (-want +got):\n%s", what, diff)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestBeginDeletePool(t *testing.T) {
	const two = `{"agentPoolProfiles":[{"name":"np","count":1},{"name":"user","count":1,"mode":"User"}]}`
	deleting := stateOf{State: StateDeleting, Operation: "op-del", Kind: StateDeleting, Power: PowerRunning}
	tests := []struct {
		name, create string
		setup        func(c *Cluster, pools []*Pool)
		header       [2]string
		id           resourceid.ID
		want         *apiError
		gone         bool
		state        stateOf
	}{
		{name: "a user pool", create: two, id: poolRID("c", "user"), state: deleting},
		{name: "a name in another case", create: two, id: poolRID("c", "USER"), state: deleting},
		{name: "a pool being deleted", create: two, setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-old", StateDeleting) },
			id: poolRID("c", "user"), state: deleting},
		{name: "a system pool with another left", create: `{"agentPoolProfiles":[{"name":"np","count":1},{"name":"sys2","count":1,"mode":"System"}]}`,
			id: poolRID("c", "sys2"), state: deleting},
		{name: "the last pool", create: `{"agentPoolProfiles":[{"name":"np","count":1}]}`, id: poolRID("c", "np"),
			want: ptr(aksError(400, "OperationNotAllowed", "", "There has to be at least one agent pool."))},
		{name: "the last system pool", create: two, id: poolRID("c", "np"),
			want: ptr(aksError(400, "OperationNotAllowed", "",
				"Cannot delete agent pool np: it is the last system node pool, and a cluster must have at least one system node pool. Please see https://aka.ms/aks/nodepool/mode for more details."))},
		{name: "a pool operation running", create: two, setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-x", StateUpgrading) },
			id: poolRID("c", "user"),
			want: ptr(aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: Another agentpool operation (user - Upgrading) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))},
		{name: "a cluster operation running", create: two, setup: func(c *Cluster, _ []*Pool) { c.begin("op-x", StateStopping) }, id: poolRID("c", "user"),
			want: ptr(aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: Another operation (Stopping) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))},
		{name: "stale if-match", create: two, header: [2]string{"If-Match", `"stale"`}, id: poolRID("c", "user"),
			want: &apiError{Status: 412, Code: "PreconditionFailed", Message: "The condition specified using HTTP conditional header(s) is not met."}},
		{name: "a pool that is gone", create: two, id: poolRID("c", "nope"), gone: true},
		{name: "no cluster", create: two, id: poolRID("other", "user"),
			want: &apiError{Status: 404, Code: "ResourceNotFound",
				Message: "The Resource 'Microsoft.ContainerService/managedClusters/other' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}},
		{name: "no resource group", create: two,
			id:   resourceid.MustParse("/subscriptions/" + sub + "/resourceGroups/rg9/providers/Microsoft.ContainerService/managedClusters/c/agentPools/user"),
			want: &apiError{Status: 404, Code: "ResourceGroupNotFound", Message: "Resource group 'rg9' could not be found."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", tt.create)
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			bc, bpools := e.load("c")
			req := request(http.MethodDelete, tt.id)
			if tt.header[0] != "" {
				req.HTTP.Header.Set(tt.header[0], tt.header[1])
			}
			var pool *Pool
			var c *Cluster
			err := e.st.Update(context.Background(), func(tx store.Tx) error {
				var err error
				pool, c, err = BeginDeletePool(tx, req, tt.id, "op-del")
				if err != nil {
					return err
				}
				return Save(tx, nil, pool)
			})
			switch {
			case tt.gone:
				if !errors.Is(err, ErrPoolGone) || c == nil || c.Record.ID != clusterRID("c").String() {
					t.Errorf("err %v, cluster %v; want ErrPoolGone with the cluster", err, c)
				}
			case tt.want != nil:
				checkError(t, err, *tt.want)
			default:
				if err != nil {
					t.Fatal(err)
				}
				_, pools := e.load("c")
				saved := poolNamed(pools, pool.Record.Name)
				if diff := cmp.Diff(tt.state, poolState(saved)); diff != "" {
					t.Errorf("pool state (-want +got):\n%s", diff)
				}
				return
			}
			ac, apools := e.load("c")
			if diff := cmp.Diff(states(bc, bpools), states(ac, apools)); diff != "" {
				t.Errorf("a refused DELETE changed states (-before +after):\n%s", diff)
			}
		})
	}
}
