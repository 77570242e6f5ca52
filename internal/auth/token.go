package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims an access token carries; shaped like the v1.0 access tokens Graph receives from Entra ID.
type Claims struct {
	TenantID string   // tid
	ObjectID string   // oid (and sub): the signed-in user for delegated tokens; the app's service principal for app tokens
	AppID    string   // appid and azp
	Roles    []string // application permissions ("roles")
	Scopes   []string // delegated permissions ("scp", space-separated on the wire)
	UPN      string   // upn / unique_name for delegated tokens (optional)
}

// Audience is the aud of the tokens orgraph mints; Verify also accepts it with a trailing slash and Graph's app ID.
const Audience = "https://graph.microsoft.com"

// acceptedAudiences are the values Entra puts in aud for Graph, depending on how the client named the resource.
var acceptedAudiences = []string{Audience, Audience + "/", "00000003-0000-0000-c000-000000000000"}

// issuerPrefix starts the iss of every token orgraph mints, as it starts Entra ID's v1.0 issuers.
const issuerPrefix = "https://sts.windows.net/"

// Issuer is the v1.0 token issuer for a tenant, as Entra ID writes it.
func Issuer(tenantID string) string { return issuerPrefix + tenantID + "/" }

// wireClaims is the token payload. Only tid, oid, scp/roles and the registered claims decide anything;
// the rest is there because clients and libraries that inspect Graph tokens expect it.
type wireClaims struct {
	jwt.Claims
	TenantID   string   `json:"tid"`
	ObjectID   string   `json:"oid"`
	AppID      string   `json:"appid,omitempty"`
	AZP        string   `json:"azp,omitempty"`
	Version    string   `json:"ver"`
	IDType     string   `json:"idtyp"`
	Roles      []string `json:"roles,omitempty"`
	Scope      string   `json:"scp,omitempty"`
	UTI        string   `json:"uti"`
	UPN        string   `json:"upn,omitempty"`
	UniqueName string   `json:"unique_name,omitempty"`
}

// Mint signs an access token: RS256, header kid and typ JWT, claims aud, iss, iat, nbf, exp, tid, oid, sub,
// appid, azp, ver "1.0", idtyp ("app" or "user"), roles or scp, uti/jti random, and upn when set.
// A token carries either roles (app-only) or scopes (delegated), never both, as Entra's do.
func Mint(key SigningKey, c Claims, now time.Time, ttl time.Duration) (string, error) {
	switch {
	case c.TenantID == "" || c.ObjectID == "":
		return "", errors.New("auth: mint: tenant ID and object ID are required")
	case len(c.Roles) > 0 && len(c.Scopes) > 0:
		return "", errors.New("auth: mint: a token carries roles or scopes, not both")
	case ttl <= 0:
		return "", errors.New("auth: mint: ttl must be positive")
	}
	priv, err := key.privateKey()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	uti := base64.RawURLEncoding.EncodeToString(raw[:])
	w := wireClaims{
		Claims: jwt.Claims{
			Issuer:    Issuer(c.TenantID),
			Subject:   c.ObjectID,
			Audience:  jwt.Audience{Audience},
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uti,
		},
		TenantID: c.TenantID,
		ObjectID: c.ObjectID,
		AppID:    c.AppID,
		AZP:      c.AppID,
		Version:  "1.0",
		IDType:   "app",
		Roles:    c.Roles,
		UTI:      uti,
	}
	if len(c.Scopes) > 0 {
		w.IDType = "user"
		w.Scope = strings.Join(c.Scopes, " ")
		w.UPN = c.UPN
		w.UniqueName = c.UPN
	}
	tok, err := jwt.Signed(signer).Claims(w).Serialize()
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return tok, nil
}
