package odata

import (
	"strconv"
	"strings"
	"time"
)

// Expr is a $filter expression: *BinaryExpr, *NotExpr, *InExpr, *CallExpr,
// *PropertyExpr, *LiteralExpr or *LambdaExpr. String returns canonical OData
// that ParseFilter turns back into an equal Expr.
type Expr interface {
	String() string
	isExpr()
}

// BinaryExpr is a comparison ("eq", "ne", "gt", "ge", "lt", "le") or a
// logical operator ("and", "or"); Op is lower case.
type BinaryExpr struct {
	Op          string
	Left, Right Expr
}

// NotExpr is "not X".
type NotExpr struct{ X Expr }

// InExpr is "X in (List[0], List[1], ...)".
type InExpr struct {
	X    Expr
	List []Expr
}

// CallExpr is a call of a built-in function; Func is lower case and the
// number of arguments has been checked.
type CallExpr struct {
	Func string
	Args []Expr
}

// PropertyExpr is a property path such as manager/id. Inside a lambda the
// first element may be the lambda variable; the caller resolves scopes.
type PropertyExpr struct{ Path []string }

// LiteralKind is the type of a LiteralExpr.
type LiteralKind int

// Literal kinds.
const (
	LiteralNull     LiteralKind = iota // Value is ""
	LiteralBool                        // Value is "true" or "false"
	LiteralString                      // Value is the decoded string
	LiteralInt                         // Value is the text, which fits in an int64
	LiteralDecimal                     // Value is the text: a fraction, an exponent or too big for int64
	LiteralGUID                        // Value is the text, 8-4-4-4-12 hex digits
	LiteralDate                        // Value is the text, e.g. 2021-01-31
	LiteralDateTime                    // Value is the text, e.g. 2021-01-31T12:00:00Z
)

// LiteralExpr is a constant.
type LiteralExpr struct {
	Kind  LiteralKind
	Value string
}

// LambdaExpr is "Collection/any(Var:Body)" or, when Any is false,
// "Collection/all(Var:Body)".
type LambdaExpr struct {
	Collection *PropertyExpr
	Any        bool
	Var        string
	Body       Expr
}

func (*BinaryExpr) isExpr()   {}
func (*NotExpr) isExpr()      {}
func (*InExpr) isExpr()       {}
func (*CallExpr) isExpr()     {}
func (*PropertyExpr) isExpr() {}
func (*LiteralExpr) isExpr()  {}
func (*LambdaExpr) isExpr()   {}

func (e *BinaryExpr) String() string   { return exprString(e) }
func (e *NotExpr) String() string      { return exprString(e) }
func (e *InExpr) String() string       { return exprString(e) }
func (e *CallExpr) String() string     { return exprString(e) }
func (e *PropertyExpr) String() string { return exprString(e) }
func (e *LiteralExpr) String() string  { return exprString(e) }
func (e *LambdaExpr) String() string   { return exprString(e) }

// functions maps the supported functions to their number of arguments.
var functions = map[string]int{
	"startswith": 2,
	"endswith":   2,
	"contains":   2,
	"length":     1,
	"tolower":    1,
	"toupper":    1,
}

var comparisons = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}

// reserved words cannot start a property path, which keeps "a eq and" an
// error instead of a comparison with a property called "and".
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true,
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
}

// Binding strength, loosest first. "not" binds looser than comparisons (as
// in SQL) so that "not displayName eq 'x'" means what it says.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
	precPrimary
)

func precedence(e Expr) int {
	switch e := e.(type) {
	case *BinaryExpr:
		switch e.Op {
		case "or":
			return precOr
		case "and":
			return precAnd
		}
		return precCompare
	case *NotExpr:
		return precNot
	case *InExpr:
		return precCompare
	}
	return precPrimary
}

func exprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, false)
	return b.String()
}

// writeExpr writes e in canonical form, in parentheses if paren is set.
// Parentheses are only added where precedence requires them, so the nesting
// depth of the output never exceeds that of the parsed input.
func writeExpr(b *strings.Builder, e Expr, paren bool) {
	if paren {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch e := e.(type) {
	case *BinaryExpr:
		p := precedence(e)
		// Operators associate to the left.
		writeExpr(b, e.Left, precedence(e.Left) < p)
		b.WriteString(" " + e.Op + " ")
		writeExpr(b, e.Right, precedence(e.Right) <= p)
	case *NotExpr:
		b.WriteString("not ")
		writeExpr(b, e.X, precedence(e.X) < precNot)
	case *InExpr:
		writeExpr(b, e.X, precedence(e.X) < precCompare)
		b.WriteString(" in (")
		writeList(b, e.List)
		b.WriteByte(')')
	case *CallExpr:
		b.WriteString(e.Func + "(")
		writeList(b, e.Args)
		b.WriteByte(')')
	case *PropertyExpr:
		b.WriteString(strings.Join(e.Path, "/"))
	case *LiteralExpr:
		switch e.Kind {
		case LiteralNull:
			b.WriteString("null")
		case LiteralString:
			b.WriteString("'" + strings.ReplaceAll(e.Value, "'", "''") + "'")
		default:
			b.WriteString(e.Value)
		}
	case *LambdaExpr:
		writeExpr(b, e.Collection, false)
		if e.Any {
			b.WriteString("/any(")
		} else {
			b.WriteString("/all(")
		}
		b.WriteString(e.Var + ":")
		writeExpr(b, e.Body, false)
		b.WriteByte(')')
	}
}

func writeList(b *strings.Builder, list []Expr) {
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeExpr(b, e, false)
	}
}

// ParseFilter parses a $filter expression that is already percent-decoded.
// Errors are *Error.
func ParseFilter(s string) (Expr, error) {
	if err := checkValue("$filter", s); err != nil {
		return nil, err
	}
	return newParser("$filter", s, false).parseFilter()
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokLiteral
	tokLParen
	tokRParen
	tokComma
	tokColon
)

type token struct {
	kind tokenKind
	lit  LiteralKind // for tokLiteral
	pos  int
	text string // identifier, literal value
}

// parseFilter parses the whole range of p as a boolean expression.
func (p *parser) parseFilter() (Expr, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.afterOperand()
	}
	return e, nil
}

// afterOperand reports the current token, which follows a complete operand
// where an operator, a separator or the end was expected.
func (p *parser) afterOperand() *Error {
	if p.tok.kind == tokIdent {
		return p.errorf("Syntax error: unknown operator '%s' %s", p.tok.text, p.at(p.tok.pos))
	}
	return p.unexpected(p.tok.pos)
}

func (p *parser) isKeyword(k string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, k)
}

func (p *parser) parseOr() (Expr, error) {
	left, err := p.parseAnd()
	for err == nil && p.isKeyword("or") {
		var right Expr
		if err = p.advance(); err == nil {
			right, err = p.parseAnd()
			left = &BinaryExpr{Op: "or", Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) parseAnd() (Expr, error) {
	left, err := p.parseNot()
	for err == nil && p.isKeyword("and") {
		var right Expr
		if err = p.advance(); err == nil {
			right, err = p.parseNot()
			left = &BinaryExpr{Op: "and", Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) parseNot() (Expr, error) {
	if !p.isKeyword("not") {
		return p.parseComparison()
	}
	if err := p.enter(p.tok.pos); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.parseNot()
	p.leave()
	return &NotExpr{X: x}, err
}

func (p *parser) parseComparison() (Expr, error) {
	left, err := p.parsePrimary()
	for err == nil && p.tok.kind == tokIdent {
		op := strings.ToLower(p.tok.text)
		switch {
		case comparisons[op]:
			var right Expr
			if err = p.advance(); err == nil {
				right, err = p.parsePrimary()
				left = &BinaryExpr{Op: op, Left: left, Right: right}
			}
		case op == "in":
			var list []Expr
			if err = p.advance(); err == nil {
				list, err = p.parseInList()
				left = &InExpr{X: left, List: list}
			}
		default:
			return left, nil
		}
	}
	return left, err
}

func (p *parser) parseInList() ([]Expr, error) {
	if p.tok.kind != tokLParen {
		return nil, p.unexpected(p.tok.pos)
	}
	if err := p.enter(p.tok.pos); err != nil {
		return nil, err
	}
	list, err := p.parseArgs()
	if err != nil {
		return nil, err
	}
	if len(list) > MaxInList {
		return nil, p.errorf("The 'in' operator has more than %d items %s", MaxInList, p.at(p.tok.pos))
	}
	p.leave()
	return list, p.advance()
}

// parseArgs parses a parenthesized, comma-separated, non-empty list of
// expressions; the current token is the '(' and the result ends at ')'.
func (p *parser) parseArgs() ([]Expr, error) {
	var list []Expr
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if len(list) > MaxInList {
			return list, nil
		}
		switch p.tok.kind {
		case tokComma:
		case tokRParen:
			return list, nil
		default:
			return nil, p.afterOperand()
		}
	}
}

func (p *parser) parsePrimary() (Expr, error) {
	t := p.tok
	switch t.kind {
	case tokLParen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.afterOperand()
		}
		p.leave()
		return e, p.advance()
	case tokLiteral:
		return &LiteralExpr{Kind: t.lit, Value: t.text}, p.advance()
	case tokIdent:
		return p.parseIdent()
	}
	return nil, p.unexpected(t.pos)
}

// parseIdent parses what starts with the identifier in p.tok: a keyword
// literal, a property path, a function call or a lambda. p.pos is right after
// the identifier, so an immediately following '(' or '/' belongs to it.
func (p *parser) parseIdent() (Expr, error) {
	t := p.tok
	lower := strings.ToLower(t.text)
	switch {
	case lower == "true" || lower == "false":
		return &LiteralExpr{Kind: LiteralBool, Value: lower}, p.advance()
	case lower == "null":
		return &LiteralExpr{Kind: LiteralNull}, p.advance()
	case reserved[lower]:
		return nil, p.errorf("Syntax error: unexpected keyword '%s' %s", t.text, p.at(t.pos))
	}
	if p.pos < p.end && p.src[p.pos] == '(' {
		return p.parseCall(t)
	}
	path := []string{t.text}
	for p.pos < p.end && p.src[p.pos] == '/' {
		p.pos++
		start := p.pos
		p.pos = scanIdent(p.src, start, p.end)
		if p.pos == start {
			return nil, p.unexpected(start)
		}
		seg := p.src[start:p.pos]
		if p.pos < p.end && p.src[p.pos] == '(' {
			kind := strings.ToLower(seg)
			if kind != "any" && kind != "all" {
				return nil, p.errorf("Syntax error: unknown function '%s' %s", seg, p.at(start))
			}
			return p.parseLambda(&PropertyExpr{Path: path}, kind == "any", start)
		}
		path = append(path, seg)
	}
	return &PropertyExpr{Path: path}, p.advance()
}

func (p *parser) parseCall(t token) (Expr, error) {
	name := strings.ToLower(t.text)
	arity, ok := functions[name]
	if !ok {
		return nil, p.errorf("Syntax error: unknown function '%s' %s", t.text, p.at(t.pos))
	}
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil { // the '('
		return nil, err
	}
	args, err := p.parseArgs()
	if err != nil {
		return nil, err
	}
	if len(args) != arity {
		return nil, p.errorf("Function '%s' takes %d argument(s), not %d, %s", name, arity, len(args), p.at(t.pos))
	}
	p.leave()
	return &CallExpr{Func: name, Args: args}, p.advance()
}

// parseLambda parses "(var:body)" after collection/any or collection/all;
// p.pos is at the '('.
func (p *parser) parseLambda(coll *PropertyExpr, any bool, pos int) (Expr, error) {
	if err := p.enter(pos); err != nil {
		return nil, err
	}
	p.pos++
	if err := p.advance(); err != nil {
		return nil, err
	}
	v := p.tok
	lower := strings.ToLower(v.text)
	if v.kind != tokIdent || strings.Contains(v.text, ".") || reserved[lower] ||
		lower == "true" || lower == "false" || lower == "null" {
		return nil, p.unexpected(v.pos)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokColon {
		return nil, p.unexpected(p.tok.pos)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	body, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRParen {
		return nil, p.afterOperand()
	}
	p.leave()
	return &LambdaExpr{Collection: coll, Any: any, Var: v.text, Body: body}, p.advance()
}

func (p *parser) advance() error {
	t, err := p.lex()
	p.tok = t
	return err
}

func (p *parser) lex() (token, error) {
	p.skipSpace()
	start := p.pos
	if start >= p.end {
		return token{kind: tokEOF, pos: start}, nil
	}
	if k, ok := punctuation[p.src[start]]; ok {
		p.pos++
		return token{kind: k, pos: start}, nil
	}
	c := p.src[start]
	switch {
	case c == '\'':
		return p.lexString()
	case isGUID(p.src[start:p.end]):
		p.pos += 36
		return token{kind: tokLiteral, lit: LiteralGUID, pos: start, text: p.src[start:p.pos]}, nil
	case isDigit(c) || c == '-' && start+1 < p.end && isDigit(p.src[start+1]):
		if t, ok, err := p.lexDate(); ok || err != nil {
			return t, err
		}
		return p.lexNumber(), nil
	case isIdentStart(c):
		p.pos = scanIdent(p.src, start, p.end)
		return token{kind: tokIdent, pos: start, text: p.src[start:p.pos]}, nil
	}
	return token{kind: tokEOF, pos: start}, p.unexpected(start)
}

var punctuation = map[byte]tokenKind{'(': tokLParen, ')': tokRParen, ',': tokComma, ':': tokColon}

func (p *parser) lexString() (token, error) {
	start := p.pos
	var b strings.Builder
	i := start + 1
	for {
		j := strings.IndexByte(p.src[i:p.end], '\'')
		if j < 0 {
			return token{kind: tokEOF, pos: start}, p.errorf("Syntax error: unterminated string literal %s", p.at(start))
		}
		b.WriteString(p.src[i : i+j])
		i += j + 1
		if i < p.end && p.src[i] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		p.pos = i
		return token{kind: tokLiteral, lit: LiteralString, pos: start, text: b.String()}, nil
	}
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// isGUID reports whether s starts with a GUID that is not part of a longer word.
func isGUID(s string) bool {
	if len(s) < 36 || len(s) > 36 && isIdentChar(s[36]) {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for _, c := range []byte(s[i : i+n]) {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// lexDate lexes a date (2021-01-31) or a DateTimeOffset
// (2021-01-31T12:00[:00[.000]](Z|+01:00|-01:00)); ok is false if the input
// does not start with a date.
func (p *parser) lexDate() (t token, ok bool, err error) {
	start := p.pos
	s := p.src[start:p.end]
	if !digitsAt(s, 0, 4) || !strings.HasPrefix(s[4:], "-") || !digitsAt(s, 5, 2) || !strings.HasPrefix(s[7:], "-") || !digitsAt(s, 8, 2) {
		return token{}, false, nil
	}
	kind, n, check := LiteralDate, 10, s[:10]
	layout := time.DateOnly
	if n < len(s) && (s[n] == 'T' || s[n] == 't') {
		kind, layout = LiteralDateTime, time.RFC3339Nano
		n, check = scanTime(s, n+1)
	}
	if n < 0 || n < len(s) && isIdentChar(s[n]) {
		return token{}, true, p.errorf("Syntax error: invalid date/time literal %s", p.at(start))
	}
	if _, err := time.Parse(layout, check); err != nil {
		return token{}, true, p.errorf("Syntax error: invalid date/time literal '%s' %s", s[:n], p.at(start))
	}
	p.pos += n
	return token{kind: tokLiteral, lit: kind, pos: start, text: s[:n]}, true, nil
}

// scanTime scans the time and offset of a DateTimeOffset from s[i]. It returns
// the end (or -1) and the text normalized for time.RFC3339Nano.
func scanTime(s string, i int) (int, string) {
	if !digitsAt(s, i, 2) || !strings.HasPrefix(s[i+2:], ":") || !digitsAt(s, i+3, 2) {
		return -1, ""
	}
	i += 5
	check := strings.ToUpper(s[:i])
	if strings.HasPrefix(s[i:], ":") && digitsAt(s, i+1, 2) {
		j := i + 3
		if strings.HasPrefix(s[j:], ".") && digitsAt(s, j+1, 1) {
			for j++; j < len(s) && isDigit(s[j]); j++ {
			}
		}
		check += s[i:j]
		i = j
	} else {
		check += ":00"
	}
	switch {
	case i < len(s) && s[i]|0x20 == 'z':
		return i + 1, check + "Z"
	case i < len(s) && (s[i] == '+' || s[i] == '-') && digitsAt(s, i+1, 2) && strings.HasPrefix(s[i+3:], ":") && digitsAt(s, i+4, 2):
		return i + 6, check + s[i:i+6]
	}
	return -1, ""
}

func (p *parser) lexNumber() token {
	s, start, end := p.src, p.pos, p.end
	i := start + 1 // a sign or a digit
	for i < end && isDigit(s[i]) {
		i++
	}
	kind := LiteralInt
	if i+1 < end && s[i] == '.' && isDigit(s[i+1]) {
		kind = LiteralDecimal
		for i += 2; i < end && isDigit(s[i]); i++ {
		}
	}
	if i < end && s[i]|0x20 == 'e' {
		j := i + 1
		if j < end && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < end && isDigit(s[j]) {
			kind = LiteralDecimal
			for i = j + 1; i < end && isDigit(s[i]); i++ {
			}
		}
	}
	text := s[start:i]
	if _, err := strconv.ParseInt(text, 10, 64); kind == LiteralInt && err != nil {
		kind = LiteralDecimal
	}
	p.pos = i
	return token{kind: tokLiteral, lit: kind, pos: start, text: text}
}
