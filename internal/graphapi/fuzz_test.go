package graphapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
)

// Body encodings FuzzBody sends.
const (
	bodyPlain     = iota // as given
	bodyGzipped          // gzip of the input: the Go SDK's form
	bodyClaimGzip        // the input as it is, labelled gzip: a broken stream
	bodyModes
)

// FuzzBody feeds request bodies through what every write reads them with: decodeBody, then the schema check
// of the Service (directory.CheckProps). Neither may panic; a refused body is a 4xx; an accepted one is valid
// under the schema — names as the schema spells them, values of the property's type, strings every backend
// stores, no read-only property, the required ones present on create — and checking it again changes nothing.
func FuzzBody(f *testing.F) {
	for _, seed := range []string{
		`{"accountEnabled":true,"displayName":"Ada","mailNickname":"ada","userPrincipalName":"ada@contoso.com","passwordProfile":{"password":"x"}}`,
		`{"displayName":"Ops","mailEnabled":false,"mailNickname":"ops","securityEnabled":true,"groupTypes":["Unified"]}`,
		`{"JobTitle":null,"businessPhones":["+1 555"],"employeeHireDate":"2024-02-29T12:00:00.5+02:00","@odata.type":"#microsoft.graph.user"}`,
		`{"addresses":[{"city":"Oslo"}],"phones":[],"onPremisesSyncEnabled":true}`,
		`{"id":"x"}`, `{"createdDateTime":"2020-01-01T00:00:00Z"}`, `{"displayName":"a\u0000b"}`, "{\"city\":\"\xff\"}",
		`{"displayName":1e400}`, `{"a":1}{"b":2}`, `[]`, `null`, ``, ` `, `{"otherMails":[1]}`, `{"displayName":"x","displayName":"y"}`,
	} {
		for mode := range bodyModes {
			f.Add([]byte(seed), uint8(mode), uint8(0), true)
		}
		f.Add([]byte(seed), uint8(bodyPlain), uint8(1), false)
		f.Add([]byte(seed), uint8(bodyPlain), uint8(2), false)
	}
	s := New(Options{MaxBodyBytes: 64 << 10})
	f.Fuzz(func(t *testing.T, data []byte, mode, kindN uint8, creating bool) {
		kind := directory.Kinds[int(kindN)%len(directory.Kinds)]
		body := data
		req := httptest.NewRequest(http.MethodPost, "/v1.0/users", nil)
		switch mode % bodyModes {
		case bodyGzipped:
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			zw.Write(data)
			zw.Close()
			body = zb.Bytes()
			req.Header.Set("Content-Encoding", "gzip")
		case bodyClaimGzip:
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.Body = http.NoBody
		if len(body) > 0 {
			req.Body = readCloser{bytes.NewReader(body)}
		}
		var props map[string]any
		if err := s.decodeBody(req, &props); err != nil {
			if he := toHTTP(err); he.Status < 400 || he.Status >= 500 {
				t.Fatalf("decodeBody(%q): %v answered %d", data, err, he.Status)
			}
			return
		}
		out, err := directory.CheckProps(kind, props, creating, false)
		if err != nil {
			var de *directory.Error
			if !errors.As(err, &de) || toHTTP(err).Status != http.StatusBadRequest {
				t.Fatalf("CheckProps(%s, %q): %v is not a 400", kind, data, err)
			}
			return
		}
		checkSchemaValid(t, kind, out, creating)
		again, err := directory.CheckProps(kind, out, creating, false)
		if err != nil || !reflect.DeepEqual(again, out) {
			t.Fatalf("CheckProps of its own output %v: %v, %v", out, again, err)
		}
		if upn, ok := out["userPrincipalName"].(string); ok {
			directory.CheckUPN(upn) // must not panic, whatever it decides
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// checkSchemaValid fails t unless props is what the schema of kind allows a client to write.
func checkSchemaValid(t *testing.T, kind directory.Kind, props map[string]any, creating bool) {
	t.Helper()
	schema := directory.SchemaOf(kind)
	validText := func(v any) bool {
		s, ok := v.(string)
		return ok && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
	}
	for name, v := range props {
		p, ok := schema.Property(name)
		switch {
		case !ok || p.Name != name:
			t.Fatalf("%s: property %q is not spelt as the schema spells it", kind, name)
		case p.ReadOnly:
			t.Fatalf("%s: read-only property %q accepted from a client", kind, name)
		case v == nil:
			if creating && p.Required {
				t.Fatalf("%s: required %q is null on create", kind, name)
			}
			continue
		}
		ok = false
		switch p.Type {
		case directory.TypeString:
			ok = validText(v)
		case directory.TypeBool:
			_, ok = v.(bool)
		case directory.TypeDateTime:
			s, isString := v.(string)
			_, err := time.Parse(time.RFC3339, s)
			ok = isString && err == nil
		case directory.TypeStrings:
			list, isList := v.([]any)
			ok = isList
			for _, e := range list {
				ok = ok && validText(e)
			}
		case directory.TypeObjects:
			list, isList := v.([]any)
			ok = isList
			for _, e := range list {
				_, isObject := e.(map[string]any)
				ok = ok && isObject
			}
		case directory.TypeObject:
			_, ok = v.(map[string]any)
		}
		if !ok {
			t.Fatalf("%s: %q = %#v is not a value of its type", kind, name, v)
		}
	}
	if creating {
		for _, p := range schema.Properties {
			if p.Required && props[p.Name] == nil {
				t.Fatalf("%s: created without required %q", kind, p.Name)
			}
		}
	}
}

// fuzzMethods are the methods FuzzRequest picks from.
var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, "HEAD", "BREW"}

// FuzzRequest sends whole requests (method, path, query string, body, the ConsistencyLevel header) through
// ServeHTTP on the demo directory, with throttling and the in-flight cap on. Every answer must be the
// server's decision, never its failure: no 5xx (ServeHTTP turns a panic into a 500, so this catches panics
// too), an error answer in Graph's error shape, and JSON for every success with a body.
func FuzzRequest(f *testing.F) {
	mia, hector := demo.ID("mia.chen"), demo.ID("hector.ruiz")
	for _, seed := range []struct {
		method      uint8
		path, query string
		body        string
		eventual    bool
	}{
		{0, "/v1.0/users", "$select=id,displayName&$top=5&$orderby=displayName", "", false},
		{0, "/v1.0/users", "$filter=startsWith(displayName,'M') and accountEnabled eq true&$count=true", "", true},
		{0, "/v1.0/users", "$search=\"displayName:mia\"&$count=true", "", true},
		{0, "/v1.0/users/" + mia, "$expand=manager($levels=max;$select=id,displayName)", "", true},
		{0, "/beta/users/" + mia + "/manager/$ref", "", "", false},
		{0, "/v1.0/users/" + demo.ID("patti.fernandez") + "/directReports/microsoft.graph.user/$count", "", "", true},
		{0, "/v1.0/users/" + hector + "/sponsors", "$select=id&$expand=x", "", false},
		{0, "/v1.0/users", "$skiptoken=eyJ9&$top=2", "", false},
		{1, "/v1.0/users", "", `{"accountEnabled":true,"displayName":"F","mailNickname":"f","userPrincipalName":"f@x.y","passwordProfile":{"password":"p"}}`, false},
		{1, "/v1.0/users/" + hector + "/sponsors/$ref", "", `{"@odata.id":"https://graph.microsoft.com/v1.0/users/` + mia + `"}`, false},
		{1, "/v1.0/directoryObjects/getByIds", "", `{"ids":["` + mia + `"],"types":["user"]}`, false},
		{2, "/v1.0/users/" + mia, "", `{"jobTitle":null,"city":"Oslo"}`, false},
		{3, "/v1.0/users/" + mia + "/manager/$ref", "", `{"@odata.id":"https://graph.microsoft.com/v1.0/users/` + mia + `"}`, false},
		{4, "/v1.0/users/" + hector + "/sponsors/$ref", "@id=https://graph.microsoft.com/v1.0/users/" + mia, "", false},
		{4, "/v1.0/users/" + mia + "/manager/$ref", "", "", false},
		{0, "/v1.0/me", "", "", false},
		{6, "/v1.0/users/a%2Fb/manager", "%zz=1&$top=x", "{", false},
	} {
		f.Add(seed.method, seed.path, seed.query, []byte(seed.body), seed.eventual)
	}
	e := newLimitsEnv(f)
	if err := demo.Load(context.Background(), directory.NewService(e.st), e.tenant); err != nil {
		f.Fatal(err)
	}
	s := e.server(Options{MaxBodyBytes: 64 << 10, MaxInFlight: 4, Throttle: &Throttle{ResourceUnits: 1 << 30, AppTenantWrites: 1 << 30, TenantWrites: 1 << 30}})
	token := e.token("fuzz")
	f.Fuzz(func(t *testing.T, method uint8, path, query string, body []byte, eventual bool) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		// net/http parses the request line so, and refuses what does not parse before any handler runs.
		u, err := url.ParseRequestURI(path + "?" + query)
		if err != nil {
			return
		}
		req := httptest.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], "http://orgraph.test/", bytes.NewReader(body))
		req.URL = u
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		if eventual {
			req.Header.Set("ConsistencyLevel", "eventual")
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		b := rec.Body.Bytes()
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %s?%s: %d %s", req.Method, path, query, rec.Code, b)
		case rec.Code >= 400:
			var ge struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(b, &ge) != nil || ge.Error.Code == "" || ge.Error.Message == "" {
				t.Fatalf("%s %s?%s: %d with a body that is not Graph's error: %s", req.Method, path, query, rec.Code, b)
			}
		case len(b) > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(b):
			t.Fatalf("%s %s?%s: %d with invalid JSON: %s", req.Method, path, query, rec.Code, b)
		}
	})
}
