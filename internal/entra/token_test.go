package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func newTestSigner(t *testing.T) *Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return NewSigner(k)
}

func TestSignAndValidate(t *testing.T) {
	s := newTestSigner(t)
	now := time.Unix(1_800_000_000, 0)
	c := &Claims{Audience: "https://management.core.windows.net/", TenantID: "t", ObjectID: "o", AppID: "a",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"}
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Validate(tok, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Audience != c.Audience || got.TenantID != "t" || got.AppID != "a" {
		t.Errorf("claims = %+v", got)
	}
	// The audience is a plain string, as in Entra v1 tokens.
	payload, _ := jwt.NewParser().DecodeSegment(strings.Split(tok, ".")[1])
	if !strings.Contains(string(payload), `"aud":"https://management.core.windows.net/"`) {
		t.Errorf("payload = %s", payload)
	}

	if _, err := s.Validate(tok, now.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("2h later: %v, want ErrExpired", err)
	}
	if _, err := s.Validate(tok, now.Add(time.Hour+time.Minute)); err != nil {
		t.Errorf("within clock skew: %v", err)
	}
	if _, err := s.Validate(tok, now.Add(-time.Hour)); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("before nbf: %v, want ErrNotYetValid", err)
	}
	other := newTestSigner(t)
	if _, err := other.Validate(tok, now); !errors.Is(err, ErrSignature) {
		t.Errorf("other key: %v, want ErrSignature", err)
	}
	// Algorithm confusion: an unsigned token and an HS256 token are refused.
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, err := s.Validate(none, now); err == nil {
		t.Error("alg none accepted")
	}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("secret"))
	if _, err := s.Validate(hs, now); err == nil {
		t.Error("HS256 accepted")
	}
	if _, err := s.Validate("a.b", now); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
	if keys := s.JWKS()["keys"]; len(keys) != 1 || keys[0].KID != s.KeyID() || keys[0].E != "AQAB" {
		t.Errorf("JWKS = %+v", keys)
	}
}

func TestRequestedAudience(t *testing.T) {
	tests := []struct {
		form map[string][]string
		v1   bool
		want string
		ok   bool
	}{
		{map[string][]string{"scope": {"https://management.core.windows.net//.default"}}, false, "https://management.core.windows.net/", true},
		{map[string][]string{"scope": {"openid https://management.azure.com/.default offline_access"}}, false, "https://management.azure.com", true},
		{map[string][]string{"resource": {"https://management.azure.com/"}}, true, "https://management.azure.com/", true},
		{map[string][]string{"scope": {"https://management.azure.com/user_impersonation"}}, false, "", false},
		{map[string][]string{}, false, "", false},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		got, ok := requestedAudience(w, tt.form, tt.v1)
		if got != tt.want || ok != tt.ok {
			t.Errorf("requestedAudience(%v) = %q, %v; want %q, %v", tt.form, got, ok, tt.want, tt.ok)
		}
	}
	if ServicePrincipalObjectID("T", "A") != ServicePrincipalObjectID("t", "a") {
		t.Error("object IDs differ by case")
	}
}
