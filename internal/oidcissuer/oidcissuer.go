// Package oidcissuer serves managed clusters' OIDC issuers: the discovery
// document and the key set that let Entra ID (or anyone) verify a
// cluster's service-account tokens, as AKS serves them for
// oidcIssuerProfile.issuerURL.
//
// AKS hosts issuers at https://{region}.oic.prod-aks.azure.com/{tenant}/{guid}/;
// localaks hosts them on its own endpoint under /oidc/{region}/{tenant}/{guid}/
// so that the URL answers offline.
package oidcissuer

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/entra"
)

// Prefix is the first path segment of every issuer.
const Prefix = "/oidc/"

const (
	discoveryPath = ".well-known/openid-configuration"
	jwksPath      = "openid/v1/jwks"
)

// URL is the issuer URL of a cluster, given localaks's base URL
// (https://localhost:7443), the cluster's region and tenant, and a random
// GUID that stays with the cluster.
func URL(base, region, tenant, guid string) string {
	return strings.TrimSuffix(base, "/") + Prefix + region + "/" + tenant + "/" + guid + "/"
}

// JWKSURL is where an issuer's keys are served (what kube-apiserver's
// --service-account-jwks-uri says).
func JWKSURL(issuer string) string { return issuer + jwksPath }

// Lookup finds the cluster whose issuer URL has this path: the issuer as
// stored, and the PEM public keys that verify its tokens (newest first).
// ok is false for no such cluster (or one with the issuer off).
type Lookup func(ctx context.Context, path string) (issuer string, keys [][]byte, ok bool, err error)

// Handler serves {issuer}/.well-known/openid-configuration and
// {issuer}/openid/v1/jwks for every cluster Lookup knows.
func Handler(lookup Lookup) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var doc string
		for _, d := range []string{discoveryPath, jwksPath} {
			if strings.HasSuffix(r.URL.Path, "/"+d) {
				doc = d
			}
		}
		if doc == "" {
			http.NotFound(w, r)
			return
		}
		issuer, keys, ok, err := lookup(r.Context(), strings.TrimSuffix(r.URL.Path, doc))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		var body any
		switch doc {
		case discoveryPath:
			body = Discovery(issuer)
		default:
			set, err := KeySet(keys)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			body = set
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body) //nolint:errcheck // client gone
	})
}

// Discovery is an issuer's OpenID configuration, as kube-apiserver and
// AKS's issuer serve it.
func Discovery(issuer string) map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              JWKSURL(issuer),
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
}

// KeySet is the JWKS of PEM public keys, each with the key ID
// kube-apiserver puts in the tokens it signs with it.
func KeySet(pems [][]byte) (map[string][]entra.JWK, error) {
	keys := []entra.JWK{}
	err := eachKey(pems, func(kid string, pub *rsa.PublicKey) { keys = append(keys, entra.RSAJWK(pub, kid)) })
	return map[string][]entra.JWK{"keys": keys}, err
}

// PublicKeys are PEM public keys by key ID, to verify tokens with.
func PublicKeys(pems [][]byte) (map[string]*rsa.PublicKey, error) {
	keys := map[string]*rsa.PublicKey{}
	err := eachKey(pems, func(kid string, pub *rsa.PublicKey) { keys[kid] = pub })
	return keys, err
}

func eachKey(pems [][]byte, fn func(kid string, pub *rsa.PublicKey)) error {
	for _, p := range pems {
		pub, err := parseRSA(p)
		if err != nil {
			return err
		}
		kid, err := KeyID(pub)
		if err != nil {
			return err
		}
		fn(kid, pub)
	}
	return nil
}

// KeyID is kube-apiserver's key ID for a signing key: the unpadded
// base64url SHA-256 of its PKIX DER encoding.
func KeyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func parseRSA(p []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("service-account key: no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("service-account key: %T is not RSA", key)
	}
	return pub, nil
}
