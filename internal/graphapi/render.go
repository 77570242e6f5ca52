package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/orgraph/orgraph/internal/directory"
)

// doc builds one JSON object with keys in the order they are added: Graph's responses list @odata
// annotations first and properties in schema order, and some clients and snapshot tests depend on it.
type doc struct{ buf bytes.Buffer }

func (d *doc) open()  { d.buf.WriteByte('{') }
func (d *doc) close() { d.buf.WriteByte('}') }

func (d *doc) key(k string) {
	if b := d.buf.Bytes(); len(b) > 0 && b[len(b)-1] != '{' && b[len(b)-1] != '[' {
		d.buf.WriteByte(',')
	}
	writeString(&d.buf, k)
	d.buf.WriteByte(':')
}

func (d *doc) str(k, v string) {
	d.key(k)
	writeString(&d.buf, v)
}

func (d *doc) value(k string, v any) {
	d.key(k)
	writeValue(&d.buf, v)
}

// writeValue appends v as JSON. Property values are nearly always strings, booleans or lists of strings, so
// those are written directly; encoding/json, which costs an encoder and reflection per value, is kept for the rest.
func writeValue(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		buf.WriteString("null")
	case string:
		writeString(buf, v)
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeValue(buf, e)
		}
		buf.WriteByte(']')
	default:
		writeJSON(buf, v)
	}
}

// writeString appends s as a JSON string, escaping what JSON requires and leaving <, > and & alone, as Graph
// does (a nextLink's & included). Invalid UTF-8 becomes U+FFFD, as encoding/json would make it.
func writeString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			switch r {
			case '\u2028':
				buf.WriteString(`\u2028`)
			case '\u2029':
				buf.WriteString(`\u2029`)
			default:
				buf.WriteString(`\ufffd`)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// writeJSON appends v with encoding/json, without escaping <, > and &.
func writeJSON(buf *bytes.Buffer, v any) {
	n := buf.Len()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Truncate(n)
		buf.WriteString("null")
		return
	}
	buf.Truncate(buf.Len() - 1) // Encode ends with a newline
}

// shape says how to render directory objects: which properties, and how deep a manager chain goes.
type shape struct {
	// sel lists the properties to write; nil means the kind's default set.
	sel []string
	// canRead reports whether the caller may see the properties of a kind (Graph's limited-information rule).
	canRead func(directory.Kind) bool
}

func (s shape) props(k directory.Kind) []string {
	if s.sel != nil {
		return s.sel
	}
	return directory.SchemaOf(k).DefaultSelect()
}

// object writes o's members (without the braces): @odata.type, then id and the selected properties.
// A kind the caller may not read keeps only @odata.type and id; its other properties are null.
func (d *doc) object(o *directory.Object, s shape) {
	d.str("@odata.type", o.Kind.ODataType())
	readable := s.canRead == nil || s.canRead(o.Kind)
	schema := directory.SchemaOf(o.Kind)
	for _, name := range s.props(o.Kind) {
		if name == "id" {
			d.str("id", o.ID)
			continue
		}
		p, known := schema.Property(name)
		if known {
			name = p.Name
		}
		if !readable || !known || p.WriteOnly {
			d.value(name, nil)
			continue
		}
		v, ok := o.Props[name]
		if !ok {
			if p.Type == directory.TypeStrings || p.Type == directory.TypeObjects {
				v = []any{}
			}
		}
		d.value(name, v)
	}
}

// list writes a JSON array of objects under key k.
func (d *doc) list(k string, objs []*directory.Object, s shape) {
	d.key(k)
	d.buf.WriteByte('[')
	for i, o := range objs {
		if i > 0 {
			d.buf.WriteByte(',')
		}
		d.open()
		d.object(o, s)
		d.close()
	}
	d.buf.WriteByte(']')
}

func writeDoc(w http.ResponseWriter, status int, d *doc) error {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(d.buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(d.buf.Bytes())
	return err
}

// contextURL is the @odata.context of a response: the service root's $metadata, then what the payload is.
func contextURL(base, what string, sel []string) string {
	if len(sel) > 0 {
		set, entity := what, ""
		if strings.HasSuffix(what, "/$entity") {
			set, entity = strings.TrimSuffix(what, "/$entity"), "/$entity"
		}
		what = set + "(" + strings.Join(sel, ",") + ")" + entity
	}
	return base + "/$metadata#" + what
}
