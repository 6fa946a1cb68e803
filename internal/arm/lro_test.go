package arm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/store"
)

func testStore(t *testing.T) (store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	st, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// waitOp waits for an operation to end, by watching the store.
func waitOp(t *testing.T, st store.Store, id string) *store.Operation {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var op *store.Operation
		if err := st.View(context.Background(), func(tx store.Tx) error {
			var err error
			op, err = tx.GetOperation(id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if op.Terminal() {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s still %s", id, op.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngineRunsAndFinishesAtomically(t *testing.T) {
	st, _ := testStore(t)
	e := NewEngine(st, discardLog(), 1)
	e.RegisterKind(&OperationKind{
		Name: "ok",
		Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) {
			return &Outcome{Body: map[string]string{"result": "done"}}, nil
		},
		Finish: func(tx store.Tx, op *store.Operation) error {
			return tx.PutMeta("finished-"+op.ID, op.Status)
		},
	})
	e.RegisterKind(&OperationKind{
		Name: "fail",
		Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) {
			return nil, Errorf(http.StatusBadRequest, "SomethingBad", "it went wrong")
		},
		Finish: func(tx store.Tx, op *store.Operation) error {
			return tx.PutMeta("finished-"+op.ID, op.Status)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.Wait() }()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ok, _ := e.NewOperation("ok", "S", "Microsoft.Test", "eastus", "/subscriptions/s/x", nil)
	bad, _ := e.NewOperation("fail", "S", "Microsoft.Test", "eastus", "/subscriptions/s/y", nil)
	for _, op := range []*store.Operation{ok, bad} {
		if err := e.Submit(ctx, op, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := waitOp(t, st, ok.ID); got.Status != store.StatusSucceeded || got.ResultStatus != 200 || string(got.Result) != `{"result":"done"}` {
		t.Errorf("ok op = %+v", got)
	}
	got := waitOp(t, st, bad.ID)
	if got.Status != store.StatusFailed || got.Error == nil || got.Error.Code != "SomethingBad" || got.ResultStatus != 400 {
		t.Errorf("failed op = %+v", got)
	}
	st.View(context.Background(), func(tx store.Tx) error {
		for id, want := range map[string]string{ok.ID: store.StatusSucceeded, bad.ID: store.StatusFailed} {
			if v, _ := tx.GetMeta("finished-" + id); v != want {
				t.Errorf("Finish saw status %q, want %q", v, want)
			}
		}
		return nil
	})
}

func TestEngineResumesAfterRestartAndCancels(t *testing.T) {
	st, _ := testStore(t)
	// First life: the operation blocks until the engine stops.
	started := make(chan struct{})
	e1 := NewEngine(st, discardLog(), 1)
	e1.RegisterKind(&OperationKind{Name: "slow", Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	ctx1, stop1 := context.WithCancel(context.Background())
	if err := e1.Start(ctx1); err != nil {
		t.Fatal(err)
	}
	op, _ := e1.NewOperation("slow", "S", "Microsoft.Test", "eastus", "", nil)
	if err := e1.Submit(ctx1, op, nil); err != nil {
		t.Fatal(err)
	}
	<-started
	stop1()
	e1.Wait()
	var after *store.Operation
	st.View(context.Background(), func(tx store.Tx) error { after, _ = tx.GetOperation(op.ID); return nil })
	if after.Status != store.StatusInProgress {
		t.Fatalf("after shutdown the operation is %s, want still InProgress", after.Status)
	}

	// Second life: the operation resumes and completes.
	e2 := NewEngine(st, discardLog(), 1)
	e2.RegisterKind(&OperationKind{Name: "slow", Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) { return nil, nil }})
	ctx2, stop2 := context.WithCancel(context.Background())
	defer func() { stop2(); e2.Wait() }()
	if err := e2.Start(ctx2); err != nil {
		t.Fatal(err)
	}
	if got := waitOp(t, st, op.ID); got.Status != store.StatusSucceeded || got.ResultStatus != http.StatusNoContent {
		t.Errorf("resumed operation = %+v", got)
	}

	// Cancel: a blocking operation ends as Canceled.
	block := make(chan struct{})
	e2.RegisterKind(&OperationKind{Name: "block", Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) {
		close(block)
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	c, _ := e2.NewOperation("block", "S", "Microsoft.Test", "eastus", "", nil)
	if err := e2.Submit(ctx2, c, nil); err != nil {
		t.Fatal(err)
	}
	<-block
	if err := e2.Cancel(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	if got := waitOp(t, st, c.ID); got.Status != store.StatusCanceled {
		t.Errorf("canceled operation = %+v", got)
	}

	// A step that fails because of the cancellation (with an error that is
	// not context.Canceled) still ends Canceled, not Failed.
	broken := make(chan struct{})
	e2.RegisterKind(&OperationKind{Name: "broken", Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) {
		close(broken)
		<-ctx.Done()
		return nil, errors.New("sql: transaction has already been committed or rolled back")
	}})
	b, _ := e2.NewOperation("broken", "S", "Microsoft.Test", "eastus", "", nil)
	if err := e2.Submit(ctx2, b, nil); err != nil {
		t.Fatal(err)
	}
	<-broken
	if err := e2.Cancel(context.Background(), b.ID); err != nil {
		t.Fatal(err)
	}
	if got := waitOp(t, st, b.ID); got.Status != store.StatusCanceled {
		t.Errorf("operation broken by its cancellation = %+v", got)
	}
}

func TestSubmitRollsBackOnMutateError(t *testing.T) {
	st, _ := testStore(t)
	e := NewEngine(st, discardLog(), 1)
	e.RegisterKind(&OperationKind{Name: "k", Run: func(context.Context, *store.Operation) (*Outcome, error) { return nil, nil }})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.Wait() }()
	e.Start(ctx)
	op, _ := e.NewOperation("k", "S", "Microsoft.Test", "eastus", "", nil)
	boom := errors.New("boom")
	if err := e.Submit(ctx, op, func(store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Submit = %v", err)
	}
	err := st.View(ctx, func(tx store.Tx) error { _, err := tx.GetOperation(op.ID); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("operation stored despite failed mutate: %v", err)
	}
}

func TestOperationEndpoints(t *testing.T) {
	st, _ := testStore(t)
	e := NewEngine(st, discardLog(), 3)
	release := make(chan struct{})
	e.RegisterKind(&OperationKind{Name: "k", Run: func(ctx context.Context, op *store.Operation) (*Outcome, error) {
		<-release
		return nil, nil
	}})
	e.SetStatusAPIVersion("Microsoft.Test", "2016-03-30")
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.Wait() }()
	e.Start(ctx)
	op, _ := e.NewOperation("k", "s", "Microsoft.Test", "eastus", "", nil)
	if err := e.Submit(ctx, op, nil); err != nil {
		t.Fatal(err)
	}
	req := &Request{HTTP: httptest.NewRequest("GET", "/", nil), APIVersion: "2021-01-01", BaseURL: "https://h:1"}
	acc := e.Accepted(req, op, http.StatusAccepted, nil)
	wantAAO := "https://h:1/subscriptions/s/providers/Microsoft.Test/locations/eastus/operations/" + op.ID + "?api-version=2016-03-30"
	if got := acc.Header.Get("Azure-AsyncOperation"); got != wantAAO {
		t.Errorf("Azure-AsyncOperation = %q, want %q", got, wantAAO)
	}
	if got := acc.Header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3", got)
	}
	reg := NewRegistry()
	e.RegisterEndpoints(reg, "Microsoft.Test", []string{"2016-03-30"})
	route, rerr := reg.parsePath("/subscriptions/s/providers/Microsoft.Test/locations/eastus/operationresults/" + op.ID)
	if rerr != nil {
		t.Fatal(rerr)
	}
	req.Route = route
	resp, err := e.Result(ctx, req)
	if err != nil || resp.Status != http.StatusAccepted || resp.Header.Get("Location") == "" {
		t.Fatalf("result while running = %+v, %v", resp, err)
	}
	close(release)
	waitOp(t, st, op.ID)
	if resp, err := e.Result(ctx, req); err != nil || resp.Status != http.StatusNoContent {
		t.Errorf("result when done = %+v, %v", resp, err)
	}
	// Another subscription cannot see the operation.
	other, _ := reg.parsePath("/subscriptions/other/providers/Microsoft.Test/locations/eastus/operations/" + op.ID)
	req.Route = other
	if _, err := e.Status(ctx, req); err == nil {
		t.Error("operation visible from another subscription")
	}
}
