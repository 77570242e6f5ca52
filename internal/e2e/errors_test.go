package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/orgraph/orgraph/internal/auth"
)

// managerOf returns the id of userID's manager through the SDK, or "" after Graph's 404 for "no manager".
func managerOf(t *testing.T, e *env, userID string) string {
	t.Helper()
	m, err := e.client(e.app("Directory.Read.All")).Users().ByUserId(userID).Manager().Get(context.Background(), nil)
	if err != nil {
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", msgManagerNotFound)
		return ""
	}
	return str(m.GetId())
}

// TestManagerErrors: Graph's errors for the manager relationship, through the SDK.
func TestManagerErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a, b, c3 := userID(1), userID(2), userID(3)
	e.addUser(a, "User A", nil)
	e.addUser(b, "User B", nil)
	e.addUser(c3, "User C", nil)
	const groupID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addGroup(groupID, "A Group")
	w := e.client(e.app("User.ReadWrite.All"))
	put := func(user, target string) error {
		return w.Users().ByUserId(user).Manager().Ref().Put(ctx, refUpdate(target), nil)
	}

	t.Run("no manager", func(t *testing.T) {
		_, err := w.Users().ByUserId(a).Manager().Get(ctx, nil)
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", msgManagerNotFound)
		// Deleting a manager that is not there is a 404 too.
		wantODataError(t, w.Users().ByUserId(a).Manager().Ref().Delete(ctx, nil), http.StatusNotFound, "Request_ResourceNotFound", "")
		// And the raw $ref.
		e.get("/v1.0/users/"+a+"/manager/$ref", e.app("User.Read.All")).wantError(t, http.StatusNotFound, "Request_ResourceNotFound", msgManagerNotFound)
	})

	t.Run("unknown ids", func(t *testing.T) {
		unknown := userID(999)
		_, err := w.Users().ByUserId(unknown).Get(ctx, nil)
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+unknown+"' does not exist or one of its queried reference-property objects are not present.")
		_, err = w.Users().ByUserId(unknown).Manager().Get(ctx, nil)
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
		_, err = w.Users().ByUserId("nobody@contoso.onmicrosoft.com").Get(ctx, nil)
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
		wantODataError(t, put(unknown, graphV1+"/users/"+a), http.StatusNotFound, "Request_ResourceNotFound", "")
		wantODataError(t, put(a, graphV1+"/users/"+unknown), http.StatusNotFound, "Request_ResourceNotFound", "")
		// A group's id under /users is not a user.
		_, err = w.Users().ByUserId(groupID).Get(ctx, nil)
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
		if got := managerOf(t, e, a); got != "" {
			t.Errorf("A has manager %s after failed writes", got)
		}
	})

	t.Run("two-cycle", func(t *testing.T) {
		noErr(t, "A→B", put(a, graphV1+"/users/"+b))
		wantODataError(t, put(b, graphV1+"/users/"+a), http.StatusBadRequest, "Request_BadRequest", "")
		if got := managerOf(t, e, b); got != "" {
			t.Errorf("B's manager is %s after the refused cycle, want none", got)
		}
		if got := managerOf(t, e, a); got != b {
			t.Errorf("A's manager is %q after the refused cycle, want B", got)
		}
	})

	t.Run("three-cycle", func(t *testing.T) {
		noErr(t, "B→C", put(b, graphV1+"/users/"+c3)) // A→B→C
		wantODataError(t, put(c3, graphV1+"/users/"+a), http.StatusBadRequest, "Request_BadRequest", "")
		wantODataError(t, put(c3, graphV1+"/directoryObjects/"+b), http.StatusBadRequest, "Request_BadRequest", "")
		if got := managerOf(t, e, c3); got != "" {
			t.Errorf("C's manager is %s after the refused cycle", got)
		}
		if managerOf(t, e, a) != b || managerOf(t, e, b) != c3 {
			t.Errorf("chain changed by a refused write")
		}
		// The chain still ends: $levels=max on A walks A→B→C.
		u, err := w.Users().ByUserId(a).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			Headers:         eventual(),
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"manager($levels=max;$select=id,displayName)"}},
		})
		noErr(t, "chain", err)
		wantChain(t, u, []string{b, c3}, []string{"User B", "User C"})
	})

	t.Run("self", func(t *testing.T) {
		wantODataError(t, put(c3, graphV1+"/users/"+c3), http.StatusBadRequest, "Request_BadRequest", "")
		wantODataError(t, put(c3, "https://graph.microsoft.com/beta/directoryObjects/"+c3), http.StatusBadRequest, "Request_BadRequest", "")
		if got := managerOf(t, e, c3); got != "" {
			t.Errorf("C manages herself: %s", got)
		}
	})

	t.Run("group as manager", func(t *testing.T) {
		wantODataError(t, put(c3, graphV1+"/groups/"+groupID), http.StatusBadRequest, "Request_BadRequest", "")
		wantODataError(t, put(c3, graphV1+"/directoryObjects/"+groupID), http.StatusBadRequest, "Request_BadRequest", "")
		// A URL that names a user by a group's id does not find a user.
		err := put(c3, graphV1+"/users/"+groupID)
		if err == nil {
			t.Errorf("a group assigned through /users/{groupId}")
		}
		if got := managerOf(t, e, c3); got != "" {
			t.Errorf("C's manager is %s", got)
		}
	})

	t.Run("bad references", func(t *testing.T) {
		for _, ref := range []string{
			"",
			"users/" + a,
			"https://example.com/v1.0/users/" + a,
			"https://graph.microsoft.com/v1.0/applications/" + a,
			"not a url",
		} {
			wantODataError(t, put(c3, ref), http.StatusBadRequest, "Request_BadRequest", "")
		}
	})
}

// TestRefHosts: an @odata.id may name the object on any Graph cloud's host, or on this server, under v1.0
// or beta, as users/{id}, contacts/{id} or directoryObjects/{id} (NOTES.md).
func TestRefHosts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u, m := userID(1), userID(2)
	e.addUser(u, "Report", nil)
	e.addUser(m, "Boss", nil)
	e.addContact(contactA, "Contact Boss", "Fabrikam")
	w := e.client(e.app("User.ReadWrite.All"))
	for _, ref := range []string{
		"https://graph.microsoft.com/v1.0/users/" + m,
		"https://graph.microsoft.com/beta/users/" + m,
		"https://graph.microsoft.us/v1.0/users/" + m,
		"https://dod-graph.microsoft.us/v1.0/directoryObjects/" + m,
		"https://microsoftgraph.chinacloudapi.cn/v1.0/users/" + m,
		e.srv.URL + "/v1.0/users/" + m,
		e.srv.URL + "/beta/directoryObjects/" + m,
		"https://graph.microsoft.com/v1.0/contacts/" + contactA,
		"https://graph.microsoft.com/v1.0/directoryObjects/" + contactA,
	} {
		noErr(t, "PUT manager "+ref, w.Users().ByUserId(u).Manager().Ref().Put(ctx, refUpdate(ref), nil))
		want := m
		if strings.Contains(ref, contactA) {
			want = contactA
		}
		if got := managerOf(t, e, u); got != want {
			t.Errorf("%s: manager %q, want %s", ref, got, want)
		}
		noErr(t, "DELETE manager", w.Users().ByUserId(u).Manager().Ref().Delete(ctx, nil))
	}

	// What GET manager/$ref returns can be PUT back.
	noErr(t, "PUT", w.Users().ByUserId(u).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+m), nil))
	ref := e.get("/v1.0/users/"+u+"/manager/$ref", e.app("User.Read.All")).want(t, http.StatusOK).object(t)
	id, _ := ref["@odata.id"].(string)
	if ctxURL, _ := ref["@odata.context"].(string); !strings.Contains(ctxURL, "$metadata#") || !strings.HasSuffix(id, "/"+m) {
		t.Fatalf("manager/$ref: %s", pretty(ref))
	}
	noErr(t, "DELETE", w.Users().ByUserId(u).Manager().Ref().Delete(ctx, nil))
	noErr(t, "PUT back "+id, w.Users().ByUserId(u).Manager().Ref().Put(ctx, refUpdate(id), nil))
	if got := managerOf(t, e, u); got != m {
		t.Errorf("after PUT of the $ref: manager %q", got)
	}
}

// TestSponsorErrors: at most five sponsors, no duplicates, users and groups only.
func TestSponsorErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addUser(guestID, "Guest", map[string]any{"userType": "Guest"})
	for i := 1; i <= 6; i++ {
		e.addUser(userID(i), "Sponsor "+string(rune('0'+i)), nil)
	}
	e.addContact(contactA, "A Contact", "Fabrikam")
	c := e.client(e.app("User.ReadWrite.All"))
	for i := 1; i <= 5; i++ {
		noErr(t, "sponsor", addSponsor(ctx, c, guestID, graphV1+"/users/"+userID(i)))
	}
	count := func() int {
		res, err := c.Users().ByUserId(guestID).Sponsors().Get(ctx, nil)
		noErr(t, "GET sponsors", err)
		return len(res.GetValue())
	}
	wantODataError(t, addSponsor(ctx, c, guestID, graphV1+"/users/"+userID(6)), http.StatusBadRequest, "Request_BadRequest", "")
	if n := count(); n != 5 {
		t.Errorf("%d sponsors after the refused sixth", n)
	}
	noErr(t, "remove one", removeSponsorByID(ctx, c, guestID, userID(5)))
	wantODataError(t, addSponsor(ctx, c, guestID, graphV1+"/users/"+userID(1)), http.StatusBadRequest, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'sponsors'.")
	wantODataError(t, addSponsor(ctx, c, guestID, graphV1+"/directoryObjects/"+userID(1)), http.StatusBadRequest, "Request_BadRequest", "")
	wantODataError(t, addSponsor(ctx, c, guestID, graphV1+"/contacts/"+contactA), http.StatusBadRequest, "Request_BadRequest", "")
	wantODataError(t, addSponsor(ctx, c, guestID, graphV1+"/users/"+userID(999)), http.StatusNotFound, "Request_ResourceNotFound", "")
	wantODataError(t, addSponsor(ctx, c, userID(999), graphV1+"/users/"+userID(1)), http.StatusNotFound, "Request_ResourceNotFound", "")
	if n := count(); n != 4 {
		t.Errorf("%d sponsors after refused writes, want 4", n)
	}
	// A sponsor added through a URL naming the user by userPrincipalName is removed through the same URL.
	noErr(t, "add by UPN URL", addSponsor(ctx, c, guestID, graphV1+"/users/sponsor.6@contoso.onmicrosoft.com"))
	if err := removeSponsorByRef(ctx, c, guestID, graphV1+"/users/sponsor.6@contoso.onmicrosoft.com"); err != nil {
		t.Errorf("DELETE sponsors/$ref?@id=<users/{userPrincipalName} URL> of a sponsor added by that URL: %v", err)
	} else if n := count(); n != 4 {
		t.Errorf("%d sponsors after adding and removing by UPN URL, want 4", n)
	}
	// DELETE …/sponsors/$ref without @id names nothing.
	r := e.do(http.MethodDelete, "/v1.0/users/"+guestID+"/sponsors/$ref", e.app("User.ReadWrite.All"), nil)
	r.wantError(t, http.StatusBadRequest, "Request_BadRequest", "")
}

// TestLevelsErrors: $levels only on a single user, only from 1 to 1000 or max.
func TestLevelsErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)
	c := e.client(e.app("User.Read.All"))

	_, err := c.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers:         eventual(),
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Expand: []string{"manager($levels=max)"}},
	})
	wantODataError(t, err, http.StatusBadRequest, "Request_UnsupportedQuery", msgLevelsOnList)
	e.get("/v1.0/users?$expand=manager($levels=2;$select=id)", e.app("User.Read.All"), "ConsistencyLevel", "eventual").
		wantError(t, http.StatusBadRequest, "Request_UnsupportedQuery", msgLevelsOnList)

	for _, lv := range []string{"0", "1001", "-1", "abc"} {
		_, err := c.Users().ByUserId(contributorID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			Headers:         eventual(),
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"manager($levels=" + lv + ")"}},
		})
		wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "")
	}
	// $levels belongs to manager only.
	_, err = c.Users().ByUserId(alexID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		Headers:         eventual(),
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"directReports($levels=2)"}},
	})
	if err == nil {
		t.Errorf("$levels on directReports accepted")
	}
}

// TestAuthErrors: 401 InvalidAuthenticationToken with WWW-Authenticate without a valid token; 403
// Authorization_RequestDenied without the permission.
func TestAuthErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)

	t.Run("no token", func(t *testing.T) {
		_, err := e.client("").Users().ByUserId(contributorID).Manager().Get(ctx, nil)
		oe := wantODataError(t, err, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
		if oe != nil && (oe.ResponseHeaders == nil || len(oe.ResponseHeaders.Get("WWW-Authenticate")) == 0) {
			t.Errorf("401 without a WWW-Authenticate header")
		}
		r := e.get("/v1.0/users", "")
		r.wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
		if wa := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
			t.Errorf("WWW-Authenticate %q", wa)
		}
	})

	t.Run("bad tokens", func(t *testing.T) {
		expired, err := auth.Mint(e.key, auth.Claims{TenantID: e.tenant, ObjectID: testAppID, AppID: testAppID, Roles: []string{"User.Read.All"}},
			time.Now().Add(-3*time.Hour), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		other, err := auth.NewSigningKey(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		forged, err := auth.Mint(other, auth.Claims{TenantID: e.tenant, ObjectID: testAppID, AppID: testAppID, Roles: []string{"User.Read.All"}},
			time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"garbage": "not-a-token", "expired": expired, "unknown key": forged} {
			_, err := e.client(tok).Users().ByUserId(contributorID).Get(ctx, nil)
			oe := wantODataError(t, err, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
			if oe != nil && len(oe.ResponseHeaders.Get("WWW-Authenticate")) == 0 {
				t.Errorf("%s: 401 without WWW-Authenticate", name)
			}
		}
	})

	t.Run("insufficient privileges", func(t *testing.T) {
		ro := e.client(e.app("User.Read.All"))
		err := ro.Users().ByUserId(contributorID).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+pattiID), nil)
		wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		wantODataError(t, ro.Users().ByUserId(contributorID).Manager().Ref().Delete(ctx, nil), http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		wantODataError(t, ro.Users().ByUserId(contributorID).Delete(ctx, nil), http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		_, err = ro.Users().Post(ctx, newUserBody("X", "x", "x@contoso.onmicrosoft.com"), nil)
		wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		_, err = ro.Groups().Get(ctx, nil)
		wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		_, err = e.client(e.app("Group.Read.All")).Users().Get(ctx, nil)
		wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		// No permission at all.
		_, err = e.client(e.app()).Users().Get(ctx, nil)
		wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
		if got := managerOf(t, e, contributorID); got != alexID {
			t.Errorf("manager changed by a refused write: %s", got)
		}
	})
}

// TestCreateErrors: duplicate userPrincipalName (case-insensitive) and missing required properties are 400s.
func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.client(e.app("User.ReadWrite.All"))
	_, err := c.Users().Post(ctx, newUserBody("Adele Vance", "AdeleV", "AdeleV@contoso.onmicrosoft.com"), nil)
	noErr(t, "first POST", err)
	for _, upn := range []string{"AdeleV@contoso.onmicrosoft.com", "ADELEV@contoso.onmicrosoft.com"} {
		_, err = c.Users().Post(ctx, newUserBody("Adele Again", "AdeleV2", upn), nil)
		wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
	}
	// PATCH onto a taken UPN is refused the same way.
	other, err := c.Users().Post(ctx, newUserBody("Alex Wilber", "AlexW", "AlexW@contoso.onmicrosoft.com"), nil)
	noErr(t, "second POST", err)
	patch := models.NewUser()
	patch.SetUserPrincipalName(ptr("adelev@contoso.onmicrosoft.com"))
	_, err = c.Users().ByUserId(str(other.GetId())).Patch(ctx, patch, nil)
	wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")

	noPassword := models.NewUser()
	noPassword.SetAccountEnabled(ptr(true))
	noPassword.SetDisplayName(ptr("No Password"))
	noPassword.SetMailNickname(ptr("nopw"))
	noPassword.SetUserPrincipalName(ptr("nopw@contoso.onmicrosoft.com"))
	_, err = c.Users().Post(ctx, noPassword, nil)
	wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "")

	res, err := c.Users().Get(ctx, nil)
	noErr(t, "list", err)
	if n := len(res.GetValue()); n != 2 {
		t.Errorf("%d users after refused creates, want 2", n)
	}
}

// TestDeleteUserCleansRelationships: deleting a manager leaves the reports without one (404), deleting a
// sponsor (user or group) removes it from every sponsors list.
func TestDeleteUserCleansRelationships(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m, reports := orgWithReports(e)
	const groupID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addGroup(groupID, "Sponsors")
	e.addUser(guestID, "Guest", map[string]any{"userType": "Guest"})
	e.sponsor(guestID, m)
	e.sponsor(guestID, reports[1])
	e.sponsor(guestID, groupID)
	c := e.client(e.app("Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All"))

	noErr(t, "DELETE manager user", c.Users().ByUserId(m).Delete(ctx, nil))
	for _, r := range reports {
		_, err := c.Users().ByUserId(r).Manager().Get(ctx, nil)
		wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", msgManagerNotFound)
	}
	// The grand report keeps her manager.
	if got := managerOf(t, e, userID(104)); got != reports[0] {
		t.Errorf("grand report's manager %q", got)
	}
	res, err := c.Users().ByUserId(guestID).Sponsors().Get(ctx, nil)
	noErr(t, "sponsors", err)
	var ids []string
	for _, o := range res.GetValue() {
		ids = append(ids, str(o.GetId()))
	}
	if strings.Join(ids, ",") != reports[1]+","+groupID {
		t.Errorf("sponsors after deleting a sponsor: %v", ids)
	}
	_, err = c.Users().ByUserId(m).DirectReports().Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")

	noErr(t, "DELETE group sponsor", c.Groups().ByGroupId(groupID).Delete(ctx, nil))
	res, err = c.Users().ByUserId(guestID).Sponsors().Get(ctx, nil)
	noErr(t, "sponsors", err)
	if vals := res.GetValue(); len(vals) != 1 || str(vals[0].GetId()) != reports[1] {
		t.Errorf("sponsors after deleting the group: %d", len(vals))
	}

	// Deleting the guest removes her sponsor rows; the former sponsor is untouched.
	noErr(t, "DELETE guest", c.Users().ByUserId(guestID).Delete(ctx, nil))
	if _, err := c.Users().ByUserId(reports[1]).Get(ctx, nil); err != nil {
		t.Errorf("sponsor gone with the guest: %v", err)
	}
	// A deleted user's id can be reused by import without stale relationships.
	e.addUser(m, "Miriam Returns", map[string]any{"userPrincipalName": "miriam2@contoso.onmicrosoft.com"})
	dr, err := c.Users().ByUserId(m).DirectReports().Get(ctx, nil)
	noErr(t, "directReports of the re-created id", err)
	if n := len(dr.GetValue()); n != 0 {
		t.Errorf("re-created user inherits %d direct reports", n)
	}
}

// TestConcurrentCycle: two clients assigning A→B and B→A at the same moment must not both succeed (the
// cycle check runs inside each write's transaction), and the chain walk still ends.
func TestConcurrentCycle(t *testing.T) {
	e := newEnv(t)
	tok := e.app("User.ReadWrite.All")
	const rounds = 8
	for i := 0; i < rounds; i++ {
		a, b := userID(2*i+1), userID(2*i+2)
		e.addUser(a, "Cycle A "+a[len(a)-3:], nil)
		e.addUser(b, "Cycle B "+b[len(b)-3:], nil)
		var wg sync.WaitGroup
		status := make([]int, 2)
		for j, pair := range [][2]string{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := []byte(`{"@odata.id":"` + graphV1 + `/users/` + pair[1] + `"}`)
				req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/v1.0/users/"+pair[0]+"/manager/$ref", bytes.NewReader(body))
				if err != nil {
					return
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				res, err := e.srv.Client().Do(req)
				if err != nil {
					return
				}
				res.Body.Close()
				status[j] = res.StatusCode
			}()
		}
		wg.Wait()
		ok := 0
		for _, s := range status {
			if s == http.StatusNoContent {
				ok++
			} else if s != http.StatusBadRequest {
				t.Errorf("round %d: status %d", i, s)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of the two opposite assignments succeeded (%v), want exactly 1", i, ok, status)
		}
		ma, mb := managerOf(t, e, a), managerOf(t, e, b)
		if ma == b && mb == a {
			t.Fatalf("round %d: cycle stored: A→B and B→A", i)
		}
	}
}

// TestDirectReportsReadOnly: "You cannot assign direct reports; instead, use this API" (Assign manager):
// directReports has no write.
func TestDirectReportsReadOnly(t *testing.T) {
	e := newEnv(t)
	seedChain(e)
	tok := e.app("Directory.ReadWrite.All")
	body := []byte(`{"@odata.id":"` + graphV1 + `/users/` + contributorID + `"}`)
	for _, rq := range []struct{ method, path string }{
		{http.MethodPost, "/v1.0/users/" + pattiID + "/directReports/$ref"},
		{http.MethodPut, "/v1.0/users/" + pattiID + "/directReports/$ref"},
		{http.MethodDelete, "/v1.0/users/" + alexID + "/directReports/" + contributorID + "/$ref"},
	} {
		r := e.do(rq.method, rq.path, tok, body, "Content-Type", "application/json")
		if r.Status != http.StatusMethodNotAllowed && r.Status != http.StatusBadRequest {
			t.Errorf("%s %s: status %d, want 405 or 400", rq.method, rq.path, r.Status)
			continue
		}
		checkErrorBody(t, r, "Request_BadRequest", "")
	}
	if got := managerOf(t, e, contributorID); got != alexID {
		t.Errorf("manager changed through directReports: %q", got)
	}
}

// TestQueryErrors: one navigation property per $expand on users; unknown properties and navigations.
func TestQueryErrors(t *testing.T) {
	e := newEnv(t)
	seedChain(e)
	tok := e.app("User.Read.All")
	r := e.get("/v1.0/users/"+contributorID+"?$expand=manager,directReports", tok)
	if r.Status != http.StatusBadRequest {
		t.Errorf("two navigation properties in $expand: status %d, want 400", r.Status)
	}
	for _, path := range []string{
		"/v1.0/users?$select=noSuchProperty",
		"/v1.0/users/" + contributorID + "?$expand=noSuchNavigation",
		"/v1.0/users?$top=0",
		"/v1.0/users?$skiptoken=forged",
	} {
		r := e.get(path, tok)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", path, r.Status)
			continue
		}
		checkErrorBody(t, r, "Request_BadRequest", "")
	}
}
