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

// column is one member an object is written with: its key, already JSON-encoded, and where its value is.
type column struct {
	key []byte // "name":
	id  bool
	// index is the property's position in the kind's schema; -1 for a name the schema does not know,
	// written as null, as Graph does for a $select of a property the type lacks.
	index int
	// empty is written when the object lacks the property: [] for collections, else null.
	empty string
	// hidden properties (write-only ones) are always null.
	hidden bool
}

// columnsOf resolves a selection against a kind's schema once, rather than per object.
func columnsOf(k directory.Kind, sel []string) []column {
	schema := directory.SchemaOf(k)
	if sel == nil {
		sel = schema.DefaultSelect()
	}
	cols := make([]column, len(sel))
	for i, name := range sel {
		c := column{index: -1, empty: "null"}
		if name == "id" {
			c.id = true
		} else if p, ok := schema.Property(name); ok {
			name = p.Name
			c.index = schema.Index([]byte(p.Name))
			c.hidden = p.WriteOnly
			if p.Type == directory.TypeStrings || p.Type == directory.TypeObjects {
				c.empty = "[]"
			}
		}
		var key bytes.Buffer
		writeString(&key, name)
		key.WriteByte(':')
		c.key = key.Bytes()
		cols[i] = c
	}
	return cols
}

// defaultColumns are the columns of each kind without $select: most responses, resolved at start-up.
var defaultColumns = func() map[directory.Kind][]column {
	m := map[directory.Kind][]column{}
	for _, k := range directory.Kinds {
		m[k] = columnsOf(k, nil)
	}
	return m
}()

func (s shape) columns(k directory.Kind) []column {
	if s.sel == nil {
		if cols, ok := defaultColumns[k]; ok {
			return cols
		}
	}
	return columnsOf(k, s.sel)
}

// htmlEscapes are the escapes json.Marshal writes for <, > and &, which Graph leaves as they are: a stored
// value holding one is decoded and written again rather than copied.
var htmlEscapes = [][]byte{[]byte(`\u003c`), []byte(`\u003e`), []byte(`\u0026`)}

// object writes o's members (without the braces): @odata.type, then id and the selected properties.
// A kind the caller may not read keeps only @odata.type and id; its other properties are null. Properties
// read from a store are copied from their stored JSON without being decoded.
func (d *doc) object(o *directory.Object, s shape) {
	d.str("@odata.type", o.Kind.ODataType())
	readable := s.canRead == nil || s.canRead(o.Kind)
	var vals [directory.MaxProperties][]byte
	stored := readable && o.Props == nil && len(o.Stored) > 0
	schema := directory.SchemaOf(o.Kind)
	if stored {
		err := directory.EachMember(o.Stored, func(name, v []byte) bool {
			if i := schema.Index(name); i >= 0 {
				vals[i] = v
			}
			return true
		})
		if err != nil {
			// Stores keep valid JSON objects, so this is a damaged row: rather than copy from it, write what
			// decoding it yields, which is no properties when it cannot be decoded either.
			stored = false
			_ = o.Decode()
		}
	}
	for _, c := range s.columns(o.Kind) {
		d.buf.WriteByte(',')
		d.buf.Write(c.key)
		switch {
		case c.id:
			writeString(&d.buf, o.ID)
		case !readable || c.index < 0 || c.hidden:
			d.buf.WriteString("null")
		case stored:
			writeStored(&d.buf, vals[c.index], c.empty)
		default:
			v, ok := o.Props[schema.Properties[c.index].Name]
			if !ok {
				d.buf.WriteString(c.empty)
				continue
			}
			writeValue(&d.buf, v)
		}
	}
}

// writeStored copies a stored JSON value, or writes empty for a missing one.
func writeStored(buf *bytes.Buffer, v []byte, empty string) {
	if v == nil {
		buf.WriteString(empty)
		return
	}
	if bytes.IndexByte(v, '\\') >= 0 {
		for _, esc := range htmlEscapes {
			if bytes.Contains(v, esc) {
				var x any
				if json.Unmarshal(v, &x) == nil {
					writeValue(buf, x)
					return
				}
				break
			}
		}
	}
	buf.Write(v)
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
