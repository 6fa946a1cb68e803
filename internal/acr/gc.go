package acr

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/opencontainers/image-spec/specs-go"
)

var v1Versioned = specs.Versioned{SchemaVersion: 2}

func isPathNotFound(err error) bool {
	var pnf storagedriver.PathNotFoundError
	return errors.As(err, &pnf)
}

// Garbage collection: blobs no manifest references any more (after a
// manifest, tag-by-digest or repository delete) are removed by the
// library's mark and sweep. A collection must not overlap a push — a blob
// uploaded for a manifest not pushed yet is unreferenced — so it runs only
// on a registry that has no upload in progress and no write for Idle, with
// every write held off while it runs.

// Idle is how long a registry goes without writes before its garbage is
// collected.
const Idle = 30 * time.Second

// Run collects garbage of idle registries every Idle until ctx ends.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(Idle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		var due []*registry
		for _, r := range s.regs {
			if r.dirty && s.cfg.Now().Sub(r.lastWrite) >= Idle {
				due = append(due, r)
			}
		}
		s.mu.Unlock()
		for _, r := range due {
			if err := s.collect(ctx, r); err != nil {
				s.cfg.Log.Warn("registry garbage collection", "content", r.content, "err", err)
			}
		}
	}
}

// Collect collects the garbage of the registry at login server name now
// (waiting for writes in flight); it fails while an upload is open.
func (s *Server) Collect(ctx context.Context, name string) error {
	res, err := s.lookup(ctx, name)
	if err != nil {
		return err
	}
	if res == nil {
		return errors.New("no registry " + name)
	}
	r, err := s.open(ctx, res.Content)
	if err != nil {
		return err
	}
	return s.collect(ctx, r)
}

var errUploading = errors.New("an upload is in progress")

func (s *Server) collect(ctx context.Context, r *registry) error {
	r.gc.Lock()
	defer r.gc.Unlock()
	if uploading(filepath.Join(s.cfg.Root, r.content)) {
		return errUploading
	}
	s.mu.Lock()
	r.dirty = false
	s.mu.Unlock()
	err := storage.MarkAndSweep(ctx, r.driver, r.ns, storage.GCOpts{Quiet: true})
	if isPathNotFound(err) {
		// Nothing pushed yet.
		return nil
	}
	if err != nil {
		s.mu.Lock()
		r.dirty = true
		s.mu.Unlock()
	}
	return err
}

// abandonedUpload is how long an upload may go without a write before it
// no longer holds garbage collection off (and is purged).
const abandonedUpload = time.Hour

// uploading says whether any repository under root has an upload written
// to within abandonedUpload.
func uploading(root string) bool {
	found := false
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error { //nolint:errcheck // a walk error means nothing found
		if found {
			return fs.SkipAll
		}
		if err != nil {
			return filepath.SkipDir
		}
		if d.IsDir() && d.Name() == "_uploads" {
			found = recentlyWritten(p, time.Now().Add(-abandonedUpload))
			return filepath.SkipDir
		}
		return nil
	})
	return found
}

// recentlyWritten says whether anything under dir changed after since.
func recentlyWritten(dir string, since time.Time) bool {
	recent := false
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error { //nolint:errcheck // a walk error means nothing found
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(since) && d.Name() != "_uploads" {
			recent = true
			return fs.SkipAll
		}
		return nil
	})
	return recent
}
