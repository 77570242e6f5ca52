package transfer

import (
	"unicode/utf8"
)

// maxFastDepth bounds the nesting decodeFast follows; deeper values go to decode, which has its own limit.
const maxFastDepth = 32

// decodeFast decodes a line of the usual shape several times faster than decode, which is what reading a
// file of a million lines mostly costs. It takes only what it is sure decode would read the same way: field
// names in their exact spelling, each once; strings of valid UTF-8 without escapes; true, false, null, lists
// and objects without repeated names; no numbers. For anything else it returns false, and the caller uses decode,
// whose result and messages are the reference (FuzzDecodeFast checks the two agree).
//
// The line is copied into one string and every string of the record is a slice of it: one allocation per
// line instead of one per value. The properties are decoded into props, which must be empty, so that a
// caller who copies them elsewhere (as directory.CheckProps does) can use one map for every line.
func decodeFast(b []byte, props map[string]any) (record, bool) {
	p := scanner{s: string(b)}
	var rec record
	p.space()
	if !p.eat('{') {
		return record{}, false
	}
	p.space()
	if !p.eat('}') {
		var seen uint8
		for {
			p.space()
			name, ok := p.str()
			if !ok {
				return record{}, false
			}
			p.space()
			if !p.eat(':') {
				return record{}, false
			}
			p.space()
			var bit uint8
			switch name {
			case "kind":
				bit = 1
				rec.Kind, ok = p.str()
			case "id":
				bit = 2
				rec.ID, ok = p.str()
			case "props":
				bit = 4
				rec.Props, ok = p.object(1, props)
			case "manager":
				bit = 8
				rec.Manager, ok = p.str()
			case "user":
				bit = 16
				rec.User, ok = p.str()
			case "sponsor":
				bit = 32
				rec.Sponsor, ok = p.str()
			default:
				return record{}, false
			}
			if !ok || seen&bit != 0 {
				return record{}, false
			}
			seen |= bit
			p.space()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return record{}, false
			}
		}
	}
	p.space()
	if p.i != len(p.s) {
		return record{}, false
	}
	return rec, true
}

// scanner reads JSON from s at i.
type scanner struct {
	s string
	i int
}

// space skips JSON white space.
func (p *scanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *scanner) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid UTF-8.
func (p *scanner) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start, ascii := p.i, true
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			return v, ascii || utf8.ValidString(v)
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// value reads any value decodeFast takes, as encoding/json decodes it into an interface.
func (p *scanner) value(depth int) (any, bool) {
	switch p.peek() {
	case '"':
		return p.str()
	case '{':
		return p.object(depth+1, map[string]any{})
	case '[':
		return p.array(depth + 1)
	}
	for _, lit := range [...]struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(p.s)-p.i >= len(lit.text) && p.s[p.i:p.i+len(lit.text)] == lit.text {
			p.i += len(lit.text)
			return lit.v, true
		}
	}
	return nil, false
}

// object reads an object into m, which must be empty.
func (p *scanner) object(depth int, m map[string]any) (map[string]any, bool) {
	if depth > maxFastDepth || !p.eat('{') {
		return nil, false
	}
	p.space()
	if p.eat('}') {
		return m, true
	}
	for {
		p.space()
		name, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if !p.eat(':') {
			return nil, false
		}
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		if _, dup := m[name]; dup {
			return nil, false
		}
		m[name] = v
		p.space()
		if p.eat('}') {
			return m, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

func (p *scanner) array(depth int) ([]any, bool) {
	if depth > maxFastDepth || !p.eat('[') {
		return nil, false
	}
	list := []any{}
	p.space()
	if p.eat(']') {
		return list, true
	}
	for {
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		list = append(list, v)
		p.space()
		if p.eat(']') {
			return list, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}
