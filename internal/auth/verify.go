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

// Verifier checks bearer tokens: orgraph's own, signed by the keys in the store, and those of the external
// issuers it was told to trust (NewTrustingVerifier). It caches the parsed public keys and reloads them from
// its KeySource when it meets an unknown kid (at most once a second), so a key minted by the CLI while the
// server runs is accepted without a restart. It caches verified tokens, because signature verification
// dominates a cheap GET. It is safe for concurrent use.
type Verifier struct {
	now      func() time.Time
	own      *keyring[*rsa.PublicKey]
	external map[string]*external      // by iss; read-only after construction
	algs     []jose.SignatureAlgorithm // every algorithm some issuer signs with, for the parser

	cacheMu sync.RWMutex
	cache   map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	p         *Principal
	notBefore time.Time // zero if the token had no nbf
}

// NewVerifier returns a verifier of orgraph's own tokens that loads keys from src and reads the time from now.
func NewVerifier(src KeySource, now func() time.Time) *Verifier {
	return &Verifier{
		now:   now,
		own:   &keyring[*rsa.PublicKey]{load: ownKeys(src), interval: reloadInterval},
		algs:  []jose.SignatureAlgorithm{jose.RS256},
		cache: make(map[[sha256.Size]byte]cacheEntry),
	}
}

// Verify parses and validates token. Which issuer's rules apply is decided by its unverified iss: an issuer
// given to NewTrustingVerifier has its entry's (see TrustedIssuer); orgraph's own (https://sts.windows.net/…)
// needs RS256, signed by a known kid, iss equal to Issuer of the token's own tid, aud one of Graph's, tid and
// oid present; any other iss is refused. Either way exp and nbf must hold within 5 minutes' leeway. A bad token
// yields a *TokenError; a failure to load keys is returned wrapped, as it is the server's fault, not the caller's.
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
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		return nil, tokenErr(msgMalformed, err)
	}
	// The unverified iss only picks the keys and rules to verify with; each path checks the verified iss.
	var unverified struct {
		Issuer string `json:"iss"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, tokenErr(msgInvalid, err)
	}
	var (
		p   *Principal
		nbf time.Time
	)
	switch ext := v.external[unverified.Issuer]; {
	case ext != nil:
		// First, so that Entra ID itself (iss https://sts.windows.net/{its tid}/) can be a trusted issuer.
		p, nbf, err = ext.verify(ctx, tok, now)
	case strings.HasPrefix(unverified.Issuer, issuerPrefix):
		p, nbf, err = v.verifyOwn(ctx, tok, now)
	default:
		return nil, tokenErr(msgIssuer, fmt.Errorf("iss %q is neither orgraph's nor a trusted issuer", unverified.Issuer))
	}
	if err != nil {
		return nil, err
	}
	v.store(sum, cacheEntry{p: p, notBefore: nbf}, now)
	return p, nil
}

// verifyOwn checks a token orgraph minted.
func (v *Verifier) verifyOwn(ctx context.Context, tok *jwt.JSONWebToken, now time.Time) (*Principal, time.Time, error) {
	hdr := tok.Headers[0]
	if jose.SignatureAlgorithm(hdr.Algorithm) != jose.RS256 {
		return nil, time.Time{}, tokenErr(msgMalformed, fmt.Errorf("alg %q: orgraph signs with RS256", hdr.Algorithm))
	}
	if hdr.KeyID == "" {
		return nil, time.Time{}, tokenErr(msgInvalid, errors.New("no kid in header"))
	}
	pub, err := v.own.get(ctx, hdr.KeyID, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	var w wireClaims
	if err := tok.Claims(pub, &w); err != nil {
		return nil, time.Time{}, tokenErr(msgInvalid, err)
	}
	exp, nbf, err := lifetime(w.Expiry, w.NotBefore, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !audienceIn(w.Audience, acceptedAudiences) {
		return nil, time.Time{}, tokenErr(msgAudience, fmt.Errorf("aud %q", []string(w.Audience)))
	}
	if w.TenantID == "" || w.ObjectID == "" {
		return nil, time.Time{}, tokenErr(msgInvalid, errors.New("tid or oid missing"))
	}
	if w.Issuer != Issuer(w.TenantID) {
		return nil, time.Time{}, tokenErr(msgIssuer, fmt.Errorf("iss %q for tid %q", w.Issuer, w.TenantID))
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
	return p, nbf, nil
}

// lifetime applies the exp and nbf rules every token follows, whoever issued it: exp required, both checked
// with the leeway Entra-protected APIs allow. It returns exp and nbf (zero if absent).
func lifetime(expiry, notBefore *jwt.NumericDate, now time.Time) (exp, nbf time.Time, err error) {
	if expiry == nil {
		return exp, nbf, tokenErr(msgInvalid, errors.New("no exp claim"))
	}
	exp = expiry.Time().UTC()
	if now.Add(-leeway).After(exp) {
		return exp, nbf, tokenErr(msgExpired, fmt.Errorf("expired at %s", exp.Format(time.RFC3339)))
	}
	if notBefore != nil {
		nbf = notBefore.Time().UTC()
		if now.Add(leeway).Before(nbf) {
			return exp, nbf, tokenErr(msgNotYetValid, fmt.Errorf("not valid before %s", nbf.Format(time.RFC3339)))
		}
	}
	return exp, nbf, nil
}

func audienceIn(aud jwt.Audience, accepted []string) bool {
	for _, a := range accepted {
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

// ownKeys loads orgraph's signing keys from src as public keys by kid.
func ownKeys(src KeySource) func(context.Context) (map[string]*rsa.PublicKey, error) {
	return func(ctx context.Context) (map[string]*rsa.PublicKey, error) {
		list, err := src(ctx)
		if err != nil {
			return nil, fmt.Errorf("auth: loading signing keys: %w", err)
		}
		keys := make(map[string]*rsa.PublicKey, len(list))
		for _, k := range list {
			priv, err := k.privateKey()
			if err != nil {
				return nil, fmt.Errorf("auth: loading signing keys: %w", err)
			}
			keys[k.ID] = &priv.PublicKey
		}
		return keys, nil
	}
}
