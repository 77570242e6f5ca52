package auth

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestNewSigningKey(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	k := testKey(t)
	priv, err := k.privateKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := priv.N.BitLen(); got != 2048 {
		t.Errorf("key has %d bits, want 2048", got)
	}
	if !strings.HasPrefix(string(k.PrivateKeyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("PEM does not start with a PKCS#8 block: %.40q", k.PrivateKeyPEM)
	}
	tp, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(tp); k.ID != want {
		t.Errorf("ID = %q, want thumbprint %q", k.ID, want)
	}
	fresh, err := NewSigningKey(now)
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.CreatedAt.Equal(now) || fresh.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", fresh.CreatedAt, now)
	}
	if fresh.ID == k.ID {
		t.Error("two new keys share an ID")
	}
}

func TestJWKSVerifiesMintedToken(t *testing.T) {
	k1, k2 := testKey(t), testKey2(t)
	doc, err := JWKS([]SigningKey{k1, k2})
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(raw.Keys))
	}
	for _, k := range raw.Keys {
		for _, f := range []string{"kty", "kid", "use", "alg", "n", "e"} {
			if _, ok := k[f]; !ok {
				t.Errorf("JWKS key lacks %q: %v", f, k)
			}
		}
		if _, ok := k["d"]; ok {
			t.Fatal("JWKS leaks the private exponent")
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	tok, err := Mint(k2, Claims{TenantID: "t", ObjectID: "o", Roles: []string{"User.Read.All"}}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys for kid %q", len(keys), parsed.Headers[0].KeyID)
	}
	if _, ok := keys[0].Key.(*rsa.PublicKey); !ok {
		t.Fatalf("JWKS key is %T", keys[0].Key)
	}
	var c jwt.Claims
	if err := parsed.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("JWKS key does not verify a minted token: %v", err)
	}
}

func TestJWKSRejectsBadKey(t *testing.T) {
	if _, err := JWKS([]SigningKey{{ID: "x", PrivateKeyPEM: []byte("nope")}}); err == nil {
		t.Error("JWKS accepted a key without PEM")
	}
}
