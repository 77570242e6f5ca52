package store

import (
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store/sqlquery"
)

func TestBulkEncoder(t *testing.T) {
	var enc BulkEncoder
	for _, o := range []*directory.Object{
		{ID: "u1", Kind: directory.KindUser, ManagerID: "m1", Props: map[string]any{
			"displayName": "Ada Lovelace", "userPrincipalName": "Ada@Example.com", "businessPhones": []any{"+1 555"},
		}},
		{ID: "g1", Kind: directory.KindGroup, Props: map[string]any{"displayName": "R&D", "description": "The lab", "userPrincipalName": "not@a.user"}},
		{ID: "c1", Kind: directory.KindOrgContact, Props: map[string]any{}},
		{ID: "u2", Kind: directory.KindUser},
	} {
		b, err := enc.Encode(o)
		if err != nil {
			t.Fatal(err)
		}
		props, _ := AppendProps(nil, o.Props)
		upn := ""
		if o.Kind == directory.KindUser {
			upn = directory.UPNKey(o.String("userPrincipalName"))
		}
		got := [...]string{b.ID(), b.ManagerID(), string(b.Kind()), b.Props(), b.SearchTokens(), b.UPNKey(), b.DisplayName(), b.Unstorable()}
		want := [...]string{o.ID, o.ManagerID, string(o.Kind), string(props), sqlquery.SearchTokens(o), upn, o.String("displayName"), ""}
		if got != want {
			t.Errorf("Encode(%+v) = %q\nwant %q", o, got, want)
		}
	}
}

func TestBulkEncoderUnstorable(t *testing.T) {
	for _, c := range []struct {
		props map[string]any
		want  string
	}{
		{map[string]any{"b": "ok", "a": []any{"ok", true, nil, 1.5}}, ""},
		{map[string]any{"b": "a\x00b", "c": "\xff"}, "b"},
		{map[string]any{"z": "fine", "c": "\xff", "d": "a\x00"}, "c"},
		{map[string]any{"addresses": []any{map[string]any{"street": "a\x00b"}}, "z": "\x00"}, "addresses"},
		{map[string]any{"addresses": []any{map[string]any{"str\x00eet": "a"}}}, "addresses"},
		{map[string]any{"x\xffy": "a", "a": "b"}, "x\xffy"},
		{map[string]any{"line\u2028separator": "<tag>&"}, ""},
	} {
		var enc BulkEncoder
		b, err := enc.Encode(&directory.Object{ID: "o", Kind: directory.KindOrgContact, Props: c.props})
		if err != nil {
			t.Fatal(err)
		}
		if b.Unstorable() != c.want {
			t.Errorf("Unstorable(%q) = %q, want %q", c.props, b.Unstorable(), c.want)
		}
	}
}
