// Package odata turns the OData system query options that Microsoft Graph
// clients send ($select, $expand, $filter, $orderby, $top, $skip, $skiptoken,
// $count, $search, $format) into a typed AST. It checks syntax only: the HTTP
// layer validates the AST against the schema of the resource being queried and
// the store turns it into SQL, so neither has to deal with percent-encoding,
// quoting, operator precedence or nesting. Expression nodes are pointers
// (*BinaryExpr, *SearchTerm, ...), and every parsed Query can be re-encoded in
// a canonical form (Query.Encode, Expr.String, Search.String) that parses back
// to an equal value.
package odata

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits that bound the work a single request can cause.
const (
	// MaxOptionLength is the maximum length in bytes of one decoded option value.
	MaxOptionLength = 4096
	// MaxDepth is the maximum nesting of parentheses, nested $expand options,
	// lambdas, function calls and "not" in one option value.
	MaxDepth = 32
	// MaxInList is the maximum number of items in the list of an "in" operator.
	MaxInList = 1000
)

// Error is a client error in the query string. Message is meant to be sent to
// the client as is.
type Error struct {
	Option  string // the option at fault, e.g. "$filter"
	Message string
}

func (e *Error) Error() string { return e.Message }

// parser holds the state shared by the parsers of all options. Positions are
// byte offsets into src, which is always the whole (decoded) value of a
// top-level option, so that errors in nested $expand options point into the
// text the client actually sent.
type parser struct {
	option         string
	optionalDollar bool
	src            string
	pos            int
	end            int // parsing stops here; less than len(src) inside nested options
	depth          int
	tok            token // lookahead of the $filter lexer
}

func newParser(option, src string, optionalDollar bool) *parser {
	return &parser{option: option, optionalDollar: optionalDollar, src: src, end: len(src)}
}

// sub returns a parser for src[start:end] that keeps the current depth.
func (p *parser) sub(start, end int) *parser {
	return &parser{option: p.option, optionalDollar: p.optionalDollar, src: p.src, pos: start, end: end, depth: p.depth}
}

func (p *parser) errorf(format string, args ...any) *Error {
	return &Error{Option: p.option, Message: fmt.Sprintf(format, args...)}
}

// at is the location suffix of positional messages; positions count runes so
// that they match what the client sees.
func (p *parser) at(pos int) string {
	return fmt.Sprintf("at position %d in '%s'.", utf8.RuneCountInString(p.src[:pos]), p.src)
}

// unexpected reports the character at pos as invalid.
func (p *parser) unexpected(pos int) *Error {
	if pos >= len(p.src) {
		return p.errorf("Syntax error: unexpected end of input %s", p.at(pos))
	}
	r, _ := utf8.DecodeRuneInString(p.src[pos:])
	return p.errorf("Syntax error: character '%c' is not valid %s", r, p.at(pos))
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf("Syntax error: nesting deeper than %d levels %s", MaxDepth, p.at(pos))
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (p *parser) skipSpace() {
	for p.pos < p.end && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isIdentStart(c byte) bool { return isLetter(c) || c == '_' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// scanIdent returns the end of the identifier starting at s[pos], or pos if
// there is none. Dots are allowed between parts so that namespace-qualified
// names (type casts such as microsoft.graph.user) are single identifiers.
func scanIdent(s string, pos, end int) int {
	if pos >= end || !isIdentStart(s[pos]) {
		return pos
	}
	i := pos + 1
	for i < end {
		switch {
		case isIdentChar(s[i]):
			i++
		case s[i] == '.' && i+1 < end && isIdentStart(s[i+1]):
			i += 2
		default:
			return i
		}
	}
	return i
}

// parsePath parses identifiers separated by '/' without surrounding spaces.
func (p *parser) parsePath() (string, error) {
	start := p.pos
	for {
		e := scanIdent(p.src, p.pos, p.end)
		if e == p.pos {
			return "", p.unexpected(p.pos)
		}
		p.pos = e
		if p.pos >= p.end || p.src[p.pos] != '/' {
			return p.src[start:p.pos], nil
		}
		p.pos++
	}
}

// itemStart skips to the next item of a comma-separated list and rejects an
// empty one.
func (p *parser) itemStart(name string) error {
	p.skipSpace()
	if p.pos >= p.end || p.src[p.pos] == ',' {
		return p.errorf("Syntax error: empty item in '%s' %s", name, p.at(p.pos))
	}
	return nil
}

// itemEnd consumes the separator after an item and reports whether another
// item follows.
func (p *parser) itemEnd() (bool, error) {
	p.skipSpace()
	if p.pos >= p.end {
		return false, nil
	}
	if p.src[p.pos] != ',' {
		return false, p.unexpected(p.pos)
	}
	p.pos++
	return true, nil
}

func (p *parser) parseSelect(name string) ([]string, error) {
	var items []string
	for more := true; more; {
		if err := p.itemStart(name); err != nil {
			return nil, err
		}
		item := "*"
		if p.src[p.pos] == '*' {
			p.pos++
		} else {
			var err error
			if item, err = p.parsePath(); err != nil {
				return nil, err
			}
		}
		items = append(items, item)
		var err error
		if more, err = p.itemEnd(); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (p *parser) parseOrderBy(name string) ([]OrderBy, error) {
	var items []OrderBy
	for more := true; more; {
		if err := p.itemStart(name); err != nil {
			return nil, err
		}
		prop, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		item := OrderBy{Property: prop}
		// The direction must be separated by space, otherwise it is part of
		// the property name.
		if p.pos < p.end && isSpace(p.src[p.pos]) {
			p.skipSpace()
			e := scanIdent(p.src, p.pos, p.end)
			switch strings.ToLower(p.src[p.pos:e]) {
			case "asc":
				p.pos = e
			case "desc":
				item.Desc = true
				p.pos = e
			}
		}
		items = append(items, item)
		if more, err = p.itemEnd(); err != nil {
			return nil, err
		}
	}
	return items, nil
}
