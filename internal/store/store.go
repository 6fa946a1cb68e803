// Package store keeps ARM resources and long-running operations durably.
//
// The Store interface is deliberately small: transactions over resources,
// operations and a few metadata keys. The embedded implementation is SQLite
// (modernc.org/sqlite, no cgo) in WAL mode with synchronous commits, so a
// write is on disk before the API answers; a server database can implement
// the same interface for a shared deployment.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned by Get-style calls when nothing matches.
var ErrNotFound = errors.New("not found")

// Store is the durable state of one localaks instance.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it durably
	// before returning. If fn returns an error nothing is written.
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Watcher is a Store that tells when writes commit: the portal follows
// changes with it. (A server database would implement it with its own
// notifications.)
type Watcher interface {
	// Changed returns a channel closed when the next write commits.
	Changed() <-chan struct{}
}

// Tx is one transaction.
type Tx interface {
	// Get returns the resource with the given ID (case-insensitive).
	Get(id string) (*Resource, error)
	// List returns resources matching q in key order.
	List(q Query) ([]*Resource, error)
	// Put inserts or replaces a resource. It assigns a fresh ETag and keeps
	// the first writer's ID casing when the resource already exists.
	Put(r *Resource) error
	// Delete removes a resource and every resource nested under its ID. It
	// reports how many rows went; deleting nothing is not an error.
	Delete(id string) (int, error)

	GetOperation(id string) (*Operation, error)
	PutOperation(op *Operation) error
	// ListOperations returns operations in the given status ("" for all).
	ListOperations(status string) ([]*Operation, error)

	GetMeta(key string) (string, error)
	PutMeta(key, value string) error
}

// Query selects resources. Empty fields do not filter.
type Query struct {
	// Subscription restricts to one subscription.
	Subscription string
	// ResourceGroup restricts to one resource group (needs Subscription).
	ResourceGroup string
	// Parent restricts to direct children of this resource ID.
	Parent string
	// Type restricts to one full resource type, e.g. Microsoft.Network/virtualNetworks.
	Type string
	// TopLevel restricts to top-level resources inside resource groups.
	TopLevel bool
	// After continues a listing after this key (exclusive); for paging.
	After string
	// Limit caps the number of results (0 = no cap).
	Limit int
}

// Resource is an ARM resource as the store keeps it: the envelope that ARM
// itself tracks plus the provider-owned properties document.
type Resource struct {
	ID               string            `json:"id"`
	Type             string            `json:"type"`
	Name             string            `json:"name"`
	Location         string            `json:"location,omitempty"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation,omitempty"`
	ManagedBy        string            `json:"managedBy,omitempty"`
	Kind             string            `json:"kind,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	SKU              json.RawMessage   `json:"sku,omitempty"`
	Identity         json.RawMessage   `json:"identity,omitempty"`
	Plan             json.RawMessage   `json:"plan,omitempty"`
	Zones            []string          `json:"zones,omitempty"`
	Properties       json.RawMessage   `json:"properties,omitempty"`
	// ETag changes on every write; Put assigns it.
	ETag       string     `json:"etag,omitempty"`
	SystemData SystemData `json:"systemData"`
}

// SystemData records who created and last changed a resource, as ARM's
// systemData does.
type SystemData struct {
	CreatedBy          string    `json:"createdBy,omitempty"`
	CreatedByType      string    `json:"createdByType,omitempty"`
	CreatedAt          time.Time `json:"createdAt,omitzero"`
	LastModifiedBy     string    `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string    `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     time.Time `json:"lastModifiedAt,omitzero"`
}

// Operation statuses. Only the last three are terminal.
const (
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusCanceled   = "Canceled"
)

// Operation is a long-running operation: what to do (Kind and Input), how far
// it got (State), and how it ended.
type Operation struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Subscription string `json:"subscription"`
	// Namespace and Location place the operation's status URL, e.g.
	// /subscriptions/{s}/providers/{Namespace}/locations/{Location}/operations/{ID}.
	Namespace  string `json:"namespace"`
	Location   string `json:"location,omitempty"`
	ResourceID string `json:"resourceId,omitempty"`
	Status     string `json:"status"`
	// CancelRequested asks the runner to stop; it ends as Canceled.
	CancelRequested bool            `json:"cancelRequested,omitempty"`
	StartTime       time.Time       `json:"startTime"`
	EndTime         time.Time       `json:"endTime,omitzero"`
	Error           *OperationError `json:"error,omitempty"`
	// ResultStatus and Result are what the operation-result (Location) URL
	// answers once the operation has ended.
	ResultStatus int             `json:"resultStatus,omitempty"`
	Result       json.RawMessage `json:"result,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	State        json.RawMessage `json:"state,omitempty"`
}

// Terminal reports whether the operation has ended.
func (op *Operation) Terminal() bool {
	return op.Status == StatusSucceeded || op.Status == StatusFailed || op.Status == StatusCanceled
}

// OperationError is the error of a failed or canceled operation, in ARM's
// shape.
type OperationError struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Target  string           `json:"target,omitempty"`
	Details []OperationError `json:"details,omitempty"`
}
