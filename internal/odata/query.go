package odata

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LevelsMax is the value of Expand.Levels for "$levels=max".
const LevelsMax = -1

// Query holds the system query options of one request.
type Query struct {
	Select    []string // nil when absent; property names or paths as written, or "*"
	Expand    []Expand // nil when absent
	Filter    Expr     // nil when absent
	OrderBy   []OrderBy
	Top       int // 0 unless HasTop
	HasTop    bool
	Skip      int // 0 unless HasSkip
	HasSkip   bool
	SkipToken string // decoded but otherwise opaque
	Count     bool   // false unless HasCount
	HasCount  bool
	Search    Search // nil when absent
	Format    string
}

// Expand is one item of an $expand list with its nested options.
type Expand struct {
	Property  string // navigation property, possibly with a type cast: "directReports/microsoft.graph.user"
	Levels    int    // LevelsMax for "max"; the range is the caller's to check
	HasLevels bool
	Select    []string
	Filter    Expr
	OrderBy   []OrderBy
	Top       int
	HasTop    bool
	Count     bool
	HasCount  bool
	Expand    []Expand
}

// OrderBy is one item of an $orderby list.
type OrderBy struct {
	Property string // property name or path
	Desc     bool
}

// topLevelOptions are the options Parse accepts, lower case with the '$'.
var topLevelOptions = map[string]bool{
	"$select": true, "$expand": true, "$filter": true, "$orderby": true, "$top": true,
	"$skip": true, "$skiptoken": true, "$count": true, "$search": true, "$format": true,
}

// expandOptions are the options accepted inside the parentheses of an $expand item.
var expandOptions = map[string]bool{
	"$select": true, "$expand": true, "$filter": true, "$orderby": true, "$top": true,
	"$count": true, "$levels": true,
}

// Parse parses the raw query string of a request (r.URL.RawQuery). It decodes
// percent-encoding itself, so both the Go SDK's fully encoded form
// (%24expand=manager%28%24levels%3Dmax%29) and the unencoded form sent by
// browsers work; as in any query string, '+' stands for a space. Parameters
// that are not system query options are left to the caller, e.g. "@id".
// Option names are case-insensitive. When optionalDollar is true (Graph beta)
// names without the '$' prefix are accepted too, also inside $expand. A
// repeated option is an error; all errors are *Error.
func Parse(rawQuery string, optionalDollar bool) (*Query, error) {
	q := &Query{}
	seen := make(map[string]bool)
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, &Error{Option: rawKey, Message: "Invalid percent-encoding in query parameter name '" + rawKey + "'."}
		}
		name := strings.ToLower(key)
		if !strings.HasPrefix(name, "$") {
			if !optionalDollar || !topLevelOptions["$"+name] {
				continue
			}
			name = "$" + name
		}
		if !topLevelOptions[name] {
			return nil, &Error{Option: key, Message: "Query option '" + key + "' is not supported."}
		}
		if seen[name] {
			return nil, &Error{Option: name, Message: "Query option '" + name + "' was specified more than once."}
		}
		seen[name] = true
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, &Error{Option: name, Message: "Invalid percent-encoding in query option '" + name + "'."}
		}
		if err := checkValue(name, value); err != nil {
			return nil, err
		}
		if err := q.set(name, value, optionalDollar); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// checkValue applies the checks every option value gets before parsing.
func checkValue(name, value string) error {
	switch {
	case value == "":
		return &Error{Option: name, Message: "Query option '" + name + "' has an empty value."}
	case len(value) > MaxOptionLength:
		return &Error{Option: name, Message: "Query option '" + name + "' is longer than " + strconv.Itoa(MaxOptionLength) + " bytes."}
	case !utf8.ValidString(value):
		return &Error{Option: name, Message: "Query option '" + name + "' is not valid UTF-8."}
	}
	return nil
}

func (q *Query) set(name, value string, optionalDollar bool) error {
	p := newParser(name, value, optionalDollar)
	var err error
	switch name {
	case "$select":
		q.Select, err = p.parseSelect(name)
	case "$expand":
		q.Expand, err = p.parseExpand()
	case "$filter":
		q.Filter, err = p.parseFilter()
	case "$orderby":
		q.OrderBy, err = p.parseOrderBy(name)
	case "$top":
		q.Top, err = parseNonNegative(name, value)
		q.HasTop = true
	case "$skip":
		q.Skip, err = parseNonNegative(name, value)
		q.HasSkip = true
	case "$skiptoken":
		q.SkipToken = value
	case "$count":
		q.Count, err = parseBool(name, value)
		q.HasCount = true
	case "$search":
		q.Search, err = p.parseSearch()
	case "$format":
		q.Format = value
	}
	return err
}

func trimSpace(s string) string { return strings.Trim(s, " \t\r\n") }

func parseNonNegative(name, value string) (int, error) {
	s := trimSpace(value)
	ok := s != ""
	for i := 0; ok && i < len(s); i++ {
		ok = isDigit(s[i])
	}
	if ok {
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
	}
	return 0, &Error{Option: name, Message: "Invalid " + name + " value '" + value + "'."}
}

func parseBool(name, value string) (bool, error) {
	switch strings.ToLower(trimSpace(value)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &Error{Option: name, Message: "Invalid " + name + " value '" + value + "'."}
}

func (p *parser) parseExpand() ([]Expand, error) {
	var items []Expand
	for more := true; more; {
		if err := p.itemStart("$expand"); err != nil {
			return nil, err
		}
		item, err := p.parseExpandItem()
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if more, err = p.itemEnd(); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (p *parser) parseExpandItem() (Expand, error) {
	var item Expand
	if p.src[p.pos] == '*' {
		item.Property = "*"
		p.pos++
	} else {
		var err error
		if item.Property, err = p.parsePath(); err != nil {
			return item, err
		}
	}
	p.skipSpace()
	if p.pos >= p.end || p.src[p.pos] != '(' {
		return item, nil
	}
	if err := p.enter(p.pos); err != nil {
		return item, err
	}
	p.pos++
	seen := make(map[string]bool)
	for {
		p.skipSpace()
		nameStart := p.pos
		if p.pos < p.end && p.src[p.pos] == '$' {
			p.pos++
		}
		for p.pos < p.end && isLetter(p.src[p.pos]) {
			p.pos++
		}
		written := p.src[nameStart:p.pos]
		name := strings.ToLower(written)
		if name == "" || name == "$" {
			return item, p.unexpected(p.pos)
		}
		if !strings.HasPrefix(name, "$") && p.optionalDollar {
			name = "$" + name
		}
		if !expandOptions[name] {
			return item, p.errorf("Query option '%s' is not supported inside $expand %s", written, p.at(nameStart))
		}
		if seen[name] {
			return item, p.errorf("Query option '%s' was specified more than once %s", name, p.at(nameStart))
		}
		seen[name] = true
		p.skipSpace()
		if p.pos >= p.end || p.src[p.pos] != '=' {
			return item, p.unexpected(p.pos)
		}
		p.pos++
		valueEnd, err := p.scanValueEnd()
		if err != nil {
			return item, err
		}
		if err := p.sub(p.pos, valueEnd).setExpandOption(&item, name); err != nil {
			return item, err
		}
		p.pos = valueEnd
		if p.pos >= p.end {
			return item, p.unexpected(p.pos)
		}
		p.pos++
		if p.src[p.pos-1] == ')' {
			p.leave()
			return item, nil
		}
	}
}

// scanValueEnd finds the end of a nested option value that starts at p.pos:
// the first ';' or ')' outside parentheses and string literals.
func (p *parser) scanValueEnd() (int, error) {
	depth := 0
	for i := p.pos; i < p.end; i++ {
		switch p.src[i] {
		case '\'':
			// A doubled quote inside a literal just ends and reopens it here.
			j := strings.IndexByte(p.src[i+1:p.end], '\'')
			if j < 0 {
				return 0, p.errorf("Syntax error: unterminated string literal %s", p.at(i))
			}
			i += j + 1
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return i, nil
			}
			depth--
		case ';':
			if depth == 0 {
				return i, nil
			}
		}
	}
	return p.end, nil
}

// setExpandOption parses the whole range of p as the value of the nested option name.
func (p *parser) setExpandOption(item *Expand, name string) error {
	value := p.src[p.pos:p.end]
	var err error
	switch name {
	case "$select":
		item.Select, err = p.parseSelect(name)
	case "$expand":
		item.Expand, err = p.parseExpand()
	case "$filter":
		item.Filter, err = p.parseFilter()
	case "$orderby":
		item.OrderBy, err = p.parseOrderBy(name)
	case "$top":
		item.Top, err = parseNonNegative(name, value)
		item.HasTop = true
	case "$count":
		item.Count, err = parseBool(name, value)
		item.HasCount = true
	case "$levels":
		if strings.EqualFold(trimSpace(value), "max") {
			item.Levels = LevelsMax
		} else {
			item.Levels, err = parseNonNegative(name, value)
		}
		item.HasLevels = true
	}
	if e, ok := err.(*Error); ok {
		// Errors from the value parsers name the nested option; report the
		// top-level one the client can find in its query string.
		e.Option = p.option
	}
	return err
}

// Encode returns q as a canonical raw query string that Parse turns back into
// an equal Query, whether or not optionalDollar is set.
func (q *Query) Encode() string {
	var parts []string
	add := func(name, value string) {
		parts = append(parts, name+"="+escape(value))
	}
	if len(q.Select) > 0 {
		add("$select", strings.Join(q.Select, ","))
	}
	if len(q.Expand) > 0 {
		add("$expand", encodeExpand(q.Expand))
	}
	if q.Filter != nil {
		add("$filter", q.Filter.String())
	}
	if len(q.OrderBy) > 0 {
		add("$orderby", encodeOrderBy(q.OrderBy))
	}
	if q.HasTop {
		add("$top", strconv.Itoa(q.Top))
	}
	if q.HasSkip {
		add("$skip", strconv.Itoa(q.Skip))
	}
	if q.SkipToken != "" {
		add("$skiptoken", q.SkipToken)
	}
	if q.HasCount {
		add("$count", strconv.FormatBool(q.Count))
	}
	if q.Search != nil {
		add("$search", q.Search.String())
	}
	if q.Format != "" {
		add("$format", q.Format)
	}
	return strings.Join(parts, "&")
}

func encodeOrderBy(items []OrderBy) string {
	var b strings.Builder
	for i, o := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(o.Property)
		if o.Desc {
			b.WriteString(" desc")
		}
	}
	return b.String()
}

func encodeExpand(items []Expand) string {
	var b strings.Builder
	for i, e := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.Property)
		var opts []string
		if e.HasLevels {
			levels := strconv.Itoa(e.Levels)
			if e.Levels == LevelsMax {
				levels = "max"
			}
			opts = append(opts, "$levels="+levels)
		}
		if len(e.Select) > 0 {
			opts = append(opts, "$select="+strings.Join(e.Select, ","))
		}
		if e.Filter != nil {
			opts = append(opts, "$filter="+e.Filter.String())
		}
		if len(e.OrderBy) > 0 {
			opts = append(opts, "$orderby="+encodeOrderBy(e.OrderBy))
		}
		if e.HasTop {
			opts = append(opts, "$top="+strconv.Itoa(e.Top))
		}
		if e.HasCount {
			opts = append(opts, "$count="+strconv.FormatBool(e.Count))
		}
		if len(e.Expand) > 0 {
			opts = append(opts, "$expand="+encodeExpand(e.Expand))
		}
		if len(opts) > 0 {
			b.WriteByte('(')
			b.WriteString(strings.Join(opts, ";"))
			b.WriteByte(')')
		}
	}
	return b.String()
}

// escape percent-encodes what would change meaning in a query string ('&',
// '+', '%', '#', space, ...) but keeps the OData punctuation readable.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isIdentChar(c) || strings.IndexByte("-.~!$'()*,;:@/?=", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
