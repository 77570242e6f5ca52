package e2e

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWireBodies: gzip bodies are accepted (the Go SDK gzips every body); an empty or malformed body is
// Graph's 400 Request_BadRequest; an encoding other than gzip is a 415, after which the SDK resends plain.
func TestWireBodies(t *testing.T) {
	e := newEnv(t)
	e.addUser(assignUserID, "Assigned User", nil)
	e.addUser(assignManagerID, "New Manager", nil)
	tok := e.app("User.ReadWrite.All")
	path := "/v1.0/users/" + assignUserID + "/manager/$ref"

	r := e.do(http.MethodPut, path, tok, gzipped(t, seedAssignRequest), "Content-Type", "application/json", "Content-Encoding", "gzip")
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Errorf("gzip PUT: %d %s", r.Status, r.Body)
	}
	if got := managerOf(t, e, assignUserID); got != assignManagerID {
		t.Errorf("after gzip PUT: manager %q", got)
	}

	for name, tc := range map[string]struct {
		body   []byte
		header []string
		status int
	}{
		"empty":             {[]byte{}, nil, http.StatusBadRequest},
		"whitespace":        {[]byte("  \n"), nil, http.StatusBadRequest},
		"broken JSON":       {[]byte(`{"@odata.id": "https://graph.microsoft.com/v1.0/users/` + assignManagerID), nil, http.StatusBadRequest},
		"two objects":       {[]byte(`{"@odata.id":"x"}{"@odata.id":"y"}`), nil, http.StatusBadRequest},
		"array":             {[]byte(`["https://graph.microsoft.com/v1.0/users/` + assignManagerID + `"]`), nil, http.StatusBadRequest},
		"no @odata.id":      {[]byte(`{}`), nil, http.StatusBadRequest},
		"number @odata.id":  {[]byte(`{"@odata.id": 42}`), nil, http.StatusBadRequest},
		"gzip header, junk": {[]byte("not gzip"), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
		"gzip empty":        {gzipped(t, ""), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
		"gzip broken JSON":  {gzipped(t, "{"), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
		"deflate":           {[]byte(seedAssignRequest), []string{"Content-Encoding", "deflate"}, http.StatusUnsupportedMediaType},
	} {
		t.Run(name, func(t *testing.T) {
			h := append([]string{"Content-Type", "application/json"}, tc.header...)
			r := e.do(http.MethodPut, path, tok, tc.body, h...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			checkErrorBody(t, r, "Request_BadRequest", "")
		})
	}
	// Bodies are capped at 4 MiB after decoding, so a small gzip cannot expand past the cap.
	big := `{"@odata.id":"` + graphV1 + `/users/` + assignManagerID + `","pad":"` + strings.Repeat("a", 5<<20) + `"}`
	if r := e.do(http.MethodPut, path, tok, gzipped(t, big), "Content-Type", "application/json", "Content-Encoding", "gzip"); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MiB gzip-compressed body: status %d, want 413", r.Status)
	}
	if r := e.do(http.MethodPut, path, tok, []byte(big), "Content-Type", "application/json"); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MiB body: status %d, want 413", r.Status)
	}
	// POST /users with a broken body, and POST sponsors/$ref with an empty one.
	e.do(http.MethodPost, "/v1.0/users", tok, []byte(`{"displayName":`), "Content-Type", "application/json").
		wantError(t, http.StatusBadRequest, "Request_BadRequest", "")
	e.do(http.MethodPost, "/v1.0/users/"+assignUserID+"/sponsors/$ref", tok, nil, "Content-Type", "application/json").
		wantError(t, http.StatusBadRequest, "Request_BadRequest", "")
	if got := managerOf(t, e, assignUserID); got != assignManagerID {
		t.Errorf("a refused body changed the manager: %q", got)
	}
}

// TestWireHeaders: every JSON response has Content-Type application/json…, request-id and client-request-id
// (echoing the client's), and error bodies have Graph's shape.
func TestWireHeaders(t *testing.T) {
	e := newEnv(t)
	seedChain(e)
	tok := e.app("Directory.ReadWrite.All")
	const clientID = "4f7e2c1a-9b8d-4e6f-a5c3-2d1b0e9f8a7c"
	requests := []struct {
		method, path string
		body         string
		status       int
	}{
		{"GET", "/v1.0/users", "", 200},
		{"GET", "/v1.0/users/" + contributorID, "", 200},
		{"GET", "/v1.0/users/" + contributorID + "/manager", "", 200},
		{"GET", "/v1.0/users/" + contributorID + "/manager/$ref", "", 200},
		{"GET", "/v1.0/users/" + alexID + "/directReports", "", 200},
		{"GET", "/v1.0/users/" + contributorID + "/sponsors", "", 200},
		{"GET", "/beta/users/" + contributorID + "?$expand=manager", "", 200},
		{"POST", "/v1.0/directoryObjects/getByIds", `{"ids":["` + alexID + `"]}`, 200},
		{"POST", "/v1.0/users", `{"accountEnabled":true,"displayName":"N","mailNickname":"n","userPrincipalName":"n{i}@contoso.onmicrosoft.com","passwordProfile":{"password":"p@ss-W0rd!"}}`, 201},
		{"GET", "/v1.0/users/" + pattiID + "/manager", "", 404},
		{"GET", "/v1.0/users/" + userID(9) + "", "", 404},
		{"GET", "/v1.0/users?$levels=1", "", 400},
		{"GET", "/v1.0/users/" + contributorID + "/nothing", "", 400},
		{"POST", "/v1.0/users/" + contributorID + "/manager/$ref", `{}`, 405},
		{"GET", "/v1.0/users/$count", "", 400},
	}
	for _, rq := range requests {
		for i, withClientID := range []bool{false, true} {
			var body []byte
			if rq.body != "" {
				body = []byte(strings.ReplaceAll(rq.body, "{i}", string(rune('0'+i))))
			}
			h := []string{"Content-Type", "application/json"}
			if withClientID {
				h = append(h, "client-request-id", clientID)
			}
			r := e.do(rq.method, rq.path, tok, body, h...)
			where := rq.method + " " + rq.path
			if r.Status != rq.status {
				t.Errorf("%s: status %d, want %d: %s", where, r.Status, rq.status, r.Body)
				continue
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s: Content-Type %q", where, ct)
			}
			if !guidRE.MatchString(r.Header.Get("request-id")) {
				t.Errorf("%s: request-id %q", where, r.Header.Get("request-id"))
			}
			crid := r.Header.Get("client-request-id")
			if withClientID && crid != clientID {
				t.Errorf("%s: client-request-id %q, want the client's %s", where, crid, clientID)
			}
			if !withClientID && crid == "" {
				t.Errorf("%s: no client-request-id header", where)
			}
			if r.Status >= 400 {
				checkErrorBody(t, r, errorCodeFor(r.Status), "")
				continue
			}
			obj := r.object(t)
			if c, _ := obj["@odata.context"].(string); !strings.HasPrefix(c, e.srv.URL+"/") || !strings.Contains(c, "$metadata#") {
				t.Errorf("%s: @odata.context %q", where, c)
			}
		}
	}
}

func errorCodeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Request_ResourceNotFound"
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken"
	case http.StatusForbidden:
		return "Authorization_RequestDenied"
	}
	return "Request_BadRequest"
}

// TestWireODataAnnotations: @odata.context as Graph writes it, and @odata.type on every directory object.
func TestWireODataAnnotations(t *testing.T) {
	e := newEnv(t)
	seedChain(e)
	e.addContact(contactA, "A Contact", "Fabrikam")
	const groupID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.addGroup(groupID, "A Group")
	tok := e.app("Directory.Read.All")
	base := e.srv.URL + "/v1.0/$metadata#"
	for path, want := range map[string]string{
		"/v1.0/users/" + alexID:                          base + "users/$entity",
		"/v1.0/users":                                    base + "users",
		"/v1.0/users/" + alexID + "/manager":             base + "directoryObjects/$entity",
		"/v1.0/groups/" + groupID:                        base + "groups/$entity",
		"/v1.0/contacts":                                 base + "contacts",
		"/v1.0/directoryObjects/" + contactA:             base + "directoryObjects/$entity",
		"/v1.0/users/" + alexID + "?$select=displayName": base + "users(displayName)/$entity",
	} {
		obj := e.get(path, tok).want(t, http.StatusOK).object(t)
		if obj["@odata.context"] != want {
			t.Errorf("%s: @odata.context %v, want %s", path, obj["@odata.context"], want)
		}
	}
	for path, typ := range map[string]string{
		"/v1.0/users/" + alexID:              "#microsoft.graph.user",
		"/v1.0/groups/" + groupID:            "#microsoft.graph.group",
		"/v1.0/contacts/" + contactA:         "#microsoft.graph.orgContact",
		"/v1.0/directoryObjects/" + contactA: "#microsoft.graph.orgContact",
		"/v1.0/directoryObjects/" + groupID:  "#microsoft.graph.group",
	} {
		if obj := e.get(path, tok).want(t, http.StatusOK).object(t); obj["@odata.type"] != typ {
			t.Errorf("%s: @odata.type %v, want %s", path, obj["@odata.type"], typ)
		}
	}
	list := e.get("/v1.0/users?$expand=manager($select=id)", tok).want(t, http.StatusOK).object(t)
	for _, v := range list["value"].([]any) {
		u := v.(map[string]any)
		if u["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("list item %v without @odata.type", u["id"])
		}
		if m, ok := u["manager"].(map[string]any); ok && m["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("expanded manager of %v without @odata.type", u["id"])
		}
	}
}
