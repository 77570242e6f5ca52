package auth

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// leeway is the clock skew Entra-protected APIs tolerate on exp and nbf.
	leeway = 5 * time.Minute
	// reloadInterval bounds how often unknown kids make the verifier ask the store, so a flood of forged
	// tokens costs the store at most one load a second.
	reloadInterval = time.Second
	// cacheSize bounds the verified-token cache; beyond it, entries are evicted.
	cacheSize = 10000
)

// Client-facing messages, as Graph words them for the same faults.
const (
	msgEmpty       = "Access token is empty."
	msgMalformed   = "CompactToken parsing failed with error code: 80049217"
	msgInvalid     = "Access token validation failure."
	msgAudience    = "Access token validation failure. Invalid audience."
	msgIssuer      = "Access token validation failure. Invalid issuer."
	msgExpired     = "Lifetime validation failed, the token is expired."
	msgNotYetValid = "Access token has expired or is not yet valid."
)

// TokenError is a token the caller must not be let in with; the HTTP layer answers 401
// InvalidAuthenticationToken with Message. Cause says why, for logs only.
type TokenError struct {
	Message string
	Cause   error
}

func (e *TokenError) Error() string {
	if e.Cause == nil {
		return "auth: " + e.Message
	}
	return "auth: " + e.Message + ": " + e.Cause.Error()
}

func (e *TokenError) Unwrap() error { return e.Cause }

func tokenErr(msg string, cause error) *TokenError { return &TokenError{Message: msg, Cause: cause} }

// KeySource loads the current signing keys (from the store).
type KeySource func(ctx context.Context) ([]SigningKey, error)

// Principal is the caller a verified token names. It is shared between requests presenting the same token:
// treat it as read-only.
type Principal struct {
	Claims
	Delegated bool // scp present and no roles: a user signed in through an app
	ExpiresAt time.Time
}

// Verifier checks bearer tokens. It caches the parsed public keys and reloads them from its KeySource when
// it meets an unknown kid (at most once a second), so a key minted by the CLI while the server
// runs is accepted without a restart. It caches verified tokens, because RSA verification dominates a
// cheap GET. It is safe for concurrent use.
type Verifier struct {
	src KeySource
	now func() time.Time

	keysMu   sync.RWMutex
	keys     map[string]*rsa.PublicKey
	loadMu   sync.Mutex // serialises loads, so concurrent misses on one new kid load once
	lastLoad time.Time  // guarded by loadMu
	loadErr  error      // guarded by loadMu: the last load's failure, repeated until the next allowed load

	cacheMu sync.RWMutex
	cache   map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	p         *Principal
	notBefore time.Time // zero if the token had no nbf
}

// NewVerifier returns a verifier that loads keys from src and reads the time from now.
func NewVerifier(src KeySource, now func() time.Time) *Verifier {
	return &Verifier{src: src, now: now, cache: make(map[[sha256.Size]byte]cacheEntry)}
}

// Verify parses and validates token: only RS256, signed by a known kid, exp/nbf within 5 minutes' leeway,
// iss equal to Issuer of the token's own tid, aud one of Graph's, tid and oid present. A bad token yields a
// *TokenError; a failure to load keys is returned wrapped, as it is the server's fault, not the caller's.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, tokenErr(msgEmpty, nil)
	}
	now := v.now()
	sum := sha256.Sum256([]byte(token))
	if p, ok := v.cached(sum, now); ok {
		return p, nil
	}

	// A compact JWS has exactly three parts; checking first keeps junk away from the JOSE parser.
	if strings.Count(token, ".") != 2 {
		return nil, tokenErr(msgMalformed, errors.New("not a compact JWS"))
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, tokenErr(msgMalformed, err)
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return nil, tokenErr(msgInvalid, errors.New("no kid in header"))
	}
	pub, err := v.key(ctx, kid, now)
	if err != nil {
		return nil, err
	}
	var w wireClaims
	if err := tok.Claims(pub, &w); err != nil {
		return nil, tokenErr(msgInvalid, err)
	}

	if w.Expiry == nil {
		return nil, tokenErr(msgInvalid, errors.New("no exp claim"))
	}
	exp := w.Expiry.Time().UTC()
	if now.Add(-leeway).After(exp) {
		return nil, tokenErr(msgExpired, fmt.Errorf("expired at %s", exp.Format(time.RFC3339)))
	}
	var nbf time.Time
	if w.NotBefore != nil {
		nbf = w.NotBefore.Time().UTC()
		if now.Add(leeway).Before(nbf) {
			return nil, tokenErr(msgNotYetValid, fmt.Errorf("not valid before %s", nbf.Format(time.RFC3339)))
		}
	}
	if !audienceOK(w.Audience) {
		return nil, tokenErr(msgAudience, fmt.Errorf("aud %q", []string(w.Audience)))
	}
	if w.TenantID == "" || w.ObjectID == "" {
		return nil, tokenErr(msgInvalid, errors.New("tid or oid missing"))
	}
	if w.Issuer != Issuer(w.TenantID) {
		return nil, tokenErr(msgIssuer, fmt.Errorf("iss %q for tid %q", w.Issuer, w.TenantID))
	}

	p := &Principal{
		Claims: Claims{
			TenantID: w.TenantID,
			ObjectID: w.ObjectID,
			AppID:    w.AppID,
			Roles:    w.Roles,
			UPN:      w.UPN,
		},
		ExpiresAt: exp,
	}
	if w.Scope != "" {
		p.Scopes = strings.Fields(w.Scope)
	}
	if p.AppID == "" {
		p.AppID = w.AZP
	}
	if p.UPN == "" {
		p.UPN = w.UniqueName
	}
	p.Delegated = len(p.Scopes) > 0 && len(p.Roles) == 0
	v.store(sum, cacheEntry{p: p, notBefore: nbf}, now)
	return p, nil
}

func audienceOK(aud jwt.Audience) bool {
	for _, a := range acceptedAudiences {
		if aud.Contains(a) {
			return true
		}
	}
	return false
}

// valid applies the same lifetime rule as an uncached verification.
func (e cacheEntry) valid(now time.Time) bool {
	return !now.Add(-leeway).After(e.p.ExpiresAt) && (e.notBefore.IsZero() || !now.Add(leeway).Before(e.notBefore))
}

func (v *Verifier) cached(sum [sha256.Size]byte, now time.Time) (*Principal, bool) {
	v.cacheMu.RLock()
	e, ok := v.cache[sum]
	v.cacheMu.RUnlock()
	if !ok {
		return nil, false
	}
	if !e.valid(now) {
		// Verify again from scratch, so the caller gets the precise error.
		v.cacheMu.Lock()
		delete(v.cache, sum)
		v.cacheMu.Unlock()
		return nil, false
	}
	return e.p, true
}

func (v *Verifier) store(sum [sha256.Size]byte, e cacheEntry, now time.Time) {
	v.cacheMu.Lock()
	defer v.cacheMu.Unlock()
	if len(v.cache) >= cacheSize {
		for k, old := range v.cache {
			if !old.valid(now) {
				delete(v.cache, k)
			}
		}
		// Still full of live tokens: drop a tenth, in map order (arbitrary), rather than one per insert,
		// so the sweep above stays rare.
		for k := range v.cache {
			if len(v.cache) < cacheSize-cacheSize/10 {
				break
			}
			delete(v.cache, k)
		}
	}
	v.cache[sum] = e
}

// key returns the public key for kid, loading keys from the source when kid is unknown and the last load
// is at least reloadInterval old.
func (v *Verifier) key(ctx context.Context, kid string, now time.Time) (*rsa.PublicKey, error) {
	if pub := v.lookup(kid); pub != nil {
		return pub, nil
	}
	v.loadMu.Lock()
	defer v.loadMu.Unlock()
	// Another request may have loaded the key while this one waited.
	if pub := v.lookup(kid); pub != nil {
		return pub, nil
	}
	if !v.lastLoad.IsZero() && now.Sub(v.lastLoad) < reloadInterval {
		if v.loadErr != nil {
			return nil, v.loadErr
		}
		return nil, tokenErr(msgInvalid, fmt.Errorf("unknown signing key %q", kid))
	}
	prev := v.lastLoad
	v.lastLoad = now
	if err := v.load(ctx); err != nil {
		if ctx.Err() != nil {
			// This caller gave up; that says nothing about the store, so the next caller may try at once.
			v.lastLoad = prev
			return nil, err
		}
		v.loadErr = err
		return nil, err
	}
	v.loadErr = nil
	if pub := v.lookup(kid); pub != nil {
		return pub, nil
	}
	return nil, tokenErr(msgInvalid, fmt.Errorf("unknown signing key %q", kid))
}

func (v *Verifier) lookup(kid string) *rsa.PublicKey {
	v.keysMu.RLock()
	defer v.keysMu.RUnlock()
	return v.keys[kid]
}

// load replaces the key set, so keys removed from the store stop verifying at the next load.
func (v *Verifier) load(ctx context.Context) error {
	list, err := v.src(ctx)
	if err != nil {
		return fmt.Errorf("auth: loading signing keys: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(list))
	for _, k := range list {
		priv, err := k.privateKey()
		if err != nil {
			return fmt.Errorf("auth: loading signing keys: %w", err)
		}
		keys[k.ID] = &priv.PublicKey
	}
	v.keysMu.Lock()
	v.keys = keys
	v.keysMu.Unlock()
	return nil
}
