package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// fuzzAdminKey is the admin key of FuzzEndpoints' admin API.
const fuzzAdminKey = "fuzz-admin-key"

// FuzzEndpoints sends arbitrary requests to the token endpoint, the discovery documents, UserRealm and the
// tenant admin API, with a form or JSON body and optional Basic credentials. No request may panic or get a
// 5xx on a healthy store, and every JSON answer must be valid JSON.
func FuzzEndpoints(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if _, err := store.Bootstrap(ctx, st); err != nil {
		f.Fatal(err)
	}
	c, err := CreateTenant(ctx, st, "Fuzz")
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", NewAdmin(st, fuzzAdminKey))
	mux.Handle("/", New(Options{Store: st}))

	token := "/" + c.TenantID + "/oauth2/v2.0/token"
	credentials := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default openid profile offline_access"}, "claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`}}
	for _, seed := range []struct {
		post       bool
		path, body string
		user, pass string
	}{
		{true, token, credentials.Encode(), "", ""},
		{true, token, "grant_type=client_credentials&scope=00000003-0000-0000-c000-000000000000%2F.default", c.ClientID, c.ClientSecret},
		{true, token, "grant_type=password&client_id=" + c.ClientID + "&username=a%40b&password=x&scope=User.Read", "", ""},
		{true, token, "grant_type=refresh_token&refresh_token=x&client_id=" + c.ClientID, "", ""},
		{true, "/" + strings.ToUpper(c.TenantID) + "/oauth2/token", "%zz", "", ""},
		{false, "/" + c.TenantID + "/v2.0/.well-known/openid-configuration", "", "", ""},
		{false, "/organizations/discovery/v2.0/keys", "", "", ""},
		{false, "/common/UserRealm/ada%40contoso.com", "api-version=1.0", "", ""},
		{true, "/admin/tenants", `{"name":"t"}`, "", fuzzAdminKey},
		{false, "/admin/tenants", "", "", fuzzAdminKey},
		{false, "/admin/tenants/" + c.TenantID, "", "", fuzzAdminKey},
		{true, "/admin/tenants", `{"name":1}`, "", "wrong"},
	} {
		f.Add(seed.post, seed.path, []byte(seed.body), seed.user, seed.pass)
	}
	f.Fuzz(func(t *testing.T, post bool, path string, body []byte, user, pass string) {
		u, err := url.ParseRequestURI("/" + strings.TrimPrefix(path, "/"))
		if err != nil {
			return // net/http refuses such a request line before any handler runs
		}
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "http://login.test/", strings.NewReader(string(body)))
		req.URL = u
		switch {
		case strings.HasPrefix(u.Path, "/admin/"):
			// The admin API takes its key as a bearer token; pass stands in for it.
			req.Header.Set("Authorization", "Bearer "+pass)
			req.Header.Set("Content-Type", "application/json")
		default:
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: %d with invalid JSON: %s", method, path, body, rec.Code, rec.Body)
		}
	})
}
