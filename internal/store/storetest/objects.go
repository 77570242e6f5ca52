package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	base := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	in := []store.Tenant{
		{ID: "b-" + uuid.NewString(), Name: "Second", CreatedAt: base.Add(time.Second)},
		{ID: "c-" + uuid.NewString(), Name: "First", CreatedAt: base.In(time.FixedZone("X", 3600))},
		{ID: "a-" + uuid.NewString(), Name: "Third", CreatedAt: base.Add(time.Hour)},
	}
	for _, tn := range in {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatalf("CreateTenant: %v", err)
		}
	}
	wantErr(t, "CreateTenant with a taken id", s.CreateTenant(ctx, store.Tenant{ID: in[0].ID, Name: "again", CreatedAt: base}), store.ErrTenantExists)

	got, err := s.Tenants(ctx)
	if err != nil {
		t.Fatalf("Tenants: %v", err)
	}
	want := []store.Tenant{in[1], in[0], in[2]}
	if len(got) != len(want) {
		t.Fatalf("Tenants = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Name != want[i].Name || !got[i].CreatedAt.Equal(want[i].CreatedAt) {
			t.Errorf("Tenants[%d] = %+v, want %+v (oldest first)", i, got[i], want[i])
		}
	}
	one, err := s.Tenant(ctx, in[2].ID)
	if err != nil || one.Name != "Third" || !one.CreatedAt.Equal(in[2].CreatedAt) {
		t.Errorf("Tenant = %+v, %v; want %+v", one, err, in[2])
	}
	_, err = s.Tenant(ctx, "no-such-tenant")
	wantErr(t, "Tenant(unknown)", err, store.ErrTenantNotFound)
	wantErr(t, "DeleteTenant(unknown)", s.DeleteTenant(ctx, "no-such-tenant"), store.ErrTenantNotFound)
}

func testObjectsCRUD(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	alice, bob := f.user("Alice"), f.user("bob")
	admins, staff := f.group("Admins"), f.group("Staff")
	carol, dave := f.contact("Carol"), f.contact("Dave")

	for _, o := range []*directory.Object{alice, bob, admins, staff, carol, dave} {
		got := f.get(o.ID)
		if got.ID != o.ID || got.Kind != o.Kind || got.ManagerID != "" {
			t.Errorf("Get(%s) = %+v, want %+v", o.ID, got, o)
		}
		if !reflect.DeepEqual(got.Props, o.Props) {
			t.Errorf("Get(%s).Props = %v, want %v", o.ID, got.Props, o.Props)
		}
	}
	if _, ok := f.get(alice.ID).Props["passwordProfile"]; ok {
		t.Error("passwordProfile was stored")
	}

	f.view(func(tx directory.Tx) error {
		for _, key := range []string{"ALICE@EXAMPLE.COM", "alice@example.com", "Alice@Example.com"} {
			if o, err := tx.GetByUPN(key); err != nil || o.ID != alice.ID {
				t.Errorf("GetByUPN(%s) = %v, %v; want Alice", key, o, err)
			}
		}
		_, err := tx.GetByUPN("Admins")
		wantErr(t, "GetByUPN(a group's name)", err, directory.ErrNotFound)

		many, err := tx.GetMany([]string{staff.ID, "no-such-id", carol.ID, alice.ID})
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if ids := idsOf(many); !slices.Equal(ids, []string{staff.ID, carol.ID, alice.ID}) {
			t.Errorf("GetMany = %v, want Staff, Carol, Alice in that order", ids)
		}
		if many, err := tx.GetMany(nil); err != nil || len(many) != 0 {
			t.Errorf("GetMany(nil) = %v, %v", many, err)
		}
		for _, k := range directory.Kinds {
			if n, err := tx.Count(directory.ListQuery{Kinds: []directory.Kind{k}}); err != nil || n != 2 {
				t.Errorf("Count(%s) = %d, %v; want 2", k, n, err)
			}
		}
		return nil
	})

	// Update through the Service: a changed property, a cleared one, a new userPrincipalName.
	err := f.svc.Update(f.ctx, f.tenant, directory.KindUser, alice.ID, map[string]any{
		"jobTitle": "CEO", "displayName": "Alice A.", "userPrincipalName": "alice.a@example.com",
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	err = f.svc.Update(f.ctx, f.tenant, directory.KindUser, "alice.a@example.com", map[string]any{"jobTitle": nil})
	if err != nil {
		t.Fatalf("Update by UPN: %v", err)
	}
	got := f.get(alice.ID)
	if got.String("displayName") != "Alice A." || got.Props["jobTitle"] != nil || got.Kind != directory.KindUser {
		t.Errorf("after Update: %+v", got)
	}
	f.view(func(tx directory.Tx) error {
		if o, err := tx.GetByUPN("ALICE.A@example.com"); err != nil || o.ID != alice.ID {
			t.Errorf("GetByUPN(new UPN) = %v, %v", o, err)
		}
		_, err := tx.GetByUPN("alice@example.com")
		wantErr(t, "GetByUPN(old UPN)", err, directory.ErrNotFound)
		return nil
	})
	err = f.svc.Update(f.ctx, f.tenant, directory.KindGroup, admins.ID, map[string]any{"description": "The admins"})
	if err != nil || f.get(admins.ID).String("description") != "The admins" {
		t.Errorf("Update group: %v", err)
	}

	// Replace keeps the kind and the manager whatever o says; Insert does not take a manager.
	f.setManager(bob, alice)
	f.update(func(tx directory.Tx) error {
		o, err := tx.Get(bob.ID)
		if err != nil {
			return err
		}
		if o, err = o.Clone(); err != nil {
			return err
		}
		o.Kind, o.ManagerID = directory.KindGroup, ""
		o.Props["city"] = "Lyon"
		if err := tx.Replace(o); err != nil {
			return err
		}
		return tx.Insert(&directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, ManagerID: alice.ID,
			Props: map[string]any{"displayName": "Eve", "userPrincipalName": "eve@example.com"}})
	})
	got = f.get(bob.ID)
	if got.Kind != directory.KindUser || got.ManagerID != alice.ID || got.String("city") != "Lyon" {
		t.Errorf("after Replace: %+v, want a user managed by Alice in Lyon", got)
	}
	f.view(func(tx directory.Tx) error {
		eve, err := tx.GetByUPN("eve@example.com")
		if err != nil || eve.ManagerID != "" {
			t.Errorf("inserted Eve = %+v, %v; want no manager", eve, err)
		}
		return nil
	})

	// Delete through the Service, for each kind.
	for _, o := range []*directory.Object{bob, staff, dave} {
		if err := f.svc.Delete(f.ctx, f.tenant, o.Kind, o.ID); err != nil {
			t.Fatalf("Delete %s: %v", o.Kind, err)
		}
	}
	f.view(func(tx directory.Tx) error {
		for _, o := range []*directory.Object{bob, staff, dave} {
			_, err := tx.Get(o.ID)
			wantErr(t, "Get(deleted)", err, directory.ErrNotFound)
		}
		_, err := tx.GetByUPN("bob@example.com")
		wantErr(t, "GetByUPN(deleted)", err, directory.ErrNotFound)
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 4 {
			t.Errorf("Count() = %d, %v; want 4", n, err)
		}
		return nil
	})
	f.checkInvariants()
}

func testListPaging(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	var users, groups, contacts []*directory.Object
	for i := range 7 {
		users = append(users, f.user(fmt.Sprintf("user%d", i)))
	}
	for i := range 3 {
		groups = append(groups, f.group(fmt.Sprintf("group%d", i)))
	}
	for i := range 2 {
		contacts = append(contacts, f.contact(fmt.Sprintf("contact%d", i)))
	}
	all := slices.Concat(users, groups, contacts)
	cases := []struct {
		kinds []directory.Kind
		want  []string
	}{
		{nil, sortedIDs(all...)},
		{[]directory.Kind{directory.KindUser}, sortedIDs(users...)},
		{[]directory.Kind{directory.KindGroup, directory.KindGroup}, sortedIDs(groups...)},
		{[]directory.Kind{directory.KindOrgContact, directory.KindUser}, sortedIDs(slices.Concat(users, contacts)...)},
		{directory.Kinds, sortedIDs(all...)},
	}
	f.view(func(tx directory.Tx) error {
		for _, c := range cases {
			got, err := tx.List(directory.ListQuery{Kinds: c.kinds})
			if err != nil {
				t.Fatalf("List(%v): %v", c.kinds, err)
			}
			if ids := idsOf(got); !slices.Equal(ids, c.want) {
				t.Errorf("List(%v) = %v, want %v", c.kinds, ids, c.want)
			}
			// Count ignores After and Limit.
			n, err := tx.Count(directory.ListQuery{Kinds: c.kinds, After: directory.Cursor{ID: c.want[0]}, Limit: 1})
			if err != nil || n != len(c.want) {
				t.Errorf("Count(%v) = %d, %v; want %d", c.kinds, n, err, len(c.want))
			}
			for _, size := range []int{1, 3, len(c.want)} {
				var paged []string
				var after directory.Cursor
				for range len(c.want) + 1 {
					q := directory.ListQuery{Kinds: c.kinds, After: after, Limit: size}
					page, err := tx.List(q)
					if err != nil {
						t.Fatalf("List page: %v", err)
					}
					if len(page) > size {
						t.Fatalf("List(Limit %d) returned %d", size, len(page))
					}
					if len(page) == 0 {
						break
					}
					paged = append(paged, idsOf(page)...)
					after = q.Next(page[len(page)-1])
				}
				if !slices.Equal(paged, c.want) {
					t.Errorf("List(%v) in pages of %d = %v, want %v", c.kinds, size, paged, c.want)
				}
			}
			if tail, err := tx.List(directory.ListQuery{Kinds: c.kinds, After: directory.Cursor{ID: c.want[len(c.want)-1]}}); err != nil || len(tail) != 0 {
				t.Errorf("List after the last id = %v, %v", idsOf(tail), err)
			}
		}
		return nil
	})
}

func testDuplicateValues(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	alice := f.user("alice")
	bob := f.user("bob")
	dup := directory.DuplicateValue("userPrincipalName")

	props := userProps("x")
	props["userPrincipalName"] = "ALICE@example.COM"
	_, err := f.svc.Create(f.ctx, f.tenant, directory.KindUser, props)
	wantMessage(t, "Create with a taken UPN in other case", err, dup)

	err = f.svc.Update(f.ctx, f.tenant, directory.KindUser, bob.ID, map[string]any{"userPrincipalName": "Alice@Example.com"})
	wantMessage(t, "Update to a taken UPN", err, dup)
	if got := f.get(bob.ID); got.String("userPrincipalName") != "bob@example.com" {
		t.Errorf("failed Update changed bob: %v", got.Props)
	}

	err = f.s.Update(f.ctx, f.tenant, func(tx directory.Tx) error {
		return tx.Insert(&directory.Object{ID: alice.ID, Kind: directory.KindGroup, Props: map[string]any{"displayName": "G"}})
	})
	wantMessage(t, "Insert with a taken id", err, directory.DuplicateValue("id"))

	// A UPN is unique within a tenant only, and free again once its user is deleted.
	other := f.in(f.newTenant())
	other.user("alice")
	if err := f.svc.Delete(f.ctx, f.tenant, directory.KindUser, "alice@example.com"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	f.user("alice")
	f.checkInvariants()
}

func testNotFound(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	alice, bob := f.user("alice"), f.user("bob")
	admins := f.group("admins")
	missing := uuid.NewString()

	f.update(func(tx directory.Tx) error {
		_, err := tx.Get(missing)
		wantErr(t, "Get", err, directory.ErrNotFound)
		_, err = tx.GetByUPN("nobody@example.com")
		wantErr(t, "GetByUPN", err, directory.ErrNotFound)
		err = tx.Replace(&directory.Object{ID: missing, Kind: directory.KindUser, Props: map[string]any{}})
		wantErr(t, "Replace", err, directory.ErrNotFound)
		wantErr(t, "Delete", tx.Delete(missing), directory.ErrNotFound)
		wantErr(t, "RemoveSponsor", tx.RemoveSponsor(alice.ID, bob.ID), directory.ErrNotFound)
		return nil
	})

	ctx, tn := f.ctx, f.tenant
	wantErr(t, "Service.Update", f.svc.Update(ctx, tn, directory.KindUser, missing, map[string]any{"city": "X"}), directory.ErrNotFound)
	wantErr(t, "Service.Delete", f.svc.Delete(ctx, tn, directory.KindGroup, missing), directory.ErrNotFound)
	wantErr(t, "Service.Delete of the wrong kind", f.svc.Delete(ctx, tn, directory.KindGroup, alice.ID), directory.ErrNotFound)
	wantErr(t, "SetManager of nobody", f.svc.SetManager(ctx, tn, missing, directory.Ref{ID: alice.ID}), directory.ErrNotFound)
	wantErr(t, "SetManager to nobody", f.svc.SetManager(ctx, tn, alice.ID, directory.Ref{ID: missing}), directory.ErrNotFound)
	wantErr(t, "SetManager to a user named as a group", f.svc.SetManager(ctx, tn, alice.ID, directory.Ref{Kind: directory.KindGroup, ID: bob.ID}), directory.ErrNotFound)
	wantErr(t, "RemoveManager without a manager", f.svc.RemoveManager(ctx, tn, alice.ID), directory.ErrNotFound)
	wantErr(t, "AddSponsor of nobody", f.svc.AddSponsor(ctx, tn, alice.ID, directory.Ref{ID: missing}), directory.ErrNotFound)
	wantErr(t, "AddSponsor to a group", f.svc.AddSponsor(ctx, tn, admins.ID, directory.Ref{ID: alice.ID}), directory.ErrNotFound)
	wantErr(t, "RemoveSponsor that is not one", f.svc.RemoveSponsor(ctx, tn, alice.ID, directory.Ref{ID: bob.ID}), directory.ErrNotFound)
}

func testUnknownTenant(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	f.user("alice")
	ghost := f.in("no-such-tenant")

	_, err := ghost.svc.Create(ghost.ctx, ghost.tenant, directory.KindUser, userProps("bob"))
	wantErr(t, "Create in an unknown tenant", err, store.ErrTenantNotFound)
	err = ghost.svc.Import(ghost.ctx, ghost.tenant, &directory.Object{Kind: directory.KindOrgContact, Props: map[string]any{"displayName": "C"}})
	wantErr(t, "Import into an unknown tenant", err, store.ErrTenantNotFound)

	ghost.view(func(tx directory.Tx) error {
		all, err := tx.List(directory.ListQuery{})
		if err != nil || len(all) != 0 {
			t.Errorf("List in an unknown tenant = %v, %v; want empty", idsOf(all), err)
		}
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 0 {
			t.Errorf("Count in an unknown tenant = %d, %v", n, err)
		}
		return nil
	})
}

func testTenantIsolation(t *testing.T, s store.Store) {
	a := newFixture(t, s)
	b := a.in(a.newTenant())
	alice, admins := a.user("alice"), a.group("admins")
	boss := b.user("boss")
	bAlice := b.user("alice") // the same UPN in another tenant
	b.setManager(bAlice, boss)

	a.view(func(tx directory.Tx) error {
		for _, id := range []string{boss.ID, bAlice.ID} {
			_, err := tx.Get(id)
			wantErr(t, "Get of another tenant's object", err, directory.ErrNotFound)
		}
		_, err := tx.GetByUPN("boss@example.com")
		wantErr(t, "GetByUPN of another tenant's user", err, directory.ErrNotFound)
		if o, err := tx.GetByUPN("alice@example.com"); err != nil || o.ID != alice.ID {
			t.Errorf("GetByUPN(alice) in A = %v, %v; want A's alice", o, err)
		}
		if many, err := tx.GetMany([]string{boss.ID, alice.ID, bAlice.ID}); err != nil || !slices.Equal(idsOf(many), []string{alice.ID}) {
			t.Errorf("GetMany across tenants = %v, %v", idsOf(many), err)
		}
		if all, err := tx.List(directory.ListQuery{}); err != nil || !slices.Equal(idsOf(all), sortedIDs(alice, admins)) {
			t.Errorf("List in A = %v, %v", idsOf(all), err)
		}
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 2 {
			t.Errorf("Count in A = %d, %v", n, err)
		}
		if chain, err := tx.Chain(bAlice.ID, 0); err != nil || len(chain) != 0 {
			t.Errorf("Chain in A of B's user = %v, %v", idsOf(chain), err)
		}
		if ids, err := tx.ChainIDs(bAlice.ID, 0); err != nil || len(ids) != 0 {
			t.Errorf("ChainIDs in A of B's user = %v, %v", ids, err)
		}
		if reports, err := tx.DirectReports(boss.ID, directory.ListQuery{}); err != nil || len(reports) != 0 {
			t.Errorf("DirectReports in A of B's manager = %v, %v", idsOf(reports), err)
		}
		return nil
	})

	ctx := a.ctx
	wantErr(t, "SetManager to another tenant's user", a.svc.SetManager(ctx, a.tenant, alice.ID, directory.Ref{ID: boss.ID}), directory.ErrNotFound)
	wantErr(t, "SetManager of another tenant's user", a.svc.SetManager(ctx, a.tenant, bAlice.ID, directory.Ref{ID: alice.ID}), directory.ErrNotFound)
	wantErr(t, "AddSponsor from another tenant", a.svc.AddSponsor(ctx, a.tenant, alice.ID, directory.Ref{ID: boss.ID}), directory.ErrNotFound)
	wantErr(t, "Delete another tenant's user", a.svc.Delete(ctx, a.tenant, directory.KindUser, boss.ID), directory.ErrNotFound)
	wantErr(t, "Update another tenant's user", a.svc.Update(ctx, a.tenant, directory.KindUser, boss.ID, map[string]any{"city": "X"}), directory.ErrNotFound)
	if got := b.get(bAlice.ID); got.ManagerID != boss.ID {
		t.Errorf("B's alice lost her manager: %+v", got)
	}
	a.checkInvariants()
	b.checkInvariants()
}

func testDeleteTenant(t *testing.T, s store.Store) {
	keep := newFixture(t, s)
	gone := keep.in(keep.newTenant())
	for _, f := range []*fixture{keep, gone} {
		m, u, g := f.user("manager"), f.user("user"), f.group("group")
		f.setManager(u, m)
		f.addSponsor(u, m)
		f.addSponsor(u, g)
		f.contact("contact")
	}
	if err := s.DeleteTenant(gone.ctx, gone.tenant); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	_, err := s.Tenant(gone.ctx, gone.tenant)
	wantErr(t, "Tenant after DeleteTenant", err, store.ErrTenantNotFound)
	wantErr(t, "DeleteTenant twice", s.DeleteTenant(gone.ctx, gone.tenant), store.ErrTenantNotFound)
	_, err = gone.svc.Create(gone.ctx, gone.tenant, directory.KindUser, userProps("late"))
	wantErr(t, "Create in a deleted tenant", err, store.ErrTenantNotFound)

	// A tenant created again with the same id starts empty: nothing of the old one is left behind.
	if err := s.CreateTenant(gone.ctx, store.Tenant{ID: gone.tenant, Name: "again", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateTenant again: %v", err)
	}
	gone.view(func(tx directory.Tx) error {
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 0 {
			t.Errorf("Count in a re-created tenant = %d, %v", n, err)
		}
		if _, err := tx.GetByUPN("user@example.com"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("GetByUPN in a re-created tenant: %v", err)
		}
		return nil
	})
	u := gone.user("user") // the old UPN is free
	if got := gone.get(u.ID); got.ManagerID != "" {
		t.Errorf("new user has a manager: %+v", got)
	}

	keep.view(func(tx directory.Tx) error {
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 4 {
			t.Errorf("Count in the other tenant = %d, %v; want 4", n, err)
		}
		u, err := tx.GetByUPN("user@example.com")
		if err != nil {
			t.Fatalf("GetByUPN in the other tenant: %v", err)
		}
		if sp, err := tx.Sponsors(u.ID); err != nil || len(sp) != 2 || u.ManagerID == "" {
			t.Errorf("other tenant's user lost relationships: manager %q, sponsors %v, %v", u.ManagerID, idsOf(sp), err)
		}
		CheckInvariants(t, tx)
		return nil
	})
}
