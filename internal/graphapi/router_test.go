package graphapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
)

func testRoutes() []route { return (&Server{}).routeTable() }

func TestResolve(t *testing.T) {
	routes := testRoutes()
	cases := []struct {
		method, path string
		wantKeys     []string
		wantCast     directory.Kind
		wantMe       bool
		wantStatus   int // 0: matched
	}{
		{"GET", "/v1.0/users", nil, "", false, 0},
		{"GET", "/beta/Users/abc", []string{"abc"}, "", false, 0},
		{"GET", "/v1.0/users/sara%40contoso.com/manager", []string{"sara@contoso.com"}, "", false, 0},
		{"PUT", "/v1.0/users/10f17b99-784c-4526-8747-aec8a3159d6a/manager/$ref", []string{"10f17b99-784c-4526-8747-aec8a3159d6a"}, "", false, 0},
		{"GET", "/v1.0/me", []string{"me"}, "", true, 0},
		{"GET", "/v1.0/me/manager", []string{"me"}, "", true, 0},
		{"GET", "/v1.0/users/u1/directReports/graph.user", []string{"u1"}, directory.KindUser, false, 0},
		{"GET", "/v1.0/users/u1/directReports/microsoft.graph.orgContact/$count", []string{"u1"}, directory.KindOrgContact, false, 0},
		{"DELETE", "/v1.0/users/u1/sponsors/s1/$ref", []string{"u1", "s1"}, "", false, 0},
		{"DELETE", "/v1.0/users/u1/sponsors/$ref", []string{"u1"}, "", false, 0},
		{"POST", "/v1.0/users/u1/manager/$ref", nil, "", false, http.StatusMethodNotAllowed},
		{"GET", "/v1.0/users/u1/nothing", nil, "", false, http.StatusBadRequest},
		{"GET", "/v2.0/users", nil, "", false, http.StatusBadRequest},
		{"GET", "/v1.0/users/u1/directReports/microsoft.graph.unknown", nil, "", false, http.StatusBadRequest},
		{"GET", "/v1.0/users/%zz", nil, "", false, http.StatusBadRequest},
	}
	for _, tc := range cases {
		rt, m, err := resolve(routes, tc.method, tc.path)
		if tc.wantStatus != 0 {
			var he *Error
			if !errors.As(err, &he) || he.Status != tc.wantStatus {
				t.Errorf("%s %s: got %v, want status %d", tc.method, tc.path, err, tc.wantStatus)
			}
			continue
		}
		if err != nil || rt == nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if strings.Join(m.keys, "|") != strings.Join(tc.wantKeys, "|") || m.cast != tc.wantCast || m.me != tc.wantMe {
			t.Errorf("%s %s: keys %q cast %q me %v", tc.method, tc.path, m.keys, m.cast, m.me)
		}
	}
}

func TestParseRef(t *testing.T) {
	ok := map[string]directory.Ref{
		"https://graph.microsoft.com/v1.0/users/6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0":              {Kind: directory.KindUser, ID: "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"},
		"https://graph.microsoft.com/beta/groups/g1":                                               {Kind: directory.KindGroup, ID: "g1"},
		"https://graph.microsoft.us/v1.0/contacts/c1":                                              {Kind: directory.KindOrgContact, ID: "c1"},
		"https://microsoftgraph.chinacloudapi.cn/v1.0/directoryObjects/x":                          {ID: "x"},
		"http://127.0.0.1:8080/v1.0/users/u1":                                                      {Kind: directory.KindUser, ID: "u1"},
		"https://graph.microsoft.com/v2/t1/directoryObjects/u2/Microsoft.DirectoryServices.User":   {Kind: directory.KindUser, ID: "u2"},
		"https://graph.microsoft.com/v1.0/directoryObjects/c2/Microsoft.DirectoryServices.Contact": {Kind: directory.KindOrgContact, ID: "c2"},
	}
	for raw, want := range ok {
		got, err := parseRef(raw, "127.0.0.1:8080")
		if err != nil || got != want {
			t.Errorf("parseRef(%q) = %v, %v; want %v", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"", "users/u1", "https://evil.example.com/v1.0/users/u1", "https://graph.microsoft.com/v1.0/users",
		"https://graph.microsoft.com/v1.0/devices/d1", "https://graph.microsoft.com/users/u1",
		"https://graph.microsoft.com/v1.0/users/u1/Microsoft.DirectoryServices.Group", "ftp://graph.microsoft.com/v1.0/users/u1",
		"https://graph.microsoft.com/v1.0/users/u1/manager/extra",
	} {
		if _, err := parseRef(raw, "127.0.0.1:8080"); err == nil {
			t.Errorf("parseRef(%q) accepted", raw)
		}
	}
}

// FuzzResolve: the router never panics, and what it matches has as many keys as its pattern has {id}s.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/v1.0/users", "/v1.0/me/manager", "/beta/users/a%40b/directReports/graph.user/$count", "/v1.0/users/x/sponsors/y/$ref", "//", "/v1.0/%"} {
		f.Add("GET", s)
	}
	routes := testRoutes()
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, m, err := resolve(routes, method, path)
		if err != nil {
			return
		}
		want := 0
		for _, p := range rt.pattern {
			if p == "{id}" {
				want++
			}
		}
		if len(m.keys) != want {
			t.Fatalf("%s %s: %d keys for %v", method, path, len(m.keys), rt.pattern)
		}
	})
}

// FuzzParseRef: an @odata.id never panics the parser, and an accepted one always names an id.
func FuzzParseRef(f *testing.F) {
	f.Add("https://graph.microsoft.com/v1.0/users/6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0")
	f.Add("https://graph.microsoft.com/v2/t/directoryObjects/x/Microsoft.DirectoryServices.User")
	f.Add("http://[::1]:80/beta/groups/%2F")
	f.Fuzz(func(t *testing.T, raw string) {
		ref, err := parseRef(raw, "localhost:8080")
		if err == nil && ref.ID == "" {
			t.Fatalf("%q: accepted without an id", raw)
		}
	})
}
