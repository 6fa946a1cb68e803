package aks

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A pool's node mode comes from its own tag, else the cluster's, else the
// server's default, and is fixed once the pool exists.
func TestNodeModeSettles(t *testing.T) {
	tests := []struct {
		name           string
		clusterTags    map[string]string
		poolProps      string
		defaultNodes   string
		want, wantUser string
	}{
		{"default simulated", nil, `{"count":1}`, "", NodesSimulated, NodesSimulated},
		{"server default real", nil, `{"count":1}`, NodesReal, NodesReal, NodesReal},
		{"cluster tag", map[string]string{"localaks.io-nodes": "real"}, `{"count":1}`, "", NodesReal, NodesReal},
		{"pool tag wins", map[string]string{"localaks.io-nodes": "real"}, `{"count":1,"tags":{"LocalAKS.io/nodes":"Simulated"}}`, "", NodesReal, NodesSimulated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.val.DefaultNodes = tt.defaultNodes
			in := clusterBody(`{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1,"mode":"System"}]}`)
			in.Tags = tt.clusterTags
			if _, _, _, err := e.putCluster("c", in, "op-create"); err != nil {
				t.Fatal(err)
			}
			e.finish("c", "op-create", "Succeeded", "")
			p, _, _, err := e.putPool(request(http.MethodPut, poolRID("c", "user")), "c", "user", tt.poolProps, "op-pool")
			if err != nil {
				t.Fatal(err)
			}
			_, pools := e.load("c")
			if got := poolNamed(pools, "np").State().Nodes; got != tt.want {
				t.Errorf("system pool nodes = %q, want %q", got, tt.want)
			}
			if got := p.State().Nodes; got != tt.wantUser {
				t.Errorf("user pool nodes = %q, want %q", got, tt.wantUser)
			}
		})
	}
}

// Asking an existing pool for another mode is refused, as AKS refuses
// changes to properties fixed at creation; asking for the same is fine.
func TestNodeModeImmutable(t *testing.T) {
	e := newEnv(t)
	e.ready("c", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1,"mode":"System"}]}`)
	if _, _, _, err := e.putPool(request(http.MethodPut, poolRID("c", "np")), "c", "np", `{"count":1,"mode":"System","tags":{"localaks.io/nodes":"simulated"}}`, "op-1"); err != nil {
		t.Fatalf("same mode: %v", err)
	}
	e.edit("c", func(c *Cluster, pools []*Pool) {
		for _, p := range pools {
			p.Props.ProvisioningState = StateSucceeded
			p.Props.Localaks.Operation = ""
		}
	})
	_, _, _, err := e.putPool(request(http.MethodPut, poolRID("c", "np")), "c", "np", `{"count":1,"mode":"System","tags":{"localaks.io/nodes":"real"}}`, "op-2")
	checkError(t, err, aksError(http.StatusBadRequest, "PropertyChangeNotAllowed", "agentPoolProfile.tags",
		"Changing the node mode of agent pool 'np' from simulated to real is not allowed: it is fixed when the pool is created. Create a new pool with tag localaks.io/nodes=real instead."))
}

// A pool recorded before node modes stays simulated, whatever the server's
// default is now.
func TestNodeModeOfOldPools(t *testing.T) {
	e := newEnv(t)
	e.ready("c", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1,"mode":"System"}]}`)
	e.edit("c", func(c *Cluster, pools []*Pool) { pools[0].Props.Localaks.Nodes = "" })
	e.val.DefaultNodes = NodesReal
	p, _, _, err := e.putPool(request(http.MethodPut, poolRID("c", "np")), "c", "np", `{"count":2,"mode":"System"}`, "op-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.State().Nodes != NodesSimulated {
		t.Errorf("old pool's nodes = %q, want simulated", p.State().Nodes)
	}
}

// A host that cannot run real nodes says what it lacks; a bad tag value and
// a Windows pool are refused.
func TestNodeModeRefusals(t *testing.T) {
	e := newEnv(t)
	e.ready("c", `{"kubernetesVersion":"1.36","agentPoolProfiles":[{"name":"np","count":1,"mode":"System"}]}`)
	e.val.HostMissing = func() []string { return []string{"runc (Debian package runc)", "root privileges"} }
	_, _, _, err := e.putPool(request(http.MethodPut, poolRID("c", "user")), "c", "user", `{"count":1,"tags":{"localaks.io/nodes":"real"}}`, "op-1")
	checkError(t, err, aksError(http.StatusBadRequest, "RealNodesUnavailable", "agentPoolProfile.tags",
		"Agent pool 'user' asks for real nodes, but this host cannot run them: it lacks runc (Debian package runc); root privileges. Install what is missing (see the README, 'Real nodes'), or leave the pool simulated."))
	_, _, _, err = e.putPool(request(http.MethodPut, poolRID("c", "user")), "c", "user", `{"count":1,"tags":{"localaks.io/nodes":"yes"}}`, "op-2")
	checkError(t, err, aksError(http.StatusBadRequest, "InvalidParameter", "agentPoolProfile.tags",
		"The value 'yes' of tag 'localaks.io/nodes' is invalid: use 'real' or 'simulated'."))
	e.val.HostMissing = nil
	_, _, _, err = e.putPool(request(http.MethodPut, poolRID("c", "win")), "c", "win", `{"count":1,"osType":"Windows","tags":{"localaks.io/nodes":"real"}}`, "op-3")
	checkError(t, err, aksError(http.StatusBadRequest, "InvalidParameter", "agentPoolProfile.tags",
		"Agent pool 'win' cannot have real nodes: real nodes run Linux only (osType is Windows)."))
}

// A cluster with real nodes gets the virtual network and the route table's
// routes in its spec; a change to that table re-sends it, one to another
// table does not.
func TestFollowNetwork(t *testing.T) {
	e := newEnv(t)
	cp := &fakeControlPlane{}
	e.rec.ControlPlane = cp
	if _, err := e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":2,"mode":"System","tags":{"localaks.io/nodes":"real"}}]}`); err != nil {
		t.Fatal(err)
	}
	e.finish("c1", "op-create", "Succeeded", "")
	c, _ := e.load("c1")
	cp.applied = nil
	if err := e.rec.FollowNetwork(context.Background(), strings.ToUpper(c.Props.Localaks.RouteTable)); err != nil {
		t.Fatal(err)
	}
	if len(cp.applied) != 1 {
		t.Fatalf("%d specs applied, want 1", len(cp.applied))
	}
	s := cp.applied[0]
	if !s.Pools[0].Real || len(s.RealNodes()) != 2 || s.Fabric.VNetID == "" || len(s.Fabric.Routes) != 2 {
		t.Errorf("spec: real %v, real nodes %d, vnet %q, routes %v", s.Pools[0].Real, len(s.RealNodes()), s.Fabric.VNetID, s.Fabric.Routes)
	}
	for _, n := range s.Nodes {
		if n.Subnet == "" {
			t.Errorf("node %s has no subnet prefix", n.Name)
		}
	}
	cp.applied = nil
	if err := e.rec.FollowNetwork(context.Background(), c.Props.Localaks.RouteTable+"-other"); err != nil || len(cp.applied) != 0 {
		t.Errorf("another table: %v, %d specs", err, len(cp.applied))
	}
}
