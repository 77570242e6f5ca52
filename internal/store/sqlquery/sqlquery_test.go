package sqlquery_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
	"github.com/orgraph/orgraph/internal/store/sqlquery"
)

var users = []directory.Kind{directory.KindUser}

func parseQuery(t testing.TB, kinds []directory.Kind, raw string) directory.ListQuery {
	t.Helper()
	o, err := odata.Parse(raw, false)
	if err != nil {
		t.Fatalf("odata.Parse(%s): %v", raw, err)
	}
	q := directory.ListQuery{Kinds: kinds}
	if o.Filter != nil {
		if q.Filter, err = directory.ParseFilter(o.Filter, kinds, true); err != nil {
			t.Fatalf("ParseFilter: %v", err)
		}
	}
	if o.Search != nil {
		if q.Search, err = directory.ParseSearch(o.Search, kinds); err != nil {
			t.Fatalf("ParseSearch: %v", err)
		}
	}
	if q.Order, err = directory.ParseOrder(o.OrderBy, kinds, true, q.Filter); err != nil {
		t.Fatalf("ParseOrder: %v", err)
	}
	return q
}

// statement is the WHERE clause and tail a store writes for q, after a tenant condition.
func statement(d *sqlquery.Dialect, q directory.ListQuery) (string, []any) {
	b := sqlquery.New(d)
	return "tenant_id = " + b.Arg("t") + b.Kinds("kind", q.Kinds) + b.Where(q) + b.Page(q), b.Args()
}

func TestPostgres(t *testing.T) {
	cases := []struct {
		raw   string
		after directory.Cursor
		limit int
		sql   string
		args  []any
	}{
		{"$filter=startswith(displayName,'A_') and not (city eq 'Oslo')&$orderby=displayName desc", directory.Cursor{Key: "Mia", ID: "i"}, 11,
			`tenant_id = $1 AND kind IN ($2) AND ((coalesce(lower((props->>'displayName')), '') COLLATE "C" >= lower($3) AND substr(coalesce(lower((props->>'displayName')), '') COLLATE "C", 1, length(lower($3))) = lower($3))` +
				` AND ((props->>'city') IS NULL OR NOT (coalesce(lower((props->>'city')), '') COLLATE "C" = lower($4))))` +
				` AND (coalesce(lower((props->>'displayName')), '') COLLATE "C", id) < (lower($6), $5) ORDER BY coalesce(lower((props->>'displayName')), '') COLLATE "C" DESC, id DESC LIMIT $7`,
			[]any{"t", "user", "A_", "Oslo", "i", "Mia", 11}},
		{"$filter=proxyAddresses/any(p:endswith(p,'%25x')) or accountEnabled eq false or createdDateTime ge 2024-01-01&$search=\"displayName:OneVideo\"", directory.Cursor{ID: "i"}, 0,
			`tenant_id = $1 AND kind IN ($2) AND ((EXISTS (SELECT 1 FROM jsonb_array_elements_text(props->'proxyAddresses') AS j1(value) WHERE coalesce(lower(j1.value), '') COLLATE "C" LIKE lower($3) ESCAPE '\')` +
				` OR (props->>'accountEnabled')::boolean = $4) OR (props->>'createdDateTime') COLLATE "C" >= $5)` +
				` AND (search_tokens LIKE $6 ESCAPE '\' AND search_tokens LIKE $7 ESCAPE '\') AND id > $8 ORDER BY id ASC`,
			[]any{"t", "user", `%\%x`, false, "2024-01-01T00:00:00Z", "% displayname:one%", "% displayname:video%", "i"}},
		{"$filter=jobTitle in ('', 'a') and id in ('x') and not (createdDateTime lt 2024-01-01) and city ne null&$orderby=createdDateTime", directory.Cursor{Key: "", ID: "i"}, 5,
			`tenant_id = $1 AND kind IN ($2) AND (((((props->>'jobTitle') = $3 OR coalesce(lower((props->>'jobTitle')), '') COLLATE "C" IN (lower($4))) AND id IN ($5))` +
				` AND ((props->>'createdDateTime') IS NULL OR NOT ((props->>'createdDateTime') COLLATE "C" < $6))) AND (props->>'city') IS NOT NULL)` +
				` AND (coalesce((props->>'createdDateTime'), '') COLLATE "C", id) > ($8, $7) ORDER BY coalesce((props->>'createdDateTime'), '') COLLATE "C" ASC, id ASC LIMIT $9`,
			[]any{"t", "user", "", "a", "x", "2024-01-01T00:00:00Z", "i", "", 5}},
	}
	for _, c := range cases {
		q := parseQuery(t, users, c.raw)
		q.After, q.Limit = c.after, c.limit
		sql, args := statement(sqlquery.Postgres, q)
		if sql != c.sql || !slices.Equal(args, c.args) {
			t.Errorf("%s:\n got %s\n     %#v\nwant %s\n     %#v", c.raw, sql, args, c.sql, c.args)
		}
	}
}

func TestSQLite(t *testing.T) {
	q := parseQuery(t, users, "$filter=displayName eq 'A' and businessPhones/any(p:p in ('1','2')) and not otherMails/any(m:startswith(m,''))&$orderby=userPrincipalName")
	q.After, q.Limit = directory.Cursor{Key: "a@b", ID: "i"}, 3
	sql, args := statement(sqlquery.SQLite, q)
	want := `tenant_id = ?1 AND kind IN (?2) AND ((key_display_name = lower(?3) AND EXISTS (SELECT 1 FROM json_each(props, '$.businessPhones') AS j1 WHERE (coalesce(lower(j1.value), '') IN (lower(?4), lower(?5)))))` +
		` AND NOT EXISTS (SELECT 1 FROM json_each(props, '$.otherMails') AS j2 WHERE j2.value IS NOT NULL))` +
		` AND (key_upn, id) > (lower(?7), ?6) ORDER BY key_upn ASC, id ASC LIMIT ?8`
	if sql != want || !slices.Equal(args, []any{"t", "user", "A", "1", "2", "i", "a@b", 3}) {
		t.Errorf("got %s\n    %#v\nwant %s", sql, args, want)
	}
	if got := sqlquery.SQLite.SortKey("displayName", false); got != "coalesce(lower(json_extract(props, '$.displayName')), '')" {
		t.Errorf("SortKey = %s", got)
	}
}

func TestKinds(t *testing.T) {
	for _, c := range []struct {
		kinds []directory.Kind
		sql   string
		n     int
	}{
		{nil, "", 0},
		{directory.Kinds, "", 0},
		{[]directory.Kind{directory.KindGroup, directory.KindGroup}, " AND +kind IN (?1)", 1},
		{[]directory.Kind{directory.KindUser, directory.KindOrgContact, directory.KindUser}, " AND +kind IN (?1, ?2)", 2},
	} {
		b := sqlquery.New(sqlquery.SQLite)
		if got := b.Kinds("+kind", c.kinds); got != c.sql || len(b.Args()) != c.n {
			t.Errorf("Kinds(%v) = %q with %d args, want %q with %d", c.kinds, got, len(b.Args()), c.sql, c.n)
		}
	}
}

func TestSearchTokens(t *testing.T) {
	for _, c := range []struct {
		o    *directory.Object
		want string
	}{
		{&directory.Object{Kind: directory.KindUser, Props: map[string]any{"displayName": "Ann O'Neil", "mail": "x@y"}}, " displayname:ann displayname:o displayname:' displayname:neil displayname:oneil"},
		{&directory.Object{Kind: directory.KindGroup, Props: map[string]any{"displayName": "Team", "description": "All staff"}}, " displayname:team description:all description:staff"},
		{&directory.Object{Kind: directory.KindOrgContact, Props: map[string]any{}}, ""},
	} {
		if got := sqlquery.SearchTokens(c.o); got != c.want {
			t.Errorf("SearchTokens(%v) = %q, want %q", c.o.Props, got, c.want)
		}
	}
}

// allowedWords are every word the SQL of a query may hold outside string literals: keywords, functions,
// columns, aliases. Values never appear as words (or anywhere but in the arguments).
var allowedWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`AND OR NOT IS NULL IN LIKE ESCAPE EXISTS SELECT FROM WHERE AS ORDER BY ASC DESC LIMIT COLLATE
		tenant_id id kind search_tokens props value lower coalesce json_extract json_each char chr jsonb_array_elements_text substr length
		boolean key_display_name key_upn key_created`) {
		allowedWords[w] = true
	}
}

var (
	aliasRE   = regexp.MustCompile(`^j[0-9]+(\.value)?$`)
	allowedLT = map[string]bool{"": true, `\`: true}
)

// checkSQL fails unless sql is made only of allowed words, punctuation, placeholders for exactly the
// arguments, and string literals that are JSON paths or property names of the schema.
func checkSQL(t *testing.T, sql string, args []any, pg bool) {
	t.Helper()
	used := map[int]bool{}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(sql[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated literal in %s", sql)
			}
			lit := sql[i+1 : i+1+j]
			if !allowedLT[lit] && !(pg && schemaProps[lit]) && !(!pg && strings.HasPrefix(lit, "$.") && schemaProps[lit[2:]]) {
				t.Fatalf("literal %q in %s", lit, sql)
			}
			i += j + 2
		case c == '"':
			if !pg || !strings.HasPrefix(sql[i:], `"C"`) {
				t.Fatalf("quoted identifier at %d in %s", i, sql)
			}
			i += 3
		case c == '?' && !pg || c == '$' && pg:
			j := i + 1
			for j < len(sql) && '0' <= sql[j] && sql[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(sql[i+1 : j])
			if err != nil || n < 1 || n > len(args) {
				t.Fatalf("placeholder %q for %d arguments in %s", sql[i:j], len(args), sql)
			}
			used[n] = true
			i = j
		case c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z':
			j := i
			for j < len(sql) && (sql[j] == '_' || sql[j] == '.' || 'a' <= sql[j]|0x20 && sql[j]|0x20 <= 'z' || '0' <= sql[j] && sql[j] <= '9') {
				j++
			}
			if w := sql[i:j]; !allowedWords[w] && !aliasRE.MatchString(w) {
				t.Fatalf("word %q in %s", w, sql)
			}
			i = j
		case '0' <= c && c <= '9':
			j := i
			for j < len(sql) && '0' <= sql[j] && sql[j] <= '9' {
				j++
			}
			if n := sql[i:j]; n != "1" && n != "1114111" {
				t.Fatalf("number %s in %s", n, sql)
			}
			i = j
		case strings.IndexByte(" ()=<>,|-:", c) >= 0:
			i++
		default:
			t.Fatalf("character %q in %s", c, sql)
		}
	}
	if len(used) != len(args) {
		t.Fatalf("%d arguments, %d used, in %s", len(args), len(used), sql)
	}
}

var schemaProps = map[string]bool{}

func init() {
	for _, k := range directory.Kinds {
		for _, p := range directory.SchemaOf(k).Properties {
			schemaProps[p.Name] = true
		}
	}
}

// FuzzCompile feeds arbitrary $filter and $search values through parsing, validation against the schema and
// SQL generation in both dialects: nothing panics, and the SQL holds no value from the request, only
// placeholders for the arguments.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"displayName eq 'x'' OR 1=1 --'",
		"startswith(displayName,'a%_\\') and not (city eq null) or jobTitle in ('a','b','')",
		"proxyAddresses/any(p:startswith(p,'smtp:') or endswith(p,'''x'))",
		"createdDateTime ge 2024-01-01T10:00:00.5+02:00 and accountEnabled ne true",
		"not otherMails/any(m:m eq 'x') and id in ('0ac7e1d4-1234-4abc-9def-0123456789ab')",
		"employeeHireDate lt 2020-01-01 or userPrincipalName eq 'a@b'",
		"groupTypes/any(c:c eq 'Unified') and mailEnabled eq true",
	} {
		f.Add(s, `"displayName:a'b" OR "mail:x%"`, uint8(0), "displayName desc")
	}
	f.Fuzz(func(t *testing.T, filter, search string, kindBits uint8, orderby string) {
		var kinds []directory.Kind
		for i, k := range directory.Kinds {
			if kindBits&(1<<i) != 0 {
				kinds = append(kinds, k)
			}
		}
		var q directory.ListQuery
		q.Kinds = kinds
		if e, err := odata.ParseFilter(filter); err == nil {
			q.Filter, _ = directory.ParseFilter(e, kinds, kindBits&8 != 0)
		}
		if o, err := odata.Parse("$search="+search+"&$orderby="+orderby, false); err == nil {
			if o.Search != nil {
				q.Search, _ = directory.ParseSearch(o.Search, kinds)
			}
			q.Order, _ = directory.ParseOrder(o.OrderBy, kinds, true, q.Filter)
		}
		q.After = directory.Cursor{Key: search, ID: filter}
		q.Limit = int(kindBits)
		for _, d := range []*sqlquery.Dialect{sqlquery.SQLite, sqlquery.Postgres} {
			sql, args := statement(d, q)
			checkSQL(t, sql, args, d == sqlquery.Postgres)
		}
	})
}
