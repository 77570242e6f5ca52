package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// TrustedIssuer is one entry of the trusted-issuers file (serve --trusted-issuers): an OpenID Connect issuer
// whose access tokens orgraph accepts besides its own, and how their claims become orgraph's.
type TrustedIssuer struct {
	// Issuer is the exact iss the issuer's tokens carry. https, unless the host is loopback (a test IdP).
	Issuer string `json:"issuer"`
	// JWKSURI is where the issuer publishes its signing keys; empty: the jwks_uri of
	// {Issuer}/.well-known/openid-configuration.
	JWKSURI string `json:"jwksUri,omitempty"`
	// Audiences are the aud values accepted (any one suffices); empty: Graph's, as for orgraph's own tokens.
	Audiences []string `json:"audiences,omitempty"`
	// Algorithms the issuer signs with; empty: RS256, PS256 and ES256.
	Algorithms []jose.SignatureAlgorithm `json:"algorithms,omitempty"`
	// Tenant is the orgraph tenant every token of this issuer acts in; give it or Claims.TenantID, not both.
	Tenant string `json:"tenant,omitempty"`
	// Claims says which claims of the issuer's tokens carry orgraph's.
	Claims ClaimMapping `json:"claims"`
	// Scopes and Roles are Graph permissions every token of this issuer is granted on top of its own, for
	// identity providers that cannot issue Graph's permission names. An entry grants one kind, not both.
	Scopes []string `json:"scopes,omitempty"`
	Roles  []string `json:"roles,omitempty"`
}

// ClaimMapping names, for each claim orgraph reads (its JSON names are those of Entra's tokens), the claim of an
// external token that carries it; empty: not mapped. A name is looked up as a top-level claim first, then, if it
// has dots, as a path into nested objects ("realm_access.roles", as Keycloak puts a user's roles), so that
// namespaced claim names such as Auth0's "https://example.com/roles" work too.
type ClaimMapping struct {
	TenantID string `json:"tid,omitempty"`   // the orgraph tenant id, when TrustedIssuer.Tenant is not set
	ObjectID string `json:"oid,omitempty"`   // the caller's orgraph object id
	Scopes   string `json:"scp,omitempty"`   // delegated permissions: a space-separated string or an array
	Roles    string `json:"roles,omitempty"` // application permissions: an array or a space-separated string
	UPN      string `json:"upn,omitempty"`   // the signed-in user's userPrincipalName
	AppID    string `json:"appid,omitempty"` // the client application, for per-app throttling
}

// defaultAlgorithms are the signing algorithms of the common identity providers (Entra ID and Keycloak sign
// with RS256, some with PS256 or ES256).
var defaultAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}

// keyFamily maps each algorithm an external issuer may use to the kind of public key that verifies it. HMAC
// and none are absent on purpose: a key shared with an IdP is no proof of who signed.
var keyFamily = map[jose.SignatureAlgorithm]string{
	jose.RS256: "RSA", jose.RS384: "RSA", jose.RS512: "RSA",
	jose.PS256: "RSA", jose.PS384: "RSA", jose.PS512: "RSA",
	jose.ES256: "EC", jose.ES384: "EC", jose.ES512: "EC",
	jose.EdDSA: "OKP",
}

// graphPermissions are the Graph permission names orgraph checks: those of the permission table and the
// limited-information readers. Permissions outside this set grant nothing here.
var graphPermissions = func() map[string]bool {
	m := make(map[string]bool)
	for _, p := range Permissions {
		for _, l := range [][]string{p.Delegated, p.Application} {
			for _, n := range l {
				m[n] = true
			}
		}
	}
	for _, l := range readers {
		for _, n := range l {
			m[n] = true
		}
	}
	return m
}()

// ConfigError is a mistake in the trusted-issuers file. Where is a JSON path to the faulty value
// ("issuers[1].claims.oid"), empty when it concerns the whole file.
type ConfigError struct {
	Where string
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Where == "" {
		return "trusted issuers: " + e.Err.Error()
	}
	return "trusted issuers: " + e.Where + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ParseTrustedIssuers reads a trusted-issuers file, {"issuers": [TrustedIssuer, …]}, strictly (unknown fields
// are refused, as a misspelt field would silently change what is trusted), checks every entry and returns
// them with defaults filled in. Errors are *ConfigError.
func ParseTrustedIssuers(data []byte) ([]TrustedIssuer, error) {
	var file struct {
		Issuers []TrustedIssuer `json:"issuers"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, &ConfigError{Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ConfigError{Err: errors.New("data after the JSON object")}
	}
	if err := checkIssuers(file.Issuers); err != nil {
		return nil, err
	}
	return file.Issuers, nil
}

// checkIssuers checks every entry, fills in its defaults, and refuses an issuer listed twice, whose tokens
// could not be told apart.
func checkIssuers(list []TrustedIssuer) error {
	if len(list) == 0 {
		return &ConfigError{Where: "issuers", Err: errors.New("no issuers")}
	}
	seen := make(map[string]int, len(list))
	for i := range list {
		where := fmt.Sprintf("issuers[%d]", i)
		if field, err := list[i].check(); err != nil {
			return &ConfigError{Where: where + "." + field, Err: err}
		}
		if j, ok := seen[list[i].Issuer]; ok {
			return &ConfigError{Where: where + ".issuer", Err: fmt.Errorf("%q is also issuers[%d]", list[i].Issuer, j)}
		}
		seen[list[i].Issuer] = i
	}
	return nil
}

// check validates t and fills in its defaults; a fault comes with the field it is in, relative to t.
func (t *TrustedIssuer) check() (field string, err error) {
	bad := func(field, format string, args ...any) (string, error) {
		return field, fmt.Errorf(format, args...)
	}
	if t.Issuer == "" {
		return bad("issuer", "missing")
	}
	if err := checkURL(t.Issuer); err != nil {
		return bad("issuer", "%v", err)
	}
	if u, _ := url.Parse(t.Issuer); u.RawQuery != "" || u.Fragment != "" {
		// OpenID Connect Discovery 1.0, §3: the issuer has no query or fragment.
		return bad("issuer", "%q has a query or fragment", t.Issuer)
	}
	if t.JWKSURI != "" {
		if err := checkURL(t.JWKSURI); err != nil {
			return bad("jwksUri", "%v", err)
		}
	}
	if t.Audiences == nil {
		t.Audiences = slices.Clone(acceptedAudiences)
	}
	if len(t.Audiences) == 0 {
		return bad("audiences", "empty: leave it out for Graph's audiences")
	}
	for i, a := range t.Audiences {
		if a == "" {
			return bad(fmt.Sprintf("audiences[%d]", i), "empty")
		}
	}
	if t.Algorithms == nil {
		t.Algorithms = slices.Clone(defaultAlgorithms)
	}
	if len(t.Algorithms) == 0 {
		return bad("algorithms", "empty: leave it out for RS256, PS256 and ES256")
	}
	for i, a := range t.Algorithms {
		if _, ok := keyFamily[a]; !ok {
			return bad(fmt.Sprintf("algorithms[%d]", i), "%q is not an asymmetric JWS algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)", a)
		}
	}
	switch {
	case t.Tenant == "" && t.Claims.TenantID == "":
		return bad("tenant", "missing: give the orgraph tenant id, or claims.tid naming the claim that carries it")
	case t.Tenant != "" && t.Claims.TenantID != "":
		return bad("tenant", "given with claims.tid: give one, not both")
	}
	if t.Claims.ObjectID == "" && t.Claims.UPN == "" {
		return bad("claims", "maps neither oid nor upn: one of them must identify the caller")
	}
	for _, c := range [...]struct{ name, path string }{
		{"tid", t.Claims.TenantID}, {"oid", t.Claims.ObjectID}, {"scp", t.Claims.Scopes},
		{"roles", t.Claims.Roles}, {"upn", t.Claims.UPN}, {"appid", t.Claims.AppID},
	} {
		if c.path != "" && slices.Contains(strings.Split(c.path, "."), "") {
			return bad("claims."+c.name, "%q has an empty part between dots", c.path)
		}
	}
	if len(t.Scopes) > 0 && len(t.Roles) > 0 {
		// Roles make a token app-only, so the scopes would never count.
		return bad("roles", "given with scopes: an entry grants delegated scopes or application roles, not both")
	}
	for _, g := range [...]struct {
		field string
		list  []string
	}{{"scopes", t.Scopes}, {"roles", t.Roles}} {
		for i, p := range g.list {
			if !graphPermissions[p] {
				return bad(fmt.Sprintf("%s[%d]", g.field, i), "%q is not a Graph permission orgraph checks (names are case-sensitive, as in Graph's tables)", p)
			}
		}
	}
	return "", nil
}

// checkURL accepts absolute https URLs, and http ones on a loopback host, which only a local test IdP has.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL", raw)
	case u.User != nil:
		return fmt.Errorf("%q has credentials in it", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q: want https (http only on a loopback host)", raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
