package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idp is an OpenID Connect identity provider on a real loopback HTTP server: a discovery document and a key
// set the test can rotate, replace or take down, counting the requests for each.
type idp struct {
	srv *httptest.Server

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	raw         []byte // served instead of keys when set
	down        bool
	docIssuer   string // the issuer the discovery document names; "": the real one
	discoveries int
	fetches     int
}

func newIdP(t testing.TB, keys ...extKey) *idp {
	t.Helper()
	i := &idp{}
	for _, k := range keys {
		i.keys = append(i.keys, k.public())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		i.discoveries++
		down, iss := i.down, i.docIssuer
		i.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if iss == "" {
			iss = i.issuer()
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": i.issuer() + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		i.fetches++
		down, raw := i.down, i.raw
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), i.keys...)}
		i.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if raw == nil {
			var err error
			if raw, err = json.Marshal(set); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(raw)
	})
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	return i
}

func (i *idp) issuer() string { return i.srv.URL }

func (i *idp) publish(keys ...extKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = nil
	for _, k := range keys {
		i.keys = append(i.keys, k.public())
	}
}

func (i *idp) setDown(down bool) { i.mu.Lock(); i.down = down; i.mu.Unlock() }

func (i *idp) counts() (discoveries, fetches int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.discoveries, i.fetches
}

// extKey is one of the IdP's signing keys.
type extKey struct {
	kid  string
	alg  jose.SignatureAlgorithm // published with the key; "" publishes none
	priv crypto.Signer
}

func (k extKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// sign signs claims with k under alg (k's own if empty) and k's kid.
func (k extKey) sign(t testing.TB, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	if alg == "" {
		alg = k.alg
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func rsaExtKey(t testing.TB, i int, kid string, alg jose.SignatureAlgorithm) extKey {
	t.Helper()
	priv, err := nthKey(t, i).privateKey()
	if err != nil {
		t.Fatal(err)
	}
	return extKey{kid: kid, alg: alg, priv: priv}
}

var testECKey = sync.OnceValues(func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })

func ecExtKey(t testing.TB, kid string) extKey {
	t.Helper()
	priv, err := testECKey()
	if err != nil {
		t.Fatal(err)
	}
	return extKey{kid: kid, alg: jose.ES256, priv: priv}
}

const (
	adeleUPN = "adele.vance@contoso.onmicrosoft.com"
	adeleID  = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
)

// directory stands in for the store's users: upn → object id, counting lookups.
type directory struct {
	mu      sync.Mutex
	users   map[string]string
	lookups int
}

func (d *directory) lookup(_ context.Context, tenant, upn string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if id, ok := d.users[strings.ToLower(upn)]; ok && tenant == testTenant {
		return id, nil
	}
	return "", ErrUnknownUser
}

// keycloak is an entry as a Keycloak realm needs it: users by preferred_username, Graph scopes in scope,
// app permissions as realm roles, tokens for the audience "orgraph".
func keycloak(iss string) TrustedIssuer {
	return TrustedIssuer{
		Issuer:    iss,
		Audiences: []string{"orgraph"},
		Tenant:    testTenant,
		Claims:    ClaimMapping{UPN: "preferred_username", Scopes: "scope", Roles: "realm_access.roles", AppID: "azp"},
	}
}

// userClaims are a Keycloak user's access token claims, as issued at t0 for an hour.
func userClaims(iss string, change ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"iss": iss, "aud": "orgraph", "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "azp": "web-app",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
		"preferred_username": adeleUPN, "scope": "openid profile User.Read.All",
		"realm_access": map[string]any{"roles": []string{"offline_access", "default-roles-corp"}},
	}
	for _, c := range change {
		c(m)
	}
	return m
}

// newExternalVerifier trusts the entries, verifies orgraph's own tokens with testKey, and finds adele.
func newExternalVerifier(t testing.TB, entries ...TrustedIssuer) (*Verifier, *clock, *directory) {
	t.Helper()
	c := &clock{t: t0}
	dir := &directory{users: map[string]string{adeleUPN: adeleID}}
	s := &keyStore{keys: []SigningKey{testKey(t)}}
	v, err := NewTrustingVerifier(s.source, c.now, entries, TrustOptions{LookupUPN: dir.lookup})
	if err != nil {
		t.Fatal(err)
	}
	return v, c, dir
}

func TestExternalAccepts(t *testing.T) {
	rs, ps, ec := rsaExtKey(t, 1, "rsa-1", jose.RS256), rsaExtKey(t, 2, "rsa-ps", jose.PS256), ecExtKey(t, "ec-1")
	provider := newIdP(t, rs, ps, ec)
	iss := provider.issuer()
	exp := t0.Add(time.Hour)
	user := func(scopes ...string) Principal {
		return Principal{
			Claims:    Claims{TenantID: testTenant, ObjectID: adeleID, AppID: "web-app", Scopes: scopes, UPN: adeleUPN},
			Delegated: true, ExpiresAt: exp,
		}
	}
	tests := []struct {
		name  string
		entry func(*TrustedIssuer)
		token string
		want  Principal
	}{
		{name: "RS256, user found by UPN", token: rs.sign(t, "", userClaims(iss)), want: user("User.Read.All")},
		{name: "ES256", token: ec.sign(t, "", userClaims(iss)), want: user("User.Read.All")},
		{name: "PS256", token: ps.sign(t, "", userClaims(iss)), want: user("User.Read.All")},
		{name: "UPN in another case", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
			m["preferred_username"] = strings.ToUpper(adeleUPN)
		})), want: func() Principal { p := user("User.Read.All"); p.UPN = strings.ToUpper(adeleUPN); return p }()},
		{name: "scp as an array", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
			m["scope"] = []string{"User.Read", "openid", "Directory.Read.All", "User.Read"}
		})), want: user("User.Read", "Directory.Read.All")},
		{name: "expired within leeway", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
			m["exp"] = t0.Add(-4 * time.Minute).Unix()
		})), want: func() Principal { p := user("User.Read.All"); p.ExpiresAt = t0.Add(-4 * time.Minute); return p }()},
		{name: "aud in a list", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
			m["aud"] = []string{"account", "orgraph"}
		})), want: user("User.Read.All")},
		{
			name: "app token: nested roles, sub as object id",
			token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
				m["sub"], m["azp"], m["preferred_username"], m["scope"] = "svc-7", "nightly-sync", "service-account-nightly-sync", "profile email"
				m["realm_access"] = map[string]any{"roles": []string{"offline_access", "User.Read.All", "Group.Read.All"}}
			})),
			want: Principal{Claims: Claims{
				TenantID: testTenant, ObjectID: "svc-7", AppID: "nightly-sync",
				Roles: []string{"User.Read.All", "Group.Read.All"}, UPN: "service-account-nightly-sync",
			}, ExpiresAt: exp},
		},
		{
			name:  "fixed scopes for an IdP without Graph's names",
			entry: func(e *TrustedIssuer) { e.Scopes = []string{"User.Read", "User.ReadBasic.All"}; e.Claims.Roles = "" },
			token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["scope"] = "openid profile" })),
			want:  user("User.Read", "User.ReadBasic.All"),
		},
		{
			name: "fixed roles",
			entry: func(e *TrustedIssuer) {
				e.Roles = []string{"Directory.Read.All"}
				e.Claims = ClaimMapping{ObjectID: "sub"}
			},
			token: rs.sign(t, "", userClaims(iss)),
			want: Principal{Claims: Claims{
				TenantID: testTenant, ObjectID: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", Roles: []string{"Directory.Read.All"},
			}, ExpiresAt: exp},
		},
		{
			// Entra-shaped claims, as another Entra tenant or a proxy in front of one issues them, with an
			// Auth0-style namespaced claim name that has dots of its own.
			name: "tenant and oid from claims, namespaced claim name",
			entry: func(e *TrustedIssuer) {
				e.Tenant, e.Audiences = "", nil
				e.Claims = ClaimMapping{TenantID: "tid", ObjectID: "oid", Scopes: "https://orgraph.example/scp", UPN: "upn", AppID: "appid"}
			},
			token: rs.sign(t, "", map[string]any{
				"iss": iss, "aud": Audience, "exp": exp.Unix(), "tid": testTenant, "oid": testOID, "appid": testApp,
				"upn": "a@b.c", "https://orgraph.example/scp": "User.Read",
			}),
			want: Principal{
				Claims:    Claims{TenantID: testTenant, ObjectID: testOID, AppID: testApp, Scopes: []string{"User.Read"}, UPN: "a@b.c"},
				Delegated: true, ExpiresAt: exp,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := keycloak(iss)
			if tt.entry != nil {
				tt.entry(&e)
			}
			v, _, _ := newExternalVerifier(t, e)
			p, err := v.Verify(context.Background(), tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*p, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *p, tt.want)
			}
		})
	}
	// The permission checks see an external user as they see one of orgraph's: self-only User.Read reaches
	// the user's own manager and nobody else's.
	v, _, _ := newExternalVerifier(t, keycloak(iss))
	p, err := v.Verify(context.Background(), rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["scope"] = "openid User.Read" })))
	if err != nil {
		t.Fatal(err)
	}
	if p.Allowed(OpGetManager) || !p.AllowedOn(OpGetManager, adeleID) || p.AllowedOn(OpGetManager, testOID) {
		t.Errorf("User.Read of an external user: Allowed %v, on self %v, on another %v; want false, true, false",
			p.Allowed(OpGetManager), p.AllowedOn(OpGetManager, adeleID), p.AllowedOn(OpGetManager, testOID))
	}
}

func TestExternalRejects(t *testing.T) {
	rs, ps, ec := rsaExtKey(t, 1, "rsa-1", jose.RS256), rsaExtKey(t, 2, "rsa-ps", jose.PS256), ecExtKey(t, "ec-1")
	provider := newIdP(t, rs, ps, ec)
	iss := provider.issuer()
	valid := rs.sign(t, "", userClaims(iss))
	parts := strings.Split(valid, ".")

	// Key confusion: HS256 keyed with the published public key, as a verifier that trusts alg would check it.
	pubDER, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	hsInput := b64(`{"alg":"HS256","typ":"JWT","kid":"rsa-1"}`) + "." + parts[1]
	mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	tampered := strings.Replace(string(mustDecode(t, parts[1])), `User.Read.All`, `Directory.ReadWrite.All`, 1)
	impostor := rsaExtKey(t, 0, "rsa-1", jose.RS256) // another private key under a published kid
	own := rsaExtKey(t, 0, testKey(t).ID, jose.RS256)

	tests := []struct {
		name  string
		entry func(*TrustedIssuer)
		token string
		msg   string
	}{
		{name: "unknown issuer", token: rs.sign(t, "", userClaims("https://login.example.com/realms/corp")), msg: msgIssuer},
		{name: "issuer with a trailing slash", token: rs.sign(t, "", userClaims(iss+"/")), msg: msgIssuer},
		{name: "no iss", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { delete(m, "iss") })), msg: msgIssuer},
		{name: "wrong aud", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["aud"] = "account" })), msg: msgAudience},
		{name: "no aud", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { delete(m, "aud") })), msg: msgAudience},
		{name: "Graph's aud where the entry names its own", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["aud"] = Audience })), msg: msgAudience},
		{name: "alg the entry does not accept", entry: func(e *TrustedIssuer) { e.Algorithms = []jose.SignatureAlgorithm{jose.RS256} }, token: ec.sign(t, "", userClaims(iss)), msg: msgMalformed},
		{name: "alg no issuer accepts", token: rs.sign(t, jose.RS512, userClaims(iss)), msg: msgMalformed},
		{name: "alg none", token: b64(`{"alg":"none","kid":"rsa-1"}`) + "." + parts[1] + ".", msg: msgMalformed},
		{name: "HS256 with the public key", token: hs256, msg: msgMalformed},
		{name: "expired", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["exp"] = t0.Add(-6 * time.Minute).Unix() })), msg: msgExpired},
		{name: "not yet valid", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["nbf"] = t0.Add(6 * time.Minute).Unix() })), msg: msgNotYetValid},
		{name: "no exp", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { delete(m, "exp") })), msg: msgInvalid},
		{name: "tampered payload", token: parts[0] + "." + b64(tampered) + "." + parts[2], msg: msgInvalid},
		{name: "another key under a published kid", token: impostor.sign(t, "", userClaims(iss)), msg: msgInvalid},
		{name: "no kid", token: b64(`{"alg":"RS256"}`) + "." + parts[1] + "." + parts[2], msg: msgInvalid},
		{name: "unknown kid", token: rsaExtKey(t, 1, "rsa-9", jose.RS256).sign(t, "", userClaims(iss)), msg: msgInvalid},
		{name: "key published for another alg", token: ps.sign(t, jose.RS256, userClaims(iss)), msg: msgInvalid},
		{name: "EC key named in an RSA token", token: b64(`{"alg":"RS256","kid":"ec-1"}`) + "." + parts[1] + "." + parts[2], msg: msgInvalid},
		{name: "orgraph's key with the IdP's iss", token: own.sign(t, "", userClaims(iss)), msg: msgInvalid},
		{name: "the IdP's key with orgraph's iss", token: rs.sign(t, "", rawWith(func(m map[string]any) {})), msg: msgInvalid},
		{name: "unknown user", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["preferred_username"] = "nobody@contoso.onmicrosoft.com" })), msg: msgInvalid},
		{name: "delegated without the UPN claim", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { delete(m, "preferred_username") })), msg: msgInvalid},
		{name: "scope is a number", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["scope"] = 7 })), msg: msgInvalid},
		{name: "roles hold a number", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
			m["realm_access"] = map[string]any{"roles": []any{"User.Read.All", 7}}
		})), msg: msgInvalid},
		{name: "UPN is an object", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) { m["preferred_username"] = map[string]any{} })), msg: msgInvalid},
		{name: "mapped tenant claim missing", entry: func(e *TrustedIssuer) { e.Tenant, e.Claims.TenantID = "", "org.tenant" }, token: valid, msg: msgInvalid},
		{name: "mapped oid missing", entry: func(e *TrustedIssuer) { e.Claims.ObjectID = "oid" }, token: valid, msg: msgInvalid},
		{name: "app token without sub", token: rs.sign(t, "", userClaims(iss, func(m map[string]any) {
			delete(m, "sub")
			m["realm_access"] = map[string]any{"roles": []string{"User.Read.All"}}
		})), msg: msgInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := keycloak(iss)
			if tt.entry != nil {
				tt.entry(&e)
			}
			v, _, _ := newExternalVerifier(t, e)
			p, err := v.Verify(context.Background(), tt.token)
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %+v, %v; want *TokenError", p, err)
			}
			if te.Message != tt.msg {
				t.Errorf("message %q (cause %v), want %q", te.Message, te.Cause, tt.msg)
			}
			// The error is logged; the token, a credential, must not be in it, nor any part of it.
			for _, part := range strings.Split(tt.token, ".") {
				if len(part) > 8 && strings.Contains(err.Error(), part) {
					t.Errorf("the error quotes the token: %v", err)
				}
			}
		})
	}
}

// TestExternalKeyRotation: a key the IdP adds is fetched when its first token arrives, a flood of unknown kids
// costs the IdP one fetch per interval, and a key it withdrew stops verifying.
func TestExternalKeyRotation(t *testing.T) {
	a, b := rsaExtKey(t, 1, "key-a", jose.RS256), ecExtKey(t, "key-b")
	provider := newIdP(t, a)
	iss := provider.issuer()
	v, clk, _ := newExternalVerifier(t, keycloak(iss))
	ctx := context.Background()
	if _, err := v.Verify(ctx, a.sign(t, "", userClaims(iss))); err != nil {
		t.Fatal(err)
	}
	if d, f := provider.counts(); d != 1 || f != 1 {
		t.Fatalf("%d discoveries and %d key fetches for the first token, want 1 and 1", d, f)
	}

	// The IdP rotates to b. Within the interval of the first fetch, b's token is not looked for.
	provider.publish(b)
	tokB := b.sign(t, "", userClaims(iss))
	var te *TokenError
	if _, err := v.Verify(ctx, tokB); !errors.As(err, &te) {
		t.Fatalf("new kid within the interval: %v, want *TokenError", err)
	}
	clk.add(jwksInterval)
	if _, err := v.Verify(ctx, tokB); err != nil {
		t.Fatalf("new kid after the interval: %v", err)
	}
	if d, f := provider.counts(); d != 1 || f != 2 {
		t.Fatalf("%d discoveries and %d key fetches after the rotation, want 1 (jwks_uri is kept) and 2", d, f)
	}

	// a was withdrawn: a fresh token of it fails now, a's cached token lives on until it expires.
	if _, err := v.Verify(ctx, a.sign(t, "", userClaims(iss, func(m map[string]any) { m["jti"] = "fresh" }))); !errors.As(err, &te) {
		t.Fatalf("withdrawn key: %v, want *TokenError", err)
	}

	// A flood of forged kids, over three intervals: at most one fetch each.
	_, before := provider.counts()
	for i := range 300 {
		if i%100 == 0 {
			clk.add(jwksInterval)
		}
		forged := ecExtKey(t, "forged-"+strconv.Itoa(i)).sign(t, "", userClaims(iss))
		if _, err := v.Verify(ctx, forged); !errors.As(err, &te) {
			t.Fatalf("forged kid: %v, want *TokenError", err)
		}
	}
	if _, after := provider.counts(); after-before > 3 {
		t.Errorf("%d key fetches for 300 forged kids over 3 intervals, want at most 3", after-before)
	}
	// Known keys need no fetch.
	_, before = provider.counts()
	if _, err := v.Verify(ctx, b.sign(t, "", userClaims(iss, func(m map[string]any) { m["jti"] = "again" }))); err != nil {
		t.Fatal(err)
	}
	if _, after := provider.counts(); after != before {
		t.Errorf("a known kid caused %d fetches", after-before)
	}
}

// TestExternalKeysOutliveOutage: keys past their age are fetched again at their next use; while the IdP is
// down, the cached keys go on serving, while a kid the cache lacks is the server's problem, not a bad token.
func TestExternalKeysOutliveOutage(t *testing.T) {
	a, b := rsaExtKey(t, 1, "key-a", jose.RS256), ecExtKey(t, "key-b")
	provider := newIdP(t, a)
	iss := provider.issuer()
	v, clk, _ := newExternalVerifier(t, keycloak(iss))
	ctx := context.Background()
	if _, err := v.Verify(ctx, a.sign(t, "", userClaims(iss))); err != nil {
		t.Fatal(err)
	}
	provider.setDown(true)
	clk.add(jwksMaxAge)
	_, before := provider.counts()
	fresh := func(n string) string {
		return a.sign(t, "", userClaims(iss, func(m map[string]any) {
			m["jti"], m["exp"] = n, clk.now().Add(time.Hour).Unix()
		}))
	}
	for i := range 5 {
		if _, err := v.Verify(ctx, fresh(string(rune('a'+i)))); err != nil {
			t.Fatalf("cached key while the IdP is down: %v", err)
		}
	}
	if _, after := provider.counts(); after-before != 1 {
		t.Errorf("%d fetches for 5 tokens on stale keys within one interval, want 1", after-before)
	}
	_, err := v.Verify(ctx, b.sign(t, "", userClaims(iss, func(m map[string]any) { m["exp"] = clk.now().Add(time.Hour).Unix() })))
	var (
		te *TokenError
		fe *KeyFetchError
	)
	if errors.As(err, &te) || !errors.As(err, &fe) || fe.Issuer != iss {
		t.Fatalf("unknown kid while the IdP is down: %v, want a *KeyFetchError for %s and no *TokenError", err, iss)
	}

	// The IdP is back, having withdrawn a: the next refresh drops it.
	provider.setDown(false)
	provider.publish(b)
	clk.add(jwksInterval)
	if _, err := v.Verify(ctx, fresh("after")); !errors.As(err, &te) {
		t.Fatalf("withdrawn key after the refresh: %v, want *TokenError", err)
	}
}

// TestExternalIdPDownAtStart: nothing is fetched at construction; FetchTrustedKeys reports an unreachable IdP,
// tokens then fail as the server's problem, at one fetch per interval, and work once the IdP is back.
func TestExternalIdPDownAtStart(t *testing.T) {
	a := rsaExtKey(t, 1, "key-a", jose.RS256)
	provider := newIdP(t, a)
	provider.setDown(true)
	iss := provider.issuer()
	v, clk, _ := newExternalVerifier(t, keycloak(iss))
	if d, f := provider.counts(); d+f != 0 {
		t.Fatalf("NewTrustingVerifier made %d requests, want none", d+f)
	}
	ctx := context.Background()
	var fe *KeyFetchError
	if err := v.FetchTrustedKeys(ctx); !errors.As(err, &fe) || fe.Issuer != iss || !strings.Contains(err.Error(), "503") {
		t.Fatalf("FetchTrustedKeys with the IdP down: %v, want a *KeyFetchError naming the status", err)
	}
	tok := a.sign(t, "", userClaims(iss))
	for range 3 {
		_, err := v.Verify(ctx, tok)
		var te *TokenError
		if errors.As(err, &te) || !errors.As(err, &fe) {
			t.Fatalf("IdP down: %v, want a *KeyFetchError and no *TokenError", err)
		}
	}
	if d, _ := provider.counts(); d != 1 {
		t.Errorf("%d discovery requests within one interval, want 1", d)
	}
	provider.setDown(false)
	clk.add(jwksInterval)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("IdP back: %v", err)
	}
}

// TestExternalFetchRules: a configured jwksUri skips discovery; a discovery document for another issuer, a key
// set URL or redirect on plain http elsewhere than loopback, an oversized or failing answer and a hanging IdP
// are all fetch errors, within the client's timeout.
func TestExternalFetchRules(t *testing.T) {
	a := rsaExtKey(t, 1, "key-a", jose.RS256)
	ctx := context.Background()
	verifyWith := func(t *testing.T, e TrustedIssuer, tok string, tweak func(*Verifier)) error {
		t.Helper()
		v, _, _ := newExternalVerifier(t, e)
		if tweak != nil {
			tweak(v)
		}
		_, err := v.Verify(ctx, tok)
		return err
	}

	t.Run("jwksUri skips discovery", func(t *testing.T) {
		provider := newIdP(t, a)
		e := keycloak(provider.issuer())
		e.JWKSURI = provider.issuer() + "/keys"
		if err := verifyWith(t, e, a.sign(t, "", userClaims(e.Issuer)), nil); err != nil {
			t.Fatal(err)
		}
		if d, f := provider.counts(); d != 0 || f != 1 {
			t.Errorf("%d discoveries, %d fetches; want 0 and 1", d, f)
		}
	})

	fetchErr := func(t *testing.T, err error, want string) {
		t.Helper()
		var (
			fe *KeyFetchError
			te *TokenError
		)
		if !errors.As(err, &fe) || errors.As(err, &te) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v; want a *KeyFetchError saying %q", err, want)
		}
	}
	t.Run("discovery for another issuer", func(t *testing.T) {
		provider := newIdP(t, a)
		provider.docIssuer = "https://attacker.example"
		fetchErr(t, verifyWith(t, keycloak(provider.issuer()), a.sign(t, "", userClaims(provider.issuer())), nil), `for issuer "https://attacker.example"`)
	})

	other := func(t *testing.T, h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"discovery names an http key set", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]string{"issuer": "http://" + r.Host, "jwks_uri": "http://keys.example.com/keys"})
		}, "want https"},
		{"redirect to plain http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://keys.example.com/keys", http.StatusFound)
		}, "want https"},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[` + strings.Repeat(" ", maxDocBytes) + `]}`))
		}, "larger than"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "404"},
		{"not a key set", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`<html>`)) }, "invalid character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := other(t, c.handler)
			e := keycloak(base)
			if c.name != "discovery names an http key set" {
				e.JWKSURI = base + "/keys"
			}
			fetchErr(t, verifyWith(t, e, a.sign(t, "", userClaims(base)), nil), c.want)
		})
	}

	t.Run("hanging IdP", func(t *testing.T) {
		release := make(chan struct{})
		base := other(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		e := keycloak(base)
		e.JWKSURI = base + "/keys"
		start := time.Now()
		err := verifyWith(t, e, a.sign(t, "", userClaims(base)), func(v *Verifier) { v.external[base].client.Timeout = 200 * time.Millisecond })
		fetchErr(t, err, "Timeout")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s with a 200ms client timeout", d)
		}
	})
}

// TestExternalConcurrentFirstFetch: many requests meeting a new issuer at once fetch its keys once.
func TestExternalConcurrentFirstFetch(t *testing.T) {
	a, b := rsaExtKey(t, 1, "key-a", jose.RS256), ecExtKey(t, "key-b")
	provider := newIdP(t, a, b)
	iss := provider.issuer()
	v, _, dir := newExternalVerifier(t, keycloak(iss))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			k := []extKey{a, b}[i%2]
			tok := k.sign(t, "", userClaims(iss, func(m map[string]any) { m["jti"] = string(rune('a' + i)) }))
			for range 5 {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if d, f := provider.counts(); d != 1 || f != 1 {
		t.Errorf("%d discoveries and %d fetches, want 1 and 1", d, f)
	}
	// The verified-token cache serves external tokens too: one user lookup per distinct token.
	dir.mu.Lock()
	defer dir.mu.Unlock()
	if dir.lookups != 16 {
		t.Errorf("%d user lookups for 16 tokens verified 5 times each, want 16", dir.lookups)
	}
}

// TestExternalEntraAsIssuer: an issuer in orgraph's own format, listed in the file, is verified by its entry
// (Entra ID itself in front of orgraph); orgraph's tokens of other tenants are still its own.
func TestExternalEntraAsIssuer(t *testing.T) {
	const entraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	a := rsaExtKey(t, 1, "entra-key", jose.RS256)
	provider := newIdP(t, a)
	e := TrustedIssuer{
		Issuer:  Issuer(entraTenant),
		JWKSURI: provider.issuer() + "/keys",
		Tenant:  testTenant,
		Claims:  ClaimMapping{ObjectID: "oid", Scopes: "scp", Roles: "roles", UPN: "upn", AppID: "appid"},
	}
	v, _, _ := newExternalVerifier(t, e)
	ctx := context.Background()
	entra := a.sign(t, "", rawWith(func(m map[string]any) { m["iss"], m["tid"] = Issuer(entraTenant), entraTenant }))
	p, err := v.Verify(ctx, entra)
	if err != nil {
		t.Fatal(err)
	}
	if p.TenantID != testTenant || p.ObjectID != testOID || !reflect.DeepEqual(p.Roles, []string{"User.Read.All"}) {
		t.Errorf("Entra's token: %+v", p)
	}
	if _, err := v.Verify(ctx, mustMint(t, testKey(t), appClaims(), t0, time.Hour)); err != nil {
		t.Errorf("orgraph's own token: %v", err)
	}
	var te *TokenError
	if _, err := v.Verify(ctx, mustMint(t, testKey(t), Claims{TenantID: entraTenant, ObjectID: testOID}, t0, time.Hour)); !errors.As(err, &te) {
		t.Errorf("orgraph's key under the trusted issuer: %v, want *TokenError", err)
	}
}

func TestNewTrustingVerifierNeedsLookup(t *testing.T) {
	_, err := NewTrustingVerifier((&keyStore{}).source, time.Now, []TrustedIssuer{keycloak("https://sso.example.com/realms/corp")}, TrustOptions{})
	if err == nil || !strings.Contains(err.Error(), "UserLookup") {
		t.Errorf("upn without oid and no lookup: %v", err)
	}
	_, err = NewTrustingVerifier((&keyStore{}).source, time.Now, []TrustedIssuer{{Issuer: "http://idp.example.com"}}, TrustOptions{})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("an unchecked entry: %v, want *ConfigError", err)
	}
}

func TestParseJWKS(t *testing.T) {
	rs, ec := rsaExtKey(t, 1, "rsa", jose.RS256), ecExtKey(t, "ec")
	jwk := func(k jose.JSONWebKey) string {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := jwk(rs.public())
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	enc := rs.public()
	enc.KeyID, enc.Use, enc.Algorithm = "enc", "enc", "RSA-OAEP"
	tests := []struct {
		name    string
		set     string
		kids    []string
		skipped string // in the skipped error; "" for none
		err     string
	}{
		{name: "RSA and EC", set: `{"keys":[` + good + `,` + jwk(ec.public()) + `]}`, kids: []string{"ec", "rsa"}},
		{name: "encryption key left out silently", set: `{"keys":[` + good + `,` + jwk(enc) + `]}`, kids: []string{"rsa"}},
		{name: "unknown kty", set: `{"keys":[{"kty":"PQC","kid":"x"},` + good + `]}`, kids: []string{"rsa"}, skipped: "key 0"},
		{name: "X25519 is no signing key", set: `{"keys":[{"kty":"OKP","crv":"X25519","kid":"x","x":"` + b64(strings.Repeat("k", 32)) + `"},` + good + `]}`, kids: []string{"rsa"}, skipped: "key 0"},
		{name: "weak RSA", set: `{"keys":[` + jwk(jose.JSONWebKey{Key: &weak.PublicKey, KeyID: "weak"}) + `,` + good + `]}`, kids: []string{"rsa"}, skipped: "1024 bits"},
		{name: "no kid", set: `{"keys":[` + jwk(jose.JSONWebKey{Key: rs.priv.Public()}) + `,` + good + `]}`, kids: []string{"rsa"}, skipped: "no kid"},
		{name: "private key", set: `{"keys":[` + good + `,` + jwk(jose.JSONWebKey{Key: rs.priv, KeyID: "leak"}) + `]}`, err: "private or symmetric"},
		{name: "symmetric key", set: `{"keys":[{"kty":"oct","kid":"hmac","k":"` + b64("secret") + `"},` + good + `]}`, err: "private or symmetric"},
		{name: "nothing usable", set: `{"keys":[{"kty":"PQC"}]}`, err: "no usable signing key"},
		{name: "empty", set: `{"keys":[]}`, err: "no usable signing key"},
		{name: "not JSON", set: `keys`, err: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, skipped, err := parseJWKS([]byte(tt.set))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kids := slices.Sorted(maps.Keys(keys)); !slices.Equal(kids, tt.kids) {
				t.Errorf("kids %v, want %v", kids, tt.kids)
			}
			if (skipped == nil) != (tt.skipped == "") || (skipped != nil && !strings.Contains(skipped.Error(), tt.skipped)) {
				t.Errorf("skipped %v, want %q", skipped, tt.skipped)
			}
		})
	}
}

// FuzzMapClaims feeds arbitrary payloads (as a signed token from a trusted IdP carries them) to the claim
// mapping: it must never panic, and what it accepts must carry a tenant and only Graph permissions, once each.
func FuzzMapClaims(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"preferred_username":"a@b.c","scope":"User.Read openid User.Read"}`,
		`{"realm_access":{"roles":["User.Read.All",7]}}`, `{"realm_access":"x"}`, `{"realm_access":{"roles":"User.Read.All"}}`,
		`{"org":{"tenant":""}}`, `{"org":{"tenant":{"id":1}}}`, `{"org.tenant":"t1","org":{"tenant":"t2"}}`,
		`{"scope":["Directory.Read.All",null]}`, `{"scope":{"a":1}}`, `{"sub":"x","oid":7}`,
	} {
		f.Add([]byte(s))
	}
	entries := []TrustedIssuer{keycloak("https://sso.example.com"), {
		Issuer: "https://sso.example.com", Scopes: []string{"User.Read"},
		Claims: ClaimMapping{TenantID: "org.tenant", ObjectID: "sub", Scopes: "scope", Roles: "a.b.c.d", UPN: "upn"},
	}}
	if err := checkIssuers(entries[:1]); err != nil {
		f.Fatal(err)
	}
	if err := checkIssuers(entries[1:]); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var m map[string]any
		if json.Unmarshal(payload, &m) != nil {
			return
		}
		for _, e := range entries {
			c, err := e.mapClaims(m)
			if err != nil {
				continue
			}
			if c.TenantID == "" || (e.Claims.ObjectID != "" && c.ObjectID == "") {
				t.Fatalf("accepted without a tenant or a mapped oid: %+v", c)
			}
			for _, l := range [][]string{c.Scopes, c.Roles} {
				seen := map[string]bool{}
				for _, p := range l {
					if !graphPermissions[p] || seen[p] {
						t.Fatalf("permission %q: unknown or repeated in %v", p, l)
					}
					seen[p] = true
				}
			}
		}
	})
}
