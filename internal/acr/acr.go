// Package acr is the container registries' data plane: for every
// Microsoft.ContainerRegistry/registries resource an OCI distribution
// registry at its login server ({name}.azurecr.io), with ACR's sign-in
// (admin user, Entra tokens exchanged for ACR refresh and access tokens,
// the Bearer challenge), role assignments enforced on pull, push and delete
// (AcrPull, AcrPush, AcrDelete, Owner, Contributor, Reader), ACR's metadata
// API (/acr/v1) and the OCI referrers API.
//
// The registry protocol and storage are the distribution registry's
// (github.com/distribution/distribution/v3, its filesystem driver):
// content-addressed under <data-dir>/registries/<content ID>, each blob
// written to an upload directory and moved into place only once its digest
// is verified, so a push killed half-way leaves nothing visible. This
// package puts ACR's authentication in front of it, adds the referrers API
// the library lacks, and collects garbage when content is deleted.
package acr

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/sirupsen/logrus"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/provider/containerregistry"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Config configures a Server.
type Config struct {
	Store store.Store
	// Root is the directory registries' content lives under.
	Root string
	// Entra validates the Entra tokens clients exchange (az acr login).
	Entra *entra.Signer
	// TenantOf is a subscription's tenant.
	TenantOf func(subscription string) string
	// Key signs ACR's own refresh and access tokens.
	Key *rsa.PrivateKey
	Log *slog.Logger
	Now func() time.Time
}

// Server serves every registry's data plane; a request's registry is its
// Host's first label.
type Server struct {
	cfg    Config
	tokens *tokens

	mu   sync.Mutex
	regs map[string]*registry // by content ID
}

// registry is one registry resource's data plane.
type registry struct {
	content string
	app     *handlers.App
	driver  storagedriver.StorageDriver
	ns      distribution.Namespace
	// gc is held shared by every write and exclusively by a collection.
	gc sync.RWMutex
	// dirty says content was deleted since the last collection.
	dirty     bool
	lastWrite time.Time
	refs      *referrers
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, err
	}
	// The registry library logs every request through logrus's standard
	// logger (at info; a client's 404 at error); serve's log keeps its
	// errors at debug.
	logrus.SetLevel(logrus.ErrorLevel)
	logrus.SetOutput(slogWriter{cfg.Log})
	return &Server{cfg: cfg, tokens: &tokens{key: cfg.Key, now: cfg.Now}, regs: map[string]*registry{}}, nil
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Debug("registry", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

// LoginName returns the registry name of a login server host
// ("myacr.azurecr.io" or "myacr.azurecr.io:443"), and whether host is one.
func LoginName(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	name, ok := strings.CutSuffix(host, containerregistry.LoginSuffix)
	if !ok || name == "" || strings.Contains(name, ".") {
		return "", false
	}
	return name, true
}

// resource is what the data plane reads of a registry resource.
type resource struct {
	ID, Name, Subscription, LoginServer string
	// Content names the directory of this incarnation of the registry
	// (contentID).
	Content string
	Props   containerregistry.Properties
}

// contentID names a registry's content directory: derived from its ID and
// creation time, so a registry deleted and created again under the same
// name starts empty even before the old content is swept.
func contentID(id string, created time.Time) string {
	sum := sha256.Sum256([]byte(strings.ToLower(id) + "\n" + created.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:16])
}

// lookup finds the registry resource whose login server is host.
func (s *Server) lookup(ctx context.Context, name string) (*resource, error) {
	var out *resource
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		all, err := tx.List(store.Query{Type: containerregistry.RegistryType})
		if err != nil {
			return err
		}
		for _, r := range all {
			if !strings.EqualFold(r.Name, name) {
				continue
			}
			var props containerregistry.Properties
			if _, err := jsonx.Decode(r.Properties, &props); err != nil {
				return err
			}
			id, err := resourceid.Parse(r.ID)
			if err != nil {
				return err
			}
			out = &resource{ID: r.ID, Name: r.Name, Subscription: id.SubscriptionID(), LoginServer: props.LoginServer,
				Content: contentID(r.ID, props.CreationDate), Props: props}
		}
		return nil
	})
	return out, err
}

// open returns the data plane of content ID id, starting it on first use.
func (s *Server) open(ctx context.Context, id string) (*registry, error) {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return nil, fmt.Errorf("registry content ID %q is not valid", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.regs[id]; r != nil {
		return r, nil
	}
	dir := filepath.Join(s.cfg.Root, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	secret, err := uploadSecret(dir)
	if err != nil {
		return nil, err
	}
	params := configuration.Parameters{"rootdirectory": dir}
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem": params,
			"delete":     configuration.Parameters{"enabled": true},
			// Blobs are served from here, never redirected to a storage URL.
			"redirect": configuration.Parameters{"disable": true},
			// Uploads left open (a client gone, serve killed) go after
			// abandonedUpload rather than the library's week.
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{
				"enabled": true, "age": abandonedUpload.String(), "interval": "1h", "dryrun": false}},
		},
	}
	cfg.HTTP.Secret = secret
	// Catalog pages as large as clients ask for (ACR has no small cap).
	cfg.Catalog.MaxEntries = 100000
	// ACR answers Location headers as paths.
	cfg.HTTP.RelativeURLs = true
	// Non-distributable layers name URLs outside the registry.
	cfg.Validation.Manifests.URLs.Allow = []string{"^https?://"}
	app, err := newApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	driver, err := filesystem.FromParameters(params)
	if err != nil {
		return nil, err
	}
	ns, err := storage.NewRegistry(ctx, driver, storage.EnableDelete)
	if err != nil {
		return nil, err
	}
	r := &registry{content: id, app: app, driver: driver, ns: ns, refs: newReferrers(), dirty: true}
	s.regs[id] = r
	return r, nil
}

// newApp builds the library's application, which panics on configuration
// it cannot use.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start registry: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// uploadSecret is the key the library signs upload state with, kept with
// the content so that uploads survive a restart.
func uploadSecret(dir string) (string, error) {
	file := filepath.Join(dir, "upload-secret")
	if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
		return string(b), nil
	}
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	secret := hex.EncodeToString(b)
	return secret, os.WriteFile(file, []byte(secret), 0o600)
}

// Remove stops the data plane of content ID id and deletes its content.
func (s *Server) Remove(id string) error {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return nil
	}
	s.mu.Lock()
	r := s.regs[id]
	delete(s.regs, id)
	s.mu.Unlock()
	if r != nil {
		r.gc.Lock()
		defer r.gc.Unlock()
		r.app.Shutdown() //nolint:errcheck // stops its upload purger
	}
	return os.RemoveAll(filepath.Join(s.cfg.Root, id))
}

// Teardown removes the content of registry resource r (its resource group
// is being deleted).
func (s *Server) Teardown(_ context.Context, r *store.Resource) error {
	var props containerregistry.Properties
	if _, err := jsonx.Decode(r.Properties, &props); err != nil {
		return err
	}
	return s.Remove(contentID(r.ID, props.CreationDate))
}

// Size is the bytes registry resource r's content takes on disk (its
// blobs, each stored once).
func (s *Server) Size(r *store.Resource) (int64, error) {
	var props containerregistry.Properties
	if _, err := jsonx.Decode(r.Properties, &props); err != nil {
		return 0, err
	}
	var total int64
	root := filepath.Join(s.cfg.Root, contentID(r.ID, props.CreationDate), "docker", "registry", "v2", "blobs")
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	return total, err
}

// Sweep removes the content of registries that no longer exist.
func (s *Server) Sweep(ctx context.Context) error {
	keep := map[string]bool{}
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		all, err := tx.List(store.Query{Type: containerregistry.RegistryType})
		if err != nil {
			return err
		}
		for _, r := range all {
			var props containerregistry.Properties
			if _, err := jsonx.Decode(r.Properties, &props); err != nil {
				return err
			}
			keep[contentID(r.ID, props.CreationDate)] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(s.cfg.Root)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() && !keep[e.Name()] {
			errs = append(errs, s.Remove(e.Name()))
		}
	}
	return errors.Join(errs...)
}

// Close stops every registry's background work.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.regs {
		r.app.Shutdown() //nolint:errcheck // stops its upload purger
		delete(s.regs, id)
	}
}

// ServeHTTP serves a request to a login server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := LoginName(r.Host)
	if !ok {
		writeErrors(w, http.StatusNotFound, "NAME_UNKNOWN", "registry host not known", nil)
		return
	}
	res, err := s.lookup(r.Context(), name)
	if err != nil {
		s.cfg.Log.Error("registry lookup", "host", r.Host, "err", err)
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "internal error", nil)
		return
	}
	if res == nil {
		// ACR's DNS has no such name; here the host is answered, with
		// the registry's error for a name it does not know.
		writeErrors(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("registry %s%s does not exist", name, containerregistry.LoginSuffix), nil)
		return
	}
	reg, err := s.open(r.Context(), res.Content)
	if err != nil {
		s.cfg.Log.Error("open registry", "registry", res.ID, "err", err)
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "internal error", nil)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/oauth2/exchange":
		s.exchange(w, r, res)
		return
	case path == "/oauth2/token":
		s.token(w, r, res)
		return
	case path == "/v2" || strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/acr/v1/"):
	default:
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "the requested path does not exist", nil)
		return
	}
	need := required(r)
	caller, ok := s.authorize(w, r, res, need)
	if !ok {
		return
	}
	if q := r.URL.Query(); q.Get("mount") != "" && q.Get("from") != "" && !caller.may(q.Get("from"), "pull") {
		q.Del("mount")
		q.Del("from")
		r.URL.RawQuery = q.Encode()
	}
	if strings.HasPrefix(path, "/acr/v1/") {
		s.metadata(w, r, res, reg)
		return
	}
	s.serveV2(w, r, reg)
}

// serveV2 hands a /v2 request to the library, with the referrers API in
// front and writes held against garbage collection.
func (s *Server) serveV2(w http.ResponseWriter, r *http.Request, reg *registry) {
	if repo, dgst, ok := referrersPath(r.URL.Path); ok {
		reg.serveReferrers(w, r, repo, dgst)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		reg.gc.RLock()
		defer reg.gc.RUnlock()
		s.mu.Lock()
		reg.lastWrite = s.cfg.Now()
		if r.Method == http.MethodDelete {
			reg.dirty = true
		}
		s.mu.Unlock()
		if isManifestPut(r) {
			if !reg.annotateSubject(w, r) {
				return
			}
		}
	}
	reg.app.ServeHTTP(w, r)
}

// writeErrors writes the registry's error body.
func writeErrors(w http.ResponseWriter, status int, code, message string, detail any) {
	e := map[string]any{"code": code, "message": message}
	if detail != nil {
		e["detail"] = detail
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []any{e}}) //nolint:errcheck // the client went away
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
