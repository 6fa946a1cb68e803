package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Prefix is where the Graph surface is served; clients are given
// {base}/graph/ as the Microsoft Graph resource ID and endpoint.
const Prefix = "/graph/"

// Audiences are the token audiences Graph accepts besides {base}/graph/.
var Audiences = []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"}

// Tenants resolves tenant IDs (arm.Directory).
type Tenants interface {
	Tenant(ctx context.Context, name string) (string, bool)
}

// Config configures the Graph handler.
type Config struct {
	Directory *Directory
	Signer    *entra.Signer
	Tenants   Tenants
	// Open lets every signed-in principal manage the directory; otherwise
	// only those holding the administrator role may (others get 403
	// Authorization_RequestDenied, as an application without Graph
	// permissions does).
	Open bool
	Log  *slog.Logger
	Now  func() time.Time
}

// Handler serves Microsoft Graph's directory endpoints.
type Handler struct {
	cfg Config
}

// NewHandler returns the Graph handler.
func NewHandler(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}
}

// gError is a Graph error.
type gError struct {
	status      int
	code, msg   string
	wwwAuthHint bool
}

func (e *gError) Error() string { return e.code + ": " + e.msg }

func errorf(status int, code, format string, args ...any) *gError {
	return &gError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func notFound(id string) *gError {
	return errorf(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

func badRequest(format string, args ...any) *gError {
	return errorf(http.StatusBadRequest, "Request_BadRequest", format, args...)
}

var errDenied = errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

// request is one Graph call.
type request struct {
	r        *http.Request
	base     string // {scheme}://{host}/graph/{version}
	tenant   string
	caller   string // object ID
	appToken bool
	segs     []string
	body     map[string]any
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, out, err := h.serve(r)
	if err != nil {
		var ge *gError
		if !errors.As(err, &ge) {
			h.cfg.Log.Error("graph request", "method", r.Method, "path", r.URL.Path, "err", err)
			ge = errorf(http.StatusInternalServerError, "generalException", "An internal error occurred.")
		}
		h.writeError(w, r, ge)
		return
	}
	w.Header().Set("request-id", uuid.NewString())
	if out == nil {
		w.WriteHeader(status)
		return
	}
	body, err := json.Marshal(out)
	if err != nil {
		h.writeError(w, r, errorf(http.StatusInternalServerError, "generalException", "%v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *gError) {
	if e.wwwAuthHint {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://`+r.Host+`/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": e.code, "message": e.msg,
		"innerError": map[string]any{"date": h.cfg.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": uuid.NewString(),
			"client-request-id": r.Header.Get("client-request-id")},
	}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	w.Write(body) //nolint:errcheck // the client went away
}

// authenticate checks the bearer token: signed by localaks's Entra, in
// its validity period, for Graph, from a known tenant.
func (h *Handler) authenticate(r *http.Request) (tenant, oid string, app bool, _ error) {
	invalid := func(msg string) error {
		return &gError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", msg: msg, wwwAuthHint: true}
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", "", false, invalid("Access token is empty.")
	}
	claims, err := h.cfg.Signer.Validate(strings.TrimSpace(tok), h.cfg.Now())
	switch {
	case errors.Is(err, entra.ErrExpired):
		return "", "", false, invalid("Lifetime validation failed, the token is expired.")
	case errors.Is(err, entra.ErrNotYetValid):
		return "", "", false, invalid("Lifetime validation failed, the token is not yet valid.")
	case err != nil:
		return "", "", false, invalid("Access token validation failure.")
	}
	if !h.audienceAllowed(claims.Audience, r.Host) {
		return "", "", false, invalid("Access token validation failure. Invalid audience.")
	}
	if _, ok := h.cfg.Tenants.Tenant(r.Context(), claims.TenantID); !ok || claims.TenantID == "" || !arm.IssuerOf(claims.Issuer, claims.TenantID) {
		return "", "", false, invalid("Access token validation failure. Invalid issuer.")
	}
	return claims.TenantID, claims.ObjectID, claims.IDType != "user", nil
}

func (h *Handler) audienceAllowed(aud, host string) bool {
	if slices.Contains(Audiences, aud) {
		return true
	}
	u, err := url.Parse(aud)
	return err == nil && u.Scheme == "https" && strings.EqualFold(u.Host, host) && strings.Trim(u.Path, "/") == "graph"
}

var keyed = regexp.MustCompile(`^(applications|servicePrincipals)\(appId='([^']*)'\)$`)

func (h *Handler) serve(r *http.Request) (int, any, error) {
	segs := resourceid.Split(strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/")))
	if len(segs) == 0 || (segs[0] != "v1.0" && segs[0] != "beta") {
		return 0, nil, errorf(http.StatusBadRequest, "BadRequest", "Invalid version.")
	}
	tenant, oid, app, err := h.authenticate(r)
	if err != nil {
		return 0, nil, err
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	req := &request{r: r, base: scheme + "://" + r.Host + strings.TrimSuffix(Prefix, "/") + "/" + segs[0], tenant: strings.ToLower(tenant),
		caller: oid, appToken: app, segs: segs[1:]}
	if len(req.segs) == 0 {
		return 0, nil, errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment ''.")
	}
	if m := keyed.FindStringSubmatch(req.segs[0]); m != nil {
		// applications(appId='…') addresses an object by application ID.
		req.segs = append([]string{m[1], "appId=" + m[2]}, req.segs[1:]...)
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		if err != nil {
			return 0, nil, badRequest("The request body could not be read: %v", err)
		}
		if len(data) > 0 {
			if err := json.Unmarshal(data, &req.body); err != nil {
				return 0, nil, badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
			}
		}
		if req.body == nil {
			req.body = map[string]any{}
		}
	}
	if req.segs[0] == "me" {
		if app {
			return 0, nil, errorf(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		}
		req.segs = append([]string{Users, oid}, req.segs[1:]...)
	}
	var status int
	var out any
	if r.Method == http.MethodGet {
		err = h.cfg.Directory.store.View(r.Context(), func(tx store.Tx) error {
			if err := h.allowed(tx, req); err != nil {
				return err
			}
			status, out, err = h.read(tx, req)
			return err
		})
	} else {
		err = h.cfg.Directory.store.Update(r.Context(), func(tx store.Tx) error {
			if err := h.allowed(tx, req); err != nil {
				return err
			}
			status, out, err = h.write(tx, req)
			return err
		})
	}
	return status, out, err
}

func (h *Handler) allowed(tx store.Tx, req *request) error {
	if h.cfg.Open {
		return nil
	}
	if !req.appToken && req.r.Method == http.MethodGet {
		// Entra's default user permissions: members read the directory
		// (and themselves, /me).
		return nil
	}
	admin, err := isAdmin(tx, req.tenant, req.caller)
	if err != nil {
		return err
	}
	if !admin {
		return errDenied
	}
	return nil
}

func isCollection(s string) bool { return slices.Contains(collections, s) }

// resolve finds the object a path addresses: {coll}/{id}, {coll}/appId=…
// (from the (appId='…') form), users/{userPrincipalName},
// directoryObjects/{id}.
func resolve(tx store.Tx, tenant, coll, key string) (*Object, error) {
	var o *Object
	var err error
	switch {
	case coll == "directoryObjects":
		o, err = find(tx, tenant, key)
	case strings.HasPrefix(key, "appId="):
		var os []*Object
		os, err = findBy(tx, tenant, coll, "appId", strings.TrimPrefix(key, "appId="))
		if err == nil && len(os) == 0 {
			err = store.ErrNotFound
		} else if err == nil {
			o = os[0]
		}
	case coll == Users && strings.Contains(key, "@"):
		var os []*Object
		os, err = findBy(tx, tenant, Users, "userPrincipalName", key)
		if err == nil && len(os) == 0 {
			err = store.ErrNotFound
		} else if err == nil {
			o = os[0]
		}
	default:
		if _, perr := uuid.Parse(key); perr != nil {
			return nil, badRequest("Invalid object identifier '%s'.", key)
		}
		o, err = get(tx, tenant, coll, key)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(strings.TrimPrefix(key, "appId="))
	}
	return o, err
}

func (req *request) context(suffix string) string {
	return req.base + "/$metadata#" + suffix
}

// entity is an object as a response body.
func (req *request) entity(o *Object) map[string]any {
	out := make(map[string]any, len(o.rec.Doc)+1)
	for k, v := range o.rec.Doc {
		out[k] = v
	}
	out["@odata.context"] = req.context(o.Collection + "/$entity")
	return out
}

// member is an object inside a list of mixed types.
func member(o *Object) map[string]any {
	out := make(map[string]any, len(o.rec.Doc)+1)
	for k, v := range o.rec.Doc {
		out[k] = v
	}
	out["@odata.type"] = odataTypes[o.Collection]
	return out
}

func (h *Handler) read(tx store.Tx, req *request) (int, any, error) {
	segs := req.segs
	switch {
	case len(segs) == 1 && segs[0] == "organization":
		return http.StatusOK, map[string]any{"@odata.context": req.context("organization"), "value": []any{map[string]any{
			"id": req.tenant, "displayName": "localaks", "tenantType": "AAD", "countryLetterCode": "US",
			"verifiedDomains": []any{map[string]any{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true,
				"isInitial": true, "name": DefaultDomain(req.tenant), "type": "Managed"}},
		}}}, nil
	case len(segs) == 1 && isCollection(segs[0]):
		all, err := list(tx, req.tenant, segs[0])
		if err != nil {
			return 0, nil, err
		}
		docs := make([]map[string]any, len(all))
		for i, o := range all {
			docs[i] = o.rec.Doc
		}
		return h.page(req, segs[0], docs)
	case len(segs) == 2 && (isCollection(segs[0]) || segs[0] == "directoryObjects"):
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		out := req.entity(o)
		if segs[0] == "directoryObjects" {
			out["@odata.type"] = odataTypes[o.Collection]
		}
		return http.StatusOK, selectProps(req, out), nil
	case len(segs) == 3 && isCollection(segs[0]):
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		if segs[2] == "appRoleAssignments" || segs[2] == "appRoleAssignedTo" && o.Collection == ServicePrincipals {
			return h.appRoleAssignmentsOf(tx, req, o, segs[2])
		}
		var ids []string
		switch segs[2] {
		case "members":
			if o.Collection != Groups {
				return 0, nil, noSegment(segs[2])
			}
			ids = o.rec.Members
		case "owners":
			ids = o.rec.Owners
		case "memberOf":
			ids, err = directGroups(tx, req.tenant, o.ID)
		case "transitiveMemberOf":
			ids, err = MemberOf(tx, req.tenant, o.ID)
		case "transitiveMembers":
			if o.Collection != Groups {
				return 0, nil, noSegment(segs[2])
			}
			ids, err = transitiveMembers(tx, req.tenant, o)
		default:
			return 0, nil, noSegment(segs[2])
		}
		if err != nil {
			return 0, nil, err
		}
		docs, err := objects(tx, req.tenant, ids)
		if err != nil {
			return 0, nil, err
		}
		return h.page(req, "directoryObjects", docs)
	}
	return 0, nil, noSegment(segs[len(segs)-1])
}

func noSegment(seg string) *gError {
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", seg)
}

// objects are the documents (with @odata.type) of the objects with these
// IDs that exist.
func objects(tx store.Tx, tenant string, ids []string) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		o, err := find(tx, tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, member(o))
	}
	return out, nil
}

func directGroups(tx store.Tx, tenant, id string) ([]string, error) {
	groups, err := list(tx, tenant, Groups)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range groups {
		if slices.ContainsFunc(g.rec.Members, func(m string) bool { return strings.EqualFold(m, id) }) {
			out = append(out, g.ID)
		}
	}
	return out, nil
}

func transitiveMembers(tx store.Tx, tenant string, g *Object) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	queue := []*Object{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, m := range cur.rec.Members {
			if seen[strings.ToLower(m)] {
				continue
			}
			seen[strings.ToLower(m)] = true
			out = append(out, m)
			if sub, err := get(tx, tenant, Groups, m); err == nil {
				queue = append(queue, sub)
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	return out, nil
}

// page applies $filter, $select and $top/$skiptoken to a list.
func (h *Handler) page(req *request, coll string, docs []map[string]any) (int, any, error) {
	q := req.r.URL.Query()
	if s := q.Get("$search"); s != "" {
		return 0, nil, errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	if f := q.Get("$filter"); f != "" {
		pred, err := parseFilter(f)
		if err != nil {
			return 0, nil, errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified: %v.", err)
		}
		kept := docs[:0:0]
		for _, d := range docs {
			if pred(d) {
				kept = append(kept, d)
			}
		}
		docs = kept
	}
	total := len(docs)
	top := 100
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 999 {
			return 0, nil, badRequest("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", t)
		}
		top = n
	}
	skip := 0
	if s := q.Get("$skiptoken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, nil, badRequest("Invalid $skiptoken.")
		}
		skip = n
	}
	if skip > len(docs) {
		skip = len(docs)
	}
	end := min(skip+top, len(docs))
	value := make([]any, 0, end-skip)
	for _, d := range docs[skip:end] {
		value = append(value, selectProps(req, d))
	}
	out := map[string]any{"@odata.context": req.context(coll), "value": value}
	if q.Get("$count") == "true" {
		out["@odata.count"] = total
	}
	if end < len(docs) {
		next := *req.r.URL
		nq := next.Query()
		nq.Set("$skiptoken", strconv.Itoa(end))
		next.RawQuery = nq.Encode()
		out["@odata.nextLink"] = req.base[:strings.Index(req.base, Prefix)] + next.Path + "?" + next.RawQuery
	}
	return http.StatusOK, out, nil
}

// selectProps applies $select (id and @odata.* always stay).
func selectProps(req *request, doc map[string]any) map[string]any {
	sel := req.r.URL.Query().Get("$select")
	if sel == "" {
		return doc
	}
	keep := map[string]bool{"id": true}
	for _, p := range strings.Split(sel, ",") {
		keep[strings.TrimSpace(p)] = true
	}
	out := map[string]any{}
	for k, v := range doc {
		if keep[k] || strings.HasPrefix(k, "@odata.") {
			out[k] = v
		}
	}
	return out
}

// readOnly are properties a client may not set.
var readOnly = map[string][]string{
	Applications:      {"id", "appId", "createdDateTime", "deletedDateTime", "publisherDomain", "passwordCredentials"},
	ServicePrincipals: {"id", "appId", "createdDateTime", "deletedDateTime", "appOwnerOrganizationId", "passwordCredentials", "appDisplayName"},
	Users:             {"id", "createdDateTime", "deletedDateTime"},
	Groups:            {"id", "createdDateTime", "deletedDateTime", "securityIdentifier", "renewedDateTime"},
}

var entityNames = map[string]string{Applications: "Application", ServicePrincipals: "ServicePrincipal", Users: "User", Groups: "Group"}

func (h *Handler) write(tx store.Tx, req *request) (int, any, error) {
	segs, m := req.segs, req.r.Method
	switch {
	case len(segs) == 1 && isCollection(segs[0]) && m == http.MethodPost:
		return h.create(tx, req, segs[0])
	case len(segs) == 2 && isCollection(segs[0]) && m == http.MethodPatch:
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		return h.patch(tx, req, o)
	case len(segs) == 2 && isCollection(segs[0]) && m == http.MethodDelete:
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, remove(tx, req.tenant, o)
	case len(segs) == 2 && segs[0] == "directoryObjects" && segs[1] == "getByIds" && m == http.MethodPost:
		ids, err := stringList(req.body, "ids")
		if err != nil {
			return 0, nil, err
		}
		types, _ := stringList(req.body, "types")
		docs, err := objects(tx, req.tenant, ids)
		if err != nil {
			return 0, nil, err
		}
		value := []any{}
		for _, d := range docs {
			t := strings.TrimPrefix(d["@odata.type"].(string), "#microsoft.graph.")
			if len(types) == 0 || slices.ContainsFunc(types, func(x string) bool { return strings.EqualFold(x, t) }) {
				value = append(value, d)
			}
		}
		return http.StatusOK, map[string]any{"@odata.context": req.context("directoryObjects"), "value": value}, nil
	case len(segs) == 3 && m == http.MethodPost && (isCollection(segs[0]) || segs[0] == "directoryObjects"):
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		switch segs[2] {
		case "appRoleAssignments", "appRoleAssignedTo":
			if segs[2] == "appRoleAssignedTo" && o.Collection != ServicePrincipals || segs[0] == "directoryObjects" {
				return 0, nil, noSegment(segs[2])
			}
			return h.assignAppRole(tx, req, o, segs[2])
		case "addPassword":
			return h.addPassword(tx, req, o)
		case "removePassword":
			return h.removePassword(tx, req, o)
		case "checkMemberGroups", "getMemberGroups", "getMemberObjects":
			groups, err := MemberOf(tx, req.tenant, o.ID)
			if err != nil {
				return 0, nil, err
			}
			if segs[2] == "checkMemberGroups" {
				want, err := stringList(req.body, "groupIds")
				if err != nil {
					return 0, nil, err
				}
				var kept []string
				for _, g := range groups {
					if slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, g) }) {
						kept = append(kept, g)
					}
				}
				groups = kept
			}
			if groups == nil {
				groups = []string{}
			}
			return http.StatusOK, map[string]any{"@odata.context": req.context("Collection(Edm.String)"), "value": groups}, nil
		}
	case len(segs) == 4 && isCollection(segs[0]) && m == http.MethodDelete && (segs[2] == "appRoleAssignments" || segs[2] == "appRoleAssignedTo" && segs[0] == ServicePrincipals):
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		return h.unassignAppRole(tx, req, o, segs[2], segs[3])
	case len(segs) == 4 && isCollection(segs[0]) && segs[3] == "$ref" && m == http.MethodPost && (segs[2] == "members" || segs[2] == "owners"):
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		return h.addRef(tx, req, o, segs[2])
	case len(segs) == 5 && isCollection(segs[0]) && segs[4] == "$ref" && m == http.MethodDelete && (segs[2] == "members" || segs[2] == "owners"):
		o, err := resolve(tx, req.tenant, segs[0], segs[1])
		if err != nil {
			return 0, nil, err
		}
		return h.removeRef(tx, req, o, segs[2], segs[3])
	}
	return 0, nil, errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

func stringList(body map[string]any, key string) ([]string, error) {
	raw, ok := body[key].([]any)
	if !ok {
		return nil, badRequest("Invalid value specified for property '%s'.", key)
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, badRequest("Invalid value specified for property '%s'.", key)
		}
		out = append(out, s)
	}
	return out, nil
}

func requireString(body map[string]any, coll, key string) (string, error) {
	s, ok := body[key].(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", badRequest("Invalid value specified for property '%s' of resource '%s'.", key, entityNames[coll])
	}
	return s, nil
}

func checkReadOnly(coll string, body map[string]any, creating bool) error {
	for _, k := range readOnly[coll] {
		if _, ok := body[k]; !ok {
			continue
		}
		if creating && (k == "appId" && coll == ServicePrincipals || k == "passwordCredentials") {
			continue
		}
		return badRequest("Property '%s' is read-only and cannot be set.", k)
	}
	return nil
}

// unique refuses a value of key that another object of the collection
// already has (each element, for a list).
func unique(tx store.Tx, tenant, coll, self, key string, value any) error {
	var vals []string
	switch v := value.(type) {
	case string:
		vals = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				vals = append(vals, s)
			}
		}
	}
	if len(vals) == 0 {
		return nil
	}
	all, err := list(tx, tenant, coll)
	if err != nil {
		return err
	}
	for _, o := range all {
		if strings.EqualFold(o.ID, self) {
			continue
		}
		var have []string
		switch v := o.rec.Doc[key].(type) {
		case string:
			have = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					have = append(have, s)
				}
			}
		}
		for _, a := range vals {
			if slices.ContainsFunc(have, func(b string) bool { return strings.EqualFold(a, b) }) {
				return badRequest("Another object with the same value for property %s already exists.", key)
			}
		}
	}
	return nil
}

func (h *Handler) create(tx store.Tx, req *request, coll string) (int, any, error) {
	body := req.body
	if err := checkReadOnly(coll, body, true); err != nil {
		return 0, nil, err
	}
	now := h.cfg.Now().UTC()
	o := &Object{Collection: coll, ID: uuid.NewString()}
	switch coll {
	case Applications:
		if _, err := requireString(body, coll, "displayName"); err != nil {
			return 0, nil, err
		}
		if err := unique(tx, req.tenant, coll, "", "identifierUris", body["identifierUris"]); err != nil {
			return 0, nil, err
		}
		delete(body, "passwordCredentials") // secrets come from addPassword
		o.rec.Doc = newApplication(o.ID, uuid.NewString(), req.tenant, body, now)
		o.rec.Owners = []string{req.caller}
	case ServicePrincipals:
		appID, err := requireString(body, coll, "appId")
		if err != nil {
			return 0, nil, err
		}
		apps, err := findBy(tx, req.tenant, Applications, "appId", appID)
		if err != nil {
			return 0, nil, err
		}
		if len(apps) == 0 {
			return 0, nil, badRequest("The appId '%s' of the service principal does not reference a valid application object.", appID)
		}
		if sps, err := findBy(tx, req.tenant, ServicePrincipals, "appId", appID); err != nil {
			return 0, nil, err
		} else if len(sps) > 0 {
			return 0, nil, errorf(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
				"The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", appID)
		}
		delete(body, "appId")
		delete(body, "passwordCredentials")
		o.rec.Doc = newServicePrincipal(o.ID, apps[0], req.tenant, body, now)
		o.rec.Owners = []string{req.caller}
	case Users:
		for _, k := range []string{"displayName", "mailNickname", "userPrincipalName"} {
			if _, err := requireString(body, coll, k); err != nil {
				return 0, nil, err
			}
		}
		if _, ok := body["accountEnabled"].(bool); !ok {
			return 0, nil, badRequest("Invalid value specified for property 'accountEnabled' of resource 'User'.")
		}
		upn := body["userPrincipalName"].(string)
		if _, domain, ok := strings.Cut(upn, "@"); !ok || !strings.EqualFold(domain, DefaultDomain(req.tenant)) {
			return 0, nil, badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
		}
		if err := unique(tx, req.tenant, coll, "", "userPrincipalName", upn); err != nil {
			return 0, nil, err
		}
		profile, _ := body["passwordProfile"].(map[string]any)
		password, _ := profile["password"].(string)
		if password == "" {
			return 0, nil, badRequest("Invalid value specified for property 'passwordProfile' of resource 'User'.")
		}
		if len(password) < 8 {
			return 0, nil, badRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
		}
		o.rec.Password = hashPassword(password)
		o.rec.Doc = newUser(o.ID, body)
	case Groups:
		for _, k := range []string{"displayName", "mailNickname"} {
			if _, err := requireString(body, coll, k); err != nil {
				return 0, nil, err
			}
		}
		for _, k := range []string{"mailEnabled", "securityEnabled"} {
			if _, ok := body[k].(bool); !ok {
				return 0, nil, badRequest("Invalid value specified for property '%s' of resource 'Group'.", k)
			}
		}
		members, err := bindList(tx, req.tenant, body, "members@odata.bind")
		if err != nil {
			return 0, nil, err
		}
		owners, err := bindList(tx, req.tenant, body, "owners@odata.bind")
		if err != nil {
			return 0, nil, err
		}
		o.rec.Members, o.rec.Owners = members, owners
		o.rec.Doc = newGroup(o.ID, body, now)
	}
	if err := put(tx, req.tenant, o); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, req.entity(o), nil
}

// bindList reads and removes an @odata.bind list of object URLs, each of
// which must exist.
func bindList(tx store.Tx, tenant string, body map[string]any, key string) ([]string, error) {
	raw, ok := body[key]
	delete(body, key)
	if !ok {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, badRequest("Invalid value specified for property '%s'.", key)
	}
	var out []string
	for _, it := range items {
		s, _ := it.(string)
		id := s[strings.LastIndex(s, "/")+1:]
		if _, err := find(tx, tenant, id); errors.Is(err, store.ErrNotFound) {
			return nil, notFound(id)
		} else if err != nil {
			return nil, err
		}
		out = append(out, strings.ToLower(id))
	}
	return out, nil
}

func (h *Handler) patch(tx store.Tx, req *request, o *Object) (int, any, error) {
	if err := checkReadOnly(o.Collection, req.body, false); err != nil {
		return 0, nil, err
	}
	switch o.Collection {
	case Applications:
		if err := unique(tx, req.tenant, Applications, o.ID, "identifierUris", req.body["identifierUris"]); err != nil {
			return 0, nil, err
		}
	case Users:
		if upn, ok := req.body["userPrincipalName"]; ok {
			if err := unique(tx, req.tenant, Users, o.ID, "userPrincipalName", upn); err != nil {
				return 0, nil, err
			}
		}
		if profile, ok := req.body["passwordProfile"].(map[string]any); ok {
			if pw, _ := profile["password"].(string); pw != "" {
				o.rec.Password = hashPassword(pw)
			}
			delete(req.body, "passwordProfile")
		}
	}
	merge(o.rec.Doc, req.body)
	if o.Collection == Applications {
		// The service principals show the application's name.
		if name, ok := req.body["displayName"]; ok {
			sps, err := findBy(tx, req.tenant, ServicePrincipals, "appId", o.str("appId"))
			if err != nil {
				return 0, nil, err
			}
			for _, sp := range sps {
				sp.rec.Doc["appDisplayName"] = name
				if err := put(tx, req.tenant, sp); err != nil {
					return 0, nil, err
				}
			}
		}
	}
	return http.StatusNoContent, nil, put(tx, req.tenant, o)
}

// remove deletes an object (an application takes its service principals
// with it) and its memberships.
func remove(tx store.Tx, tenant string, o *Object) error {
	gone := []*Object{o}
	if o.Collection == Applications {
		sps, err := findBy(tx, tenant, ServicePrincipals, "appId", o.str("appId"))
		if err != nil {
			return err
		}
		gone = append(gone, sps...)
	}
	groups, err := list(tx, tenant, Groups)
	if err != nil {
		return err
	}
	if err := bump(tx); err != nil {
		return err
	}
	for _, x := range gone {
		if _, err := tx.Delete(resourceID(tenant, x.Collection, x.ID)); err != nil {
			return err
		}
		for _, g := range groups {
			before := len(g.rec.Members) + len(g.rec.Owners)
			g.rec.Members = slices.DeleteFunc(g.rec.Members, func(m string) bool { return strings.EqualFold(m, x.ID) })
			g.rec.Owners = slices.DeleteFunc(g.rec.Owners, func(m string) bool { return strings.EqualFold(m, x.ID) })
			if len(g.rec.Members)+len(g.rec.Owners) != before && !strings.EqualFold(g.ID, x.ID) {
				if err := put(tx, tenant, g); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (h *Handler) addPassword(tx store.Tx, req *request, o *Object) (int, any, error) {
	if o.Collection != Applications && o.Collection != ServicePrincipals {
		return 0, nil, noSegment("addPassword")
	}
	in, _ := req.body["passwordCredential"].(map[string]any)
	now := h.cfg.Now().UTC()
	start, end := now, now.AddDate(2, 0, 0)
	for key, t := range map[string]*time.Time{"startDateTime": &start, "endDateTime": &end} {
		if s, ok := in[key].(string); ok && s != "" {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return 0, nil, badRequest("Invalid value specified for property '%s' of resource 'PasswordCredential'.", key)
			}
			*t = v.UTC()
		}
	}
	if !end.After(start) {
		return 0, nil, badRequest("Key credential end date is invalid.")
	}
	secret := newSecret()
	keyID := uuid.NewString()
	cred := map[string]any{"customKeyIdentifier": nil, "displayName": in["displayName"], "endDateTime": end.Format(time.RFC3339),
		"hint": hint(secret), "keyId": keyID, "secretText": nil, "startDateTime": start.Format(time.RFC3339)}
	creds, _ := o.rec.Doc["passwordCredentials"].([]any)
	o.rec.Doc["passwordCredentials"] = append(creds, cred)
	if o.rec.Secrets == nil {
		o.rec.Secrets = map[string]string{}
	}
	o.rec.Secrets[keyID] = digest(secret)
	if err := put(tx, req.tenant, o); err != nil {
		return 0, nil, err
	}
	out := map[string]any{"@odata.context": req.context("microsoft.graph.passwordCredential")}
	for k, v := range cred {
		out[k] = v
	}
	out["secretText"] = secret
	return http.StatusOK, out, nil
}

func (h *Handler) removePassword(tx store.Tx, req *request, o *Object) (int, any, error) {
	keyID, _ := req.body["keyId"].(string)
	creds, _ := o.rec.Doc["passwordCredentials"].([]any)
	kept := make([]any, 0, len(creds))
	found := false
	for _, c := range creds {
		if m, _ := c.(map[string]any); m != nil && strings.EqualFold(fmt.Sprint(m["keyId"]), keyID) {
			found = true
			continue
		}
		kept = append(kept, c)
	}
	if !found {
		return 0, nil, badRequest("No password credential found with keyId '%s'.", keyID)
	}
	o.rec.Doc["passwordCredentials"] = kept
	delete(o.rec.Secrets, keyID)
	return http.StatusNoContent, nil, put(tx, req.tenant, o)
}

func (h *Handler) addRef(tx store.Tx, req *request, o *Object, rel string) (int, any, error) {
	if rel == "members" && o.Collection != Groups {
		return 0, nil, noSegment(rel)
	}
	ref, _ := req.body["@odata.id"].(string)
	id := ref[strings.LastIndex(ref, "/")+1:]
	if _, err := uuid.Parse(id); err != nil {
		return 0, nil, badRequest("Invalid object identifier '%s'.", id)
	}
	if _, err := find(tx, req.tenant, id); errors.Is(err, store.ErrNotFound) {
		return 0, nil, notFound(id)
	} else if err != nil {
		return 0, nil, err
	}
	list := &o.rec.Members
	if rel == "owners" {
		list = &o.rec.Owners
	}
	if slices.ContainsFunc(*list, func(m string) bool { return strings.EqualFold(m, id) }) {
		return 0, nil, badRequest("One or more added object references already exist for the following modified properties: '%s'.", rel)
	}
	*list = append(*list, strings.ToLower(id))
	return http.StatusNoContent, nil, put(tx, req.tenant, o)
}

func (h *Handler) removeRef(tx store.Tx, req *request, o *Object, rel, id string) (int, any, error) {
	list := &o.rec.Members
	if rel == "owners" {
		list = &o.rec.Owners
	}
	n := len(*list)
	*list = slices.DeleteFunc(*list, func(m string) bool { return strings.EqualFold(m, id) })
	if len(*list) == n {
		return 0, nil, notFound(id)
	}
	return http.StatusNoContent, nil, put(tx, req.tenant, o)
}
