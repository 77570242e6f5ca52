package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

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
	writeJSON(&d.buf, v)
}

func writeString(buf *bytes.Buffer, s string) { writeJSON(buf, s) }

// writeJSON appends v without escaping <, > and &, which Graph leaves as they are (a nextLink's & included).
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
