package odata

import "strings"

// Search is a $search expression: *SearchTerm or *SearchBinary. String
// returns the canonical form, which parses back to an equal Search.
type Search interface {
	String() string
	isSearch()
}

// SearchTerm is a quoted "property:value" term. Value is everything after the
// first ':' with the escapes \" and \\ decoded; it is never empty.
type SearchTerm struct {
	Property, Value string
}

// SearchBinary combines two searches; Op is "AND" or "OR". AND binds tighter.
type SearchBinary struct {
	Op          string
	Left, Right Search
}

func (*SearchTerm) isSearch()   {}
func (*SearchBinary) isSearch() {}

func (s *SearchTerm) String() string   { return searchString(s) }
func (s *SearchBinary) String() string { return searchString(s) }

func searchPrecedence(s Search) int {
	if b, ok := s.(*SearchBinary); ok {
		if b.Op == "OR" {
			return precOr
		}
		return precAnd
	}
	return precPrimary
}

func searchString(s Search) string {
	var b strings.Builder
	writeSearch(&b, s, false)
	return b.String()
}

var searchEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func writeSearch(b *strings.Builder, s Search, paren bool) {
	if paren {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch s := s.(type) {
	case *SearchTerm:
		b.WriteByte('"')
		b.WriteString(searchEscaper.Replace(s.Property + ":" + s.Value))
		b.WriteByte('"')
	case *SearchBinary:
		p := searchPrecedence(s)
		writeSearch(b, s.Left, searchPrecedence(s.Left) < p)
		b.WriteString(" " + s.Op + " ")
		writeSearch(b, s.Right, searchPrecedence(s.Right) <= p)
	}
}

// parseSearch parses the whole range of p as a $search expression. The
// operators are accepted in any case; every term must be quoted.
func (p *parser) parseSearch() (Search, error) {
	s, err := p.parseSearchOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < p.end {
		return nil, p.searchAfterTerm()
	}
	return s, nil
}

// searchAfterTerm reports what follows a complete term where an operator or
// the end was expected.
func (p *parser) searchAfterTerm() *Error {
	e := p.pos
	for e < p.end && isLetter(p.src[e]) {
		e++
	}
	if e > p.pos {
		return p.errorf("Syntax error: unknown operator '%s' %s", p.src[p.pos:e], p.at(p.pos))
	}
	return p.unexpected(p.pos)
}

// searchKeyword consumes the operator k if it comes next.
func (p *parser) searchKeyword(k string) bool {
	p.skipSpace()
	e := p.pos
	for e < p.end && isLetter(p.src[e]) {
		e++
	}
	if !strings.EqualFold(p.src[p.pos:e], k) {
		return false
	}
	p.pos = e
	return true
}

func (p *parser) parseSearchOr() (Search, error) {
	left, err := p.parseSearchAnd()
	for err == nil && p.searchKeyword("OR") {
		var right Search
		right, err = p.parseSearchAnd()
		left = &SearchBinary{Op: "OR", Left: left, Right: right}
	}
	return left, err
}

func (p *parser) parseSearchAnd() (Search, error) {
	left, err := p.parseSearchPrimary()
	for err == nil && p.searchKeyword("AND") {
		var right Search
		right, err = p.parseSearchPrimary()
		left = &SearchBinary{Op: "AND", Left: left, Right: right}
	}
	return left, err
}

func (p *parser) parseSearchPrimary() (Search, error) {
	p.skipSpace()
	start := p.pos
	switch {
	case start < p.end && p.src[start] == '(':
		if err := p.enter(start); err != nil {
			return nil, err
		}
		p.pos++
		s, err := p.parseSearchOr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= p.end || p.src[p.pos] != ')' {
			return nil, p.searchAfterTerm()
		}
		p.pos++
		p.leave()
		return s, nil
	case start < p.end && p.src[start] == '"':
		return p.parseSearchTerm()
	}
	return nil, p.unexpected(start)
}

func (p *parser) parseSearchTerm() (Search, error) {
	start := p.pos
	var b strings.Builder
	for p.pos++; ; p.pos++ {
		if p.pos >= p.end {
			return nil, p.errorf("Syntax error: unterminated search term %s", p.at(start))
		}
		c := p.src[p.pos]
		if c == '"' {
			p.pos++
			break
		}
		if c == '\\' && p.pos+1 < p.end && (p.src[p.pos+1] == '"' || p.src[p.pos+1] == '\\') {
			p.pos++
			c = p.src[p.pos]
		}
		b.WriteByte(c)
	}
	prop, value, ok := strings.Cut(b.String(), ":")
	if !ok || prop == "" || scanIdent(prop, 0, len(prop)) != len(prop) || value == "" {
		return nil, p.errorf(`Syntax error: search term must have the form "property:value" %s`, p.at(start))
	}
	return &SearchTerm{Property: prop, Value: value}, nil
}
