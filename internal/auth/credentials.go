package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"

	"golang.org/x/crypto/bcrypt"
)

// NewSecret returns a new client secret: 32 random bytes, URL-safe base64 (43 characters), about as long as
// the secrets Entra ID issues.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret hashes a client secret for storage. Secrets are 256 random bits, so a fast hash cannot be
// brute-forced and SHA-256 suffices; a slow password hash would make every token request (and every
// per-test tenant) pay tens of milliseconds for nothing.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte("orgraph client secret\x00" + secret))
	return h[:]
}

// CheckSecret reports whether secret matches a HashSecret hash, in constant time.
func CheckSecret(hash []byte, secret string) bool {
	return len(hash) > 0 && subtle.ConstantTimeCompare(hash, HashSecret(secret)) == 1
}

// HashPassword hashes a user's password with bcrypt: people choose guessable passwords, so the hash must be slow.
func HashPassword(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// CheckPassword reports whether password matches a HashPassword hash.
func CheckPassword(hash []byte, password string) bool {
	return len(hash) > 0 && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}
