package identity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/orgraph/orgraph/internal/store"
)

const adminKey = "admin-key-for-tests"

func adminServer(t testing.TB, st store.Store, key string) (*httptest.Server, *Admin) {
	a := NewAdmin(st, key)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv, a
}

func adminDo(t testing.TB, client *http.Client, method, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func TestAdminAPI(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir(), "normal")
	srv, a := adminServer(t, st, adminKey)
	var mu sync.Mutex
	var deleted []string
	a.OnDelete = func(id string) { mu.Lock(); deleted = append(deleted, id); mu.Unlock() }
	c := srv.Client()

	// Without the key, or with a wrong one: 401 with a challenge, in Graph's error shape.
	for _, key := range []string{"", "wrong", adminKey + "x", strings.ToUpper(adminKey)} {
		status, h, body := adminDo(t, c, http.MethodGet, srv.URL+"/admin/tenants", key, "")
		if status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" || !strings.Contains(string(body), `"InvalidAuthenticationToken"`) {
			t.Errorf("key %q: %d %q %s", key, status, h.Get("WWW-Authenticate"), body)
		}
	}
	// Basic with the key as password is not the admin scheme.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/tenants", nil)
	req.SetBasicAuth("admin", adminKey)
	if res, err := c.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("basic auth: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	status, h, body := adminDo(t, c, http.MethodPost, srv.URL+"/admin/tenants", adminKey, `{"name":"Contoso"}`)
	if status != http.StatusCreated || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("POST /admin/tenants: %d %s", status, body)
	}
	var cr Credentials
	if err := json.Unmarshal(body, &cr); err != nil || cr.TenantID == "" || cr.ClientID == "" || cr.ClientSecret == "" {
		t.Fatalf("credentials %s: %v", body, err)
	}
	var raw map[string]any
	json.Unmarshal(body, &raw)
	if len(raw) != 3 || raw["tenantId"] == nil || raw["clientId"] == nil || raw["clientSecret"] == nil {
		t.Errorf("the answer has fields %v, want tenantId, clientId, clientSecret", raw)
	}
	// An empty body makes a tenant with the default name; a bad one is a 400.
	if status, _, body = adminDo(t, c, http.MethodPost, srv.URL+"/admin/tenants", adminKey, ""); status != http.StatusCreated {
		t.Errorf("POST with no body: %d %s", status, body)
	}
	for _, bad := range []string{"{", `["x"]`, `{"name":5}`} {
		if status, _, body = adminDo(t, c, http.MethodPost, srv.URL+"/admin/tenants", adminKey, bad); status != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s", bad, status, body)
		}
	}
	if status, _, _ = adminDo(t, c, http.MethodPost, srv.URL+"/admin/tenants", adminKey, `{"name":"`+strings.Repeat("x", 70<<10)+`"}`); status != http.StatusBadRequest {
		t.Errorf("POST of 70 KiB: %d", status)
	}

	status, _, body = adminDo(t, c, http.MethodGet, srv.URL+"/admin/tenants", adminKey, "")
	var list struct {
		Value []struct {
			ID, Name        string
			CreatedDateTime string `json:"createdDateTime"`
		}
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET /admin/tenants: %d %s", status, body)
	}
	names := map[string]string{}
	for _, v := range list.Value {
		names[v.ID] = v.Name
		if !strings.HasSuffix(v.CreatedDateTime, "Z") {
			t.Errorf("createdDateTime %q", v.CreatedDateTime)
		}
	}
	if names[cr.TenantID] != "Contoso" || len(list.Value) != 3 { // the default tenant, Contoso, "tenant"
		t.Errorf("tenants: %+v", list.Value)
	}

	if status, _, body = adminDo(t, c, http.MethodDelete, srv.URL+"/admin/tenants/"+cr.TenantID, adminKey, ""); status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", status, body)
	}
	if _, err := st.Tenant(ctx, cr.TenantID); !errors.Is(err, store.ErrTenantNotFound) {
		t.Errorf("tenant after DELETE: %v", err)
	}
	if _, err := st.App(ctx, cr.TenantID, cr.ClientID); !errors.Is(err, store.ErrAppNotFound) {
		t.Errorf("app after DELETE: %v", err)
	}
	mu.Lock()
	if len(deleted) != 1 || deleted[0] != cr.TenantID {
		t.Errorf("OnDelete saw %v", deleted)
	}
	mu.Unlock()
	if status, _, _ = adminDo(t, c, http.MethodDelete, srv.URL+"/admin/tenants/"+cr.TenantID, adminKey, ""); status != http.StatusNotFound {
		t.Errorf("second DELETE: %d", status)
	}
	for _, p := range []string{"/admin/", "/admin/apps", "/admin/tenants/x/y"} {
		if status, _, _ = adminDo(t, c, http.MethodGet, srv.URL+p, adminKey, ""); status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, status)
		}
	}
	if status, _, _ = adminDo(t, c, http.MethodPut, srv.URL+"/admin/tenants", adminKey, "{}"); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("PUT /admin/tenants: %d", status)
	}
}

// TestAdminDisabled: without a key the admin API does not exist, whatever the caller sends.
func TestAdminDisabled(t *testing.T) {
	st := openStore(t, t.TempDir(), "normal")
	srv, _ := adminServer(t, st, "")
	for _, key := range []string{"", "anything"} {
		if status, _, _ := adminDo(t, srv.Client(), http.MethodPost, srv.URL+"/admin/tenants", key, `{"name":"x"}`); status != http.StatusNotFound {
			t.Errorf("disabled admin API, key %q: %d", key, status)
		}
	}
	ts, _ := st.Tenants(context.Background())
	if len(ts) != 1 {
		t.Errorf("the disabled admin API made tenants: %d", len(ts))
	}
}
