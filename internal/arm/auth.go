package arm

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/localaks/localaks/internal/entra"
)

// netTime is how ARM prints times in authentication errors (.NET's
// invariant culture: 6/15/2026 8:22:51 AM).
const netTime = "1/2/2006 3:04:05 PM"

// authenticate checks the bearer token of an ARM request as ARM does:
// present, well-formed, signed by this instance's Entra, in its validity
// period, for the ARM audience, from a known tenant.
func (s *Server) authenticate(r *http.Request, base string) (Caller, *Error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return Caller{}, authErr(base, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Caller{}, authErr(base, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
	}
	now := s.cfg.Now().UTC()
	claims, err := s.cfg.Signer.Validate(strings.TrimSpace(token), now)
	switch {
	case errors.Is(err, entra.ErrExpired):
		return Caller{}, authErr(base, "ExpiredAuthenticationToken",
			"The access token expiry UTC time '"+claims.ExpiresAt().Format(netTime)+"' is earlier than current UTC time '"+now.Format(netTime)+"'.")
	case errors.Is(err, entra.ErrNotYetValid):
		return Caller{}, authErr(base, "InvalidAuthenticationToken", "The access token is not yet valid.")
	case err != nil:
		return Caller{}, authErr(base, "InvalidAuthenticationToken", "The access token is invalid.")
	}
	if !audienceAllowed(claims.Audience, r.Host) {
		return Caller{}, authErr(base, "InvalidAuthenticationTokenAudience",
			"The access token has been obtained for wrong audience or resource '"+claims.Audience+"'. It should exactly match with one of the allowed audiences '"+
				strings.Join(ARMAudiences, "','")+"'.")
	}
	if _, ok := s.cfg.Directory.Tenant(r.Context(), claims.TenantID); !ok || claims.TenantID == "" {
		return Caller{}, authErr(base, "InvalidAuthenticationTokenTenant",
			"The access token is from the wrong issuer '"+claims.Issuer+"'. It must match a tenant of this localaks instance.")
	}
	if !IssuerOf(claims.Issuer, claims.TenantID) {
		return Caller{}, authErr(base, "InvalidAuthenticationTokenTenant",
			"The access token is from the wrong issuer '"+claims.Issuer+"'. It must match the tenant '"+base+"/"+claims.TenantID+"/' of the token.")
	}
	c := Caller{TenantID: claims.TenantID, ObjectID: claims.ObjectID, AppID: claims.AppID}
	if claims.IDType == "user" {
		c.UserPrincipalName = claims.UPN
	}
	return c, nil
}

// IssuerOf tells whether iss is an Entra issuer of tenant: an https URL
// whose path is /{tenant}/ (v1 tokens) or /{tenant}/v2.0 (v2) — whatever
// host name the client used to reach localaks's Entra.
func IssuerOf(iss, tenant string) bool {
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.Host == "" || tenant == "" {
		return false
	}
	p := strings.ToLower(u.Path)
	t := "/" + strings.ToLower(tenant)
	return p == t+"/" || p == t+"/v2.0" || p == t
}

// audienceAllowed accepts ARM's audiences and this endpoint's own URL (the
// audience a client configured with localaks's URL asks for).
func audienceAllowed(aud, host string) bool {
	if slices.Contains(ARMAudiences, aud) {
		return true
	}
	u, err := url.Parse(aud)
	return err == nil && u.Scheme == "https" && strings.EqualFold(u.Host, host) && (u.Path == "" || u.Path == "/")
}

func authErr(base, code, msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: code, Message: msg, Cause: errors.New("authentication: " + code),
		challenge: `Bearer authorization_uri="` + base + `/", error="invalid_token", error_description="` +
			strings.ReplaceAll(msg, `"`, `'`) + `"`}
}

// wrongTenant is the 401 for a token from another tenant than the
// subscription's.
func wrongTenant(c Caller, subscriptionTenant, base string) *Error {
	return authErr(base, "InvalidAuthenticationTokenTenant",
		"The access token is from the wrong issuer '"+base+"/"+c.TenantID+"/'. It must match the tenant '"+base+"/"+subscriptionTenant+
			"/' associated with this subscription. Please use the authority (URL) '"+base+"/"+subscriptionTenant+"' to get the token.")
}
