package directory

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/orgraph/orgraph/internal/odata"
)

// A listing's $filter, $search and $orderby, checked against the schema and Graph's rules, are Conds and an
// Order: a small tree that names only schema properties and typed values, which every store turns into its
// own query language. Nothing in it comes from the client unchecked.

// Cond is a condition on objects: *Compare, *Any, *Tokens, *Not, *And or *Or.
type Cond interface{ isCond() }

// Op is the comparison of a Compare.
type Op int

// The comparisons. Strings compare case-insensitively, as in Graph.
const (
	OpEq         Op = iota + 1 // equal to Values[0]
	OpIn                       // equal to one of Values
	OpNull                     // null (unset); no Values
	OpLt                       // less than Values[0]; date-times only
	OpLe                       // at most Values[0]; date-times only
	OpGt                       // greater than Values[0]; date-times only
	OpGe                       // at least Values[0]; date-times only
	OpStartsWith               // a string starting with Values[0]
	OpEndsWith                 // a string ending with Values[0]
)

// Compare compares one property with values. Prop is a schema property name, IDProperty, or "" for the
// element of the collection an enclosing Any ranges over. Values are strings (date-times as RFC 3339 text in
// UTC, the form they are stored in) or bools.
type Compare struct {
	Prop   string
	Type   Type // TypeString, TypeBool or TypeDateTime
	Op     Op
	Values []any
}

// Any holds when some string of the collection property Prop satisfies Cond, whose Compares have Prop "".
type Any struct {
	Prop string
	Cond Cond
}

// Tokens is a $search term on a tokenized property: every one of Tokens is the start of a token of Prop's
// value (see Tokenize), in any order. With no Tokens it holds when Prop has any token.
type Tokens struct {
	Prop   string
	Tokens []string
}

// Not negates a condition; a comparison with a null property is false, so its negation is true.
type Not struct{ X Cond }

// And holds when both conditions do.
type And struct{ L, R Cond }

// Or holds when either condition does.
type Or struct{ L, R Cond }

func (*Compare) isCond() {}
func (*Any) isCond()     {}
func (*Tokens) isCond()  {}
func (*Not) isCond()     {}
func (*And) isCond()     {}
func (*Or) isCond()      {}

// IDProperty is the name Compare uses for the object's id, which is not in the schema.
const IDProperty = "id"

// Order sorts a listing by one property, nulls first (last when Desc), ties broken by id in the same direction.
// Strings sort case-insensitively.
type Order struct {
	Prop string
	Type Type // TypeString or TypeDateTime
	Desc bool
}

// Cursor is where a page of a listing ended: the id of its last object and, under an Order, that object's
// value of the sort property ("" for null). The zero Cursor is the start. Callers get cursors from
// ListQuery.Next and hand them back unchanged; only stores look inside.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i,omitempty"`
}

// IsZero reports whether c is the start of a listing.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// Next returns the cursor after last, an object of the page q returned.
func (q ListQuery) Next(last *Object) Cursor {
	c := Cursor{ID: last.ID}
	if q.Order != nil {
		c.Key = last.String(q.Order.Prop)
	}
	return c
}

// Graph's messages for queries it will not evaluate.
const (
	msgSorting  = "Sorting not supported for current query."
	msgClause   = "Invalid filter clause"
	advancedFmt = "Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)

// queryProp is a property as a query on some kinds sees it.
type queryProp struct {
	Property
	resource string // the Graph resource named in error messages: "User", "Group", "OrgContact"
}

// idProp is the id as $filter sees it: eq and in in every request, as Graph's tables have it for every kind.
var idProp = Property{Name: IDProperty, Type: TypeString, Filter: FilterSupport{Eq: Default}}

// lookupProp finds a property on any of kinds (every kind when kinds is empty). When kinds disagree on
// what a property supports, the query gets the least of it, so it works on every object it can meet.
func lookupProp(kinds []Kind, name string) (*queryProp, error) {
	if len(kinds) == 0 {
		kinds = Kinds
	}
	var qp *queryProp
	for _, k := range kinds {
		var p *Property
		if strings.EqualFold(name, IDProperty) {
			p = &idProp
		} else if p, _ = SchemaOf(k).Property(name); p == nil {
			continue
		}
		if qp == nil {
			qp = &queryProp{Property: *p, resource: resourceName(k)}
			continue
		}
		f, g := &qp.Filter, p.Filter
		f.Eq, f.StartsWith, f.EndsWith = least(f.Eq, g.Eq), least(f.StartsWith, g.StartsWith), least(f.EndsWith, g.EndsWith)
		f.Range, f.Null = least(f.Range, g.Range), least(f.Null, g.Null)
		qp.OrderBy = least(qp.OrderBy, p.OrderBy)
		qp.Search = qp.Search && p.Search
	}
	if qp == nil || qp.WriteOnly {
		return nil, Invalid("Property '%s' does not exist as a declared property or extension property.", name)
	}
	return qp, nil
}

// least is the weaker of two supports: unsupported beats advanced beats default.
func least(a, b Support) Support {
	if a == NotSupported || b == NotSupported {
		return NotSupported
	}
	return max(a, b)
}

func (p *queryProp) unsupported() *Error {
	return Unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", p.Name, p.resource)
}

// ParseFilter checks a $filter against the schema of kinds (every kind when empty) and Graph's rules.
// advanced says the request is an advanced query (ConsistencyLevel: eventual and $count=true); without it
// what needs one is refused with Graph's message.
func ParseFilter(e odata.Expr, kinds []Kind, advanced bool) (Cond, error) {
	v := &filterCheck{kinds: kinds, advanced: advanced}
	return v.cond(e)
}

// filterCheck validates one $filter; inside a lambda, elem is the collection and lambdaVar its variable.
type filterCheck struct {
	kinds     []Kind
	advanced  bool
	lambdaVar string
	elem      *queryProp
}

func (v *filterCheck) cond(e odata.Expr) (Cond, error) {
	switch e := e.(type) {
	case *odata.BinaryExpr:
		if e.Op != "and" && e.Op != "or" {
			return v.compare(e)
		}
		l, err := v.cond(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := v.cond(e.Right)
		if err != nil {
			return nil, err
		}
		if e.Op == "and" {
			return &And{L: l, R: r}, nil
		}
		return &Or{L: l, R: r}, nil
	case *odata.NotExpr:
		x, err := v.cond(e.X)
		if err != nil {
			return nil, err
		}
		if v.elem != nil {
			return nil, v.elem.unsupported()
		}
		if !v.advanced {
			return nil, Unsupported(advancedFmt, "not")
		}
		return &Not{X: x}, nil
	case *odata.InExpr:
		return v.in(e)
	case *odata.CallExpr:
		return v.call(e)
	case *odata.LambdaExpr:
		return v.lambda(e)
	}
	return nil, Invalid(msgClause)
}

// operand resolves the property an operator applies to: a property of the kinds, or the lambda variable.
// It returns nil (and no error) for anything else.
func (v *filterCheck) operand(e odata.Expr) (*queryProp, error) {
	pe, ok := e.(*odata.PropertyExpr)
	if !ok {
		return nil, nil
	}
	name := strings.Join(pe.Path, "/")
	if v.elem != nil {
		if len(pe.Path) != 1 || pe.Path[0] != v.lambdaVar {
			return nil, Invalid(msgClause)
		}
		return v.elem, nil
	}
	p, err := lookupProp(v.kinds, name)
	if err != nil {
		return nil, err
	}
	if p.Type == TypeStrings || p.Type == TypeObjects || p.Type == TypeObject {
		// Collections are filtered through any(); complex values not at all.
		return nil, p.unsupported()
	}
	return p, nil
}

// check enforces what Graph supports: s is the property's support for the operation.
func (v *filterCheck) check(p *queryProp, s Support) error {
	if s == NotSupported || s == Advanced && !v.advanced {
		return p.unsupported()
	}
	return nil
}

// elemType is the type of what p's comparisons see: a string for an element of a collection.
func (v *filterCheck) elemType(p *queryProp) Type {
	if p == v.elem {
		return TypeString
	}
	return p.Type
}

var operatorKinds = map[string]string{
	"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual", "lt": "LessThan", "le": "LessThanOrEqual",
}

var rangeOps = map[string]Op{"gt": OpGt, "ge": OpGe, "lt": OpLt, "le": OpLe}

func (v *filterCheck) compare(e *odata.BinaryExpr) (Cond, error) {
	p, err := v.operand(e.Left)
	if err != nil {
		return nil, err
	}
	lit, ok := e.Right.(*odata.LiteralExpr)
	if p == nil || !ok {
		return nil, Invalid(msgClause)
	}
	t := v.elemType(p)
	if lit.Kind == odata.LiteralNull {
		if (e.Op != "eq" && e.Op != "ne") || p == v.elem {
			return nil, Invalid(msgClause)
		}
		if err := v.negation(e.Op, p, p.Filter.Null); err != nil {
			return nil, err
		}
		c := &Compare{Prop: p.Name, Type: t, Op: OpNull}
		if e.Op == "ne" {
			return &Not{X: c}, nil
		}
		return c, nil
	}
	val, err := literal(p, t, lit, e.Op)
	if err != nil {
		return nil, err
	}
	prop := p.Name
	if p == v.elem {
		prop = ""
	}
	if op, ok := rangeOps[e.Op]; ok {
		if err := v.check(p, p.Filter.Range); err != nil {
			return nil, err
		}
		op, val = wholeSeconds(op, lit, val)
		return &Compare{Prop: prop, Type: t, Op: op, Values: []any{val}}, nil
	}
	if err := v.negation(e.Op, p, p.Filter.Eq); err != nil {
		return nil, err
	}
	c := &Compare{Prop: prop, Type: t, Op: OpEq, Values: []any{val}}
	if e.Op == "ne" {
		return &Not{X: c}, nil
	}
	return c, nil
}

// negation checks an eq or ne: ne needs an advanced query wherever eq works, and is no operator inside any().
func (v *filterCheck) negation(op string, p *queryProp, s Support) error {
	if s == NotSupported || op == "ne" && p == v.elem {
		return p.unsupported()
	}
	if op == "ne" && !v.advanced {
		return Unsupported(advancedFmt, "ne")
	}
	return v.check(p, s)
}

// edmTypes names the literal kinds and property types as OData's messages do.
var edmTypes = map[odata.LiteralKind]string{
	odata.LiteralBool: "Edm.Boolean", odata.LiteralString: "Edm.String", odata.LiteralInt: "Edm.Int64",
	odata.LiteralDecimal: "Edm.Decimal", odata.LiteralGUID: "Edm.Guid", odata.LiteralDate: "Edm.Date",
	odata.LiteralDateTime: "Edm.DateTimeOffset",
}

func edmType(t Type) string {
	switch t {
	case TypeBool:
		return "Edm.Boolean"
	case TypeDateTime:
		return "Edm.DateTimeOffset"
	}
	return "Edm.String"
}

// literal converts a literal compared with p (whose comparisons see type t) to a Compare value, or gives
// OData's error for a literal of the wrong type.
func literal(p *queryProp, t Type, lit *odata.LiteralExpr, op string) (any, error) {
	switch {
	case t == TypeString && lit.Kind == odata.LiteralString:
		if p.Name == IDProperty {
			return NormalizeID(lit.Value), nil
		}
		return lit.Value, nil
	case t == TypeString && lit.Kind == odata.LiteralGUID && p.Name == IDProperty:
		return NormalizeID(lit.Value), nil
	case t == TypeBool && lit.Kind == odata.LiteralBool:
		return lit.Value == "true", nil
	case t == TypeDateTime && lit.Kind == odata.LiteralDate:
		d, err := time.Parse(time.DateOnly, lit.Value)
		if err != nil {
			return nil, Invalid(msgClause)
		}
		return d.Format(time.RFC3339), nil
	case t == TypeDateTime && lit.Kind == odata.LiteralDateTime:
		d, err := time.Parse(time.RFC3339Nano, strings.ToUpper(lit.Value))
		if err != nil {
			// Times without seconds (12:00Z), which the parser accepts and RFC 3339 does not.
			if d, err = time.Parse("2006-01-02T15:04Z07:00", strings.ToUpper(lit.Value)); err != nil {
				return nil, Invalid(msgClause)
			}
		}
		return d.UTC().Format(time.RFC3339Nano), nil
	}
	kind := operatorKinds[op]
	if kind == "" {
		kind = "Equal"
	}
	return nil, Invalid("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.",
		edmType(t), edmTypes[lit.Kind], kind)
}

// wholeSeconds adjusts a range comparison with a date-time that has a fraction of a second to the whole
// seconds date-times are stored in, so that comparing the stored text gives the same answer as comparing
// times: x >= 10:00:00.5 is x >= 10:00:01, and x < 10:00:00.5 is x <= 10:00:00.
func wholeSeconds(op Op, lit *odata.LiteralExpr, val any) (Op, any) {
	s, _ := val.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Nanosecond() == 0 || lit.Kind != odata.LiteralDateTime {
		return op, val
	}
	floor := t.Truncate(time.Second)
	if op == OpGt || op == OpGe {
		return OpGe, floor.Add(time.Second).Format(time.RFC3339)
	}
	return OpLe, floor.Format(time.RFC3339)
}

func (v *filterCheck) in(e *odata.InExpr) (Cond, error) {
	p, err := v.operand(e.X)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, Invalid(msgClause)
	}
	t := v.elemType(p)
	vals := make([]any, 0, len(e.List))
	for _, item := range e.List {
		lit, ok := item.(*odata.LiteralExpr)
		if !ok || lit.Kind == odata.LiteralNull {
			return nil, Invalid(msgClause)
		}
		val, err := literal(p, t, lit, "eq")
		if err != nil {
			return nil, err
		}
		vals = append(vals, val)
	}
	// Graph supports in by default wherever it supports eq by default.
	if err := v.check(p, p.Filter.Eq); err != nil {
		return nil, err
	}
	prop := p.Name
	if p == v.elem {
		prop = ""
	}
	return &Compare{Prop: prop, Type: t, Op: OpIn, Values: vals}, nil
}

func (v *filterCheck) call(e *odata.CallExpr) (Cond, error) {
	p, err := v.operand(e.Args[0])
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, Invalid(msgClause)
	}
	var op Op
	var s Support
	switch e.Func {
	case "startswith":
		op, s = OpStartsWith, p.Filter.StartsWith
	case "endswith":
		op, s = OpEndsWith, p.Filter.EndsWith
	default:
		return nil, p.unsupported()
	}
	lit, ok := e.Args[1].(*odata.LiteralExpr)
	if v.elemType(p) != TypeString || !ok || lit.Kind != odata.LiteralString {
		return nil, Invalid("No function signature for the function with name '%s' matches the specified arguments. The function signatures considered are: %s(Edm.String Nullable=true, Edm.String Nullable=true).", e.Func, e.Func)
	}
	if s == NotSupported {
		return nil, p.unsupported()
	}
	if op == OpEndsWith && !v.advanced {
		return nil, Unsupported(advancedFmt, "endsWith")
	}
	if err := v.check(p, s); err != nil {
		return nil, err
	}
	prop := p.Name
	if p == v.elem {
		prop = ""
	}
	return &Compare{Prop: prop, Type: TypeString, Op: op, Values: []any{lit.Value}}, nil
}

func (v *filterCheck) lambda(e *odata.LambdaExpr) (Cond, error) {
	if v.elem != nil || len(e.Collection.Path) != 1 {
		return nil, Invalid(msgClause)
	}
	p, err := lookupProp(v.kinds, e.Collection.Path[0])
	if err != nil {
		return nil, err
	}
	if p.Type != TypeStrings || !e.Any {
		return nil, p.unsupported()
	}
	inner := &filterCheck{kinds: v.kinds, advanced: v.advanced, lambdaVar: e.Var, elem: p}
	body, err := inner.cond(e.Body)
	if err != nil {
		return nil, err
	}
	return &Any{Prop: p.Name, Cond: body}, nil
}

// ParseSearch checks a $search against the schema of kinds. A term on a tokenized property (displayName,
// description) matches by Graph's tokens; on any other string property that supports startsWith, it is a
// startsWith; on anything else it is refused.
func ParseSearch(s odata.Search, kinds []Kind) (Cond, error) {
	switch s := s.(type) {
	case *odata.SearchBinary:
		l, err := ParseSearch(s.Left, kinds)
		if err != nil {
			return nil, err
		}
		r, err := ParseSearch(s.Right, kinds)
		if err != nil {
			return nil, err
		}
		if s.Op == "AND" {
			return &And{L: l, R: r}, nil
		}
		return &Or{L: l, R: r}, nil
	case *odata.SearchTerm:
		p, err := lookupProp(kinds, s.Property)
		if err != nil {
			return nil, err
		}
		prefix := &Compare{Prop: p.Name, Type: TypeString, Op: OpStartsWith, Values: []any{s.Value}}
		switch {
		case p.Search:
			return &Tokens{Prop: p.Name, Tokens: Tokenize(s.Value)}, nil
		case p.Filter.StartsWith != NotSupported && p.Type == TypeString:
			return prefix, nil
		case p.Filter.StartsWith != NotSupported && p.Type == TypeStrings:
			prefix.Prop = ""
			return &Any{Prop: p.Name, Cond: prefix}, nil
		}
		return nil, p.unsupported()
	}
	return nil, Invalid(msgClause)
}

// ParseOrder checks an $orderby against the schema of kinds. Graph sorts by one property; some properties
// need an advanced query, and so does sorting a filtered listing. Without $orderby the order is free, and
// is the one filter suits: when the filter requires a startsWith or eq on a property Graph sorts by, that
// property's order, so that a store reads just the page from the property's sort index however many
// objects match; otherwise nil, id order.
func ParseOrder(items []odata.OrderBy, kinds []Kind, advanced bool, filter Cond) (*Order, error) {
	if len(items) == 0 {
		return suitedOrder(filter, kinds), nil
	}
	if len(items) > 1 {
		return nil, Unsupported(msgSorting)
	}
	p, err := lookupProp(kinds, items[0].Property)
	if err != nil {
		return nil, err
	}
	if p.OrderBy == NotSupported || (p.OrderBy == Advanced || filter != nil) && !advanced {
		return nil, Unsupported(msgSorting)
	}
	return &Order{Prop: p.Name, Type: p.Type, Desc: items[0].Desc}, nil
}

// suitedOrder finds, among the conditions filter requires (the operands of its top-level ands), a startsWith
// or eq on a string property Graph sorts by, and returns that property's order.
func suitedOrder(filter Cond, kinds []Kind) *Order {
	switch c := filter.(type) {
	case *And:
		if o := suitedOrder(c.L, kinds); o != nil {
			return o
		}
		return suitedOrder(c.R, kinds)
	case *Compare:
		if c.Type != TypeString || c.Op != OpStartsWith && c.Op != OpEq {
			return nil
		}
		if p, err := lookupProp(kinds, c.Prop); err == nil && p.OrderBy != NotSupported {
			return &Order{Prop: p.Name, Type: p.Type}
		}
	}
	return nil
}

// Tokenize splits a value into the tokens Graph's $search matches, lower-cased: words split at white space,
// at changes between letters, digits and symbols, and where a lower-case letter is followed by an upper-case
// one (so HelloWorld is hello and world, HELLOworld one token); each symbol is a token, and a word with
// symbols is also a token with the symbols left out (hello.world: hello, ., world and helloworld). Tokens
// appear once, in order of first appearance.
func Tokenize(s string) []string {
	var out []string
	add := func(tok string) {
		if tok = strings.ToLower(tok); tok != "" && !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	for _, word := range strings.FieldsFunc(s, unicode.IsSpace) {
		var (
			joined  strings.Builder
			start   int
			prev    rune
			symbols bool
		)
		for i, r := range word {
			cls := runeClass(r)
			if i > start {
				pc := runeClass(prev)
				if cls != pc || cls == classLetter && unicode.IsLower(prev) && unicode.IsUpper(r) {
					add(word[start:i])
					start = i
				}
			}
			if cls == classSymbol {
				symbols = true
				add(string(r))
				start = i + len(string(r))
			} else {
				joined.WriteRune(r)
			}
			prev = r
		}
		add(word[start:])
		if symbols {
			add(joined.String())
		}
	}
	return out
}

const (
	classLetter = iota
	classDigit
	classSymbol
)

func runeClass(r rune) int {
	switch {
	case unicode.IsLetter(r) || unicode.IsMark(r):
		return classLetter
	case unicode.IsDigit(r):
		return classDigit
	}
	return classSymbol
}
