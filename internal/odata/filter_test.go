package odata

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in        string
		want      Expr
		canonical string // empty means same as in
	}{
		{in: "displayName eq 'x'", want: eq(prop("displayName"), str("x"))},
		{in: "displayName EQ 'x'", want: eq(prop("displayName"), str("x")), canonical: "displayName eq 'x'"},
		{in: "a ne 1", want: bin("ne", prop("a"), num("1"))},
		{in: "a gt 1", want: bin("gt", prop("a"), num("1"))},
		{in: "a ge -1", want: bin("ge", prop("a"), num("-1"))},
		{in: "a lt 1.5", want: bin("lt", prop("a"), &LiteralExpr{Kind: LiteralDecimal, Value: "1.5"})},
		{in: "a le -2.5e-3", want: bin("le", prop("a"), &LiteralExpr{Kind: LiteralDecimal, Value: "-2.5e-3"})},
		{in: "a eq 99999999999999999999", want: eq(prop("a"), &LiteralExpr{Kind: LiteralDecimal, Value: "99999999999999999999"})},
		{in: "a eq 007", want: eq(prop("a"), num("007"))},
		{in: "'it''s' eq a", want: eq(str("it's"), prop("a"))},
		{in: "a eq ''", want: eq(prop("a"), str(""))},
		{in: "a eq 'é ü 日本'", want: eq(prop("a"), str("é ü 日本"))},
		{in: "accountEnabled eq true", want: eq(prop("accountEnabled"), &LiteralExpr{Kind: LiteralBool, Value: "true"})},
		{in: "accountEnabled eq FALSE", want: eq(prop("accountEnabled"), &LiteralExpr{Kind: LiteralBool, Value: "false"}), canonical: "accountEnabled eq false"},
		{in: "manager eq null", want: eq(prop("manager"), &LiteralExpr{Kind: LiteralNull})},
		{in: "manager ne Null", want: bin("ne", prop("manager"), &LiteralExpr{Kind: LiteralNull}), canonical: "manager ne null"},
		{in: "id eq 0ac7e1d4-1234-4abc-9DEF-0123456789ab", want: eq(prop("id"), &LiteralExpr{Kind: LiteralGUID, Value: "0ac7e1d4-1234-4abc-9DEF-0123456789ab"})},
		{in: "id eq deadbeef-1234-4abc-9def-0123456789ab", want: eq(prop("id"), &LiteralExpr{Kind: LiteralGUID, Value: "deadbeef-1234-4abc-9def-0123456789ab"})},
		{in: "createdDateTime ge 2021-01-01T00:00:00Z", want: bin("ge", prop("createdDateTime"), &LiteralExpr{Kind: LiteralDateTime, Value: "2021-01-01T00:00:00Z"})},
		{in: "d lt 2021-01-01T10:20:30.1234567+01:00", want: bin("lt", prop("d"), &LiteralExpr{Kind: LiteralDateTime, Value: "2021-01-01T10:20:30.1234567+01:00"})},
		{in: "d lt 2021-12-31T23:59-05:30", want: bin("lt", prop("d"), &LiteralExpr{Kind: LiteralDateTime, Value: "2021-12-31T23:59-05:30"})},
		{in: "d eq 2024-02-29", want: eq(prop("d"), &LiteralExpr{Kind: LiteralDate, Value: "2024-02-29"})},
		{in: "manager/id eq '1'", want: eq(prop("manager", "id"), str("1"))},
		{in: "onPremisesExtensionAttributes/extensionAttribute1 eq 'x'", want: eq(prop("onPremisesExtensionAttributes", "extensionAttribute1"), str("x"))},
		{in: "microsoft.graph.user/displayName eq 'x'", want: eq(prop("microsoft.graph.user", "displayName"), str("x"))},
		{in: "extension_abc123_costCenter eq 'x'", want: eq(prop("extension_abc123_costCenter"), str("x"))},
		{in: "startswith(displayName,'a')", want: call("startswith", prop("displayName"), str("a"))},
		{in: "StartsWith( displayName , 'a' )", want: call("startswith", prop("displayName"), str("a")), canonical: "startswith(displayName,'a')"},
		{in: "endswith(mail,'@contoso.com')", want: call("endswith", prop("mail"), str("@contoso.com"))},
		{in: "contains(displayName,'x')", want: call("contains", prop("displayName"), str("x"))},
		{in: "length(displayName) gt 3", want: bin("gt", call("length", prop("displayName")), num("3"))},
		{in: "tolower(mail) eq toupper('x')", want: eq(call("tolower", prop("mail")), call("toupper", str("x")))},
		{
			in:   "proxyAddresses/any(p:startswith(p,'smtp:'))",
			want: &LambdaExpr{Collection: prop("proxyAddresses"), Any: true, Var: "p", Body: call("startswith", prop("p"), str("smtp:"))},
		},
		{
			in:        "businessPhones/ANY( x : x eq '123')",
			want:      &LambdaExpr{Collection: prop("businessPhones"), Any: true, Var: "x", Body: eq(prop("x"), str("123"))},
			canonical: "businessPhones/any(x:x eq '123')",
		},
		{
			in: "assignedLicenses/all(l:l/skuId ne 0ac7e1d4-1234-4abc-9def-0123456789ab)",
			want: &LambdaExpr{Collection: prop("assignedLicenses"), Var: "l",
				Body: bin("ne", prop("l", "skuId"), &LiteralExpr{Kind: LiteralGUID, Value: "0ac7e1d4-1234-4abc-9def-0123456789ab"})},
		},
		{
			in: "a/b/any(x:x/c/any(y:y eq x/d))",
			want: &LambdaExpr{Collection: prop("a", "b"), Any: true, Var: "x",
				Body: &LambdaExpr{Collection: prop("x", "c"), Any: true, Var: "y", Body: eq(prop("y"), prop("x", "d"))}},
		},
		{in: "NOT groupTypes/any(c:c eq 'Unified')", canonical: "not groupTypes/any(c:c eq 'Unified')",
			want: &NotExpr{X: &LambdaExpr{Collection: prop("groupTypes"), Any: true, Var: "c", Body: eq(prop("c"), str("Unified"))}}},
		{in: "not(startswith(a,'x'))", want: &NotExpr{X: call("startswith", prop("a"), str("x"))}, canonical: "not startswith(a,'x')"},
		{in: "not a eq 1", want: &NotExpr{X: eq(prop("a"), num("1"))}},
		{in: "not not a", want: &NotExpr{X: &NotExpr{X: prop("a")}}},
		{in: "(not a) eq true", want: eq(&NotExpr{X: prop("a")}, &LiteralExpr{Kind: LiteralBool, Value: "true"})},
		{in: "not (a or b)", want: &NotExpr{X: bin("or", prop("a"), prop("b"))}},
		{in: "not a and b", want: bin("and", &NotExpr{X: prop("a")}, prop("b"))},
		{in: "a and not b", want: bin("and", prop("a"), &NotExpr{X: prop("b")})},
		{in: "a eq (not b)", want: eq(prop("a"), &NotExpr{X: prop("b")})},
		{in: "a or b and c", want: bin("or", prop("a"), bin("and", prop("b"), prop("c")))},
		{in: "(a or b) and c", want: bin("and", bin("or", prop("a"), prop("b")), prop("c"))},
		{in: "a and b and c", want: bin("and", bin("and", prop("a"), prop("b")), prop("c"))},
		{in: "a and (b and c)", want: bin("and", prop("a"), bin("and", prop("b"), prop("c")))},
		{in: "((a eq 1))", want: eq(prop("a"), num("1")), canonical: "a eq 1"},
		{in: "a eq 1 eq true", want: eq(eq(prop("a"), num("1")), &LiteralExpr{Kind: LiteralBool, Value: "true"})},
		{in: "a eq (1 eq b)", want: eq(prop("a"), eq(num("1"), prop("b")))},
		{in: "a OR b AND c", want: bin("or", prop("a"), bin("and", prop("b"), prop("c"))), canonical: "a or b and c"},
		{in: "id in ('1', '2','3')", want: &InExpr{X: prop("id"), List: []Expr{str("1"), str("2"), str("3")}}, canonical: "id in ('1','2','3')"},
		{in: "id IN('1')", want: &InExpr{X: prop("id"), List: []Expr{str("1")}}, canonical: "id in ('1')"},
		{in: "not id in ('1') and x", want: bin("and", &NotExpr{X: &InExpr{X: prop("id"), List: []Expr{str("1")}}}, prop("x"))},
		{in: "(a eq b) in (true)", want: &InExpr{X: eq(prop("a"), prop("b")), List: []Expr{&LiteralExpr{Kind: LiteralBool, Value: "true"}}}, canonical: "a eq b in (true)"},
		{in: "(not a) in (true)", want: &InExpr{X: &NotExpr{X: prop("a")}, List: []Expr{&LiteralExpr{Kind: LiteralBool, Value: "true"}}}},
		{in: "any eq 1 and all eq 2", want: bin("and", eq(prop("any"), num("1")), eq(prop("all"), num("2")))},
		{in: "a\teq\r\n'x'", want: eq(prop("a"), str("x")), canonical: "a eq 'x'"},
		{in: "'x'eq'y'", want: eq(str("x"), str("y")), canonical: "'x' eq 'y'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFilter(%q) = %s, want %s", tt.in, got, tt.want)
			}
			want := tt.canonical
			if want == "" {
				want = tt.in
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
			checkFilterRoundTrip(t, got)
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ in, message string }{
		{"displayName eq 'x')", "Syntax error: character ')' is not valid at position 18 in 'displayName eq 'x')'."},
		{"(displayName eq 'x'", "Syntax error: unexpected end of input at position 19 in '(displayName eq 'x''."},
		{"((a eq 1)", "Syntax error: unexpected end of input at position 9 in '((a eq 1)'."},
		{"a eq 'x", "Syntax error: unterminated string literal at position 5 in 'a eq 'x'."},
		{"a eq 'x''", "Syntax error: unterminated string literal at position 5 in 'a eq 'x'''."},
		{"a eq 'x' foo", "Syntax error: unknown operator 'foo' at position 9 in 'a eq 'x' foo'."},
		{"a eq 'x' 'y'", "Syntax error: character ''' is not valid at position 9 in 'a eq 'x' 'y''."},
		{"a like 'x'", "Syntax error: unknown operator 'like' at position 2 in 'a like 'x''."},
		{"a add 1 eq 2", "Syntax error: unknown operator 'add' at position 2 in 'a add 1 eq 2'."},
		{"a == 'x'", "Syntax error: character '=' is not valid at position 2 in 'a == 'x''."},
		{"a eq", "Syntax error: unexpected end of input at position 4 in 'a eq'."},
		{"a eq and", "Syntax error: unexpected keyword 'and' at position 5 in 'a eq and'."},
		{"and eq 1", "Syntax error: unexpected keyword 'and' at position 0 in 'and eq 1'."},
		{"a eq not b", "Syntax error: unexpected keyword 'not' at position 5 in 'a eq not b'."},
		{"a eq 1 and", "Syntax error: unexpected end of input at position 10 in 'a eq 1 and'."},
		{"not", "Syntax error: unexpected end of input at position 3 in 'not'."},
		{"()", "Syntax error: character ')' is not valid at position 1 in '()'."},
		{"a eq -x", "Syntax error: character '-' is not valid at position 5 in 'a eq -x'."},
		{"a eq 1.", "Syntax error: character '.' is not valid at position 6 in 'a eq 1.'."},
		{"a/ eq 1", "Syntax error: character ' ' is not valid at position 2 in 'a/ eq 1'."},
		{"/a eq 1", "Syntax error: character '/' is not valid at position 0 in '/a eq 1'."},
		{"a eq \"x\"", "Syntax error: character '\"' is not valid at position 5 in 'a eq \"x\"'."},
		{"a eq 'x' é", "Syntax error: character 'é' is not valid at position 9 in 'a eq 'x' é'."},
		{"é eq 'x'", "Syntax error: character 'é' is not valid at position 0 in 'é eq 'x''."},
		{"foo(a)", "Syntax error: unknown function 'foo' at position 0 in 'foo(a)'."},
		{"a/foo(x:x)", "Syntax error: unknown function 'foo' at position 2 in 'a/foo(x:x)'."},
		{"any(x:x)", "Syntax error: unknown function 'any' at position 0 in 'any(x:x)'."},
		{"startswith(a)", "Function 'startswith' takes 2 argument(s), not 1, at position 0 in 'startswith(a)'."},
		{"length(a,b) eq 1", "Function 'length' takes 1 argument(s), not 2, at position 0 in 'length(a,b) eq 1'."},
		{"startswith()", "Syntax error: character ')' is not valid at position 11 in 'startswith()'."},
		{"startswith(a,)", "Syntax error: character ')' is not valid at position 13 in 'startswith(a,)'."},
		{"startswith(a 'x')", "Syntax error: character ''' is not valid at position 13 in 'startswith(a 'x')'."},
		{"startswith (a,'x')", "Syntax error: character '(' is not valid at position 11 in 'startswith (a,'x')'."},
		{"a/any()", "Syntax error: character ')' is not valid at position 6 in 'a/any()'."},
		{"a/any(x)", "Syntax error: character ')' is not valid at position 7 in 'a/any(x)'."},
		{"a/any(x:)", "Syntax error: character ')' is not valid at position 8 in 'a/any(x:)'."},
		{"a/any(x.y:true)", "Syntax error: character 'x' is not valid at position 6 in 'a/any(x.y:true)'."},
		{"a/any(not:true)", "Syntax error: character 'n' is not valid at position 6 in 'a/any(not:true)'."},
		{"a/any(x:x eq 1", "Syntax error: unexpected end of input at position 14 in 'a/any(x:x eq 1'."},
		{"a in 'x'", "Syntax error: character ''' is not valid at position 5 in 'a in 'x''."},
		{"a in ()", "Syntax error: character ')' is not valid at position 6 in 'a in ()'."},
		{"a in ('x',)", "Syntax error: character ')' is not valid at position 10 in 'a in ('x',)'."},
		{"a in ('x'", "Syntax error: unexpected end of input at position 9 in 'a in ('x''."},
		{"a eq 2021-13-01", "Syntax error: invalid date/time literal '2021-13-01' at position 5 in 'a eq 2021-13-01'."},
		{"a eq 2021-01-01T25:00:00Z", "Syntax error: invalid date/time literal '2021-01-01T25:00:00Z' at position 5 in 'a eq 2021-01-01T25:00:00Z'."},
		{"a eq 2021-01-01T10:00:00", "Syntax error: invalid date/time literal at position 5 in 'a eq 2021-01-01T10:00:00'."},
		{"a eq 2021-01-01x", "Syntax error: invalid date/time literal at position 5 in 'a eq 2021-01-01x'."},
		{"a eq 1 :", "Syntax error: character ':' is not valid at position 7 in 'a eq 1 :'."},
		{"true/a eq 1", "Syntax error: character '/' is not valid at position 4 in 'true/a eq 1'."},
		{"   ", "Syntax error: unexpected end of input at position 3 in '   '."},
		{"", "Query option '$filter' has an empty value."},
		{"a eq '\xff'", "Query option '$filter' is not valid UTF-8."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if err == nil {
				t.Fatalf("ParseFilter(%q) = %s, want an error", tt.in, got)
			}
			e := asError(t, err)
			if e.Option != "$filter" || e.Message != tt.message {
				t.Errorf("ParseFilter(%q) error\n got %q: %q\nwant %q", tt.in, e.Option, e.Message, tt.message)
			}
		})
	}
}

func TestParseFilterLimits(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("(", n) + "a" + strings.Repeat(")", n) }
	if _, err := ParseFilter(nest(MaxDepth)); err != nil {
		t.Errorf("%d parentheses: %v", MaxDepth, err)
	}
	deep := []string{
		nest(MaxDepth + 1),
		strings.Repeat("not ", MaxDepth+1) + "a",
		strings.Repeat("tolower(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1),
		"a/any(x:" + strings.Repeat("x/any(x:", MaxDepth) + "x" + strings.Repeat(")", MaxDepth+1),
		"a in (" + strings.Repeat("(", MaxDepth) + "1" + strings.Repeat(")", MaxDepth+1),
	}
	for _, s := range deep {
		if _, err := ParseFilter(s); err == nil || !strings.Contains(err.Error(), "nesting deeper than 32 levels") {
			t.Errorf("ParseFilter(%.40q...): err = %v, want nesting error", s, err)
		}
	}

	list := func(n int) string { return "a in (" + strings.Repeat("1,", n-1) + "1)" }
	e, err := ParseFilter(list(MaxInList))
	if err != nil {
		t.Fatalf("in list of %d: %v", MaxInList, err)
	}
	if n := len(e.(*InExpr).List); n != MaxInList {
		t.Errorf("in list has %d items, want %d", n, MaxInList)
	}
	if _, err := ParseFilter(list(MaxInList + 1)); err == nil || !strings.Contains(err.Error(), "more than 1000 items") {
		t.Errorf("in list of %d: err = %v", MaxInList+1, err)
	}

	// Long chains are not nesting: they are parsed iteratively.
	chain := strings.Repeat("a eq 1 and ", 300) + "a eq 1"
	e, err = ParseFilter(chain)
	if err != nil {
		t.Fatalf("long chain: %v", err)
	}
	checkFilterRoundTrip(t, e)
}

func TestExprStringQuotes(t *testing.T) {
	e := &BinaryExpr{Op: "eq", Left: prop("a"), Right: str("it's '' here")}
	if got, want := e.String(), "a eq 'it''s '''' here'"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	checkFilterRoundTrip(t, e)
}
