package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// openStore opens a SQLite store in dir with sync ("normal" or "full") and bootstraps it.
func openStore(tb testing.TB, dir, sync string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "orgraph.db"), sqlite.Options{Sync: sync})
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := store.Bootstrap(context.Background(), st); err != nil {
		tb.Fatalf("Bootstrap: %v", err)
	}
	return st
}

// fixture is an identity server over plain HTTP on a fresh store, with a tenant and its admin app.
type fixture struct {
	t     *testing.T
	st    *sqlite.Store
	srv   *httptest.Server
	creds Credentials
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	st := openStore(t, t.TempDir(), "normal")
	o.Store = st
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	c, err := CreateTenant(context.Background(), st, "Contoso")
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return &fixture{t: t, st: st, srv: srv, creds: c}
}

func (f *fixture) get(path string) (int, http.Header, map[string]any) {
	f.t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, res.Header, m
}

func (f *fixture) token(tenant string, form url.Values) (int, http.Header, map[string]any) {
	f.t.Helper()
	res, err := http.PostForm(f.srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatalf("token endpoint: %d, not JSON: %s", res.StatusCode, b)
	}
	return res.StatusCode, res.Header, m
}

func (f *fixture) verifier() *auth.Verifier { return auth.NewVerifier(f.st.SigningKeys, time.Now) }

const graphDefault = "https://graph.microsoft.com/.default"

// quickHash is auth.HashPassword at bcrypt's lowest cost: auth.CheckPassword reads the cost from the hash,
// and the default cost makes each sign-in take seconds under -race.
func quickHash(t *testing.T, pw string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !auth.CheckPassword(h, pw) {
		t.Fatal("auth.CheckPassword does not accept a bcrypt hash of another cost")
	}
	return h
}

func TestOpenIDConfiguration(t *testing.T) {
	f := newFixture(t, Options{})
	tenant := f.creds.TenantID
	// MSAL asks with a trailing "?".
	status, h, doc := f.get("/" + tenant + "/v2.0/.well-known/openid-configuration?")
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("openid-configuration: %d %s", status, h.Get("Content-Type"))
	}
	base := f.srv.URL + "/" + tenant
	for k, want := range map[string]string{
		"issuer":                 base + "/v2.0",
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"jwks_uri":               base + "/discovery/v2.0/keys",
	} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %s", k, doc[k], want)
		}
	}
	// The host the client used, not another name of the same server (NOTES.md).
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
	req.Host = "localhost:1234"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var byName map[string]any
	json.NewDecoder(res.Body).Decode(&byName)
	res.Body.Close()
	if byName["issuer"] != "http://localhost:1234/"+tenant+"/v2.0" {
		t.Errorf("issuer for Host localhost:1234: %v", byName["issuer"])
	}
	// v1 discovery names the v1 issuer, the one in the tokens.
	_, _, v1 := f.get("/" + tenant + "/.well-known/openid-configuration")
	if v1["issuer"] != auth.Issuer(tenant) || v1["token_endpoint"] != base+"/oauth2/token" {
		t.Errorf("v1 discovery: issuer %v token_endpoint %v", v1["issuer"], v1["token_endpoint"])
	}
	// A configured public URL wins over the request.
	g := newFixture(t, Options{PublicURL: "https://directory.example.com/"})
	_, _, pub := g.get("/" + tenant + "/v2.0/.well-known/openid-configuration")
	if pub["token_endpoint"] != "https://directory.example.com/"+tenant+"/oauth2/v2.0/token" {
		t.Errorf("with PublicURL: token_endpoint %v", pub["token_endpoint"])
	}
}

func TestJWKSVerifiesIssuedTokens(t *testing.T) {
	f := newFixture(t, Options{})
	status, _, _ := f.get("/" + f.creds.TenantID + "/discovery/v2.0/keys")
	if status != http.StatusOK {
		t.Fatalf("keys: %d", status)
	}
	res, err := http.Get(f.srv.URL + "/common/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	keys, _ := f.st.SigningKeys(context.Background())
	if len(set.Keys) != len(keys) || len(set.Keys) == 0 {
		t.Fatalf("JWKS has %d keys, the store %d", len(set.Keys), len(keys))
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm != "RS256" {
			t.Errorf("key %s: public %v use %q alg %q", k.KeyID, k.IsPublic(), k.Use, k.Algorithm)
		}
	}
	_, _, body := f.token(f.creds.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {f.creds.ClientID},
		"client_secret": {f.creds.ClientSecret}, "scope": {graphDefault}})
	tok, _ := body["access_token"].(string)
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keysFor := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keysFor) != 1 {
		t.Fatalf("the token's kid %q is not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	if _, err := jws.Verify(keysFor[0].Key); err != nil {
		t.Errorf("the JWKS key does not verify the issued token: %v", err)
	}
}

func TestUserRealm(t *testing.T) {
	f := newFixture(t, Options{})
	status, _, doc := f.get("/common/UserRealm/" + url.PathEscape("megan@contoso.onmicrosoft.com") + "?api-version=1.0")
	if status != http.StatusOK {
		t.Fatalf("UserRealm: %d", status)
	}
	for _, k := range []string{"account_type", "domain_name", "cloud_instance_name", "cloud_audience_urn"} {
		if s, _ := doc[k].(string); s == "" {
			t.Errorf("UserRealm %s is empty: %v", k, doc)
		}
	}
	if doc["domain_name"] != "contoso.onmicrosoft.com" || doc["account_type"] != "Managed" {
		t.Errorf("UserRealm: %v", doc)
	}
}

func TestUnknownPaths(t *testing.T) {
	f := newFixture(t, Options{})
	for _, p := range []string{"/", "/x", "/" + f.creds.TenantID + "/oauth2/v2.0/authorize", "/" + f.creds.TenantID + "/v2.0/nothing"} {
		if status, _, _ := f.get(p); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, status)
		}
	}
	// The token endpoint takes POST only.
	if status, _, _ := f.get("/" + f.creds.TenantID + "/oauth2/v2.0/token"); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %d", status)
	}
}

// TestClientCredentials: the answer MSAL needs (NOTES.md) and a token the Graph verifier accepts, with the
// app's roles.
func TestClientCredentials(t *testing.T) {
	f := newFixture(t, Options{TokenTTL: 90 * time.Minute})
	for _, scope := range []string{
		graphDefault + " openid offline_access profile", // what azidentity sends
		"00000003-0000-0000-c000-000000000000/.default",
	} {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.creds.ClientID}, "client_secret": {f.creds.ClientSecret},
			"scope": {scope}, "claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`}}
		status, h, body := f.token(f.creds.TenantID, form)
		if status != http.StatusOK {
			t.Fatalf("scope %q: %d %v", scope, status, body)
		}
		if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q", cc)
		}
		if body["token_type"] != "Bearer" || body["expires_in"] != float64(5400) {
			t.Errorf("token_type %v expires_in %v", body["token_type"], body["expires_in"])
		}
		for _, k := range []string{"scope", "id_token", "refresh_token", "client_info"} {
			if _, ok := body[k]; ok {
				t.Errorf("the answer has %s, which MSAL would trip over: %v", k, body[k])
			}
		}
		p, err := f.verifier().Verify(context.Background(), body["access_token"].(string))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if p.TenantID != f.creds.TenantID || p.AppID != f.creds.ClientID || p.Delegated || len(p.Roles) != len(AdminPermissions) {
			t.Errorf("principal %+v", p)
		}
		if d := time.Until(p.ExpiresAt); d < 89*time.Minute || d > 91*time.Minute {
			t.Errorf("token expires in %s, want 90m", d)
		}
	}
	// A public client has no secret to present.
	pub, _, err := CreateApp(context.Background(), f.st, f.creds.TenantID, "public", []string{"User.Read.All"}, []string{"User.Read"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.SecretHash) != 0 {
		t.Errorf("a public app has a secret hash")
	}
	status, _, body := f.token(f.creds.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {pub.ClientID}, "scope": {graphDefault}})
	if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("client credentials for a public app: %d %v", status, body)
	}
	// An app of one tenant is unknown in another.
	other, err := CreateTenant(context.Background(), f.st, "Fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	status, _, body = f.token(other.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {f.creds.ClientID},
		"client_secret": {f.creds.ClientSecret}, "scope": {graphDefault}})
	if status != http.StatusBadRequest || body["error"] != "unauthorized_client" {
		t.Errorf("A's app at B's token endpoint: %d %v", status, body)
	}
	// Upper-case tenant ids name the same tenant.
	status, _, body = f.token(strings.ToUpper(f.creds.TenantID), url.Values{"grant_type": {"client_credentials"}, "client_id": {f.creds.ClientID},
		"client_secret": {f.creds.ClientSecret}, "scope": {graphDefault}})
	if status != http.StatusOK {
		t.Errorf("upper-case tenant id: %d %v", status, body)
	}
	// A malformed form.
	res, err := http.Post(f.srv.URL+"/"+f.creds.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader("%zz"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed form: %d", res.StatusCode)
	}
}

// TestPasswordGrant: delegated tokens carry the consented scopes (all of them for /.default), the user's
// oid and upn, and client_info when MSAL asks for it.
func TestPasswordGrant(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	tenant := f.creds.TenantID
	const uid, upn, pw = "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0", "megan@contoso.onmicrosoft.com", "pässwörd with spaces"
	err := directory.NewService(f.st).Import(ctx, tenant, &directory.Object{ID: uid, Kind: directory.KindUser, Props: map[string]any{
		"displayName": "Megan", "userPrincipalName": upn, "mailNickname": "megan", "accountEnabled": true}})
	if err != nil {
		t.Fatal(err)
	}
	hash := quickHash(t, pw)
	if err := f.st.SetPasswordHash(ctx, tenant, uid, hash); err != nil {
		t.Fatal(err)
	}
	pub, _, err := CreateApp(ctx, f.st, tenant, "public", nil, []string{"User.Read", "User.Read.All"}, true)
	if err != nil {
		t.Fatal(err)
	}
	form := func(scope string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {pub.ClientID}, "username": {upn}, "password": {pw}, "scope": {scope}, "client_info": {"1"}}
	}

	status, _, body := f.token(tenant, form(graphDefault+" openid offline_access profile"))
	if status != http.StatusOK {
		t.Fatalf("password grant: %d %v", status, body)
	}
	p, err := f.verifier().Verify(ctx, body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Delegated || p.ObjectID != uid || p.UPN != upn || strings.Join(p.Scopes, " ") != "User.Read User.Read.All" {
		t.Errorf("delegated principal %+v", p)
	}
	ci, _ := body["client_info"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(ci)
	var info map[string]string
	if err != nil || json.Unmarshal(raw, &info) != nil || info["uid"] != uid || info["utid"] != tenant {
		t.Errorf("client_info %q: %s (%v)", ci, raw, err)
	}
	if _, ok := body["scope"]; ok {
		t.Errorf("the answer lists scope %v", body["scope"])
	}

	// A named scope: only that one; by user name in another case too.
	f2 := form("https://graph.microsoft.com/User.Read")
	f2.Set("username", strings.ToUpper(upn))
	status, _, body = f.token(tenant, f2)
	if status != http.StatusOK {
		t.Fatalf("named scope: %d %v", status, body)
	}
	if p, _ := f.verifier().Verify(ctx, body["access_token"].(string)); p == nil || strings.Join(p.Scopes, " ") != "User.Read" {
		t.Errorf("named scope: principal %+v", p)
	}
	// Not consented; and OpenID scopes only.
	status, _, body = f.token(tenant, form("https://graph.microsoft.com/Directory.ReadWrite.All"))
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" || !strings.HasPrefix(body["error_description"].(string), "AADSTS65001:") {
		t.Errorf("unconsented scope: %d %v", status, body)
	}
	status, _, body = f.token(tenant, form("openid profile"))
	if status != http.StatusBadRequest || body["error"] != "invalid_scope" {
		t.Errorf("no Graph scope: %d %v", status, body)
	}
	// A confidential app must present its secret on the password grant as well.
	conf := form(graphDefault)
	conf.Set("client_id", f.creds.ClientID)
	status, _, body = f.token(tenant, conf)
	if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("confidential app without its secret: %d %v", status, body)
	}
	conf.Set("client_secret", f.creds.ClientSecret)
	if status, _, body = f.token(tenant, conf); status != http.StatusOK {
		t.Errorf("confidential app with its secret: %d %v", status, body)
	}
	// A user without a password cannot sign in.
	err = directory.NewService(f.st).Import(ctx, tenant, &directory.Object{Kind: directory.KindUser, Props: map[string]any{
		"displayName": "No Password", "userPrincipalName": "nopw@contoso.onmicrosoft.com", "mailNickname": "nopw", "accountEnabled": true}})
	if err != nil {
		t.Fatal(err)
	}
	nopw := form(graphDefault)
	nopw.Set("username", "nopw@contoso.onmicrosoft.com")
	nopw.Set("password", "")
	if status, _, body = f.token(tenant, nopw); status != http.StatusBadRequest || !strings.HasPrefix(body["error_description"].(string), "AADSTS50126:") {
		t.Errorf("user without a password: %d %v", status, body)
	}
}

// TestLimiterWindow: failures count per key within the window and are forgotten after it.
func TestLimiterWindow(t *testing.T) {
	l := newLimiter(3, 50*time.Millisecond)
	for range 3 {
		if !l.allow("a") {
			t.Fatal("refused before the limit")
		}
		l.fail("a")
	}
	if l.allow("a") {
		t.Errorf("allowed after 3 failures")
	}
	if !l.allow("b") {
		t.Errorf("another key refused")
	}
	time.Sleep(80 * time.Millisecond)
	if !l.allow("a") {
		t.Errorf("still refused after the window")
	}
	l.fail("a")
	if !l.allow("a") {
		t.Errorf("a failure after the window counts the old ones too")
	}
}

// TestMaxFailuresOption: Options.MaxFailures bounds the guesses.
func TestMaxFailuresOption(t *testing.T) {
	f := newFixture(t, Options{MaxFailures: 2})
	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.creds.ClientID}, "client_secret": {"nope"}, "scope": {graphDefault}}
	for range 2 {
		if status, _, _ := f.token(f.creds.TenantID, bad); status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", status)
		}
	}
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.creds.ClientID}, "client_secret": {f.creds.ClientSecret}, "scope": {graphDefault}}
	status, _, body := f.token(f.creds.TenantID, good)
	if status == http.StatusOK || !strings.HasPrefix(body["error_description"].(string), "AADSTS50053:") {
		t.Errorf("after MaxFailures: %d %v", status, body)
	}
}

func TestCreateTenantAndApp(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir(), "normal")
	c, err := CreateTenant(ctx, st, "Contoso")
	if err != nil {
		t.Fatal(err)
	}
	tn, err := st.Tenant(ctx, c.TenantID)
	if err != nil || tn.Name != "Contoso" {
		t.Errorf("tenant: %+v %v", tn, err)
	}
	app, err := st.App(ctx, c.TenantID, c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !auth.CheckSecret(app.SecretHash, c.ClientSecret) || string(app.SecretHash) == c.ClientSecret {
		t.Errorf("the app's secret hash does not check the secret, or is the secret")
	}
	if strings.Join(app.Roles, ",") != strings.Join(AdminPermissions, ",") || strings.Join(app.Scopes, ",") != strings.Join(AdminPermissions, ",") {
		t.Errorf("admin app roles %v scopes %v", app.Roles, app.Scopes)
	}
	if len(c.ClientSecret) < 40 {
		t.Errorf("secret %q is short", c.ClientSecret)
	}
	// Every call makes a new tenant.
	c2, err := CreateTenant(ctx, st, "Contoso")
	if err != nil || c2.TenantID == c.TenantID || c2.ClientSecret == c.ClientSecret {
		t.Errorf("second tenant: %+v %v", c2, err)
	}
	// An app in a tenant that does not exist.
	if _, _, err := CreateApp(ctx, st, "00000000-0000-4000-8000-00000000dead", "x", nil, nil, false); !errors.Is(err, store.ErrTenantNotFound) {
		t.Errorf("CreateApp in a missing tenant: %v, want ErrTenantNotFound", err)
	}
}

// TestPasswordLockoutPerAccount: the failures that lock a user count against the account, whichever name
// the requests give it. The token endpoint accepts the user's object id as well as the UPN for username
// (directory.Resolve), so a lockout counted per submitted string gives each spelling its own MaxFailures.
func TestPasswordLockoutPerAccount(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{MaxFailures: 3})
	tenant := f.creds.TenantID
	const uid, upn, pw = "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0", "megan@contoso.onmicrosoft.com", "the-right-one"
	err := directory.NewService(f.st).Import(ctx, tenant, &directory.Object{ID: uid, Kind: directory.KindUser, Props: map[string]any{
		"displayName": "Megan", "userPrincipalName": upn, "mailNickname": "megan", "accountEnabled": true}})
	if err != nil {
		t.Fatal(err)
	}
	hash := quickHash(t, pw)
	if err := f.st.SetPasswordHash(ctx, tenant, uid, hash); err != nil {
		t.Fatal(err)
	}
	pub, _, err := CreateApp(ctx, f.st, tenant, "public", nil, []string{"User.Read"}, true)
	if err != nil {
		t.Fatal(err)
	}
	try := func(username, password string) (int, map[string]any) {
		status, _, body := f.token(tenant, url.Values{"grant_type": {"password"}, "client_id": {pub.ClientID},
			"username": {username}, "password": {password}, "scope": {graphDefault}})
		return status, body
	}
	for range 3 {
		if status, body := try(upn, "wrong"); status != http.StatusBadRequest || !strings.HasPrefix(body["error_description"].(string), "AADSTS50126:") {
			t.Fatalf("wrong password: %d %v", status, body)
		}
	}
	if status, body := try(upn, pw); status == http.StatusOK || !strings.HasPrefix(body["error_description"].(string), "AADSTS50053:") {
		t.Fatalf("locked by UPN: %d %v", status, body)
	}
	// The same account by its object id, and by its UPN in capitals: still locked.
	for _, name := range []string{uid, strings.ToUpper(uid), strings.ToUpper(upn)} {
		if status, body := try(name, pw); status == http.StatusOK {
			t.Errorf("username %q signs the locked account in (the lockout counts per spelling, not per account)", name)
		} else if d, _ := body["error_description"].(string); !strings.HasPrefix(d, "AADSTS50053:") && !strings.HasPrefix(d, "AADSTS50126:") {
			t.Errorf("username %q: %d %v", name, status, body)
		}
	}
}
