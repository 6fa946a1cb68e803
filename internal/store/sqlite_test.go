package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func openTest(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

const rg = "/subscriptions/s1/resourceGroups/RG1"

func put(t *testing.T, s Store, rs ...*Resource) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx Tx) error {
		for _, r := range rs {
			if err := tx.Put(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s Store, id string) (*Resource, error) {
	t.Helper()
	var r *Resource
	err := s.View(context.Background(), func(tx Tx) error {
		var err error
		r, err = tx.Get(id)
		return err
	})
	return r, err
}

func TestPutKeepsFirstCasingAndChangesETag(t *testing.T) {
	s, _ := openTest(t)
	put(t, s, &Resource{ID: rg, Type: "Microsoft.Resources/resourceGroups", Name: "RG1", Location: "eastus"})
	first, err := get(t, s, "/SUBSCRIPTIONS/s1/resourcegroups/rg1")
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, &Resource{ID: "/subscriptions/S1/resourcegroups/rg1", Type: "Microsoft.Resources/resourceGroups", Name: "rg1", Location: "westus"})
	second, err := get(t, s, rg)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != rg {
		t.Errorf("ID = %q, want first casing %q", second.ID, rg)
	}
	if second.Location != "westus" {
		t.Errorf("Location = %q, want the update", second.Location)
	}
	if first.ETag == "" || first.ETag == second.ETag {
		t.Errorf("ETag did not change on write: %q → %q", first.ETag, second.ETag)
	}
}

func TestListAndCascadingDelete(t *testing.T) {
	s, _ := openTest(t)
	vnet := rg + "/providers/Microsoft.Network/virtualNetworks/v1"
	put(t, s,
		&Resource{ID: rg, Type: "Microsoft.Resources/resourceGroups", Name: "RG1"},
		&Resource{ID: vnet, Type: "Microsoft.Network/virtualNetworks", Name: "v1"},
		&Resource{ID: vnet + "/subnets/a", Type: "Microsoft.Network/virtualNetworks/subnets", Name: "a"},
		&Resource{ID: vnet + "/subnets/b", Type: "Microsoft.Network/virtualNetworks/subnets", Name: "b"},
		// A sibling whose ID shares the prefix "v1" must survive deleting v1.
		&Resource{ID: vnet + "0", Type: "Microsoft.Network/virtualNetworks", Name: "v10"},
		&Resource{ID: "/subscriptions/s1/resourceGroups/RG10", Type: "Microsoft.Resources/resourceGroups", Name: "RG10"},
	)
	names := func(q Query) []string {
		var out []string
		if err := s.View(context.Background(), func(tx Tx) error {
			rs, err := tx.List(q)
			for _, r := range rs {
				out = append(out, r.Name)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if diff := cmp.Diff([]string{"a", "b"}, names(Query{Parent: vnet, Type: "microsoft.network/virtualnetworks/SUBNETS"})); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"v1", "v10"}, names(Query{Subscription: "S1", ResourceGroup: "rg1", TopLevel: true})); diff != "" {
		t.Errorf("top level (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, names(Query{Parent: vnet, After: vnet + "/subnets/a", Limit: 5})); diff != "" {
		t.Errorf("paged (-want +got):\n%s", diff)
	}
	var n int
	if err := s.Update(context.Background(), func(tx Tx) error {
		var err error
		n, err = tx.Delete(vnet)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("deleted %d rows, want 3 (the VNet and its subnets)", n)
	}
	if diff := cmp.Diff([]string{"RG1", "v10"}, names(Query{Subscription: "s1", ResourceGroup: "RG1"})); diff != "" {
		t.Errorf("left in group (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"RG1", "RG10"}, names(Query{Type: "Microsoft.Resources/resourceGroups"})); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestFailedUpdateWritesNothing(t *testing.T) {
	s, _ := openTest(t)
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx Tx) error {
		if err := tx.Put(&Resource{ID: rg, Type: "Microsoft.Resources/resourceGroups", Name: "RG1"}); err != nil {
			return err
		}
		if err := tx.PutOperation(&Operation{ID: "op1", Status: StatusInProgress}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the fn's error", err)
	}
	if _, err := get(t, s, rg); !errors.Is(err, ErrNotFound) {
		t.Errorf("resource after rolled-back write: %v, want ErrNotFound", err)
	}
	if err := s.View(context.Background(), func(tx Tx) error {
		_, err := tx.GetOperation("op1")
		return err
	}); !errors.Is(err, ErrNotFound) {
		t.Errorf("operation after rolled-back write: %v, want ErrNotFound", err)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	s, path := openTest(t)
	put(t, s, &Resource{ID: rg, Type: "Microsoft.Resources/resourceGroups", Name: "RG1", Tags: map[string]string{"a": "b"}})
	if err := s.Update(context.Background(), func(tx Tx) error {
		if err := tx.PutMeta("k", "v"); err != nil {
			return err
		}
		return tx.PutOperation(&Operation{ID: "OP1", Kind: "k", Status: StatusInProgress})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	r, err := get(t, s2, rg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Tags["a"] != "b" {
		t.Errorf("tags after reopen = %v", r.Tags)
	}
	if err := s2.View(context.Background(), func(tx Tx) error {
		ops, err := tx.ListOperations(StatusInProgress)
		if err != nil {
			return err
		}
		if len(ops) != 1 || ops[0].ID != "OP1" {
			t.Errorf("in-progress operations after reopen = %+v", ops)
		}
		v, err := tx.GetMeta("k")
		if v != "v" {
			t.Errorf("meta after reopen = %q", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Changed is closed by a committed write, not by a read or a failed write.
func TestChanged(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := s.Changed()
	s.View(ctx, func(Tx) error { return nil })                //nolint:errcheck // nothing to fail
	s.Update(ctx, func(Tx) error { return errors.New("no") }) //nolint:errcheck // failing on purpose
	if closed(ch) {
		t.Fatal("Changed closed without a committed write")
	}
	if err := s.Update(ctx, func(tx Tx) error { return tx.PutMeta("k", "v") }); err != nil {
		t.Fatal(err)
	}
	if !closed(ch) || closed(s.Changed()) {
		t.Fatal("a committed write: the old channel should be closed, a new one open")
	}
}
