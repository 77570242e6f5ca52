package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
	"github.com/orgraph/orgraph/internal/store"
)

// queryFixture is a tenant with objects whose properties exercise every comparison, the tokenizer, case
// folding, LIKE's wildcards in values, and nulls. Objects are named by their displayName, or by their
// userPrincipalName when they have none.
type queryFixture struct {
	*fixture
	byName map[string]*directory.Object
	boss   *directory.Object
}

func newQueryFixture(t *testing.T, s store.Store) *queryFixture {
	f := &queryFixture{fixture: newFixture(t, s), byName: map[string]*directory.Object{}}
	user := func(name, upn, created string, props map[string]any) {
		p := map[string]any{
			"accountEnabled": true, "mailNickname": strings.Split(upn, "@")[0], "userPrincipalName": upn,
			"createdDateTime": created,
		}
		if name != "" {
			p["displayName"] = name
		} else {
			name = upn
		}
		for k, v := range props {
			p[k] = v
		}
		f.importObject(name, directory.KindUser, p)
	}
	user("Alice Smith", "alice@contoso.com", "2024-01-01T10:00:00Z", map[string]any{
		"givenName": "Alice", "mail": "alice@contoso.com", "jobTitle": "Engineer", "city": "Oslo",
		"employeeHireDate": "2020-05-01T00:00:00Z", "businessPhones": []any{"+47 555 0100"},
		"otherMails": []any{"alice@outlook.com"}, "proxyAddresses": []any{"SMTP:alice@contoso.com", "smtp:a.smith@contoso.com"},
	})
	user("bob jones", "bob@contoso.com", "2024-02-01T00:00:00Z", map[string]any{
		"mail": "BOB@Contoso.com", "jobTitle": "engineer", "accountEnabled": false,
	})
	user("Carol O'Neil", "carol@fabrikam.com", "2024-03-01T00:00:00Z", map[string]any{
		"mail": "carol@fabrikam.com", "jobTitle": "Manager", "city": "Bergen", "employeeHireDate": "2022-01-01T00:00:00Z",
	})
	user("李四(David Li)", "david@contoso.com", "2024-03-01T00:00:00Z", nil)
	user("hello.world", "hw1@contoso.com", "2024-04-01T00:00:00Z", nil)
	user("HelloWORld", "hw2@contoso.com", "2024-04-01T00:00:01Z", nil)
	user("Émile Zola", "emile@contoso.com", "2024-05-01T00:00:00Z", map[string]any{"jobTitle": ""})
	user("100%_sure", "sure@contoso.com", "2024-06-01T00:00:00Z", nil)
	user("", "nobody@contoso.com", "2023-12-31T23:59:59Z", nil)

	f.importObject("Engineering Team", directory.KindGroup, map[string]any{
		"displayName": "Engineering Team", "description": "All the engineers", "groupTypes": []any{"Unified"},
		"mailEnabled": true, "mailNickname": "eng", "securityEnabled": false,
	})
	f.importObject("Security Admins", directory.KindGroup, map[string]any{
		"displayName": "Security Admins", "groupTypes": []any{}, "mailEnabled": false, "mailNickname": "secadm", "securityEnabled": true,
	})
	f.importObject("Carl Contact", directory.KindOrgContact, map[string]any{"displayName": "Carl Contact", "mail": "carl@partner.example"})

	f.boss = f.byName["Carol O'Neil"]
	for _, name := range []string{"Alice Smith", "bob jones", "hello.world", "HelloWORld", "Émile Zola"} {
		f.setManager(f.byName[name], f.boss)
	}
	f.update(func(tx directory.Tx) error { return tx.SetManager(f.byName["Carl Contact"].ID, f.boss.ID) })
	return f
}

func (f *queryFixture) importObject(name string, kind directory.Kind, props map[string]any) {
	f.t.Helper()
	o := &directory.Object{ID: uuid.NewString(), Kind: kind, Props: props}
	if err := f.svc.Import(f.ctx, f.tenant, o); err != nil {
		f.t.Fatalf("import %s: %v", name, err)
	}
	f.byName[name] = f.get(o.ID)
}

// names returns the fixture names of objs, in order.
func (f *queryFixture) names(objs []*directory.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.String("displayName")
		if out[i] == "" {
			out[i] = o.String("userPrincipalName")
		}
	}
	return out
}

// parse builds a ListQuery from a $filter, a $search and an $orderby (each "" for none), as an advanced query.
func (f *queryFixture) parse(kinds []directory.Kind, filter, search, orderby string) directory.ListQuery {
	f.t.Helper()
	q := directory.ListQuery{Kinds: kinds}
	raw := []string{}
	for name, v := range map[string]string{"$filter": filter, "$search": search, "$orderby": orderby} {
		if v != "" {
			raw = append(raw, name+"="+strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23").Replace(v))
		}
	}
	o, err := odata.Parse(strings.Join(raw, "&"), false)
	if err != nil {
		f.t.Fatalf("parse %q %q %q: %v", filter, search, orderby, err)
	}
	if o.Filter != nil {
		if q.Filter, err = directory.ParseFilter(o.Filter, kinds, true); err != nil {
			f.t.Fatalf("ParseFilter(%s): %v", filter, err)
		}
	}
	if o.Search != nil {
		if q.Search, err = directory.ParseSearch(o.Search, kinds); err != nil {
			f.t.Fatalf("ParseSearch(%s): %v", search, err)
		}
	}
	if q.Order, err = directory.ParseOrder(o.OrderBy, kinds, true, q.Filter); err != nil {
		f.t.Fatalf("ParseOrder(%s): %v", orderby, err)
	}
	return q
}

// list runs q through List, in pages of size (0: one page) following the cursor, and checks that Count
// agrees; it returns the names in the order List gave them.
func (f *queryFixture) list(q directory.ListQuery, size int) []string {
	f.t.Helper()
	var got []string
	f.view(func(tx directory.Tx) error {
		q.Limit = size
		for range 100 {
			page, err := tx.List(q)
			if err != nil {
				f.t.Fatalf("List: %v", err)
			}
			got = append(got, f.names(page)...)
			if size == 0 || len(page) < size {
				break
			}
			q.After = q.Next(page[len(page)-1])
		}
		n, err := tx.Count(q)
		if err != nil || n != len(got) {
			f.t.Errorf("Count = %d, %v; List returned %d", n, err, len(got))
		}
		return nil
	})
	return got
}

// testQuery runs the tests of $filter, $search and $orderby, each on a tenant of its own in s.
func testQuery(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Filter", testQueryFilter},
		{"Search", testQuerySearch},
		{"Order", testQueryOrder},
		{"DirectReports", testQueryDirectReports},
		{"Updates", testQueryUpdates},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

var (
	kindsUsers    = []directory.Kind{directory.KindUser}
	kindsGroups   = []directory.Kind{directory.KindGroup}
	kindsContacts = []directory.Kind{directory.KindOrgContact}
)

func testQueryFilter(t *testing.T, s store.Store) {
	f := newQueryFixture(t, s)
	alice := strings.ToUpper(f.byName["Alice Smith"].ID)
	cases := []struct {
		kinds  []directory.Kind
		filter string
		want   []string
	}{
		{kindsUsers, "displayName eq 'ALICE SMITH'", []string{"Alice Smith"}},
		{kindsUsers, "displayName eq 'Carol O''Neil'", []string{"Carol O'Neil"}},
		{kindsUsers, "displayName eq 'Émile Zola'", []string{"Émile Zola"}},
		{kindsUsers, "startswith(displayName,'B')", []string{"bob jones"}},
		{kindsUsers, "startswith(displayName,'hello')", []string{"hello.world", "HelloWORld"}},
		{kindsUsers, "startswith(displayName,'100%')", []string{"100%_sure"}},
		{kindsUsers, "startswith(displayName,'1_0')", nil},
		{kindsUsers, "startswith(displayName,'李四')", []string{"李四(David Li)"}},
		{kindsUsers, "startswith(displayName,'')", []string{"Alice Smith", "bob jones", "Carol O'Neil", "李四(David Li)", "hello.world", "HelloWORld", "Émile Zola", "100%_sure"}},
		{kindsUsers, "endswith(mail,'@CONTOSO.com')", []string{"Alice Smith", "bob jones"}},
		{kindsUsers, "endswith(userPrincipalName,'%.com')", nil},
		{kindsUsers, "jobTitle in ('ENGINEER', 'manager')", []string{"Alice Smith", "bob jones", "Carol O'Neil"}},
		{kindsUsers, "jobTitle in ('', 'manager')", []string{"Carol O'Neil", "Émile Zola"}},
		{kindsUsers, "jobTitle eq ''", []string{"Émile Zola"}},
		{kindsUsers, "city eq null", []string{"bob jones", "李四(David Li)", "hello.world", "HelloWORld", "Émile Zola", "100%_sure", "nobody@contoso.com"}},
		{kindsUsers, "city ne null", []string{"Alice Smith", "Carol O'Neil"}},
		{kindsUsers, "not (city eq 'oslo')", []string{"bob jones", "Carol O'Neil", "李四(David Li)", "hello.world", "HelloWORld", "Émile Zola", "100%_sure", "nobody@contoso.com"}},
		{kindsUsers, "jobTitle ne 'engineer' and startswith(displayName,'c')", []string{"Carol O'Neil"}},
		{kindsUsers, "not startswith(displayName,'h') and createdDateTime ge 2024-04-01", []string{"Émile Zola", "100%_sure"}},
		{kindsUsers, "accountEnabled eq false", []string{"bob jones"}},
		{kindsUsers, "accountEnabled ne false and city eq 'Oslo'", []string{"Alice Smith"}},
		{kindsUsers, "createdDateTime lt 2024-01-02", []string{"Alice Smith", "nobody@contoso.com"}},
		{kindsUsers, "createdDateTime eq 2024-03-01T00:00:00Z", []string{"Carol O'Neil", "李四(David Li)"}},
		{kindsUsers, "createdDateTime gt 2024-04-01T00:00:00.5Z and createdDateTime le 2024-05-01T01:00:00+01:00", []string{"HelloWORld", "Émile Zola"}},
		{kindsUsers, "createdDateTime ge 2024-04-01T00:00:00.5Z and createdDateTime lt 2024-04-01T00:00:01.5Z", []string{"HelloWORld"}},
		{kindsUsers, "createdDateTime in (2024-02-01T00:00:00Z, 2024-06-01T00:00:00Z)", []string{"bob jones", "100%_sure"}},
		{kindsUsers, "employeeHireDate le 2021-01-01T00:00:00Z", []string{"Alice Smith"}},
		{kindsUsers, "not (employeeHireDate ge 2021-01-01T00:00:00Z)", []string{"Alice Smith", "bob jones", "李四(David Li)", "hello.world", "HelloWORld", "Émile Zola", "100%_sure", "nobody@contoso.com"}},
		{kindsUsers, "proxyAddresses/any(p:startswith(p,'SMTP:A.'))", []string{"Alice Smith"}},
		{kindsUsers, "proxyAddresses/any(p:p eq 'smtp:alice@contoso.com')", []string{"Alice Smith"}},
		{kindsUsers, "proxyAddresses/any(p:endswith(p,'@fabrikam.com'))", nil},
		{kindsUsers, "businessPhones/any(x:x eq '+47 555 0100')", []string{"Alice Smith"}},
		{kindsUsers, "otherMails/any(x:endswith(x,'@outlook.com') or x eq 'nobody')", []string{"Alice Smith"}},
		{kindsUsers, "not proxyAddresses/any(p:startswith(p,'smtp:')) and startswith(displayName,'a')", nil},
		{kindsUsers, "not proxyAddresses/any(p:startswith(p,'smtp:')) and startswith(displayName,'b')", []string{"bob jones"}},
		{kindsUsers, "id eq '" + alice + "'", []string{"Alice Smith"}},
		{kindsUsers, "id in ('nothing', '" + alice + "')", []string{"Alice Smith"}},
		{kindsUsers, "(startswith(displayName,'a') or startswith(displayName,'c')) and city eq 'Bergen'", []string{"Carol O'Neil"}},
		{kindsUsers, "userPrincipalName eq 'NOBODY@contoso.com'", []string{"nobody@contoso.com"}},
		{kindsGroups, "groupTypes/any(c:c eq 'unified')", []string{"Engineering Team"}},
		{kindsGroups, "not groupTypes/any(c:c eq 'unified')", []string{"Security Admins"}},
		{kindsGroups, "mailEnabled eq true or startswith(description,'x')", []string{"Engineering Team"}},
		{kindsContacts, "startswith(mail,'CARL')", []string{"Carl Contact"}},
	}
	for _, c := range cases {
		got := f.list(f.parse(c.kinds, c.filter, "", ""), 0)
		if !sameSet(got, c.want) {
			t.Errorf("$filter=%s: %q, want %q", c.filter, got, c.want)
		}
	}
}

func testQuerySearch(t *testing.T, s store.Store) {
	f := newQueryFixture(t, s)
	cases := []struct {
		kinds  []directory.Kind
		search string
		want   []string
	}{
		{kindsUsers, `"displayName:smi"`, []string{"Alice Smith"}},
		{kindsUsers, `"displayName:AliceSmith"`, []string{"Alice Smith"}},
		{kindsUsers, `"displayName:mith"`, nil},
		{kindsUsers, `"displayName:hello"`, []string{"hello.world", "HelloWORld"}},
		{kindsUsers, `"displayName:helloworld"`, []string{"hello.world"}},
		{kindsUsers, `"displayName:world hello"`, []string{"hello.world", "HelloWORld"}},
		{kindsUsers, `"displayName:李四"`, []string{"李四(David Li)"}},
		{kindsUsers, `"displayName:Li 李"`, []string{"李四(David Li)"}},
		{kindsUsers, `"displayName:David)"`, []string{"李四(David Li)"}},
		{kindsUsers, `"displayName:100%"`, []string{"100%_sure"}},
		{kindsUsers, `"displayName:_"`, []string{"100%_sure"}},
		{kindsUsers, `"displayName:%"`, []string{"100%_sure"}},
		{kindsUsers, `"displayName:o'"`, []string{"Carol O'Neil"}},
		{kindsUsers, `"mail:BOB"`, []string{"bob jones"}},
		{kindsUsers, `"mail:contoso"`, nil},
		{kindsUsers, `"displayName:alice" OR "mail:carol"`, []string{"Alice Smith", "Carol O'Neil"}},
		{kindsUsers, `"displayName:hello" AND ("displayName:world" OR "mail:x")`, []string{"hello.world", "HelloWORld"}},
		{kindsUsers, `"proxyAddresses:smtp:a."`, []string{"Alice Smith"}},
		{kindsGroups, `"description:engin"`, []string{"Engineering Team"}},
		{kindsGroups, `"displayName:team" OR "description:admin"`, []string{"Engineering Team"}},
		{kindsContacts, `"displayName:carl"`, []string{"Carl Contact"}},
	}
	for _, c := range cases {
		got := f.list(f.parse(c.kinds, "", c.search, ""), 0)
		if !sameSet(got, c.want) {
			t.Errorf("$search=%s: %q, want %q", c.search, got, c.want)
		}
	}
	// A search and a filter together: both must hold.
	if got := f.list(f.parse(kindsUsers, "city eq 'Oslo'", `"displayName:hello" OR "displayName:alice"`, ""), 0); !slices.Equal(got, []string{"Alice Smith"}) {
		t.Errorf("$filter with $search: %q", got)
	}
}

func testQueryOrder(t *testing.T, s store.Store) {
	f := newQueryFixture(t, s)
	byName := []string{"nobody@contoso.com", "100%_sure", "Alice Smith", "bob jones", "Carol O'Neil", "hello.world", "HelloWORld", "Émile Zola", "李四(David Li)"}
	byCreated := []string{"nobody@contoso.com", "Alice Smith", "bob jones", "Carol O'Neil", "李四(David Li)", "hello.world", "HelloWORld", "Émile Zola", "100%_sure"}
	// Ties (Carol and David were created in the same second) are broken by id.
	if f.byName["李四(David Li)"].ID < f.byName["Carol O'Neil"].ID {
		byCreated[3], byCreated[4] = byCreated[4], byCreated[3]
	}
	cases := []struct {
		kinds           []directory.Kind
		filter, orderby string
		want            []string
	}{
		{kindsUsers, "", "displayName", byName},
		{kindsUsers, "", "displayName desc", reversed(byName)},
		{kindsUsers, "", "createdDateTime", byCreated},
		{kindsUsers, "", "createdDateTime desc", reversed(byCreated)},
		{kindsUsers, "", "userPrincipalName", []string{"Alice Smith", "bob jones", "Carol O'Neil", "李四(David Li)", "Émile Zola", "hello.world", "HelloWORld", "nobody@contoso.com", "100%_sure"}},
		{kindsUsers, "startswith(displayName,'h') or startswith(displayName,'b')", "displayName desc", []string{"HelloWORld", "hello.world", "bob jones"}},
		{kindsGroups, "", "displayName desc", []string{"Security Admins", "Engineering Team"}},
		{kindsContacts, "", "displayName", []string{"Carl Contact"}},
	}
	for _, c := range cases {
		q := f.parse(c.kinds, c.filter, "", c.orderby)
		for _, size := range []int{0, 1, 2, 4} {
			if got := f.list(q, size); !slices.Equal(got, c.want) {
				t.Errorf("$orderby=%s $filter=%s in pages of %d: %q, want %q", c.orderby, c.filter, size, got, c.want)
			}
		}
	}
	// In id order, without $orderby.
	want := slices.Clone(byName)
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(f.byName[a].ID, f.byName[b].ID) })
	for _, size := range []int{0, 1, 3} {
		if got := f.list(f.parse(kindsUsers, "", "", ""), size); !slices.Equal(got, want) {
			t.Errorf("in pages of %d by id: %q, want %q", size, got, want)
		}
	}
}

func testQueryDirectReports(t *testing.T, s store.Store) {
	f := newQueryFixture(t, s)
	reports := []directory.Kind{directory.KindUser, directory.KindOrgContact}
	cases := []struct {
		kinds                   []directory.Kind
		filter, search, orderby string
		want                    []string
	}{
		{reports, "", "", "displayName", []string{"Alice Smith", "bob jones", "Carl Contact", "hello.world", "HelloWORld", "Émile Zola"}},
		{reports, "startswith(displayName,'c') or startswith(displayName,'a')", "", "displayName desc", []string{"Carl Contact", "Alice Smith"}},
		{kindsUsers, "", `"displayName:world"`, "displayName", []string{"hello.world", "HelloWORld"}},
		{kindsContacts, "mail eq 'CARL@partner.example'", "", "", []string{"Carl Contact"}},
		{kindsUsers, "city eq 'Bergen'", "", "", nil},
	}
	for _, c := range cases {
		q := f.parse(c.kinds, c.filter, c.search, c.orderby)
		for _, size := range []int{0, 1, 4} {
			var got []string
			f.view(func(tx directory.Tx) error {
				q := q
				q.Limit = size
				for range 100 {
					page, err := tx.DirectReports(f.boss.ID, q)
					if err != nil {
						t.Fatalf("DirectReports: %v", err)
					}
					got = append(got, f.names(page)...)
					if size == 0 || len(page) < size {
						break
					}
					q.After = q.Next(page[len(page)-1])
				}
				if n, err := tx.CountDirectReports(f.boss.ID, q); err != nil || n != len(got) {
					t.Errorf("CountDirectReports = %d, %v; want %d", n, err, len(got))
				}
				return nil
			})
			if c.orderby == "" {
				if !sameSet(got, c.want) {
					t.Errorf("DirectReports $filter=%s $search=%s: %q, want %q", c.filter, c.search, got, c.want)
				}
			} else if !slices.Equal(got, c.want) {
				t.Errorf("DirectReports $filter=%s $search=%s $orderby=%s in pages of %d: %q, want %q", c.filter, c.search, c.orderby, size, got, c.want)
			}
		}
	}
}

// testQueryUpdates checks that search tokens and sort keys follow a changed displayName, and that the
// queries see only the tenant's objects.
func testQueryUpdates(t *testing.T, s store.Store) {
	f := newQueryFixture(t, s)
	other := newQueryFixture(t, s)
	if err := f.svc.Update(f.ctx, f.tenant, directory.KindUser, f.byName["bob jones"].ID, map[string]any{"displayName": "Zed Brown"}); err != nil {
		t.Fatal(err)
	}
	if got := f.list(f.parse(kindsUsers, "", `"displayName:brown"`, ""), 0); !slices.Equal(got, []string{"Zed Brown"}) {
		t.Errorf("search after a rename: %q", got)
	}
	if got := f.list(f.parse(kindsUsers, "", `"displayName:jones"`, ""), 0); len(got) != 0 {
		t.Errorf("search for the old name: %q", got)
	}
	got := f.list(f.parse(kindsUsers, "", "", "displayName desc"), 2)
	if len(got) != 9 || got[2] != "Zed Brown" {
		t.Errorf("sorted after a rename: %q", got)
	}
	if got := other.list(other.parse(kindsUsers, "", `"displayName:brown"`, ""), 0); len(got) != 0 {
		t.Errorf("another tenant's search: %q", got)
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
