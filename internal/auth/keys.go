package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keyBits is the RSA modulus size of new signing keys; Entra ID signs with 2048-bit keys too.
const keyBits = 2048

// SigningKey is an RSA key (2048 bit) that signs access tokens; kept in the store so every node shares it.
type SigningKey struct {
	ID            string // kid: the RFC 7638 thumbprint of the public key, so it is stable and unique per key
	PrivateKeyPEM []byte // PKCS#8, PEM block "PRIVATE KEY"
	CreatedAt     time.Time
}

// NewSigningKey generates a fresh key.
func NewSigningKey(now time.Time) (SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return SigningKey{}, fmt.Errorf("auth: generating signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, fmt.Errorf("auth: encoding signing key: %w", err)
	}
	kid, err := keyID(&priv.PublicKey)
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{
		ID:            kid,
		PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		CreatedAt:     now.UTC(),
	}, nil
}

func keyID(pub *rsa.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("auth: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// privateKey decodes the PEM; keys come from the store, so a bad one is reported, never trusted.
func (k SigningKey) privateKey() (*rsa.PrivateKey, error) {
	if k.ID == "" {
		return nil, errors.New("auth: signing key has no ID")
	}
	block, _ := pem.Decode(k.PrivateKeyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: signing key %q: no PKCS#8 PEM block", k.ID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %q: %w", k.ID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: signing key %q is %T, not RSA", k.ID, parsed)
	}
	if priv.N.BitLen() < keyBits {
		return nil, fmt.Errorf("auth: signing key %q has %d bits, fewer than %d", k.ID, priv.N.BitLen(), keyBits)
	}
	return priv, nil
}

// JWKS returns the public keys as a JSON Web Key Set document (for /{tenant}/discovery/v2.0/keys later).
func JWKS(keys []SigningKey) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		priv, err := k.privateKey()
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       &priv.PublicKey,
			KeyID:     k.ID,
			Algorithm: string(jose.RS256),
			Use:       "sig",
		})
	}
	return json.Marshal(set)
}
