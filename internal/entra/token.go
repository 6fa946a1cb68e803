// Package entra emulates the parts of Microsoft Entra ID (Azure AD) that
// ARM clients need: OpenID Connect discovery, the OAuth 2.0 token endpoint for
// service principals (client credentials) in its v1, v2 and ADFS forms, JWKS,
// and validation of the RS256 access tokens it issues.
package entra

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of an access token, named as Entra names them. Aud
// is a single string, as in Entra v1 access tokens.
type Claims struct {
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
	AppID     string `json:"appid,omitempty"`
	AppIDACR  string `json:"appidacr,omitempty"`
	IDP       string `json:"idp,omitempty"`
	IDType    string `json:"idtyp,omitempty"`
	ObjectID  string `json:"oid"`
	Subject   string `json:"sub"`
	TenantID  string `json:"tid"`
	UTI       string `json:"uti,omitempty"`
	Version   string `json:"ver"`
	// Groups are the principal's group object IDs, in tokens for
	// applications that ask for them (AKSServerAppID).
	Groups []string `json:"groups,omitempty"`
	// Roles are the app roles the audience's application gives the
	// principal.
	Roles []string `json:"roles,omitempty"`

	// Users' tokens (delegated: idtyp "user") name the user and the
	// delegated scope; ID tokens carry preferred_username too.
	UPN               string   `json:"upn,omitempty"`
	UniqueName        string   `json:"unique_name,omitempty"`
	Name              string   `json:"name,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Scope             string   `json:"scp,omitempty"`
	AMR               []string `json:"amr,omitempty"`
}

// The jwt.Claims interface; validation of times is done by Validate so that
// its errors can carry the times ARM reports.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return numeric(c.Expiry), nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return numeric(c.IssuedAt), nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return numeric(c.NotBefore), nil }
func (c *Claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *Claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Audience}, nil }

func numeric(v int64) *jwt.NumericDate {
	if v == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(v, 0))
}

// ExpiresAt is the expiry as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0).UTC() }

// Token validation failures. Validate wraps one of these.
var (
	ErrMalformed   = errors.New("token is malformed")
	ErrSignature   = errors.New("token signature is invalid")
	ErrExpired     = errors.New("token has expired")
	ErrNotYetValid = errors.New("token is not valid yet")
)

// clockSkew is how far token times may be off, as Entra-protected services
// allow.
const clockSkew = 5 * time.Minute

// Signer signs and checks tokens with one RSA key.
type Signer struct {
	key *rsa.PrivateKey
	kid string
}

// NewSigner wraps an RSA private key. The key ID is derived from the public
// key, so it is stable across restarts.
func NewSigner(key *rsa.PrivateKey) *Signer {
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	// 20 bytes, the size of the SHA-1 thumbprint Entra's kid and x5t are
	// (JWK libraries check x5t's).
	return &Signer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:20])}
}

// KeyID is the "kid" header of every token.
func (s *Signer) KeyID() string { return s.kid }

// Sign issues a JWT for the claims.
func (s *Signer) Sign(c *Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = s.kid
	t.Header["x5t"] = s.kid
	out, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return out, nil
}

// Validate checks the signature (RS256 with this signer's key only) and the
// validity period at time now. It returns the claims also when the token is
// expired or not yet valid, so callers can report the times.
func (s *Signer) Validate(token string, now time.Time) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if c.Expiry == 0 || now.After(time.Unix(c.Expiry, 0).Add(clockSkew)) {
		return &c, ErrExpired
	}
	if c.NotBefore != 0 && now.Add(clockSkew).Before(time.Unix(c.NotBefore, 0)) {
		return &c, ErrNotYetValid
	}
	return &c, nil
}

// JWK is one key of a JSON Web Key Set.
type JWK struct {
	KTY string   `json:"kty"`
	Use string   `json:"use"`
	KID string   `json:"kid"`
	X5T string   `json:"x5t,omitempty"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	Alg string   `json:"alg,omitempty"`
	X5C []string `json:"x5c,omitempty"`
}

// JWKS is the key set that verifies this signer's tokens.
func (s *Signer) JWKS() map[string][]JWK {
	k := RSAJWK(&s.key.PublicKey, s.kid)
	k.X5T = s.kid
	return map[string][]JWK{"keys": {k}}
}

// RSAJWK is an RS256 signing key's public half as a JWK.
func RSAJWK(pub *rsa.PublicKey, kid string) JWK {
	return JWK{
		KTY: "RSA",
		Use: "sig",
		KID: kid,
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Alg: "RS256",
	}
}
