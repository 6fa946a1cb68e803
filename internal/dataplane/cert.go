package dataplane

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// ParseCertificate reads a listener certificate as ARM carries it: base64
// of a PFX (PKCS #12) with its password, or of PEM blocks holding the
// certificate chain and its private key.
func ParseCertificate(data, password string) (*tls.Certificate, error) {
	raw, err := decodeCertificateData(data)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(raw); block != nil {
		cert, err := tls.X509KeyPair(raw, raw)
		if err != nil {
			return nil, fmt.Errorf("PEM certificate: %w", err)
		}
		return &cert, nil
	}
	key, leaf, chain, err := pkcs12.DecodeChain(raw, password)
	if err != nil {
		return nil, fmt.Errorf("PFX certificate: %w", err)
	}
	if leaf == nil {
		return nil, errors.New("PFX certificate: no certificate")
	}
	cert := tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return &cert, nil
}
