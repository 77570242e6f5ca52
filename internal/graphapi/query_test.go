package graphapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// queryAPI is a server on a SQLite store with one tenant, called through ServeHTTP.
type queryAPI struct {
	t      *testing.T
	st     *sqlite.Store
	srv    *Server
	svc    *directory.Service
	key    auth.SigningKey
	tenant string
	token  string
}

func newQueryAPI(t *testing.T) *queryAPI {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{})
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
	a := &queryAPI{t: t, st: st, svc: directory.NewService(st), key: keys[0], tenant: tenant,
		srv: New(Options{Store: st, Verifier: auth.NewVerifier(st.SigningKeys, time.Now)})}
	a.token = a.mint(tenant)
	return a
}

func (a *queryAPI) mint(tenant string) string {
	a.t.Helper()
	app := uuid.NewString()
	tok, err := auth.Mint(a.key, auth.Claims{TenantID: tenant, ObjectID: app, AppID: app, Roles: []string{"Directory.Read.All"}}, time.Now(), time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// user imports a user named name (its UPN derived from it) with more properties.
func (a *queryAPI) user(name string, props map[string]any) *directory.Object {
	a.t.Helper()
	p := map[string]any{"displayName": name, "accountEnabled": true, "mailNickname": "n", "userPrincipalName": strings.ReplaceAll(name, " ", ".") + "@contoso.com"}
	for k, v := range props {
		p[k] = v
	}
	o := &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: p}
	if err := a.svc.Import(context.Background(), a.tenant, o); err != nil {
		a.t.Fatal(err)
	}
	return o
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

// get sends GET target with the test's token; eventual adds ConsistencyLevel: eventual.
func (a *queryAPI) get(target string, eventual bool) response {
	return a.getAs(a.token, target, eventual)
}

func (a *queryAPI) getAs(token, target string, eventual bool) response {
	a.t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if eventual {
		r.Header.Set("ConsistencyLevel", "eventual")
	}
	w := httptest.NewRecorder()
	a.srv.ServeHTTP(w, r)
	res := response{status: w.Code, raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &res.body)
	return res
}

// names returns the displayNames of a collection response.
func (r response) names() []string {
	var out []string
	vals, _ := r.body["value"].([]any)
	for _, v := range vals {
		o, _ := v.(map[string]any)
		name, _ := o["displayName"].(string)
		out = append(out, name)
	}
	return out
}

func (r response) errorOf() (string, string) {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return code, msg
}

// q escapes a query string the way clients do, so that the test can write it readably.
func q(path, query string) string {
	vals := strings.Split(query, "&")
	for i, v := range vals {
		k, val, _ := strings.Cut(v, "=")
		vals[i] = k + "=" + url.QueryEscape(val)
	}
	return path + "?" + strings.Join(vals, "&")
}

const advancedMsg = "is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"

// TestAdvancedQueryRules checks which queries need ConsistencyLevel: eventual and $count=true, what is
// ignored without them, and Graph's errors for the rest.
func TestAdvancedQueryRules(t *testing.T) {
	a := newQueryAPI(t)
	a.user("Alice Smith", map[string]any{"companyName": "Contoso", "mail": "alice@contoso.com"})
	a.user("Bob Jones", nil)
	type want struct {
		status  int
		code    string
		message string // a prefix for Operator messages
	}
	ok := want{status: 200}
	operator := func(op string) want {
		return want{400, "Request_UnsupportedQuery", "Operator '" + op + "' " + advancedMsg}
	}
	clause := func(p string) want {
		return want{400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property '" + p + "' of resource 'User'."}
	}
	sorting := want{400, "Request_UnsupportedQuery", "Sorting not supported for current query."}
	search := want{400, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"}
	cases := []struct {
		target  string
		without want // no header
		header  want // the header, no $count=true
		both    want // the header and $count=true
	}{
		{q("/v1.0/users", "$filter=displayName eq 'Alice Smith'"), ok, ok, ok},
		{q("/v1.0/users", "$filter=startswith(displayName,'a') or userPrincipalName in ('x')"), ok, ok, ok},
		{q("/v1.0/users", "$filter=createdDateTime ge 2020-01-01"), ok, ok, ok},
		{q("/v1.0/users", "$filter=displayName ne 'Alice Smith'"), operator("ne"), operator("ne"), ok},
		{q("/v1.0/users", "$filter=not startswith(displayName,'a')"), operator("not"), operator("not"), ok},
		{q("/v1.0/users", "$filter=endswith(mail,'@contoso.com')"), operator("endsWith"), operator("endsWith"), ok},
		{q("/v1.0/users", "$filter=companyName eq 'Contoso'"), clause("companyName"), clause("companyName"), ok},
		{q("/v1.0/users", "$filter=displayName eq null"), clause("displayName"), clause("displayName"), ok},
		{q("/v1.0/users", "$filter=officeLocation ne null"), operator("ne"), operator("ne"), ok},
		{q("/v1.0/users", "$filter=endswith(displayName,'x')"), clause("displayName"), clause("displayName"), clause("displayName")},
		{q("/v1.0/users", "$filter=nope eq 1"), want{400, "Request_BadRequest", "Property 'nope' does not exist as a declared property or extension property."}, want{400, "Request_BadRequest", "Property 'nope' does not exist as a declared property or extension property."}, want{400, "Request_BadRequest", "Property 'nope' does not exist as a declared property or extension property."}},
		{q("/v1.0/users", "$filter=accountEnabled eq 'yes'"), want{400, "Request_BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."}, want{400, "Request_BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."}, want{400, "Request_BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."}},
		{q("/v1.0/users", "$orderby=displayName desc"), ok, ok, ok},
		{q("/v1.0/users", "$orderby=userPrincipalName"), ok, ok, ok},
		{q("/v1.0/users", "$orderby=createdDateTime"), sorting, sorting, ok},
		{q("/v1.0/users", "$orderby=displayName&$filter=startswith(displayName,'a')"), sorting, sorting, ok},
		{q("/v1.0/users", "$orderby=jobTitle"), sorting, sorting, sorting},
		{q("/v1.0/users", "$orderby=displayName,userPrincipalName"), sorting, sorting, sorting},
		{q("/v1.0/users", `$search="displayName:ali"`), search, ok, ok},
		{q("/v1.0/users", `$search="displayName:ali"&$orderby=displayName`), search, ok, ok},
		{q("/v1.0/contacts", "$orderby=displayName"), sorting, sorting, ok},
		{q("/v1.0/groups", "$orderby=displayName"), ok, ok, ok},
		{q("/v1.0/users", "$skip=1"), want{400, "Request_UnsupportedQuery", "$skip is not supported on this resource."}, want{400, "Request_UnsupportedQuery", "$skip is not supported on this resource."}, want{400, "Request_UnsupportedQuery", "$skip is not supported on this resource."}},
	}
	for _, c := range cases {
		for i, w := range []want{c.without, c.header, c.both} {
			target := c.target
			if i == 2 {
				target += "&$count=true"
			}
			res := a.get(target, i > 0)
			code, msg := res.errorOf()
			if res.status != w.status || code != w.code || !strings.HasPrefix(msg, w.message) {
				t.Errorf("GET %s (header %v): %d %s %q, want %d %s %q", target, i > 0, res.status, code, msg, w.status, w.code, w.message)
			}
		}
	}

	// $count=true without the header is ignored, not refused; with it the count covers the filter.
	if res := a.get(q("/v1.0/users", "$count=true&$filter=startswith(displayName,'a')"), false); res.status != 200 || res.body["@odata.count"] != nil || len(res.names()) != 1 {
		t.Errorf("$count=true without the header: %d %s", res.status, res.raw)
	}
	if res := a.get(q("/v1.0/users", "$count=true&$filter=startswith(displayName,'a')"), true); res.body["@odata.count"] != float64(1) {
		t.Errorf("$count=true with the header: %s", res.raw)
	}
	// /$count needs the header, and with it is an advanced query of its own.
	if res := a.get(q("/v1.0/users/$count", "$filter=displayName ne 'Bob Jones'"), false); res.status != 400 {
		t.Errorf("/$count without the header: %d %s", res.status, res.raw)
	}
	if res := a.get(q("/v1.0/users/$count", "$filter=displayName ne 'Bob Jones'"), true); res.status != 200 || res.raw != "1" {
		t.Errorf("/$count with a filter: %d %s", res.status, res.raw)
	}
	if res := a.get(q("/v1.0/users/$count", `$search="displayName:bo"`), true); res.status != 200 || res.raw != "1" {
		t.Errorf("/$count with a search: %d %s", res.status, res.raw)
	}
}

func TestListQueries(t *testing.T) {
	a := newQueryAPI(t)
	boss := a.user("Zoe Boss", map[string]any{"createdDateTime": "2020-01-01T00:00:00Z"})
	for i, name := range []string{"Alice Smith", "bob jones", "Carol OneVideo", "Dave Brown"} {
		u := a.user(name, map[string]any{"createdDateTime": fmt.Sprintf("2024-0%d-01T00:00:00Z", i+1), "jobTitle": []string{"Engineer", "engineer", "Manager", "Clerk"}[i]})
		if err := a.svc.SetManager(context.Background(), a.tenant, u.ID, directory.Ref{ID: boss.ID}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, g := range []string{"Engineering", "Admins"} {
		if _, err := a.svc.Create(ctx, a.tenant, directory.KindGroup, map[string]any{"displayName": g, "mailEnabled": false, "mailNickname": g, "securityEnabled": true}); err != nil {
			t.Fatal(err)
		}
	}
	base := "/v1.0/users/" + boss.ID + "/directReports"
	cases := []struct {
		target   string
		eventual bool
		want     []string
	}{
		{q("/v1.0/users", "$filter=jobTitle eq 'ENGINEER'&$orderby=displayName&$count=true"), true, []string{"Alice Smith", "bob jones"}},
		{q("/v1.0/users", "$orderby=displayName desc&$top=2"), false, []string{"Zoe Boss", "Dave Brown"}},
		{q("/v1.0/users", "$orderby=createdDateTime desc&$count=true&$top=3"), true, []string{"Dave Brown", "Carol OneVideo", "bob jones"}},
		{q("/v1.0/users", `$search="displayName:video" OR "displayName:jon"&$orderby=displayName`), true, []string{"bob jones", "Carol OneVideo"}},
		{q("/v1.0/groups", "$filter=startswith(displayName,'eng')"), false, []string{"Engineering"}},
		{q(base, "$filter=startswith(displayName,'d') or startswith(displayName,'a')&$orderby=displayName&$count=true"), true, []string{"Alice Smith", "Dave Brown"}},
		{q(base+"/microsoft.graph.user", "$orderby=displayName desc&$top=1"), false, []string{"Dave Brown"}},
		{q(base, `$search="displayName:one"`), true, []string{"Carol OneVideo"}},
	}
	for _, c := range cases {
		res := a.get(c.target, c.eventual)
		if res.status != 200 || !slices.Equal(res.names(), c.want) {
			t.Errorf("GET %s: %d %q, want %q (%s)", c.target, res.status, res.names(), c.want, res.raw)
		}
	}
	if res := a.get(q(base+"/$count", "$filter=startswith(displayName,'b')"), true); res.raw != "1" {
		t.Errorf("directReports/$count with a filter: %d %s", res.status, res.raw)
	}
	if res := a.get(q(base+"/$ref", "$filter=startswith(displayName,'b')"), false); !strings.Contains(res.raw, "@odata.id") || strings.Count(res.raw, "@odata.id") != 1 {
		t.Errorf("directReports/$ref with a filter: %d %s", res.status, res.raw)
	}
	if res := a.get(q("/v1.0/users/"+boss.ID, "$filter=displayName eq 'x'"), false); res.status != 400 {
		t.Errorf("$filter on one user: %d %s", res.status, res.raw)
	}
}

// TestSkipToken checks that a $skiptoken works only with the query and tenant it was made for, and that the
// next page keeps the ConsistencyLevel of the first, as SDK page iterators do not send it again.
func TestSkipToken(t *testing.T) {
	a := newQueryAPI(t)
	for i := range 5 {
		a.user(fmt.Sprintf("User %d", i), nil)
	}
	first := a.get(q("/v1.0/users", "$filter=displayName ne 'User 0'&$count=true&$orderby=displayName&$top=2"), true)
	next, _ := first.body["@odata.nextLink"].(string)
	u, err := url.Parse(next)
	if err != nil || next == "" {
		t.Fatalf("nextLink %q: %v (%s)", next, err, first.raw)
	}
	page := a.get(u.RequestURI(), false)
	if page.status != 200 || !slices.Equal(page.names(), []string{"User 3", "User 4"}) {
		t.Errorf("next page without the header: %d %q", page.status, page.names())
	}
	token := u.Query().Get("$skiptoken")

	second := uuid.NewString()
	if err := a.st.CreateTenant(context.Background(), store.Tenant{ID: second, Name: "second", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token, target string
	}{
		{a.token, q("/v1.0/users", "$filter=displayName ne 'User 1'&$count=true&$orderby=displayName&$top=2") + "&$skiptoken=" + token},
		{a.token, q("/v1.0/users", "$top=2") + "&$skiptoken=" + token},
		{a.token, "/v1.0/users?$skiptoken=bm9wZQ"},
		{a.mint(second), u.RequestURI()},
	} {
		res := a.getAs(c.token, c.target, true)
		if code, msg := res.errorOf(); res.status != 400 || code != "Request_BadRequest" || msg != "Invalid $skiptoken value." {
			t.Errorf("GET %s: %d %s", c.target, res.status, res.raw)
		}
	}
}

// TestPagingStable walks every page of /users while other goroutines add and delete users through the
// Service: no user may come twice, and every user that existed throughout must come exactly once, in id
// order, sorted by displayName, and filtered.
func TestPagingStable(t *testing.T) {
	a := newQueryAPI(t)
	ctx := context.Background()
	var stable []*directory.Object
	for i := range 60 {
		stable = append(stable, a.user(fmt.Sprintf("Stable %02d %s", i, uuid.NewString()[:4]), nil))
	}
	var churn sync.Map // id → struct{}: users added (and maybe deleted) during the walks
	for _, walk := range []struct {
		query    string
		eventual bool
		keep     func(name string) bool
	}{
		{"$top=3", false, func(string) bool { return true }},
		{"$top=3&$orderby=displayName", false, func(string) bool { return true }},
		{"$top=2&$orderby=displayName desc&$filter=startswith(displayName,'stable 1') or startswith(displayName,'churn')&$count=true", true,
			func(name string) bool { return strings.HasPrefix(name, "Stable 1") }},
	} {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var writes atomic.Int64
		for g := range 3 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
				var mine []string
				for {
					select {
					case <-stop:
						return
					default:
					}
					if len(mine) > 0 && rng.IntN(2) == 0 {
						i := rng.IntN(len(mine))
						if err := a.svc.Delete(ctx, a.tenant, directory.KindUser, mine[i]); err != nil {
							t.Errorf("Delete: %v", err)
							return
						}
						mine = slices.Delete(mine, i, i+1)
					} else {
						name := fmt.Sprintf("Churn %s", uuid.NewString())
						if rng.IntN(2) == 0 {
							name = fmt.Sprintf("Stable %02d churn %s", rng.IntN(60), uuid.NewString()[:8])
						}
						o, err := a.svc.Create(ctx, a.tenant, directory.KindUser, map[string]any{
							"displayName": name, "accountEnabled": true, "mailNickname": "c",
							"userPrincipalName": uuid.NewString() + "@contoso.com", "passwordProfile": map[string]any{"password": "Secret-123"},
						})
						if err != nil {
							t.Errorf("Create: %v", err)
							return
						}
						churn.Store(o.ID, struct{}{})
						mine = append(mine, o.ID)
					}
					writes.Add(1)
				}
			})
		}
		seen := map[string]int{}
		target := q("/v1.0/users", walk.query+"&$select=id,displayName")
		pages := 0
		for target != "" {
			res := a.get(target, walk.eventual)
			if res.status != 200 {
				t.Fatalf("GET %s: %d %s", target, res.status, res.raw)
			}
			vals, _ := res.body["value"].([]any)
			for _, v := range vals {
				o, _ := v.(map[string]any)
				seen[o["id"].(string)]++
			}
			next, _ := res.body["@odata.nextLink"].(string)
			target = ""
			if next != "" {
				u, _ := url.Parse(next)
				target = u.RequestURI()
			}
			pages++
			// At least one write between pages (unless the writers have failed).
			for w, until := writes.Load(), time.Now().Add(5*time.Second); writes.Load() == w && time.Now().Before(until); {
				time.Sleep(time.Millisecond)
			}
		}
		close(stop)
		wg.Wait()
		if writes.Load() == 0 {
			t.Errorf("%s: no writes happened during the walk", walk.query)
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("%s: user %s returned %d times", walk.query, id, n)
			}
			if _, ok := churn.Load(id); !ok && !slices.ContainsFunc(stable, func(o *directory.Object) bool { return o.ID == id }) {
				t.Errorf("%s: unknown user %s", walk.query, id)
			}
		}
		for _, o := range stable {
			if walk.keep(o.String("displayName")) && seen[o.ID] != 1 {
				t.Errorf("%s: stable user %s seen %d times", walk.query, o.String("displayName"), seen[o.ID])
			}
			if !walk.keep(o.String("displayName")) && seen[o.ID] != 0 {
				t.Errorf("%s: filtered-out user %s seen", walk.query, o.String("displayName"))
			}
		}
		t.Logf("%s: %d pages, %d users, %d writes alongside", walk.query, pages, len(seen), writes.Load())
	}
}
