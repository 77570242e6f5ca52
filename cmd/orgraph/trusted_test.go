package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testIdP is an OpenID Connect identity provider on a loopback HTTP server: discovery, a JWKS with one RSA key,
// and the means to sign that key's tokens. It counts the requests for its keys.
type testIdP struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	kid  string
	mu   sync.Mutex
	hits map[string]int
}

func startIdP(t *testing.T) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{key: key, kid: "idp-key-1", hits: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/corp/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.hit(r.URL.Path)
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.issuer(), "jwks_uri": p.issuer() + "/protocol/openid-connect/certs"})
	})
	mux.HandleFunc("GET /realms/corp/protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		p.hit(r.URL.Path)
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: p.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testIdP) issuer() string { return p.srv.URL + "/realms/corp" }

func (p *testIdP) hit(path string) { p.mu.Lock(); p.hits[path]++; p.mu.Unlock() }

func (p *testIdP) requests() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.hits {
		out[k] = v
	}
	return out
}

// token signs a Keycloak-shaped access token for the audience "orgraph", valid for an hour, with extra claims.
func (p *testIdP) token(t *testing.T, iss string, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{"iss": iss, "aud": "orgraph", "azp": "web-app", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// defaultTenant creates the data folder and returns its default tenant's id.
func defaultTenant(t *testing.T, dir string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(runCLI(t, "tenant", "list", "--data", dir)), "\n")
	if len(lines) != 2 {
		t.Fatalf("tenant list: %q, want a header and the default tenant", lines)
	}
	return strings.Fields(lines[1])[0]
}

func writeConfig(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "trusted-issuers.json")
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestServeTrustedIssuer runs serve with --trusted-issuers naming an IdP that is set up as Keycloak realms are
// (users by preferred_username, Graph scopes in scope, app permissions as realm roles) and calls Graph with its
// tokens: a user's finds the user by UPN and reads /me and managers, a service account's reads as an app, and a
// token of an issuer nobody trusts, or of a user the tenant lacks, gets Graph's 401, logged without the token.
func TestServeTrustedIssuer(t *testing.T) {
	dir := t.TempDir()
	tenant := defaultTenant(t, dir)
	idp := startIdP(t)
	cfg := writeConfig(t, map[string]any{"issuers": []any{map[string]any{
		"issuer":    idp.issuer(),
		"audiences": []string{"orgraph"},
		"tenant":    tenant,
		"claims":    map[string]string{"upn": "preferred_username", "scp": "scope", "roles": "realm_access.roles", "appid": "azp"},
	}}})
	base, logs := serveInProcess(t, dir, "--demo", "--trusted-issuers", cfg)
	api := base + "/v1.0"

	// A user with a manager, as orgraph's own token sees them.
	own := strings.TrimSpace(runCLI(t, "token", "--data", dir))
	var userID, upn, managerID string
	for _, u := range all(t, api+"/users?$top=999&$select=id,userPrincipalName,userType&$expand=manager($select=id)", own) {
		if m, _ := u["manager"].(map[string]any); m != nil && u["userType"] == "Member" {
			userID, upn, managerID = u["id"].(string), u["userPrincipalName"].(string), m["id"].(string)
			break
		}
	}
	if managerID == "" {
		t.Fatal("the demo has no member with a manager")
	}

	user := idp.token(t, idp.issuer(), map[string]any{
		"sub": "0f8fad5b-d9cb-469f-a165-70867728950e", "preferred_username": upn, "scope": "openid profile User.Read.All",
		"realm_access": map[string]any{"roles": []string{"offline_access", "default-roles-corp"}},
	})
	if me := mustGet(t, api+"/me", user); me["id"] != userID || me["userPrincipalName"] != upn {
		t.Errorf("/me with the IdP's token: %v, want %s (%s)", me, userID, upn)
	}
	for _, path := range []string{"/users/" + userID + "/manager", "/me/manager"} {
		if m := mustGet(t, api+path, user); m["id"] != managerID {
			t.Errorf("GET %s with the IdP's token: %v, want manager %s", path, m["id"], managerID)
		}
	}

	app := idp.token(t, idp.issuer(), map[string]any{
		"sub": "5a4c3b2a-1d0e-4f9a-8b7c-6d5e4f3a2b1c", "preferred_username": "service-account-nightly-sync", "scope": "profile email",
		"realm_access": map[string]any{"roles": []string{"offline_access", "User.Read.All"}},
	})
	if m := mustGet(t, api+"/users/"+userID+"/manager", app); m["id"] != managerID {
		t.Errorf("manager with the IdP's app token: %v, want %s", m["id"], managerID)
	}
	if res, body := send(t, http.MethodGet, api+"/me", app, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("/me with an app token: %d %s, want 400", res.StatusCode, body)
	}

	untrusted := idp.token(t, "https://login.example.com/realms/corp", map[string]any{"preferred_username": upn, "scope": "User.Read.All"})
	stranger := idp.token(t, idp.issuer(), map[string]any{"preferred_username": "nobody@contoso.onmicrosoft.com", "scope": "User.Read.All"})
	for _, c := range []struct{ name, token, message string }{
		{"untrusted issuer", untrusted, "Access token validation failure. Invalid issuer."},
		{"unknown user", stranger, "Access token validation failure."},
	} {
		res, body := send(t, http.MethodGet, api+"/users/"+userID+"/manager", c.token, nil)
		code, msg, _ := graphError(t, body)
		if res.StatusCode != http.StatusUnauthorized || code != "InvalidAuthenticationToken" || msg != c.message || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s, WWW-Authenticate %q; want 401 InvalidAuthenticationToken %q with the header",
				c.name, res.StatusCode, body, res.Header.Get("WWW-Authenticate"), c.message)
		}
	}

	// The IdP's keys were fetched once (at start-up or by the first token, whichever came first), its
	// discovery document read once.
	got := idp.requests()
	if got["/realms/corp/.well-known/openid-configuration"] != 1 || got["/realms/corp/protocol/openid-connect/certs"] != 1 {
		t.Errorf("requests to the IdP: %v, want discovery and keys once each", got)
	}
	// Refusals are logged with their reason, never with the token.
	log := logs.String()
	if !strings.Contains(log, "neither orgraph's nor a trusted issuer") || !strings.Contains(log, "no user") {
		t.Errorf("the log does not say why the tokens were refused:\n%s", log)
	}
	for _, tok := range []string{user, app, untrusted, stranger} {
		if strings.Contains(log, strings.Split(tok, ".")[2]) {
			t.Fatalf("the log holds a token:\n%s", log)
		}
	}
}

// TestServeTrustedIssuersStart: a wrong file stops serve before it listens, naming the flag and the fault; an
// IdP that is down does not, and is reported in the log while orgraph's own tokens work.
func TestServeTrustedIssuersStart(t *testing.T) {
	dir := t.TempDir()
	tenant := defaultTenant(t, dir)
	entry := func(change func(map[string]any)) string {
		e := map[string]any{"issuer": "https://sso.example.com/realms/corp", "tenant": tenant, "claims": map[string]string{"upn": "preferred_username"}}
		change(e)
		return writeConfig(t, map[string]any{"issuers": []any{e}})
	}
	for _, c := range []struct{ name, file, want string }{
		{"missing file", filepath.Join(t.TempDir(), "none.json"), "no such file"},
		{"unknown field", entry(func(e map[string]any) { e["tenantClaim"] = "tid" }), `unknown field "tenantClaim"`},
		{"plain http", entry(func(e map[string]any) { e["issuer"] = "http://sso.example.com" }), "issuers[0].issuer"},
		{"unknown tenant", entry(func(e map[string]any) { e["tenant"] = "00000000-0000-0000-0000-000000000001" }), "tenant not found"},
	} {
		var out syncBuffer
		err := (&Main{Stdout: &out, Stderr: &out}).Run(t.Context(), []string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--trusted-issuers", c.file})
		if err == nil || !strings.Contains(err.Error(), "--trusted-issuers") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming --trusted-issuers and saying %q", c.name, err, c.want)
		}
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cfg := entry(func(e map[string]any) { e["issuer"] = down.URL })
	base, logs := serveInProcess(t, dir, "--trusted-issuers", cfg)
	own := strings.TrimSpace(runCLI(t, "token", "--data", dir))
	mustGet(t, base+"/v1.0/users", own)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "keys not fetched at start-up") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the unreachable IdP in the log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A token of that IdP cannot be checked while it is down: the server's trouble, so 503 and Retry-After,
	// as for a database that is down, not 401 (the token may be good) nor 500.
	idp := startIdP(t)
	req, err := http.NewRequest(http.MethodGet, base+"/v1.0/users", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+idp.token(t, down.URL, map[string]any{"preferred_username": "someone@example.com"}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("token of an unreachable IdP: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
