package e2e

// The permission matrix: every route orgraph serves (one row per method and path template, enumerated by
// hand from graphapi/routes.go) against every permission orgraph knows, as an application and as a
// signed-in user, plus no token at all and the directory roles delegated sponsor writes need. What must
// pass comes from auth.Permissions, the table the server enforces; the rows name the operation each route
// should check, so a route wired to the wrong operation shows up here.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
)

// mxFixture is the objects one row's request names. A row that changes them gets a fresh fixture after
// each request that succeeded, so every request of the matrix starts from the same state.
type mxFixture struct {
	target        string // user: has manager, report, sponsor and group (as a sponsor)
	manager       string // user: manager of target and of contact
	report        string // user: reports to target
	sponsor       string // user: sponsors target
	group         string // group: sponsors target
	contact       string // orgContact: managed by manager, manages contactReport
	contactReport string // user
	newManager    string // user with no relationships, for PUT manager/$ref
	newSponsor    string // user with no relationships, for POST sponsors/$ref
}

// mxSeed makes a fresh fixture in the default tenant.
func (e *env) mxSeed() *mxFixture {
	e.t.Helper()
	f := &mxFixture{}
	user := func(id *string, name string) {
		*id = uuid.NewString()
		nick := "mx" + strings.ReplaceAll((*id)[:13], "-", "")
		e.importObject(*id, directory.KindUser, map[string]any{
			"displayName": name, "userPrincipalName": nick + "@contoso.onmicrosoft.com", "mailNickname": nick, "accountEnabled": true,
		})
	}
	user(&f.target, "Target")
	user(&f.manager, "Manager")
	user(&f.report, "Report")
	user(&f.sponsor, "Sponsor")
	user(&f.contactReport, "Contact Report")
	user(&f.newManager, "New Manager")
	user(&f.newSponsor, "New Sponsor")
	f.group = uuid.NewString()
	e.importObject(f.group, directory.KindGroup, map[string]any{
		"displayName": "Group", "mailNickname": "g" + f.group[:8], "mailEnabled": false, "securityEnabled": true, "groupTypes": []any{},
	})
	f.contact = uuid.NewString()
	e.importObject(f.contact, directory.KindOrgContact, map[string]any{"displayName": "Contact", "mail": "c" + f.contact[:8] + "@fabrikam.com"})
	e.setManager(f.target, f.manager)
	e.setManager(f.report, f.target)
	e.setManager(f.contactReport, f.contact)
	// A contact's manager is imported (the API assigns managers of users only), so it is set in the store.
	if err := e.st.Update(context.Background(), e.tenant, func(tx directory.Tx) error { return tx.SetManager(f.contact, f.manager) }); err != nil {
		e.t.Fatalf("contact manager: %v", err)
	}
	e.sponsor(f.target, f.sponsor)
	e.sponsor(f.target, f.group)
	return f
}

// mxRow is one route: the request that succeeds on a fresh fixture, and the operation it needs.
type mxRow struct {
	method   string
	template string                    // the route as routes.go writes it, for names
	path     func(f *mxFixture) string // from the server root, with the version
	body     func(f *mxFixture, n int) string
	header   []string
	op       auth.Operation
	me       bool // /me: delegated only, the signed-in user is the fixture's target
	want     int  // status of success
	mutates  bool // a success changes the fixture
}

var mxSeq int

func mxUserBody(_ *mxFixture, n int) string {
	return fmt.Sprintf(`{"accountEnabled":true,"displayName":"Created %d","mailNickname":"created%d","userPrincipalName":"created%d.%d@contoso.onmicrosoft.com","passwordProfile":{"password":"xWwvJ]6NMw+bWH-d"}}`, n, n, n, time.Now().UnixNano())
}

func mxGroupBody(_ *mxFixture, n int) string {
	return fmt.Sprintf(`{"displayName":"Created group %d","mailNickname":"cg%d%d","mailEnabled":false,"securityEnabled":true}`, n, n, time.Now().UnixNano())
}

func mxRef(id func(f *mxFixture) string) func(f *mxFixture, _ int) string {
	return func(f *mxFixture, _ int) string { return `{"@odata.id":"` + graphV1 + `/users/` + id(f) + `"}` }
}

func mxRows() []mxRow {
	ev := []string{"ConsistencyLevel", "eventual"}
	js := []string{"Content-Type", "application/json"}
	fixed := func(p string) func(*mxFixture) string { return func(*mxFixture) string { return "/v1.0" + p } }
	target := func(suffix string) func(*mxFixture) string {
		return func(f *mxFixture) string { return "/v1.0/users/" + f.target + suffix }
	}
	me := func(suffix string) func(*mxFixture) string {
		return func(*mxFixture) string { return "/v1.0/me" + suffix }
	}
	group := func(suffix string) func(*mxFixture) string {
		return func(f *mxFixture) string { return "/v1.0/groups/" + f.group + suffix }
	}
	contact := func(suffix string) func(*mxFixture) string {
		return func(f *mxFixture) string { return "/v1.0/contacts/" + f.contact + suffix }
	}
	newManager := func(f *mxFixture) string { return f.newManager }
	newSponsor := func(f *mxFixture) string { return f.newSponsor }
	sponsorByRef := func(base func(string) func(*mxFixture) string) func(*mxFixture) string {
		return func(f *mxFixture) string {
			return base("/sponsors/$ref")(f) + "?@id=" + url.QueryEscape(graphV1+"/users/"+f.sponsor)
		}
	}
	sponsorByID := func(base func(string) func(*mxFixture) string) func(*mxFixture) string {
		return func(f *mxFixture) string { return base("/sponsors/" + f.sponsor + "/$ref")(f) }
	}
	getByIDs := func(f *mxFixture, _ int) string {
		return `{"ids":["` + f.target + `","` + f.group + `","` + f.contact + `"]}`
	}
	patchUser := func(*mxFixture, int) string { return `{"jobTitle":"Matrix"}` }
	get, post, put, patch, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	ok, created, none := http.StatusOK, http.StatusCreated, http.StatusNoContent
	return []mxRow{
		// users
		{method: get, template: "/users", path: fixed("/users"), op: auth.OpListUsers, want: ok},
		{method: post, template: "/users", path: fixed("/users"), body: mxUserBody, header: js, op: auth.OpCreateUser, want: created},
		{method: get, template: "/users/$count", path: fixed("/users/$count"), header: ev, op: auth.OpListUsers, want: ok},
		{method: get, template: "/users/{id}", path: target(""), op: auth.OpGetUser, want: ok},
		{method: patch, template: "/users/{id}", path: target(""), body: patchUser, header: js, op: auth.OpUpdateUser, want: none},
		{method: del, template: "/users/{id}", path: target(""), op: auth.OpDeleteUser, want: none, mutates: true},
		// manager
		{method: get, template: "/users/{id}/manager", path: target("/manager"), op: auth.OpGetManager, want: ok},
		{method: get, template: "/users/{id}/manager/$ref", path: target("/manager/$ref"), op: auth.OpGetManager, want: ok},
		{method: put, template: "/users/{id}/manager/$ref", path: target("/manager/$ref"), body: mxRef(newManager), header: js, op: auth.OpSetManager, want: none, mutates: true},
		{method: del, template: "/users/{id}/manager/$ref", path: target("/manager/$ref"), op: auth.OpRemoveManager, want: none, mutates: true},
		// direct reports of users
		{method: get, template: "/users/{id}/directReports", path: target("/directReports"), op: auth.OpListDirectReports, want: ok},
		{method: get, template: "/users/{id}/directReports/$ref", path: target("/directReports/$ref"), op: auth.OpListDirectReports, want: ok},
		{method: get, template: "/users/{id}/directReports/$count", path: target("/directReports/$count"), header: ev, op: auth.OpListDirectReports, want: ok},
		{method: get, template: "/users/{id}/directReports/{cast}", path: target("/directReports/microsoft.graph.user"), op: auth.OpListDirectReports, want: ok},
		{method: get, template: "/users/{id}/directReports/{cast}/$count", path: target("/directReports/graph.user/$count"), header: ev, op: auth.OpListDirectReports, want: ok},
		// direct reports of contacts
		{method: get, template: "/contacts/{id}/directReports", path: contact("/directReports"), op: auth.OpListContactDirectReports, want: ok},
		{method: get, template: "/contacts/{id}/directReports/$ref", path: contact("/directReports/$ref"), op: auth.OpListContactDirectReports, want: ok},
		{method: get, template: "/contacts/{id}/directReports/$count", path: contact("/directReports/$count"), header: ev, op: auth.OpListContactDirectReports, want: ok},
		{method: get, template: "/contacts/{id}/directReports/{cast}", path: contact("/directReports/microsoft.graph.user"), op: auth.OpListContactDirectReports, want: ok},
		{method: get, template: "/contacts/{id}/directReports/{cast}/$count", path: contact("/directReports/microsoft.graph.user/$count"), header: ev, op: auth.OpListContactDirectReports, want: ok},
		// sponsors
		{method: get, template: "/users/{id}/sponsors", path: target("/sponsors"), op: auth.OpListSponsors, want: ok},
		{method: get, template: "/users/{id}/sponsors/$ref", path: target("/sponsors/$ref"), op: auth.OpListSponsors, want: ok},
		{method: post, template: "/users/{id}/sponsors/$ref", path: target("/sponsors/$ref"), body: mxRef(newSponsor), header: js, op: auth.OpAddSponsor, want: none, mutates: true},
		{method: del, template: "/users/{id}/sponsors/$ref", path: sponsorByRef(target), op: auth.OpRemoveSponsor, want: none, mutates: true},
		{method: del, template: "/users/{id}/sponsors/{id}/$ref", path: sponsorByID(target), op: auth.OpRemoveSponsor, want: none, mutates: true},
		// groups
		{method: get, template: "/groups", path: fixed("/groups"), op: auth.OpListGroups, want: ok},
		{method: post, template: "/groups", path: fixed("/groups"), body: mxGroupBody, header: js, op: auth.OpCreateGroup, want: created},
		{method: get, template: "/groups/$count", path: fixed("/groups/$count"), header: ev, op: auth.OpListGroups, want: ok},
		{method: get, template: "/groups/{id}", path: group(""), op: auth.OpGetGroup, want: ok},
		{method: patch, template: "/groups/{id}", path: group(""), body: func(*mxFixture, int) string { return `{"description":"Matrix"}` }, header: js, op: auth.OpUpdateGroup, want: none},
		{method: del, template: "/groups/{id}", path: group(""), op: auth.OpDeleteGroup, want: none, mutates: true},
		// contacts
		{method: get, template: "/contacts", path: fixed("/contacts"), op: auth.OpListContacts, want: ok},
		{method: get, template: "/contacts/$count", path: fixed("/contacts/$count"), header: ev, op: auth.OpListContacts, want: ok},
		{method: get, template: "/contacts/{id}", path: contact(""), op: auth.OpGetContact, want: ok},
		{method: get, template: "/contacts/{id}/manager", path: contact("/manager"), op: auth.OpGetContactManager, want: ok},
		{method: get, template: "/contacts/{id}/manager/$ref", path: contact("/manager/$ref"), op: auth.OpGetContactManager, want: ok},
		// directory objects
		{method: get, template: "/directoryObjects/{id}", path: func(f *mxFixture) string { return "/v1.0/directoryObjects/" + f.target }, op: auth.OpGetDirectoryObject, want: ok},
		{method: post, template: "/directoryObjects/getByIds", path: fixed("/directoryObjects/getByIds"), body: getByIDs, header: js, op: auth.OpGetByIDs, want: ok},
		{method: post, template: "/directoryObjects/microsoft.graph.getByIds", path: fixed("/directoryObjects/microsoft.graph.getByIds"), body: getByIDs, header: js, op: auth.OpGetByIDs, want: ok},

		// /me: the same routes, for the signed-in user (delegated only).
		{method: get, template: "/me", path: me(""), op: auth.OpGetUser, me: true, want: ok},
		{method: patch, template: "/me", path: me(""), body: patchUser, header: js, op: auth.OpUpdateUser, me: true, want: none},
		{method: get, template: "/me/manager", path: me("/manager"), op: auth.OpGetManager, me: true, want: ok},
		{method: get, template: "/me/manager/$ref", path: me("/manager/$ref"), op: auth.OpGetManager, me: true, want: ok},
		{method: put, template: "/me/manager/$ref", path: me("/manager/$ref"), body: mxRef(newManager), header: js, op: auth.OpSetManager, me: true, want: none, mutates: true},
		{method: del, template: "/me/manager/$ref", path: me("/manager/$ref"), op: auth.OpRemoveManager, me: true, want: none, mutates: true},
		{method: get, template: "/me/directReports", path: me("/directReports"), op: auth.OpListDirectReports, me: true, want: ok},
		{method: get, template: "/me/directReports/$count", path: me("/directReports/$count"), header: ev, op: auth.OpListDirectReports, me: true, want: ok},
		{method: get, template: "/me/directReports/{cast}", path: me("/directReports/microsoft.graph.user"), op: auth.OpListDirectReports, me: true, want: ok},
		{method: get, template: "/me/sponsors", path: me("/sponsors"), op: auth.OpListSponsors, me: true, want: ok},
		{method: post, template: "/me/sponsors/$ref", path: me("/sponsors/$ref"), body: mxRef(newSponsor), header: js, op: auth.OpAddSponsor, me: true, want: none, mutates: true},
		{method: del, template: "/me/sponsors/{id}/$ref", path: sponsorByID(me), op: auth.OpRemoveSponsor, me: true, want: none, mutates: true},

		// /beta serves the same routes with the same checks.
		{method: get, template: "beta /users/{id}/manager", path: func(f *mxFixture) string { return "/beta/users/" + f.target + "/manager" }, op: auth.OpGetManager, want: ok},
		{method: put, template: "beta /users/{id}/manager/$ref", path: func(f *mxFixture) string { return "/beta/users/" + f.target + "/manager/$ref" }, body: mxRef(newManager), header: js, op: auth.OpSetManager, want: none, mutates: true},
		{method: post, template: "beta /users/{id}/sponsors/$ref", path: func(f *mxFixture) string { return "/beta/users/" + f.target + "/sponsors/$ref" }, body: mxRef(newSponsor), header: js, op: auth.OpAddSponsor, want: none, mutates: true},
	}
}

// mxPermissions is every permission the table names, and a few it does not, sorted.
func mxPermissions() []string {
	set := map[string]bool{"Mail.Read": true, "Application.Read.All": true, "GroupMember.ReadWrite.All": true}
	for _, p := range auth.Permissions {
		for _, n := range p.Delegated {
			set[n] = true
		}
		for _, n := range p.Application {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// selfOnly are the delegated permissions that reach only the signed-in user (auth/permissions.go).
var mxSelfOnly = map[string]bool{"User.Read": true, "User.ReadWrite": true}

// mxAllowed is what the table grants: an application needs one of the row's Application permissions; a
// signed-in user one of its Delegated ones, the self-only ones counting only on /me.
func mxAllowed(op auth.Operation, perm string, delegated, me bool) bool {
	p := auth.Permissions[op]
	if !delegated {
		return slices.Contains(p.Application, perm)
	}
	return slices.Contains(p.Delegated, perm) && (!mxSelfOnly[perm] || me)
}

// mxTokens mints and remembers tokens: RSA signing is the matrix's main cost.
type mxTokens struct {
	e    *env
	memo map[string]string
}

func (m *mxTokens) get(delegated bool, oid string, perms ...string) string {
	key := fmt.Sprint(delegated, oid, perms)
	if tok, ok := m.memo[key]; ok {
		return tok
	}
	var tok string
	if delegated {
		tok = m.e.delegated(oid, perms...)
	} else {
		tok = m.e.app(perms...)
	}
	m.memo[key] = tok
	return tok
}

// TestPermissionMatrix runs every row against no token, every permission as an application and as a
// signed-in user, and the directory roles of delegated sponsor writes.
func TestPermissionMatrix(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	toks := &mxTokens{e: e, memo: map[string]string{}}
	shared := e.mxSeed()
	// The signed-in user of non-/me rows: a User Administrator, so the table alone decides; plain holds no
	// role, for the sponsor writes that need one.
	caller, plain := uuid.NewString(), uuid.NewString()
	e.addUser(caller, "Matrix Caller", nil)
	e.addUser(plain, "Matrix Plain", nil)
	if err := e.st.SetDirectoryRoles(ctx, e.tenant, caller, []string{"User Administrator"}); err != nil {
		t.Fatal(err)
	}
	perms := mxPermissions()
	requests := 0

	for _, row := range mxRows() {
		name := row.method + " " + row.template
		t.Run(strings.NewReplacer("/", "_", "$", "", "{", "", "}", "").Replace(name), func(t *testing.T) {
			fx := shared
			if row.mutates {
				fx = e.mxSeed()
			}
			// On /me rows the caller is the fixture's target: make it a User Administrator, as caller is.
			prepare := func(f *mxFixture) {
				if row.me {
					if err := e.st.SetDirectoryRoles(ctx, e.tenant, f.target, []string{"User Administrator"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			prepare(fx)
			send := func(tok string) *response {
				t.Helper()
				requests++
				var body []byte
				if row.body != nil {
					mxSeq++
					body = []byte(row.body(fx, mxSeq))
				}
				return e.do(row.method, row.path(fx), tok, body, row.header...)
			}
			// check sends with tok and compares with the expected outcome; a success of a mutating row
			// moves on to a fresh fixture.
			check := func(what, tok string, allowed bool) {
				t.Helper()
				r := send(tok)
				switch {
				case allowed && r.Status != row.want:
					t.Errorf("%s: %d, want %d: %s", what, r.Status, row.want, mxShort(r.Body))
				case !allowed && (r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), `"Authorization_RequestDenied"`)):
					t.Errorf("%s: %d, want 403 Authorization_RequestDenied: %s", what, r.Status, mxShort(r.Body))
				}
				if r.Status/100 == 2 && row.mutates {
					fx = e.mxSeed()
					prepare(fx)
				}
			}
			oid := func() string {
				if row.me {
					return fx.target
				}
				return caller
			}

			// No token: 401.
			if r := send(""); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), `"InvalidAuthenticationToken"`) {
				t.Errorf("no token: %d, want 401 InvalidAuthenticationToken: %s", r.Status, mxShort(r.Body))
			}

			perm, known := auth.Permissions[row.op]
			if !known {
				t.Fatalf("operation %q is not in auth.Permissions", row.op)
			}
			// Application tokens: never on /me.
			if row.me {
				r := send(toks.get(false, "", "Directory.ReadWrite.All", "User.ReadWrite.All"))
				if r.Status != http.StatusBadRequest {
					t.Errorf("application token on /me: %d, want 400: %s", r.Status, mxShort(r.Body))
				}
			} else {
				if len(perm.Application) == 0 {
					t.Errorf("no application permission grants %s", row.op)
				}
				for _, p := range perms {
					check("application "+p, toks.get(false, "", p), mxAllowed(row.op, p, false, false))
				}
				// The least privileged permission alongside an unrelated one still passes; an unrelated one
				// alone does not (covered above), nor do all the others together.
				if len(perm.Application) > 0 {
					check("application least privileged + Mail.Read", toks.get(false, "", "Mail.Read", perm.Application[0]), true)
					var rest []string
					for _, p := range perms {
						if !slices.Contains(perm.Application, p) {
							rest = append(rest, p)
						}
					}
					check("application, every other permission", toks.get(false, "", rest...), false)
				}
			}
			// Delegated tokens.
			for _, p := range perms {
				check("delegated "+p, toks.get(true, oid(), p), mxAllowed(row.op, p, true, row.me))
			}
			if len(perm.Delegated) == 0 {
				t.Errorf("no delegated permission grants %s", row.op)
			}
			var deniedDelegated []string
			for _, p := range perms {
				if !mxAllowed(row.op, p, true, row.me) {
					deniedDelegated = append(deniedDelegated, p)
				}
			}
			check("delegated, every other permission", toks.get(true, oid(), deniedDelegated...), false)

			// Directory roles: delegated sponsor writes need one besides the permission.
			if perm.NeedsRole() {
				least := perm.Delegated[0]
				for _, tc := range []struct {
					roles   []string
					allowed bool
				}{
					{nil, false},
					{[]string{"Helpdesk Administrator"}, false},
					{[]string{"User Administrator"}, true},
					{[]string{"Directory Writers"}, true},
					{[]string{"Global Administrator"}, true},
					{[]string{"Helpdesk Administrator", "Directory Writers"}, true},
				} {
					who := plain
					if row.me {
						who = fx.target
					}
					if err := e.st.SetDirectoryRoles(ctx, e.tenant, who, tc.roles); err != nil {
						t.Fatal(err)
					}
					// A success moves /me rows to a fresh fixture; the next case sets its target's roles again.
					check(fmt.Sprintf("delegated %s with roles %v", least, tc.roles), toks.get(true, who, least), tc.allowed)
				}
				if err := e.st.SetDirectoryRoles(ctx, e.tenant, plain, nil); err != nil {
					t.Fatal(err)
				}
			} else if !row.me && strings.HasPrefix(string(row.op), "users.") {
				// Only the sponsor writes look at directory roles: a user without any passes the others.
				least := ""
				for _, p := range perm.Delegated {
					if !mxSelfOnly[p] {
						least = p
						break
					}
				}
				check("delegated "+least+" without a directory role", toks.get(true, plain, least), true)
			}
		})
	}
	t.Logf("%d requests", requests)
}

// mxShort keeps failure messages readable.
func mxShort(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestPermissionSelfByID: the self-only delegated permissions (User.Read, User.ReadWrite) reach the
// signed-in user's own object and relationships whether the URL says /me or /users/{own id or UPN}: Graph
// decides by the object, not by the URL's spelling, and auth.Principal.AllowedOn exists for exactly this
// ("a delegated caller acting on its own user object may also use the self-only permissions"). Another
// user's object stays out of reach.
func TestPermissionSelfByID(t *testing.T) {
	e := newEnv(t)
	f := e.mxSeed()
	read := e.delegated(f.target, "User.Read")
	write := e.delegated(f.target, "User.ReadWrite")
	upn := ""
	if err := e.st.View(context.Background(), e.tenant, func(tx directory.Tx) error {
		o, err := tx.Get(f.target)
		if err == nil {
			upn = o.String("userPrincipalName")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{f.target, strings.ToUpper(f.target), url.PathEscape(upn)} {
		for _, p := range []string{"", "/manager", "/directReports", "/sponsors"} {
			if r := e.get("/v1.0/users/"+key+p, read); r.Status != http.StatusOK {
				t.Errorf("GET /users/{own %s}%s with User.Read: %d, want 200 as for /me%s: %s", key, p, r.Status, p, mxShort(r.Body))
			}
		}
		if r := e.do(http.MethodPatch, "/v1.0/users/"+key, write, []byte(`{"jobTitle":"Self"}`), "Content-Type", "application/json"); r.Status != http.StatusNoContent {
			t.Errorf("PATCH /users/{own %s} with User.ReadWrite: %d, want 204 as for PATCH /me: %s", key, r.Status, mxShort(r.Body))
		}
	}
	// Another user: refused.
	for _, p := range []string{"", "/manager", "/directReports", "/sponsors"} {
		e.get("/v1.0/users/"+f.manager+p, read).wantError(t, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
	}
	e.do(http.MethodPatch, "/v1.0/users/"+f.manager, write, []byte(`{"jobTitle":"Other"}`), "Content-Type", "application/json").
		wantError(t, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
}

// TestPermissionMatrixCoversRoutes: every operation of the permission table has a row, and the number of
// rows for /v1.0 routes equals the number of routes in graphapi/routes.go, so a new route without a row
// fails here.
func TestPermissionMatrixCoversRoutes(t *testing.T) {
	rows := mxRows()
	ops := map[auth.Operation]bool{}
	templates := map[string]bool{}
	for _, r := range rows {
		ops[r.op] = true
		if !r.me && !strings.HasPrefix(r.template, "beta ") {
			key := r.method + " " + r.template
			if templates[key] {
				t.Errorf("two rows for %s", key)
			}
			templates[key] = true
		}
	}
	for op := range auth.Permissions {
		if !ops[op] {
			t.Errorf("no row exercises %s", op)
		}
	}
	src, err := os.ReadFile("../graphapi/routes.go")
	if err != nil {
		t.Skipf("routes.go: %v", err)
	}
	// add(...) at one tab is one route; at two tabs it sits in the loop over users/{id} and contacts/{id}.
	single := len(regexp.MustCompile(`(?m)^\tadd\(`).FindAll(src, -1))
	looped := len(regexp.MustCompile(`(?m)^\t\tadd\(`).FindAll(src, -1))
	if n := single + 2*looped; n != len(templates) {
		t.Errorf("routes.go adds %d routes, the matrix has %d /v1.0 rows: add a row for each new route", n, len(templates))
	}
}
