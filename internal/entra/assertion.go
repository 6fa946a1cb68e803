package entra

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// jwtBearer is the client_assertion_type of JWT client assertions.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Assertion is what a federated credential is matched against: the
// issuer, subject and audiences of the presented token.
type Assertion struct {
	Issuer    string
	Subject   string
	Audiences []string
}

// assertionSignIn checks a client assertion as Entra checks a federated
// identity credential sign-in (workload identity): the client must be an
// identity that trusts the assertion's issuer and subject for one of its
// audiences, and the token must be signed by the issuer's key and be
// within its lifetime. It returns the identity's object ID.
func (s *Server) assertionSignIn(w http.ResponseWriter, r *http.Request, clientID, assertion string) (string, bool) {
	if t := r.PostForm.Get("client_assertion_type"); t != jwtBearer {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 700025,
			fmt.Sprintf("Client assertion type '%s' is not supported; use '%s'.", t, jwtBearer))
		return "", false
	}
	var claims jwt.RegisteredClaims
	tok, _, err := jwt.NewParser().ParseUnverified(assertion, &claims)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed: "+err.Error())
		return "", false
	}
	a := Assertion{Issuer: claims.Issuer, Subject: claims.Subject, Audiences: claims.Audience}
	var oid string
	known, trusted := false, false
	if s.cfg.FederatedIdentity != nil {
		oid, known, trusted = s.cfg.FederatedIdentity(r.Context(), clientID, a)
	}
	if !known {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory. Federated credentials sign in as user-assigned managed identities (clientId).", clientID))
		return "", false
	}
	if !trusted {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 70021,
			fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.",
				a.Issuer, a.Subject, strings.Join(a.Audiences, ",")))
		return "", false
	}
	var keys map[string]*rsa.PublicKey
	found := false
	if s.cfg.IssuerKeys != nil {
		keys, found = s.cfg.IssuerKeys(r.Context(), a.Issuer)
	}
	if !found {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", 50166,
			fmt.Sprintf("Request to External OIDC endpoint failed: localaks verifies assertions from its own clusters' OIDC issuers only, and '%s' is not one.", a.Issuer))
		return "", false
	}
	kid, _ := tok.Header["kid"].(string)
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(s.cfg.Now)).
		ParseWithClaims(assertion, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) {
			if k := keys[kid]; k != nil {
				return k, nil
			}
			return nil, fmt.Errorf("no key %q", kid)
		})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", 700024, "Client assertion is not within its valid time range.")
		return "", false
	case err != nil:
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: "+err.Error())
		return "", false
	}
	return oid, true
}
