package directory_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
)

// Graph's tokenization examples (search-query-parameter.md) and the cases its rules imply.
func TestTokenize(t *testing.T) {
	cases := map[string][]string{
		"hello world":    {"hello", "world"},
		"HelloWorld":     {"hello", "world"},
		"helloWORLD":     {"hello", "world"},
		"HELLOworld":     {"helloworld"},
		"HelloWORld":     {"hello", "world"},
		"hello.world":    {"hello", ".", "world", "helloworld"},
		"hello-world":    {"hello", "-", "world", "helloworld"},
		"hello123world":  {"hello", "123", "world"},
		"李四(David Li)":   {"李四", "(", "david", "李四david", "li", ")"},
		"  a  ":          {"a"},
		"":               nil,
		"Émile Zola":     {"émile", "zola"},
		"100%_sure":      {"100", "%", "_", "sure", "100sure"},
		"OneVideo":       {"one", "video"},
		"a..b":           {"a", ".", "b", "ab"},
		"x":              {"x"},
		"Ünïcode\u0301x": {"ünïcode\u0301x"},
	}
	for in, want := range cases {
		if got := directory.Tokenize(in); !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %q, want %q", in, got, want)
		}
	}
}

func filter(t *testing.T, s string) odata.Expr {
	t.Helper()
	e, err := odata.ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(%s): %v", s, err)
	}
	return e
}

var (
	users    = []directory.Kind{directory.KindUser}
	groups   = []directory.Kind{directory.KindGroup}
	contacts = []directory.Kind{directory.KindOrgContact}
	reports  = []directory.Kind{directory.KindUser, directory.KindOrgContact}
)

const (
	msgNeAdvanced       = "Operator 'ne' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
	msgNotAdvanced      = "Operator 'not' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
	msgEndsWithAdvanced = "Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)

func clause(prop, resource string) string {
	return "Unsupported or invalid query filter clause specified for property '" + prop + "' of resource '" + resource + "'."
}

// TestParseFilterErrors checks Graph's answers to filters it refuses, with and without an advanced query.
func TestParseFilterErrors(t *testing.T) {
	cases := []struct {
		kinds    []directory.Kind
		filter   string
		advanced bool
		code     directory.Code
		msg      string
	}{
		{users, "foo eq 'x'", true, directory.CodeInvalid, "Property 'foo' does not exist as a declared property or extension property."},
		{users, "passwordProfile eq 'x'", true, directory.CodeInvalid, "Property 'passwordProfile' does not exist as a declared property or extension property."},
		{users, "manager/id eq 'x'", true, directory.CodeInvalid, "Property 'manager/id' does not exist as a declared property or extension property."},
		{users, "description eq 'x'", true, directory.CodeInvalid, "Property 'description' does not exist as a declared property or extension property."},
		{users, "accountEnabled eq 'true'", true, directory.CodeInvalid, "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."},
		{users, "displayName eq 1", true, directory.CodeInvalid, "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int64' for operator kind 'Equal'."},
		{users, "createdDateTime ge 'yesterday'", true, directory.CodeInvalid, "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThanOrEqual'."},
		{users, "displayName in ('a', 2)", true, directory.CodeInvalid, "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int64' for operator kind 'Equal'."},
		{users, "startswith(accountEnabled,'t')", true, directory.CodeInvalid, "No function signature for the function with name 'startswith' matches the specified arguments. The function signatures considered are: startswith(Edm.String Nullable=true, Edm.String Nullable=true)."},
		{users, "startswith(displayName,1)", true, directory.CodeInvalid, "No function signature for the function with name 'startswith' matches the specified arguments. The function signatures considered are: startswith(Edm.String Nullable=true, Edm.String Nullable=true)."},
		{users, "displayName", true, directory.CodeInvalid, "Invalid filter clause"},
		{users, "'x' eq displayName", true, directory.CodeInvalid, "Invalid filter clause"},
		{users, "displayName eq jobTitle", true, directory.CodeInvalid, "Invalid filter clause"},
		{users, "displayName lt null", true, directory.CodeInvalid, "Invalid filter clause"},
		{users, "proxyAddresses/any(p:p/x eq 'a')", true, directory.CodeInvalid, "Invalid filter clause"},
		{users, "proxyAddresses/any(p:q eq 'a')", true, directory.CodeInvalid, "Invalid filter clause"},

		{users, "officeLocation eq 'x'", false, directory.CodeUnsupported, clause("officeLocation", "User")},
		{users, "companyName eq 'x'", false, directory.CodeUnsupported, clause("companyName", "User")},
		{users, "city eq null", false, directory.CodeUnsupported, clause("city", "User")},
		{users, "displayName ne 'x'", false, directory.CodeUnsupported, msgNeAdvanced},
		{users, "not (displayName eq 'x')", false, directory.CodeUnsupported, msgNotAdvanced},
		{users, "endswith(mail,'@x.com')", false, directory.CodeUnsupported, msgEndsWithAdvanced},
		{users, "proxyAddresses/any(p:endswith(p,'x'))", false, directory.CodeUnsupported, msgEndsWithAdvanced},
		{users, "businessPhones/any(p:p eq '1')", false, directory.CodeUnsupported, clause("businessPhones", "User")},
		{users, "employeeHireDate ge 2020-01-01", false, directory.CodeUnsupported, clause("employeeHireDate", "User")},

		{users, "endswith(displayName,'x')", true, directory.CodeUnsupported, clause("displayName", "User")},
		{users, "contains(displayName,'x')", true, directory.CodeUnsupported, clause("displayName", "User")},
		{users, "displayName ge 'x'", true, directory.CodeUnsupported, clause("displayName", "User")},
		{users, "userPrincipalName eq null", true, directory.CodeUnsupported, clause("userPrincipalName", "User")},
		{users, "passwordPolicies eq 'x'", true, directory.CodeUnsupported, clause("passwordPolicies", "User")},
		{users, "proxyAddresses eq 'x'", true, directory.CodeUnsupported, clause("proxyAddresses", "User")},
		{users, "proxyAddresses/all(p:p eq 'x')", true, directory.CodeUnsupported, clause("proxyAddresses", "User")},
		{users, "proxyAddresses/any(p:p ne 'x')", true, directory.CodeUnsupported, clause("proxyAddresses", "User")},
		{users, "proxyAddresses/any(p:not (p eq 'x'))", true, directory.CodeUnsupported, clause("proxyAddresses", "User")},
		{users, "startswith(id,'x')", true, directory.CodeUnsupported, clause("id", "User")},
		{groups, "createdDateTime ge 2021-11-01", true, directory.CodeUnsupported, clause("createdDateTime", "Group")},
		{groups, "groupTypes/any(c:startswith(c,'U'))", true, directory.CodeUnsupported, clause("groupTypes", "Group")},
		{groups, "theme eq 'Red'", true, directory.CodeUnsupported, clause("theme", "Group")},
		{contacts, "addresses eq 'x'", true, directory.CodeUnsupported, clause("addresses", "OrgContact")},
		// On users and contacts together, a property gets what both support.
		{reports, "endswith(mail,'x')", true, directory.CodeUnsupported, clause("mail", "User")},
	}
	for _, c := range cases {
		_, err := directory.ParseFilter(filter(t, c.filter), c.kinds, c.advanced)
		var de *directory.Error
		if !errors.As(err, &de) || de.Code != c.code || de.Message != c.msg {
			t.Errorf("ParseFilter(%s, advanced %v) = %v, want code %d %q", c.filter, c.advanced, err, c.code, c.msg)
		}
	}
}

func TestParseFilter(t *testing.T) {
	str := func(prop string, op directory.Op, vals ...any) *directory.Compare {
		return &directory.Compare{Prop: prop, Type: directory.TypeString, Op: op, Values: vals}
	}
	date := func(op directory.Op, v string) *directory.Compare {
		return &directory.Compare{Prop: "createdDateTime", Type: directory.TypeDateTime, Op: op, Values: []any{v}}
	}
	cases := []struct {
		kinds    []directory.Kind
		filter   string
		advanced bool
		want     directory.Cond
	}{
		{users, "DisplayName eq 'A'", false, str("displayName", directory.OpEq, "A")},
		{users, "displayName ne 'A'", true, &directory.Not{X: str("displayName", directory.OpEq, "A")}},
		{users, "city ne null", true, &directory.Not{X: &directory.Compare{Prop: "city", Type: directory.TypeString, Op: directory.OpNull}}},
		{users, "startswith(mail,'a') or mail in ('b','c')", false, &directory.Or{
			L: str("mail", directory.OpStartsWith, "a"), R: str("mail", directory.OpIn, "b", "c")}},
		{users, "accountEnabled eq true and not (jobTitle eq 'x')", true, &directory.And{
			L: &directory.Compare{Prop: "accountEnabled", Type: directory.TypeBool, Op: directory.OpEq, Values: []any{true}},
			R: &directory.Not{X: str("jobTitle", directory.OpEq, "x")}}},
		{users, "id eq 'AB7A9A3C-9F7C-4E0C-8A5A-2D4C6E1F0B11'", false, str("id", directory.OpEq, "ab7a9a3c-9f7c-4e0c-8a5a-2d4c6e1f0b11")},
		{users, "id in (AB7A9A3C-9F7C-4E0C-8A5A-2D4C6E1F0B11)", false, str("id", directory.OpIn, "ab7a9a3c-9f7c-4e0c-8a5a-2d4c6e1f0b11")},
		{users, "createdDateTime ge 2021-11-01", false, date(directory.OpGe, "2021-11-01T00:00:00Z")},
		{users, "createdDateTime lt 2021-11-01T10:00:00+02:00", false, date(directory.OpLt, "2021-11-01T08:00:00Z")},
		{users, "createdDateTime gt 2021-11-01T10:00:00.25Z", false, date(directory.OpGe, "2021-11-01T10:00:01Z")},
		{users, "createdDateTime lt 2021-11-01T10:00:00.25Z", false, date(directory.OpLe, "2021-11-01T10:00:00Z")},
		{users, "createdDateTime eq 2021-11-01T10:00Z", false, date(directory.OpEq, "2021-11-01T10:00:00Z")},
		{users, "proxyAddresses/any(p:startswith(p,'smtp:'))", false, &directory.Any{Prop: "proxyAddresses", Cond: str("", directory.OpStartsWith, "smtp:")}},
		{groups, "groupTypes/any(c:c eq 'Unified')", false, &directory.Any{Prop: "groupTypes", Cond: str("", directory.OpEq, "Unified")}},
	}
	for _, c := range cases {
		got, err := directory.ParseFilter(filter(t, c.filter), c.kinds, c.advanced)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFilter(%s) = %#v, %v; want %#v", c.filter, got, err, c.want)
		}
	}
}

func TestParseSearch(t *testing.T) {
	parse := func(s string) odata.Search {
		q, err := odata.Parse("$search="+s, false)
		if err != nil {
			t.Fatalf("parse %s: %v", s, err)
		}
		return q.Search
	}
	got, err := directory.ParseSearch(parse(`"displayName:OneVideo" OR "mail:OneVideo"`), groups)
	want := &directory.Or{
		L: &directory.Tokens{Prop: "displayName", Tokens: []string{"one", "video"}},
		R: &directory.Compare{Prop: "mail", Type: directory.TypeString, Op: directory.OpStartsWith, Values: []any{"OneVideo"}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSearch = %#v, %v; want %#v", got, err, want)
	}
	for s, msg := range map[string]string{
		`"foo:x"`:            "Property 'foo' does not exist as a declared property or extension property.",
		`"accountEnabled:x"`: clause("accountEnabled", "User"),
		`"id:x"`:             clause("id", "User"),
		`"state:x"`:          clause("state", "User"),
	} {
		if _, err := directory.ParseSearch(parse(s), users); err == nil || err.Error() != msg {
			t.Errorf("ParseSearch(%s) = %v, want %q", s, err, msg)
		}
	}
}

func TestParseOrder(t *testing.T) {
	ob := func(p string, desc bool) []odata.OrderBy { return []odata.OrderBy{{Property: p, Desc: desc}} }
	f := func(s string) directory.Cond {
		c, err := directory.ParseFilter(filter(t, s), users, true)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	byName := &directory.Order{Prop: "displayName", Type: directory.TypeString}
	cases := []struct {
		kinds    []directory.Kind
		items    []odata.OrderBy
		advanced bool
		filter   directory.Cond
		want     *directory.Order
		msg      string
	}{
		{users, nil, false, nil, nil, ""},
		{users, ob("displayname", true), false, nil, &directory.Order{Prop: "displayName", Type: directory.TypeString, Desc: true}, ""},
		{users, ob("userPrincipalName", false), false, nil, &directory.Order{Prop: "userPrincipalName", Type: directory.TypeString}, ""},
		{users, ob("createdDateTime", false), true, nil, &directory.Order{Prop: "createdDateTime", Type: directory.TypeDateTime}, ""},
		{users, ob("createdDateTime", false), false, nil, nil, "Sorting not supported for current query."},
		{users, ob("displayName", false), false, f("city eq 'x'"), nil, "Sorting not supported for current query."},
		{users, ob("displayName", false), true, f("city eq 'x'"), byName, ""},
		{users, ob("jobTitle", false), true, nil, nil, "Sorting not supported for current query."},
		{users, ob("id", false), true, nil, nil, "Sorting not supported for current query."},
		{users, append(ob("displayName", false), ob("mail", false)...), true, nil, nil, "Sorting not supported for current query."},
		{users, ob("nope", false), true, nil, nil, "Property 'nope' does not exist as a declared property or extension property."},
		{groups, ob("createdDateTime", false), true, nil, nil, "Sorting not supported for current query."},
		{contacts, ob("displayName", false), false, nil, nil, "Sorting not supported for current query."},
		{reports, ob("displayName", false), false, nil, nil, "Sorting not supported for current query."},
		// Without $orderby, a filter that ranges over a sort key orders by it.
		{users, nil, false, f("city eq 'x' and startswith(displayName,'a')"), byName, ""},
		{reports, nil, false, f("displayName eq 'a'"), byName, ""},
		{users, nil, false, f("startswith(userPrincipalName,'a') and displayName eq 'x'"), &directory.Order{Prop: "userPrincipalName", Type: directory.TypeString}, ""},
		{users, nil, false, f("startswith(displayName,'a') or startswith(displayName,'b')"), nil, ""},
		{users, nil, false, f("not startswith(displayName,'a')"), nil, ""},
		{users, nil, false, f("startswith(mail,'a')"), nil, ""},
		{users, nil, false, f("createdDateTime eq 2024-01-01"), nil, ""},
	}
	for _, c := range cases {
		got, err := directory.ParseOrder(c.items, c.kinds, c.advanced, c.filter)
		var msg string
		if err != nil {
			msg = err.Error()
		}
		if !reflect.DeepEqual(got, c.want) || msg != c.msg {
			t.Errorf("ParseOrder(%v, %v, advanced %v, filter %#v) = %+v, %v; want %+v, %q", c.items, c.kinds, c.advanced, c.filter, got, err, c.want, c.msg)
		}
	}
}

func TestNext(t *testing.T) {
	o := &directory.Object{ID: "i", Props: map[string]any{"displayName": "Ann", "accountEnabled": true}}
	if c := (directory.ListQuery{}).Next(o); c != (directory.Cursor{ID: "i"}) {
		t.Errorf("Next in id order = %+v", c)
	}
	q := directory.ListQuery{Order: &directory.Order{Prop: "displayName", Type: directory.TypeString}}
	if c := q.Next(o); c != (directory.Cursor{Key: "Ann", ID: "i"}) {
		t.Errorf("Next by displayName = %+v", c)
	}
	q.Order.Prop = "mail"
	if c := q.Next(o); c != (directory.Cursor{ID: "i"}) || c.IsZero() {
		t.Errorf("Next by an unset property = %+v", c)
	}
}
