// Package sqlquery turns a directory.ListQuery (its kinds, filter, search, order and cursor) into SQL for
// the stores, in SQLite's or PostgreSQL's dialect. Every value from the query is a bind parameter; the SQL
// text holds only fixed words and schema property names, so no client input reaches it. The queries run
// against the objects table both stores share: props holds the Graph properties as JSON and search_tokens
// the $search tokens SearchTokens computes when an object is written.
//
// Strings compare case-insensitively through lower() on both sides (ASCII only in SQLite without ICU), and
// sort by the same lower-cased key, null sorting as the empty string, in byte order. The stores index that
// key for the properties Graph sorts by, so that a sorted page, and a startsWith on such a property, read
// an index range. Keyset paging compares (sort key, id) with the cursor's as a row value.
package sqlquery

import (
	"slices"
	"strconv"
	"strings"

	"github.com/orgraph/orgraph/internal/directory"
)

// Dialect is what differs between the SQL of the stores.
type Dialect struct {
	// param is the placeholder of the n-th argument, from 1.
	param func(n int) string
	// text is the JSON property's value as SQL text, NULL when unset.
	text func(prop string) string
	// boolean is the JSON property's value as an SQL value that compares with a bound bool.
	boolean func(prop string) string
	// elements is a FROM item whose rows are the strings of the collection property, as alias.value.
	elements func(prop, alias string) string
	// bytewise makes an expression compare and sort by code point (byte order of UTF-8).
	bytewise func(expr string) string
	// maxChar is an SQL expression for the largest code point, U+10FFFF.
	maxChar string
	// keyColumns names the columns that hold a property's sort key (SortKey), where the store has them.
	keyColumns map[string]string
}

// SQLite is the dialect of the embedded store: ?NNN parameters, json_extract and json_each. Its default
// collation (BINARY) already orders by bytes. The sort keys of the properties Graph sorts by are virtual
// generated columns, indexed after tenant and kind: SQLite seeks an index to a (key, id) row value only on
// columns, not on expressions, and without the seek a page after many equal keys would read them all.
var SQLite = &Dialect{
	param:    func(n int) string { return "?" + strconv.Itoa(n) },
	text:     func(prop string) string { return "json_extract(props, '$." + prop + "')" },
	boolean:  func(prop string) string { return "json_extract(props, '$." + prop + "')" },
	elements: func(prop, alias string) string { return "json_each(props, '$." + prop + "') AS " + alias },
	bytewise: func(expr string) string { return expr },
	maxChar:  "char(1114111)",
	keyColumns: map[string]string{
		"displayName": "key_display_name", "userPrincipalName": "key_upn", "createdDateTime": "key_created",
	},
}

// Postgres is the dialect of the PostgreSQL store: $n parameters, ->> on the jsonb props and
// jsonb_array_elements_text. Sort keys and date-times are COLLATE "C", so that they order as in SQLite
// whatever the database's locale.
var Postgres = &Dialect{
	param:   func(n int) string { return "$" + strconv.Itoa(n) },
	text:    func(prop string) string { return "(props->>'" + prop + "')" },
	boolean: func(prop string) string { return "(props->>'" + prop + "')::boolean" },
	elements: func(prop, alias string) string {
		return "jsonb_array_elements_text(props->'" + prop + "') AS " + alias + "(value)"
	},
	bytewise: func(expr string) string { return expr + ` COLLATE "C"` },
	maxChar:  "chr(1114111)",
}

// SortKey is a property's sort key in the dialect: the expression a store indexes (or holds in a key
// column) to serve $orderby, and startsWith or eq on a string. It is the lower-cased value for a string and
// the value for a date-time, the empty string for null, compared in byte order. An index must be on this
// very expression for the database to use it.
func (d *Dialect) SortKey(prop string, dateTime bool) string {
	if dateTime {
		return d.bytewise("coalesce(" + d.text(prop) + ", '')")
	}
	return d.key(d.text(prop))
}

// keyOf is what the queries write for a property's sort key: its key column, or the expression.
func (d *Dialect) keyOf(prop string, dateTime bool) string {
	if col := d.keyColumns[prop]; col != "" {
		return col
	}
	return d.SortKey(prop, dateTime)
}

// key is the case-insensitive comparison and sort key of a string expression; never NULL.
func (d *Dialect) key(expr string) string {
	return d.bytewise("coalesce(lower(" + expr + "), '')")
}

// Builder builds the conditions and tail of one statement, collecting its arguments.
type Builder struct {
	d      *Dialect
	args   []any
	sql    strings.Builder
	lambda int // numbers the aliases of any()
	// bounded is the property whose sort key the cursor bounds, on the side given by desc (see str).
	bounded string
	desc    bool
}

// New starts a statement in dialect d.
func New(d *Dialect) *Builder { return &Builder{d: d} }

// Arg adds a bind argument and returns its placeholder.
func (b *Builder) Arg(v any) string {
	b.args = append(b.args, v)
	return b.d.param(len(b.args))
}

// Args returns the arguments in placeholder order.
func (b *Builder) Args() []any { return b.args }

// Kinds returns " AND col IN (...)" keeping the objects of kinds, or "" when every kind passes. col is
// normally kind; a store may write it so as to steer its planner away from an index.
func (b *Builder) Kinds(col string, kinds []directory.Kind) string {
	var distinct []directory.Kind
	for _, k := range kinds {
		if !slices.Contains(distinct, k) {
			distinct = append(distinct, k)
		}
	}
	if len(distinct) == 0 || len(distinct) == len(directory.Kinds) {
		return ""
	}
	list := make([]string, len(distinct))
	for i, k := range distinct {
		list[i] = b.Arg(string(k))
	}
	return " AND " + col + " IN (" + strings.Join(list, ", ") + ")"
}

// Where returns the conditions of q's filter and search, each as " AND (...)"; "" when there are none.
func (b *Builder) Where(q directory.ListQuery) string {
	if q.Order != nil && !q.After.IsZero() {
		b.bounded, b.desc = q.Order.Prop, q.Order.Desc
	}
	var out string
	for _, c := range []directory.Cond{q.Filter, q.Search} {
		if c != nil {
			b.sql.Reset()
			b.cond(c, false, "")
			out += " AND " + b.sql.String()
		}
	}
	return out
}

// Page returns what follows the conditions of a listing: the keyset condition of q.After (" AND ..."),
// ORDER BY and, when q has a Limit, LIMIT.
func (b *Builder) Page(q directory.ListQuery) string {
	var s strings.Builder
	key, dir, cmp := "", " ASC", ">"
	if q.Order != nil {
		key = b.d.keyOf(q.Order.Prop, q.Order.Type == directory.TypeDateTime)
		if q.Order.Desc {
			dir, cmp = " DESC", "<"
		}
	}
	if !q.After.IsZero() {
		id := b.Arg(q.After.ID)
		if q.Order == nil {
			s.WriteString(" AND id " + cmp + " " + id)
		} else {
			k := b.Arg(q.After.Key)
			if q.Order.Type != directory.TypeDateTime {
				k = "lower(" + k + ")"
			}
			s.WriteString(" AND (" + key + ", id) " + cmp + " (" + k + ", " + id + ")")
		}
	}
	s.WriteString(" ORDER BY ")
	if key != "" {
		s.WriteString(key + dir + ", ")
	}
	s.WriteString("id" + dir)
	if q.Limit > 0 {
		s.WriteString(" LIMIT " + b.Arg(q.Limit))
	}
	return s.String()
}

func (b *Builder) w(parts ...string) {
	for _, p := range parts {
		b.sql.WriteString(p)
	}
}

// cond writes c, or its negation when neg, as a condition that is never NULL: a comparison with a null
// property is false and its negation true, as OData has it, where SQL would make both NULL. elem is the
// element's expression inside any().
func (b *Builder) cond(c directory.Cond, neg bool, elem string) {
	switch c := c.(type) {
	case *directory.And, *directory.Or:
		l, r, and := operands(c)
		op := " AND "
		if and == neg { // De Morgan
			op = " OR "
		}
		b.w("(")
		b.cond(l, neg, elem)
		b.w(op)
		b.cond(r, neg, elem)
		b.w(")")
	case *directory.Not:
		b.cond(c.X, !neg, elem)
	case *directory.Any:
		b.lambda++
		alias := "j" + strconv.Itoa(b.lambda)
		if neg {
			b.w("NOT ")
		}
		b.w("EXISTS (SELECT 1 FROM ", b.d.elements(c.Prop, alias), " WHERE ")
		b.cond(c.Cond, false, alias+".value")
		b.w(")")
	case *directory.Tokens:
		b.tokens(c, neg)
	case *directory.Compare:
		b.compare(c, neg, elem)
	}
}

func operands(c directory.Cond) (l, r directory.Cond, and bool) {
	if a, ok := c.(*directory.And); ok {
		return a.L, a.R, true
	}
	o := c.(*directory.Or)
	return o.L, o.R, false
}

// tokens writes a search term: each token starts a token of the property in search_tokens.
func (b *Builder) tokens(c *directory.Tokens, neg bool) {
	toks := c.Tokens
	if len(toks) == 0 {
		toks = []string{""}
	}
	if neg {
		b.w("NOT ")
	}
	b.w("(")
	for i, t := range toks {
		if i > 0 {
			b.w(" AND ")
		}
		b.w("search_tokens LIKE ", b.Arg("% "+tokenPrefix(c.Prop)+escapeLike(t)+"%"), ` ESCAPE '\'`)
	}
	b.w(")")
}

func (b *Builder) compare(c *directory.Compare, neg bool, elem string) {
	var expr string
	nullable := true
	switch {
	case c.Prop == "":
		expr, nullable = elem, false
	case c.Prop == directory.IDProperty:
		expr, nullable = "id", false
	case c.Type == directory.TypeBool:
		expr = b.d.boolean(c.Prop)
	default:
		expr = b.d.text(c.Prop)
	}
	if c.Op == directory.OpNull {
		b.w(expr, " IS ")
		if neg {
			b.w("NOT ")
		}
		b.w("NULL")
		return
	}
	switch {
	case neg && nullable:
		b.w("(", expr, " IS NULL OR NOT (")
		defer b.w("))")
	case neg:
		b.w("NOT (")
		defer b.w(")")
	}
	switch {
	case c.Type == directory.TypeString && c.Prop == "":
		b.str(c, expr, b.d.key(expr))
	case c.Type == directory.TypeString && c.Prop != directory.IDProperty:
		b.str(c, expr, b.d.keyOf(c.Prop, false))
	case c.Type == directory.TypeDateTime:
		b.values(c, b.d.bytewise(expr))
	default:
		b.values(c, expr)
	}
}

var compareOps = map[directory.Op]string{
	directory.OpEq: " = ", directory.OpLt: " < ", directory.OpLe: " <= ", directory.OpGt: " > ", directory.OpGe: " >= ",
}

// values writes a comparison that needs no case folding: bools, date-times and ids.
func (b *Builder) values(c *directory.Compare, expr string) {
	if c.Op == directory.OpIn {
		b.w(expr, " IN (")
		for i, v := range c.Values {
			if i > 0 {
				b.w(", ")
			}
			b.w(b.Arg(v))
		}
		b.w(")")
		return
	}
	b.w(expr, compareOps[c.Op], b.Arg(c.Values[0]))
}

// str writes a case-insensitive string comparison of expr on its sort key, key, so that an index on the key
// serves it. The key of null is "", so the empty string is compared exactly, and an empty prefix or suffix
// only asks for a value.
func (b *Builder) str(c *directory.Compare, expr, key string) {
	first, _ := c.Values[0].(string)
	switch c.Op {
	case directory.OpEq:
		if first == "" {
			b.w(expr, " = ", b.Arg(""))
		} else {
			b.w(key, " = lower(", b.Arg(first), ")")
		}
	case directory.OpIn:
		var parts, ins []string
		for _, v := range c.Values {
			if s, _ := v.(string); s == "" {
				parts = append(parts, expr+" = "+b.Arg(""))
			} else {
				ins = append(ins, "lower("+b.Arg(s)+")")
			}
		}
		if len(ins) > 0 {
			parts = append(parts, key+" IN ("+strings.Join(ins, ", ")+")")
		}
		b.w("(", strings.Join(parts, " OR "), ")")
	case directory.OpStartsWith:
		if first == "" {
			b.w(expr, " IS NOT NULL")
			return
		}
		// A range on the key, which an index can serve: the strings that start with p are those from p up to,
		// not including, p followed by the largest code point. When the page's cursor bounds the same key on
		// one side, that side is written as an exact test an index cannot use, so that the database seeks to
		// the cursor rather than to the start of the range.
		p := b.Arg(first)
		lo, hi := key+" >= lower("+p+")", key+" < lower("+p+") || "+b.d.maxChar
		if c.Prop == b.bounded {
			exact := "substr(" + key + ", 1, length(lower(" + p + "))) = lower(" + p + ")"
			if b.desc {
				hi = exact
			} else {
				lo = exact
			}
		}
		b.w("(", lo, " AND ", hi, ")")
	case directory.OpEndsWith:
		if first == "" {
			b.w(expr, " IS NOT NULL")
			return
		}
		b.w(key, " LIKE lower(", b.Arg("%"+escapeLike(first)), `) ESCAPE '\'`)
	}
}

// escapeLike escapes the wildcards of LIKE (with ESCAPE '\') in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// tokenPrefix is what precedes a property's tokens in search_tokens.
func tokenPrefix(prop string) string { return strings.ToLower(prop) + ":" }

// SearchTokens is the search_tokens column of o: " prop:token" for every token (directory.Tokenize) of every
// property that $search tokenizes on some kind, so that a $search term is a LIKE on it.
func SearchTokens(o *directory.Object) string {
	var s strings.Builder
	for _, name := range searchProps {
		for _, t := range directory.Tokenize(o.String(name)) {
			s.WriteString(" " + tokenPrefix(name) + t)
		}
	}
	return s.String()
}

// searchProps are the names of the tokenized properties of every kind; an object has only its kind's.
var searchProps = func() []string {
	var names []string
	for _, k := range directory.Kinds {
		for _, p := range directory.SchemaOf(k).Properties {
			if p.Search && !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
	}
	return names
}()

// InOrder returns the objects of found in the order of ids (as Tx.GetMany promises), skipping ids that
// found lacks; a query with IN or ANY returns rows in whatever order the database likes.
func InOrder(ids []string, found []*directory.Object) []*directory.Object {
	byID := make(map[string]*directory.Object, len(found))
	for _, o := range found {
		byID[o.ID] = o
	}
	out := make([]*directory.Object, 0, len(found))
	for _, id := range ids {
		if o, ok := byID[id]; ok {
			out = append(out, o)
		}
	}
	return out
}
