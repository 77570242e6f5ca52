package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Limits on fetching a trusted issuer's discovery document and keys.
const (
	// fetchTimeout bounds one request, body included, so a hanging IdP holds a verification that long at most.
	fetchTimeout = 10 * time.Second
	// maxDocBytes bounds a discovery document or key set; real ones are a few KB.
	maxDocBytes = 1 << 20
	// maxRedirects bounds the redirects followed, each of which must itself be https (or loopback).
	maxRedirects = 5
	// jwksInterval bounds how often unknown kids make orgraph ask an issuer for its keys, so a flood of forged
	// tokens costs the IdP at most one request per interval, while a rotated key is found within it.
	jwksInterval = 10 * time.Second
	// jwksMaxAge is how long fetched keys are used before they are fetched again, so a key the IdP withdrew
	// stops verifying within it (unless the IdP cannot be reached; then the old keys go on serving).
	jwksMaxAge = time.Hour
)

// UserLookup returns the object id of the user whose userPrincipalName is upn in tenant, or ErrUnknownUser.
type UserLookup func(ctx context.Context, tenant, upn string) (string, error)

// ErrUnknownUser is what a UserLookup returns when no user in the tenant has the name.
var ErrUnknownUser = errors.New("auth: no user has this userPrincipalName")

// TrustOptions are what a verifier of external issuers' tokens needs from the server.
type TrustOptions struct {
	// LookupUPN finds the signed-in user of a delegated token whose issuer maps upn but not oid (its sub is
	// the IdP's id of the user, which orgraph does not know). Required when an issuer does so.
	LookupUPN UserLookup
	// Logger hears of keys that could not be refreshed while cached ones went on serving, and of keys left
	// out of a key set; nil: discarded.
	Logger *slog.Logger
}

// KeyFetchError is a failure to fetch a trusted issuer's discovery document or keys. It is the server's
// problem, not the caller's, so it is never a *TokenError.
type KeyFetchError struct {
	Issuer string
	URL    string
	Err    error
}

func (e *KeyFetchError) Error() string {
	return fmt.Sprintf("auth: trusted issuer %q: fetching %s: %v", e.Issuer, e.URL, e.Err)
}

func (e *KeyFetchError) Unwrap() error { return e.Err }

// external is one trusted issuer at run time: its entry, and its keys.
type external struct {
	cfg    TrustedIssuer
	client *http.Client
	lookup UserLookup
	log    *slog.Logger
	keys   *keyring[[]jose.JSONWebKey]
	// jwksURI is the configured or, once discovered, the discovered key set URL; guarded by keys.loadMu,
	// under which every fetch runs.
	jwksURI string
}

// NewTrustingVerifier returns a verifier of orgraph's own tokens (as NewVerifier) that also accepts tokens of
// the given issuers, by their entries' rules. Nothing is fetched here: an issuer's keys are fetched when its
// first token arrives (or by FetchTrustedKeys), so an IdP that is down delays only its own users.
func NewTrustingVerifier(src KeySource, now func() time.Time, issuers []TrustedIssuer, o TrustOptions) (*Verifier, error) {
	list := slices.Clone(issuers)
	if err := checkIssuers(list); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{Timeout: fetchTimeout, CheckRedirect: checkRedirect}
	v := NewVerifier(src, now)
	v.external = make(map[string]*external, len(list))
	for i, t := range list {
		if t.Claims.ObjectID == "" && o.LookupUPN == nil {
			return nil, fmt.Errorf("auth: issuers[%d] (%s) maps upn but not oid, and no UserLookup was given", i, t.Issuer)
		}
		e := &external{cfg: t, client: client, lookup: o.LookupUPN, log: log, jwksURI: t.JWKSURI}
		e.keys = &keyring[[]jose.JSONWebKey]{
			load:     e.fetchKeys,
			interval: jwksInterval,
			maxAge:   jwksMaxAge,
			warn: func(err error) {
				log.Warn("trusted issuer's keys not refreshed; the cached ones go on serving", "issuer", t.Issuer, "err", err)
			},
		}
		v.external[t.Issuer] = e
		for _, a := range t.Algorithms {
			if !slices.Contains(v.algs, a) {
				v.algs = append(v.algs, a)
			}
		}
	}
	return v, nil
}

// FetchTrustedKeys fetches every trusted issuer's keys now, as its first token would. serve calls it at
// start-up, beside the server, so that a wrong URL or an unreachable IdP shows in the log at once; whatever
// fails here is fetched again when a token needs it. The failures come joined, each a *KeyFetchError.
func (v *Verifier) FetchTrustedKeys(ctx context.Context) error {
	var errs []error
	for _, iss := range slices.Sorted(maps.Keys(v.external)) {
		if err := v.external[iss].keys.refresh(ctx, v.now()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// verify checks a token whose unverified iss is e's: one of the entry's algorithms, signed by a key of the
// issuer's key set (its kid), exp/nbf as for every token, iss and aud the entry's; then maps its claims.
func (e *external) verify(ctx context.Context, tok *jwt.JSONWebToken, now time.Time) (*Principal, time.Time, error) {
	p, nbf, err := e.check(ctx, tok, now)
	var te *TokenError
	if errors.As(err, &te) {
		// Name the issuer in the cause, for whoever reads the log.
		return nil, time.Time{}, tokenErr(te.Message, fmt.Errorf("trusted issuer %q: %w", e.cfg.Issuer, te.Cause))
	}
	return p, nbf, err
}

func (e *external) check(ctx context.Context, tok *jwt.JSONWebToken, now time.Time) (*Principal, time.Time, error) {
	var never time.Time
	hdr := tok.Headers[0]
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	if !slices.Contains(e.cfg.Algorithms, alg) {
		return nil, never, tokenErr(msgMalformed, fmt.Errorf("alg %q is not one of %q", alg, e.cfg.Algorithms))
	}
	if hdr.KeyID == "" {
		return nil, never, tokenErr(msgInvalid, errors.New("no kid in header"))
	}
	keys, err := e.keys.get(ctx, hdr.KeyID, now)
	if err != nil {
		return nil, never, err
	}
	key := keyFor(keys, alg)
	if key == nil {
		return nil, never, tokenErr(msgInvalid, fmt.Errorf("signing key %q is not for %s", hdr.KeyID, alg))
	}
	var (
		reg     jwt.Claims
		payload map[string]any
	)
	if err := tok.Claims(key, &reg, &payload); err != nil {
		return nil, never, tokenErr(msgInvalid, err)
	}
	exp, nbf, err := lifetime(reg.Expiry, reg.NotBefore, now)
	if err != nil {
		return nil, never, err
	}
	if reg.Issuer != e.cfg.Issuer {
		return nil, never, tokenErr(msgIssuer, fmt.Errorf("signed iss %q", reg.Issuer))
	}
	if !audienceIn(reg.Audience, e.cfg.Audiences) {
		return nil, never, tokenErr(msgAudience, fmt.Errorf("aud %q, want one of %q", []string(reg.Audience), e.cfg.Audiences))
	}
	c, err := e.cfg.mapClaims(payload)
	if err != nil {
		return nil, never, tokenErr(msgInvalid, err)
	}
	p := &Principal{Claims: c, ExpiresAt: exp}
	p.Delegated = len(p.Scopes) > 0 && len(p.Roles) == 0
	if p.ObjectID != "" {
		return p, nbf, nil
	}
	// oid is not mapped (mapClaims insists on it when it is).
	if !p.Delegated {
		// An app's token names no user; sub names the client at the IdP, which is all orgraph needs of it
		// (throttling and logs), as the oid of an Entra app token names its service principal.
		if reg.Subject == "" {
			return nil, never, tokenErr(msgInvalid, errors.New("app token without sub"))
		}
		p.ObjectID = reg.Subject
		return p, nbf, nil
	}
	if p.UPN == "" {
		return nil, never, tokenErr(msgInvalid, fmt.Errorf("no %q claim to find the user by", e.cfg.Claims.UPN))
	}
	id, err := e.lookup(ctx, p.TenantID, p.UPN)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return nil, never, tokenErr(msgInvalid, fmt.Errorf("no user %q in tenant %s", p.UPN, p.TenantID))
	case err != nil:
		return nil, never, fmt.Errorf("auth: finding the signed-in user %q: %w", p.UPN, err)
	}
	p.ObjectID = id
	return p, nbf, nil
}

// mapClaims turns a verified external token's claims into orgraph's by t's mapping. A mapped tid or oid must
// be there; scp and roles keep only the Graph permissions orgraph checks, so that an IdP's own scopes and
// roles (openid, offline_access, a realm's default roles) neither grant anything nor make a user's token look
// like an app's, and gain the entry's fixed grants.
func (t *TrustedIssuer) mapClaims(payload map[string]any) (Claims, error) {
	c := Claims{TenantID: t.Tenant}
	var err error
	for _, f := range [...]struct {
		path     string
		dst      *string
		required bool
	}{
		{t.Claims.TenantID, &c.TenantID, true},
		{t.Claims.ObjectID, &c.ObjectID, true},
		{t.Claims.UPN, &c.UPN, false},
		{t.Claims.AppID, &c.AppID, false},
	} {
		if f.path == "" {
			continue
		}
		if *f.dst, err = stringClaim(payload, f.path); err != nil {
			return Claims{}, err
		}
		if f.required && *f.dst == "" {
			return Claims{}, fmt.Errorf("no %q claim", f.path)
		}
	}
	if c.Scopes, err = grants(payload, t.Claims.Scopes, t.Scopes); err != nil {
		return Claims{}, err
	}
	if c.Roles, err = grants(payload, t.Claims.Roles, t.Roles); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// claimAt finds a claim by name: a top-level claim of that exact name, or else a path of nested objects.
func claimAt(payload map[string]any, name string) any {
	if v, ok := payload[name]; ok {
		return v
	}
	var cur any = payload
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// stringClaim reads a string claim; missing or null reads as "".
func stringClaim(payload map[string]any, name string) (string, error) {
	switch v := claimAt(payload, name).(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("claim %q is a %T, not a string", name, v)
	}
}

// grants reads the permission list at name (a space-separated string, as Entra's scp, or an array of strings,
// as its roles), keeps the Graph permissions orgraph checks, once each, and adds fixed.
func grants(payload map[string]any, name string, fixed []string) ([]string, error) {
	var names []string
	if name != "" {
		switch v := claimAt(payload, name).(type) {
		case nil:
		case string:
			names = strings.Fields(v)
		case []any:
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("claim %q holds a %T, not a string", name, x)
				}
				names = append(names, s)
			}
		default:
			return nil, fmt.Errorf("claim %q is a %T, not a string or an array", name, v)
		}
	}
	var out []string
	for _, n := range slices.Concat(names, fixed) {
		if graphPermissions[n] && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// fetchKeys fetches the issuer's key set, discovering its URL first if it was not configured.
func (e *external) fetchKeys(ctx context.Context) (map[string][]jose.JSONWebKey, error) {
	if e.jwksURI == "" {
		uri, err := e.discover(ctx)
		if err != nil {
			return nil, err
		}
		e.jwksURI = uri
	}
	body, err := e.get(ctx, e.jwksURI)
	if err != nil {
		return nil, err
	}
	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return nil, &KeyFetchError{Issuer: e.cfg.Issuer, URL: e.jwksURI, Err: err}
	}
	if skipped != nil {
		e.log.Warn("trusted issuer's key set has keys orgraph cannot use; the others serve", "issuer", e.cfg.Issuer, "err", skipped)
	}
	return keys, nil
}

// discover reads jwks_uri from the issuer's OpenID configuration.
func (e *external) discover(ctx context.Context) (string, error) {
	u := strings.TrimSuffix(e.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	body, err := e.get(ctx, u)
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	fail := func(err error) (string, error) { return "", &KeyFetchError{Issuer: e.cfg.Issuer, URL: u, Err: err} }
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail(err)
	}
	// OpenID Connect Discovery 1.0, §4.3: a document for another issuer must not be used, or whoever serves
	// that URL could name the keys.
	if doc.Issuer != e.cfg.Issuer {
		return fail(fmt.Errorf("the document is for issuer %q", doc.Issuer))
	}
	if doc.JWKSURI == "" {
		return fail(errors.New("no jwks_uri"))
	}
	if err := checkURL(doc.JWKSURI); err != nil {
		return fail(fmt.Errorf("jwks_uri: %w", err))
	}
	return doc.JWKSURI, nil
}

// get fetches one document, within fetchTimeout and maxDocBytes.
func (e *external) get(ctx context.Context, u string) ([]byte, error) {
	fail := func(err error) ([]byte, error) { return nil, &KeyFetchError{Issuer: e.cfg.Issuer, URL: u, Err: err} }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("status %s", res.Status))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocBytes+1))
	if err != nil {
		return fail(err)
	}
	if len(body) > maxDocBytes {
		return fail(fmt.Errorf("larger than %d bytes", maxDocBytes))
	}
	return body, nil
}

// checkRedirect holds redirects to the rule for configured URLs, so one cannot downgrade a fetch to plain http.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return checkURL(req.URL.String())
}

// parseJWKS reads a JWK Set into the keys that may verify tokens, by kid: public keys for signing (use "sig"
// or unset) of a kind keyKind knows, RSA ones of at least 2048 bits. Each key is parsed by go-jose on its own,
// rather than by decoding a jose.JSONWebKeySet, because RFC 7517 §5 asks readers to ignore keys they do not
// understand and a JSONWebKeySet fails as a whole on one of them: an IdP that adds a new kind of key must not
// lock its users out. Such keys come back in skipped. A set holding private or symmetric key material is
// refused whole: its IdP is misconfigured or compromised, and anyone may have its keys.
func parseJWKS(body []byte) (keys map[string][]jose.JSONWebKey, skipped, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, nil, err
	}
	keys = make(map[string][]jose.JSONWebKey, len(set.Keys))
	var skips []error
	for i, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			skips = append(skips, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		switch pub, isRSA := k.Key.(*rsa.PublicKey); {
		case !k.IsPublic():
			return nil, nil, fmt.Errorf("key %d (kid %q) holds private or symmetric key material", i, k.KeyID)
		case k.Use != "" && k.Use != "sig":
			// An encryption key, which IdPs publish beside their signing keys.
		case k.KeyID == "":
			skips = append(skips, fmt.Errorf("key %d: no kid, so no token can name it", i))
		case keyKind(k.Key) == "":
			skips = append(skips, fmt.Errorf("key %d (kid %q): a %T, which orgraph does not verify with", i, k.KeyID, k.Key))
		case isRSA && pub.N.BitLen() < keyBits:
			skips = append(skips, fmt.Errorf("key %d (kid %q): RSA with %d bits, fewer than %d", i, k.KeyID, pub.N.BitLen(), keyBits))
		default:
			keys[k.KeyID] = append(keys[k.KeyID], k)
		}
	}
	if len(keys) == 0 {
		return nil, nil, errors.Join(append([]error{errors.New("no usable signing key")}, skips...)...)
	}
	return keys, errors.Join(skips...), nil
}

// keyKind names the kind of a public key as keyFamily does, or "" for a kind orgraph does not verify with.
func keyKind(key any) string {
	switch key.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "OKP"
	}
	return ""
}

// keyFor picks, among the keys of one kid, one that verifies alg: of alg's kind, and published for alg if the
// key names an algorithm at all (RFC 8725 §3.1: a key is used with one algorithm). go-jose checks the curve.
func keyFor(keys []jose.JSONWebKey, alg jose.SignatureAlgorithm) any {
	for _, k := range keys {
		if (k.Algorithm == "" || k.Algorithm == string(alg)) && keyKind(k.Key) == keyFamily[alg] {
			return k.Key
		}
	}
	return nil
}
