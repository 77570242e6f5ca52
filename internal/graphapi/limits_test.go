package graphapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// limitsEnv is a Server on a SQLite store in a temporary folder, with a way to mint tokens for any app.
type limitsEnv struct {
	t      testing.TB
	st     store.Store
	tenant string
	key    auth.SigningKey
}

func newLimitsEnv(t testing.TB) *limitsEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &limitsEnv{t: t, st: st, tenant: tenant, key: keys[0]}
}

// server returns a Server on the env's store with o's limits.
func (e *limitsEnv) server(o Options) *Server {
	o.Store = e.st
	o.Verifier = auth.NewVerifier(e.st.SigningKeys, time.Now)
	return New(o)
}

// token mints an application token of app with Directory.ReadWrite.All.
func (e *limitsEnv) token(app string) string {
	e.t.Helper()
	tok, err := auth.Mint(e.key, auth.Claims{TenantID: e.tenant, ObjectID: app, AppID: app, Roles: []string{"Directory.ReadWrite.All"}}, time.Now(), time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// do serves one request and returns the recorder; body, when not "", is sent as JSON.
func do(s *Server, method, target, token, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestCost(t *testing.T) {
	routes := testRoutes()
	cases := []struct {
		method, path, query string
		units, writes       int
	}{
		{"GET", "/v1.0/users", "", 2, 0},
		{"GET", "/v1.0/users", "$select=id", 1, 0},
		{"GET", "/v1.0/users", "$select=id&$top=5", 1, 0},
		{"GET", "/v1.0/users", "$expand=manager", 3, 0},
		{"GET", "/v1.0/users", "$top=20", 2, 0},
		{"GET", "/v1.0/users/u1", "", 1, 0},
		{"GET", "/v1.0/users/u1", "$expand=manager", 2, 0},
		{"GET", "/v1.0/me/directReports", "$top=5", 1, 0},
		{"GET", "/v1.0/users/$count", "", 1, 0},
		{"POST", "/v1.0/directoryObjects/getByIds", "", 3, 0},
		{"POST", "/v1.0/users", "", 1, 1},
		{"PATCH", "/v1.0/users/u1", "", 1, 1},
		{"PUT", "/v1.0/users/u1/manager/$ref", "", 1, 1},
		{"DELETE", "/v1.0/users/u1/sponsors/s1/$ref", "", 1, 1},
	}
	for _, c := range cases {
		rt, _, err := resolve(routes, c.method, c.path)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		q, err := odata.Parse(c.query, false)
		if err != nil {
			t.Fatal(err)
		}
		if units, writes := cost(c.method, rt, q); units != c.units || writes != c.writes {
			t.Errorf("%s %s?%s costs %d units and %d writes, want %d and %d", c.method, c.path, c.query, units, writes, c.units, c.writes)
		}
	}
}

// TestThrottle drives the buckets with a clock of its own: a budget is spent, the next request is refused
// with Graph's 429 (and charged nothing), another app of the tenant is not affected, and the budget refills
// at its rate. The write quotas are separate, per app and per tenant.
func TestThrottle(t *testing.T) {
	e := newLimitsEnv(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := e.server(Options{Throttle: &Throttle{ResourceUnits: 5, AppTenantWrites: 2, TenantWrites: 3}})
	s.throttler.now = func() time.Time { return now }
	a, b := e.token("app-a"), e.token("app-b")

	for i := range 2 {
		if rec := do(s, "GET", "/v1.0/users", a, ""); rec.Code != http.StatusOK || rec.Header().Get("x-ms-resource-unit") != "2" {
			t.Fatalf("GET %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	// 4 of 5 units spent: a list (2) is refused, with the wait for 1 unit at 0.5 units a second.
	rec := do(s, "GET", "/v1.0/users", a, "")
	var body struct {
		Error struct {
			Code, Message string
			InnerError    map[string]string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusTooManyRequests ||
		body.Error.Code != "TooManyRequests" || body.Error.Message != "Please retry again later." || body.Error.InnerError["request-id"] == "" {
		t.Fatalf("over the budget: %d %s", rec.Code, rec.Body)
	}
	for h, want := range map[string]string{
		"Retry-After":               "2",
		"x-ms-throttle-scope":       "Tenant_Application/ReadWrite/app-a/" + e.tenant,
		"x-ms-throttle-information": "ResourceUnitLimitExceeded",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	// A GET of one user (1 unit) still fits: the refused request was not charged.
	if rec := do(s, "GET", "/v1.0/users/nobody@example.com", a, ""); rec.Code != http.StatusNotFound {
		t.Errorf("a cheaper request after a refusal: %d %s", rec.Code, rec.Body)
	}
	if rec := do(s, "GET", "/v1.0/users", b, ""); rec.Code != http.StatusOK {
		t.Errorf("another app of the tenant: %d %s", rec.Code, rec.Body)
	}
	now = now.Add(4 * time.Second) // refills 2 units
	if rec := do(s, "GET", "/v1.0/users", a, ""); rec.Code != http.StatusOK {
		t.Errorf("after the refill: %d %s", rec.Code, rec.Body)
	}

	// Writes: 2 per app and tenant, 3 per tenant, over any number of apps.
	now = now.Add(time.Hour)
	user := func(n string) string {
		return `{"accountEnabled":true,"displayName":"` + n + `","mailNickname":"` + n + `","userPrincipalName":"` + n + `@example.com","passwordProfile":{"password":"Secret-123"}}`
	}
	for i, c := range []struct {
		token, name string
		status      int
		scope, info string
	}{
		{a, "w1", http.StatusCreated, "", ""},
		{a, "w2", http.StatusCreated, "", ""},
		{a, "w3", http.StatusTooManyRequests, "Tenant_Application/Write/app-a/" + e.tenant, "WriteLimitExceeded"},
		{b, "w4", http.StatusCreated, "", ""},
		{b, "w5", http.StatusTooManyRequests, "Tenant/Write/app-b/" + e.tenant, "WriteLimitExceeded"},
	} {
		rec := do(s, "POST", "/v1.0/users", c.token, user(c.name))
		if rec.Code != c.status || rec.Header().Get("x-ms-throttle-scope") != c.scope || rec.Header().Get("x-ms-throttle-information") != c.info {
			t.Errorf("write %d: %d, scope %q, information %q; want %d %q %q: %s", i, rec.Code,
				rec.Header().Get("x-ms-throttle-scope"), rec.Header().Get("x-ms-throttle-information"), c.status, c.scope, c.info, rec.Body)
		}
	}
	if n := len(s.throttler.buckets); n != 5 {
		t.Errorf("%d buckets, want 5 (units of a and b, writes of a and b, writes of the tenant)", n)
	}
	now = now.Add(time.Hour)
	s.throttler.admit("t", "x", 1, 0) // sweeps every bucket, all refilled by now, then adds one
	if n := len(s.throttler.buckets); n != 1 {
		t.Errorf("%d buckets after an hour, want only the new one", n)
	}
}

// blockingStore holds every View until released, so that requests can be kept in flight; entered tells
// when one has arrived.
type blockingStore struct {
	store.Store
	entered, release chan struct{}
}

func (b *blockingStore) View(ctx context.Context, tenant string, fn func(directory.Tx) error) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Store.View(ctx, tenant, fn)
}

// TestInFlightCap keeps one request in flight with MaxInFlight 1: the next is answered 429 at once, and once
// the first is done requests are served again. RequestInfo says which limit refused it.
func TestInFlightCap(t *testing.T) {
	e := newLimitsEnv(t)
	bs := &blockingStore{Store: e.st, entered: make(chan struct{}, 8), release: make(chan struct{})}
	e.st = bs
	s := e.server(Options{MaxInFlight: 1})
	tok := e.token("app")
	first := make(chan int)
	go func() { first <- do(s, "GET", "/v1.0/users", tok, "").Code }()
	<-bs.entered

	req := httptest.NewRequest("GET", "/v1.0/users/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	ctx, info := WithRequestInfo(req.Context())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req.WithContext(ctx))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), `"code":"TooManyRequests"`) {
		t.Errorf("a request over the cap: %d %s", rec.Code, rec.Body)
	}
	if info.Throttled != LimitInFlight || info.Error != "TooManyRequests" || info.Route != "/v1.0/users/{id}" || info.RequestID != rec.Header().Get("request-id") {
		t.Errorf("RequestInfo of the refused request: %+v", info)
	}
	close(bs.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the request in flight: %d", code)
	}
	if rec := do(s, "GET", "/v1.0/users", tok, ""); rec.Code != http.StatusOK {
		t.Errorf("after the slot is free: %d %s", rec.Code, rec.Body)
	}
}

// TestRequestInfo checks the route templates the Graph API reports for metrics.
func TestRequestInfo(t *testing.T) {
	e := newLimitsEnv(t)
	s := e.server(Options{})
	tok := e.token("app")
	for _, c := range []struct {
		method, target, token string
		route                 string
	}{
		{"GET", "/v1.0/users/0b9c2d7e-0000-4000-8000-000000000001/manager", tok, "/v1.0/users/{id}/manager"},
		{"GET", "/beta/users/a%40b.example/directReports/graph.user/$count", tok, "/beta/users/{id}/directReports/{cast}/$count"},
		{"DELETE", "/v1.0/users/u/sponsors/s/$ref", "", "/v1.0/users/{id}/sponsors/{id}/$ref"},
		{"GET", "/v1.0/me", "", "/v1.0/me"},
		{"GET", "/v1.0/nothing/here", tok, ""},
	} {
		req := httptest.NewRequest(c.method, c.target, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		ctx, info := WithRequestInfo(req.Context())
		s.ServeHTTP(httptest.NewRecorder(), req.WithContext(ctx))
		if info.Route != c.route || info.RequestID == "" {
			t.Errorf("%s %s: %+v, want route %q", c.method, c.target, info, c.route)
		}
	}
}
