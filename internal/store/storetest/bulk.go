package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// bulkLarge is the size of the large bulk loads: past the SQLite store's threshold for rebuilding its
// indexes, so that both of a backend's ways of loading are held to the contract.
const bulkLarge = 10_500

// RunBulk runs the conformance tests of store.BulkInserter, for a backend whose Tx offers it. open must
// return a new, empty store for each subtest and close it when t ends.
func RunBulk(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"SameAsInsert", func(t *testing.T, s store.Store) { testBulkSameAsInsert(t, s, 60) }},
		{"SameAsInsertLarge", func(t *testing.T, s store.Store) { testBulkSameAsInsert(t, s, bulkLarge) }},
		{"Duplicates", func(t *testing.T, s store.Store) { testBulkDuplicates(t, s, 20) }},
		{"DuplicatesLarge", func(t *testing.T, s store.Store) { testBulkDuplicates(t, s, bulkLarge) }},
		{"Sponsors", testBulkSponsors},
		{"UnknownTenant", testBulkUnknownTenant},
		{"Unstorable", testBulkUnstorable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// bulkOrg is an organisation to load: objects with their managers, and sponsor relationships in order.
type bulkOrg struct {
	objects  []*directory.Object
	sponsors []store.BulkSponsor
}

// newBulkOrg makes n users, a few groups and contacts, managers inside the organisation and to the
// tenant's user outside, and sponsors, with properties that exercise sorting, searching and escaping.
// Objects are named as by bulkID, so that two tenants can hold the same organisation.
func newBulkOrg(n int, outside *directory.Object) *bulkOrg {
	o := &bulkOrg{}
	groups, contacts := 1+n/50, 1+n/50
	names := []string{"Émile", "zoë", "Ada", "ADA", "O'Neil", "R&D <team>", "李四", "hello.World"}
	for i := range n {
		name := fmt.Sprintf("%s %05d", names[i%len(names)], (i*7919)%n)
		props := map[string]any{
			"accountEnabled":    i%3 != 0,
			"mailNickname":      fmt.Sprintf("user%d", i),
			"userPrincipalName": fmt.Sprintf("User%d@Example.com", i),
			"createdDateTime":   fmt.Sprintf("20%02d-%02d-01T00:00:00Z", 10+i%15, 1+i%12),
			"businessPhones":    []any{fmt.Sprintf("+47 %d", i)},
		}
		if i%10 != 9 {
			props["displayName"] = name
		}
		u := &directory.Object{ID: bulkID("user", i), Kind: directory.KindUser, Props: props}
		switch {
		case i == 0:
		case i%29 == 5:
			u.ManagerID = outside.ID
		case i%23 == 3:
			u.ManagerID = bulkID("contact", i%contacts)
		default:
			u.ManagerID = bulkID("user", (i-1)/4)
		}
		o.objects = append(o.objects, u)
	}
	for i := range groups {
		o.objects = append(o.objects, &directory.Object{ID: bulkID("group", i), Kind: directory.KindGroup, Props: map[string]any{
			"displayName": fmt.Sprintf("Team %d", i), "description": "The Engineering team", "groupTypes": []any{"Unified"},
			"mailEnabled": true, "mailNickname": fmt.Sprintf("team%d", i), "securityEnabled": false,
		}})
	}
	for i := range contacts {
		o.objects = append(o.objects, &directory.Object{ID: bulkID("contact", i), Kind: directory.KindOrgContact, Props: map[string]any{
			"displayName": fmt.Sprintf("Contact %d", i),
			"addresses":   []any{map[string]any{"city": "Oslo", "street": nil, "postalCode": "0150"}},
		}})
	}
	for i := 1; i < n; i += 13 {
		o.sponsors = append(o.sponsors, store.BulkSponsor{UserID: bulkID("user", i), SponsorID: bulkID("group", i%groups)})
		o.sponsors = append(o.sponsors, store.BulkSponsor{UserID: bulkID("user", i), SponsorID: bulkID("user", i-1)})
	}
	o.sponsors = append(o.sponsors, store.BulkSponsor{UserID: outside.ID, SponsorID: bulkID("user", 0)})
	return o
}

func bulkID(kind string, i int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "bulk %s %d", kind, i)).String()
}

// encode prepares objects for InsertBulk.
func encode(t *testing.T, objects []*directory.Object) []store.BulkObject {
	t.Helper()
	var enc store.BulkEncoder
	out := make([]store.BulkObject, len(objects))
	for i, o := range objects {
		var err error
		if out[i], err = enc.Encode(o); err != nil {
			t.Fatalf("Encode(%s): %v", o.ID, err)
		}
	}
	return out
}

// bulk runs InsertBulk in an update of f's tenant.
func (f *fixture) bulk(objects []store.BulkObject, sponsors []store.BulkSponsor, progress func(int)) error {
	f.t.Helper()
	return f.s.Update(f.ctx, f.tenant, func(tx directory.Tx) error {
		b, ok := tx.(store.BulkInserter)
		if !ok {
			f.t.Fatalf("%T does not implement store.BulkInserter", tx)
		}
		return b.InsertBulk(objects, sponsors, progress)
	})
}

// insertEach loads org one write at a time, as the contract says InsertBulk behaves.
func (f *fixture) insertEach(org *bulkOrg) {
	f.t.Helper()
	f.update(func(tx directory.Tx) error {
		for _, o := range org.objects {
			if err := tx.Insert(o); err != nil {
				return fmt.Errorf("Insert(%s): %w", o.ID, err)
			}
		}
		for _, o := range org.objects {
			if o.ManagerID != "" {
				if err := tx.SetManager(o.ID, o.ManagerID); err != nil {
					return fmt.Errorf("SetManager(%s): %w", o.ID, err)
				}
			}
		}
		for _, s := range org.sponsors {
			if err := tx.AddSponsor(s.UserID, s.SponsorID); err != nil {
				return fmt.Errorf("AddSponsor(%s, %s): %w", s.UserID, s.SponsorID, err)
			}
		}
		return nil
	})
}

// outsider adds the user of f's tenant that the organisation refers to, with a sponsor already; both have
// the same ids in every tenant.
func (f *fixture) outsider() *directory.Object {
	f.t.Helper()
	var users [2]*directory.Object
	for i, name := range []string{"outsider", "earlier"} {
		props := userProps(name)
		props["createdDateTime"] = "2020-01-01T00:00:00Z"
		users[i] = &directory.Object{ID: bulkID(name, 0), Kind: directory.KindUser, Props: props}
		if err := f.svc.Import(f.ctx, f.tenant, users[i]); err != nil {
			f.t.Fatalf("import %s: %v", name, err)
		}
	}
	f.addSponsor(users[0], users[1])
	return f.get(users[0].ID)
}

// testBulkSameAsInsert loads one organisation with InsertBulk, in shuffled order, into a tenant while another
// tenant of the store has objects (for the large load, when the store is empty otherwise), and the same
// organisation with Insert, SetManager and AddSponsor into a third tenant, and compares every read.
func testBulkSameAsInsert(t *testing.T, s store.Store, n int) {
	f := newFixture(t, s)
	other := f.in(f.newTenant())
	neighbour := other.user("neighbour")
	bulked, each := f, f.in(f.newTenant())
	org := newBulkOrg(n, bulked.outsider())
	each.outsider()

	objects := slices.Clone(org.objects)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(objects), func(i, j int) { objects[i], objects[j] = objects[j], objects[i] })
	rows := encode(t, objects)
	before := slices.Clone(rows)
	var calls []int
	if err := bulked.bulk(rows, org.sponsors, func(n int) { calls = append(calls, n) }); err != nil {
		t.Fatalf("InsertBulk: %v", err)
	}
	if !slices.IsSorted(calls) || len(calls) == 0 || calls[len(calls)-1] != len(rows)+len(org.sponsors) {
		t.Errorf("progress calls %v, want them rising to %d", calls, len(rows)+len(org.sponsors))
	}
	if !reflect.DeepEqual(rows, before) {
		t.Error("InsertBulk changed the objects it was given")
	}
	each.insertEach(org)

	compareTenants(t, bulked, each, org)
	bulked.checkInvariants()
	// The other tenant is as it was.
	if got := other.get(neighbour.ID); got.String("displayName") != "neighbour" {
		t.Errorf("the other tenant's user reads %+v", got)
	}
	other.view(func(tx directory.Tx) error {
		if o, err := tx.GetByUPN("NEIGHBOUR@example.com"); err != nil || o.ID != neighbour.ID {
			t.Errorf("GetByUPN in the other tenant = %v, %v", o, err)
		}
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 1 {
			t.Errorf("the other tenant counts %d objects, %v; want 1", n, err)
		}
		return nil
	})
}

// compareTenants checks that every read of a and b gives the same answer, on the objects of org.
func compareTenants(t *testing.T, a, b *fixture, org *bulkOrg) {
	t.Helper()
	read := func(f *fixture, fn func(tx directory.Tx) (any, error)) any {
		var v any
		f.view(func(tx directory.Tx) (err error) {
			v, err = fn(tx)
			return err
		})
		return v
	}
	same := func(what string, fn func(tx directory.Tx) (any, error)) {
		t.Helper()
		if va, vb := read(a, fn), read(b, fn); !reflect.DeepEqual(va, vb) {
			t.Errorf("%s: bulk %v\nwant %v", what, va, vb)
		}
	}
	// Whole objects, as stored: the same bytes, so a response copying them is the same too.
	type stored struct {
		ID, Manager string
		Kind        directory.Kind
		Props       map[string]any
		Stored      string
	}
	all := func(tx directory.Tx) (any, error) {
		os, err := tx.List(directory.ListQuery{})
		out := make([]stored, len(os))
		for i, o := range os {
			out[i] = stored{ID: o.ID, Manager: o.ManagerID, Kind: o.Kind, Stored: string(o.Stored)}
			if err := o.Decode(); err != nil {
				return nil, err
			}
			out[i].Props = o.Props
		}
		return out, err
	}
	same("List", all)
	if n := len(read(a, all).([]stored)); n != len(org.objects)+2 {
		t.Errorf("the bulk tenant holds %d objects, want %d", n, len(org.objects)+2)
	}

	ids := func(os []*directory.Object, err error) (any, error) { return idsOf(os), err }
	q := &queryFixture{fixture: a}
	for _, c := range []struct {
		kinds                   []directory.Kind
		filter, search, orderby string
	}{
		{kindsUsers, "", "", "displayName"},
		{kindsUsers, "", "", "userPrincipalName desc"},
		{kindsUsers, "", "", "createdDateTime"},
		{kindsUsers, "startswith(displayName,'ada')", "", ""},
		{kindsUsers, "userPrincipalName eq 'USER7@example.com'", "", ""},
		{kindsUsers, "", `"displayName:emile"`, "displayName"},
		{kindsGroups, "", `"description:engineering"`, ""},
		{kindsContacts, "", "", "displayName"},
		{nil, "", "", ""},
	} {
		lq := q.parse(c.kinds, c.filter, c.search, c.orderby)
		lq.Limit = 50
		name := fmt.Sprintf("List %v %q %q %q", c.kinds, c.filter, c.search, c.orderby)
		same(name, func(tx directory.Tx) (any, error) { return ids(tx.List(lq)) })
		same("Count "+name, func(tx directory.Tx) (any, error) { return tx.Count(lq) })
	}
	for _, k := range [][]directory.Kind{kindsUsers, kindsGroups, kindsContacts} {
		same(fmt.Sprintf("Count %v", k), func(tx directory.Tx) (any, error) { return tx.Count(directory.ListQuery{Kinds: k}) })
	}
	for _, i := range []int{0, 1, 7, len(org.objects) / 3, len(org.objects) / 2} {
		o := org.objects[i]
		same("GetByUPN "+o.ID, func(tx directory.Tx) (any, error) {
			got, err := tx.GetByUPN(strings.ToUpper(o.String("userPrincipalName")))
			if err != nil {
				return err.Error(), nil
			}
			return got.ID, nil
		})
		same("DirectReports "+o.ID, func(tx directory.Tx) (any, error) { return ids(tx.DirectReports(o.ID, directory.ListQuery{})) })
		same("Chain "+o.ID, func(tx directory.Tx) (any, error) { return ids(tx.Chain(o.ID, 0)) })
		same("Sponsors "+o.ID, func(tx directory.Tx) (any, error) { return ids(tx.Sponsors(o.ID)) })
	}
	last := org.objects[len(org.objects)/2]
	same("Chain of the deepest", func(tx directory.Tx) (any, error) { return ids(tx.Chain(last.ID, 0)) })
	for _, s := range org.sponsors {
		same("Sponsors "+s.UserID, func(tx directory.Tx) (any, error) { return ids(tx.Sponsors(s.UserID)) })
	}
}

// testBulkDuplicates loads objects that clash with the tenant or with each other: each load fails with
// Graph's error and leaves nothing, and the store works as before afterwards.
func testBulkDuplicates(t *testing.T, s store.Store, n int) {
	f := newFixture(t, s)
	existing := f.user("existing")
	org := newBulkOrg(n, existing)
	users := org.objects[:n]
	clone := func(o *directory.Object, id, upn string) *directory.Object {
		c := *o
		c.Props = maps.Clone(o.Props)
		c.ID, c.Props["userPrincipalName"] = id, upn
		return &c
	}
	last := users[n-1]
	for _, tc := range []struct {
		name  string
		extra *directory.Object
		want  *directory.Error
	}{
		{"id held by the tenant", clone(last, existing.ID, "new@example.com"), directory.DuplicateValue("id")},
		{"userPrincipalName held by the tenant", clone(last, uuid.NewString(), "EXISTING@example.com"), directory.DuplicateValue("userPrincipalName")},
		{"repeated id", clone(last, users[0].ID, "new@example.com"), directory.DuplicateValue("id")},
		{"repeated userPrincipalName", clone(last, uuid.NewString(), strings.ToLower(users[0].String("userPrincipalName"))), directory.DuplicateValue("userPrincipalName")},
	} {
		err := f.bulk(encode(t, append(slices.Clone(org.objects), tc.extra)), nil, nil)
		wantMessage(t, tc.name, err, tc.want)
		f.view(func(tx directory.Tx) error {
			if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 1 {
				t.Errorf("%s: %d objects after the failed load, %v; want the 1 there was", tc.name, n, err)
			}
			if o, err := tx.GetByUPN("Existing@Example.com"); err != nil || o.ID != existing.ID {
				t.Errorf("%s: GetByUPN after the failed load = %v, %v", tc.name, o, err)
			}
			return nil
		})
	}
	// The same objects without the clash load.
	if err := f.bulk(encode(t, org.objects), nil, nil); err != nil {
		t.Fatalf("InsertBulk after the failed ones: %v", err)
	}
	f.view(func(tx directory.Tx) error {
		if o, err := tx.GetByUPN(strings.ToUpper(last.String("userPrincipalName"))); err != nil || o.ID != last.ID {
			t.Errorf("GetByUPN of a loaded user = %v, %v", o, err)
		}
		return nil
	})
	f.checkInvariants()
}

// testBulkSponsors checks the errors of sponsor relationships, and that a user's sponsors loaded in bulk
// come after those it had, in order.
func testBulkSponsors(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	guest, first := f.user("guest"), f.user("first")
	f.addSponsor(guest, first)
	org := newBulkOrg(3, guest)
	rows := encode(t, org.objects)
	a, b := bulkID("user", 1), bulkID("user", 2)
	for _, tc := range []struct {
		name     string
		sponsors []store.BulkSponsor
		want     error
	}{
		{"held", []store.BulkSponsor{{UserID: guest.ID, SponsorID: first.ID}}, directory.DuplicateReference("sponsors")},
		{"repeated", []store.BulkSponsor{{UserID: guest.ID, SponsorID: a}, {UserID: guest.ID, SponsorID: a}}, directory.DuplicateReference("sponsors")},
		{"missing user", []store.BulkSponsor{{UserID: uuid.NewString(), SponsorID: a}}, directory.ErrNotFound},
		{"missing sponsor", []store.BulkSponsor{{UserID: guest.ID, SponsorID: uuid.NewString()}}, directory.ErrNotFound},
	} {
		err := f.bulk(rows, tc.sponsors, nil)
		var de *directory.Error
		if want, ok := tc.want.(*directory.Error); ok && want.Message != "" {
			wantMessage(t, tc.name, err, want)
		} else if !errors.Is(err, tc.want) || !errors.As(err, &de) {
			t.Errorf("%s: got error %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := f.bulk(rows, []store.BulkSponsor{{UserID: guest.ID, SponsorID: b}, {UserID: guest.ID, SponsorID: a}}, nil); err != nil {
		t.Fatalf("InsertBulk: %v", err)
	}
	f.view(func(tx directory.Tx) error {
		sponsors, err := tx.Sponsors(guest.ID)
		if got := idsOf(sponsors); err != nil || !slices.Equal(got, []string{first.ID, b, a}) {
			t.Errorf("Sponsors(guest) = %v, %v; want first, then the loaded ones in order", got, err)
		}
		return nil
	})
	f.checkInvariants()
}

func testBulkUnknownTenant(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	org := newBulkOrg(3, f.user("outsider"))
	ghost := f.in(uuid.NewString())
	wantErr(t, "InsertBulk into an unknown tenant", ghost.bulk(encode(t, org.objects[:3]), nil, nil), store.ErrTenantNotFound)
}

// testBulkUnstorable loads an object holding text not every backend stores: InsertBulk does what Insert
// does, storing it or refusing it with the same error, and when it refuses it names the object.
func testBulkUnstorable(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	o := &directory.Object{ID: uuid.NewString(), Kind: directory.KindOrgContact, Props: map[string]any{
		"displayName": "Nul", "addresses": []any{map[string]any{"street": "a\x00b"}},
	}}
	insertErr := f.s.Update(f.ctx, f.tenant, func(tx directory.Tx) error { return tx.Insert(o) })
	bulked := f.in(f.newTenant())
	err := bulked.bulk(encode(t, []*directory.Object{o}), nil, nil)
	if insertErr == nil {
		if err != nil {
			t.Fatalf("Insert stored the object, InsertBulk: %v", err)
		}
		if a, b := f.get(o.ID), bulked.get(o.ID); !bytes.Equal(a.Stored, b.Stored) {
			t.Errorf("InsertBulk stored %s, Insert %s", b.Stored, a.Stored)
		}
		return
	}
	var oe *store.ObjectError
	if !errors.As(err, &oe) || oe.ID != o.ID || oe.Err.Error() != insertErr.Error() {
		t.Errorf("Insert refused the object with %v; InsertBulk with %v, want an *ObjectError naming it with the same error", insertErr, err)
	}
}
