package aks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// What the rules tests share: addresses, requests, clusters set up with a
// PUT (without the reconciler) and ended as an operation would end them,
// and the comparison of AKS errors.

func clusterRID(name string) resourceid.ID {
	return resourceid.MustParse("/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/" + name)
}

func poolRID(cluster, pool string) resourceid.ID {
	return resourceid.MustParse(clusterRID(cluster).String() + "/agentPools/" + pool)
}

func request(method string, id resourceid.ID) *arm.Request {
	return &arm.Request{HTTP: httptest.NewRequest(method, id.String(), nil), APIVersion: APIVersions[0]}
}

// clusterBody is a PUT body in eastus with these properties.
func clusterBody(props string) *ClusterInput {
	loc := "eastus"
	return &ClusterInput{Location: &loc, Properties: json.RawMessage(props)}
}

// putClusterReq runs a managed cluster PUT and saves what it returns.
func (e *env) putClusterReq(req *arm.Request, name string, in *ClusterInput, opID string) (*Cluster, []*Pool, bool, error) {
	e.t.Helper()
	var c *Cluster
	var pools []*Pool
	var created bool
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		c, pools, created, err = e.val.PutCluster(tx, req, clusterRID(name), in, opID)
		if err != nil {
			return err
		}
		return Save(tx, c, pools...)
	})
	return c, pools, created, err
}

func (e *env) putCluster(name string, in *ClusterInput, opID string) (*Cluster, []*Pool, bool, error) {
	e.t.Helper()
	return e.putClusterReq(request(http.MethodPut, clusterRID(name)), name, in, opID)
}

// ready creates a cluster with a PUT and ends the create as Succeeded, as
// the operation's finish does; nothing is reconciled.
func (e *env) ready(name, props string) {
	e.t.Helper()
	if _, _, _, err := e.putCluster(name, clusterBody(props), "op-create"); err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	e.finish(name, "op-create", store.StatusSucceeded, "")
}

// finish ends cluster operation opID with status.
func (e *env) finish(name, opID, status string, power PowerChange) {
	e.t.Helper()
	e.update(func(tx store.Tx) error {
		return FinishCluster(tx, clusterRID(name).String(), &store.Operation{ID: opID, Status: status}, power)
	})
}

// load reads a cluster and its pools.
func (e *env) load(name string) (*Cluster, []*Pool) {
	e.t.Helper()
	var c *Cluster
	var pools []*Pool
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, pools, err = Load(tx, clusterRID(name).String())
		return err
	})
	if err != nil {
		e.t.Fatalf("load %s: %v", name, err)
	}
	return c, pools
}

// edit changes a stored cluster and its pools: the state a test starts
// from.
func (e *env) edit(name string, fn func(c *Cluster, pools []*Pool)) {
	e.t.Helper()
	e.update(func(tx store.Tx) error {
		c, pools, err := Load(tx, clusterRID(name).String())
		if err != nil {
			return err
		}
		fn(c, pools)
		return Save(tx, c, pools...)
	})
}

// poolNamed is the pool called name (nil when none is).
func poolNamed(pools []*Pool, name string) *Pool {
	for _, p := range pools {
		if p.Record.Name == name {
			return p
		}
	}
	return nil
}

// stateOf is what a test compares of a cluster's or pool's progress:
// provisioning state, the operation it runs and the power state.
type stateOf struct {
	State, Operation, Kind, Power string
}

func clusterState(c *Cluster) stateOf {
	s := stateOf{State: c.Props.ProvisioningState, Operation: c.Props.Localaks.Operation, Kind: c.Props.Localaks.OperationKind}
	if c.Props.PowerState != nil {
		s.Power = c.Props.PowerState.Code
	}
	return s
}

func poolState(p *Pool) stateOf {
	s := stateOf{State: p.Props.ProvisioningState, Operation: p.Props.Localaks.Operation, Kind: p.Props.Localaks.OperationKind}
	if p.Props.PowerState != nil {
		s.Power = p.Props.PowerState.Code
	}
	return s
}

// states maps "cluster" and each pool's name to its state.
func states(c *Cluster, pools []*Pool) map[string]stateOf {
	out := map[string]stateOf{"cluster": clusterState(c)}
	for _, p := range pools {
		out[p.Record.Name] = poolState(p)
	}
	return out
}

// apiError is what the tests compare of an error: all a client sees.
type apiError struct {
	Status                int
	Code, Target, Message string
	Native                bool
}

func asAPIError(err error) (apiError, bool) {
	var a *arm.Error
	if !errors.As(err, &a) {
		return apiError{}, false
	}
	return apiError{Status: a.Status, Code: a.Code, Target: a.Target, Message: a.Message, Native: a.Native}, true
}

// checkError fails t unless err is the AKS or ARM error want.
func checkError(t *testing.T, err error, want apiError) {
	t.Helper()
	got, ok := asAPIError(err)
	if !ok {
		t.Fatalf("error = %v, want %s (%d)", err, want.Code, want.Status)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

// aksError is an AKS-shaped error as the rules build it.
func aksError(status int, code, target, message string) apiError {
	return apiError{Status: status, Code: code, Target: target, Message: message, Native: true}
}
