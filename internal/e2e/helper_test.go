package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/graphapi"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// graphV1 is the service root Graph's documentation writes @odata.id values against.
const graphV1 = "https://graph.microsoft.com/v1.0"

// testAppID is the client (and service principal) id of the application tokens the tests mint.
const testAppID = "5b0e3f2a-4a6e-4c55-9d7b-3f1f7b0e2c11"

// msgManagerNotFound is Graph's exact message for a user without a manager (NOTES.md).
const msgManagerNotFound = "Resource 'manager' does not exist or one of its queried reference-property objects are not present."

// msgDenied is Graph's message for Authorization_RequestDenied (NOTES.md).
const msgDenied = "Insufficient privileges to complete the operation."

// msgLevelsOnList is Graph's message for $levels on /users (NOTES.md).
const msgLevelsOnList = "Transitive manager's list is only supported on a single user, send the $expand request on /users/{id} endpoint"

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// The tests do not call t.Parallel: msgraph-sdk-go's NewGraphServiceClient writes package-level state
// (kiota's BackingStoreFactoryInstance, the default serializer registries) that every model constructor
// reads, so two tests building clients at once are a data race inside the SDK, which -race reports.

// env is one running orgraph: a SQLite file in the test's temporary folder, a bootstrapped default tenant,
// and the Graph API served over real HTTP on loopback.
type env struct {
	t      *testing.T
	st     *sqlite.Store
	svc    *directory.Service
	tenant string
	key    auth.SigningKey
	srv    *httptest.Server
	rec    *recorder
	api    *graphapi.Server
}

// recorded is what the server saw of one request, for assertions on what the SDK sent.
type recorded struct {
	Method      string
	EscapedPath string
	RawQuery    string
	Header      http.Header
}

type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) add(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, req.Header.Clone()})
}

// all returns the requests seen so far.
func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// reset forgets the requests seen so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// newEnv starts a server for one test; opts adjust the graphapi options (LenientConsistency, say).
func newEnv(t *testing.T, opts ...func(*graphapi.Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{})
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
	o := graphapi.Options{Store: st, Verifier: auth.NewVerifier(st.SigningKeys, time.Now)}
	for _, f := range opts {
		f(&o)
	}
	api := graphapi.New(o)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close) // registered after the store's Close, so it runs first
	return &env{t: t, st: st, svc: directory.NewService(st), tenant: tenant, key: keys[0], srv: srv, rec: rec, api: api}
}

func lenient(o *graphapi.Options) { o.LenientConsistency = true }

// --- tokens ---

// mint signs a token for the claims, in the default tenant unless c names another.
func (e *env) mint(c auth.Claims) string {
	e.t.Helper()
	if c.TenantID == "" {
		c.TenantID = e.tenant
	}
	if c.AppID == "" {
		c.AppID = testAppID
	}
	if c.ObjectID == "" {
		c.ObjectID = testAppID
	}
	tok, err := auth.Mint(e.key, c, time.Now(), time.Hour)
	if err != nil {
		e.t.Fatalf("auth.Mint: %v", err)
	}
	return tok
}

// app is an application (app-only) token of the default tenant with these roles.
func (e *env) app(roles ...string) string { return e.mint(auth.Claims{Roles: roles}) }

// delegated is a token of the default tenant for the signed-in user oid with these scopes.
func (e *env) delegated(oid string, scopes ...string) string {
	return e.mint(auth.Claims{ObjectID: oid, Scopes: scopes})
}

// --- the SDK client, built as an application builds it ---

// staticToken is the smallest AccessTokenProvider: one token, handed only to the allowed hosts.
type staticToken struct {
	token string
	hosts *authentication.AllowedHostsValidator
}

func (p *staticToken) GetAuthorizationToken(_ context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	return p.token, nil
}

func (p *staticToken) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	return p.hosts
}

// client returns a Graph SDK client that sends token ("" sends none) to this server's /v1.0.
func (e *env) client(token string) *msgraphsdk.GraphServiceClient {
	return e.clientAt(token, "/v1.0")
}

// clientAt is client for another version root ("/beta").
func (e *env) clientAt(token, version string) *msgraphsdk.GraphServiceClient {
	e.t.Helper()
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	hosts, err := authentication.NewAllowedHostsValidatorErrorCheck([]string{u.Hostname()})
	if err != nil {
		e.t.Fatal(err)
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapter(authentication.NewBaseBearerTokenAuthenticationProvider(&staticToken{token, hosts}))
	if err != nil {
		e.t.Fatalf("NewGraphRequestAdapter: %v", err)
	}
	adapter.SetBaseUrl(e.srv.URL + version)
	return msgraphsdk.NewGraphServiceClient(adapter)
}

// odataErrors maps every error status to the SDK's ODataError, as the generated builders do.
var odataErrors = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// addSponsor sends POST /users/{id}/sponsors/$ref through the request adapter: the Go SDK has no typed
// builder for it (NOTES.md), so this is what applications write.
func addSponsor(ctx context.Context, c *msgraphsdk.GraphServiceClient, userID, odataID string) error {
	ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.POST,
		"{+baseurl}/users/{user%2Did}/sponsors/$ref", map[string]string{"user%2Did": userID})
	ri.Headers.TryAdd("Accept", "application/json")
	body := models.NewReferenceCreate()
	body.SetOdataId(&odataID)
	if err := ri.SetContentFromParsable(ctx, c.GetAdapter(), "application/json", body); err != nil {
		return err
	}
	return c.GetAdapter().SendNoContent(ctx, ri, odataErrors)
}

// removeSponsorByID sends DELETE /users/{id}/sponsors/{sponsorId}/$ref (no typed builder in the Go SDK v1.89).
func removeSponsorByID(ctx context.Context, c *msgraphsdk.GraphServiceClient, userID, sponsorID string) error {
	ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.DELETE,
		"{+baseurl}/users/{user%2Did}/sponsors/{directoryObject%2Did}/$ref",
		map[string]string{"user%2Did": userID, "directoryObject%2Did": sponsorID})
	ri.Headers.TryAdd("Accept", "application/json")
	return c.GetAdapter().SendNoContent(ctx, ri, odataErrors)
}

// removeSponsorByRef sends DELETE /users/{id}/sponsors/$ref?@id={url}, with the template the SDK's other
// $ref collections (groups/{id}/members/$ref) use.
func removeSponsorByRef(ctx context.Context, c *msgraphsdk.GraphServiceClient, userID, odataID string) error {
	ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.DELETE,
		"{+baseurl}/users/{user%2Did}/sponsors/$ref?@id={%40id}", map[string]string{"user%2Did": userID})
	ri.QueryParameters["%40id"] = odataID
	ri.Headers.TryAdd("Accept", "application/json")
	return c.GetAdapter().SendNoContent(ctx, ri, odataErrors)
}

// refUpdate is the body of PUT …/manager/$ref.
func refUpdate(odataID string) models.ReferenceUpdateable {
	b := models.NewReferenceUpdate()
	b.SetOdataId(&odataID)
	return b
}

// eventual is the ConsistencyLevel: eventual header for a typed builder's request configuration.
func eventual() *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// --- seeding through the directory service (ids are kept) ---

// addUser imports a user; props override the defaults (a UPN derived from the display name).
func (e *env) addUser(id, displayName string, props map[string]any) {
	e.t.Helper()
	nick := strings.ToLower(strings.ReplaceAll(displayName, " ", "."))
	p := map[string]any{
		"displayName":       displayName,
		"userPrincipalName": nick + "@contoso.onmicrosoft.com",
		"mailNickname":      strings.ReplaceAll(nick, ".", ""),
		"accountEnabled":    true,
	}
	for k, v := range props {
		p[k] = v
	}
	e.importObject(id, directory.KindUser, p)
}

func (e *env) addGroup(id, displayName string) {
	e.t.Helper()
	e.importObject(id, directory.KindGroup, map[string]any{
		"displayName": displayName, "mailNickname": strings.ToLower(strings.ReplaceAll(displayName, " ", "")),
		"mailEnabled": false, "securityEnabled": true, "groupTypes": []any{},
	})
}

func (e *env) addContact(id, displayName, company string) {
	e.t.Helper()
	e.importObject(id, directory.KindOrgContact, map[string]any{
		"displayName": displayName, "companyName": company,
		"mail": strings.ToLower(strings.ReplaceAll(displayName, " ", ".")) + "@fabrikam.com",
	})
}

func (e *env) importObject(id string, kind directory.Kind, props map[string]any) {
	e.t.Helper()
	if err := e.svc.Import(context.Background(), e.tenant, &directory.Object{ID: id, Kind: kind, Props: props}); err != nil {
		e.t.Fatalf("import %s %s: %v", kind, id, err)
	}
}

func (e *env) setManager(userID, managerID string) {
	e.t.Helper()
	if err := e.svc.SetManager(context.Background(), e.tenant, userID, directory.Ref{ID: managerID}); err != nil {
		e.t.Fatalf("set manager of %s to %s: %v", userID, managerID, err)
	}
}

func (e *env) sponsor(userID, sponsorID string) {
	e.t.Helper()
	if err := e.svc.AddSponsor(context.Background(), e.tenant, userID, directory.Ref{ID: sponsorID}); err != nil {
		e.t.Fatalf("add sponsor %s to %s: %v", sponsorID, userID, err)
	}
}

// --- raw HTTP ---

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a raw request to path (below the server root, e.g. "/v1.0/users") with token ("" for none) and
// header name/value pairs; a non-nil body is sent as given.
func (e *env) do(method, path, token string, body []byte, header ...string) *response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
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
	res, err := e.srv.Client().Do(req)
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

func (e *env) get(path, token string, header ...string) *response {
	e.t.Helper()
	return e.do(http.MethodGet, path, token, nil, header...)
}

// object decodes a JSON object body.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// want fails the test unless the response has status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// wantError checks a raw error response: status, Graph's error body with code (and message when not
// ""), and its innerError as Graph writes it.
func (r *response) wantError(t *testing.T, status int, code, message string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	checkErrorBody(t, r, code, message)
}

func checkErrorBody(t *testing.T, r *response, code, message string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json…", ct)
	}
	var body struct {
		Error *struct {
			Code       *string         `json:"code"`
			Message    *string         `json:"message"`
			InnerError *map[string]any `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Error == nil {
		t.Fatalf("error body is not {\"error\":{…}}: %v\n%s", err, r.Body)
	}
	if body.Error.Code == nil || *body.Error.Code != code {
		t.Errorf("error.code %q, want %q (body %s)", str(body.Error.Code), code, r.Body)
	}
	if body.Error.Message == nil || *body.Error.Message == "" {
		t.Errorf("error.message missing or empty (the SDK's error type needs it): %s", r.Body)
	} else if message != "" && *body.Error.Message != message {
		t.Errorf("error.message %q, want %q", *body.Error.Message, message)
	}
	if body.Error.InnerError == nil {
		t.Fatalf("error.innerError missing: %s", r.Body)
	}
	inner := *body.Error.InnerError
	date, _ := inner["date"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05", date); err != nil {
		t.Errorf("innerError.date %q is not in Graph's 2006-01-02T15:04:05 form: %v", date, err)
	}
	rid, _ := inner["request-id"].(string)
	if !guidRE.MatchString(rid) {
		t.Errorf("innerError.request-id %q is not a GUID", rid)
	}
	if h := r.Header.Get("request-id"); h != rid {
		t.Errorf("request-id header %q differs from innerError.request-id %q", h, rid)
	}
	if _, ok := inner["client-request-id"].(string); !ok {
		t.Errorf("innerError.client-request-id missing: %s", r.Body)
	}
}

// --- SDK errors ---

// wantODataError asserts that err is the SDK's ODataError with this status, code and (unless "") message.
func wantODataError(t *testing.T, err error, status int, code, message string) *odataerrors.ODataError {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d %s", status, code)
	}
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("error %T %v is not an *odataerrors.ODataError (want %d %s)", err, err, status, code)
	}
	if oe.ResponseStatusCode != status {
		t.Errorf("status %d, want %d (%s: %s)", oe.ResponseStatusCode, status, odataCode(oe), odataMessage(oe))
	}
	if got := odataCode(oe); got != code {
		t.Errorf("error code %q, want %q (message %q)", got, code, odataMessage(oe))
	}
	if message != "" && odataMessage(oe) != message {
		t.Errorf("error message %q, want %q", odataMessage(oe), message)
	}
	return oe
}

func odataCode(oe *odataerrors.ODataError) string {
	if oe.GetErrorEscaped() == nil {
		return "<no error object>"
	}
	return str(oe.GetErrorEscaped().GetCode())
}

func odataMessage(oe *odataerrors.ODataError) string {
	if oe.GetErrorEscaped() == nil {
		return "<no error object>"
	}
	return str(oe.GetErrorEscaped().GetMessage())
}

// noErr fails the test at once on an SDK error, showing Graph's code and message when there are some.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		t.Fatalf("%s: %d %s: %s", what, oe.ResponseStatusCode, odataCode(oe), odataMessage(oe))
	}
	t.Fatalf("%s: %v", what, err)
}

// --- JSON helpers ---

// stripAnnotations removes every @odata.* member, at any depth.
func stripAnnotations(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			if strings.HasPrefix(k, "@odata.") {
				continue
			}
			out[k] = stripAnnotations(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = stripAnnotations(v)
		}
		return out
	}
	return v
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v", err)
	}
	return v
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// asUser casts a directoryObject the SDK returned to a user, failing the test when it is not one.
func asUser(t *testing.T, o models.DirectoryObjectable) models.Userable {
	t.Helper()
	u, ok := o.(models.Userable)
	if !ok {
		t.Fatalf("got %T (@odata.type %s), want a models.Userable", o, odataType(o))
	}
	return u
}

func odataType(o models.DirectoryObjectable) string {
	if o == nil {
		return "<nil>"
	}
	return str(o.GetOdataType())
}
