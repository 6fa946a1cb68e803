package aks

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

const twoPools = `{"agentPoolProfiles":[{"name":"np","count":1},{"name":"user","count":1,"mode":"User"}]}`

func stopped(c *Cluster, pools []*Pool) { setPower(c, pools, PowerStopped) }

func TestBeginClusterAction(t *testing.T) {
	const sp = `{"servicePrincipalProfile":{"clientId":"app-1","secret":"s1"},"agentPoolProfiles":[{"name":"np","count":1},{"name":"user","count":1,"mode":"User"}]}`
	reset, err := ResetServicePrincipal(ServicePrincipalProfile{ClientID: "app-2", Secret: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	running := func(state, power string) map[string]stateOf {
		s := stateOf{State: state, Operation: "op-act", Kind: state, Power: power}
		return map[string]stateOf{"cluster": s, "np": s, "user": s}
	}
	inProgress := func(what string) *apiError {
		return ptr(aksError(409, "OperationNotAllowed", "", "Operation is not allowed: Another "+what+
			" is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))
	}
	mustStart := func(what string) *apiError {
		return ptr(aksError(409, "OperationNotAllowed", "", "Operation is not allowed: managed cluster is in Provisioning State(Succeeded) and Power State(Stopped), "+
			what+" cannot be performed. Please start the cluster first: https://aka.ms/aks/start"))
	}
	tests := []struct {
		name   string
		create string
		setup  func(c *Cluster, pools []*Pool)
		action ClusterAction
		want   *apiError
		states map[string]stateOf
	}{
		{name: "stop", action: Stop, states: running(StateStopping, PowerRunning)},
		{name: "stop a stopped cluster", setup: stopped, action: Stop,
			want: ptr(aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: managed cluster is in Provisioning State(Succeeded) and Power State(Stopped), stopping cannot be performed. Please see https://aka.ms/aks/stop for more details"))},
		{name: "start", setup: stopped, action: Start, states: running(StateStarting, PowerStopped)},
		{name: "start a running cluster", action: Start,
			want: ptr(aksError(409, "OperationNotAllowed", "",
				"Operation is not allowed: managed cluster is in Provisioning State(Succeeded) and Power State(Running), starting cannot be performed. Please see https://aka.ms/aks/start for more details"))},
		{name: "start after a failed operation", setup: func(c *Cluster, pools []*Pool) { stopped(c, pools); c.Props.ProvisioningState = StateFailed }, action: Start,
			states: running(StateStarting, PowerStopped)},
		{name: "rotate certificates", action: RotateCertificates, states: running(StateUpdating, PowerRunning)},
		{name: "rotate certificates when stopped", setup: stopped, action: RotateCertificates, want: mustStart("rotating certificates")},
		{name: "rotate signing keys", action: RotateServiceAccountKeys, states: running(StateUpdating, PowerRunning)},
		{name: "rotate signing keys when stopped", setup: stopped, action: RotateServiceAccountKeys, want: mustStart("rotating service account signing keys")},
		{name: "reset the service principal", create: sp, action: reset, states: running(StateUpdating, PowerRunning)},
		{name: "reset the service principal when stopped", create: sp, setup: stopped, action: reset, want: mustStart("resetting the service principal")},
		{name: "reset the service principal of a managed identity", action: reset,
			want: ptr(aksError(400, "BadRequest", "servicePrincipalProfile", "Resetting the service principal profile is not supported for clusters with managed identity."))},
		{name: "a cluster operation running", setup: func(c *Cluster, _ []*Pool) { c.begin("op-x", StateUpgrading) }, action: Stop,
			want: inProgress("operation (Upgrading)")},
		{name: "a pool operation running", setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-x", StateScaling) }, action: RotateCertificates,
			want: inProgress("agentpool operation (user - Scaling)")},
		{name: "stop while starting", setup: func(c *Cluster, pools []*Pool) { stopped(c, pools); c.begin("op-x", StateStarting) }, action: Stop,
			want: inProgress("operation (Starting)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			create := tt.create
			if create == "" {
				create = twoPools
			}
			e.ready("c", create)
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			bc, bpools := e.load("c")
			var c *Cluster
			var pools []*Pool
			err := e.st.Update(context.Background(), func(tx store.Tx) error {
				var err error
				c, pools, err = BeginClusterAction(tx, clusterRID("c"), tt.action, "op-act")
				if err != nil {
					return err
				}
				return Save(tx, c, pools...)
			})
			ac, apools := e.load("c")
			if tt.want != nil {
				checkError(t, err, *tt.want)
				if diff := cmp.Diff(states(bc, bpools), states(ac, apools)); diff != "" {
					t.Errorf("a refused action changed states (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]map[string]stateOf{"returned": states(c, pools), "saved": states(ac, apools)} {
				if diff := cmp.Diff(tt.states, got); diff != "" {
					t.Errorf("%s states (-want +got):\n%s", what, diff)
				}
			}
		})
	}
}

// A reset names the new service principal; its secret is not kept.
func TestResetServicePrincipal(t *testing.T) {
	e := newEnv(t)
	e.ready("c", `{"servicePrincipalProfile":{"clientId":"app-1","secret":"s1"},"agentPoolProfiles":[{"name":"np","count":1}]}`)
	action, err := ResetServicePrincipal(ServicePrincipalProfile{ClientID: "app-2", Secret: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	var c *Cluster
	e.update(func(tx store.Tx) error {
		var err error
		c, _, err = BeginClusterAction(tx, clusterRID("c"), action, "op-reset")
		return err
	})
	// The new secret is kept (write-only: bodies never show it).
	if diff := cmp.Diff(&ServicePrincipalProfile{ClientID: "app-2", Secret: "s2"}, c.Props.ServicePrincipalProfile); diff != "" {
		t.Errorf("service principal (-want +got):\n%s", diff)
	}

	incomplete := aksError(400, "InvalidParameter", "servicePrincipalProfile", "Both clientId and secret are required to reset the service principal profile.")
	for _, sp := range []ServicePrincipalProfile{{}, {ClientID: "app-2"}, {Secret: "s2"}} {
		_, err := ResetServicePrincipal(sp)
		checkError(t, err, incomplete)
	}
	// resetAADProfile resets the retired legacy integration: refused, saying
	// what the cluster has instead.
	plain := &Cluster{Record: &store.Resource{Name: "c1"}}
	checkError(t, ResetAADProfile(plain), aksError(400, "BadRequest", "aadProfile",
		"Managed cluster c1 has no Azure AD integration to reset: resetAADProfile applies to legacy Azure AD integration only, which is deprecated; enable AKS-managed Azure AD with aadProfile.managed (az aks update --enable-aad)."))
	managed := &Cluster{Record: &store.Resource{Name: "c1"}}
	managed.Props.AADProfile = json.RawMessage(`{"managed":true,"tenantID":"t"}`)
	if err := ResetAADProfile(managed); err == nil || !strings.Contains(err.Error(), "uses AKS-managed Azure AD") {
		t.Errorf("managed AAD: %v", err)
	}
}

func TestBeginClusterActionMissing(t *testing.T) {
	e := newEnv(t)
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		_, _, err := BeginClusterAction(tx, clusterRID("nope"), Stop, "op")
		return err
	})
	checkError(t, err, apiError{Status: 404, Code: "ResourceNotFound",
		Message: "The Resource 'Microsoft.ContainerService/managedClusters/nope' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"})
}

// A delete interrupts whatever else runs on the cluster; a delete of a
// missing cluster is a no-op.
func TestPrepareDelete(t *testing.T) {
	tests := []struct {
		name    string
		id      resourceid.ID
		setup   func(c *Cluster, pools []*Pool)
		exists  bool
		preempt string
		want    *apiError
	}{
		{name: "idle", id: clusterRID("c"), exists: true},
		{name: "an operation running", id: clusterRID("c"), setup: func(c *Cluster, _ []*Pool) { c.begin("op-up", StateUpgrading) }, exists: true, preempt: "op-up"},
		{name: "a delete running", id: clusterRID("c"), setup: func(c *Cluster, _ []*Pool) { c.begin("op-del", StateDeleting) }, exists: true},
		{name: "missing cluster", id: clusterRID("nope")},
		{name: "missing resource group", id: resourceid.MustParse("/subscriptions/" + sub + "/resourceGroups/rg9/providers/Microsoft.ContainerService/managedClusters/c"),
			want: &apiError{Status: 404, Code: "ResourceGroupNotFound", Message: "Resource group 'rg9' could not be found."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", twoPools)
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			var exists bool
			var preempt string
			err := e.st.View(context.Background(), func(tx store.Tx) error {
				var err error
				exists, preempt, err = PrepareDelete(tx, tt.id)
				return err
			})
			if tt.want != nil {
				checkError(t, err, *tt.want)
				return
			}
			if err != nil || exists != tt.exists || preempt != tt.preempt {
				t.Errorf("PrepareDelete = %v, %q, %v; want %v, %q", exists, preempt, err, tt.exists, tt.preempt)
			}
		})
	}
}

func TestBeginDeleteCluster(t *testing.T) {
	e := newEnv(t)
	e.ready("c", twoPools)
	// An operation on a pool was running when the delete came.
	e.edit("c", func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-scale", StateScaling) })

	stale := request(http.MethodDelete, clusterRID("c"))
	stale.HTTP.Header.Set("If-Match", `"stale"`)
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		_, _, err := BeginDeleteCluster(tx, stale, clusterRID("c"), "op-del")
		return err
	})
	checkError(t, err, apiError{Status: 412, Code: "PreconditionFailed", Message: "The condition specified using HTTP conditional header(s) is not met."})

	e.update(func(tx store.Tx) error {
		c, pools, err := BeginDeleteCluster(tx, request(http.MethodDelete, clusterRID("c")), clusterRID("c"), "op-del")
		if err != nil {
			return err
		}
		return Save(tx, c, pools...)
	})
	want := map[string]stateOf{
		"cluster": {State: StateDeleting, Operation: "op-del", Kind: StateDeleting, Power: PowerRunning},
		"np":      {State: StateDeleting, Power: PowerRunning},
		"user":    {State: StateDeleting, Operation: "op-scale", Kind: StateScaling, Power: PowerRunning},
	}
	if diff := cmp.Diff(want, states(e.load("c"))); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestBeginAbort(t *testing.T) {
	tests := []struct {
		name    string
		pool    string // abort this pool's operation; the cluster's when empty
		setup   func(c *Cluster, pools []*Pool)
		running string
		want    *apiError
		states  map[string]stateOf
	}{
		{name: "cluster operation", setup: func(c *Cluster, _ []*Pool) { c.begin("op-up", StateUpgrading) }, running: "op-up",
			states: map[string]stateOf{
				"cluster": {State: StateCanceling, Operation: "op-up", Kind: StateUpgrading, Power: PowerRunning},
				"np":      {State: StateSucceeded, Power: PowerRunning}, "user": {State: StateSucceeded, Power: PowerRunning}}},
		{name: "nothing on the cluster", want: ptr(aksError(409, "OperationNotAllowed", "", "No on-going operation found to abort on managed cluster c."))},
		{name: "a marker on a finished cluster", setup: func(c *Cluster, _ []*Pool) { c.begin("op-up", StateUpgrading); c.Props.ProvisioningState = StateFailed },
			want: ptr(aksError(409, "OperationNotAllowed", "", "No on-going operation found to abort on managed cluster c."))},
		{name: "a delete", setup: func(c *Cluster, _ []*Pool) { c.begin("op-del", StateDeleting) },
			want: ptr(aksError(409, "OperationNotAllowed", "", "Abort is not allowed on managed cluster c: it is being deleted."))},
		{name: "pool operation", pool: "user", setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-scale", StateScaling) }, running: "op-scale",
			states: map[string]stateOf{
				"cluster": {State: StateSucceeded, Power: PowerRunning}, "np": {State: StateSucceeded, Power: PowerRunning},
				"user": {State: StateCanceling, Operation: "op-scale", Kind: StateScaling, Power: PowerRunning}}},
		{name: "nothing on the pool", pool: "user", setup: func(c *Cluster, _ []*Pool) { c.begin("op-up", StateUpgrading) },
			want: ptr(aksError(409, "OperationNotAllowed", "", "No on-going operation found to abort on agent pool user."))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", twoPools)
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			bc, bpools := e.load("c")
			var running string
			err := e.st.Update(context.Background(), func(tx store.Tx) error {
				if tt.pool != "" {
					p, op, err := BeginAbortPool(tx, poolRID("c", tt.pool))
					if err != nil {
						return err
					}
					running = op
					return Save(tx, nil, p)
				}
				c, op, err := BeginAbortCluster(tx, clusterRID("c"))
				if err != nil {
					return err
				}
				running = op
				return Save(tx, c)
			})
			ac, apools := e.load("c")
			if tt.want != nil {
				checkError(t, err, *tt.want)
				if diff := cmp.Diff(states(bc, bpools), states(ac, apools)); diff != "" {
					t.Errorf("a refused abort changed states (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if running != tt.running {
				t.Errorf("operation to cancel = %q, want %q", running, tt.running)
			}
			if diff := cmp.Diff(tt.states, states(ac, apools)); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpgradeNodeImage(t *testing.T) {
	upgrading := stateOf{State: StateUpgradingNodeImage, Operation: "op-img", Kind: StateUpgradingNodeImage, Power: PowerRunning}
	tests := []struct {
		name  string
		setup func(c *Cluster, pools []*Pool)
		want  *apiError
	}{
		{name: "idle"},
		{name: "another pool busy", setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "np").begin("op-x", StateScaling) }},
		{name: "stopped", setup: stopped, want: ptr(aksError(409, "OperationNotAllowed", "",
			"Operation is not allowed: managed cluster is in Provisioning State(Succeeded) and Power State(Stopped), agent pool operations cannot be performed. Please start the cluster first: https://aka.ms/aks/start"))},
		{name: "cluster busy", setup: func(c *Cluster, _ []*Pool) { c.begin("op-x", StateUpdating) }, want: ptr(aksError(409, "OperationNotAllowed", "",
			"Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))},
		{name: "pool busy", setup: func(_ *Cluster, pools []*Pool) { poolNamed(pools, "user").begin("op-x", StateUpgrading) }, want: ptr(aksError(409, "OperationNotAllowed", "",
			"Operation is not allowed: Another agentpool operation (user - Upgrading) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", twoPools)
			e.edit("c", func(_ *Cluster, pools []*Pool) {
				poolNamed(pools, "user").Props.NodeImageVersion = "AKSUbuntu-2204gen2containerd-202401.01.0"
			})
			if tt.setup != nil {
				e.edit("c", tt.setup)
			}
			_, bpools := e.load("c")
			var pool *Pool
			err := e.st.Update(context.Background(), func(tx store.Tx) error {
				var err error
				pool, _, err = e.val.BeginPoolAction(tx, poolRID("c", "user"), UpgradeNodeImage, "op-img")
				if err != nil {
					return err
				}
				return Save(tx, nil, pool)
			})
			_, pools := e.load("c")
			got := poolNamed(pools, "user")
			if tt.want != nil {
				checkError(t, err, *tt.want)
				if diff := cmp.Diff(poolNamed(bpools, "user").Props, got.Props); diff != "" {
					t.Errorf("a refused upgrade changed the pool (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Props.NodeImageVersion != Versions.NodeImage {
				t.Errorf("node image %q, want %q", got.Props.NodeImageVersion, Versions.NodeImage)
			}
			if diff := cmp.Diff(upgrading, poolState(got)); diff != "" {
				t.Errorf("pool state (-want +got):\n%s", diff)
			}
		})
	}
}

// deleteMachines names machines by node name, in any case, among the
// pool's scale set instances; a system pool keeps one.
func TestDeleteMachines(t *testing.T) {
	e := newEnv(t)
	if _, err := e.create("c", `{"dnsPrefix":"c","agentPoolProfiles":[{"name":"np","count":1},{"name":"user","count":3,"mode":"User"}]}`); err != nil {
		t.Fatal(err)
	}
	e.finish("c", "op-create", store.StatusSucceeded, "")
	id := ClusterID("c")
	user := func(n int) string { return ComputerNameFor("user", id, n) }
	sys := ComputerNameFor("np", id, 0)
	if got := len(e.instances("MC_rg1_c_eastus", vmssName("user", id))); got != 3 {
		t.Fatalf("user pool has %d instances, want 3", got)
	}

	_, err := DeleteMachines(nil)
	checkError(t, err, aksError(400, "InvalidParameter", "machineNames", "At least one machine name is required."))

	notInPool := func(names, pool string) *apiError {
		return ptr(aksError(400, "InvalidParameter", "machineNames", "Some machines in "+names+" are not in agent pool "+pool+"."))
	}
	tests := []struct {
		name  string
		pool  string
		names []string
		want  *apiError
		count int
	}{
		{name: "one", pool: "user", names: []string{user(1)}, count: 2},
		{name: "two in capitals", pool: "user", names: []string{strings.ToUpper(user(0)), strings.ToUpper(user(2))}, count: 1},
		{name: "all of a user pool", pool: "user", names: []string{user(0), user(1), user(2)}, count: 0},
		{name: "unknown", pool: "user", names: []string{user(1), "aks-user-00000000-vmss00000z"},
			want: notInPool("["+user(1)+" aks-user-00000000-vmss00000z]", "user")},
		{name: "another pool's", pool: "user", names: []string{sys}, want: notInPool("["+sys+"]", "user")},
		{name: "the last of a system pool", pool: "np", names: []string{sys},
			want: ptr(aksError(400, "InvalidParameter", "machineNames", "System node pool np must keep at least 1 node."))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, err := DeleteMachines(tt.names)
			if err != nil {
				t.Fatal(err)
			}
			// A read-only transaction: nothing is saved, each case starts
			// from the same pools.
			var pool *Pool
			err = e.st.View(context.Background(), func(tx store.Tx) error {
				var err error
				pool, _, err = e.val.BeginPoolAction(tx, poolRID("c", tt.pool), action, "op-del")
				return err
			})
			if tt.want != nil {
				checkError(t, err, *tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			type view struct {
				Count    int
				Machines []string
				State    stateOf
			}
			want := view{tt.count, tt.names, stateOf{State: StateScaling, Operation: "op-del", Kind: StateScaling, Power: PowerRunning}}
			if diff := cmp.Diff(want, view{*pool.Props.Count, pool.Props.Localaks.DeleteMachines, poolState(pool)}); diff != "" {
				t.Errorf("pool (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckCredential(t *testing.T) {
	cluster := func(disableLocal bool, power string) *Cluster {
		return &Cluster{Record: &store.Resource{Name: "c"}, Props: ClusterProperties{ProvisioningState: StateSucceeded,
			DisableLocalAccounts: boolp(disableLocal), PowerState: &PowerState{Code: power}, Localaks: &ClusterState{}}}
	}
	staticRefused := aksError(400, "BadRequest", "", "Getting static credential isn't allowed because this cluster is set to disable local accounts.")
	isStopped := aksError(409, "OperationNotAllowed", "",
		"Operation is not allowed: managed cluster c is stopped; its API server has no credentials to list. Start it first: https://aka.ms/aks/start")
	tests := []struct {
		name string
		c    *Cluster
		role string
		want *apiError
	}{
		{"user", cluster(false, PowerRunning), "clusterUser", nil},
		{"admin", cluster(false, PowerRunning), "clusterAdmin", nil},
		{"monitoring user", cluster(false, PowerRunning), "clusterMonitoringUser", nil},
		{"admin without local accounts", cluster(true, PowerRunning), "clusterAdmin", &staticRefused},
		{"user without local accounts", cluster(true, PowerRunning), "clusterUser", nil},
		{"stopped", cluster(false, PowerStopped), "clusterUser", &isStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCredential(tt.c, tt.role)
			if tt.want == nil {
				if err != nil {
					t.Errorf("CheckCredential = %v, want nil", err)
				}
				return
			}
			checkError(t, err, *tt.want)
		})
	}
}

func TestRunCommandChecks(t *testing.T) {
	empty := aksError(400, "InvalidParameter", "command", "The command must not be empty.")
	tests := []struct {
		name, command, context string
		want                   *apiError
	}{
		{"command", "kubectl get pods", "", nil},
		{"command with context", "kubectl apply -f .", "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", nil},
		{"no command", "", "", &empty},
		{"blank command", " \t", "", &empty},
		{"context not base64", "kubectl get pods", "not base64!", ptr(aksError(400, "InvalidParameter", "context",
			"The context must be a base64-encoded zip archive: illegal base64 data at input byte 3."))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRunCommand(tt.command, tt.context)
			if tt.want == nil {
				if err != nil {
					t.Errorf("ValidateRunCommand = %v, want nil", err)
				}
				return
			}
			checkError(t, err, *tt.want)
		})
	}

	cluster := func(disabled *bool, power string) *Cluster {
		return &Cluster{Record: &store.Resource{Name: "c"}, Props: ClusterProperties{ProvisioningState: StateSucceeded,
			APIServerAccessProfile: &APIServerAccessProfile{DisableRunCommand: disabled}, PowerState: &PowerState{Code: power}, Localaks: &ClusterState{}}}
	}
	clusters := []struct {
		name string
		c    *Cluster
		want *apiError
	}{
		{"running", cluster(nil, PowerRunning), nil},
		{"explicitly enabled", cluster(boolp(false), PowerRunning), nil},
		{"disabled", cluster(boolp(true), PowerRunning), ptr(aksError(400, "BadRequest", "",
			"Run command is disabled for managed cluster c (apiServerAccessProfile.disableRunCommand)."))},
		{"stopped", cluster(nil, PowerStopped), ptr(aksError(409, "OperationNotAllowed", "",
			"Operation is not allowed: managed cluster c is stopped. Start it first: https://aka.ms/aks/start"))},
	}
	for _, tt := range clusters {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRunCommand(tt.c)
			if tt.want == nil {
				if err != nil {
					t.Errorf("CheckRunCommand = %v, want nil", err)
				}
				return
			}
			checkError(t, err, *tt.want)
		})
	}
	c := cluster(nil, PowerRunning)
	checkError(t, ErrNoControlPlane(c, " to run commands against"), aksError(409, "ControlPlaneNotAvailable", "",
		"Managed cluster c has no Kubernetes control plane in this localaks (serve runs with control planes off) to run commands against."))
}
