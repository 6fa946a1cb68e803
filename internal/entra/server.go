package entra

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/resourceid"
)

// Directory tells the token service which tenants exist.
type Directory interface {
	// Tenant resolves the tenant segment of an authority URL — a tenant ID,
	// a verified domain, "common" or "organizations" — to a tenant ID.
	Tenant(ctx context.Context, name string) (tenantID string, ok bool)
}

// Principals is the directory of applications and service principals.
type Principals interface {
	// SignIn checks a client ID and secret and returns the service
	// principal's object ID, or one of ErrUnknownClient,
	// ErrNoServicePrincipal, ErrBadSecret, ErrSecretExpired (with the
	// object ID of the principal the last two are about).
	SignIn(ctx context.Context, tenantID, clientID, secret string) (objectID string, err error)
	// Register records a client that signed in unchecked (open mode).
	Register(ctx context.Context, tenantID, clientID, objectID string) error
	// Groups is every group the object belongs to (transitively).
	Groups(ctx context.Context, tenantID, objectID string) ([]string, error)
}

// Sign-in failures a Principals reports.
var (
	ErrUnknownClient      = errors.New("no application with this client ID")
	ErrNoServicePrincipal = errors.New("the application has no service principal in the tenant")
	ErrBadSecret          = errors.New("invalid client secret")
	ErrSecretExpired      = errors.New("client secret expired")
)

// PublicAuthorityHost is Entra's authority in Azure's public cloud. serve's
// certificate names it and its HTTPS_PROXY tunnel answers it with this
// token service (nothing is ever sent to it).
const PublicAuthorityHost = "login.microsoftonline.com"

// AKSServerAppID is the application ID of the Azure Kubernetes Service
// AAD Server: the audience of tokens for Entra-integrated clusters' API
// servers, whose application asks for the groups claim.
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// Config configures a Server.
type Config struct {
	Signer    *Signer
	Directory Directory
	// Principals is the directory that signs applications in with their
	// client secrets.
	Principals Principals
	// Users signs users in with their passwords (nil: no user grants).
	Users Users
	// Open accepts any client ID and secret: a client the directory does
	// not know is registered as a service principal the first time.
	Open bool
	// Identities looks up the credentials localaks holds for managed
	// identities (a cluster's control plane signs in as its identity): the
	// secret and the identity's object ID (principalId). They get tokens
	// whatever the directory says.
	Identities func(ctx context.Context, clientID string) (secret, objectID string, ok bool)
	// FederatedIdentity looks up a user-assigned identity by client ID
	// (known) and whether one of its federated credentials trusts the
	// assertion (trusted); objectID is its principalId.
	FederatedIdentity func(ctx context.Context, clientID string, a Assertion) (objectID string, known, trusted bool)
	// IssuerKeys returns the signing keys, by key ID, of an OIDC issuer
	// localaks hosts (a cluster's); ok is false for any other issuer.
	IssuerKeys func(ctx context.Context, issuer string) (keys map[string]*rsa.PublicKey, ok bool)
	// IssuerBase is the base of tokens' issuer, {IssuerBase}/{tenant}/,
	// whatever host name a client used (Entra's v1 issuer does not depend
	// on the host either); empty, the request's.
	IssuerBase string
	// TokenLifetime is the access-token lifetime (default one hour; MSAL
	// re-requests tokens with less than five minutes left).
	TokenLifetime time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
}

// Server serves the Entra endpoints.
type Server struct {
	cfg Config
}

// NewServer returns a Server for cfg.
func NewServer(cfg Config) *Server {
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}
}

// ADFSTenant is the authority path az CLI uses when its AD endpoint ends in
// /adfs: MSAL then skips instance discovery, which would otherwise call the
// public cloud.
const ADFSTenant = "adfs"

// ServeHTTP routes the Entra paths:
//
//	/{tenant}/v2.0/.well-known/openid-configuration   /{tenant}/.well-known/openid-configuration
//	/{tenant}/oauth2/v2.0/token                       /{tenant}/oauth2/token
//	/{tenant}/discovery/v2.0/keys                     /{tenant}/discovery/keys
//	/common/discovery/instance
//
// where {tenant} is also "adfs" for the ADFS-style authority.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := resourceid.Split(r.URL.Path)
	lower := make([]string, len(segs))
	for i, seg := range segs {
		lower[i] = strings.ToLower(seg)
	}
	if len(segs) < 2 {
		writeOAuthError(w, http.StatusNotFound, "invalid_request", 90002, "The requested endpoint does not exist.")
		return
	}
	tenantSeg, rest := segs[0], strings.Join(lower[1:], "/")
	switch rest {
	case "v2.0/.well-known/openid-configuration", ".well-known/openid-configuration":
		s.openIDConfiguration(w, r, tenantSeg, rest == ".well-known/openid-configuration")
	case "oauth2/v2.0/token", "oauth2/token":
		if r.Method != http.MethodPost {
			writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
			return
		}
		// The v1 endpoint answers numbers as strings; ADFS's oauth2/token
		// answers them as numbers, as MSAL expects.
		s.token(w, r, tenantSeg, rest == "oauth2/token" && !strings.EqualFold(tenantSeg, ADFSTenant))
	case "discovery/v2.0/keys", "discovery/keys":
		writeJSON(w, http.StatusOK, s.cfg.Signer.JWKS())
	case "discovery/instance":
		s.instanceDiscovery(w, r)
	case "userrealm/" + strings.Join(lower[2:], "/"):
		if len(segs) != 3 {
			writeOAuthError(w, http.StatusNotFound, "invalid_request", 90002, "The requested endpoint does not exist.")
			return
		}
		s.userRealm(w, r, segs[2])
	case "oauth2/v2.0/authorize", "oauth2/authorize", "oauth2/v2.0/devicecode", "oauth2/devicecode":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			"localaks signs in service principals (client credentials) and users with their passwords; interactive and device-code sign-in are not available.")
	default:
		writeOAuthError(w, http.StatusNotFound, "invalid_request", 90002, "The requested endpoint does not exist.")
	}
}

func baseURL(r *http.Request) string {
	return "https://" + r.Host
}

// resolveTenant maps an authority tenant segment to a tenant ID, or writes
// Entra's "tenant not found" error.
func (s *Server) resolveTenant(w http.ResponseWriter, r *http.Request, seg string) (string, bool) {
	name := seg
	if strings.EqualFold(seg, ADFSTenant) {
		name = "organizations"
	}
	tid, ok := s.cfg.Directory.Tenant(r.Context(), name)
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg))
		return "", false
	}
	return tid, true
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request, tenantSeg string, v1 bool) {
	base := baseURL(r)
	var doc map[string]any
	if strings.EqualFold(tenantSeg, ADFSTenant) {
		// The ADFS document: MSAL Python requires the issuer to be
		// {host}/adfs for tenant resolution (az login --tenant adfs).
		doc = map[string]any{
			"issuer":                                base + "/adfs",
			"authorization_endpoint":                base + "/adfs/oauth2/authorize",
			"token_endpoint":                        base + "/adfs/oauth2/token",
			"device_authorization_endpoint":         base + "/adfs/oauth2/devicecode",
			"jwks_uri":                              base + "/adfs/discovery/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"grant_types_supported":                 []string{"client_credentials"},
		}
		writeJSON(w, http.StatusOK, doc)
		return
	}
	// For common/organizations Entra publishes the literal "{tenantid}".
	tenant := tenantSeg
	if !strings.EqualFold(tenantSeg, "common") && !strings.EqualFold(tenantSeg, "organizations") {
		tid, ok := s.resolveTenant(w, r, tenantSeg)
		if !ok {
			return
		}
		tenant = tid
	} else {
		tenant = "{tenantid}"
	}
	prefix := base + "/" + tenantSeg
	if v1 {
		doc = map[string]any{
			"issuer":                        base + "/" + tenant + "/",
			"authorization_endpoint":        prefix + "/oauth2/authorize",
			"token_endpoint":                prefix + "/oauth2/token",
			"device_authorization_endpoint": prefix + "/oauth2/devicecode",
			"jwks_uri":                      base + "/common/discovery/keys",
		}
	} else {
		doc = map[string]any{
			"issuer":                        base + "/" + tenant + "/v2.0",
			"authorization_endpoint":        prefix + "/oauth2/v2.0/authorize",
			"token_endpoint":                prefix + "/oauth2/v2.0/token",
			"device_authorization_endpoint": prefix + "/oauth2/v2.0/devicecode",
			"jwks_uri":                      prefix + "/discovery/v2.0/keys",
		}
	}
	for k, v := range map[string]any{
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   r.Host,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "ver"},
	} {
		doc[k] = v
	}
	writeJSON(w, http.StatusOK, doc)
}

// instanceDiscovery answers MSAL's instance-discovery call for clients that
// point their authority host at localaks and leave discovery on.
func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := "common"
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if segs := resourceid.Split(strings.TrimPrefix(strings.TrimPrefix(ae, "https://"), "http://")); len(segs) > 1 {
			tenant = segs[1]
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": r.Host,
			"preferred_cache":   r.Host,
			"aliases":           []string{r.Host},
		}},
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, tenantSeg string, v1 bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be form-encoded: "+err.Error())
		return
	}
	form := r.PostForm
	grant := form.Get("grant_type")
	if u, p, ok := r.BasicAuth(); ok {
		// client_secret_basic: the client's credentials in the header.
		form.Set("client_id", u)
		form.Set("client_secret", p)
	}
	switch grant {
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	case "client_credentials":
	case "password":
		if s.cfg.Users != nil {
			s.passwordGrant(w, r, tenantSeg, v1)
			return
		}
		fallthrough
	case "refresh_token":
		if s.cfg.Users != nil {
			s.refreshGrant(w, r, tenantSeg, v1)
			return
		}
		fallthrough
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'. localaks issues tokens for client credentials, passwords (users) and refresh tokens.", grant))
		return
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if clientID == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	assertion := form.Get("client_assertion")
	if secret == "" && assertion == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	tenantID, ok := s.resolveTenant(w, r, tenantSeg)
	if !ok {
		return
	}
	oid := ServicePrincipalObjectID(tenantID, clientID)
	identity := false
	if secret == "" {
		if oid, ok = s.assertionSignIn(w, r, clientID, assertion); !ok {
			return
		}
		identity = true
	} else if s.cfg.Identities != nil {
		if want, objectID, ok := s.cfg.Identities(r.Context(), clientID); ok {
			if subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
				writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000215,
					fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
				return
			}
			oid, identity = objectID, true
		}
	}
	if !identity && s.cfg.Principals != nil {
		if oid, ok = s.signIn(w, r, tenantID, clientID, secret); !ok {
			return
		}
	}
	audience, ok := requestedAudience(w, form, v1)
	if !ok {
		return
	}
	claims := s.accessClaims(r, tenantID, audience, clientID, oid)
	claims.AppIDACR, claims.IDType = "1", "app"
	if s.addGroups(w, r, claims) {
		s.issue(w, claims, v1, nil)
	}
}

// accessClaims are what every access token carries: the tenant's issuer,
// the audience, an hour's validity from now, the client and the principal.
func (s *Server) accessClaims(r *http.Request, tenantID, audience, clientID, oid string) *Claims {
	now := s.cfg.Now().UTC()
	iss := s.issuerBase(r) + "/" + tenantID + "/"
	return &Claims{Audience: audience, Issuer: iss, IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(s.cfg.TokenLifetime).Unix(),
		AppID: clientID, IDP: iss, ObjectID: oid, Subject: oid, TenantID: tenantID, UTI: randomID(), Version: "1.0"}
}

// issuerBase is the base of tokens' issuers.
func (s *Server) issuerBase(r *http.Request) string {
	if s.cfg.IssuerBase != "" {
		return s.cfg.IssuerBase
	}
	return baseURL(r)
}

// addGroups puts in the token the app roles the audience's application
// gives the principal ("roles"), and its groups in tokens for the AKS
// server application (Entra-integrated clusters map them); it reports
// false after writing an error.
func (s *Server) addGroups(w http.ResponseWriter, r *http.Request, claims *Claims) bool {
	if ar, ok := s.cfg.Principals.(AppRoles); ok && s.cfg.Principals != nil {
		roles, err := ar.Roles(r.Context(), claims.TenantID, claims.ObjectID, claims.Audience)
		if err != nil {
			s.cfg.Logger.Error("roles claim", "err", err)
			writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The directory could not be read.")
			return false
		}
		claims.Roles = roles
	}
	if !strings.EqualFold(strings.TrimPrefix(strings.TrimSuffix(claims.Audience, "/"), "api://"), AKSServerAppID) || s.cfg.Principals == nil {
		return true
	}
	groups, err := s.cfg.Principals.Groups(r.Context(), claims.TenantID, claims.ObjectID)
	if err != nil {
		s.cfg.Logger.Error("group claims", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The directory could not be read.")
		return false
	}
	claims.Groups = groups
	return true
}

// issue signs the access token and writes the token response (v1 numbers
// as strings, with the resource), plus extra fields.
func (s *Server) issue(w http.ResponseWriter, claims *Claims, v1 bool, extra map[string]any) {
	tok, err := s.cfg.Signer.Sign(claims)
	if err != nil {
		s.cfg.Logger.Error("sign token", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The token could not be signed.")
		return
	}
	lifetime := int(s.cfg.TokenLifetime / time.Second)
	resp := map[string]any{
		"token_type":     "Bearer",
		"expires_in":     lifetime,
		"ext_expires_in": lifetime,
		"access_token":   tok,
	}
	if v1 {
		resp["expires_in"] = strconv.Itoa(lifetime)
		resp["ext_expires_in"] = strconv.Itoa(lifetime)
		resp["expires_on"] = strconv.FormatInt(claims.Expiry, 10)
		resp["not_before"] = strconv.FormatInt(claims.NotBefore, 10)
		resp["resource"] = claims.Audience
	}
	for k, v := range extra {
		resp[k] = v
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// signIn checks a client secret against the directory (or, open, takes any
// and registers the client), writing Entra's error when it fails.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, tenantID, clientID, secret string) (string, bool) {
	oid, err := s.cfg.Principals.SignIn(r.Context(), tenantID, clientID, secret)
	if s.cfg.Open && err != nil && oid != "" {
		// Open: any secret signs a known principal in.
		return oid, true
	}
	if s.cfg.Open && (errors.Is(err, ErrUnknownClient) || errors.Is(err, ErrNoServicePrincipal)) {
		oid = ServicePrincipalObjectID(tenantID, clientID)
		if err := s.cfg.Principals.Register(r.Context(), tenantID, clientID, oid); err != nil {
			s.cfg.Logger.Error("register client", "client", clientID, "err", err)
			writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The directory could not be written.")
			return "", false
		}
		return oid, true
	}
	switch {
	case err == nil:
		return oid, true
	case errors.Is(err, ErrUnknownClient):
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenantID))
	case errors.Is(err, ErrNoServicePrincipal):
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000229,
			fmt.Sprintf("The client application %s is missing service principal in the tenant %s. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119", clientID, tenantID))
	case errors.Is(err, ErrSecretExpired):
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000222,
			fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID))
	case errors.Is(err, ErrBadSecret):
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
	default:
		s.cfg.Logger.Error("sign in", "client", clientID, "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The directory could not be read.")
	}
	return "", false
}

// requestedAudience derives the token audience from a v2 scope
// ("https://management.core.windows.net//.default" → the resource before
// "/.default") or a v1 resource parameter.
func requestedAudience(w http.ResponseWriter, form map[string][]string, v1 bool) (string, bool) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if scope := get("scope"); scope != "" {
		for _, sc := range strings.Fields(scope) {
			if res, ok := strings.CutSuffix(sc, "/.default"); ok && res != "" {
				return res, true
			}
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return "", false
	}
	if res := get("resource"); res != "" {
		return res, true
	}
	if v1 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'.")
	} else {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	return "", false
}

// spNamespace seeds the deterministic object IDs of service principals.
var spNamespace = uuid.MustParse("6f1c3c2e-7d1a-4b0e-9a54-6c0b8a3e51d2")

// ServicePrincipalObjectID is the object ID of the service principal for
// clientID in tenantID. It is stable, so role assignments made to it keep
// applying across logins and restarts.
func ServicePrincipalObjectID(tenantID, clientID string) string {
	return uuid.NewSHA1(spNamespace, []byte(strings.ToLower(tenantID)+"/"+strings.ToLower(clientID))).String()
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writeOAuthError writes an error in Entra's token-endpoint shape.
func writeOAuthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	trace, corr := uuid.NewString(), uuid.NewString()
	writeJSON(w, status, map[string]any{
		"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			aadsts, desc, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":    []int{aadsts},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       trace,
		"correlation_id": corr,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}
