package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/certs"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// runIn runs one orgraph command with stdin as its standard input and returns its output and error.
func runIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errs syncBuffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errs}
	err := m.Run(context.Background(), args)
	if err != nil {
		return out.String() + errs.String(), err
	}
	return out.String(), nil
}

// withStore opens the data folder's database for a moment, as another process would.
func withStore(t *testing.T, dir string, fn func(st store.Store)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "orgraph.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(st)
}

// TestTenantAppUserCommands drives tenant, app and user as a shell would, and checks the store after each.
func TestTenantAppUserCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	out := runCLI(t, "tenant", "create", "Contoso Test", "--json", "--data", dir)
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("tenant create --json printed %q: %v", out, err)
	}
	if len(raw) != 3 {
		t.Errorf("tenant create --json has fields %v, want tenantId, clientId, clientSecret", raw)
	}
	var c identity.Credentials
	json.Unmarshal([]byte(out), &c)
	if c.TenantID == "" || c.ClientID == "" || len(c.ClientSecret) < 40 {
		t.Fatalf("credentials %+v", c)
	}
	// The human form says the secret is shown once.
	human := runCLI(t, "tenant", "create", "Other", "--data", dir)
	if !strings.Contains(human, "client secret ") || !strings.Contains(human, "not shown again") {
		t.Errorf("tenant create: %q", human)
	}

	list := runCLI(t, "tenant", "list", "--data", dir)
	if !strings.Contains(list, c.TenantID) || !strings.Contains(list, "Contoso Test") || !strings.Contains(list, "Default") {
		t.Errorf("tenant list:\n%s", list)
	}

	// An app with application permissions, in the new tenant.
	out = runCLI(t, "app", "create", "--tenant", c.TenantID, "--name", "reader", "--roles", "User.Read.All", "--json", "--data", dir)
	var app identity.Credentials
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.TenantID != c.TenantID || app.ClientID == "" || app.ClientSecret == "" {
		t.Fatalf("app create --json: %q (%v)", out, err)
	}
	// And a public one with delegated scopes: no secret.
	out = runCLI(t, "app", "create", "--tenant", c.TenantID, "--public", "--scopes", "User.Read,User.Read.All", "--json", "--data", dir)
	var pub identity.Credentials
	if err := json.Unmarshal([]byte(out), &pub); err != nil || pub.ClientID == "" || pub.ClientSecret != "" {
		t.Fatalf("app create --public --json: %q (%v)", out, err)
	}
	withStore(t, dir, func(st store.Store) {
		a, err := st.App(ctx, c.TenantID, app.ClientID)
		if err != nil || strings.Join(a.Roles, ",") != "User.Read.All" || !auth.CheckSecret(a.SecretHash, app.ClientSecret) {
			t.Errorf("app in the store: %+v %v", a, err)
		}
		p, err := st.App(ctx, c.TenantID, pub.ClientID)
		if err != nil || strings.Join(p.Scopes, ",") != "User.Read,User.Read.All" || len(p.SecretHash) != 0 {
			t.Errorf("public app in the store: %+v %v", p, err)
		}
		// A user to sign in as.
		err = directory.NewService(st).Import(ctx, c.TenantID, &directory.Object{ID: "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0", Kind: directory.KindUser,
			Props: map[string]any{"displayName": "Megan", "userPrincipalName": "megan@contoso.onmicrosoft.com", "mailNickname": "megan", "accountEnabled": true}})
		if err != nil {
			t.Fatal(err)
		}
	})

	// The password comes on standard input, never as an argument.
	if _, err := runIn(t, "Correct-Horse-9\n", "user", "set-password", "megan@contoso.onmicrosoft.com", "--tenant", c.TenantID, "--data", dir); err != nil {
		t.Fatalf("user set-password: %v", err)
	}
	if out, err := runIn(t, "", "user", "set-password", "megan@contoso.onmicrosoft.com", "--tenant", c.TenantID, "--data", dir); err == nil {
		// An empty standard input is an error, not an empty password.
		t.Errorf("set-password with nothing on stdin: no error (%q)", out)
	}
	if _, err := runIn(t, "x\n", "user", "set-password", "nobody@contoso.onmicrosoft.com", "--tenant", c.TenantID, "--data", dir); err == nil {
		t.Errorf("set-password for an unknown user: no error")
	}
	if _, err := runIn(t, "", "user", "set-roles", "megan@contoso.onmicrosoft.com", "User Administrator", "--tenant", c.TenantID, "--data", dir); err != nil {
		t.Fatalf("user set-roles: %v", err)
	}
	withStore(t, dir, func(st store.Store) {
		hash, err := st.PasswordHash(ctx, c.TenantID, "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0")
		if err != nil || !auth.CheckPassword(hash, "Correct-Horse-9") || auth.CheckPassword(hash, "Correct-Horse-9\n") {
			t.Errorf("password hash after set-password: %v", err)
		}
		roles, err := st.DirectoryRoles(ctx, c.TenantID, "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0")
		if err != nil || strings.Join(roles, ",") != "User Administrator" {
			t.Errorf("roles after set-roles: %v %v", roles, err)
		}
	})

	// tenant delete removes the tenant, its apps and its users.
	runCLI(t, "tenant", "delete", c.TenantID, "--data", dir)
	if list := runCLI(t, "tenant", "list", "--data", dir); strings.Contains(list, c.TenantID) {
		t.Errorf("tenant list after delete:\n%s", list)
	}
	withStore(t, dir, func(st store.Store) {
		if _, err := st.Tenant(ctx, c.TenantID); !errors.Is(err, store.ErrTenantNotFound) {
			t.Errorf("tenant after delete: %v", err)
		}
		if _, err := st.App(ctx, c.TenantID, app.ClientID); !errors.Is(err, store.ErrAppNotFound) {
			t.Errorf("app after delete: %v", err)
		}
	})
	if _, err := runIn(t, "", "tenant", "delete", c.TenantID, "--data", dir); err == nil {
		t.Errorf("deleting a deleted tenant: no error")
	}

	// Usage errors.
	for _, args := range [][]string{
		{"tenant"}, {"tenant", "create", "--data", dir}, {"tenant", "frob", "--data", dir}, {"tenant", "delete", "--data", dir},
		{"app"}, {"app", "create", "extra", "--data", dir}, {"user"}, {"user", "set-roles", "x", "--data", dir}, {"user", "frob", "x", "--data", dir},
	} {
		if _, err := runIn(t, "", args...); err == nil {
			t.Errorf("orgraph %s: no error", strings.Join(args, " "))
		}
	}
}

// TestCertCommand: orgraph cert prints the CA (PEM) that signs the server certificate of the data folder.
func TestCertCommand(t *testing.T) {
	dir := t.TempDir()
	out := runCLI(t, "cert", "--data", dir)
	block, rest := pem.Decode([]byte(out))
	if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("orgraph cert printed %q", out)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("the printed certificate is not a CA: %v", err)
	}
	// The same CA on a second run, and it verifies the server certificate for 127.0.0.1 and localhost.
	if again := runCLI(t, "cert", "--data", dir); again != out {
		t.Errorf("a second orgraph cert printed another CA")
	}
	leaf, err := certs.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	lc, err := x509.ParseCertificate(leaf.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		if _, err := lc.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
}

// TestServeTLSIdentity: serve --tls --admin-key; a client that trusts the CA from orgraph cert reads the
// OpenID configuration (issuer naming the host and port it used), gets a tenant from the admin API and a
// token from the token endpoint, and calls Graph with it.
func TestServeTLSIdentity(t *testing.T) {
	dir := t.TempDir()
	const key = "serve-admin-key-0123456789"
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	out, errs := &syncBuffer{}, &syncBuffer{}
	m := &Main{Stdout: out, Stderr: errs, ready: ready}
	go func() {
		done <- m.Run(ctx, []string{"serve", "--tls", "--admin-key", key, "--addr", "127.0.0.1:0", "--data", dir})
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve returned before listening: %v\nstderr: %s", err, errs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not get ready; stderr: %s", errs.String())
	}
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after cancel: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop")
		}
	}()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("serve --tls is at %q, want https://127.0.0.1:…", base)
	}
	if !strings.Contains(out.String(), base+"/v1.0") {
		t.Errorf("the banner does not name %s/v1.0: %s", base, out.String())
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(runCLI(t, "cert", "--data", dir))) {
		t.Fatal("orgraph cert printed no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	do := func(method, path, token, contentType, body string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	// Without the CA the server is not trusted.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/healthz"); err == nil {
		t.Errorf("a client without orgraph's CA trusted the server")
	}

	// The default tenant's OpenID configuration, as MSAL asks for it.
	var tenant string
	withStore(t, dir, func(st store.Store) {
		var err error
		if tenant, err = st.Setting(context.Background(), store.SettingDefaultTenant); err != nil || tenant == "" {
			t.Fatalf("default tenant: %q %v", tenant, err)
		}
	})
	status, _, body := do(http.MethodGet, "/"+tenant+"/v2.0/.well-known/openid-configuration?", "", "", "")
	var doc map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("openid-configuration: %d %s", status, body)
	}
	if doc["issuer"] != base+"/"+tenant+"/v2.0" || doc["token_endpoint"] != base+"/"+tenant+"/oauth2/v2.0/token" {
		t.Errorf("issuer %v, token_endpoint %v; want them under %s", doc["issuer"], doc["token_endpoint"], base)
	}

	// The admin API with its key; without it, nothing.
	if status, _, _ := do(http.MethodPost, "/admin/tenants", "", "application/json", `{"name":"x"}`); status != http.StatusUnauthorized {
		t.Errorf("admin API without the key: %d", status)
	}
	status, _, body = do(http.MethodPost, "/admin/tenants", key, "application/json", `{"name":"suite"}`)
	var c identity.Credentials
	if status != http.StatusCreated || json.Unmarshal(body, &c) != nil || c.ClientSecret == "" {
		t.Fatalf("POST /admin/tenants: %d %s", status, body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"}}
	status, _, body = do(http.MethodPost, "/"+c.TenantID+"/oauth2/v2.0/token", "", "application/x-www-form-urlencoded", form.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", status, body)
	}
	status, _, body = do(http.MethodPost, "/v1.0/users", tok.AccessToken, "application/json",
		`{"accountEnabled":true,"displayName":"Adele","mailNickname":"adele","userPrincipalName":"adele@contoso.onmicrosoft.com","passwordProfile":{"password":"xWwvJ]6NMw+bWH-d"}}`)
	if status != http.StatusCreated {
		t.Errorf("POST /v1.0/users with the issued token: %d %s", status, body)
	}
	status, _, _ = do(http.MethodGet, "/v1.0/users", tok.AccessToken, "", "")
	if status != http.StatusOK {
		t.Errorf("GET /v1.0/users with the issued token: %d", status)
	}
	if status, _, _ := do(http.MethodDelete, "/admin/tenants/"+c.TenantID, key, "", ""); status != http.StatusNoContent {
		t.Errorf("DELETE /admin/tenants/{id}: %d", status)
	}
	// The deleted tenant's token is refused at once (this node forgets the tenant on deletion).
	if status, _, _ := do(http.MethodGet, "/v1.0/users", tok.AccessToken, "", ""); status != http.StatusUnauthorized {
		t.Errorf("GET with the deleted tenant's token: %d, want 401", status)
	}
	if strings.Contains(errs.String(), c.ClientSecret) || strings.Contains(errs.String(), tok.AccessToken) || strings.Contains(errs.String(), key) {
		t.Errorf("the server log holds a secret, a token or the admin key:\n%s", errs.String())
	}
}

// TestServeAdminKeyFromEnv: ORGRAPH_ADMIN_KEY enables the admin API without a flag; without either the API
// does not exist.
func TestServeAdminKeyFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
	}{{"env-admin-key-0123456789", http.StatusCreated}, {"", http.StatusNotFound}} {
		t.Setenv(envAdminKey, tc.env)
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, ready: ready}
		go func() { done <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}) }()
		var base string
		select {
		case base = <-ready:
		case err := <-done:
			cancel()
			t.Fatalf("serve: %v", err)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/admin/tenants", strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Authorization", "Bearer "+tc.env)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s=%q: POST /admin/tenants %d, want %d", envAdminKey, tc.env, res.StatusCode, tc.want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// TestDeleteDefaultTenant: the default tenant is what serve --demo fills and what orgraph token mints for.
// Deleting it must either be refused or leave a data folder that still works; today the setting keeps
// naming the deleted tenant (store.Bootstrap trusts it), so `serve --demo` fails with "tenant not found"
// and `orgraph token` cannot mint a token, for good.
func TestDeleteDefaultTenant(t *testing.T) {
	dir := t.TempDir()
	var def string
	runCLI(t, "tenant", "list", "--data", dir) // bootstraps
	withStore(t, dir, func(st store.Store) {
		var err error
		if def, err = st.Setting(context.Background(), store.SettingDefaultTenant); err != nil || def == "" {
			t.Fatalf("default tenant: %q %v", def, err)
		}
	})
	if _, err := runIn(t, "", "tenant", "delete", def, "--data", dir); err != nil {
		return // refused: fine
	}
	if out, err := runIn(t, "", "token", "--data", dir); err != nil {
		t.Errorf("after `tenant delete <default tenant>`, orgraph token fails: %v %s", err, strings.TrimSpace(out))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	errs := &syncBuffer{}
	go func() {
		done <- (&Main{Stdout: &syncBuffer{}, Stderr: errs, ready: ready}).Run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--data", dir})
	}()
	select {
	case <-ready:
		cancel()
		<-done
	case err := <-done:
		cancel()
		t.Errorf("after `tenant delete <default tenant>`, serve --demo fails: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Errorf("serve --demo did not get ready")
	}
}
