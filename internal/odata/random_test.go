package odata

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomExpr builds an arbitrary AST of the shapes the parser produces, to
// check that String adds exactly the parentheses the precedence rules need.
func randomExpr(r *rand.Rand, depth int) Expr {
	leaves := []func() Expr{
		func() Expr { return prop("a") },
		func() Expr { return prop("x", "y") },
		func() Expr { return str("it's") },
		func() Expr { return num("-1") },
		func() Expr { return &LiteralExpr{Kind: LiteralBool, Value: "true"} },
		func() Expr { return &LiteralExpr{Kind: LiteralNull} },
	}
	if depth == 0 {
		return leaves[r.IntN(len(leaves))]()
	}
	sub := func() Expr { return randomExpr(r, depth-1) }
	ops := []string{"and", "or", "eq", "ne", "gt", "ge", "lt", "le"}
	switch r.IntN(6) {
	case 0:
		return &BinaryExpr{Op: ops[r.IntN(len(ops))], Left: sub(), Right: sub()}
	case 1:
		return &NotExpr{X: sub()}
	case 2:
		return &InExpr{X: sub(), List: []Expr{sub(), sub()}}
	case 3:
		return call("startswith", sub(), sub())
	case 4:
		return &LambdaExpr{Collection: prop("c"), Any: r.IntN(2) == 0, Var: "v", Body: sub()}
	}
	return leaves[r.IntN(len(leaves))]()
}

func TestExprStringRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		e := randomExpr(r, 4)
		s := e.String()
		got, err := ParseFilter(s)
		if err != nil {
			if isLengthError(err) {
				continue
			}
			t.Fatalf("ParseFilter(%q): %v", s, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("ParseFilter(%q) = %s", s, got)
		}
	}
}
