package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// TestTenantIsolation: a token of tenant A sees nothing of tenant B: not by id, not by userPrincipalName,
// not in lists, not as a manager or sponsor target, not through a paging token.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const tenantB = "b0b0b0b0-1111-4222-8333-444455556666"
	if err := e.st.CreateTenant(ctx, store.Tenant{ID: tenantB, Name: "B", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	importB := func(id string, kind directory.Kind, props map[string]any) {
		t.Helper()
		if err := e.svc.Import(ctx, tenantB, &directory.Object{ID: id, Kind: kind, Props: props}); err != nil {
			t.Fatalf("import into B: %v", err)
		}
	}
	// Tenant A.
	for i := 1; i <= 3; i++ {
		e.addUser(userID(i), "A User "+string(rune('0'+i)), nil)
	}
	e.addUser(guestID, "A Guest", map[string]any{"userType": "Guest"})
	// Tenant B: its own users, one with the same UPN as one of A's.
	const bUser, bBoss, bGroup = "bbbbbbbb-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "bbbbbbbb-0000-4000-8000-000000000003"
	importB(bUser, directory.KindUser, map[string]any{"displayName": "B User", "userPrincipalName": "b.user@fabrikam.onmicrosoft.com", "accountEnabled": true, "mailNickname": "buser"})
	importB(bBoss, directory.KindUser, map[string]any{"displayName": "B Boss", "userPrincipalName": "a.user.1@contoso.onmicrosoft.com", "accountEnabled": true, "mailNickname": "bboss"})
	importB(bGroup, directory.KindGroup, map[string]any{"displayName": "B Group", "mailNickname": "bgroup", "mailEnabled": false, "securityEnabled": true})
	if err := e.svc.SetManager(ctx, tenantB, bUser, directory.Ref{ID: bBoss}); err != nil {
		t.Fatal(err)
	}

	a := e.client(e.app("Directory.ReadWrite.All", "User.ReadWrite.All"))
	bTok := e.mint(auth.Claims{TenantID: tenantB, Roles: []string{"Directory.ReadWrite.All", "User.ReadWrite.All"}})
	b := e.client(bTok)

	// Reads by id, by UPN, of relationships.
	_, err := a.Users().ByUserId(bUser).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	_, err = a.Users().ByUserId("b.user@fabrikam.onmicrosoft.com").Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	_, err = a.Users().ByUserId(bUser).Manager().Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	_, err = a.DirectoryObjects().ByDirectoryObjectId(bGroup).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	_, err = a.Groups().ByGroupId(bGroup).Get(ctx, nil)
	wantODataError(t, err, http.StatusNotFound, "Request_ResourceNotFound", "")
	// The same UPN names a different user in each tenant.
	ua, err := a.Users().ByUserId("a.user.1@contoso.onmicrosoft.com").Get(ctx, nil)
	noErr(t, "A by shared UPN", err)
	ub, err := b.Users().ByUserId("a.user.1@contoso.onmicrosoft.com").Get(ctx, nil)
	noErr(t, "B by shared UPN", err)
	if str(ua.GetId()) != userID(1) || str(ub.GetId()) != bBoss {
		t.Errorf("shared UPN: A got %s, B got %s", str(ua.GetId()), str(ub.GetId()))
	}

	// Lists and counts.
	list, err := a.Users().Get(ctx, nil)
	noErr(t, "A lists users", err)
	for _, u := range list.GetValue() {
		if strings.HasPrefix(str(u.GetId()), "bbbbbbbb") {
			t.Errorf("A's list holds B's user %s", str(u.GetId()))
		}
	}
	if len(list.GetValue()) != 4 {
		t.Errorf("A lists %d users, want 4", len(list.GetValue()))
	}
	n, err := b.Users().Count().Get(ctx, &users.CountRequestBuilderGetRequestConfiguration{Headers: eventual()})
	noErr(t, "B counts", err)
	if n == nil || *n != 2 {
		t.Errorf("B counts %v users, want 2", n)
	}

	// Writes that name B's objects from A.
	err = a.Users().ByUserId(userID(1)).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+bBoss), nil)
	wantNotFoundOrBadRequest(t, err)
	err = a.Users().ByUserId(bUser).Manager().Ref().Put(ctx, refUpdate(graphV1+"/users/"+userID(2)), nil)
	wantNotFoundOrBadRequest(t, err)
	wantNotFoundOrBadRequest(t, a.Users().ByUserId(bUser).Manager().Ref().Delete(ctx, nil))
	wantNotFoundOrBadRequest(t, addSponsor(ctx, a, guestID, graphV1+"/users/"+bUser))
	wantNotFoundOrBadRequest(t, addSponsor(ctx, a, guestID, graphV1+"/groups/"+bGroup))
	wantNotFoundOrBadRequest(t, a.Users().ByUserId(bUser).Delete(ctx, nil))
	if got := managerOf(t, e, userID(1)); got != "" {
		t.Errorf("A's user got manager %s", got)
	}
	m, err := b.Users().ByUserId(bUser).Manager().Get(ctx, nil)
	noErr(t, "B's manager survives A's attempts", err)
	if str(m.GetId()) != bBoss {
		t.Errorf("B's manager is %s", str(m.GetId()))
	}

	// A paging token of tenant A is worthless in tenant B, even for the same query.
	page := e.get("/v1.0/users?$top=1&$select=id", e.app("User.Read.All")).want(t, http.StatusOK).object(t)
	next, _ := page["@odata.nextLink"].(string)
	if next == "" {
		t.Fatalf("no nextLink: %s", pretty(page))
	}
	r := e.get(strings.TrimPrefix(next, e.srv.URL), bTok)
	if r.Status == http.StatusOK {
		obj := r.object(t)
		for _, v := range obj["value"].([]any) {
			if id := v.(map[string]any)["id"]; !strings.HasPrefix(id.(string), "bbbbbbbb") {
				t.Errorf("tenant A's $skiptoken showed B %v", id)
			}
		}
	} else {
		r.wantError(t, http.StatusBadRequest, "Request_BadRequest", "")
	}
}

// wantNotFoundOrBadRequest asserts a refused write: Graph answers an @odata.id or path it cannot resolve
// with 404 or 400, depending on which side is unknown.
func wantNotFoundOrBadRequest(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("a cross-tenant write succeeded")
		return
	}
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Errorf("error %T %v is not an ODataError", err, err)
		return
	}
	if oe.ResponseStatusCode != http.StatusNotFound && oe.ResponseStatusCode != http.StatusBadRequest {
		t.Errorf("status %d (%s: %s), want 404 or 400", oe.ResponseStatusCode, odataCode(oe), odataMessage(oe))
	}
}

// TestDeletedTenantToken: a token of a tenant that no longer exists is refused (401, the server's own
// "The token's tenant does not exist."), for reads as for writes, rather than reading an empty directory.
// The node that deletes the tenant forgets it at once (ForgetTenant); others within the tenant cache's TTL.
func TestDeletedTenantToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const gone = "dddddddd-1111-4222-8333-444455556666"
	if err := e.st.CreateTenant(ctx, store.Tenant{ID: gone, Name: "Gone", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Import(ctx, gone, &directory.Object{ID: userID(1), Kind: directory.KindUser, Props: map[string]any{
		"displayName": "Ghost", "userPrincipalName": "ghost@contoso.onmicrosoft.com", "accountEnabled": true, "mailNickname": "ghost"}}); err != nil {
		t.Fatal(err)
	}
	tok := e.mint(auth.Claims{TenantID: gone, Roles: []string{"Directory.ReadWrite.All"}})
	e.get("/v1.0/users", tok).want(t, http.StatusOK)
	if err := e.st.DeleteTenant(ctx, gone); err != nil {
		t.Fatal(err)
	}
	e.api.ForgetTenant(gone)
	e.get("/v1.0/users", tok).wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
	e.get("/v1.0/users/"+userID(1), tok).wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
	e.do(http.MethodPost, "/v1.0/users", tok, []byte(`{"accountEnabled":true,"displayName":"N","mailNickname":"n",`+
		`"userPrincipalName":"n@contoso.onmicrosoft.com","passwordProfile":{"password":"p@ss-W0rd!"}}`), "Content-Type", "application/json").
		wantError(t, http.StatusUnauthorized, "InvalidAuthenticationToken", "")
}
