package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// DefaultMaxBodyBytes is ARM's request size limit (4 MiB).
const DefaultMaxBodyBytes = 4 << 20

// Config configures a Server.
type Config struct {
	Store     store.Store
	Registry  *Registry
	Directory *Directory
	Signer    *entra.Signer
	// Entra serves every path that is not an ARM path (token endpoints,
	// OpenID discovery, JWKS).
	Entra http.Handler
	Log   *slog.Logger
	// PageSize is the default page size of collection GETs.
	PageSize int
	// MaxBodyBytes limits request bodies (default 4 MiB, as ARM).
	MaxBodyBytes int64
	Now          func() time.Time
	// Authorize, when set, enforces Azure RBAC on every request (nil: every
	// authenticated caller may do everything).
	Authorize Authorizer
}

// Server is the ARM HTTP handler.
type Server struct {
	cfg Config
}

// NewServer returns a Server.
func NewServer(cfg Config) *Server {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}
}

// armRoots are the first path segments that belong to ARM; everything else
// is an Entra path.
var armRoots = []string{"subscriptions", "tenants", "providers", "metadata"}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	requestID := uuid.NewString()
	h := rec.Header()
	h.Set("x-ms-request-id", requestID)
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = requestID
	}
	h.Set("x-ms-correlation-request-id", corr)
	h.Set("x-ms-routing-request-id", "LOCAL:"+start.UTC().Format("20060102T150405Z")+":"+requestID)
	if cid := r.Header.Get("x-ms-client-request-id"); cid != "" {
		h.Set("x-ms-client-request-id", cid)
	}
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, ErrInternal(fmt.Errorf("panic: %v", p)))
			}
		}
		s.cfg.Log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond), "request_id", requestID)
	}()

	// Clients put "//" into paths (a trailing slash on the endpoint) and
	// Go's mux would redirect them, turning a PUT into a GET; normalise
	// instead.
	segs := resourceid.Split(r.URL.Path)
	r.URL.Path = "/" + strings.Join(segs, "/")
	r.URL.RawPath = ""

	if len(segs) == 0 || !slices.ContainsFunc(armRoots, func(root string) bool { return strings.EqualFold(root, segs[0]) }) {
		s.cfg.Entra.ServeHTTP(rec, r)
		return
	}
	base := baseURL(r)
	if strings.EqualFold(segs[0], "metadata") {
		if len(segs) == 2 && strings.EqualFold(segs[1], "endpoints") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			serveMetadata(rec, r, base)
			return
		}
		writeError(rec, errNoRoute(r.URL.Path))
		return
	}
	resp, err := s.serveARM(r, base)
	if err != nil {
		var armErr *Error
		if !errors.As(err, &armErr) {
			armErr = ErrInternal(err)
		}
		if armErr.Status >= 500 {
			s.cfg.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", armErr, "request_id", requestID)
		}
		writeError(rec, armErr)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if r.Method == http.MethodHead || resp.Body == nil {
		if resp.Body != nil || r.Method == http.MethodHead {
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
		rec.WriteHeader(resp.Status)
		return
	}
	writeJSON(rec, resp.Status, resp.Body)
}

func baseURL(r *http.Request) string {
	if r.TLS == nil {
		return "http://" + r.Host
	}
	return "https://" + r.Host
}

// serveARM authenticates, routes, validates and dispatches an ARM request.
func (s *Server) serveARM(r *http.Request, base string) (*Response, error) {
	ctx := r.Context()
	caller, aerr := s.authenticate(r, base)
	if aerr != nil {
		return nil, aerr
	}
	route, rerr := s.cfg.Registry.parsePath(r.URL.Path)
	if rerr != nil {
		return nil, rerr
	}
	rt := route.Type
	version := apiVersion(r.URL.Query())
	if version == "" && !rt.AnyAPIVersion {
		return nil, Errorf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if !rt.supportsVersion(version) {
		return nil, s.errAPIVersion(rt, version, r)
	}
	if sub := route.ID.SubscriptionID(); sub != "" {
		props, err := s.cfg.Directory.Subscription(ctx, sub)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(props.TenantID, caller.TenantID) {
			return nil, wrongTenant(caller, props.TenantID, base)
		}
		if !rt.Builtin {
			if err := s.checkRegistered(ctx, sub, rt.Namespace); err != nil {
				return nil, err
			}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				"The request content size exceeds the maximum size of %d bytes.", s.cfg.MaxBodyBytes)
		}
		return nil, ErrInvalidRequestContent("The request body could not be read.")
	}
	if rt.LenientJSON && !json.Valid(body) {
		body = standardizeJSONC(body)
	}
	if len(bytes.TrimSpace(body)) > 0 && (r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost) &&
		!json.Valid(body) {
		var v any
		return nil, ErrInvalidRequestContent(describeJSONError(body, json.Unmarshal(body, &v)))
	}
	req := &Request{HTTP: r, Route: route, APIVersion: version, Body: body, Caller: caller, BaseURL: base, pageSize: s.cfg.PageSize}
	handler := s.pick(req)
	if handler != nil {
		if err := s.authorize(ctx, req); err != nil {
			return nil, err
		}
		if err := s.checkDenyAssignments(ctx, req); err != nil {
			return nil, err
		}
	}
	if handler == nil {
		return nil, Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested resource does not support http method '%s'.", r.Method)
	}
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, ErrInternal(errors.New("handler returned no response"))
	}
	return resp, nil
}

// apiVersion reads api-version case-insensitively (some clients send
// Api-Version).
func apiVersion(q url.Values) string {
	for k, v := range q {
		if strings.EqualFold(k, "api-version") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (s *Server) pick(req *Request) HandlerFunc {
	rt, route := req.Route.Type, req.Route
	switch {
	case route.Action != "":
		switch req.Method() {
		case http.MethodPost:
			return rt.action(route.Action)
		case http.MethodGet:
			return rt.readAction(route.Action)
		}
		return nil
	case route.Collection:
		switch req.Method() {
		case http.MethodGet:
			return rt.List
		case http.MethodPost:
			return rt.Post
		}
		return nil
	}
	switch req.Method() {
	case http.MethodGet:
		return rt.Get
	case http.MethodHead:
		return rt.Head
	case http.MethodPut:
		return rt.Put
	case http.MethodPatch:
		return rt.Patch
	case http.MethodDelete:
		return rt.Delete
	}
	return nil
}

// errAPIVersion is ARM's answer to an unsupported api-version: ARM's own
// types say InvalidApiVersionParameter; provider types say the type has no
// provider for that version, naming the location for writes.
func (s *Server) errAPIVersion(rt *ResourceType, version string, r *http.Request) *Error {
	supported := strings.Join(rt.APIVersions, ",")
	if rt.Builtin {
		return Errorf(http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '%s' is invalid. The supported versions are '%s'.", version, supported)
	}
	if r.Method == http.MethodPut {
		return Errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'. The supported locations are '%s'.",
			peekLocation(r), version, rt.Type, strings.Join(rt.APIVersions, ", "), strings.Join(rt.Locations, ", "))
	}
	return Errorf(http.StatusBadRequest, "InvalidResourceType",
		"The resource type '%s' could not be found in the namespace '%s' for api version '%s'. The supported api-versions are '%s'.",
		rt.Type, rt.Namespace, version, strings.Join(rt.APIVersions, ","))
}

// peekLocation reads "location" from a PUT body without consuming it.
func peekLocation(r *http.Request) string {
	if r.Body == nil {
		return ""
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	var v struct {
		Location string `json:"location"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return "" // best effort, for a message: it names no location then
	}
	return strings.ToLower(strings.ReplaceAll(v.Location, " ", ""))
}

func (s *Server) checkRegistered(ctx context.Context, sub, ns string) error {
	var state string
	if err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		state, err = RegistrationState(tx, sub, ns)
		return err
	}); err != nil {
		return ErrInternal(err)
	}
	if state == Registered {
		return nil
	}
	msg := fmt.Sprintf("The subscription is not registered to use namespace '%s'. See https://aka.ms/rps-not-found for how to register subscriptions.", ns)
	return &Error{Status: http.StatusConflict, Code: "MissingSubscriptionRegistration", Message: msg,
		Details: []*Error{{Code: "MissingSubscriptionRegistration", Message: msg, Target: ns}}}
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}
