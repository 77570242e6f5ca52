package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/contacts"
	"github.com/microsoftgraph/msgraph-sdk-go/directoryobjects"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// newUserBody is a user with the properties Graph requires on create (its create-user example).
func newUserBody(displayName, nick, upn string) models.Userable {
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(&displayName)
	u.SetMailNickname(&nick)
	u.SetUserPrincipalName(&upn)
	pp := models.NewPasswordProfile()
	pp.SetForceChangePasswordNextSignIn(ptr(true))
	pp.SetPassword(ptr("xWwvJ]6NMw+bWH-d"))
	u.SetPasswordProfile(pp)
	return u
}

// TestUsersCRUD creates, reads (by id, by userPrincipalName), updates and deletes a user through the SDK.
func TestUsersCRUD(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.client(e.app("User.ReadWrite.All"))

	created, err := c.Users().Post(ctx, newUserBody("Adele Vance", "AdeleV", "AdeleV@contoso.onmicrosoft.com"), nil)
	noErr(t, "POST /users", err)
	id := str(created.GetId())
	if !guidRE.MatchString(id) {
		t.Fatalf("new user id %q is not a GUID", id)
	}
	if str(created.GetDisplayName()) != "Adele Vance" || str(created.GetUserPrincipalName()) != "AdeleV@contoso.onmicrosoft.com" {
		t.Errorf("created: %q %q", str(created.GetDisplayName()), str(created.GetUserPrincipalName()))
	}
	if created.GetPasswordProfile() != nil {
		t.Errorf("the password profile came back in the response")
	}

	got, err := c.Users().ByUserId(id).Get(ctx, nil)
	noErr(t, "GET by id", err)
	if str(got.GetUserPrincipalName()) != "AdeleV@contoso.onmicrosoft.com" {
		t.Errorf("GET by id: upn %q", str(got.GetUserPrincipalName()))
	}

	// By userPrincipalName: the SDK escapes the '@' (NOTES.md); Graph compares UPNs case-insensitively.
	e.rec.reset()
	for _, upn := range []string{"AdeleV@contoso.onmicrosoft.com", "adelev@CONTOSO.onmicrosoft.com"} {
		got, err = c.Users().ByUserId(upn).Get(ctx, nil)
		noErr(t, "GET by UPN "+upn, err)
		if str(got.GetId()) != id {
			t.Errorf("GET by UPN %s: id %q, want %s", upn, str(got.GetId()), id)
		}
	}
	if reqs := e.rec.all(); len(reqs) == 0 || !strings.Contains(reqs[0].EscapedPath, "%40") {
		t.Errorf("the SDK did not send the UPN with %%40: %+v", reqs)
	}

	patch := models.NewUser()
	patch.SetJobTitle(ptr("Retail Manager"))
	patch.SetOfficeLocation(ptr("18/2111"))
	_, err = c.Users().ByUserId(id).Patch(ctx, patch, nil)
	noErr(t, "PATCH", err)
	got, err = c.Users().ByUserId(id).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "jobTitle", "officeLocation", "displayName"}},
	})
	noErr(t, "GET after PATCH", err)
	if str(got.GetJobTitle()) != "Retail Manager" || str(got.GetOfficeLocation()) != "18/2111" || str(got.GetDisplayName()) != "Adele Vance" {
		t.Errorf("after PATCH: %q %q %q", str(got.GetJobTitle()), str(got.GetOfficeLocation()), str(got.GetDisplayName()))
	}

	noErr(t, "DELETE", c.Users().ByUserId(id).Delete(ctx, nil))
	_, err = c.Users().ByUserId(id).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	wantODataError(t, c.Users().ByUserId(id).Delete(ctx, nil), http.StatusNotFound, "Request_ResourceNotFound", "")
}

// TestUsersGuestUPN reads a guest by its #EXT# userPrincipalName, which needs '#' escaped too.
func TestUsersGuestUPN(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const upn = "gail.brennan_fabrikam.com#EXT#@contoso.onmicrosoft.com"
	e.addUser(guestID, "Gail Brennan", map[string]any{"userPrincipalName": upn, "userType": "Guest"})
	u, err := e.client(e.app("User.Read.All")).Users().ByUserId(upn).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "userType", "userPrincipalName"}},
	})
	noErr(t, "GET guest by UPN", err)
	if str(u.GetId()) != guestID || str(u.GetUserType()) != "Guest" || str(u.GetUserPrincipalName()) != upn {
		t.Errorf("guest: %s %s %s", str(u.GetId()), str(u.GetUserType()), str(u.GetUserPrincipalName()))
	}
}

// userID returns a stable GUID for test user n.
func userID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// TestUsersPaging lists users with $select and $top through the SDK's page iterator: every user exactly once,
// over several pages, each nextLink absolute.
func TestUsersPaging(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 23
	for i := 1; i <= n; i++ {
		e.addUser(userID(i), fmt.Sprintf("Paged User %02d", i), map[string]any{"jobTitle": "Tester"})
	}
	c := e.client(e.app("User.Read.All"))
	e.rec.reset()
	first, err := c.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}, Top: ptr(int32(5))},
	})
	noErr(t, "GET /users?$select&$top=5", err)
	if len(first.GetValue()) != 5 {
		t.Errorf("first page: %d users, want 5", len(first.GetValue()))
	}
	next := str(first.GetOdataNextLink())
	if !strings.HasPrefix(next, e.srv.URL+"/v1.0/users?") || !strings.Contains(next, "skiptoken") {
		t.Errorf("nextLink %q is not an absolute URL of this server with a $skiptoken", next)
	}

	it, err := msgraphcore.NewPageIterator[models.Userable](first, c.GetAdapter(), models.CreateUserCollectionResponseFromDiscriminatorValue)
	noErr(t, "NewPageIterator", err)
	seen := map[string]int{}
	err = it.Iterate(ctx, func(u models.Userable) bool {
		seen[str(u.GetId())]++
		if u.GetDisplayName() == nil || u.GetJobTitle() != nil {
			t.Errorf("user %s: displayName %s jobTitle %s, want only the selected properties", str(u.GetId()), str(u.GetDisplayName()), str(u.GetJobTitle()))
		}
		return true
	})
	noErr(t, "Iterate", err)
	if len(seen) != n {
		t.Errorf("iterated %d distinct users, want %d", len(seen), n)
	}
	for i := 1; i <= n; i++ {
		if seen[userID(i)] != 1 {
			t.Errorf("user %d seen %d times", i, seen[userID(i)])
		}
	}
	pages := 0
	for _, r := range e.rec.all() {
		if r.Method == http.MethodGet && r.EscapedPath == "/v1.0/users" {
			pages++
		}
	}
	if pages != 5 { // 5+5+5+5+3
		t.Errorf("%d page requests, want 5", pages)
	}
}

// TestUsersPageSizes: Graph's default page is 100 and $top goes up to 999 (NOTES.md).
func TestUsersPageSizes(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 101; i++ {
		e.addUser(userID(i), fmt.Sprintf("User %03d", i), nil)
	}
	tok := e.app("User.Read.All")
	body := e.get("/v1.0/users?$select=id", tok).want(t, http.StatusOK).object(t)
	if vals, _ := body["value"].([]any); len(vals) != 100 {
		t.Errorf("default page: %d users, want 100", len(vals))
	}
	next, _ := body["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, e.srv.URL+"/v1.0/users?") {
		t.Fatalf("default page: nextLink %q", next)
	}
	rest := e.get(strings.TrimPrefix(next, e.srv.URL), tok).want(t, http.StatusOK).object(t)
	if vals, _ := rest["value"].([]any); len(vals) != 1 || rest["@odata.nextLink"] != nil {
		t.Errorf("second page: %v", pretty(rest))
	}
	all := e.get("/v1.0/users?$top=999&$select=id", tok).want(t, http.StatusOK).object(t)
	if vals, _ := all["value"].([]any); len(vals) != 101 || all["@odata.nextLink"] != nil {
		t.Errorf("$top=999: %d users, nextLink %v", len(vals), all["@odata.nextLink"])
	}
	e.get("/v1.0/users?$top=1000", tok).wantError(t, http.StatusBadRequest, "Request_BadRequest", "")
}

// TestGroupsCRUD creates, reads, lists, updates and deletes a group through the SDK.
func TestGroupsCRUD(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.client(e.app("Group.ReadWrite.All"))

	g := models.NewGroup()
	g.SetDisplayName(ptr("Library Assist"))
	g.SetDescription(ptr("Self help community for library"))
	g.SetMailEnabled(ptr(false))
	g.SetMailNickname(ptr("library"))
	g.SetSecurityEnabled(ptr(true))
	g.SetGroupTypes([]string{})
	created, err := c.Groups().Post(ctx, g, nil)
	noErr(t, "POST /groups", err)
	id := str(created.GetId())
	if !guidRE.MatchString(id) || str(created.GetDisplayName()) != "Library Assist" {
		t.Fatalf("created group %q %q", id, str(created.GetDisplayName()))
	}

	got, err := c.Groups().ByGroupId(id).Get(ctx, nil)
	noErr(t, "GET group", err)
	if str(got.GetMailNickname()) != "library" || got.GetSecurityEnabled() == nil || !*got.GetSecurityEnabled() {
		t.Errorf("group: %q %v", str(got.GetMailNickname()), got.GetSecurityEnabled())
	}

	patch := models.NewGroup()
	patch.SetDescription(ptr("Updated"))
	_, err = c.Groups().ByGroupId(id).Patch(ctx, patch, nil)
	noErr(t, "PATCH group", err)

	list, err := c.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Select: []string{"id", "description"}},
	})
	noErr(t, "GET /groups", err)
	if vals := list.GetValue(); len(vals) != 1 || str(vals[0].GetDescription()) != "Updated" {
		t.Errorf("groups list after PATCH: %d groups", len(vals))
	}

	noErr(t, "DELETE group", c.Groups().ByGroupId(id).Delete(ctx, nil))
	_, err = c.Groups().ByGroupId(id).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
}

const (
	contactA = "c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b"
	contactB = "c1b2c3d4-e5f6-4a70-9b8c-0d1e2f3a4b5c"
)

// TestContacts reads imported org contacts through the SDK, and a contact's direct reports.
func TestContacts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addContact(contactA, "Wanda Kowalski", "Fabrikam Consulting")
	e.addContact(contactB, "Arjun Mehta", "Northwind Traders")
	e.addUser(userID(1), "Xavier Ortiz", nil)
	e.setManager(userID(1), contactA)
	c := e.client(e.app("OrgContact.Read.All"))

	list, err := c.Contacts().Get(ctx, nil)
	noErr(t, "GET /contacts", err)
	if vals := list.GetValue(); len(vals) != 2 {
		t.Errorf("%d contacts, want 2", len(vals))
	}
	got, err := c.Contacts().ByOrgContactId(contactA).Get(ctx, nil)
	noErr(t, "GET /contacts/{id}", err)
	if str(got.GetDisplayName()) != "Wanda Kowalski" || str(got.GetCompanyName()) != "Fabrikam Consulting" {
		t.Errorf("contact: %q %q", str(got.GetDisplayName()), str(got.GetCompanyName()))
	}
	sel, err := c.Contacts().Get(ctx, &contacts.ContactsRequestBuilderGetRequestConfiguration{
		QueryParameters: &contacts.ContactsRequestBuilderGetQueryParameters{Select: []string{"id", "mail"}, Top: ptr(int32(1))},
	})
	noErr(t, "GET /contacts?$select&$top=1", err)
	if vals := sel.GetValue(); len(vals) != 1 || vals[0].GetMail() == nil || vals[0].GetDisplayName() != nil || sel.GetOdataNextLink() == nil {
		t.Errorf("contacts $select=id,mail&$top=1: %d values, nextLink %s", len(vals), str(sel.GetOdataNextLink()))
	}

	// A contact's direct reports, read with Directory.Read.All so the users come in full.
	reports, err := e.client(e.app("Directory.Read.All")).Contacts().ByOrgContactId(contactA).DirectReports().Get(ctx, nil)
	noErr(t, "GET /contacts/{id}/directReports", err)
	if vals := reports.GetValue(); len(vals) != 1 || str(asUser(t, vals[0]).GetDisplayName()) != "Xavier Ortiz" {
		t.Errorf("contact's direct reports: %d", len(vals))
	}
	// A user is not a contact.
	_, err = c.Contacts().ByOrgContactId(userID(1)).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
}

// TestDirectoryObjects reads each kind through /directoryObjects/{id} and getByIds, typed.
func TestDirectoryObjects(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const groupID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addUser(userID(1), "Object User", nil)
	e.addGroup(groupID, "Object Group")
	e.addContact(contactA, "Object Contact", "Fabrikam")
	c := e.client(e.app("Directory.Read.All"))

	o, err := c.DirectoryObjects().ByDirectoryObjectId(userID(1)).Get(ctx, nil)
	noErr(t, "GET directoryObjects/{user}", err)
	if str(asUser(t, o).GetDisplayName()) != "Object User" {
		t.Errorf("user via directoryObjects: %q", str(asUser(t, o).GetDisplayName()))
	}
	o, err = c.DirectoryObjects().ByDirectoryObjectId(groupID).Get(ctx, nil)
	noErr(t, "GET directoryObjects/{group}", err)
	if g, ok := o.(models.Groupable); !ok || str(g.GetDisplayName()) != "Object Group" {
		t.Errorf("group via directoryObjects: %T", o)
	}
	o, err = c.DirectoryObjects().ByDirectoryObjectId(contactA).Get(ctx, nil)
	noErr(t, "GET directoryObjects/{contact}", err)
	if oc, ok := o.(models.OrgContactable); !ok || str(oc.GetDisplayName()) != "Object Contact" {
		t.Errorf("contact via directoryObjects: %T", o)
	}
	_, err = c.DirectoryObjects().ByDirectoryObjectId(userID(99)).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")

	body := directoryobjects.NewGetByIdsPostRequestBody()
	body.SetIds([]string{contactA, userID(99), groupID, userID(1)})
	res, err := c.DirectoryObjects().GetByIds().PostAsGetByIdsPostResponse(ctx, body, nil)
	noErr(t, "getByIds", err)
	vals := res.GetValue()
	if len(vals) != 3 {
		t.Fatalf("getByIds: %d objects, want 3", len(vals))
	}
	if _, ok := vals[0].(models.OrgContactable); !ok {
		t.Errorf("getByIds[0]: %T, want an org contact", vals[0])
	}
	if _, ok := vals[1].(models.Groupable); !ok {
		t.Errorf("getByIds[1]: %T, want a group", vals[1])
	}
	asUser(t, vals[2])

	body.SetTypes([]string{"user"})
	res, err = c.DirectoryObjects().GetByIds().PostAsGetByIdsPostResponse(ctx, body, nil)
	noErr(t, "getByIds types=user", err)
	if vals := res.GetValue(); len(vals) != 1 || str(vals[0].GetId()) != userID(1) {
		t.Errorf("getByIds types=user: %d objects", len(vals))
	}
}

// TestUsersCount: /users/$count through the SDK with ConsistencyLevel: eventual; without it Graph's 400;
// $count=true in a list adds @odata.count only with the header, and is ignored without it.
func TestUsersCount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for i := 1; i <= 7; i++ {
		e.addUser(userID(i), fmt.Sprintf("Counted %d", i), nil)
	}
	e.addGroup("9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4", "Not a user")
	tok := e.app("User.Read.All")
	c := e.client(tok)

	n, err := c.Users().Count().Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	noErr(t, "GET /users/$count", err)
	if n == nil || *n != 7 {
		t.Errorf("/users/$count = %v, want 7", n)
	}
	_, err = c.Users().Count().Get(ctx, nil)
	wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")

	r := e.get("/v1.0/users/$count", tok, "ConsistencyLevel", "eventual").want(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || string(r.Body) != "7" {
		t.Errorf("/users/$count: Content-Type %q body %q, want text/plain and bare digits", ct, r.Body)
	}

	with := e.get("/v1.0/users?$count=true&$select=id", tok, "ConsistencyLevel", "eventual").want(t, http.StatusOK).object(t)
	if with["@odata.count"] != float64(7) {
		t.Errorf("$count=true with ConsistencyLevel: @odata.count %v", with["@odata.count"])
	}
	without := e.get("/v1.0/users?$count=true&$select=id", tok).want(t, http.StatusOK).object(t)
	if _, ok := without["@odata.count"]; ok {
		t.Errorf("$count=true without ConsistencyLevel: @odata.count %v, want it ignored", without["@odata.count"])
	}
	if vals, _ := without["value"].([]any); len(vals) != 7 {
		t.Errorf("$count=true without ConsistencyLevel: %d users", len(vals))
	}
}

// orgWithReports builds: manager M with three user reports (one of whom has a report of her own) and an
// org contact C who manages one user.
func orgWithReports(e *env) (manager string, reports []string) {
	manager = userID(100)
	e.addUser(manager, "Miriam Graham", nil)
	reports = []string{userID(101), userID(102), userID(103)}
	for i, id := range reports {
		e.addUser(id, fmt.Sprintf("Report %d", i+1), nil)
		e.setManager(id, manager)
	}
	e.addUser(userID(104), "Grand Report", nil)
	e.setManager(userID(104), reports[0])
	e.addContact(contactA, "Wanda Kowalski", "Fabrikam Consulting")
	e.addUser(userID(105), "Contact Report", nil)
	e.setManager(userID(105), contactA)
	return manager, reports
}

// TestDirectReports uses the SDK's typed directReports builders: the collection, $count, the type casts and
// their counts. Direct reports are not transitive.
func TestDirectReports(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m, reports := orgWithReports(e)
	c := e.client(e.app("User.Read.All"))
	dr := c.Users().ByUserId(m).DirectReports()

	res, err := dr.Get(ctx, nil)
	noErr(t, "GET directReports", err)
	var got []string
	for _, o := range res.GetValue() {
		got = append(got, str(asUser(t, o).GetId()))
	}
	if strings.Join(got, ",") != strings.Join(reports, ",") {
		t.Errorf("directReports %v, want %v (direct only, in id order)", got, reports)
	}

	n, err := dr.Count().Get(ctx, &users.ItemDirectReportsCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	noErr(t, "GET directReports/$count", err)
	if n == nil || *n != 3 {
		t.Errorf("directReports/$count = %v, want 3", n)
	}
	_, err = dr.Count().Get(ctx, nil)
	wantODataError(t, err, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")

	ur, err := dr.GraphUser().Get(ctx, nil)
	noErr(t, "GET directReports/graph.user", err)
	if len(ur.GetValue()) != 3 {
		t.Errorf("directReports/graph.user: %d users", len(ur.GetValue()))
	}
	n, err = dr.GraphUser().Count().Get(ctx, &users.ItemDirectReportsGraphUserCountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	noErr(t, "GET directReports/graph.user/$count", err)
	if n == nil || *n != 3 {
		t.Errorf("directReports/graph.user/$count = %v", n)
	}
	cr, err := dr.GraphOrgContact().Get(ctx, nil)
	noErr(t, "GET directReports/graph.orgContact", err)
	if len(cr.GetValue()) != 0 {
		t.Errorf("directReports/graph.orgContact: %d", len(cr.GetValue()))
	}

	// Paging through directReports with $top.
	page, err := dr.Get(ctx, &users.ItemDirectReportsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemDirectReportsRequestBuilderGetQueryParameters{Top: ptr(int32(2))},
	})
	noErr(t, "GET directReports?$top=2", err)
	it, err := msgraphcore.NewPageIterator[models.DirectoryObjectable](page, c.GetAdapter(), models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
	noErr(t, "NewPageIterator", err)
	count := 0
	noErr(t, "Iterate directReports", it.Iterate(ctx, func(models.DirectoryObjectable) bool { count++; return true }))
	if count != 3 {
		t.Errorf("paged directReports: %d, want 3", count)
	}

	// Hand-made URLs name the cast microsoft.graph.user (NOTES.md); $ref lists references.
	tok := e.app("User.Read.All")
	body := e.get("/v1.0/users/"+m+"/directReports/microsoft.graph.user", tok).want(t, http.StatusOK).object(t)
	if vals, _ := body["value"].([]any); len(vals) != 3 {
		t.Errorf("directReports/microsoft.graph.user: %d", len(vals))
	}
	refs := e.get("/v1.0/users/"+m+"/directReports/$ref", tok).want(t, http.StatusOK).object(t)
	if vals, _ := refs["value"].([]any); len(vals) != 3 {
		t.Errorf("directReports/$ref: %s", pretty(refs))
	} else if first, _ := vals[0].(map[string]any); !strings.HasSuffix(fmt.Sprint(first["@odata.id"]), "/"+reports[0]) {
		t.Errorf("directReports/$ref[0] = %v", first)
	}
}

// TestContactManager: a manager can be an org contact; the SDK hands it back as an OrgContactable.
func TestContactManager(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	orgWithReports(e)
	c := e.client(e.app("Directory.Read.All"))

	m, err := c.Users().ByUserId(userID(105)).Manager().Get(ctx, nil)
	noErr(t, "GET manager (a contact)", err)
	oc, ok := m.(models.OrgContactable)
	if !ok {
		t.Fatalf("manager is %T (@odata.type %s), want an OrgContactable", m, odataType(m))
	}
	if str(oc.GetId()) != contactA || str(oc.GetDisplayName()) != "Wanda Kowalski" || str(oc.GetCompanyName()) != "Fabrikam Consulting" {
		t.Errorf("contact manager: %s %q %q", str(oc.GetId()), str(oc.GetDisplayName()), str(oc.GetCompanyName()))
	}

	// Assigning a contact through the API, by its /contacts URL.
	wc := e.client(e.app("User.ReadWrite.All"))
	noErr(t, "PUT manager = contact", wc.Users().ByUserId(userID(101)).Manager().Ref().Put(ctx, refUpdate(graphV1+"/contacts/"+contactA), nil))
	m, err = c.Users().ByUserId(userID(101)).Manager().Get(ctx, nil)
	noErr(t, "GET manager after PUT", err)
	if _, ok := m.(models.OrgContactable); !ok {
		t.Errorf("manager after PUT is %T", m)
	}
	// A contact at the top of an expanded chain is typed too.
	u, err := c.Users().ByUserId(userID(105)).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		Headers:         eventual(),
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"manager($levels=max;$select=id,displayName)"}},
	})
	noErr(t, "$expand=manager($levels=max) ending at a contact", err)
	if oc, ok := u.GetManager().(models.OrgContactable); !ok || str(oc.GetDisplayName()) != "Wanda Kowalski" {
		t.Errorf("expanded contact manager: %T", u.GetManager())
	}
	// And the contact's own manager endpoint: a contact with no manager is a 404.
	_, err = c.Contacts().ByOrgContactId(contactA).Manager().Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", msgManagerNotFound)
}

// TestExpandOnUsers: $expand=manager on /users (one level, typed user or contact), $expand=directReports and
// $expand=sponsors on a single user.
func TestExpandOnUsers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m, reports := orgWithReports(e)
	const groupID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addGroup(groupID, "Partner Sponsors")
	e.addUser(guestID, "Guest", map[string]any{"userType": "Guest"})
	e.sponsor(guestID, m)
	e.sponsor(guestID, groupID)
	c := e.client(e.app("Directory.Read.All"))

	list, err := c.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Expand: []string{"manager"}},
	})
	noErr(t, "GET /users?$expand=manager", err)
	want := map[string]string{reports[0]: m, reports[1]: m, reports[2]: m, userID(104): reports[0], userID(105): contactA}
	for _, u := range list.GetValue() {
		id := str(u.GetId())
		mgr := u.GetManager()
		switch {
		case want[id] == "" && mgr != nil:
			t.Errorf("%s: unexpected manager %s", id, str(mgr.GetId()))
		case want[id] != "" && mgr == nil:
			t.Errorf("%s: no manager, want %s", id, want[id])
		case want[id] != "" && str(mgr.GetId()) != want[id]:
			t.Errorf("%s: manager %s, want %s", id, str(mgr.GetId()), want[id])
		case id == userID(105):
			if _, ok := mgr.(models.OrgContactable); !ok {
				t.Errorf("contact manager expanded as %T", mgr)
			}
		case mgr != nil:
			if mu := asUser(t, mgr); mu.GetManager() != nil {
				t.Errorf("%s: $expand=manager on /users nested a second level", id)
			}
		}
	}

	u, err := c.Users().ByUserId(m).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"directReports($select=id,displayName)"}},
	})
	noErr(t, "$expand=directReports", err)
	if dr := u.GetDirectReports(); len(dr) != 3 {
		t.Errorf("$expand=directReports: %d", len(dr))
	} else {
		asUser(t, dr[0])
	}

	u, err = c.Users().ByUserId(guestID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"sponsors"}},
	})
	noErr(t, "$expand=sponsors", err)
	if sp := u.GetSponsors(); len(sp) != 2 {
		t.Errorf("$expand=sponsors: %d", len(sp))
	} else {
		asUser(t, sp[0])
		if _, ok := sp[1].(models.Groupable); !ok {
			t.Errorf("sponsor 2 expanded as %T", sp[1])
		}
	}

	// $expand=sponsors on the list.
	all, err := c.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Expand: []string{"sponsors($select=id)"}},
	})
	noErr(t, "GET /users?$expand=sponsors", err)
	for _, u := range all.GetValue() {
		if str(u.GetId()) == guestID && len(u.GetSponsors()) != 2 {
			t.Errorf("guest in /users?$expand=sponsors: %d sponsors", len(u.GetSponsors()))
		}
	}
}

// TestExpandDirectReportsLimit: $expand=directReports returns at most 20 items (NOTES.md).
func TestExpandDirectReportsLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	m := userID(500)
	e.addUser(m, "Busy Manager", nil)
	for i := 1; i <= 25; i++ {
		e.addUser(userID(i), fmt.Sprintf("Report %02d", i), nil)
		e.setManager(userID(i), m)
	}
	c := e.client(e.app("User.Read.All"))
	u, err := c.Users().ByUserId(m).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Expand: []string{"directReports"}},
	})
	noErr(t, "$expand=directReports", err)
	if n := len(u.GetDirectReports()); n != 20 {
		t.Errorf("$expand=directReports: %d items, want 20", n)
	}
	res, err := c.Users().ByUserId(m).DirectReports().Get(ctx, nil)
	noErr(t, "GET directReports", err)
	if n := len(res.GetValue()); n != 25 {
		t.Errorf("GET directReports: %d, want all 25 on one default page", n)
	}
}

// TestMe: /me is the signed-in user; an application token cannot use it (Graph's 400).
func TestMe(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)
	me, err := e.client(e.delegated(contributorID, "User.Read.All")).Me().Get(ctx, nil)
	noErr(t, "GET /me", err)
	if str(me.GetId()) != contributorID {
		t.Errorf("/me is %s", str(me.GetId()))
	}
	m, err := e.client(e.delegated(contributorID, "User.Read.All")).Me().Manager().Get(ctx, nil)
	noErr(t, "GET /me/manager", err)
	if str(asUser(t, m).GetId()) != alexID {
		t.Errorf("/me/manager is %s", str(m.GetId()))
	}
	_, err = e.client(e.app("User.Read.All")).Me().Get(ctx, nil)
	wantODataError(t, err, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
}

// TestMeWithUserRead: User.Read is the least privileged permission of Get user for the signed-in user
// (Graph's user-get permission table: User.Read reaches the signed-in user's own object).
func TestMeWithUserRead(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)
	me, err := e.client(e.delegated(contributorID, "User.Read")).Me().Get(ctx, nil)
	noErr(t, "GET /me with User.Read", err)
	if str(me.GetId()) != contributorID {
		t.Errorf("/me is %s", str(me.GetId()))
	}
	// …and the signed-in user's own sponsors and manager (user-list-sponsors: User.Read).
	e.addUser(guestID, "Guest", map[string]any{"userType": "Guest"})
	e.sponsor(guestID, alexID)
	sp, err := e.client(e.delegated(guestID, "User.Read")).Me().Sponsors().Get(ctx, nil)
	noErr(t, "GET /me/sponsors with User.Read", err)
	if len(sp.GetValue()) != 1 {
		t.Errorf("/me/sponsors: %d", len(sp.GetValue()))
	}
	// User.Read reaches only the signed-in user.
	_, err = e.client(e.delegated(contributorID, "User.Read")).Users().ByUserId(alexID).Get(ctx, nil)
	wantODataError(t, err, http.StatusForbidden, "Authorization_RequestDenied", msgDenied)
}

// TestLimitedInformation: objects the caller may not read appear in directoryObject collections with
// @odata.type and id, every other property null (NOTES.md; List manager page).
func TestLimitedInformation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const groupID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addUser(guestID, "Guest", map[string]any{"userType": "Guest"})
	e.addGroup(groupID, "Partner Sponsors")
	e.sponsor(guestID, groupID)
	r := e.get("/v1.0/users/"+guestID+"/sponsors", e.app("User.Read.All")).want(t, http.StatusOK).object(t)
	vals, _ := r["value"].([]any)
	if len(vals) != 1 {
		t.Fatalf("sponsors: %s", pretty(r))
	}
	g := vals[0].(map[string]any)
	if g["@odata.type"] != "#microsoft.graph.group" || g["id"] != groupID {
		t.Errorf("limited group: %v", g)
	}
	if v, ok := g["displayName"]; !ok || v != nil {
		t.Errorf("limited group: displayName %v (present %v), want null", v, ok)
	}
	res, err := e.client(e.app("User.Read.All")).Users().ByUserId(guestID).Sponsors().Get(ctx, &users.ItemSponsorsRequestBuilderGetRequestConfiguration{
		Headers: abstractions.NewRequestHeaders(),
	})
	noErr(t, "GET sponsors", err)
	if gs, ok := res.GetValue()[0].(models.Groupable); !ok || gs.GetDisplayName() != nil {
		t.Errorf("SDK: limited group %T", res.GetValue()[0])
	}
}

// TestObjectIDsCaseInsensitive: object ids are GUIDs, whose text form is case-insensitive (RFC 4122 §3:
// "case insensitive on input"); Graph finds /users/{ID} written in upper case, in paths and in @odata.id.
func TestObjectIDsCaseInsensitive(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seedChain(e)
	c := e.client(e.app("Directory.ReadWrite.All"))
	u, err := c.Users().ByUserId(strings.ToUpper(alexID)).Get(ctx, nil)
	noErr(t, "GET /users/{upper-case id}", err)
	if str(u.GetId()) != alexID {
		t.Errorf("id %s, want %s", str(u.GetId()), alexID)
	}
	noErr(t, "PUT manager with an upper-case @odata.id",
		c.Users().ByUserId(contributorID).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+strings.ToUpper(pattiID)), nil))
	if got := managerOf(t, e, contributorID); got != pattiID {
		t.Errorf("manager %q, want %s", got, pattiID)
	}
}
