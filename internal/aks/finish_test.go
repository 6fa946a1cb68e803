package aks

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/store"
)

func TestTerminalState(t *testing.T) {
	for status, want := range map[string]string{
		store.StatusSucceeded:  StateSucceeded,
		store.StatusFailed:     StateFailed,
		store.StatusCanceled:   StateCanceled,
		store.StatusInProgress: StateFailed,
	} {
		if got := TerminalState(status); got != want {
			t.Errorf("TerminalState(%q) = %q, want %q", status, got, want)
		}
	}
}

// How a cluster operation ends: the cluster and each pool it left mid-way
// take the end state, markers go, and a successful start or stop sets the
// power of all.
func TestFinishCluster(t *testing.T) {
	idle := func(power string) stateOf { return stateOf{State: StateSucceeded, Power: power} }
	ended := func(state, power string) stateOf { return stateOf{State: state, Power: power} }
	// running: the cluster and np run op-1 as state; user is idle.
	running := func(state string) func(c *Cluster, pools []*Pool) {
		return func(c *Cluster, pools []*Pool) {
			c.begin("op-1", state)
			poolNamed(pools, "np").begin("op-1", state)
		}
	}
	tests := []struct {
		name   string
		setup  func(c *Cluster, pools []*Pool)
		status string
		power  PowerChange
		want   map[string]stateOf
	}{
		{"update succeeded", running(StateUpdating), store.StatusSucceeded, "",
			map[string]stateOf{"cluster": idle(PowerRunning), "np": idle(PowerRunning), "user": idle(PowerRunning)}},
		{"update failed", running(StateUpdating), store.StatusFailed, "",
			map[string]stateOf{"cluster": ended(StateFailed, PowerRunning), "np": ended(StateFailed, PowerRunning), "user": idle(PowerRunning)}},
		{"update canceled", func(c *Cluster, pools []*Pool) {
			running(StateUpdating)(c, pools)
			c.Props.ProvisioningState = StateCanceling
		},
			store.StatusCanceled, "",
			map[string]stateOf{"cluster": ended(StateCanceled, PowerRunning), "np": ended(StateCanceled, PowerRunning), "user": idle(PowerRunning)}},
		{"stop succeeded", func(c *Cluster, pools []*Pool) {
			c.begin("op-1", StateStopping)
			for _, p := range pools {
				p.begin("op-1", StateStopping)
			}
		}, store.StatusSucceeded, PowerStopped,
			map[string]stateOf{"cluster": idle(PowerStopped), "np": idle(PowerStopped), "user": idle(PowerStopped)}},
		{"stop failed", running(StateStopping), store.StatusFailed, PowerStopped,
			map[string]stateOf{"cluster": ended(StateFailed, PowerRunning), "np": ended(StateFailed, PowerRunning), "user": idle(PowerRunning)}},
		{"stop canceled", running(StateStopping), store.StatusCanceled, PowerStopped,
			map[string]stateOf{"cluster": ended(StateCanceled, PowerRunning), "np": ended(StateCanceled, PowerRunning), "user": idle(PowerRunning)}},
		{"start succeeded", func(c *Cluster, pools []*Pool) { setPower(c, pools, PowerStopped); running(StateStarting)(c, pools) },
			store.StatusSucceeded, PowerRunning,
			map[string]stateOf{"cluster": idle(PowerRunning), "np": idle(PowerRunning), "user": idle(PowerRunning)}},
		{"start failed", func(c *Cluster, pools []*Pool) { setPower(c, pools, PowerStopped); running(StateStarting)(c, pools) },
			store.StatusFailed, PowerRunning,
			map[string]stateOf{"cluster": ended(StateFailed, PowerStopped), "np": ended(StateFailed, PowerStopped), "user": idle(PowerStopped)}},
		{"a pool left mid-way without the marker", func(c *Cluster, pools []*Pool) {
			c.begin("op-1", StateUpgrading)
			poolNamed(pools, "user").Props.ProvisioningState = StateUpgrading
		}, store.StatusFailed, "",
			map[string]stateOf{"cluster": ended(StateFailed, PowerRunning), "np": idle(PowerRunning), "user": ended(StateFailed, PowerRunning)}},
		{"an operation the cluster no longer runs", func(c *Cluster, _ []*Pool) { c.begin("op-2", StateUpdating) }, store.StatusSucceeded, "",
			map[string]stateOf{"cluster": {State: StateUpdating, Operation: "op-2", Kind: StateUpdating, Power: PowerRunning},
				"np": idle(PowerRunning), "user": idle(PowerRunning)}},
		{"a failed operation earlier", func(c *Cluster, pools []*Pool) {
			running(StateUpdating)(c, pools)
			poolNamed(pools, "user").Props.ProvisioningState = StateFailed
		}, store.StatusSucceeded, "",
			map[string]stateOf{"cluster": idle(PowerRunning), "np": idle(PowerRunning), "user": ended(StateFailed, PowerRunning)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", twoPools)
			e.edit("c", tt.setup)
			e.finish("c", "op-1", tt.status, tt.power)
			if diff := cmp.Diff(tt.want, states(e.load("c"))); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinishClusterGone(t *testing.T) {
	e := newEnv(t)
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		return FinishCluster(tx, clusterRID("nope").String(), &store.Operation{ID: "op-1", Status: store.StatusSucceeded}, PowerStopped)
	})
	if err != nil {
		t.Errorf("FinishCluster of a missing cluster = %v", err)
	}
}

// A delete that succeeds removes the cluster and its pools; one that does
// not ends as any operation.
func TestFinishClusterDelete(t *testing.T) {
	tests := []struct {
		status string
		want   map[string]stateOf // nil: gone
	}{
		{store.StatusSucceeded, nil},
		{store.StatusFailed, map[string]stateOf{"cluster": {State: StateFailed, Power: PowerRunning},
			"np": {State: StateFailed, Power: PowerRunning}, "user": {State: StateFailed, Power: PowerRunning}}},
		{store.StatusCanceled, map[string]stateOf{"cluster": {State: StateCanceled, Power: PowerRunning},
			"np": {State: StateCanceled, Power: PowerRunning}, "user": {State: StateCanceled, Power: PowerRunning}}},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", twoPools)
			e.update(func(tx store.Tx) error {
				c, pools, err := BeginDeleteCluster(tx, request(http.MethodDelete, clusterRID("c")), clusterRID("c"), "op-del")
				if err != nil {
					return err
				}
				return Save(tx, c, pools...)
			})
			e.update(func(tx store.Tx) error {
				return FinishClusterDelete(tx, clusterRID("c").String(), &store.Operation{ID: "op-del", Status: tt.status})
			})
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, states(e.load("c"))); diff != "" {
					t.Errorf("states (-want +got):\n%s", diff)
				}
				return
			}
			e.st.View(context.Background(), func(tx store.Tx) error {
				for _, id := range []string{clusterRID("c").String(), poolRID("c", "np").String(), poolRID("c", "user").String()} {
					if _, err := tx.Get(id); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s after the delete: %v, want not found", id, err)
					}
				}
				return nil
			})
		})
	}
}

func TestFinishPool(t *testing.T) {
	tests := []struct {
		name     string
		marker   string // the pool's operation
		state    string
		status   string
		deleting bool
		want     *stateOf // nil: gone
	}{
		{"scale succeeded", "op-1", StateScaling, store.StatusSucceeded, false, &stateOf{State: StateSucceeded, Power: PowerRunning}},
		{"scale failed", "op-1", StateScaling, store.StatusFailed, false, &stateOf{State: StateFailed, Power: PowerRunning}},
		{"scale canceled", "op-1", StateCanceling, store.StatusCanceled, false, &stateOf{State: StateCanceled, Power: PowerRunning}},
		{"delete succeeded", "op-1", StateDeleting, store.StatusSucceeded, true, nil},
		{"delete failed", "op-1", StateDeleting, store.StatusFailed, true, &stateOf{State: StateFailed, Power: PowerRunning}},
		{"another operation's pool", "op-2", StateUpdating, store.StatusSucceeded, false,
			&stateOf{State: StateUpdating, Operation: "op-2", Kind: StateUpdating, Power: PowerRunning}},
		{"another operation's pool, deleting", "op-2", StateUpdating, store.StatusFailed, true,
			&stateOf{State: StateUpdating, Operation: "op-2", Kind: StateUpdating, Power: PowerRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ready("c", twoPools)
			e.edit("c", func(_ *Cluster, pools []*Pool) {
				poolNamed(pools, "user").begin(tt.marker, tt.state)
			})
			e.update(func(tx store.Tx) error {
				return FinishPool(tx, clusterRID("c").String(), "user", &store.Operation{ID: "op-1", Status: tt.status}, tt.deleting)
			})
			c, pools := e.load("c")
			if got := clusterState(c); got != (stateOf{State: StateSucceeded, Power: PowerRunning}) {
				t.Errorf("cluster = %+v; a pool's end changed it", got)
			}
			p := poolNamed(pools, "user")
			if tt.want == nil {
				if p != nil {
					t.Errorf("pool left after its delete: %+v", poolState(p))
				}
				return
			}
			if p == nil {
				t.Fatal("pool gone")
			}
			if diff := cmp.Diff(*tt.want, poolState(p)); diff != "" {
				t.Errorf("pool (-want +got):\n%s", diff)
			}
		})
	}

	e := newEnv(t)
	e.ready("c", twoPools)
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		return FinishPool(tx, clusterRID("c").String(), "nope", &store.Operation{ID: "op-1", Status: store.StatusSucceeded}, true)
	})
	if err != nil {
		t.Errorf("FinishPool of a missing pool = %v", err)
	}
}

func TestResumable(t *testing.T) {
	cluster := func(state, power string, port int) *Cluster {
		return &Cluster{Record: &store.Resource{Name: "c"}, Props: ClusterProperties{ProvisioningState: state,
			PowerState: &PowerState{Code: power}, Localaks: &ClusterState{APIServerPort: port}}}
	}
	tests := []struct {
		name string
		c    *Cluster
		want bool
	}{
		{"running", cluster(StateSucceeded, PowerRunning, 40001), true},
		{"failed", cluster(StateFailed, PowerRunning, 40001), true},
		{"canceled", cluster(StateCanceled, PowerRunning, 40001), true},
		{"stopped", cluster(StateSucceeded, PowerStopped, 40001), false},
		{"an operation running", cluster(StateUpdating, PowerRunning, 40001), false},
		{"starting", cluster(StateStarting, PowerStopped, 40001), false},
		{"never had a control plane", cluster(StateSucceeded, PowerRunning, 0), false},
	}
	for _, tt := range tests {
		if got := tt.c.Resumable(); got != tt.want {
			t.Errorf("%s: Resumable = %v, want %v", tt.name, got, tt.want)
		}
	}

	e := newEnv(t)
	for name, fn := range map[string]func(c *Cluster, pools []*Pool){
		"up": func(c *Cluster, _ []*Pool) { c.Props.Localaks.APIServerPort = 40001 },
		"down": func(c *Cluster, pools []*Pool) {
			c.Props.Localaks.APIServerPort = 40002
			setPower(c, pools, PowerStopped)
		},
		"busy": func(c *Cluster, _ []*Pool) { c.Props.Localaks.APIServerPort = 40003; c.begin("op-x", StateUpgrading) },
		"new":  func(*Cluster, []*Pool) {},
		"alsoup": func(c *Cluster, _ []*Pool) {
			c.Props.Localaks.APIServerPort = 40004
			c.Props.ProvisioningState = StateFailed
		},
	} {
		e.ready(name, `{"agentPoolProfiles":[{"name":"np","count":1}]}`)
		e.edit(name, fn)
	}
	var ids []string
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		ids, err = ResumableClusters(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	want := []string{clusterRID("alsoup").String(), clusterRID("up").String()}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("resumable clusters (-want +got):\n%s", diff)
	}
}

func TestCheckTerminal(t *testing.T) {
	c := &Cluster{Record: &store.Resource{Name: "c"}, Props: ClusterProperties{ProvisioningState: StateSucceeded, Localaks: &ClusterState{}}}
	pool := func(name, state string) *Pool {
		return &Pool{Record: &store.Resource{Name: name}, Props: PoolProperties{ProvisioningState: state, Localaks: &PoolState{}}}
	}
	for _, state := range []string{"", StateSucceeded, StateFailed, StateCanceled} {
		c.Props.ProvisioningState = state
		if err := CheckTerminal(c, []*Pool{pool("a", state), pool("b", StateSucceeded)}); err != nil {
			t.Errorf("CheckTerminal with %q = %v", state, err)
		}
	}
	c.Props.ProvisioningState = StateCanceling
	checkError(t, CheckTerminal(c, nil), aksError(409, "OperationNotAllowed", "",
		"Operation is not allowed: Another operation (Canceling) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))
	c.Props.ProvisioningState = StateSucceeded
	checkError(t, CheckTerminal(c, []*Pool{pool("a", StateSucceeded), pool("b", StateUpgradingNodeImage)}), aksError(409, "OperationNotAllowed", "",
		"Operation is not allowed: Another agentpool operation (b - UpgradingNodeImageVersion) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"))
}
