package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	testTenant = "8f1c2e4a-0b3d-4c5e-9f60-718293a4b5c6"
	testOID    = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
	testApp    = "c0ffee00-1111-2222-3333-444455556666"
)

// RSA key generation takes a noticeable fraction of a second, so the tests share a few keys.
var testKeys = sync.OnceValues(func() ([3]SigningKey, error) {
	var ks [3]SigningKey
	for i := range ks {
		k, err := NewSigningKey(time.Unix(1700000000, 0))
		if err != nil {
			return ks, err
		}
		ks[i] = k
	}
	return ks, nil
})

func nthKey(t testing.TB, i int) SigningKey {
	t.Helper()
	ks, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return ks[i]
}

func testKey(t testing.TB) SigningKey  { return nthKey(t, 0) }
func testKey2(t testing.TB) SigningKey { return nthKey(t, 1) }

// clock is a settable time source, safe for the concurrent use -race may exercise.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyStore stands in for the store: a key list that can change, counting loads.
type keyStore struct {
	mu    sync.Mutex
	keys  []SigningKey
	err   error
	loads int
}

func (s *keyStore) source(context.Context) ([]SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	return append([]SigningKey(nil), s.keys...), s.err
}

func (s *keyStore) set(keys []SigningKey, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.err = keys, err
}

func (s *keyStore) loadCount() int { s.mu.Lock(); defer s.mu.Unlock(); return s.loads }

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestVerifier(t testing.TB, keys ...SigningKey) (*Verifier, *clock, *keyStore) {
	t.Helper()
	c := &clock{t: t0}
	s := &keyStore{keys: keys}
	return NewVerifier(s.source, c.now), c, s
}

func appClaims() Claims {
	return Claims{TenantID: testTenant, ObjectID: testOID, AppID: testApp, Roles: []string{"User.Read.All", "Group.Read.All"}}
}

func mustMint(t testing.TB, k SigningKey, c Claims, now time.Time, ttl time.Duration) string {
	t.Helper()
	tok, err := Mint(k, c, now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs arbitrary claims with k's private key, for tokens Mint refuses to make.
func signRaw(t testing.TB, k SigningKey, claims map[string]any) string {
	t.Helper()
	priv, err := k.privateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: k.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func validRaw() map[string]any {
	return map[string]any{
		"aud": Audience, "iss": Issuer(testTenant), "tid": testTenant, "oid": testOID,
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "roles": []string{"User.Read.All"},
	}
}

func rawWith(change func(map[string]any)) map[string]any {
	m := validRaw()
	change(m)
	return m
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestMintVerifyRoundTrip(t *testing.T) {
	k := testKey(t)
	v, _, _ := newTestVerifier(t, k)
	tests := []struct {
		name string
		in   Claims
		want Principal
	}{
		{
			name: "app",
			in:   appClaims(),
			want: Principal{Claims: appClaims(), ExpiresAt: t0.Add(time.Hour)},
		},
		{
			name: "delegated",
			in:   Claims{TenantID: testTenant, ObjectID: testOID, AppID: testApp, Scopes: []string{"User.Read", "User.ReadBasic.All"}, UPN: "adele@contoso.onmicrosoft.com"},
			want: Principal{
				Claims:    Claims{TenantID: testTenant, ObjectID: testOID, AppID: testApp, Scopes: []string{"User.Read", "User.ReadBasic.All"}, UPN: "adele@contoso.onmicrosoft.com"},
				Delegated: true, ExpiresAt: t0.Add(time.Hour),
			},
		},
		{
			name: "app without permissions",
			in:   Claims{TenantID: testTenant, ObjectID: testOID},
			want: Principal{Claims: Claims{TenantID: testTenant, ObjectID: testOID}, ExpiresAt: t0.Add(time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustMint(t, k, tt.in, t0, time.Hour)
			p, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*p, tt.want) {
				t.Errorf("got %+v, want %+v", *p, tt.want)
			}
		})
	}
}

func TestMintWireFormat(t *testing.T) {
	k := testKey(t)
	tests := []struct {
		name string
		in   Claims
		want map[string]any
		not  []string
	}{
		{
			name: "app",
			in:   appClaims(),
			want: map[string]any{"idtyp": "app", "roles": []any{"User.Read.All", "Group.Read.All"}},
			not:  []string{"scp", "upn", "unique_name"},
		},
		{
			name: "delegated",
			in:   Claims{TenantID: testTenant, ObjectID: testOID, AppID: testApp, Scopes: []string{"User.Read", "Mail.Read"}, UPN: "a@b.c"},
			want: map[string]any{"idtyp": "user", "scp": "User.Read Mail.Read", "upn": "a@b.c", "unique_name": "a@b.c"},
			not:  []string{"roles"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustMint(t, k, tt.in, t0, time.Hour)
			parts := strings.Split(tok, ".")
			var hdr, body map[string]any
			decodePart(t, parts[0], &hdr)
			decodePart(t, parts[1], &body)
			for f, want := range map[string]string{"alg": "RS256", "typ": "JWT", "kid": k.ID} {
				if hdr[f] != want {
					t.Errorf("header %s = %v, want %v", f, hdr[f], want)
				}
			}
			common := map[string]any{
				"aud": Audience, "iss": Issuer(testTenant), "tid": testTenant, "oid": testOID, "sub": testOID,
				"appid": testApp, "azp": testApp, "ver": "1.0",
				"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Add(time.Hour).Unix()),
			}
			for f, want := range common {
				if got, _ := json.Marshal(body[f]); string(got) != mustJSON(t, want) {
					t.Errorf("%s = %s, want %s", f, got, mustJSON(t, want))
				}
			}
			for f, want := range tt.want {
				if got, _ := json.Marshal(body[f]); string(got) != mustJSON(t, want) {
					t.Errorf("%s = %s, want %s", f, got, mustJSON(t, want))
				}
			}
			for _, f := range tt.not {
				if _, ok := body[f]; ok {
					t.Errorf("unexpected claim %s", f)
				}
			}
			uti, _ := body["uti"].(string)
			if len(uti) < 16 || body["jti"] != uti {
				t.Errorf("uti %q / jti %v: want a random identifier in both", uti, body["jti"])
			}
		})
	}
	a, b := mustMint(t, k, appClaims(), t0, time.Hour), mustMint(t, k, appClaims(), t0, time.Hour)
	if a == b {
		t.Error("two tokens minted with the same claims are identical: uti is not random")
	}
}

func decodePart(t *testing.T, part string, v any) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMintRejects(t *testing.T) {
	k := testKey(t)
	tests := []struct {
		name string
		key  SigningKey
		c    Claims
		ttl  time.Duration
	}{
		{"roles and scopes", k, Claims{TenantID: "t", ObjectID: "o", Roles: []string{"a"}, Scopes: []string{"b"}}, time.Hour},
		{"no tenant", k, Claims{ObjectID: "o"}, time.Hour},
		{"no object", k, Claims{TenantID: "t"}, time.Hour},
		{"zero ttl", k, Claims{TenantID: "t", ObjectID: "o"}, 0},
		{"bad PEM", SigningKey{ID: "x", PrivateKeyPEM: []byte("junk")}, Claims{TenantID: "t", ObjectID: "o"}, time.Hour},
		{"no kid", SigningKey{PrivateKeyPEM: k.PrivateKeyPEM}, Claims{TenantID: "t", ObjectID: "o"}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := Mint(tt.key, tt.c, t0, tt.ttl); err == nil {
				t.Errorf("Mint succeeded: %.40s…", tok)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	k, other := testKey(t), testKey2(t)
	valid := mustMint(t, k, appClaims(), t0, time.Hour)
	parts := strings.Split(valid, ".")

	// Key confusion: HS256 keyed with the public key, as a verifier that trusts alg would check it.
	priv, err := k.privateKey()
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsInput := b64(`{"alg":"HS256","typ":"JWT","kid":"`+k.ID+`"}`) + "." + parts[1]
	mac := hmac.New(sha256.New, pubPEM)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	tamperedBody := strings.Replace(string(mustDecode(t, parts[1])), `"User.Read.All"`, `"Directory.ReadWrite.All"`, 1)

	tests := []struct {
		name  string
		token string
		msg   string
	}{
		{"empty", "", msgEmpty},
		{"garbage", "not a token", msgMalformed},
		{"two parts", "abc.def", msgMalformed},
		{"four parts", valid + ".x", msgMalformed},
		{"dots only", "..", msgMalformed},
		{"bad base64 header", "!!!." + parts[1] + "." + parts[2], msgMalformed},
		{"header not JSON", b64("nope") + "." + parts[1] + "." + parts[2], msgMalformed},
		{"alg none", b64(`{"alg":"none","typ":"JWT","kid":"`+k.ID+`"}`) + "." + parts[1] + ".", msgMalformed},
		{"alg none with signature", b64(`{"alg":"none","kid":"`+k.ID+`"}`) + "." + parts[1] + "." + parts[2], msgMalformed},
		{"HS256 with public key", hs256, msgMalformed},
		{"RS512", b64(`{"alg":"RS512","kid":"`+k.ID+`"}`) + "." + parts[1] + "." + parts[2], msgMalformed},
		{"no kid", b64(`{"alg":"RS256"}`) + "." + parts[1] + "." + parts[2], msgInvalid},
		{"wrong key", mustMint(t, SigningKey{ID: k.ID, PrivateKeyPEM: other.PrivateKeyPEM}, appClaims(), t0, time.Hour), msgInvalid},
		{"unknown kid", mustMint(t, other, appClaims(), t0, time.Hour), msgInvalid},
		{"tampered payload", parts[0] + "." + b64(tamperedBody) + "." + parts[2], msgInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64("x"+string(mustDecode(t, parts[2]))[1:]), msgInvalid},
		{"expired", mustMint(t, k, appClaims(), t0.Add(-2*time.Hour), time.Hour), msgExpired},
		{"expired beyond leeway", mustMint(t, k, appClaims(), t0.Add(-time.Hour-6*time.Minute), time.Hour), msgExpired},
		{"not yet valid", mustMint(t, k, appClaims(), t0.Add(10*time.Minute), time.Hour), msgNotYetValid},
		{"no exp", signRaw(t, k, rawWith(func(m map[string]any) { delete(m, "exp") })), msgInvalid},
		{"wrong aud", signRaw(t, k, rawWith(func(m map[string]any) { m["aud"] = "https://graph.windows.net" })), msgAudience},
		{"no aud", signRaw(t, k, rawWith(func(m map[string]any) { delete(m, "aud") })), msgAudience},
		{"wrong iss", signRaw(t, k, rawWith(func(m map[string]any) { m["iss"] = "https://sts.windows.net/other/" })), msgIssuer},
		{"v2 iss", signRaw(t, k, rawWith(func(m map[string]any) {
			m["iss"] = "https://login.microsoftonline.com/" + testTenant + "/v2.0"
		})), msgIssuer},
		{"missing tid", signRaw(t, k, rawWith(func(m map[string]any) { delete(m, "tid"); m["iss"] = Issuer("") })), msgInvalid},
		{"missing oid", signRaw(t, k, rawWith(func(m map[string]any) { delete(m, "oid") })), msgInvalid},
		{"tid not a string", signRaw(t, k, rawWith(func(m map[string]any) { m["tid"] = 7 })), msgInvalid},
		{"exp not a number", signRaw(t, k, rawWith(func(m map[string]any) { m["exp"] = "soon" })), msgInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, _ := newTestVerifier(t, k)
			p, err := v.Verify(context.Background(), tt.token)
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %+v, %v; want *TokenError", p, err)
			}
			if te.Message != tt.msg {
				t.Errorf("message %q (cause %v), want %q", te.Message, te.Cause, tt.msg)
			}
		})
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyAccepts(t *testing.T) {
	k := testKey(t)
	tests := []struct {
		name  string
		token string
	}{
		{"expired within leeway", mustMint(t, k, appClaims(), t0.Add(-time.Hour-4*time.Minute), time.Hour)},
		{"not yet valid within leeway", mustMint(t, k, appClaims(), t0.Add(4*time.Minute), time.Hour)},
		{"aud with slash", signRaw(t, k, rawWith(func(m map[string]any) { m["aud"] = "https://graph.microsoft.com/" }))},
		{"aud as app ID", signRaw(t, k, rawWith(func(m map[string]any) { m["aud"] = "00000003-0000-0000-c000-000000000000" }))},
		{"aud list", signRaw(t, k, rawWith(func(m map[string]any) { m["aud"] = []string{"api://other", Audience} }))},
		{"no nbf", signRaw(t, k, rawWith(func(m map[string]any) { delete(m, "nbf") }))},
		{"azp and unique_name only", signRaw(t, k, rawWith(func(m map[string]any) {
			delete(m, "roles")
			m["scp"] = "User.Read"
			m["azp"] = testApp
			m["unique_name"] = "a@b.c"
		}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, _ := newTestVerifier(t, k)
			if _, err := v.Verify(context.Background(), tt.token); err != nil {
				t.Fatal(err)
			}
		})
	}
	v, _, _ := newTestVerifier(t, k)
	p, err := v.Verify(context.Background(), tests[len(tests)-1].token)
	if err != nil {
		t.Fatal(err)
	}
	if p.AppID != testApp || p.UPN != "a@b.c" || !p.Delegated {
		t.Errorf("azp/unique_name not used as fallbacks: %+v", p)
	}
}

func TestVerifyReloadsForUnknownKid(t *testing.T) {
	k1, k2 := testKey(t), testKey2(t)
	v, clk, store := newTestVerifier(t, k1)
	ctx := context.Background()
	if _, err := v.Verify(ctx, mustMint(t, k1, appClaims(), t0, time.Hour)); err != nil {
		t.Fatal(err)
	}
	tok2 := mustMint(t, k2, appClaims(), t0, time.Hour)

	// The CLI mints k2 and stores it; this node has not loaded it yet, and a load was just made.
	store.set([]SigningKey{k1, k2}, nil)
	var te *TokenError
	if _, err := v.Verify(ctx, tok2); !errors.As(err, &te) {
		t.Fatalf("within the reload interval: %v, want *TokenError", err)
	}
	if n := store.loadCount(); n != 1 {
		t.Fatalf("%d loads, want 1: reload not rate limited", n)
	}

	clk.add(reloadInterval)
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("after the reload interval: %v", err)
	}
	if n := store.loadCount(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}

	// A flood of unknown kids costs one load per interval, and known keys need no load.
	clk.add(reloadInterval)
	forged := mustMint(t, nthKey(t, 2), appClaims(), t0, time.Hour)
	for range 50 {
		if _, err := v.Verify(ctx, forged); !errors.As(err, &te) {
			t.Fatalf("forged: %v", err)
		}
	}
	if n := store.loadCount(); n != 3 {
		t.Fatalf("%d loads after a flood, want 3", n)
	}
	if _, err := v.Verify(ctx, mustMint(t, k1, appClaims(), t0, 2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := store.loadCount(); n != 3 {
		t.Fatalf("%d loads, want 3: a known kid caused a load", n)
	}

	// A key removed from the store stops verifying at the next load.
	store.set([]SigningKey{k2}, nil)
	clk.add(reloadInterval)
	_, _ = v.Verify(ctx, forged)
	if _, err := v.Verify(ctx, mustMint(t, k1, appClaims(), t0, 3*time.Hour)); !errors.As(err, &te) {
		t.Fatalf("removed key still verifies: %v", err)
	}
}

func TestVerifyKeySourceErrors(t *testing.T) {
	k := testKey(t)
	down := errors.New("store down")
	v, clk, store := newTestVerifier(t)
	store.set(nil, down)
	tok := mustMint(t, k, appClaims(), t0, time.Hour)
	for i := range 3 {
		_, err := v.Verify(context.Background(), tok)
		var te *TokenError
		if !errors.Is(err, down) || errors.As(err, &te) {
			t.Fatalf("attempt %d: %v, want the store's error, not a *TokenError", i, err)
		}
	}
	if n := store.loadCount(); n != 1 {
		t.Fatalf("%d loads while the store is down, want 1", n)
	}

	store.set([]SigningKey{k}, nil)
	clk.add(reloadInterval)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after the store came back: %v", err)
	}

	bad := &keyStore{keys: []SigningKey{{ID: "junk", PrivateKeyPEM: []byte("junk")}}}
	v = NewVerifier(bad.source, clk.now)
	_, err := v.Verify(context.Background(), tok)
	var te *TokenError
	if err == nil || errors.As(err, &te) {
		t.Fatalf("corrupt key in store: %v, want a non-token error", err)
	}
}

func TestVerifyCanceledLoadDoesNotBlockOthers(t *testing.T) {
	k := testKey(t)
	clk := &clock{t: t0}
	src := func(ctx context.Context) ([]SigningKey, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []SigningKey{k}, nil
	}
	v := NewVerifier(src, clk.now)
	tok := mustMint(t, k, appClaims(), t0, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Verify(ctx, tok); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("next caller: %v", err)
	}
}

func TestVerifyCache(t *testing.T) {
	k := testKey(t)
	v, clk, _ := newTestVerifier(t, k)
	ctx := context.Background()
	tok := mustMint(t, k, appClaims(), t0, time.Hour)
	p1, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(30 * time.Minute)
	p2, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("second verification did not come from the cache")
	}

	// Still accepted inside the leeway after exp, as an uncached verification would.
	clk.add(30*time.Minute + leeway)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("at exp+leeway: %v", err)
	}
	clk.add(time.Second)
	_, err = v.Verify(ctx, tok)
	var te *TokenError
	if !errors.As(err, &te) || te.Message != msgExpired {
		t.Fatalf("cached token past exp+leeway: %v, want %q", err, msgExpired)
	}
	v.cacheMu.RLock()
	n := len(v.cache)
	v.cacheMu.RUnlock()
	if n != 0 {
		t.Errorf("expired token still cached (%d entries)", n)
	}

	// The clock going back before nbf is no reason to trust a cached token either.
	tok = mustMint(t, k, appClaims(), clk.now(), time.Hour)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.add(-leeway - time.Second)
	if _, err := v.Verify(ctx, tok); !errors.As(err, &te) || te.Message != msgNotYetValid {
		t.Fatalf("before nbf: %v", err)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	v, _, _ := newTestVerifier(t)
	live := &Principal{ExpiresAt: t0.Add(time.Hour)}
	dead := &Principal{ExpiresAt: t0.Add(-time.Hour)}
	n := 0
	put := func(p *Principal) {
		var sum [sha256.Size]byte
		sum[0], sum[1], sum[2] = byte(n), byte(n>>8), byte(n>>16)
		n++
		v.store(sum, cacheEntry{p: p}, t0)
	}
	for i := range cacheSize {
		if i%2 == 0 {
			put(dead)
		} else {
			put(live)
		}
	}
	if len(v.cache) != cacheSize {
		t.Fatalf("%d entries before the cache is full, want %d", len(v.cache), cacheSize)
	}
	put(live) // full: expired entries go first
	if want := cacheSize/2 + 1; len(v.cache) != want {
		t.Fatalf("%d entries after sweeping expired ones, want %d", len(v.cache), want)
	}
	for _, e := range v.cache {
		if e.p == dead {
			t.Fatal("an expired entry survived the sweep")
		}
	}
	for len(v.cache) < cacheSize {
		put(live)
	}
	put(live) // full of live entries: a tenth go
	if want := cacheSize - cacheSize/10; len(v.cache) != want {
		t.Fatalf("%d entries after evicting live ones, want %d", len(v.cache), want)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	k1, k2 := testKey(t), testKey2(t)
	v, clk, store := newTestVerifier(t, k1)
	toks := []string{mustMint(t, k1, appClaims(), t0, time.Hour), mustMint(t, k2, appClaims(), t0, time.Hour)}
	store.set([]SigningKey{k1, k2}, nil)
	clk.add(reloadInterval)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 20 {
				if _, err := v.Verify(context.Background(), toks[(i+j)%2]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := store.loadCount(); n != 1 {
		t.Errorf("%d loads for one new key under concurrency, want 1", n)
	}
}

func FuzzVerify(f *testing.F) {
	k := testKey(f)
	valid := mustMint(f, k, appClaims(), t0, time.Hour)
	parts := strings.Split(valid, ".")
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", valid, valid + "x", parts[0] + "." + parts[1] + ".",
		b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		b64(`{"alg":"RS256","kid":"`+k.ID+`","crit":["b64"]}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"RS256","kid":"`+k.ID+`"}`) + "." + b64(`{"exp":1e309}`) + "." + parts[2],
		"eyJ.eyJ.eyJ", strings.Repeat("A", 5000),
	} {
		f.Add(s)
	}
	store := &keyStore{keys: []SigningKey{k}}
	clk := &clock{t: t0}
	f.Fuzz(func(t *testing.T, token string) {
		v := NewVerifier(store.source, clk.now)
		p, err := v.Verify(context.Background(), token)
		var te *TokenError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("non-token error from a working key source: %v", err)
		}
		if err == nil && (p == nil || p.TenantID == "" || p.ObjectID == "") {
			t.Fatalf("accepted without a principal: %+v", p)
		}
	})
}

func BenchmarkVerifyCached(b *testing.B) {
	k := testKey(b)
	v, _, _ := newTestVerifier(b, k)
	tok := mustMint(b, k, appClaims(), t0, time.Hour)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyUncached(b *testing.B) {
	k := testKey(b)
	v, _, _ := newTestVerifier(b, k)
	tok := mustMint(b, k, appClaims(), t0, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		v.cacheMu.Lock()
		clear(v.cache)
		v.cacheMu.Unlock()
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	k := testKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Mint(k, appClaims(), t0, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
