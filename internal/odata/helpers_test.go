package odata

import (
	"errors"
	"reflect"
	"testing"
)

func prop(path ...string) *PropertyExpr { return &PropertyExpr{Path: path} }
func str(v string) *LiteralExpr         { return &LiteralExpr{Kind: LiteralString, Value: v} }
func num(v string) *LiteralExpr         { return &LiteralExpr{Kind: LiteralInt, Value: v} }
func bin(op string, l, r Expr) Expr     { return &BinaryExpr{Op: op, Left: l, Right: r} }
func eq(l, r Expr) Expr                 { return bin("eq", l, r) }
func call(f string, args ...Expr) Expr  { return &CallExpr{Func: f, Args: args} }

// asError fails the test unless err is an *Error.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

// checkQueryRoundTrip checks that the canonical encoding of q parses to q.
func checkQueryRoundTrip(t *testing.T, q *Query) {
	t.Helper()
	enc := q.Encode()
	for _, optionalDollar := range []bool{false, true} {
		q2, err := Parse(enc, optionalDollar)
		if err != nil {
			t.Fatalf("Parse(Encode() = %q): %v", enc, err)
		}
		if !reflect.DeepEqual(q, q2) {
			t.Fatalf("round trip through %q changed the query:\n got %#v\nwant %#v", enc, q2, q)
		}
	}
}

func checkFilterRoundTrip(t *testing.T, e Expr) {
	t.Helper()
	s := e.String()
	e2, err := ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(String() = %q): %v", s, err)
	}
	if !reflect.DeepEqual(e, e2) {
		t.Fatalf("round trip through %q changed the expression: got %s", s, e2)
	}
}
