package e2e

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/orgraph/orgraph/internal/directory"
)

// The ids of the seed pages' examples (shared/seeds): Assign manager (000, 001, and 002 in Chinese), List
// manager (003) and Add sponsor (004).
const (
	assignUserID    = "10f17b99-784c-4526-8747-aec8a3159d6a"
	assignManagerID = "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"

	contributorID = "a97733ce-92a4-4e7e-8d45-8e1f3e6a69d8" // "Individual Contributor"
	alexID        = "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b" // Alex Wilber in example 2, Sara Davis in example 1
	biancaID      = "343a3f95-377c-47a9-b697-480487bfcdf7"
	pattiID       = "8e07b731-5ba7-4081-b482-15e6eca35c45"

	guestID = "d8ab5060-f636-4cff-ae97-d4687f5c83f3"
)

// seedAssignRequest is the Assign manager page's request body, byte for byte.
const seedAssignRequest = `{
  "@odata.id": "https://graph.microsoft.com/v1.0/users/6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"
}`

// TestSeedAssignManager runs the Assign manager example through the SDK, as the page's Go snippet does:
// Users().ByUserId(…).Manager().Ref().Put → 204, then GET manager returns that user, typed.
func TestSeedAssignManager(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addUser(assignUserID, "Assigned User", nil)
	e.addUser(assignManagerID, "New Manager", map[string]any{"jobTitle": "Manager"})
	c := e.client(e.app("User.ReadWrite.All"))

	// The Go snippet of the page, verbatim apart from the user id placeholder.
	requestBody := models.NewReferenceUpdate()
	odataId := "https://graph.microsoft.com/v1.0/users/6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"
	requestBody.SetOdataId(&odataId)
	e.rec.reset()
	err := c.Users().ByUserId(assignUserID).Manager().Ref().Put(ctx, requestBody, nil)
	noErr(t, "PUT manager/$ref", err)

	// The SDK gzips bodies (NOTES.md): the server must have taken the compressed body.
	var put *recorded
	for _, r := range e.rec.all() {
		if r.Method == http.MethodPut {
			put = &r
		}
	}
	if put == nil {
		t.Fatal("the server saw no PUT")
	}
	if put.EscapedPath != "/v1.0/users/"+assignUserID+"/manager/$ref" {
		t.Errorf("SDK PUT path %q", put.EscapedPath)
	}
	if ce := put.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Errorf("the SDK sent Content-Encoding %q, want gzip (so this test covers gzip bodies)", ce)
	}

	m, err := c.Users().ByUserId(assignUserID).Manager().Get(ctx, nil)
	noErr(t, "GET manager", err)
	u := asUser(t, m)
	if str(u.GetId()) != assignManagerID || str(u.GetDisplayName()) != "New Manager" || str(u.GetJobTitle()) != "Manager" {
		t.Errorf("manager %s %q %q, want %s", str(u.GetId()), str(u.GetDisplayName()), str(u.GetJobTitle()), assignManagerID)
	}
}

// TestSeedAssignManagerPermissions checks the page's permission table: User.ReadWrite.All (least privileged)
// and Directory.ReadWrite.All (higher), delegated and application; read-only permissions are refused.
func TestSeedAssignManagerPermissions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addUser(assignUserID, "Assigned User", nil)
	e.addUser(assignManagerID, "New Manager", nil)
	const signedIn = "0f3b8c8e-2a41-4f5e-9f1e-6d0c1c3b2a10"
	e.addUser(signedIn, "Admin User", nil)

	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"delegated User.ReadWrite.All", e.delegated(signedIn, "User.ReadWrite.All"), true},
		{"delegated Directory.ReadWrite.All", e.delegated(signedIn, "Directory.ReadWrite.All"), true},
		{"application User.ReadWrite.All", e.app("User.ReadWrite.All"), true},
		{"application Directory.ReadWrite.All", e.app("Directory.ReadWrite.All"), true},
		{"application User.Read.All", e.app("User.Read.All"), false},
		{"application Directory.Read.All", e.app("Directory.Read.All"), false},
		{"delegated User.Read.All", e.delegated(signedIn, "User.Read.All"), false},
		{"delegated User.ReadWrite (self only)", e.delegated(signedIn, "User.ReadWrite"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(tc.token)
			err := c.Users().ByUserId(assignUserID).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+assignManagerID), nil)
			if !tc.ok {
				wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
				return
			}
			noErr(t, "PUT manager/$ref", err)
			// Remove it again (same permission row), so the next case assigns afresh.
			noErr(t, "DELETE manager/$ref", c.Users().ByUserId(assignUserID).Manager().Ref().Delete(ctx, nil))
			_, err = e.client(e.app("User.Read.All")).Users().ByUserId(assignUserID).Manager().Get(ctx, nil)
			wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", msgManagerNotFound)
		})
	}
}

// TestSeedAssignManagerRawHTTP sends the page's HTTP request exactly as written (the same request is in
// the Chinese copy): 204 No Content, and nothing in the response body.
func TestSeedAssignManagerRawHTTP(t *testing.T) {
	e := newEnv(t)
	e.addUser(assignUserID, "Assigned User", nil)
	e.addUser(assignManagerID, "New Manager", nil)
	tok := e.app("User.ReadWrite.All")

	for i := range 2 { // assigning the same manager again is also a 204
		r := e.do(http.MethodPut, "/v1.0/users/10f17b99-784c-4526-8747-aec8a3159d6a/manager/$ref", tok,
			[]byte(seedAssignRequest), "Content-type", "application/json")
		if r.Status != http.StatusNoContent {
			t.Fatalf("PUT #%d: status %d, want 204; body %s", i+1, r.Status, r.Body)
		}
		if len(r.Body) != 0 {
			t.Errorf("PUT #%d: 204 with a body: %q", i+1, r.Body)
		}
	}
	got := e.get("/v1.0/users/"+assignUserID+"/manager", e.app("User.Read.All")).want(t, http.StatusOK).object(t)
	if got["id"] != assignManagerID || got["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("manager after the seed PUT: %v", got)
	}
}

// TestSeedListManagerExample1: GET /users/{id | userPrincipalName}/manager returns the manager with the
// page's properties (the page's response "might be shortened", so it must be contained in ours).
func TestSeedListManagerExample1(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addUser(alexID, "Sara Davis", map[string]any{
		"jobTitle": "Finance VP", "mail": "SaraD@contoso.com", "userPrincipalName": "SaraD@contoso.com",
	})
	e.addUser(contributorID, "Individual Contributor", map[string]any{"userPrincipalName": "ic@contoso.com"})
	e.setManager(contributorID, alexID)
	const signedIn = "0f3b8c8e-2a41-4f5e-9f1e-6d0c1c3b2a10"
	e.addUser(signedIn, "Reader", nil)

	want := mustJSON(t, `{
  "id": "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b",
  "displayName": "Sara Davis",
  "jobTitle": "Finance VP",
  "mail": "SaraD@contoso.com",
  "userPrincipalName": "SaraD@contoso.com"
}`).(map[string]any)

	// Through the SDK, by id and by userPrincipalName, with each permission of the page's table.
	for _, scope := range []string{"User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All", "User.ReadWrite.All"} {
		c := e.client(e.delegated(signedIn, scope))
		for _, key := range []string{contributorID, "ic@contoso.com"} {
			m, err := c.Users().ByUserId(key).Manager().Get(ctx, nil)
			noErr(t, scope+": GET /users/"+key+"/manager", err)
			u := asUser(t, m)
			if str(u.GetId()) != alexID || str(u.GetDisplayName()) != "Sara Davis" || str(u.GetJobTitle()) != "Finance VP" ||
				str(u.GetMail()) != "SaraD@contoso.com" || str(u.GetUserPrincipalName()) != "SaraD@contoso.com" {
				t.Errorf("%s: manager of %s: %s %q %q %q %q", scope, key, str(u.GetId()), str(u.GetDisplayName()),
					str(u.GetJobTitle()), str(u.GetMail()), str(u.GetUserPrincipalName()))
			}
		}
	}
	// NOTES.md: the docs disagree on app-only access; orgraph accepts User.Read.All.
	m, err := e.client(e.app("User.Read.All")).Users().ByUserId(contributorID).Manager().Get(ctx, nil)
	noErr(t, "app-only GET manager", err)
	asUser(t, m)
	// User.ReadBasic.All is not in the table.
	_, err = e.client(e.delegated(signedIn, "User.ReadBasic.All")).Users().ByUserId(contributorID).Manager().Get(ctx, nil)
	wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)

	// The page's own request is on beta; the raw JSON must contain the page's response.
	tok := e.delegated(signedIn, "User.Read.All")
	for _, path := range []string{"/beta/users/" + contributorID + "/manager", "/beta/users/ic%40contoso.com/manager", "/v1.0/users/ic@contoso.com/manager"} {
		r := e.get(path, tok).want(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		got := r.object(t)
		if got["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("%s: @odata.type %v, want #microsoft.graph.user", path, got["@odata.type"])
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v (the page's example response)", path, k, got[k], v)
			}
		}
	}
}

// seedChain builds List manager example 2's chain: Individual Contributor → Alex Wilber → Bianca Pisani →
// Patti Fernandez.
func seedChain(e *env) {
	e.addUser(pattiID, "Patti Fernandez", nil)
	e.addUser(biancaID, "Bianca Pisani", nil)
	e.addUser(alexID, "Alex Wilber", nil)
	e.addUser(contributorID, "Individual Contributor", nil)
	e.setManager(biancaID, pattiID)
	e.setManager(alexID, biancaID)
	e.setManager(contributorID, alexID)
}

// seedChainResponse is example 2's response body.
const seedChainResponse = `{
  "id": "a97733ce-92a4-4e7e-8d45-8e1f3e6a69d8",
  "displayName": "Individual Contributor",
  "manager": {
    "id": "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b",
    "displayName": "Alex Wilber",
    "manager": {
      "id": "343a3f95-377c-47a9-b697-480487bfcdf7",
      "displayName": "Bianca Pisani",
      "manager": {
        "id": "8e07b731-5ba7-4081-b482-15e6eca35c45",
        "displayName": "Patti Fernandez"
      }
    }
  }
}`

// wantChain checks that u's managers, nested through GetManager, are exactly ids/names, and that each is a
// typed user (which needs @odata.type on every nested manager).
func wantChain(t *testing.T, u models.Userable, ids, names []string) {
	t.Helper()
	cur := u
	for i := range ids {
		m := cur.GetManager()
		if m == nil {
			t.Fatalf("level %d: no manager, want %s (%s)", i+1, names[i], ids[i])
		}
		mu := asUser(t, m)
		if str(mu.GetId()) != ids[i] || str(mu.GetDisplayName()) != names[i] {
			t.Errorf("level %d: %s %q, want %s %q", i+1, str(mu.GetId()), str(mu.GetDisplayName()), ids[i], names[i])
		}
		cur = mu
	}
	if m := cur.GetManager(); m != nil {
		t.Errorf("level %d: unexpected manager %s", len(ids)+1, str(m.GetId()))
	}
}

var (
	chainIDs   = []string{alexID, biancaID, pattiID}
	chainNames = []string{"Alex Wilber", "Bianca Pisani", "Patti Fernandez"}
)

// TestSeedListManagerExample2 runs example 2 through the SDK: /me with
// $expand=manager($levels=max;$select=id,displayName), $select=id,displayName and ConsistencyLevel: eventual,
// signed in as Individual Contributor; then compares the raw JSON with the page's response.
func TestSeedListManagerExample2(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)
	tok := e.delegated(contributorID, "User.Read.All")
	c := e.client(tok)

	e.rec.reset()
	me, err := c.Me().Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{
			Expand: []string{"manager($levels=max;$select=id,displayName)"},
			Select: []string{"id", "displayName"},
		},
	})
	noErr(t, "GET /me?$expand=manager($levels=max…)", err)
	if str(me.GetId()) != contributorID || str(me.GetDisplayName()) != "Individual Contributor" {
		t.Errorf("me: %s %q", str(me.GetId()), str(me.GetDisplayName()))
	}
	if me.GetJobTitle() != nil || me.GetUserPrincipalName() != nil {
		t.Errorf("$select=id,displayName returned more: jobTitle %s, userPrincipalName %s", str(me.GetJobTitle()), str(me.GetUserPrincipalName()))
	}
	wantChain(t, me, chainIDs, chainNames)
	if reqs := e.rec.all(); len(reqs) != 1 || reqs[0].EscapedPath != "/v1.0/me" {
		t.Errorf("the SDK sent %+v, want one GET /v1.0/me", reqs)
	}

	// The raw body, as the page shows it (annotations aside), on v1.0 and on beta (the page's version), in
	// the SDK's percent-encoded form and in the unencoded form other clients send.
	want := mustJSON(t, seedChainResponse)
	for _, path := range []string{
		"/beta/me?$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName",
		"/v1.0/me?$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName",
		"/v1.0/me?%24expand=manager%28%24levels%3Dmax%3B%24select%3Did%2CdisplayName%29&%24select=id%2CdisplayName",
		"/v1.0/users/" + contributorID + "?$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName",
		// The page's own form: /users/{id | userPrincipalName}/?$expand=manager($levels=n).
		"/beta/users/" + contributorID + "/?$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName",
		"/beta/users/individual.contributor%40contoso.onmicrosoft.com/?$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName",
	} {
		r := e.get(path, tok, "ConsistencyLevel", "eventual").want(t, http.StatusOK)
		got := r.object(t)
		if !reflect.DeepEqual(stripAnnotations(got), want) {
			t.Errorf("%s:\n got %s\nwant %s", path, pretty(stripAnnotations(got)), pretty(want))
		}
		// Every nested manager carries @odata.type, or the SDK cannot type it (NOTES.md).
		for m, lvl := got, 0; m != nil; lvl++ {
			if lvl > 0 && m["@odata.type"] != "#microsoft.graph.user" {
				t.Errorf("%s: manager at level %d has @odata.type %v", path, lvl, m["@odata.type"])
			}
			m, _ = m["manager"].(map[string]any)
		}
	}
}

// TestSeedListManagerLevels: $levels=n limits the chain; without $levels only the immediate manager is
// returned; on /users/{id} too.
func TestSeedListManagerLevels(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)
	c := e.client(e.app("User.Read.All"))
	get := func(expand string, headers bool) (models.Userable, error) {
		cfg := &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{expand}},
		}
		if headers {
			cfg.Headers = eventual()
		}
		return c.Users().ByUserId(contributorID).Get(ctx, cfg)
	}

	u, err := get("manager($levels=2)", true)
	noErr(t, "$expand=manager($levels=2)", err)
	wantChain(t, u, chainIDs[:2], chainNames[:2])

	u, err = get("manager($levels=1)", true)
	noErr(t, "$expand=manager($levels=1)", err)
	wantChain(t, u, chainIDs[:1], chainNames[:1])

	u, err = get("manager($levels=1000)", true)
	noErr(t, "$expand=manager($levels=1000)", err)
	wantChain(t, u, chainIDs, chainNames)

	u, err = get("manager($levels=max)", true)
	noErr(t, "$expand=manager($levels=max)", err)
	wantChain(t, u, chainIDs, chainNames)
	// Without $select inside $expand the managers carry their default properties.
	if m := asUser(t, u.GetManager()); m.GetUserPrincipalName() == nil {
		t.Errorf("expanded manager without $select lacks userPrincipalName")
	}

	// Without $levels: only the immediate manager (and no ConsistencyLevel needed).
	u, err = get("manager", false)
	noErr(t, "$expand=manager", err)
	wantChain(t, u, chainIDs[:1], chainNames[:1])

	// The top of the chain has no manager: the expansion is simply absent.
	top, err := c.Users().ByUserId(pattiID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		Headers:         eventual(),
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"manager($levels=max)"}},
	})
	noErr(t, "top of chain", err)
	wantChain(t, top, nil, nil)
}

// TestLevelsConsistencyLevel: the page says $levels requires ConsistencyLevel: eventual. orgraph refuses it
// without the header by default and accepts it with LenientConsistency (NOTES.md: make it configurable).
func TestLevelsConsistencyLevel(t *testing.T) {
	ctx := context.Background()
	cfg := &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"manager($levels=max)"}},
	}

	strict := newEnv(t)
	seedChain(strict)
	_, err := strict.client(strict.app("User.Read.All")).Users().ByUserId(contributorID).Get(ctx, cfg)
	wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "")

	loose := newEnv(t, lenient)
	seedChain(loose)
	u, err := loose.client(loose.app("User.Read.All")).Users().ByUserId(contributorID).Get(ctx, cfg)
	noErr(t, "lenient $levels without ConsistencyLevel", err)
	wantChain(t, u, chainIDs, chainNames)
}

// TestSeedAddSponsor runs both Add sponsor examples for the page's user through the request adapter, lists
// the sponsors through the typed builder, and removes them with both delete forms.
func TestSeedAddSponsor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const sponsorUser, sponsorGroup = "5c1a3f0e-7b2d-4c8e-9a6f-1d2e3f4a5b6c", "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addUser(guestID, "Guest User", map[string]any{"userType": "Guest", "userPrincipalName": "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com"})
	e.addUser(sponsorUser, "Sponsor Person", nil)
	e.addGroup(sponsorGroup, "Partner Sponsors")
	c := e.client(e.app("User.ReadWrite.All"))

	// Example 1: a user; example 2: a group.
	noErr(t, "example 1 (user sponsor)", addSponsor(ctx, c, guestID, graphV1+"/users/"+sponsorUser))
	noErr(t, "example 2 (group sponsor)", addSponsor(ctx, c, guestID, graphV1+"/groups/"+sponsorGroup))

	// Listed typed, in the order they were added; Directory.Read.All reads both kinds in full.
	res, err := e.client(e.app("Directory.Read.All")).Users().ByUserId(guestID).Sponsors().Get(ctx, nil)
	noErr(t, "GET sponsors", err)
	vals := res.GetValue()
	if len(vals) != 2 {
		t.Fatalf("%d sponsors, want 2", len(vals))
	}
	if u, ok := vals[0].(models.Userable); !ok || str(u.GetId()) != sponsorUser || str(u.GetDisplayName()) != "Sponsor Person" {
		t.Errorf("sponsor 1: %T %s", vals[0], str(vals[0].GetId()))
	}
	if g, ok := vals[1].(models.Groupable); !ok || str(g.GetId()) != sponsorGroup || str(g.GetDisplayName()) != "Partner Sponsors" {
		t.Errorf("sponsor 2: %T %s", vals[1], str(vals[1].GetId()))
	}

	// With User.Read.All the group is a directoryObject the caller may not read: typed, id, nothing else.
	res, err = e.client(e.app("User.Read.All")).Users().ByUserId(guestID).Sponsors().Get(ctx, nil)
	noErr(t, "GET sponsors with User.Read.All", err)
	if vals := res.GetValue(); len(vals) != 2 {
		t.Errorf("%d sponsors with User.Read.All, want 2", len(vals))
	} else if g, ok := vals[1].(models.Groupable); !ok || str(g.GetId()) != sponsorGroup || g.GetDisplayName() != nil {
		t.Errorf("group sponsor read with User.Read.All: %T id %s displayName %s (want id only)", vals[1], str(vals[1].GetId()), str(g.GetDisplayName()))
	}

	// $expand=sponsors($select=id,displayName) on the user (NOTES.md).
	u, err := e.client(e.app("Directory.Read.All")).Users().ByUserId(guestID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"sponsors($select=id,displayName)"}},
	})
	noErr(t, "$expand=sponsors", err)
	if sp := u.GetSponsors(); len(sp) != 2 {
		t.Errorf("$expand=sponsors: %d sponsors", len(sp))
	} else {
		if su, ok := sp[0].(models.Userable); !ok || str(su.GetDisplayName()) != "Sponsor Person" || su.GetUserPrincipalName() != nil {
			t.Errorf("expanded sponsor 1: %T %s, want user Sponsor Person with only id and displayName", sp[0], str(sp[0].GetId()))
		}
		if _, ok := sp[1].(models.Groupable); !ok {
			t.Errorf("expanded sponsor 2: %T", sp[1])
		}
	}

	// Remove with both forms current SDKs send.
	noErr(t, "DELETE sponsors/{id}/$ref", removeSponsorByID(ctx, c, guestID, sponsorUser))
	noErr(t, "DELETE sponsors/$ref?@id=", removeSponsorByRef(ctx, c, guestID, graphV1+"/groups/"+sponsorGroup))
	res, err = c.Users().ByUserId(guestID).Sponsors().Get(ctx, nil)
	noErr(t, "GET sponsors after removal", err)
	if n := len(res.GetValue()); n != 0 {
		t.Errorf("%d sponsors left after removing both", n)
	}
	// Removing a sponsor that is not one is a 404, in both forms.
	wantODataError(t, removeSponsorByID(ctx, c, guestID, sponsorUser), http.StatusNotFound, "Request_ResourceNotFound", "")
	wantODataError(t, removeSponsorByRef(ctx, c, guestID, graphV1+"/groups/"+sponsorGroup), http.StatusNotFound, "Request_ResourceNotFound", "")
}

// TestSeedAddSponsorRawHTTP sends the page's two requests as written: 204 No Content with no body.
func TestSeedAddSponsorRawHTTP(t *testing.T) {
	e := newEnv(t)
	const sponsorUser, sponsorGroup = "5c1a3f0e-7b2d-4c8e-9a6f-1d2e3f4a5b6c", "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addUser(guestID, "Guest User", map[string]any{"userType": "Guest"})
	e.addUser(sponsorUser, "Sponsor Person", nil)
	e.addGroup(sponsorGroup, "Partner Sponsors")
	tok := e.app("User.ReadWrite.All")
	for _, body := range []string{
		"{\n  \"@odata.id\": \"https://graph.microsoft.com/v1.0/users/" + sponsorUser + "\"\n}",
		"{\n  \"@odata.id\": \"https://graph.microsoft.com/v1.0/groups/" + sponsorGroup + "\"\n}",
	} {
		r := e.do(http.MethodPost, "/v1.0/users/d8ab5060-f636-4cff-ae97-d4687f5c83f3/sponsors/$ref", tok, []byte(body),
			"Content-Type", "application/json")
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Errorf("POST sponsors/$ref: %d %q, want 204 and no body", r.Status, r.Body)
		}
	}
	got := e.get("/v1.0/users/"+guestID+"/sponsors", e.app("Directory.Read.All")).want(t, http.StatusOK).object(t)
	vals, _ := got["value"].([]any)
	if len(vals) != 2 {
		t.Fatalf("sponsors: %s", pretty(got))
	}
	for i, want := range []string{"#microsoft.graph.user", "#microsoft.graph.group"} {
		if o, _ := vals[i].(map[string]any); o["@odata.type"] != want {
			t.Errorf("sponsor %d: @odata.type %v, want %s", i+1, o["@odata.type"], want)
		}
	}
}

// TestSeedAddSponsorPermissions: User.ReadWrite.All and Directory.ReadWrite.All may add sponsors; read
// permissions may not. NOTES.md: a delegated caller also needs a directory role (Directory Writers, User
// Administrator or Global Administrator); a signed-in user who holds none must be refused.
func TestSeedAddSponsorPermissions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const sponsorUser, plainUser = "5c1a3f0e-7b2d-4c8e-9a6f-1d2e3f4a5b6c", "2b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"
	e.addUser(guestID, "Guest User", map[string]any{"userType": "Guest"})
	e.addUser(sponsorUser, "Sponsor Person", nil)
	e.addUser(plainUser, "Plain Member", nil)

	err := addSponsor(ctx, e.client(e.app("User.Read.All")), guestID, graphV1+"/users/"+sponsorUser)
	wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
	noErr(t, "app Directory.ReadWrite.All", addSponsor(ctx, e.client(e.app("Directory.ReadWrite.All")), guestID, graphV1+"/users/"+sponsorUser))
	noErr(t, "remove", removeSponsorByID(ctx, e.client(e.app("User.ReadWrite.All")), guestID, sponsorUser))

	// A member with no directory role, signed in with User.ReadWrite.All.
	err = addSponsor(ctx, e.client(e.delegated(plainUser, "User.ReadWrite.All")), guestID, graphV1+"/users/"+sponsorUser)
	wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", "")

	// The same member once they hold one of the roles the page's RBAC note names.
	if err := e.st.SetDirectoryRoles(ctx, e.tenant, plainUser, []string{"User Administrator"}); err != nil {
		t.Fatal(err)
	}
	noErr(t, "delegated with User Administrator", addSponsor(ctx, e.client(e.delegated(plainUser, "User.ReadWrite.All")), guestID, graphV1+"/users/"+sponsorUser))
	noErr(t, "delegated remove with User Administrator", removeSponsorByID(ctx, e.client(e.delegated(plainUser, "User.ReadWrite.All")), guestID, sponsorUser))
}

// TestLevelsDeepChain: $levels=1000 (the page's upper bound) nests exactly 1000 managers and $levels=max
// the whole chain, here longer than both 1000 and one chain query's batch.
func TestLevelsDeepChain(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 1030 // users; the bottom one has n-1 managers above
	// One store transaction rather than 2n service calls (each a durable commit), to keep the test fast.
	err := e.st.Update(ctx, e.tenant, func(tx directory.Tx) error {
		for i := 1; i <= n; i++ {
			err := tx.Insert(&directory.Object{ID: userID(i), Kind: directory.KindUser, Props: map[string]any{
				"displayName": fmt.Sprintf("Level %04d", i), "userPrincipalName": fmt.Sprintf("level%04d@contoso.onmicrosoft.com", i),
				"accountEnabled": true, "mailNickname": fmt.Sprintf("level%04d", i),
			}})
			if err == nil && i > 1 {
				err = tx.SetManager(userID(i), userID(i-1))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seeding the chain: %v", err)
	}
	c := e.client(e.app("User.Read.All"))
	depth := func(levels string) int {
		u, err := c.Users().ByUserId(userID(n)).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			Headers: eventual(),
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{
				Expand: []string{"manager($levels=" + levels + ";$select=id)"}, Select: []string{"id"},
			},
		})
		noErr(t, "$levels="+levels, err)
		d := 0
		for m := u.GetManager(); m != nil; d++ {
			if want := userID(n - d - 1); str(m.GetId()) != want {
				t.Fatalf("$levels=%s: level %d is %s, want %s", levels, d+1, str(m.GetId()), want)
			}
			m = asUser(t, m).GetManager()
		}
		return d
	}
	if d := depth("1000"); d != 1000 {
		t.Errorf("$levels=1000: %d levels", d)
	}
	if d := depth("max"); d != n-1 {
		t.Errorf("$levels=max: %d levels, want %d", d, n-1)
	}
	if d := depth("7"); d != 7 {
		t.Errorf("$levels=7: %d levels", d)
	}
}
