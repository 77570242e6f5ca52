package odata

import (
	"reflect"
	"strings"
	"testing"
)

func parseSearch(s string) (Search, error) {
	q, err := Parse("$search="+escape(s), false)
	if err != nil {
		return nil, err
	}
	return q.Search, nil
}

func TestParseSearch(t *testing.T) {
	term := func(p, v string) *SearchTerm { return &SearchTerm{Property: p, Value: v} }
	and := func(l, r Search) Search { return &SearchBinary{Op: "AND", Left: l, Right: r} }
	or := func(l, r Search) Search { return &SearchBinary{Op: "OR", Left: l, Right: r} }
	tests := []struct {
		in        string
		want      Search
		canonical string // empty means same as in
	}{
		{in: `"displayName:hello"`, want: term("displayName", "hello")},
		{in: `"displayName:hello world"`, want: term("displayName", "hello world")},
		{in: `"mail:a:b"`, want: term("mail", "a:b")},
		{in: `"displayName:say \"hi\" \\o/"`, want: term("displayName", `say "hi" \o/`)},
		{in: `"displayName:a\b"`, want: term("displayName", `a\b`), canonical: `"displayName:a\\b"`},
		{in: `"displayName:hello" AND "mail:x" OR "description:y"`, want: or(and(term("displayName", "hello"), term("mail", "x")), term("description", "y"))},
		{in: `"a:1" OR "b:2" AND "c:3"`, want: or(term("a", "1"), and(term("b", "2"), term("c", "3")))},
		{in: `("a:1" OR "b:2") AND "c:3"`, want: and(or(term("a", "1"), term("b", "2")), term("c", "3"))},
		{in: `"a:1" and "b:2" or "c:3"`, want: or(and(term("a", "1"), term("b", "2")), term("c", "3")), canonical: `"a:1" AND "b:2" OR "c:3"`},
		{in: ` ( "a:1" )AND"b:2" `, want: and(term("a", "1"), term("b", "2")), canonical: `"a:1" AND "b:2"`},
		{in: `"a:1" OR ("b:2" OR "c:3")`, want: or(term("a", "1"), or(term("b", "2"), term("c", "3")))},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSearch(tt.in)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parse %q = %s, want %s", tt.in, got, tt.want)
			}
			want := tt.canonical
			if want == "" {
				want = tt.in
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
			checkQueryRoundTrip(t, &Query{Search: got})
		})
	}
}

func TestParseSearchErrors(t *testing.T) {
	tests := []struct{ in, message string }{
		{`hello`, `Syntax error: character 'h' is not valid at position 0 in 'hello'.`},
		{`"hello"`, `Syntax error: search term must have the form "property:value" at position 0 in '"hello"'.`},
		{`"displayName:"`, `Syntax error: search term must have the form "property:value" at position 0 in '"displayName:"'.`},
		{`":x"`, `Syntax error: search term must have the form "property:value" at position 0 in '":x"'.`},
		{`"display name:x"`, `Syntax error: search term must have the form "property:value" at position 0 in '"display name:x"'.`},
		{`"a:b`, `Syntax error: unterminated search term at position 0 in '"a:b'.`},
		{`"a:b\"`, `Syntax error: unterminated search term at position 0 in '"a:b\"'.`},
		{`"a:b" AND`, `Syntax error: unexpected end of input at position 9 in '"a:b" AND'.`},
		{`"a:b" NOT "c:d"`, `Syntax error: unknown operator 'NOT' at position 6 in '"a:b" NOT "c:d"'.`},
		{`"a:b" ANDOR "c:d"`, `Syntax error: unknown operator 'ANDOR' at position 6 in '"a:b" ANDOR "c:d"'.`},
		{`("a:b"`, `Syntax error: unexpected end of input at position 6 in '("a:b"'.`},
		{`("a:b" "c:d")`, `Syntax error: character '"' is not valid at position 7 in '("a:b" "c:d")'.`},
		{`"a:b")`, `Syntax error: character ')' is not valid at position 5 in '"a:b")'.`},
		{strings.Repeat("(", MaxDepth+1) + `"a:b"` + strings.Repeat(")", MaxDepth+1), "Syntax error: nesting deeper than 32 levels at position 32 in '" + strings.Repeat("(", MaxDepth+1) + `"a:b"` + strings.Repeat(")", MaxDepth+1) + "'."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSearch(tt.in)
			if err == nil {
				t.Fatalf("parse %q = %s, want an error", tt.in, got)
			}
			e := asError(t, err)
			if e.Option != "$search" || e.Message != tt.message {
				t.Errorf("parse %q error\n got %q: %q\nwant %q", tt.in, e.Option, e.Message, tt.message)
			}
		})
	}
}
