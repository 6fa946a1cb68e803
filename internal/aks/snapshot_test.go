package aks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/localaks/localaks/internal/store"
)

// TestPrepareSnapshot: a snapshot takes its settled source pool's version,
// image, OS and VM size; a missing pool is 404, a pool in an operation
// 409, a source that is not a pool 400, and an existing snapshot keeps its
// source and what it took.
func TestPrepareSnapshot(t *testing.T) {
	e := newEnv(t)
	e.ready("c", `{"agentPoolProfiles":[{"name":"np","count":1,"vmSize":"Standard_D4s_v5"}]}`)
	pool := clusterRID("c").String() + "/agentPools/np"
	snap := func(source string, existing *store.Resource) (*store.Resource, error) {
		r := &store.Resource{ID: "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/snapshots/s", Name: "s",
			Properties: json.RawMessage(`{"creationData":{"sourceResourceId":"` + source + `"},"kubernetesVersion":"9.9.9"}`)}
		err := e.st.View(t.Context(), func(tx store.Tx) error { return PrepareSnapshot(tx, r, existing) })
		return r, err
	}
	r, err := snap(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got SnapshotProperties
	if err := json.Unmarshal(r.Properties, &got); err != nil {
		t.Fatal(err)
	}
	if got.KubernetesVersion == "9.9.9" || got.KubernetesVersion == "" || got.VMSize != "Standard_D4s_v5" || got.OSType != "Linux" ||
		got.NodeImageVersion == "" || got.SnapshotType != "NodePool" {
		t.Errorf("snapshot = %+v", got)
	}
	for _, tc := range []struct{ source, want string }{
		{pool + "x", "404 NotFound"},
		{clusterRID("c").String(), "400 InvalidParameter"},
		{"not-an-id", "400 InvalidParameter"},
	} {
		if _, err := snap(tc.source, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("source %s: %v, want %s", tc.source, err, tc.want)
		}
	}
	// Kept as taken; another source refused.
	again, err := snap(pool, r)
	if err != nil || string(again.Properties) != string(r.Properties) {
		t.Errorf("update: %v %s", err, again.Properties)
	}
	if _, err := snap(clusterRID("c").String()+"/agentPools/other", r); err == nil || !strings.Contains(err.Error(), "PropertyChangeNotAllowed") {
		t.Errorf("changed source: %v", err)
	}
	// A pool in an operation.
	e.update(func(tx store.Tx) error {
		rec, err := tx.Get(pool)
		if err != nil {
			return err
		}
		p, err := DecodePool(rec)
		if err != nil {
			return err
		}
		p.Props.ProvisioningState = StateUpgrading
		if err := p.Encode(); err != nil {
			return err
		}
		return tx.Put(p.Record)
	})
	if _, err := snap(pool, nil); err == nil || !strings.Contains(err.Error(), "409 OperationNotAllowed") || !strings.Contains(err.Error(), "Upgrading") {
		t.Errorf("pool upgrading: %v", err)
	}
}
