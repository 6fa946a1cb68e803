package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/localaks/localaks/internal/resourceid"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resources (
	key            TEXT PRIMARY KEY,  -- lower-case resource ID
	subscription   TEXT NOT NULL,     -- lower-case
	resource_group TEXT NOT NULL,     -- lower-case, '' above resource groups
	parent         TEXT NOT NULL,     -- lower-case parent ID
	type           TEXT NOT NULL,     -- lower-case full resource type
	top_level      INTEGER NOT NULL,  -- 1 for top-level resources in a group
	doc            TEXT NOT NULL      -- JSON of Resource
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resources_by_group  ON resources(subscription, resource_group, key);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources(parent, type, key);
CREATE INDEX IF NOT EXISTS resources_by_type   ON resources(type, key);
CREATE TABLE IF NOT EXISTS operations (
	id     TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	doc    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS operations_by_status ON operations(status);
`

// SQLite is the embedded Store.
type SQLite struct {
	writer *sql.DB // one connection, BEGIN IMMEDIATE: writes are serialised
	reader *sql.DB // a pool of read-only connections; WAL lets them run beside the writer
	mu     sync.Mutex

	changeMu sync.Mutex
	changed  chan struct{} // closed when the next write commits
}

// Changed returns a channel closed when the next write commits (Watcher).
func (s *SQLite) Changed() <-chan struct{} {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// committed wakes those waiting on Changed.
func (s *SQLite) committed() {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// OpenSQLite opens (creating if needed) the database file at path.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "mmap_size(268435456)", "cache_size(-32768)"} {
		pragmas.Add("_pragma", p)
	}
	writerDSN := "file:" + path + "?" + pragmas.Encode() + "&_txlock=immediate"
	readerDSN := "file:" + path + "?" + pragmas.Encode() + "&_pragma=query_only(1)"

	writer, err := sql.Open("sqlite", writerDSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	if _, err := writer.ExecContext(ctx, schema); err != nil {
		writer.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", readerDSN)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	return &SQLite{writer: writer, reader: reader}, nil
}

// Close closes both connection pools.
func (s *SQLite) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// View runs fn in a read-only transaction.
func (s *SQLite) View(ctx context.Context, fn func(Tx) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to undo
	return fn(&sqliteTx{tx: tx})
}

// Update runs fn in a write transaction and commits it before returning.
func (s *SQLite) Update(ctx context.Context, fn func(Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(&sqliteTx{tx: tx}); err != nil {
		tx.Rollback() //nolint:errcheck // the fn error is the one that matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.committed()
	return nil
}

type sqliteTx struct {
	tx *sql.Tx
}

func (t *sqliteTx) Get(id string) (*Resource, error) {
	var doc string
	err := t.tx.QueryRow(`SELECT doc FROM resources WHERE key = ?`, strings.ToLower(canonical(id))).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id, err)
	}
	return decodeResource(doc)
}

func (t *sqliteTx) List(q Query) ([]*Resource, error) {
	var (
		where []string
		args  []any
	)
	if q.Subscription != "" {
		where = append(where, "subscription = ?")
		args = append(args, strings.ToLower(q.Subscription))
	}
	if q.ResourceGroup != "" {
		where = append(where, "resource_group = ?")
		args = append(args, strings.ToLower(q.ResourceGroup))
	}
	if q.Parent != "" {
		where = append(where, "parent = ?")
		args = append(args, strings.ToLower(canonical(q.Parent)))
	}
	if q.Type != "" {
		where = append(where, "type = ?")
		args = append(args, strings.ToLower(q.Type))
	}
	if q.TopLevel {
		where = append(where, "top_level = 1")
	}
	if q.After != "" {
		where = append(where, "key > ?")
		args = append(args, strings.ToLower(q.After))
	}
	query := "SELECT doc FROM resources"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY key"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := t.tx.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	defer rows.Close()
	var out []*Resource
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		r, err := decodeResource(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *sqliteTx) Put(r *Resource) error {
	id, err := resourceid.Parse(r.ID)
	if err != nil {
		return fmt.Errorf("put resource: %w", err)
	}
	if existing, err := t.Get(r.ID); err == nil {
		// ARM keeps the casing of the first write, and so does creation
		// data.
		r.ID = existing.ID
		r.SystemData.CreatedAt = existing.SystemData.CreatedAt
		r.SystemData.CreatedBy = existing.SystemData.CreatedBy
		r.SystemData.CreatedByType = existing.SystemData.CreatedByType
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	r.ETag = newETag()
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode %s: %w", r.ID, err)
	}
	topLevel := 0
	if id.IsTopLevel() {
		topLevel = 1
	}
	_, err = t.tx.Exec(`INSERT INTO resources (key, subscription, resource_group, parent, type, top_level, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET doc = excluded.doc`,
		id.Key(), strings.ToLower(id.SubscriptionID()), strings.ToLower(id.ResourceGroupName()),
		id.Parent().Key(), strings.ToLower(id.Type()), topLevel, string(doc))
	if err != nil {
		return fmt.Errorf("put %s: %w", r.ID, err)
	}
	return nil
}

func (t *sqliteTx) Delete(id string) (int, error) {
	key := strings.ToLower(canonical(id))
	// Every nested resource's key starts with key + "/"; '0' is the byte
	// after '/', so the range below is exactly that prefix.
	res, err := t.tx.Exec(`DELETE FROM resources WHERE key = ? OR (key > ? AND key < ?)`, key, key+"/", key+"0")
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *sqliteTx) GetOperation(id string) (*Operation, error) {
	var doc string
	err := t.tx.QueryRow(`SELECT doc FROM operations WHERE id = ?`, strings.ToLower(id)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get operation %s: %w", id, err)
	}
	var op Operation
	if err := json.Unmarshal([]byte(doc), &op); err != nil {
		return nil, fmt.Errorf("decode operation %s: %w", id, err)
	}
	return &op, nil
}

func (t *sqliteTx) PutOperation(op *Operation) error {
	doc, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("encode operation %s: %w", op.ID, err)
	}
	_, err = t.tx.Exec(`INSERT INTO operations (id, status, doc) VALUES (?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET status = excluded.status, doc = excluded.doc`,
		strings.ToLower(op.ID), op.Status, string(doc))
	if err != nil {
		return fmt.Errorf("put operation %s: %w", op.ID, err)
	}
	return nil
}

func (t *sqliteTx) ListOperations(status string) ([]*Operation, error) {
	query, args := `SELECT doc FROM operations ORDER BY id`, []any{}
	if status != "" {
		query, args = `SELECT doc FROM operations WHERE status = ? ORDER BY id`, []any{status}
	}
	rows, err := t.tx.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list operations: %w", err)
	}
	defer rows.Close()
	var out []*Operation
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list operations: %w", err)
		}
		var op Operation
		if err := json.Unmarshal([]byte(doc), &op); err != nil {
			return nil, fmt.Errorf("decode operation: %w", err)
		}
		out = append(out, &op)
	}
	return out, rows.Err()
}

func (t *sqliteTx) GetMeta(key string) (string, error) {
	var v string
	err := t.tx.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("get meta %s: %w", key, err)
	}
	return v, nil
}

func (t *sqliteTx) PutMeta(key, value string) error {
	_, err := t.tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("put meta %s: %w", key, err)
	}
	return nil
}

func decodeResource(doc string) (*Resource, error) {
	var r Resource
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("decode resource: %w", err)
	}
	return &r, nil
}

// canonical normalises repeated and trailing slashes so "//a//b/" and "/a/b"
// name the same resource.
func canonical(id string) string {
	return "/" + strings.Join(resourceid.Split(id), "/")
}

func newETag() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
