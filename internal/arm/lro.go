package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/failpoint"

	"github.com/localaks/localaks/internal/store"
)

// OperationKind is one kind of long-running operation, e.g. deleting a
// resource group. Run does the work; it must be idempotent, because an
// operation interrupted by a restart runs again from the start (checkpoints
// in op.State let it skip finished steps). Finish runs in the transaction
// that records the operation's end, with op.Status already terminal, so the
// resources it changed (provisioningState, …) change atomically with it.
type OperationKind struct {
	Name   string
	Run    func(ctx context.Context, op *store.Operation) (*Outcome, error)
	Finish func(tx store.Tx, op *store.Operation) error
}

// Outcome is what a successful operation's result URL answers.
type Outcome struct {
	Status int // default 200 with a body, 204 without
	Body   any
}

// Engine runs long-running operations in the background, durably: an
// operation is stored (in the same transaction as the change that started
// it) before the client hears of it, runs without anyone polling, and
// resumes after a restart.
type Engine struct {
	store      store.Store
	log        *slog.Logger
	retryAfter int
	// minDuration is the shortest time an operation takes (see
	// SetMinDuration).
	minDuration time.Duration
	// statusVersions is the api-version each namespace puts in its status
	// URLs (AKS uses 2016-03-30); others echo the request's.
	statusVersions map[string]string

	mu      sync.Mutex
	kinds   map[string]*OperationKind
	running map[string]context.CancelFunc
	// ended has, per running operation, a channel closed once its end is
	// recorded (quickEnd).
	ended map[string]chan struct{}
	ctx   context.Context
	wg    sync.WaitGroup
}

// NewEngine returns an engine. retryAfter is the Retry-After seconds sent to
// pollers; clients fall back to 30 s or more when it is absent or 0, so it
// must be positive.
func NewEngine(st store.Store, log *slog.Logger, retryAfter int) *Engine {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &Engine{store: st, log: log, retryAfter: retryAfter, kinds: map[string]*OperationKind{},
		running: map[string]context.CancelFunc{}, ended: map[string]chan struct{}{}, statusVersions: map[string]string{}}
}

// RegisterKind adds an operation kind.
func (e *Engine) RegisterKind(k *OperationKind) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.kinds[k.Name]; dup {
		panic("arm: operation kind " + k.Name + " registered twice")
	}
	e.kinds[k.Name] = k
}

// Start resumes every unfinished operation and lets Submit start new ones.
// Operations stop when ctx ends; Wait waits for them.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
	var pending []*store.Operation
	if err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		pending, err = tx.ListOperations(store.StatusInProgress)
		return err
	}); err != nil {
		return fmt.Errorf("list unfinished operations: %w", err)
	}
	for _, op := range pending {
		e.log.Info("resuming operation", "operation", op.ID, "kind", op.Kind, "resource", op.ResourceID)
		e.launch(op)
	}
	return nil
}

// Wait blocks until every running operation has returned (after the Start
// context ended).
func (e *Engine) Wait() { e.wg.Wait() }

// NewOperation builds an operation record; Submit stores and starts it.
func (e *Engine) NewOperation(kind, subscription, namespace, location, resourceID string, input any) (*store.Operation, error) {
	op := &store.Operation{
		ID:           uuid.NewString(),
		Kind:         kind,
		Subscription: strings.ToLower(subscription),
		Namespace:    namespace,
		Location:     location,
		ResourceID:   resourceID,
		Status:       store.StatusInProgress,
		StartTime:    time.Now().UTC(),
	}
	if input != nil {
		raw, err := json.Marshal(input)
		if err != nil {
			return nil, fmt.Errorf("encode operation input: %w", err)
		}
		op.Input = raw
	}
	return op, nil
}

// Submit stores op together with the changes mutate makes, in one
// transaction, then starts it.
func (e *Engine) Submit(ctx context.Context, op *store.Operation, mutate func(tx store.Tx) error) error {
	e.mu.Lock()
	_, known := e.kinds[op.Kind]
	started := e.ctx != nil
	e.mu.Unlock()
	if !known {
		return fmt.Errorf("unknown operation kind %q", op.Kind)
	}
	if !started {
		return errors.New("operation engine not started")
	}
	if err := e.store.Update(ctx, func(tx store.Tx) error {
		if mutate != nil {
			if err := mutate(tx); err != nil {
				return err
			}
		}
		return tx.PutOperation(op)
	}); err != nil {
		return err
	}
	e.launch(op)
	return nil
}

// Cancel asks a running operation to stop; it ends as Canceled.
func (e *Engine) Cancel(ctx context.Context, id string) error {
	if err := e.store.Update(ctx, func(tx store.Tx) error {
		op, err := tx.GetOperation(id)
		if err != nil {
			return err
		}
		if op.Terminal() {
			return nil
		}
		op.CancelRequested = true
		return tx.PutOperation(op)
	}); err != nil {
		return err
	}
	e.mu.Lock()
	cancel := e.running[strings.ToLower(id)]
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil
}

func (e *Engine) launch(op *store.Operation) {
	e.mu.Lock()
	kind := e.kinds[op.Kind]
	root := e.ctx
	ctx, cancel := context.WithCancel(root)
	e.running[strings.ToLower(op.ID)] = cancel
	ended := make(chan struct{})
	e.ended[strings.ToLower(op.ID)] = ended
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.running, strings.ToLower(op.ID))
			delete(e.ended, strings.ToLower(op.ID))
			e.mu.Unlock()
			close(ended)
			cancel()
		}()
		if kind == nil {
			e.finish(op.ID, nil, fmt.Errorf("no runner for operation kind %q", op.Kind), nil)
			return
		}
		if op.CancelRequested {
			e.finish(op.ID, nil, context.Canceled, kind)
			return
		}
		outcome, err := e.runSafely(ctx, kind, op)
		if err == nil {
			e.mu.Lock()
			min := e.minDuration
			e.mu.Unlock()
			if wait := time.Until(op.StartTime.Add(min)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					err = ctx.Err()
				}
			}
		}
		if root.Err() != nil {
			// Shutting down: leave the operation in progress; the next
			// start resumes it.
			return
		}
		if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			// Canceled mid-step: the step fails with whatever the
			// cancellation broke (a rolled-back transaction, say).
			err = fmt.Errorf("%w (%v)", context.Canceled, err)
		}
		failpoint.Hit("arm:before-finish:" + op.Kind)
		e.finish(op.ID, outcome, err, kind)
	}()
}

func (e *Engine) runSafely(ctx context.Context, kind *OperationKind, op *store.Operation) (out *Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("operation panicked", "operation", op.ID, "kind", op.Kind, "panic", p, "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("operation panicked: %v", p)
		}
	}()
	return kind.Run(ctx, op)
}

// finish records the end of an operation and runs its kind's Finish in the
// same transaction.
func (e *Engine) finish(id string, outcome *Outcome, runErr error, kind *OperationKind) {
	ctx := context.Background()
	write := func(withFinish bool) error {
		return e.store.Update(ctx, func(tx store.Tx) error {
			op, err := tx.GetOperation(id)
			if err != nil {
				return err
			}
			op.EndTime = time.Now().UTC()
			switch {
			case runErr == nil:
				op.Status = store.StatusSucceeded
				op.ResultStatus = http.StatusNoContent
				if outcome != nil {
					if outcome.Body != nil {
						raw, err := json.Marshal(outcome.Body)
						if err != nil {
							return fmt.Errorf("encode result: %w", err)
						}
						op.Result = raw
						op.ResultStatus = http.StatusOK
					}
					if outcome.Status != 0 {
						op.ResultStatus = outcome.Status
					}
				}
			case op.CancelRequested && errors.Is(runErr, context.Canceled):
				op.Status = store.StatusCanceled
				op.ResultStatus = http.StatusConflict
				op.Error = &store.OperationError{Code: "OperationCanceled", Message: "The operation was canceled by a request to abort it."}
			default:
				op.Status = store.StatusFailed
				var armErr *Error
				if !errors.As(runErr, &armErr) {
					armErr = ErrInternal(runErr)
				}
				op.ResultStatus = armErr.Status
				op.Error = armErr.OperationError()
			}
			if withFinish && kind != nil && kind.Finish != nil {
				if err := kind.Finish(tx, op); err != nil {
					return fmt.Errorf("finish: %w", err)
				}
			}
			return tx.PutOperation(op)
		})
	}
	if runErr != nil {
		e.log.Warn("operation failed", "operation", id, "err", runErr)
	}
	if err := write(true); err != nil {
		e.log.Error("record operation end", "operation", id, "err", err)
		runErr = err
		if err := write(false); err != nil {
			e.log.Error("record operation failure", "operation", id, "err", err)
		}
	}
}

// SetMinDuration makes every operation take at least d from its start
// before it ends: real Azure operations take minutes, and code that polls or
// uses --no-wait is best tested against operations that are visibly in
// progress for a while. The wait survives restarts (it counts from the
// stored start time).
func (e *Engine) SetMinDuration(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.minDuration = d
}

// SetStatusAPIVersion fixes the api-version namespace ns puts in its
// operation URLs.
func (e *Engine) SetStatusAPIVersion(ns, version string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.statusVersions[strings.ToLower(ns)] = version
}

func (e *Engine) statusVersion(ns, fallback string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.statusVersions[strings.ToLower(ns)]; ok {
		return v
	}
	return fallback
}

// statusPath and resultPath are the polling URLs of an operation.
// Microsoft.Resources operations (resource group deletion) only have a
// result URL, /subscriptions/{s}/operationresults/{id}, as in Azure.
func statusPath(op *store.Operation) string {
	if strings.EqualFold(op.Namespace, "Microsoft.Resources") {
		return ""
	}
	return fmt.Sprintf("/subscriptions/%s/providers/%s/locations/%s/operations/%s", op.Subscription, op.Namespace, op.Location, op.ID)
}

func resultPath(op *store.Operation) string {
	if strings.EqualFold(op.Namespace, "Microsoft.Resources") {
		return fmt.Sprintf("/subscriptions/%s/operationresults/%s", op.Subscription, op.ID)
	}
	return fmt.Sprintf("/subscriptions/%s/providers/%s/locations/%s/operationresults/%s", op.Subscription, op.Namespace, op.Location, op.ID)
}

// quickEnd is how long a DELETE's answer waits for its operation to end
// (deletes here mostly take milliseconds; AKS's take minutes): one that has
// ended is answered as such (skipPollingDelay), so that clients that would
// otherwise wait their own default interval before the first poll do not.
const quickEnd = 300 * time.Millisecond

// Accepted builds the response that hands op to the client: status (201
// for a create, 200 for an update, 202 for a delete or action) with the
// body, Azure-AsyncOperation, Location and Retry-After.
func (e *Engine) Accepted(req *Request, op *store.Operation, status int, body any) *Response {
	if !op.Terminal() && req.HTTP != nil && req.HTTP.Method == http.MethodDelete {
		op = e.waitEnd(req.HTTP.Context(), op, quickEnd)
	}
	v := e.statusVersion(op.Namespace, req.APIVersion)
	resp := &Response{Status: status, Body: body, Header: http.Header{}}
	if p := statusPath(op); p != "" {
		resp.Header.Set("Azure-AsyncOperation", req.BaseURL+p+"?api-version="+v)
	}
	resp.Header.Set("Location", req.BaseURL+resultPath(op)+"?api-version="+v)
	resp.Header.Set("Retry-After", strconv.Itoa(e.retryAfter))
	if op.Terminal() {
		// The operation is over already (Completed): go-azure-sdk (which
		// Terraform's azurerm uses) polls a DELETE's resource, and a
		// PUT's provisioning state, only after its own ten seconds unless
		// told there is nothing to wait for.
		resp.Header.Set(skipPollingDelay, "true")
	}
	return resp
}

// skipPollingDelay is go-azure-sdk's response header that tells its
// pollers to check at once rather than after their default interval.
const skipPollingDelay = "X-Go-Azure-Sdk-Skip-Polling-Delay"

// SkipPollingDelay is skipPollingDelay for providers that answer
// synchronously what clients poll for.
const SkipPollingDelay = skipPollingDelay

// Completed records in tx an operation that has already ended well: a
// write that completed in its own transaction, answered as the real
// service answers it — with an Azure-AsyncOperation (and, for a delete, a
// Location) that clients poll once, after Retry-After, and find done.
// Clients wait Retry-After, rather than the ten seconds some SDKs wait on
// an answer without one (go-azure-sdk's provisioning-state poller, which
// Terraform's azurerm uses). result is what the Location URL answers.
func (e *Engine) Completed(tx store.Tx, subscription, namespace, location, resourceID string, result int) (*store.Operation, error) {
	now := time.Now().UTC()
	op := &store.Operation{ID: uuid.NewString(), Kind: "completed", Subscription: strings.ToLower(subscription), Namespace: namespace,
		Location: location, ResourceID: resourceID, Status: store.StatusSucceeded, StartTime: now, EndTime: now, ResultStatus: result}
	return op, tx.PutOperation(op)
}

// waitEnd waits up to d for a running op to end and returns it as stored
// then (or op as it was).
func (e *Engine) waitEnd(ctx context.Context, op *store.Operation, d time.Duration) *store.Operation {
	e.mu.Lock()
	ended := e.ended[strings.ToLower(op.ID)]
	e.mu.Unlock()
	if ended == nil {
		return op
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ended:
	case <-t.C:
		return op
	case <-ctx.Done():
		return op
	}
	var now *store.Operation
	if err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		now, err = tx.GetOperation(op.ID)
		return err
	}); err != nil || now.Status != store.StatusSucceeded {
		return op
	}
	return now
}

// RetryAfter is the Retry-After seconds the engine sends.
func (e *Engine) RetryAfter() int { return e.retryAfter }

// AsyncOnly is Accepted without a Location header: for PUTs, whose final
// state ARM clients read from the resource itself.
func (e *Engine) AsyncOnly(req *Request, op *store.Operation, status int, body any) *Response {
	resp := e.Accepted(req, op, status, body)
	if resp.Header.Get("Azure-AsyncOperation") != "" {
		resp.Header.Del("Location")
	}
	return resp
}

func (e *Engine) loadForRoute(ctx context.Context, req *Request) (*store.Operation, error) {
	var op *store.Operation
	err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		op, err = tx.GetOperation(req.Route.ID.Name())
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !strings.EqualFold(op.Subscription, req.Subscription())) {
		return nil, Errorf(http.StatusNotFound, "OperationNotFound", "The operation '%s' could not be found.", req.Route.ID.Name())
	}
	if err != nil {
		return nil, ErrInternal(err)
	}
	return op, nil
}

// OperationStatus is the body of an Azure-AsyncOperation poll.
type OperationStatus struct {
	ID        string                `json:"id"`
	Name      string                `json:"name"`
	Status    string                `json:"status"`
	StartTime time.Time             `json:"startTime"`
	EndTime   *time.Time            `json:"endTime,omitempty"`
	Error     *store.OperationError `json:"error,omitempty"`
}

// Status serves GET …/operations/{id}: always 200 with the status body.
func (e *Engine) Status(ctx context.Context, req *Request) (*Response, error) {
	op, err := e.loadForRoute(ctx, req)
	if err != nil {
		return nil, err
	}
	st := OperationStatus{ID: statusPath(op), Name: op.ID, Status: op.Status, StartTime: op.StartTime, Error: op.Error}
	if op.Terminal() {
		end := op.EndTime
		st.EndTime = &end
	}
	resp := OK(st)
	if !op.Terminal() {
		resp.SetHeader("Retry-After", strconv.Itoa(e.retryAfter))
	}
	return resp, nil
}

// Result serves GET …/operationresults/{id}: 202 while running, then the
// operation's result or error.
func (e *Engine) Result(ctx context.Context, req *Request) (*Response, error) {
	op, err := e.loadForRoute(ctx, req)
	if err != nil {
		return nil, err
	}
	switch op.Status {
	case store.StatusInProgress:
		resp := &Response{Status: http.StatusAccepted}
		resp.SetHeader("Location", req.BaseURL+resultPath(op)+"?api-version="+e.statusVersion(op.Namespace, req.APIVersion))
		resp.SetHeader("Retry-After", strconv.Itoa(e.retryAfter))
		return resp, nil
	case store.StatusSucceeded:
		resp := &Response{Status: op.ResultStatus}
		if len(op.Result) > 0 {
			resp.Body = json.RawMessage(op.Result)
		}
		return resp, nil
	default:
		status := op.ResultStatus
		if status < 400 {
			status = http.StatusInternalServerError
		}
		return &Response{Status: status, Body: map[string]any{"error": op.Error}}, nil
	}
}

// RegisterEndpoints registers the operation status and result endpoints of
// a provider namespace: {ns}/locations/operations and
// {ns}/locations/operationresults (Microsoft.Resources: the
// subscription-level operationresults).
func (e *Engine) RegisterEndpoints(reg *Registry, ns string, apiVersions []string) {
	if strings.EqualFold(ns, "Microsoft.Resources") {
		reg.Register(&ResourceType{Namespace: ns, Type: "subscriptions/operationresults", APIVersions: apiVersions,
			Builtin: true, Hidden: true, Get: e.Result})
		return
	}
	reg.Register(&ResourceType{Namespace: ns, Type: "locations/operations", APIVersions: apiVersions, Hidden: true, Get: e.Status})
	reg.Register(&ResourceType{Namespace: ns, Type: "locations/operationresults", APIVersions: apiVersions, Hidden: true, Get: e.Result})
}
