package graph

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/store"
)

func newDirectory(t *testing.T) *Directory {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st)
}

func TestSignIn(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	const tid, app, oid = "72f988bf-0000-0000-0000-000000000001", "0f1e2d3c-0000-4000-8000-000000000001", "0f1e2d3c-0000-4000-8000-0000000000aa"
	if err := d.store.Update(ctx, func(tx store.Tx) error {
		return d.EnsureServicePrincipal(tx, tid, app, oid, "x", "right", true)
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.SignIn(ctx, tid, app, "right"); err != nil || got != oid {
		t.Fatalf("right secret: %q %v", got, err)
	}
	if _, err := d.SignIn(ctx, tid, app, "wrong"); !errors.Is(err, entra.ErrBadSecret) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := d.SignIn(ctx, tid, "0f1e2d3c-0000-4000-8000-000000000002", "right"); !errors.Is(err, entra.ErrUnknownClient) {
		t.Fatalf("unknown client: %v", err)
	}
}
