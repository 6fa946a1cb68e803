package graph

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
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

func TestPasswordHash(t *testing.T) {
	h := hashPassword("Pa55word!")
	if !strings.HasPrefix(h, "pbkdf2-sha256$") || strings.Contains(h, "Pa55word") || h == hashPassword("Pa55word!") {
		t.Fatalf("hash %q: want a salted PBKDF2 hash", h)
	}
	for _, c := range []struct {
		hashed, password string
		want             bool
	}{
		{h, "Pa55word!", true},
		{h, "pa55word!", false},
		{h, "", false},
		{digest("legacy"), "legacy", true},
		{digest("legacy"), "other", false},
		{"", "", false},
		{"pbkdf2-sha256$0$AA$AA", "x", false},
		{"pbkdf2-sha256$99999999999$AA$AA", "x", false},
		{"pbkdf2-sha256$10$!!$AA", "x", false},
	} {
		if got := checkPassword(c.hashed, c.password); got != c.want {
			t.Errorf("checkPassword(%q, %q) = %v", c.hashed, c.password, got)
		}
	}
}
