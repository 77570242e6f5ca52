package odata

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name           string
		raw            string
		optionalDollar bool
		want           *Query
		encoded        string // canonical form; empty means same as raw
	}{
		{name: "empty", raw: "", want: &Query{}},
		{
			name: "select",
			raw:  "$select=id,displayName",
			want: &Query{Select: []string{"id", "displayName"}},
		},
		{
			name:    "select trimmed",
			raw:     "$select=%20id%20,%20displayName ",
			want:    &Query{Select: []string{"id", "displayName"}},
			encoded: "$select=id,displayName",
		},
		{
			name: "select star and path",
			raw:  "$select=*,manager/id,microsoft.graph.user/displayName",
			want: &Query{Select: []string{"*", "manager/id", "microsoft.graph.user/displayName"}},
		},
		{
			name: "expand with levels and select",
			raw:  "$expand=manager($levels=max;$select=id,displayName)&$select=id,displayName",
			want: &Query{
				Select: []string{"id", "displayName"},
				Expand: []Expand{{Property: "manager", Levels: LevelsMax, HasLevels: true, Select: []string{"id", "displayName"}}},
			},
			encoded: "$select=id,displayName&$expand=manager($levels=max;$select=id,displayName)",
		},
		{
			name: "Go SDK encoding",
			raw:  "%24expand=manager%28%24levels%3Dmax%3B%24select%3Did%2CdisplayName%29&%24select=id%2CdisplayName",
			want: &Query{
				Select: []string{"id", "displayName"},
				Expand: []Expand{{Property: "manager", Levels: LevelsMax, HasLevels: true, Select: []string{"id", "displayName"}}},
			},
			encoded: "$select=id,displayName&$expand=manager($levels=max;$select=id,displayName)",
		},
		{
			name: "Go SDK encoding with literal dollars",
			raw:  "$expand=manager%28$levels%3Dmax%3B$select%3Did%2CdisplayName%29",
			want: &Query{
				Expand: []Expand{{Property: "manager", Levels: LevelsMax, HasLevels: true, Select: []string{"id", "displayName"}}},
			},
			encoded: "$expand=manager($levels=max;$select=id,displayName)",
		},
		{
			name: "commas inside parentheses do not split expand",
			raw:  "$expand=manager($select=id,displayName),sponsors",
			want: &Query{Expand: []Expand{
				{Property: "manager", Select: []string{"id", "displayName"}},
				{Property: "sponsors"},
			}},
		},
		{
			name: "levels zero is given",
			raw:  "$expand=directReports($levels=0)",
			want: &Query{Expand: []Expand{{Property: "directReports", HasLevels: true}}},
		},
		{
			name:    "levels number",
			raw:     "$expand=directReports($LEVELS=1001)",
			want:    &Query{Expand: []Expand{{Property: "directReports", Levels: 1001, HasLevels: true}}},
			encoded: "$expand=directReports($levels=1001)",
		},
		{
			name: "expand type cast, all nested options, nested expand",
			raw: "$expand=directReports/microsoft.graph.user($select=id;$filter=displayName eq 'a;b)';" +
				"$orderby=displayName desc;$top=5;$count=true;$expand=manager($select=id),sponsors)",
			want: &Query{Expand: []Expand{{
				Property: "directReports/microsoft.graph.user",
				Select:   []string{"id"},
				Filter:   eq(prop("displayName"), str("a;b)")),
				OrderBy:  []OrderBy{{Property: "displayName", Desc: true}},
				Top:      5,
				HasTop:   true,
				Count:    true,
				HasCount: true,
				Expand:   []Expand{{Property: "manager", Select: []string{"id"}}, {Property: "sponsors"}},
			}}},
			encoded: "$expand=directReports/microsoft.graph.user($select=id;$filter=displayName%20eq%20'a;b)';" +
				"$orderby=displayName%20desc;$top=5;$count=true;$expand=manager($select=id),sponsors)",
		},
		{
			name:    "spaces inside expand options",
			raw:     "$expand= manager ( $select = id , displayName ; $top = 1 ) , sponsors",
			want:    &Query{Expand: []Expand{{Property: "manager", Select: []string{"id", "displayName"}, Top: 1, HasTop: true}, {Property: "sponsors"}}},
			encoded: "$expand=manager($select=id,displayName;$top=1),sponsors",
		},
		{
			name:    "filter",
			raw:     "$filter=startswith(displayName,'a%20b')",
			want:    &Query{Filter: call("startswith", prop("displayName"), str("a b"))},
			encoded: "$filter=startswith(displayName,'a%20b')",
		},
		{
			name:    "plus is a space",
			raw:     "$filter=displayName+eq+'a+b'",
			want:    &Query{Filter: eq(prop("displayName"), str("a b"))},
			encoded: "$filter=displayName%20eq%20'a%20b'",
		},
		{
			name:    "encoded ampersand and plus stay in the literal",
			raw:     "$filter=mail eq 'a%26b%2Bc%25'",
			want:    &Query{Filter: eq(prop("mail"), str("a&b+c%"))},
			encoded: "$filter=mail%20eq%20'a%26b%2Bc%25'",
		},
		{
			name:    "orderby",
			raw:     "$orderby=displayName desc, id asc,mail",
			want:    &Query{OrderBy: []OrderBy{{"displayName", true}, {"id", false}, {"mail", false}}},
			encoded: "$orderby=displayName%20desc,id,mail",
		},
		{
			name:    "top skip count skiptoken format",
			raw:     "$top=10&$skip=0&$count=false&$skiptoken=X%27a%26b%2B&$format=json",
			want:    &Query{Top: 10, HasTop: true, HasSkip: true, HasCount: true, SkipToken: "X'a&b+", Format: "json"},
			encoded: "$top=10&$skip=0&$skiptoken=X'a%26b%2B&$count=false&$format=json",
		},
		{
			name:    "top zero and leading zeros",
			raw:     "$top=007",
			want:    &Query{Top: 7, HasTop: true},
			encoded: "$top=7",
		},
		{
			name:    "count case-insensitive",
			raw:     "$count=TRUE",
			want:    &Query{Count: true, HasCount: true},
			encoded: "$count=true",
		},
		{
			name: "search",
			raw:  `$search="displayName:hello" AND "mail:x" OR "description:y"`,
			want: &Query{Search: &SearchBinary{Op: "OR",
				Left:  &SearchBinary{Op: "AND", Left: &SearchTerm{"displayName", "hello"}, Right: &SearchTerm{"mail", "x"}},
				Right: &SearchTerm{"description", "y"},
			}},
			encoded: "$search=%22displayName:hello%22%20AND%20%22mail:x%22%20OR%20%22description:y%22",
		},
		{
			name:    "option names are case-insensitive",
			raw:     "$SELECT=id&$Top=1&$ORDERBY=id&$SkipToken=abc",
			want:    &Query{Select: []string{"id"}, Top: 1, HasTop: true, OrderBy: []OrderBy{{Property: "id"}}, SkipToken: "abc"},
			encoded: "$select=id&$orderby=id&$top=1&$skiptoken=abc",
		},
		{
			name:    "other parameters are ignored",
			raw:     "@id=https%3A%2F%2Fgraph.microsoft.com%2Fv1.0%2Fusers%2F1&select=x&foo&&$top=1&bad=%zz",
			want:    &Query{Top: 1, HasTop: true},
			encoded: "$top=1",
		},
		{
			name:           "optional dollar",
			raw:            "select=id&expand=manager(select=id;levels=max)&filter=id eq '1'&top=1&skip=2&skiptoken=t&count=true&search=\"mail:a\"&orderby=id&format=json&@id=x&other=1",
			optionalDollar: true,
			want: &Query{
				Select:    []string{"id"},
				Expand:    []Expand{{Property: "manager", Select: []string{"id"}, Levels: LevelsMax, HasLevels: true}},
				Filter:    eq(prop("id"), str("1")),
				OrderBy:   []OrderBy{{Property: "id"}},
				Top:       1,
				HasTop:    true,
				Skip:      2,
				HasSkip:   true,
				SkipToken: "t",
				Count:     true,
				HasCount:  true,
				Search:    &SearchTerm{"mail", "a"},
				Format:    "json",
			},

			encoded: "$select=id&$expand=manager($levels=max;$select=id)&$filter=id%20eq%20'1'&$orderby=id&$top=1&$skip=2&$skiptoken=t&$count=true&$search=%22mail:a%22&$format=json",
		},
		{
			name:           "optional dollar mixed with dollar",
			raw:            "SELECT=id&$top=1",
			optionalDollar: true,
			want:           &Query{Select: []string{"id"}, Top: 1, HasTop: true},
			encoded:        "$select=id&$top=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.raw, tt.optionalDollar)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.raw, err)
			}
			if !reflect.DeepEqual(q, tt.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tt.raw, q, tt.want)
			}
			wantEnc := tt.encoded
			if wantEnc == "" {
				wantEnc = tt.raw
			}
			if got := q.Encode(); got != wantEnc {
				t.Errorf("Encode() = %q, want %q", got, wantEnc)
			}
			checkQueryRoundTrip(t, q)
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "$filter=" + strings.Repeat("a eq 1 or ", MaxOptionLength/10+1) + "a eq 1"
	deep := "$expand=" + strings.Repeat("a($expand=", MaxDepth+1) + "b" + strings.Repeat(")", MaxDepth+1)
	tests := []struct {
		raw            string
		optionalDollar bool
		option         string
		message        string
	}{
		{raw: "$select=id&$select=mail", option: "$select", message: "Query option '$select' was specified more than once."},
		{raw: "$select=id&$SELECT=mail", option: "$select", message: "Query option '$select' was specified more than once."},
		{raw: "$select=id&%24select=mail", option: "$select", message: "Query option '$select' was specified more than once."},
		{raw: "select=id&$select=mail", optionalDollar: true, option: "$select", message: "Query option '$select' was specified more than once."},
		{raw: "$top=abc", option: "$top", message: "Invalid $top value 'abc'."},
		{raw: "$top=-1", option: "$top", message: "Invalid $top value '-1'."},
		{raw: "$top=%2B1", option: "$top", message: "Invalid $top value '+1'."},
		{raw: "$top=1.5", option: "$top", message: "Invalid $top value '1.5'."},
		{raw: "$top=99999999999999999999", option: "$top", message: "Invalid $top value '99999999999999999999'."},
		{raw: "$skip=x", option: "$skip", message: "Invalid $skip value 'x'."},
		{raw: "$count=yes", option: "$count", message: "Invalid $count value 'yes'."},
		{raw: "$top=", option: "$top", message: "Query option '$top' has an empty value."},
		{raw: "$select", option: "$select", message: "Query option '$select' has an empty value."},
		{raw: "$levels=1", option: "$levels", message: "Query option '$levels' is not supported."},
		{raw: "$Foo=1", option: "$Foo", message: "Query option '$Foo' is not supported."},
		{raw: "%zz=1", option: "%zz", message: "Invalid percent-encoding in query parameter name '%zz'."},
		{raw: "$filter=a eq '%zz'", option: "$filter", message: "Invalid percent-encoding in query option '$filter'."},
		{raw: "$filter=a eq '%FF'", option: "$filter", message: "Query option '$filter' is not valid UTF-8."},
		{raw: long, option: "$filter", message: "Query option '$filter' is longer than 4096 bytes."},
		{raw: "$select=id,,mail", option: "$select", message: "Syntax error: empty item in '$select' at position 3 in 'id,,mail'."},
		{raw: "$select=id,", option: "$select", message: "Syntax error: empty item in '$select' at position 3 in 'id,'."},
		{raw: "$select=,id", option: "$select", message: "Syntax error: empty item in '$select' at position 0 in ',id'."},
		{raw: "$select=id)", option: "$select", message: "Syntax error: character ')' is not valid at position 2 in 'id)'."},
		{raw: "$select=a b", option: "$select", message: "Syntax error: character 'b' is not valid at position 2 in 'a b'."},
		{raw: "$select=manager/", option: "$select", message: "Syntax error: unexpected end of input at position 8 in 'manager/'."},
		{raw: "$orderby=id up", option: "$orderby", message: "Syntax error: character 'u' is not valid at position 3 in 'id up'."},
		{raw: "$orderby=id desc desc", option: "$orderby", message: "Syntax error: character 'd' is not valid at position 8 in 'id desc desc'."},
		{raw: "$orderby=,", option: "$orderby", message: "Syntax error: empty item in '$orderby' at position 0 in ','."},
		{raw: "$expand=manager(", option: "$expand", message: "Syntax error: unexpected end of input at position 8 in 'manager('."},
		{raw: "$expand=manager()", option: "$expand", message: "Syntax error: character ')' is not valid at position 8 in 'manager()'."},
		{raw: "$expand=manager($select=id", option: "$expand", message: "Syntax error: unexpected end of input at position 18 in 'manager($select=id'."},
		{raw: "$expand=manager($select=id))", option: "$expand", message: "Syntax error: character ')' is not valid at position 19 in 'manager($select=id))'."},
		{raw: "$expand=manager)", option: "$expand", message: "Syntax error: character ')' is not valid at position 7 in 'manager)'."},
		{raw: "$expand=manager,,sponsors", option: "$expand", message: "Syntax error: empty item in '$expand' at position 8 in 'manager,,sponsors'."},
		{raw: "$expand=manager($select=)", option: "$expand", message: "Syntax error: empty item in '$select' at position 16 in 'manager($select=)'."},
		{raw: "$expand=manager($select=id;$select=mail)", option: "$expand", message: "Query option '$select' was specified more than once at position 19 in 'manager($select=id;$select=mail)'."},
		{raw: "$expand=manager($skip=1)", option: "$expand", message: "Query option '$skip' is not supported inside $expand at position 8 in 'manager($skip=1)'."},
		{raw: "$expand=manager(select=id)", option: "$expand", message: "Query option 'select' is not supported inside $expand at position 8 in 'manager(select=id)'."},
		{raw: "$expand=manager($levels=abc)", option: "$expand", message: "Invalid $levels value 'abc'."},
		{raw: "$expand=manager($levels=-1)", option: "$expand", message: "Invalid $levels value '-1'."},
		{raw: "$expand=manager($levels=1.5)", option: "$expand", message: "Invalid $levels value '1.5'."},
		{raw: "$expand=manager($top=x)", option: "$expand", message: "Invalid $top value 'x'."},
		{raw: "$expand=manager($count=1)", option: "$expand", message: "Invalid $count value '1'."},
		{raw: "$expand=manager($select)", option: "$expand", message: "Syntax error: character ')' is not valid at position 15 in 'manager($select)'."},
		{raw: "$expand=manager($filter=a eq 'x)", option: "$expand", message: "Syntax error: unterminated string literal at position 21 in 'manager($filter=a eq 'x)'."},
		{raw: "$expand=manager($filter=a eq)", option: "$expand", message: "Syntax error: character ')' is not valid at position 20 in 'manager($filter=a eq)'."},
		{raw: "$expand=manager($filter=a eq 1 b)", option: "$expand", message: "Syntax error: unknown operator 'b' at position 23 in 'manager($filter=a eq 1 b)'."},
		{raw: deep, option: "$expand", message: "Syntax error: nesting deeper than 32 levels at position 321 in '" + deep[len("$expand="):] + "'."},
		{raw: "$filter=displayName eq 'x')", option: "$filter", message: "Syntax error: character ')' is not valid at position 18 in 'displayName eq 'x')'."},
		{raw: `$search="mail:a" "mail:b"`, option: "$search", message: `Syntax error: character '"' is not valid at position 9 in '"mail:a" "mail:b"'.`},
	}
	for _, tt := range tests {
		t.Run(tt.raw[:min(len(tt.raw), 60)], func(t *testing.T) {
			q, err := Parse(tt.raw, tt.optionalDollar)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tt.raw, q)
			}
			e := asError(t, err)
			if e.Option != tt.option || e.Message != tt.message {
				t.Errorf("Parse(%q) error\n got %q: %q\nwant %q: %q", tt.raw, e.Option, e.Message, tt.option, tt.message)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	atLimit := "$select=" + strings.Repeat("a", MaxOptionLength)
	if _, err := Parse(atLimit, false); err != nil {
		t.Errorf("value of exactly MaxOptionLength bytes: %v", err)
	}
	nested := "$expand=" + strings.Repeat("a($expand=", MaxDepth) + "b" + strings.Repeat(")", MaxDepth)
	q, err := Parse(nested, false)
	if err != nil {
		t.Fatalf("expand nested %d deep: %v", MaxDepth, err)
	}
	checkQueryRoundTrip(t, q)
	// Depth is counted across nested options and the filters inside them.
	mixed := "$expand=a($expand=b($filter=" + strings.Repeat("(", MaxDepth-1) + "x eq 1" + strings.Repeat(")", MaxDepth-1) + "))"
	if _, err := Parse(mixed, false); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("filter nested inside expand beyond MaxDepth: err = %v", err)
	}
}

func TestEncodeEscapes(t *testing.T) {
	q := &Query{SkipToken: "a b&c+d%e#f\"g<h>\\é", Format: "application/json;odata.metadata=none"}
	want := "$skiptoken=a%20b%26c%2Bd%25e%23f%22g%3Ch%3E%5C%C3%A9&$format=application/json;odata.metadata=none"
	if got := q.Encode(); got != want {
		t.Errorf("Encode() = %q, want %q", got, want)
	}
	checkQueryRoundTrip(t, q)
}
