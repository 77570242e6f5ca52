package auth

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

const goodConfig = `{
  "issuers": [
    {
      "issuer": "https://sso.example.com/realms/corp",
      "audiences": ["orgraph"],
      "tenant": "8f1c2e4a-0b3d-4c5e-9f60-718293a4b5c6",
      "claims": {"upn": "preferred_username", "scp": "scope", "roles": "realm_access.roles", "appid": "azp"}
    },
    {
      "issuer": "http://127.0.0.1:9000/",
      "jwksUri": "http://[::1]:9000/keys",
      "algorithms": ["ES384", "EdDSA"],
      "claims": {"tid": "org.tenant", "oid": "sub"},
      "roles": ["User.Read.All"]
    }
  ]
}`

func TestParseTrustedIssuers(t *testing.T) {
	got, err := ParseTrustedIssuers([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []TrustedIssuer{
		{
			Issuer: "https://sso.example.com/realms/corp", Audiences: []string{"orgraph"},
			Algorithms: []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256},
			Tenant:     "8f1c2e4a-0b3d-4c5e-9f60-718293a4b5c6",
			Claims:     ClaimMapping{UPN: "preferred_username", Scopes: "scope", Roles: "realm_access.roles", AppID: "azp"},
		},
		{
			Issuer: "http://127.0.0.1:9000/", JWKSURI: "http://[::1]:9000/keys", Audiences: acceptedAudiences,
			Algorithms: []jose.SignatureAlgorithm{jose.ES384, jose.EdDSA},
			Claims:     ClaimMapping{TenantID: "org.tenant", ObjectID: "sub"}, Roles: []string{"User.Read.All"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The defaults are copies: filling one entry in must not change the package's lists.
	got[1].Audiences[0] = "changed"
	if acceptedAudiences[0] != Audience {
		t.Fatal("an entry's default audiences share the package's slice")
	}
}

func TestParseTrustedIssuersRejects(t *testing.T) {
	// entry is a valid entry with one field replaced (or removed, for a nil value).
	entry := func(field string, value any) string {
		e := map[string]any{
			"issuer": "https://sso.example.com", "tenant": "t1",
			"claims": map[string]any{"upn": "preferred_username"},
		}
		if value == nil {
			delete(e, field)
		} else {
			e[field] = value
		}
		b, err := json.Marshal(map[string]any{"issuers": []any{e}})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, config, where, says string
	}{
		{"not JSON", `issuers:`, "", "invalid character"},
		{"unknown field", `{"issuers":[],"extra":1}`, "", `unknown field "extra"`},
		{"unknown entry field", entry("tenantClaim", "tid"), "", `unknown field "tenantClaim"`},
		{"unknown claim", entry("claims", map[string]any{"upn": "u", "name": "n"}), "", `unknown field "name"`},
		{"two documents", goodConfig + `{}`, "", "after the JSON object"},
		{"no issuers", `{}`, "issuers", "no issuers"},
		{"empty list", `{"issuers":[]}`, "issuers", "no issuers"},
		{"no issuer", entry("issuer", nil), "issuers[0].issuer", "missing"},
		{"http issuer", entry("issuer", "http://sso.example.com"), "issuers[0].issuer", "want https"},
		{"relative issuer", entry("issuer", "sso.example.com"), "issuers[0].issuer", "not an absolute URL"},
		{"issuer with a query", entry("issuer", "https://sso.example.com/?realm=x"), "issuers[0].issuer", "query"},
		{"issuer with credentials", entry("issuer", "https://u:p@sso.example.com"), "issuers[0].issuer", "credentials"},
		{"http jwksUri", entry("jwksUri", "http://sso.example.com/keys"), "issuers[0].jwksUri", "want https"},
		{"empty audiences", entry("audiences", []string{}), "issuers[0].audiences", "leave it out"},
		{"empty audience", entry("audiences", []string{"a", ""}), "issuers[0].audiences[1]", "empty"},
		{"empty algorithms", entry("algorithms", []string{}), "issuers[0].algorithms", "leave it out"},
		{"HS256", entry("algorithms", []string{"RS256", "HS256"}), "issuers[0].algorithms[1]", "not an asymmetric"},
		{"none", entry("algorithms", []string{"none"}), "issuers[0].algorithms[0]", "not an asymmetric"},
		{"no tenant", entry("tenant", nil), "issuers[0].tenant", "missing"},
		{"tenant and tid claim", entry("claims", map[string]any{"upn": "u", "tid": "tid"}), "issuers[0].tenant", "not both"},
		{"no user claim", entry("claims", map[string]any{"scp": "scope"}), "issuers[0].claims", "neither oid nor upn"},
		{"empty path part", entry("claims", map[string]any{"upn": "u", "roles": "realm_access..roles"}), "issuers[0].claims.roles", "empty part"},
		{"trailing dot", entry("claims", map[string]any{"oid": "sub."}), "issuers[0].claims.oid", "empty part"},
		{"scopes and roles", `{"issuers":[{"issuer":"https://a.example","tenant":"t","claims":{"oid":"sub"},"scopes":["User.Read"],"roles":["User.Read.All"]}]}`, "issuers[0].roles", "not both"},
		{"unknown permission", entry("scopes", []string{"User.Read", "user.read.all"}), "issuers[0].scopes[1]", "not a Graph permission"},
		{"duplicate issuer", `{"issuers":[` + strings.Repeat(`{"issuer":"https://a.example","tenant":"t","claims":{"oid":"sub"}},`, 2) + `{"issuer":"https://b.example","tenant":"t","claims":{"oid":"sub"}}]}`, "issuers[1].issuer", "also issuers[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrustedIssuers([]byte(tt.config))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%v, want *ConfigError", err)
			}
			if ce.Where != tt.where || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("%v (where %q), want where %q saying %q", err, ce.Where, tt.where, tt.says)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://sso.example.com":       true,
		"https://sso.example.com:8443/": true,
		"http://127.0.0.1:8080":         true,
		"http://127.8.9.10":             true,
		"http://[::1]:9000/x":           true,
		"http://localhost:1234":         true,
		"http://LOCALHOST":              true,
		"http://sso.example.com":        false,
		"http://localhost.example.com":  false,
		"http://127.0.0.1.nip.io":       false,
		"http://[::ffff:10.0.0.1]":      false,
		"ftp://sso.example.com":         false,
		"https:opaque":                  false,
		"//sso.example.com":             false,
		"https://":                      false,
		"":                              false,
	} {
		if err := checkURL(raw); (err == nil) != ok {
			t.Errorf("checkURL(%q) = %v, want ok %v", raw, err, ok)
		}
	}
}

// FuzzParseTrustedIssuers: the file is parsed strictly and then checked beyond what JSON decoding does (URLs,
// claim paths, permission names). Whatever it accepts must satisfy the checks' promises, and read back the same
// when written out again (so the defaults filled in are themselves valid and stable).
func FuzzParseTrustedIssuers(f *testing.F) {
	for _, s := range []string{
		goodConfig, `{}`, `{"issuers":null}`, `{"issuers":[{}]}`, `[]`, `null`,
		`{"issuers":[{"issuer":"https://a","tenant":"t","claims":{"oid":"."}}]}`,
		`{"issuers":[{"issuer":"http://[::1]:0","claims":{"tid":"a.b","upn":"u"},"algorithms":["EdDSA"],"audiences":["x"]}]}`,
		`{"issuers":[{"issuer":"https://a","tenant":"t","claims":{"oid":"o"},"scopes":["User.Read"],"roles":[]}]}`,
		`{"issuers":[{"issuer":"https://%zz","tenant":"t","claims":{"oid":"o"}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseTrustedIssuers(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		if len(list) == 0 {
			t.Fatal("accepted a file without issuers")
		}
		for _, e := range list {
			switch {
			case checkURL(e.Issuer) != nil, e.JWKSURI != "" && checkURL(e.JWKSURI) != nil:
				t.Fatalf("accepted URL: %+v", e)
			case (e.Tenant == "") == (e.Claims.TenantID == ""):
				t.Fatalf("accepted tenant and tid claim both or neither: %+v", e)
			case e.Claims.ObjectID == "" && e.Claims.UPN == "":
				t.Fatalf("accepted no way to identify the user: %+v", e)
			case len(e.Audiences) == 0 || len(e.Algorithms) == 0:
				t.Fatalf("defaults not filled in: %+v", e)
			case len(e.Scopes) > 0 && len(e.Roles) > 0:
				t.Fatalf("accepted scopes and roles: %+v", e)
			}
			for _, a := range e.Algorithms {
				if keyFamily[a] == "" {
					t.Fatalf("accepted algorithm %q", a)
				}
			}
			for _, p := range slices.Concat(e.Scopes, e.Roles) {
				if !graphPermissions[p] {
					t.Fatalf("accepted permission %q", p)
				}
			}
		}
		out, err := json.Marshal(map[string]any{"issuers": list})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseTrustedIssuers(out)
		if err != nil {
			t.Fatalf("written out, %s does not read again: %v", out, err)
		}
		if out2, _ := json.Marshal(map[string]any{"issuers": again}); string(out2) != string(out) {
			t.Fatalf("written out and read again: %s, want %s", out2, out)
		}
	})
}
