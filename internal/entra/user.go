package entra

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Users is the directory's users, for the grants that sign users in: the
// resource owner password grant (az login -u/-p, kubelogin -l ropc) and
// the refresh-token grant MSAL uses to get tokens for other resources and
// tenants silently.
type Users interface {
	// SignInUser checks a user principal name and password in a tenant:
	// ErrUnknownUser, ErrBadPassword or ErrUserDisabled otherwise.
	SignInUser(ctx context.Context, tenantID, userPrincipalName, password string) (User, error)
	// User looks a user up by object ID (ErrUnknownUser).
	User(ctx context.Context, tenantID, objectID string) (User, error)
	// PublicClient tells whether the directory has an application with
	// this client ID (known) and whether it is a public client
	// (isFallbackPublicClient): one that may sign users in without a
	// secret.
	PublicClient(ctx context.Context, tenantID, clientID string) (known, public bool, err error)
}

// AppRoles tells the app roles an application gives a principal: the
// values of the "roles" claim of tokens for that application.
type AppRoles interface {
	// Roles are the values of the app roles that the application
	// addressed by audience gives the principal (directly or through its
	// groups); none when the audience is no application of the tenant.
	Roles(ctx context.Context, tenantID, objectID, audience string) ([]string, error)
}

// User is a user as the token service sees it.
type User struct {
	ObjectID, UserPrincipalName, DisplayName string
	Enabled                                  bool
	// Stamp changes when the password does: refresh tokens issued
	// before then are refused.
	Stamp string
}

// User sign-in failures a Users reports.
var (
	ErrUnknownUser  = errors.New("no such user")
	ErrBadPassword  = errors.New("invalid password")
	ErrUserDisabled = errors.New("the user account is disabled")
)

// FirstPartyPublicClients are Microsoft's public client applications that
// exist in every tenant and sign users in without a secret: the Azure CLI,
// Azure PowerShell and the AKS AAD client that kubelogin uses for
// Entra-integrated clusters (AKSClientAppID).
var FirstPartyPublicClients = map[string]string{
	"04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
	"1950a258-227b-4e31-a9cf-717495945fc2": "Microsoft Azure PowerShell",
	AKSClientAppID:                         "Azure Kubernetes Service AAD Client",
}

// AKSClientAppID is the client ID AKS's exec kubeconfig names (kubelogin's
// default for Entra-integrated clusters).
const AKSClientAppID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

// refreshTokenLifetime is how long a refresh token stays valid unused
// (Entra's inactivity window).
const refreshTokenLifetime = 90 * 24 * time.Hour

// refreshToken is what a refresh token carries. It is opaque to clients
// (as Entra's are): "1." + payload + "." + an HMAC under a key derived
// from the signing key, so only this instance redeems it.
type refreshToken struct {
	ObjectID string `json:"oid"`
	TenantID string `json:"tid"`
	ClientID string `json:"cid"`
	Stamp    string `json:"stp"`
	Expiry   int64  `json:"exp"`
}

func (s *Signer) refreshMAC(payload string) []byte {
	key := sha256.Sum256(append([]byte("localaks refresh token\x00"), s.key.D.Bytes()...))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(payload))
	return m.Sum(nil)
}

func (s *Signer) sealRefresh(rt refreshToken) string {
	data, _ := json.Marshal(rt)
	payload := base64.RawURLEncoding.EncodeToString(data)
	return "1." + payload + "." + base64.RawURLEncoding.EncodeToString(s.refreshMAC(payload))
}

// openRefresh checks a refresh token's MAC and returns what it carries
// (not its expiry: the caller does).
func (s *Signer) openRefresh(tok string) (refreshToken, bool) {
	var rt refreshToken
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != "1" {
		return rt, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || subtle.ConstantTimeCompare(mac, s.refreshMAC(parts[1])) != 1 {
		return rt, false
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(data, &rt) != nil || rt.ObjectID == "" || rt.TenantID == "" {
		return rt, false
	}
	return rt, true
}

// userTenant is the tenant a user signs in to: the authority's, or for
// the tenant-less authorities (common, organizations, ADFS-style) the one
// whose verified domain the user principal name is in.
func (s *Server) userTenant(w http.ResponseWriter, r *http.Request, tenantSeg, upn string) (string, bool) {
	switch strings.ToLower(tenantSeg) {
	case "common", "organizations", ADFSTenant:
		if _, domain, ok := strings.Cut(upn, "@"); ok {
			if tid, ok := s.cfg.Directory.Tenant(r.Context(), domain); ok {
				return tid, true
			}
		}
	}
	return s.resolveTenant(w, r, tenantSeg)
}

// userClient checks the client of a user grant: a first-party public
// client, a directory application that is a public client, or one that
// proves itself with its secret.
func (s *Server) userClient(w http.ResponseWriter, r *http.Request, tenantID, clientID, secret string) bool {
	if _, ok := FirstPartyPublicClients[strings.ToLower(clientID)]; ok && secret == "" {
		return true
	}
	if secret != "" {
		if s.cfg.Principals == nil {
			return true
		}
		_, ok := s.signIn(w, r, tenantID, clientID, secret)
		return ok
	}
	known, public, err := s.cfg.Users.PublicClient(r.Context(), tenantID, clientID)
	switch {
	case err != nil:
		s.cfg.Logger.Error("client lookup", "client", clientID, "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The directory could not be read.")
		return false
	case !known && !s.cfg.Open:
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenantID))
		return false
	case known && !public && !s.cfg.Open:
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return false
	}
	return true
}

// passwordGrant signs a user in with a user principal name and password
// (OAuth's resource owner password credentials grant).
func (s *Server) passwordGrant(w http.ResponseWriter, r *http.Request, tenantSeg string, v1 bool) {
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	username, password := form.Get("username"), form.Get("password")
	for _, p := range [][2]string{{"client_id", clientID}, {"username", username}, {"password", password}} {
		if p[1] == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144,
				fmt.Sprintf("The request body must contain the following parameter: '%s'.", p[0]))
			return
		}
	}
	tenantID, ok := s.userTenant(w, r, tenantSeg, username)
	if !ok || !s.userClient(w, r, tenantID, clientID, secret) {
		return
	}
	u, err := s.cfg.Users.SignInUser(r.Context(), tenantID, username, password)
	if s.cfg.Open && errors.Is(err, ErrBadPassword) {
		err = nil // open: any password signs a known user in
	}
	if !s.userErr(w, tenantID, err) {
		return
	}
	s.issueUser(w, r, tenantID, clientID, u, v1)
}

// refreshGrant redeems a refresh token for tokens (for any resource, in
// the user's tenant), as long as the user still exists, is enabled and
// has not changed password since.
func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, tenantSeg string, v1 bool) {
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	for _, p := range [][2]string{{"client_id", clientID}, {"refresh_token", form.Get("refresh_token")}} {
		if p[1] == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", 900144,
				fmt.Sprintf("The request body must contain the following parameter: '%s'.", p[0]))
			return
		}
	}
	rt, ok := s.cfg.Signer.openRefresh(form.Get("refresh_token"))
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	}
	if s.cfg.Now().After(time.Unix(rt.Expiry, 0)) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 700082,
			"The refresh token has expired due to inactivity. The token was issued on a date and was inactive for 90.00:00:00.")
		return
	}
	_, rtFirstParty := FirstPartyPublicClients[strings.ToLower(rt.ClientID)]
	_, firstParty := FirstPartyPublicClients[strings.ToLower(clientID)]
	if !strings.EqualFold(rt.ClientID, clientID) && !(rtFirstParty && firstParty) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 70000,
			"Provided grant is invalid or malformed. The refresh token was issued to a different client.")
		return
	}
	tenantID := rt.TenantID
	switch strings.ToLower(tenantSeg) {
	case "common", "organizations", ADFSTenant:
	default:
		tid, ok := s.resolveTenant(w, r, tenantSeg)
		if !ok {
			return
		}
		if !strings.EqualFold(tid, rt.TenantID) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 50020,
				fmt.Sprintf("User account from identity provider '%s/%s/' does not exist in tenant '%s' and cannot access the application '%s' in that tenant. The account needs to be added as an external user in the tenant first.",
					s.issuerBase(r), rt.TenantID, tid, clientID))
			return
		}
	}
	if !s.userClient(w, r, tenantID, clientID, secret) {
		return
	}
	u, err := s.cfg.Users.User(r.Context(), tenantID, rt.ObjectID)
	if err == nil && !u.Enabled {
		err = ErrUserDisabled
	}
	if !s.userErr(w, tenantID, err) {
		return
	}
	if u.Stamp != rt.Stamp {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 50173,
			"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		return
	}
	s.issueUser(w, r, tenantID, clientID, u, v1)
}

// userErr writes Entra's answer to a failed user sign-in; it reports
// whether there was none.
func (s *Server) userErr(w http.ResponseWriter, tenantID string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrUnknownUser):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 50034,
			fmt.Sprintf("The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", tenantID))
	case errors.Is(err, ErrBadPassword):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
	case errors.Is(err, ErrUserDisabled):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", 50057,
			"The user account is disabled. The account has been disabled by an administrator.")
	default:
		s.cfg.Logger.Error("user sign-in", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The directory could not be read.")
	}
	return false
}

// issueUser answers a user grant: an access token for the requested
// resource (delegated, idtyp user), an ID token for the client, a refresh
// token and the client_info MSAL builds its account from.
func (s *Server) issueUser(w http.ResponseWriter, r *http.Request, tenantID, clientID string, u User, v1 bool) {
	form := r.PostForm
	audience, ok := requestedAudience(w, form, v1)
	if !ok {
		return
	}
	claims := s.accessClaims(r, tenantID, audience, clientID, u.ObjectID)
	claims.AppIDACR, claims.IDType, claims.Scope, claims.AMR = "0", "user", "user_impersonation", []string{"pwd"}
	claims.UPN, claims.UniqueName, claims.Name = u.UserPrincipalName, u.UserPrincipalName, u.DisplayName
	now := s.cfg.Now().UTC()

	if !s.addGroups(w, r, claims) {
		return
	}
	idIssuer, idVersion := claims.Issuer, "1.0"
	if !v1 {
		idIssuer, idVersion = s.issuerBase(r)+"/"+tenantID+"/v2.0", "2.0"
	}
	id := &Claims{
		Audience: clientID, Issuer: idIssuer, IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(s.cfg.TokenLifetime).Unix(),
		ObjectID: u.ObjectID, Subject: u.ObjectID, TenantID: tenantID, Version: idVersion, Name: u.DisplayName,
		PreferredUsername: u.UserPrincipalName, UPN: u.UserPrincipalName, UniqueName: u.UserPrincipalName, AMR: []string{"pwd"},
	}
	idToken, err := s.cfg.Signer.Sign(id)
	if err != nil {
		s.cfg.Logger.Error("sign token", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "The token could not be signed.")
		return
	}
	info, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": tenantID})
	// The granted scope: the resource's delegated permission, and (v2)
	// the scopes asked for, as Entra echoes them (MSAL takes any it does
	// not find as declined).
	scope := "user_impersonation"
	if !v1 {
		scope = strings.Join(append([]string{strings.TrimSuffix(audience, "/") + "/user_impersonation"}, strings.Fields(form.Get("scope"))...), " ")
	}
	extra := map[string]any{
		"id_token":      idToken,
		"refresh_token": s.cfg.Signer.sealRefresh(refreshToken{ObjectID: u.ObjectID, TenantID: tenantID, ClientID: clientID, Stamp: u.Stamp, Expiry: now.Add(refreshTokenLifetime).Unix()}),
		"client_info":   base64.RawURLEncoding.EncodeToString(info),
		"scope":         scope,
	}
	s.issue(w, claims, v1, extra)
}

// userRealm answers the home-realm discovery MSAL does before a password
// grant: a user of one of the tenants' domains is "Managed" (its password
// goes to the token endpoint); anyone else is "Unknown".
func (s *Server) userRealm(w http.ResponseWriter, r *http.Request, username string) {
	doc := map[string]any{"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "microsoftonline.com",
		"cloud_audience_urn": "urn:federation:MicrosoftOnline"}
	if _, domain, ok := strings.Cut(username, "@"); ok {
		if _, known := s.cfg.Directory.Tenant(r.Context(), domain); known {
			doc["account_type"], doc["domain_name"] = "Managed", strings.ToLower(domain)
		}
	}
	writeJSON(w, http.StatusOK, doc)
}
