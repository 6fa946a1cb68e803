package acr

import (
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/provider/authorization"
	"github.com/localaks/localaks/internal/store"
)

// ACR's sign-in, as its documentation and clients describe it
// (github.com/Azure/acr docs/AAD-OAuth.md, the 2021-07-01 data-plane
// spec): a request without credentials gets a 401 with a Bearer challenge
// naming the token endpoint (realm) and the login server (service); a
// client trades an Entra token for an ACR refresh token at /oauth2/exchange
// and that for an access token with repository scopes at /oauth2/token,
// or presents the admin user (or the null GUID and a refresh token) there
// with Basic authentication. Access tokens carry the actions granted; what
// is granted is what the principal's role assignments allow when the token
// is issued.

// NullUser is the user name that says the password is an ACR refresh token.
const NullUser = "00000000-0000-0000-0000-000000000000"

// Lifetimes of ACR's tokens (refresh: 3 hours; access: 75 minutes).
const (
	refreshLifetime = 3 * time.Hour
	accessLifetime  = 75 * time.Minute
)

// authRequired is ACR's message for a request it cannot authenticate.
const authRequired = "authentication required, visit https://aka.ms/acr/authorization for more information."

// access is one resource a token covers, with the actions on it (the
// distribution token's access claim).
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (a access) scope() string { return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",") }

// claims are ACR's token claims.
type claims struct {
	JTI         string       `json:"jti"`
	Subject     string       `json:"sub"`
	NotBefore   int64        `json:"nbf"`
	Expiry      int64        `json:"exp"`
	IssuedAt    int64        `json:"iat"`
	Issuer      string       `json:"iss"`
	Audience    string       `json:"aud"`
	Version     string       `json:"version"`
	GrantType   string       `json:"grant_type"`
	Tenant      string       `json:"tenant,omitempty"`
	Permissions *permissions `json:"permissions,omitempty"`
	Roles       []string     `json:"roles"`
	Access      []access     `json:"access,omitempty"`
	// Admin marks tokens issued to the admin user (every action).
	Admin bool `json:"localaks_admin,omitempty"`
}

type permissions struct {
	Actions    []string `json:"actions"`
	NotActions []string `json:"notActions"`
}

func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Expiry, 0)), nil
}
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c *claims) GetNotBefore() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.NotBefore, 0)), nil
}
func (c *claims) GetIssuer() (string, error)             { return c.Issuer, nil }
func (c *claims) GetSubject() (string, error)            { return c.Subject, nil }
func (c *claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Audience}, nil }

// tokens signs and checks ACR's tokens.
type tokens struct {
	key *rsa.PrivateKey
	now func() time.Time
}

const issuer = "Azure Container Registry"

func (t *tokens) sign(c *claims, lifetime time.Duration) (string, error) {
	now := t.now().UTC()
	c.JTI, c.Issuer, c.Version = uuid.NewString(), issuer, "1.0"
	c.IssuedAt, c.NotBefore, c.Expiry = now.Unix(), now.Unix(), now.Add(lifetime).Unix()
	if c.Roles == nil {
		c.Roles = []string{}
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(t.key)
}

// parse checks a token of grant for the login server.
func (t *tokens) parse(token, grant, loginServer string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &t.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(t.now), jwt.WithIssuer(issuer))
	if err != nil {
		return nil, err
	}
	if c.GrantType != grant || !strings.EqualFold(c.Audience, loginServer) {
		return nil, errors.New("token is not for this registry")
	}
	return &c, nil
}

// caller is who a request comes from: the admin user, a principal (an
// Entra object ID), or anonymous.
type caller struct {
	admin     bool
	principal string
	tenant    string
	// granted is what the caller's access token covers (nil: anonymous
	// or admin).
	granted []access
}

// may says whether the caller may do action on repository repo.
func (c caller) may(repo, action string) bool {
	return c.admin || covers(c.granted, access{"repository", repo, []string{action}})
}

// challenge answers 401 with ACR's Bearer challenge for the accesses.
func challenge(w http.ResponseWriter, res *resource, need []access, code, message string) {
	h := fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, res.LoginServer, res.LoginServer)
	var detail []map[string]string
	if len(need) > 0 {
		scopes := make([]string, len(need))
		for i, a := range need {
			scopes[i] = a.scope()
			for _, act := range a.Actions {
				detail = append(detail, map[string]string{"Type": a.Type, "Name": a.Name, "Action": act})
			}
		}
		h += fmt.Sprintf(`,scope="%s"`, strings.Join(scopes, " "))
	}
	if code == "insufficient_scope" {
		h += `,error="insufficient_scope"`
		code = "UNAUTHORIZED"
	}
	w.Header().Set("WWW-Authenticate", h)
	if detail == nil {
		writeErrors(w, http.StatusUnauthorized, code, message, nil)
		return
	}
	writeErrors(w, http.StatusUnauthorized, code, message, detail)
}

// authorize authenticates a data-plane request and checks that it may do
// what it needs; it answers the request itself when not.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, res *resource, need []access) (caller, bool) {
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	switch {
	case authz == "":
		if res.Props.AnonymousPullEnabled && len(need) > 0 && onlyPull(need) {
			return caller{}, true
		}
		challenge(w, res, need, "UNAUTHORIZED", authRequired)
		return caller{}, false
	case strings.EqualFold(scheme, "Basic"):
		user, pass, _ := r.BasicAuth()
		if s.isAdmin(res, user, pass) {
			return caller{admin: true}, true
		}
		challenge(w, res, need, "UNAUTHORIZED", authRequired)
		return caller{}, false
	case strings.EqualFold(scheme, "Bearer"):
		c, err := s.tokens.parse(strings.TrimSpace(cred), "access_token", res.LoginServer)
		if err != nil {
			challenge(w, res, need, "UNAUTHORIZED", authRequired)
			return caller{}, false
		}
		if !c.Admin {
			for _, n := range need {
				if !covers(c.Access, n) {
					challenge(w, res, need, "insufficient_scope", authRequired)
					return caller{}, false
				}
			}
		}
		return caller{admin: c.Admin, principal: c.Subject, tenant: c.Tenant, granted: c.Access}, true
	default:
		challenge(w, res, need, "UNAUTHORIZED", authRequired)
		return caller{}, false
	}
}

func onlyPull(need []access) bool {
	for _, n := range need {
		if n.Type != "repository" || slices.ContainsFunc(n.Actions, func(a string) bool { return a != "pull" }) {
			return false
		}
	}
	return true
}

// covers says whether granted accesses include every action of n.
func covers(granted []access, n access) bool {
	for _, act := range n.Actions {
		ok := false
		for _, g := range granted {
			if g.Type == n.Type && g.Name == n.Name && (slices.Contains(g.Actions, act) || slices.Contains(g.Actions, "*")) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *Server) isAdmin(res *resource, user, pass string) bool {
	if !res.Props.AdminUserEnabled || !strings.EqualFold(user, res.Name) {
		return false
	}
	for _, p := range res.Props.Admin {
		if p.Value != "" && subtle.ConstantTimeCompare([]byte(p.Value), []byte(pass)) == 1 {
			return true
		}
	}
	return false
}

// password reads a user name and password given to the token endpoint:
// the null GUID and an ACR refresh token (refresh), or the admin user
// (admin); ok is false for anything else.
func (s *Server) password(res *resource, user, pass string) (refresh string, admin, ok bool) {
	if strings.EqualFold(user, NullUser) {
		return pass, false, true
	}
	return "", true, s.isAdmin(res, user, pass)
}

// armAction is the ARM action a registry action needs of a role
// assignment (ACR's legacy registry permissions: AcrPull, AcrPush,
// AcrDelete, and Owner, Contributor, Reader through their wildcards).
func armAction(typ, action string) string {
	const ns = "Microsoft.ContainerRegistry/registries/"
	switch {
	case typ == "registry":
		return ns + "pull/read"
	case action == "push", action == "metadata_write":
		return ns + "push/write"
	case action == "delete":
		return ns + "artifacts/delete"
	default: // pull, metadata_read
		return ns + "pull/read"
	}
}

// grant is what of the requested accesses the caller gets.
func (s *Server) grant(r *http.Request, res *resource, who caller, requested []access) ([]access, error) {
	if who.admin {
		return requested, nil
	}
	var out []access
	err := s.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		for _, a := range requested {
			g := access{Type: a.Type, Name: a.Name, Actions: []string{}}
			for _, act := range a.Actions {
				ok := false
				if who.principal != "" {
					var err error
					if ok, err = authorization.Permits(tx, who.principal, res.ID, armAction(a.Type, act)); err != nil {
						return err
					}
				} else {
					ok = res.Props.AnonymousPullEnabled && a.Type == "repository" && act == "pull"
				}
				if ok {
					g.Actions = append(g.Actions, act)
				}
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// parseScopes reads scope parameters ("repository:app:pull,push", several
// per parameter separated by spaces).
func parseScopes(values []string) []access {
	var out []access
	for _, v := range values {
		for _, sc := range strings.Fields(v) {
			i, j := strings.Index(sc, ":"), strings.LastIndex(sc, ":")
			if i < 0 || j <= i {
				continue
			}
			out = append(out, access{Type: sc[:i], Name: sc[i+1 : j], Actions: strings.Split(sc[j+1:], ",")})
		}
	}
	return out
}

// token serves /oauth2/token: GET with Basic credentials (the admin user,
// or the null GUID and a refresh token) or none (anonymous pull), POST
// with a refresh token or a password grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request, res *resource) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "the request could not be parsed: "+err.Error(), nil)
		return
	}
	if svc := r.Form.Get("service"); svc != "" && !strings.EqualFold(svc, res.LoginServer) {
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("service %q does not match the registry %s", svc, res.LoginServer), nil)
		return
	}
	var who caller
	var refresh string
	switch r.Method {
	case http.MethodGet:
		if user, pass, ok := r.BasicAuth(); ok {
			if refresh, who.admin, ok = s.password(res, user, pass); !ok {
				writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", authRequired, nil)
				return
			}
		} else if !res.Props.AnonymousPullEnabled {
			writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", authRequired, nil)
			return
		}
	case http.MethodPost:
		switch r.PostForm.Get("grant_type") {
		case "refresh_token":
			refresh = r.PostForm.Get("refresh_token")
		case "password":
			var ok bool
			if refresh, who.admin, ok = s.password(res, r.PostForm.Get("username"), r.PostForm.Get("password")); !ok {
				writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", authRequired, nil)
				return
			}
		default:
			writeErrors(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant_type %q is not supported: use refresh_token or password", r.PostForm.Get("grant_type")), nil)
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeErrors(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the endpoint answers GET and POST", nil)
		return
	}
	if refresh != "" {
		c, err := s.tokens.parse(refresh, "refresh_token", res.LoginServer)
		if err != nil {
			writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", authRequired, nil)
			return
		}
		who = caller{principal: c.Subject, tenant: c.Tenant, admin: c.Admin}
	}
	requested := parseScopes(r.Form["scope"])
	granted, err := s.grant(r, res, who, requested)
	if err != nil {
		s.cfg.Log.Error("registry token", "registry", res.ID, "err", err)
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "internal error", nil)
		return
	}
	if !who.admin && who.principal != "" && len(requested) > 0 && !grantsAny(granted) {
		// A principal with no role that allows any of it: ACR refuses
		// the token (a kubelet pulling from a registry not attached to
		// its cluster sees this 401).
		writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", authRequired, nil)
		return
	}
	tok, err := s.tokens.sign(&claims{Subject: who.principal, Audience: res.LoginServer, GrantType: "access_token",
		Tenant: who.tenant, Access: granted, Admin: who.admin}, accessLifetime)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "internal error", nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok})
}

func grantsAny(granted []access) bool {
	for _, g := range granted {
		if len(g.Actions) > 0 {
			return true
		}
	}
	return false
}

// exchange serves /oauth2/exchange: an Entra token (of a principal in the
// registry's tenant) for an ACR refresh token.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, res *resource) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeErrors(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the endpoint answers POST", nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "the request could not be parsed: "+err.Error(), nil)
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "access_token", "access_token_refresh_token":
	default:
		writeErrors(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant_type %q is not supported: use access_token", f.Get("grant_type")), nil)
		return
	}
	if svc := f.Get("service"); !strings.EqualFold(svc, res.LoginServer) {
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("service %q does not match the registry %s", svc, res.LoginServer), nil)
		return
	}
	c, err := s.cfg.Entra.Validate(f.Get("access_token"), s.cfg.Now())
	if err != nil || !entraAudience(c.Audience) {
		writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", "the access token is not valid: "+reason(err), nil)
		return
	}
	tenant := s.cfg.TenantOf(res.Subscription)
	if !strings.EqualFold(c.TenantID, tenant) || (f.Get("tenant") != "" && !strings.EqualFold(f.Get("tenant"), tenant)) {
		writeErrors(w, http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("the access token is from tenant %s; the registry is in tenant %s", c.TenantID, tenant), nil)
		return
	}
	tok, err := s.tokens.sign(&claims{Subject: c.ObjectID, Audience: res.LoginServer, GrantType: "refresh_token", Tenant: c.TenantID,
		Permissions: &permissions{Actions: []string{"*"}, NotActions: []string{}}}, refreshLifetime)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "internal error", nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"refresh_token": tok})
}

func reason(err error) string {
	if err == nil {
		return "wrong audience"
	}
	if errors.Is(err, entra.ErrExpired) {
		return "expired"
	}
	return "invalid token"
}

// entraAudience accepts tokens for ARM (azureADAuthenticationAsArmPolicy
// is enabled by default), for ACR's own audience, and for this instance's
// ARM endpoint.
func entraAudience(aud string) bool {
	if slices.Contains(arm.ARMAudiences, aud) || strings.TrimSuffix(aud, "/") == "https://containerregistry.azure.net" {
		return true
	}
	u, err := url.Parse(aud)
	if err != nil || u.Scheme != "https" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

// required is what a /v2 or /acr/v1 request needs of its token.
func required(r *http.Request) []access {
	p := r.URL.Path
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if rest, ok := strings.CutPrefix(p, "/acr/v1/"); ok {
		if rest == "_catalog" {
			return []access{{"registry", "catalog", []string{"*"}}}
		}
		repo := rest
		for _, seg := range []string{"/_tags", "/_manifests"} {
			if i := strings.Index(rest, seg); i >= 0 {
				repo = rest[:i]
				break
			}
		}
		act := "metadata_read"
		switch r.Method {
		case http.MethodDelete:
			act = "delete"
		case http.MethodPatch, http.MethodPut:
			act = "metadata_write"
		}
		return []access{{"repository", repo, []string{act}}}
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(p, "/v2"), "/")
	if rest == "" {
		return nil
	}
	if rest == "_catalog" {
		return []access{{"registry", "catalog", []string{"*"}}}
	}
	repo := ""
	for _, seg := range []string{"/manifests/", "/blobs/", "/tags/list", "/referrers/"} {
		if i := strings.LastIndex(rest, seg); i > 0 {
			repo = rest[:i]
			break
		}
	}
	if repo == "" {
		return nil
	}
	switch {
	case r.Method == http.MethodDelete:
		return []access{{"repository", repo, []string{"delete"}}}
	case write:
		// A mount's source repository is checked when the mount is
		// tried (ServeHTTP): without pull there, the upload starts
		// without mounting, as the protocol allows.
		return []access{{"repository", repo, []string{"pull", "push"}}}
	default:
		return []access{{"repository", repo, []string{"pull"}}}
	}
}
