package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/store"
)

func TestComputerName(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{
		{0, "aks-np-vmss000000"},
		{9, "aks-np-vmss000009"},
		{10, "aks-np-vmss00000a"},
		{35, "aks-np-vmss00000z"},
		{36, "aks-np-vmss000010"},
		{36*36*36*36*36*36 - 1, "aks-np-vmsszzzzzz"},
		{36 * 36 * 36 * 36 * 36 * 36, "aks-np-vmss1000000"},
	} {
		if got := ComputerName("aks-np-vmss", tt.n); got != tt.want {
			t.Errorf("ComputerName(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// update runs fn in a write transaction.
func (e *env) update(fn func(tx store.Tx) error) error {
	return e.st.Update(context.Background(), fn)
}

// The reconciler's path: a scale set written with Save (no request), then
// instances added with AddInstances and a hook that gives each a pod range.
func TestAddInstances(t *testing.T) {
	e := newEnv(t)
	id := vmssID("vmss")
	if err := e.update(func(tx store.Tx) error {
		var body struct {
			SKU        json.RawMessage `json:"sku"`
			Properties json.RawMessage `json:"properties"`
			Tags       map[string]string
		}
		if err := json.Unmarshal([]byte(scaleSet(1)), &body); err != nil {
			return err
		}
		r := &store.Resource{ID: id, Type: ScaleSetType, Name: "vmss", Location: "eastus", SKU: body.SKU, Properties: body.Properties,
			Zones: []string{"1", "2"}}
		return e.p.ScaleSets.Save(context.Background(), tx, nil, r, nil)
	}); err != nil {
		t.Fatal(err)
	}
	var added []Instance
	if err := e.update(func(tx store.Tx) error {
		r, err := tx.Get(id)
		if err != nil {
			return err
		}
		added, err = e.p.AddInstances(tx, r, 2, func(inst *Instance, s *InstanceState) error {
			s.PodCIDR = fmt.Sprintf("10.244.%d.0/24", inst.InstanceID)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Put(r) // AddInstances advanced the scale set's next instance ID
	}); err != nil {
		t.Fatal(err)
	}
	want := []Instance{
		{ID: instanceID("vmss", "1"), InstanceID: 1, ComputerName: "aks-nodepool1-12345678-vmss000001", PrivateIP: netip.MustParseAddr("10.224.0.5")},
		{ID: instanceID("vmss", "2"), InstanceID: 2, ComputerName: "aks-nodepool1-12345678-vmss000002", PrivateIP: netip.MustParseAddr("10.224.0.6")},
	}
	if diff := cmp.Diff(want, added, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("AddInstances (-want +got):\n%s", diff)
	}
	var (
		ids   []int
		names []string
		got   []InstanceState
		zones [][]string
	)
	e.view(func(tx store.Tx) error {
		var err error
		if ids, err = e.p.InstanceIDs(tx, id); err != nil {
			return err
		}
		recs, props, err := e.p.Instances(tx, id)
		for i, r := range recs {
			names = append(names, r.Name)
			zones = append(zones, r.Zones)
			got = append(got, props[i].Localaks)
		}
		return err
	})
	if diff := cmp.Diff([]int{0, 1, 2}, ids); diff != "" {
		t.Errorf("InstanceIDs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0", "1", "2"}, names); diff != "" {
		t.Errorf("Instances (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"1"}, {"2"}, {"1"}}, zones); diff != "" {
		t.Errorf("zones (-want +got):\n%s", diff)
	}
	wantStates := []InstanceState{
		{PowerState: "running", PrivateIP: "10.224.0.4", Zone: "1"},
		{PowerState: "running", PrivateIP: "10.224.0.5", PodCIDR: "10.244.1.0/24", Zone: "2"},
		{PowerState: "running", PrivateIP: "10.224.0.6", PodCIDR: "10.244.2.0/24", Zone: "1"},
	}
	if diff := cmp.Diff(wantStates, got); diff != "" {
		t.Errorf("instance states (-want +got):\n%s", diff)
	}
	// The scale set's capacity is the caller's business: AddInstances does
	// not change the SKU.
	if got := at(e.must("GET", id+apiV, "", 200).body, "sku", "capacity"); got != float64(1) {
		t.Errorf("sku.capacity after AddInstances = %v", got)
	}

	// A failing hook writes nothing.
	boom := errors.New("no pod range left")
	err := e.update(func(tx store.Tx) error {
		r, err := tx.Get(id)
		if err != nil {
			return err
		}
		_, err = e.p.AddInstances(tx, r, 1, func(*Instance, *InstanceState) error { return boom })
		return err
	})
	if !errors.Is(err, boom) {
		t.Errorf("AddInstances with a failing hook: %v", err)
	}
	e.view(func(tx store.Tx) error {
		ids, err = e.p.InstanceIDs(tx, id)
		return err
	})
	if diff := cmp.Diff([]int{0, 1, 2}, ids); diff != "" {
		t.Errorf("InstanceIDs after a failed add (-want +got):\n%s", diff)
	}
}

// Instances and InstanceIDs order by number, not by name; records that are
// not numbered instances are skipped.
func TestInstanceOrder(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(12), 201)
	if err := e.update(func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: instanceID("vmss", "odd"), Type: InstanceType, Name: "odd", Properties: json.RawMessage(`{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	var ids []int
	var names []string
	e.view(func(tx store.Tx) error {
		var err error
		if ids, err = e.p.InstanceIDs(tx, vmssID("vmss")); err != nil {
			return err
		}
		recs, _, err := e.p.Instances(tx, vmssID("vmss"))
		for _, r := range recs {
			names = append(names, r.Name)
		}
		return err
	})
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, ids); diff != "" {
		t.Errorf("InstanceIDs (-want +got):\n%s", diff)
	}
	// "odd" has no number and sorts as 0, before "0" or after it.
	if len(names) != 13 {
		t.Fatalf("Instances = %v", names)
	}
	if first := map[string]bool{names[0]: true, names[1]: true}; !first["0"] || !first["odd"] {
		t.Errorf("Instances starts with %v, want 0 and odd", names[:2])
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}, names[2:]); diff != "" {
		t.Errorf("Instances order (-want +got):\n%s", diff)
	}
}

func TestRemoveInstances(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(3), 201)
	if err := e.update(func(tx store.Tx) error { return e.p.RemoveInstances(tx, vmssID("vmss"), []int{1, 7}) }); err != nil {
		t.Fatalf("RemoveInstances with an unknown ID: %v", err)
	}
	var ids []int
	var nicErr error
	e.view(func(tx store.Tx) error {
		var err error
		ids, err = e.p.InstanceIDs(tx, vmssID("vmss"))
		_, nicErr = tx.Get(network.InstanceNICID(instanceID("vmss", "1"), "aks-nodepool1-12345678-vmss"))
		return err
	})
	if diff := cmp.Diff([]int{0, 2}, ids); diff != "" {
		t.Errorf("InstanceIDs (-want +got):\n%s", diff)
	}
	if !errors.Is(nicErr, store.ErrNotFound) {
		t.Errorf("NIC of a removed instance: %v", nicErr)
	}
}

func TestSetPowerState(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(2), 201)
	states := func() (power []string, etags []string) {
		e.view(func(tx store.Tx) error {
			recs, props, err := e.p.Instances(tx, vmssID("vmss"))
			for i := range recs {
				power = append(power, props[i].Localaks.PowerState)
				etags = append(etags, recs[i].ETag)
			}
			return err
		})
		return power, etags
	}
	if err := e.update(func(tx store.Tx) error { return e.p.SetPowerState(tx, vmssID("vmss"), "deallocated") }); err != nil {
		t.Fatal(err)
	}
	power, before := states()
	if diff := cmp.Diff([]string{"deallocated", "deallocated"}, power); diff != "" {
		t.Errorf("power states (-want +got):\n%s", diff)
	}
	// Setting the state they have does not rewrite the instances.
	if err := e.update(func(tx store.Tx) error { return e.p.SetPowerState(tx, vmssID("vmss"), "deallocated") }); err != nil {
		t.Fatal(err)
	}
	if _, after := states(); !cmp.Equal(before, after) {
		t.Errorf("ETags changed by a no-op: %v → %v", before, after)
	}
	// The rest of the instance survives the rewrite.
	r := e.must("GET", instanceID("vmss", "1")+apiV, "", 200)
	if got := at(r.body, "properties", "osProfile", "computerName"); got != "aks-nodepool1-12345678-vmss000001" {
		t.Errorf("computerName after SetPowerState = %v", got)
	}
	var ip string
	e.view(func(tx store.Tx) error {
		_, props, err := e.p.Instances(tx, vmssID("vmss"))
		if len(props) > 1 {
			ip = props[1].Localaks.PrivateIP
		}
		return err
	})
	if ip != "10.224.0.5" {
		t.Errorf("private IP after SetPowerState = %q", ip)
	}
}
