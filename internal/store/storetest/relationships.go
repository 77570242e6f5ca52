package storetest

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

func testManager(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	alice, bob, carol := f.user("alice"), f.user("bob"), f.contact("carol")
	admins := f.group("admins")
	ctx, tn := f.ctx, f.tenant

	if err := f.svc.SetManager(ctx, tn, "BOB@example.com", directory.Ref{Kind: directory.KindUser, ID: alice.ID}); err != nil {
		t.Fatalf("SetManager by UPN: %v", err)
	}
	if got := f.get(bob.ID); got.ManagerID != alice.ID {
		t.Errorf("ManagerID = %q, want alice", got.ManagerID)
	}
	// Setting the same manager again is not an error.
	f.setManager(bob, alice)

	// An org contact may be a manager; a group may not.
	f.setManager(bob, carol)
	if got := f.get(bob.ID); got.ManagerID != carol.ID {
		t.Errorf("ManagerID = %q, want the contact", got.ManagerID)
	}
	wantErr(t, "group as manager", f.svc.SetManager(ctx, tn, bob.ID, directory.Ref{ID: admins.ID}), directory.ErrInvalid)
	if got := f.get(bob.ID); got.ManagerID != carol.ID {
		t.Errorf("refused SetManager changed the manager to %q", got.ManagerID)
	}
	f.view(func(tx directory.Tx) error {
		chain, err := tx.Chain(bob.ID, 0)
		if err != nil || !slices.Equal(idsOf(chain), []string{carol.ID}) || chain[0].Kind != directory.KindOrgContact {
			t.Errorf("Chain(bob) = %v, %v; want [carol]", idsOf(chain), err)
		}
		return nil
	})

	if err := f.svc.RemoveManager(ctx, tn, bob.ID); err != nil {
		t.Fatalf("RemoveManager: %v", err)
	}
	if got := f.get(bob.ID); got.ManagerID != "" {
		t.Errorf("ManagerID after RemoveManager = %q", got.ManagerID)
	}
	wantErr(t, "RemoveManager twice", f.svc.RemoveManager(ctx, tn, bob.ID), directory.ErrNotFound)

	// The raw Tx clears with "".
	f.update(func(tx directory.Tx) error { return tx.SetManager(alice.ID, bob.ID) })
	f.update(func(tx directory.Tx) error { return tx.SetManager(alice.ID, "") })
	if got := f.get(alice.ID); got.ManagerID != "" {
		t.Errorf("ManagerID after SetManager(\"\") = %q", got.ManagerID)
	}
	f.checkInvariants()
}

func testChain(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	top, mid := f.user("top"), f.user("mid")
	f.setManager(mid, top)
	f.view(func(tx directory.Tx) error {
		chain, err := tx.Chain(mid.ID, 0)
		if err != nil || !slices.Equal(idsOf(chain), []string{top.ID}) || chain[0].String("displayName") != "top" {
			t.Errorf("Chain of depth 1 = %v, %v", idsOf(chain), err)
		}
		for _, id := range []string{top.ID, uuid.NewString()} {
			if chain, err := tx.Chain(id, 0); err != nil || len(chain) != 0 {
				t.Errorf("Chain(%s) = %v, %v; want empty", id, idsOf(chain), err)
			}
		}
		return nil
	})

	// users[i] reports to users[i+1]: a chain of 1,000 managers above users[0].
	const depth = directory.MaxLevels
	users := f.users(depth + 1)
	f.update(func(tx directory.Tx) error {
		for i := range depth {
			if err := tx.SetManager(users[i].ID, users[i+1].ID); err != nil {
				return err
			}
		}
		return nil
	})
	want := idsOf(users[1:])
	f.view(func(tx directory.Tx) error {
		chain, err := tx.Chain(users[0].ID, 0)
		if err != nil || !slices.Equal(idsOf(chain), want) {
			t.Fatalf("Chain(bottom, all): %d managers, %v; want the %d above, nearest first", len(chain), err, depth)
		}
		for i, o := range chain {
			manager := ""
			if i+2 <= depth {
				manager = users[i+2].ID
			}
			if o.String("displayName") != users[i+1].String("displayName") || o.ManagerID != manager {
				t.Fatalf("Chain[%d] = %+v, want %s managed by %s", i, o, users[i+1].String("displayName"), manager)
			}
		}
		for _, limit := range []int{1, 10, depth - 1, depth, depth + 5, -1} {
			n := depth
			if limit > 0 && limit < depth {
				n = limit
			}
			if chain, err := tx.Chain(users[0].ID, limit); err != nil || !slices.Equal(idsOf(chain), want[:n]) {
				t.Errorf("Chain(bottom, %d): %d managers, %v; want the nearest %d", limit, len(chain), err, n)
			}
			if ids, err := tx.ChainIDs(users[0].ID, limit); err != nil || !slices.Equal(ids, want[:n]) {
				t.Errorf("ChainIDs(bottom, %d): %d ids, %v; want the nearest %d", limit, len(ids), err, n)
			}
		}
		if ids, err := tx.ChainIDs(users[500].ID, 0); err != nil || !slices.Equal(ids, want[500:]) {
			t.Errorf("ChainIDs(middle) = %d ids, %v; want %d", len(ids), err, depth-500)
		}
		return nil
	})
	// Closing the 1,000-long chain into a cycle is refused.
	err := f.svc.SetManager(f.ctx, f.tenant, users[depth].ID, directory.Ref{ID: users[0].ID})
	wantErr(t, "SetManager closing a 1,000-long cycle", err, directory.ErrInvalid)
	f.checkInvariants()
}

// testChainOnCyclicData writes a cycle through the raw Tx, which checks nothing, and expects chain walks to end.
func testChainOnCyclicData(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	a, b, c, d := f.user("a"), f.user("b"), f.user("c"), f.user("d")
	f.update(func(tx directory.Tx) error {
		for _, pair := range [][2]string{{a.ID, b.ID}, {b.ID, c.ID}, {c.ID, a.ID}, {d.ID, a.ID}} {
			if err := tx.SetManager(pair[0], pair[1]); err != nil {
				return err
			}
		}
		return nil
	})
	f.view(func(tx directory.Tx) error {
		for _, start := range []*directory.Object{a, d} {
			ids, err := tx.ChainIDs(start.ID, 0)
			if err != nil {
				t.Fatalf("ChainIDs on a cycle: %v", err)
			}
			chain, err := tx.Chain(start.ID, 0)
			if err != nil {
				t.Fatalf("Chain on a cycle: %v", err)
			}
			for _, got := range [][]string{ids, idsOf(chain)} {
				uniq := slices.Compact(slices.Sorted(slices.Values(got)))
				if len(got) > 4 || len(uniq) != len(got) {
					t.Errorf("chain from %s on cyclic data = %v: it must stop before a repeat", start.String("displayName"), got)
				}
			}
		}
		ids, _ := tx.ChainIDs(a.ID, 2)
		if !slices.Equal(ids, []string{b.ID, c.ID}) {
			t.Errorf("ChainIDs(a, 2) = %v, want [b c]", ids)
		}
		return nil
	})
	// The Service's cycle check ends too, and refuses to extend the cycle.
	e := f.user("e")
	wantErr(t, "SetManager into a cyclic chain", f.svc.SetManager(f.ctx, f.tenant, a.ID, directory.Ref{ID: c.ID}), directory.ErrInvalid)
	f.setManager(e, a)
}

func testDirectReports(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	boss := f.user("boss")
	other := f.user("other")
	users := f.users(25)
	contact := f.contact("contact")
	for _, u := range users {
		f.setManager(u, boss)
	}
	f.setManager(other, users[0])
	// The Service only manages users; the raw Tx lets a contact report to someone too.
	f.update(func(tx directory.Tx) error { return tx.SetManager(contact.ID, boss.ID) })

	want := sortedIDs(users...)
	all := sortedIDs(append(slices.Clone(users), contact)...)
	f.view(func(tx directory.Tx) error {
		got, err := tx.DirectReports(boss.ID, directory.ListQuery{})
		if err != nil || !slices.Equal(idsOf(got), all) {
			t.Errorf("DirectReports = %v, %v; want %v", idsOf(got), err, all)
		}
		users := directory.ListQuery{Kinds: []directory.Kind{directory.KindUser}}
		got, err = tx.DirectReports(boss.ID, users)
		if err != nil || !slices.Equal(idsOf(got), want) {
			t.Errorf("DirectReports(users) = %v, %v; want %v", idsOf(got), err, want)
		}
		for _, c := range []struct {
			kinds []directory.Kind
			n     int
		}{{nil, 26}, {[]directory.Kind{directory.KindUser}, 25}, {[]directory.Kind{directory.KindOrgContact}, 1}, {[]directory.Kind{directory.KindGroup}, 0}} {
			n, err := tx.CountDirectReports(boss.ID, directory.ListQuery{Kinds: c.kinds, After: directory.Cursor{ID: want[3]}, Limit: 2})
			if err != nil || n != c.n {
				t.Errorf("CountDirectReports(%v) = %d, %v; want %d", c.kinds, n, err, c.n)
			}
		}
		var paged []string
		var after directory.Cursor
		for {
			q := directory.ListQuery{Kinds: users.Kinds, After: after, Limit: 10}
			page, err := tx.DirectReports(boss.ID, q)
			if err != nil {
				t.Fatalf("DirectReports page: %v", err)
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 10 {
				t.Fatalf("page of %d, limit 10", len(page))
			}
			paged = append(paged, idsOf(page)...)
			after = q.Next(page[len(page)-1])
		}
		if !slices.Equal(paged, want) {
			t.Errorf("DirectReports in pages = %v, want %v", paged, want)
		}
		if got, err := tx.DirectReports(uuid.NewString(), directory.ListQuery{}); err != nil || len(got) != 0 {
			t.Errorf("DirectReports(unknown) = %v, %v", idsOf(got), err)
		}
		return nil
	})
	f.checkInvariants()
}

func testCycles(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	a, b := f.user("a"), f.user("b")
	ctx, tn := f.ctx, f.tenant

	wantErr(t, "own manager", f.svc.SetManager(ctx, tn, a.ID, directory.Ref{ID: a.ID}), directory.ErrInvalid)
	wantErr(t, "own manager by UPN", f.svc.SetManager(ctx, tn, "a@example.com", directory.Ref{ID: a.ID}), directory.ErrInvalid)

	f.setManager(a, b)
	wantErr(t, "2-cycle", f.svc.SetManager(ctx, tn, b.ID, directory.Ref{ID: a.ID}), directory.ErrInvalid)

	// A chain of 50 under b; its top may not report to anyone below it.
	chain := f.users(50)
	for i := range 49 {
		f.setManager(chain[i], chain[i+1])
	}
	f.setManager(chain[49], a)
	for _, below := range []*directory.Object{chain[0], chain[25], chain[49]} {
		wantErr(t, "long cycle", f.svc.SetManager(ctx, tn, b.ID, directory.Ref{ID: below.ID}), directory.ErrInvalid)
	}
	wantErr(t, "cycle inside the chain", f.svc.SetManager(ctx, tn, chain[40].ID, directory.Ref{ID: chain[3].ID}), directory.ErrInvalid)
	if got := f.get(b.ID); got.ManagerID != "" {
		t.Errorf("refused SetManager left b with manager %q", got.ManagerID)
	}
	// Moving a subtree sideways is fine.
	f.setManager(chain[10], b)
	f.checkInvariants()
}

func testSponsors(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	u := f.user("u")
	sp := []*directory.Object{f.user("s0"), f.group("s1"), f.user("s2"), f.group("s3"), f.user("s4")}
	extra := f.user("s5")
	contact := f.contact("contact")
	ctx, tn := f.ctx, f.tenant

	sponsors := func() []string {
		var ids []string
		f.view(func(tx directory.Tx) error {
			got, err := tx.Sponsors(u.ID)
			ids = idsOf(got)
			return err
		})
		return ids
	}
	if got := sponsors(); len(got) != 0 {
		t.Errorf("new user has sponsors %v", got)
	}
	for _, o := range sp {
		f.addSponsor(u, o)
	}
	if got := sponsors(); !slices.Equal(got, idsOf(sp)) {
		t.Errorf("Sponsors = %v, want the order they were added: %v", got, idsOf(sp))
	}
	wantMessage(t, "AddSponsor twice", f.svc.AddSponsor(ctx, tn, u.ID, directory.Ref{ID: sp[2].ID}), directory.DuplicateReference("sponsors"))
	wantErr(t, "sixth sponsor", f.svc.AddSponsor(ctx, tn, u.ID, directory.Ref{ID: extra.ID}), directory.ErrInvalid)
	wantErr(t, "own sponsor", f.svc.AddSponsor(ctx, tn, extra.ID, directory.Ref{ID: extra.ID}), directory.ErrInvalid)
	wantErr(t, "contact as sponsor", f.svc.AddSponsor(ctx, tn, extra.ID, directory.Ref{ID: contact.ID}), directory.ErrInvalid)
	f.update(func(tx directory.Tx) error {
		wantMessage(t, "raw AddSponsor twice", tx.AddSponsor(u.ID, sp[0].ID), directory.DuplicateReference("sponsors"))
		return nil
	})

	if err := f.svc.RemoveSponsor(ctx, tn, "U@example.com", directory.Ref{ID: sp[1].ID}); err != nil {
		t.Fatalf("RemoveSponsor: %v", err)
	}
	wantErr(t, "RemoveSponsor twice", f.svc.RemoveSponsor(ctx, tn, u.ID, directory.Ref{ID: sp[1].ID}), directory.ErrNotFound)
	f.addSponsor(u, extra)
	f.addSponsor(extra, sp[1]) // a sponsor of one user may sponsor others and be sponsored
	want := []string{sp[0].ID, sp[2].ID, sp[3].ID, sp[4].ID, extra.ID}
	if got := sponsors(); !slices.Equal(got, want) {
		t.Errorf("Sponsors after remove and add = %v, want %v", got, want)
	}
	f.checkInvariants()
}

func testDeleteCascades(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	// m is created with a known id so that it can be created again afterwards.
	m := &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: map[string]any{"displayName": "m", "userPrincipalName": "m@example.com"}}
	if err := f.svc.Import(f.ctx, f.tenant, m); err != nil {
		t.Fatalf("Import: %v", err)
	}
	boss, r1, r2, u, sponsorOfM := f.user("boss"), f.user("r1"), f.user("r2"), f.user("u"), f.group("g")
	other := f.user("other")
	f.setManager(m, boss)
	f.setManager(r1, m)
	f.setManager(r2, m)
	f.setManager(other, r1)
	f.addSponsor(u, m)
	f.addSponsor(u, other)
	f.addSponsor(m, sponsorOfM)
	f.addSponsor(m, other)

	if err := f.svc.Delete(f.ctx, f.tenant, directory.KindUser, m.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	f.view(func(tx directory.Tx) error {
		for _, r := range []*directory.Object{r1, r2} {
			if o, err := tx.Get(r.ID); err != nil || o.ManagerID != "" {
				t.Errorf("report of a deleted manager: %+v, %v; want no manager", o, err)
			}
		}
		if o, _ := tx.Get(other.ID); o.ManagerID != r1.ID {
			t.Errorf("unrelated manager link lost: %+v", o)
		}
		if got, err := tx.Sponsors(u.ID); err != nil || !slices.Equal(idsOf(got), []string{other.ID}) {
			t.Errorf("Sponsors(u) after deleting a sponsor = %v, %v", idsOf(got), err)
		}
		if reports, err := tx.DirectReports(boss.ID, directory.ListQuery{}); err != nil || len(reports) != 0 {
			t.Errorf("deleted user still reports to boss: %v, %v", idsOf(reports), err)
		}
		return nil
	})

	// Created again with the same id, m has no reports, no sponsors, and sponsors nobody.
	if err := f.svc.Import(f.ctx, f.tenant, m); err != nil {
		t.Fatalf("Import again: %v", err)
	}
	f.view(func(tx directory.Tx) error {
		if reports, err := tx.DirectReports(m.ID, directory.ListQuery{}); err != nil || len(reports) != 0 {
			t.Errorf("re-created object has reports %v, %v", idsOf(reports), err)
		}
		if n, err := tx.CountDirectReports(m.ID, directory.ListQuery{}); err != nil || n != 0 {
			t.Errorf("re-created object counts %d reports, %v", n, err)
		}
		if sp, err := tx.Sponsors(m.ID); err != nil || len(sp) != 0 {
			t.Errorf("re-created object has sponsors %v, %v", idsOf(sp), err)
		}
		if got, err := tx.Sponsors(u.ID); err != nil || !slices.Equal(idsOf(got), []string{other.ID}) {
			t.Errorf("re-created object is a sponsor again: %v, %v", idsOf(got), err)
		}
		if o, err := tx.Get(m.ID); err != nil || o.ManagerID != "" {
			t.Errorf("re-created object: %+v, %v; want no manager", o, err)
		}
		return nil
	})
	// A deleted group's sponsorships go too.
	if err := f.svc.Delete(f.ctx, f.tenant, directory.KindGroup, sponsorOfM.ID); err != nil {
		t.Fatalf("Delete group: %v", err)
	}
	f.checkInvariants()
}
