package e2e

// The identity end to end tests run orgraph as `orgraph serve --tls --admin-key …` wires it (Graph under
// /v1.0/ and /beta/, the admin API under /admin/, the identity endpoints under /) over HTTPS with the
// generated certificate, and drive it with the real clients: Azure Identity's credentials fetch the tokens
// from orgraph's token endpoint, msgraph-sdk-go sends them through the Azure Identity auth provider.

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	azauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/certs"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/graphapi"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// graphDefault is the scope every Graph client asks Azure Identity for.
const graphDefault = "https://graph.microsoft.com/.default"

// idAdminKey is the admin API key of the identity tests' server.
const idAdminKey = "test-admin-key-0123456789"

// logBuffer collects the server's log lines; handlers write it from their goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// idEnv is orgraph served over HTTPS as serve.go wires it, with clients that trust its generated CA.
type idEnv struct {
	t         *testing.T
	st        *sqlite.Store
	svc       *directory.Service
	tenant    string // the bootstrapped default tenant
	key       auth.SigningKey
	srv       *httptest.Server
	api       *graphapi.Server
	rec       *recorder
	log       *logBuffer
	transport *http.Transport // trusts only the generated CA
	http      *http.Client
}

// newIdentityEnv starts the server; o adjusts the identity server's options (MaxFailures, say).
func newIdentityEnv(t *testing.T, o ...func(*identity.Options)) *idEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "orgraph.db"), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		t.Fatalf("store.Bootstrap: %v", err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil || len(keys) == 0 {
		t.Fatalf("signing keys: %v (%d keys)", err, len(keys))
	}
	cert, err := certs.Ensure(dir)
	if err != nil {
		t.Fatalf("certs.Ensure: %v", err)
	}
	caPEM, err := certs.CA(dir)
	if err != nil {
		t.Fatalf("certs.CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("certs.CA returned no certificate: %q", caPEM)
	}

	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := graphapi.New(graphapi.Options{Store: st, Verifier: auth.NewVerifier(st.SigningKeys, time.Now), Logger: logger})
	idOpts := identity.Options{Store: st, Logger: logger}
	for _, f := range o {
		f(&idOpts)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1.0/", api)
	mux.Handle("/beta/", api)
	admin := identity.NewAdmin(st, idAdminKey)
	admin.OnDelete = api.ForgetTenant
	mux.Handle("/admin/", admin)
	mux.Handle("/", identity.New(idOpts))
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		mux.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &idEnv{
		t: t, st: st, svc: directory.NewService(st), tenant: tenant, key: keys[0], srv: srv, api: api, rec: rec, log: logs,
		transport: tr, http: &http.Client{Transport: tr, Timeout: 60 * time.Second},
	}
}

// clientOptions point Azure Identity at orgraph: the authority host is the server, and the transport
// trusts its CA.
func (e *idEnv) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: e.srv.URL + "/",
			Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{},
		},
		Transport: e.http,
	}
}

func (e *idEnv) secretCredential(tenant, clientID, secret string) *azidentity.ClientSecretCredential {
	e.t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            e.clientOptions(),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		e.t.Fatalf("NewClientSecretCredential: %v", err)
	}
	return cred
}

func (e *idEnv) passwordCredential(tenant, clientID, upn, password string) *azidentity.UsernamePasswordCredential {
	e.t.Helper()
	//lint:ignore SA1019 the resource-owner password flow is what test suites use against a test directory
	cred, err := azidentity.NewUsernamePasswordCredential(tenant, clientID, upn, password, &azidentity.UsernamePasswordCredentialOptions{
		ClientOptions:            e.clientOptions(),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		e.t.Fatalf("NewUsernamePasswordCredential: %v", err)
	}
	return cred
}

// graph builds the Graph SDK client as NewGraphServiceClientWithCredentialsAndHosts does (the Azure
// Identity auth provider, allowed host 127.0.0.1, Graph's default middleware), except that its HTTP
// client trusts the generated CA; that constructor offers no way to pass one.
func (e *idEnv) graph(cred azcore.TokenCredential) *msgraphsdk.GraphServiceClient {
	e.t.Helper()
	prov, err := azauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{graphDefault}, []string{"127.0.0.1"})
	if err != nil {
		e.t.Fatalf("auth provider: %v", err)
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(e.transport, msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(prov, nil, nil, hc)
	if err != nil {
		e.t.Fatalf("request adapter: %v", err)
	}
	adapter.SetBaseUrl(e.srv.URL + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

// do sends a raw request over HTTPS; path is below the server root.
func (e *idEnv) do(method, path, token string, body []byte, header ...string) *response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// admin calls the admin API with the admin key.
func (e *idEnv) admin(method, path, body string) *response {
	e.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return e.do(method, path, idAdminKey, b, "Content-Type", "application/json")
}

// adminTenant creates a tenant through POST /admin/tenants.
func (e *idEnv) adminTenant(name string) identity.Credentials {
	e.t.Helper()
	r := e.admin(http.MethodPost, "/admin/tenants", `{"name":"`+name+`"}`).want(e.t, http.StatusCreated)
	var c identity.Credentials
	if err := json.Unmarshal(r.Body, &c); err != nil || c.TenantID == "" || c.ClientID == "" || c.ClientSecret == "" {
		e.t.Fatalf("POST /admin/tenants: %v: %s", err, r.Body)
	}
	return c
}

// tokenForm posts a raw token request and decodes the JSON answer.
func (e *idEnv) tokenForm(tenant string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/"+tenant+"/oauth2/v2.0/token", "", []byte(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		e.t.Fatalf("token endpoint answered %d with a body that is not JSON: %s", r.Status, r.Body)
	}
	return r.Status, m
}

// clientCredentials is the form of a client-credentials request.
func clientCredentials(clientID, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {graphDefault}}
}

// wantOAuthError checks an OAuth error answer: status, error and the AADSTS number in error_description
// and error_codes, as Entra words them.
func wantOAuthError(t *testing.T, what string, status int, body map[string]any, wantStatus int, code string, aadsts string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d: %v", what, status, wantStatus, body)
	}
	if body["error"] != code {
		t.Errorf("%s: error %v, want %s: %v", what, body["error"], code, body)
	}
	desc, _ := body["error_description"].(string)
	if !strings.HasPrefix(desc, "AADSTS"+aadsts+":") {
		t.Errorf("%s: error_description %q, want it to start with AADSTS%s:", what, desc, aadsts)
	}
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 || jsonNumber(codes[0]) != aadsts {
		t.Errorf("%s: error_codes %v, want [%s]", what, body["error_codes"], aadsts)
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// claimsOf decodes a JWT's payload without checking it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("token payload: %v", err)
	}
	return m
}

func getToken(ctx context.Context, cred azcore.TokenCredential) (string, error) {
	tk, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphDefault}})
	return tk.Token, err
}

// sawRequest reports whether the server saw method on path (escaped) since the last reset.
func (e *idEnv) sawRequest(method, path string) bool {
	for _, r := range e.rec.all() {
		if r.Method == method && r.EscapedPath == path {
			return true
		}
	}
	return false
}

// TestIdentityClientSecretSDK: an app of a tenant made by identity.CreateTenant signs in with Azure
// Identity's ClientSecretCredential against orgraph's token endpoint, and the Graph SDK uses the tokens over
// HTTPS: two users, a manager, the chain read back with $expand=manager($levels=max).
func TestIdentityClientSecretSDK(t *testing.T) {
	ctx := context.Background()
	e := newIdentityEnv(t)
	creds, err := identity.CreateTenant(ctx, e.st, "Contoso")
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	cred := e.secretCredential(creds.TenantID, creds.ClientID, creds.ClientSecret)
	c := e.graph(cred)

	boss, err := c.Users().Post(ctx, newUserBody("Bea Boss", "bea", "bea@contoso.onmicrosoft.com"), nil)
	noErr(t, "POST /users (boss)", err)
	emp, err := c.Users().Post(ctx, newUserBody("Ed Employee", "ed", "ed@contoso.onmicrosoft.com"), nil)
	noErr(t, "POST /users (employee)", err)
	bossID, empID := str(boss.GetId()), str(emp.GetId())
	noErr(t, "PUT manager/$ref", c.Users().ByUserId(empID).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+bossID), nil))

	got, err := c.Users().ByUserId(empID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{
			Expand: []string{"manager($levels=max;$select=id,displayName)"},
			Select: []string{"id", "displayName"},
		},
	})
	noErr(t, "GET user?$expand=manager($levels=max)", err)
	if str(got.GetId()) != empID {
		t.Errorf("user %s, want %s", str(got.GetId()), empID)
	}
	mgr := got.GetManager()
	if mgr == nil {
		t.Fatalf("no manager expanded")
	}
	if m := asUser(t, mgr); str(m.GetId()) != bossID || str(m.GetDisplayName()) != "Bea Boss" || m.GetManager() != nil {
		t.Errorf("chain: manager %s %q (above: %v), want %s \"Bea Boss\" at the top", str(m.GetId()), str(m.GetDisplayName()), m.GetManager(), bossID)
	}

	// The flow NOTES.md describes, against this server: OpenID configuration, then the token endpoint.
	if !e.sawRequest(http.MethodGet, "/"+creds.TenantID+"/v2.0/.well-known/openid-configuration") {
		t.Errorf("Azure Identity did not read the OpenID configuration; requests: %+v", e.rec.all())
	}
	if !e.sawRequest(http.MethodPost, "/"+creds.TenantID+"/oauth2/v2.0/token") {
		t.Errorf("Azure Identity did not call the token endpoint; requests: %+v", e.rec.all())
	}
	// The token names the tenant and carries the admin app's roles.
	tok, err := getToken(ctx, cred)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	cl := claimsOf(t, tok)
	if cl["tid"] != creds.TenantID || cl["appid"] != creds.ClientID || cl["idtyp"] != "app" {
		t.Errorf("token claims tid %v appid %v idtyp %v, want %s %s app", cl["tid"], cl["appid"], cl["idtyp"], creds.TenantID, creds.ClientID)
	}
	if roles, _ := cl["roles"].([]any); len(roles) != len(identity.AdminPermissions) {
		t.Errorf("token roles %v, want %v", cl["roles"], identity.AdminPermissions)
	}

	// A wrong secret: Azure Identity reports Entra's AADSTS7000215.
	_, err = getToken(ctx, e.secretCredential(creds.TenantID, creds.ClientID, "not-the-secret"))
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret: GetToken error %v, want one mentioning AADSTS7000215", err)
	}
	if strings.Contains(e.log.String(), creds.ClientSecret) || strings.Contains(e.log.String(), tok) {
		t.Errorf("the server log holds the client secret or an access token:\n%s", e.log.String())
	}
}

// TestIdentityPasswordSDK: a public app and Azure Identity's UsernamePasswordCredential (UserRealm, then the
// password grant) give a delegated token that the SDK uses on /me/manager. A wrong password, a scope not
// consented and a disabled account are refused as Entra refuses them.
func TestIdentityPasswordSDK(t *testing.T) {
	ctx := context.Background()
	e := newIdentityEnv(t)
	creds, err := identity.CreateTenant(ctx, e.st, "Contoso")
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	admin := e.graph(e.secretCredential(creds.TenantID, creds.ClientID, creds.ClientSecret))
	const upn, password = "megan@contoso.onmicrosoft.com", "Correct-Horse-Battery-9"
	boss, err := admin.Users().Post(ctx, newUserBody("Bea Boss", "bea", "bea@contoso.onmicrosoft.com"), nil)
	noErr(t, "POST /users (boss)", err)
	megan, err := admin.Users().Post(ctx, newUserBody("Megan Bowen", "megan", upn), nil)
	noErr(t, "POST /users (megan)", err)
	bossID, meganID := str(boss.GetId()), str(megan.GetId())
	noErr(t, "PUT manager/$ref", admin.Users().ByUserId(meganID).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+bossID), nil))

	pub, secret, err := identity.CreateApp(ctx, e.st, creds.TenantID, "public client", nil, []string{"User.Read", "User.Read.All"}, true)
	if err != nil || secret != "" {
		t.Fatalf("CreateApp(public): %v (secret %q)", err, secret)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetPasswordHash(ctx, creds.TenantID, meganID, hash); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}

	e.rec.reset()
	cred := e.passwordCredential(creds.TenantID, pub.ClientID, upn, password)
	me := e.graph(cred)
	m, err := me.Me().Manager().Get(ctx, nil)
	noErr(t, "GET /me/manager", err)
	if u := asUser(t, m); str(u.GetId()) != bossID {
		t.Errorf("/me/manager is %s, want %s", str(u.GetId()), bossID)
	}
	self, err := me.Me().Get(ctx, nil)
	noErr(t, "GET /me", err)
	if str(self.GetId()) != meganID {
		t.Errorf("/me is %s, want %s", str(self.GetId()), meganID)
	}
	if !e.sawRequest(http.MethodGet, "/common/UserRealm/"+url.PathEscape(upn)) && !e.sawRequest(http.MethodGet, "/common/UserRealm/"+upn) {
		t.Errorf("MSAL did not ask UserRealm; requests: %+v", e.rec.all())
	}
	tok, err := getToken(ctx, cred)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	cl := claimsOf(t, tok)
	if cl["oid"] != meganID || cl["tid"] != creds.TenantID || cl["idtyp"] != "user" || cl["roles"] != nil {
		t.Errorf("delegated token: oid %v tid %v idtyp %v roles %v", cl["oid"], cl["tid"], cl["idtyp"], cl["roles"])
	}
	if scp, _ := cl["scp"].(string); !strings.Contains(" "+scp+" ", " User.Read.All ") {
		t.Errorf("delegated token scp %q, want User.Read.All among them", scp)
	}
	// Delegated with User.Read.All only: a write is refused.
	err = me.Users().ByUserId(meganID).Manager().Ref().Delete(ctx, nil)
	wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)

	// Wrong password: AADSTS50126.
	_, err = getToken(ctx, e.passwordCredential(creds.TenantID, pub.ClientID, upn, "wrong-password"))
	if err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("wrong password: GetToken error %v, want one mentioning AADSTS50126", err)
	}
	// Unknown user: the same answer, so user names cannot be probed.
	_, err = getToken(ctx, e.passwordCredential(creds.TenantID, pub.ClientID, "nobody@contoso.onmicrosoft.com", password))
	if err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("unknown user: GetToken error %v, want one mentioning AADSTS50126", err)
	}
	// A scope the app was not consented: AADSTS65001.
	_, err = e.passwordCredential(creds.TenantID, pub.ClientID, upn, password).GetToken(ctx,
		policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/User.ReadWrite.All"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS65001") {
		t.Errorf("unconsented scope: GetToken error %v, want one mentioning AADSTS65001", err)
	}
	// A disabled account cannot sign in.
	disabled := models.NewUser()
	disabled.SetAccountEnabled(ptr(false))
	_, err = admin.Users().ByUserId(meganID).Patch(ctx, disabled, nil)
	noErr(t, "PATCH accountEnabled=false", err)
	_, err = getToken(ctx, e.passwordCredential(creds.TenantID, pub.ClientID, upn, password))
	if err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("disabled account: GetToken error %v, want one mentioning AADSTS50126", err)
	}
	if strings.Contains(e.log.String(), password) || strings.Contains(e.log.String(), tok) {
		t.Errorf("the server log holds the password or an access token:\n%s", e.log.String())
	}
}

// TestIdentityTenantIsolationAdmin: two tenants made through the admin API. Each app gets tokens for its
// own tenant only; tenant A's token reaches nothing of B's; deleting B ends its sign-ins, its tokens and
// its data.
func TestIdentityTenantIsolationAdmin(t *testing.T) {
	ctx := context.Background()
	e := newIdentityEnv(t)

	// The admin API wants its key.
	if r := e.do(http.MethodPost, "/admin/tenants", "", []byte(`{"name":"x"}`)).want(t, http.StatusUnauthorized); !strings.Contains(string(r.Body), `"InvalidAuthenticationToken"`) {
		t.Errorf("admin API without its key: %s", r.Body)
	}
	e.do(http.MethodPost, "/admin/tenants", "wrong-key", []byte(`{"name":"x"}`)).want(t, http.StatusUnauthorized)
	// A Graph access token is not the admin key.
	graphTok, err := auth.Mint(e.key, auth.Claims{TenantID: e.tenant, ObjectID: testAppID, Roles: []string{"Directory.ReadWrite.All"}}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodGet, "/admin/tenants", graphTok, nil).want(t, http.StatusUnauthorized)

	a, b := e.adminTenant("A"), e.adminTenant("B")
	if a.TenantID == b.TenantID || a.ClientID == b.ClientID {
		t.Fatalf("two tenants share ids: %+v %+v", a, b)
	}
	var list struct {
		Value []struct{ ID, Name string }
	}
	if err := json.Unmarshal(e.admin(http.MethodGet, "/admin/tenants", "").want(t, http.StatusOK).Body, &list); err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, v := range list.Value {
		listed[v.ID] = v.Name
	}
	if listed[a.TenantID] != "A" || listed[b.TenantID] != "B" {
		t.Errorf("GET /admin/tenants: %+v", list.Value)
	}

	credA, credB := e.secretCredential(a.TenantID, a.ClientID, a.ClientSecret), e.secretCredential(b.TenantID, b.ClientID, b.ClientSecret)
	ga, gb := e.graph(credA), e.graph(credB)
	ua, err := ga.Users().Post(ctx, newUserBody("Alex A", "alex", "alex@contoso.onmicrosoft.com"), nil)
	noErr(t, "A creates a user", err)
	ub, err := gb.Users().Post(ctx, newUserBody("Blair B", "blair", "blair@fabrikam.onmicrosoft.com"), nil)
	noErr(t, "B creates a user", err)
	aUser, bUser := str(ua.GetId()), str(ub.GetId())

	// A's app gets a token for A only.
	tokA, err := getToken(ctx, credA)
	if err != nil {
		t.Fatalf("A's token: %v", err)
	}
	if tid := claimsOf(t, tokA)["tid"]; tid != a.TenantID {
		t.Errorf("A's token has tid %v", tid)
	}
	_, err = getToken(ctx, e.secretCredential(b.TenantID, a.ClientID, a.ClientSecret))
	if err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Errorf("A's app asking B for a token: %v, want an error mentioning AADSTS700016", err)
	}

	// A's token cannot read B's user, by id or UPN, nor make B's user a manager in A.
	_, err = ga.Users().ByUserId(bUser).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	_, err = ga.Users().ByUserId("blair@fabrikam.onmicrosoft.com").Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	err = ga.Users().ByUserId(aUser).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+bUser), nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	err = ga.Users().ByUserId(aUser).Manager().Ref().Put(ctx, refUpdate(e.srv.URL+"/v1.0/directoryObjects/"+bUser), nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	// Nor write B's user: it does not exist for A.
	err = ga.Users().ByUserId(bUser).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+aUser), nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	err = ga.Users().ByUserId(bUser).Delete(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	if _, err := gb.Users().ByUserId(bUser).Get(ctx, nil); err != nil {
		t.Errorf("B's user after A's attempts: %v", err)
	}

	// Delete B.
	tokB, err := getToken(ctx, credB)
	if err != nil {
		t.Fatalf("B's token: %v", err)
	}
	e.do(http.MethodGet, "/v1.0/users/"+bUser, tokB, nil).want(t, http.StatusOK)
	e.admin(http.MethodDelete, "/admin/tenants/"+b.TenantID, "").want(t, http.StatusNoContent)
	e.admin(http.MethodDelete, "/admin/tenants/"+b.TenantID, "").want(t, http.StatusNotFound)

	// B's app can no longer sign in (a new credential: the old one would answer from its cache)…
	_, err = getToken(ctx, e.secretCredential(b.TenantID, b.ClientID, b.ClientSecret))
	if err == nil || !strings.Contains(err.Error(), "AADSTS90002") {
		t.Errorf("B's app after deletion: %v, want an error mentioning AADSTS90002", err)
	}
	// …its tokens are refused…
	e.do(http.MethodGet, "/v1.0/users/"+bUser, tokB, nil).wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
	e.do(http.MethodGet, "/v1.0/users", tokB, nil).wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
	// …and its data is gone.
	if _, err := e.st.Tenant(ctx, b.TenantID); !errors.Is(err, store.ErrTenantNotFound) {
		t.Errorf("store.Tenant(B) after deletion: %v, want ErrTenantNotFound", err)
	}
	if _, err := e.st.App(ctx, b.TenantID, b.ClientID); !errors.Is(err, store.ErrAppNotFound) {
		t.Errorf("store.App(B) after deletion: %v, want ErrAppNotFound", err)
	}
	var n int
	err = e.st.View(ctx, b.TenantID, func(tx directory.Tx) (err error) {
		n, err = tx.Count(directory.ListQuery{})
		return err
	})
	if err != nil || n != 0 {
		t.Errorf("objects left in B: %d (%v)", n, err)
	}
	if err := e.st.View(ctx, b.TenantID, func(tx directory.Tx) error {
		_, err := tx.Get(bUser)
		return err
	}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("B's user after deletion: %v, want ErrNotFound", err)
	}
	list.Value = nil
	if err := json.Unmarshal(e.admin(http.MethodGet, "/admin/tenants", "").want(t, http.StatusOK).Body, &list); err != nil {
		t.Fatal(err)
	}
	for _, v := range list.Value {
		if v.ID == b.TenantID {
			t.Errorf("GET /admin/tenants still lists B")
		}
	}
	// A is untouched.
	if _, err := ga.Users().ByUserId(aUser).Get(ctx, nil); err != nil {
		t.Errorf("A's user after B's deletion: %v", err)
	}
}

// signWith signs claims with key (PKCS#8 PEM), naming kid in the header.
func signWith(t *testing.T, key auth.SigningKey, kid string, claims map[string]any) string {
	t.Helper()
	priv := rsaKey(t, key)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func rsaKey(t *testing.T, key auth.SigningKey) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(key.PrivateKeyPEM)
	if block == nil {
		t.Fatal("signing key: no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// wireClaims are a valid app token's claims for tenant, as Mint writes them.
func wireClaims(tenant string, now time.Time, roles ...string) map[string]any {
	return map[string]any{
		"aud": auth.Audience, "iss": auth.Issuer(tenant), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"tid": tenant, "oid": testAppID, "sub": testAppID, "appid": testAppID, "azp": testAppID, "ver": "1.0", "idtyp": "app",
		"roles": roles, "uti": "x", "jti": "x",
	}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestIdentityForgedTokens: every kind of bad token is a 401 InvalidAuthenticationToken with a
// WWW-Authenticate header, and the server never writes a presented token into its log.
func TestIdentityForgedTokens(t *testing.T) {
	ctx := context.Background()
	e := newIdentityEnv(t)
	e.importUser(e.tenant, userID(1), "Target User")
	now := time.Now()
	roles := []string{"User.Read.All"}

	valid, err := auth.Mint(e.key, auth.Claims{TenantID: e.tenant, ObjectID: testAppID, AppID: testAppID, Roles: roles}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodGet, "/v1.0/users/"+userID(1), valid, nil).want(t, http.StatusOK)
	// The same claims re-signed by the test's signer pass too, so the variants below differ from a valid
	// token only in what they change.
	e.do(http.MethodGet, "/v1.0/users/"+userID(1), signWith(t, e.key, e.key.ID, wireClaims(e.tenant, now, roles...)), nil).want(t, http.StatusOK)

	other, err := auth.NewSigningKey(now)
	if err != nil {
		t.Fatal(err)
	}
	// Another orgraph deployment: its own key set and its own default tenant.
	otherStore, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "other.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer otherStore.Close()
	otherTenant, err := store.Bootstrap(ctx, otherStore)
	if err != nil {
		t.Fatal(err)
	}
	otherKeys, err := otherStore.SigningKeys(ctx)
	if err != nil || len(otherKeys) == 0 {
		t.Fatalf("other deployment's keys: %v", err)
	}
	mint := func(k auth.SigningKey, tenant string, at time.Time) string {
		t.Helper()
		tok, err := auth.Mint(k, auth.Claims{TenantID: tenant, ObjectID: testAppID, AppID: testAppID, Roles: roles}, at, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	parts := strings.Split(valid, ".")
	elevated := claimsOf(t, valid)
	elevated["roles"] = []string{"Directory.ReadWrite.All"}
	otherTid := claimsOf(t, valid)
	otherTid["tid"], otherTid["iss"] = otherTenant, auth.Issuer(otherTenant)
	hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("k", 32))}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", e.key.ID))
	if err != nil {
		t.Fatal(err)
	}
	hsTok, err := jwt.Signed(hs).Claims(wireClaims(e.tenant, now, roles...)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	wrongKeySameKid := auth.SigningKey{ID: e.key.ID, PrivateKeyPEM: other.PrivateKeyPEM}
	claimsWith := func(k string, v any) map[string]any {
		c := wireClaims(e.tenant, now, roles...)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}

	cases := []struct{ name, token string }{
		{"alg none", b64(map[string]any{"alg": "none", "typ": "JWT", "kid": e.key.ID}) + "." + parts[1] + "."},
		{"alg none, signature kept", b64(map[string]any{"alg": "none", "typ": "JWT", "kid": e.key.ID}) + "." + parts[1] + "." + parts[2]},
		{"HS256 under the real kid", hsTok},
		{"unknown key", mint(other, e.tenant, now)},
		{"wrong key under the real kid", mint(wrongKeySameKid, e.tenant, now)},
		{"payload tampered (roles)", parts[0] + "." + b64(elevated) + "." + parts[2]},
		{"payload tampered (tenant)", parts[0] + "." + b64(otherTid) + "." + parts[2]},
		{"signature cut", parts[0] + "." + parts[1] + "."},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(mint(e.key, e.tenant, now.Add(-time.Minute)), ".")[2]},
		{"expired", mint(e.key, e.tenant, now.Add(-2*time.Hour))},
		{"not yet valid", mint(e.key, e.tenant, now.Add(time.Hour))},
		{"no exp", signWith(t, e.key, e.key.ID, claimsWith("exp", nil))},
		{"wrong audience", signWith(t, e.key, e.key.ID, claimsWith("aud", "api://some-other-api"))},
		{"audience of another Microsoft API", signWith(t, e.key, e.key.ID, claimsWith("aud", "https://management.azure.com/"))},
		{"wrong issuer", signWith(t, e.key, e.key.ID, claimsWith("iss", "https://sts.windows.net/"+otherTenant+"/"))},
		{"issuer of another authority", signWith(t, e.key, e.key.ID, claimsWith("iss", "https://evil.example.com/"+e.tenant+"/"))},
		{"no tid", signWith(t, e.key, e.key.ID, claimsWith("tid", nil))},
		{"no kid", signWith(t, e.key, "", wireClaims(e.tenant, now, roles...))},
		{"tenant of another deployment (its key)", mint(otherKeys[0], otherTenant, now)},
		{"this tenant, another deployment's key", mint(otherKeys[0], e.tenant, now)},
		{"a tenant that does not exist here (our key)", mint(e.key, otherTenant, now)},
		{"garbage", "not-a-token"},
		{"four parts", valid + ".x"},
	}
	for _, c := range cases {
		r := e.do(http.MethodGet, "/v1.0/users/"+userID(1), c.token, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", c.name, r.Status, r.Body)
			continue
		}
		checkErrorBody(t, r, "InvalidAuthenticationToken", "")
		if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
			t.Errorf("%s: WWW-Authenticate %q, want a Bearer challenge", c.name, h)
		}
		// A write with the same token is refused just the same.
		if r := e.do(http.MethodDelete, "/v1.0/users/"+userID(1), c.token, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: DELETE answered %d, want 401: %s", c.name, r.Status, r.Body)
		}
	}
	// No token and a non-Bearer scheme.
	for _, h := range []string{"", "Basic dXNlcjpwYXNz", "Bearer", "Bearer "} {
		r := e.do(http.MethodGet, "/v1.0/users", "", nil, "Authorization", h)
		r.wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: no WWW-Authenticate header", h)
		}
	}

	logs := e.log.String()
	if !strings.Contains(logs, "request failed") {
		t.Errorf("the refusals were not logged at all:\n%s", logs)
	}
	leaked := false
	for _, c := range append(cases, struct{ name, token string }{"valid", valid}) {
		if strings.Contains(logs, c.token) {
			t.Errorf("the server log holds the %s token", c.name)
			leaked = true
		}
		if p := strings.Split(c.token, "."); len(p) == 3 && len(p[2]) > 16 && strings.Contains(logs, p[2]) {
			t.Errorf("the server log holds the signature of the %s token", c.name)
			leaked = true
		}
	}
	if leaked {
		t.Logf("server log:\n%s", logs)
	}
	// The user is still there: no forged token wrote anything.
	e.do(http.MethodGet, "/v1.0/users/"+userID(1), valid, nil).want(t, http.StatusOK)
}

// importUser adds an enabled user to tenant.
func (e *idEnv) importUser(tenant, id, displayName string) {
	e.t.Helper()
	nick := strings.ToLower(strings.ReplaceAll(displayName, " ", "."))
	err := e.svc.Import(context.Background(), tenant, &directory.Object{ID: id, Kind: directory.KindUser, Props: map[string]any{
		"displayName": displayName, "userPrincipalName": nick + "@contoso.onmicrosoft.com",
		"mailNickname": strings.ReplaceAll(nick, ".", ""), "accountEnabled": true,
	}})
	if err != nil {
		e.t.Fatalf("import user %s: %v", id, err)
	}
}

// TestIdentityTokenEndpointErrors sends the token endpoint what a misconfigured client would, as raw forms,
// and checks Entra's answers; then the lockout after MaxFailures wrong secrets.
func TestIdentityTokenEndpointErrors(t *testing.T) {
	ctx := context.Background()
	e := newIdentityEnv(t)
	c, err := identity.CreateTenant(ctx, e.st, "Contoso")
	if err != nil {
		t.Fatal(err)
	}

	status, body := e.tokenForm(c.TenantID, clientCredentials(c.ClientID, c.ClientSecret))
	if status != http.StatusOK || body["access_token"] == nil || body["token_type"] != "Bearer" {
		t.Fatalf("the correct secret: %d %v", status, body)
	}

	status, body = e.tokenForm(c.TenantID, clientCredentials("8f0c3c2a-1111-4222-8333-444455556666", c.ClientSecret))
	wantOAuthError(t, "unknown client", status, body, http.StatusBadRequest, "unauthorized_client", "700016")

	status, body = e.tokenForm(c.TenantID, clientCredentials(c.ClientID, "wrong"))
	wantOAuthError(t, "wrong secret", status, body, http.StatusUnauthorized, "invalid_client", "7000215")

	status, body = e.tokenForm(c.TenantID, clientCredentials(c.ClientID, ""))
	wantOAuthError(t, "no secret", status, body, http.StatusUnauthorized, "invalid_client", "7000215")

	f := clientCredentials(c.ClientID, c.ClientSecret)
	f.Set("scope", "https://graph.microsoft.com/User.Read.All")
	status, body = e.tokenForm(c.TenantID, f)
	wantOAuthError(t, "client credentials without /.default", status, body, http.StatusBadRequest, "invalid_scope", "1002012")
	f.Del("scope")
	status, body = e.tokenForm(c.TenantID, f)
	wantOAuthError(t, "client credentials without a scope", status, body, http.StatusBadRequest, "invalid_scope", "1002012")
	f.Set("scope", "https://management.azure.com/.default")
	status, body = e.tokenForm(c.TenantID, f)
	wantOAuthError(t, "client credentials for another resource", status, body, http.StatusBadRequest, "invalid_scope", "1002012")

	f = clientCredentials(c.ClientID, c.ClientSecret)
	f.Set("grant_type", "authorization_code")
	status, body = e.tokenForm(c.TenantID, f)
	wantOAuthError(t, "authorization_code", status, body, http.StatusBadRequest, "unsupported_grant_type", "70003")
	f.Set("grant_type", "")
	status, body = e.tokenForm(c.TenantID, f)
	wantOAuthError(t, "no grant_type", status, body, http.StatusBadRequest, "unsupported_grant_type", "70003")

	for _, tenant := range []string{"9e9e9e9e-1111-4222-8333-444455556666", "contoso.onmicrosoft.com", "common", "organizations"} {
		status, body = e.tokenForm(tenant, clientCredentials(c.ClientID, c.ClientSecret))
		wantOAuthError(t, "tenant "+tenant, status, body, http.StatusBadRequest, "invalid_request", "90002")
	}

	f = clientCredentials("", c.ClientSecret)
	status, body = e.tokenForm(c.TenantID, f)
	wantOAuthError(t, "no client_id", status, body, http.StatusBadRequest, "invalid_request", "900144")

	// client_secret_basic, which the OpenID configuration advertises, works as well.
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/"+c.TenantID+"/oauth2/v2.0/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {graphDefault}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	res, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("client_secret_basic: %d", res.StatusCode)
	}

	// Lockout: a fresh client (the failures above count against c's), MaxFailures (10) wrong secrets within
	// the minute, and then even the right one is refused; other clients of the tenant are not affected.
	victim, secret, err := identity.CreateApp(ctx, e.st, c.TenantID, "victim", []string{"User.Read.All"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		status, body = e.tokenForm(c.TenantID, clientCredentials(victim.ClientID, "guess-"+string(rune('a'+i))))
		wantOAuthError(t, "guess", status, body, http.StatusUnauthorized, "invalid_client", "7000215")
	}
	status, body = e.tokenForm(c.TenantID, clientCredentials(victim.ClientID, secret))
	if status == http.StatusOK {
		t.Errorf("after 10 wrong secrets the right one still gets a token: the guesses are unbounded")
	} else {
		wantOAuthError(t, "locked client", status, body, http.StatusUnauthorized, "invalid_client", "50053")
	}
	status, body = e.tokenForm(c.TenantID, clientCredentials(victim.ClientID, "guess-z"))
	wantOAuthError(t, "locked client, another guess", status, body, http.StatusUnauthorized, "invalid_client", "50053")
	other, otherSecret, err := identity.CreateApp(ctx, e.st, c.TenantID, "bystander", []string{"User.Read.All"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if status, body = e.tokenForm(c.TenantID, clientCredentials(other.ClientID, otherSecret)); status != http.StatusOK {
		t.Errorf("another client of the tenant during the lockout: %d %v", status, body)
	}

	if logs := e.log.String(); strings.Contains(logs, c.ClientSecret) || strings.Contains(logs, secret) || strings.Contains(logs, otherSecret) {
		t.Errorf("the server log holds a client secret:\n%s", logs)
	}

	// The same for a user's password, on a server that allows 2 failures (bcrypt is slow under -race).
	e = newIdentityEnv(t, func(o *identity.Options) { o.MaxFailures = 2 })
	if c, err = identity.CreateTenant(ctx, e.st, "Contoso"); err != nil {
		t.Fatal(err)
	}
	e.importUser(c.TenantID, userID(7), "Locked User")
	hash, err := auth.HashPassword("the-right-one")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetPasswordHash(ctx, c.TenantID, userID(7), hash); err != nil {
		t.Fatal(err)
	}
	pub, _, err := identity.CreateApp(ctx, e.st, c.TenantID, "public", nil, []string{"User.Read"}, true)
	if err != nil {
		t.Fatal(err)
	}
	pw := func(password string) (int, map[string]any) {
		return e.tokenForm(c.TenantID, url.Values{"grant_type": {"password"}, "client_id": {pub.ClientID},
			"username": {"locked.user@contoso.onmicrosoft.com"}, "password": {password}, "scope": {graphDefault}})
	}
	if status, body = pw("the-right-one"); status != http.StatusOK {
		t.Fatalf("password grant: %d %v", status, body)
	}
	for range 2 {
		status, body = pw("wrong")
		wantOAuthError(t, "wrong password", status, body, http.StatusBadRequest, "invalid_grant", "50126")
	}
	status, body = pw("the-right-one")
	wantOAuthError(t, "locked user", status, body, http.StatusBadRequest, "invalid_grant", "50053")

	if logs := e.log.String(); strings.Contains(logs, c.ClientSecret) || strings.Contains(logs, "the-right-one") {
		t.Errorf("the server log holds a secret or a password:\n%s", logs)
	}
}
