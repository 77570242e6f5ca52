package storetest

import (
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// testCycleThroughContact closes a cycle whose only link below the user is an org contact: the user's one
// report is a contact, so the cycle check must count reports of every kind, not only users, before it
// decides that the user manages nobody and no cycle is possible.
func testCycleThroughContact(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	u, m := f.user("u"), f.user("m")
	c := f.contact("c")
	// A contact's manager comes from an import, through the raw Tx.
	f.update(func(tx directory.Tx) error { return tx.SetManager(c.ID, u.ID) })
	f.setManager(m, c)
	wantErr(t, "a cycle through a contact", f.svc.SetManager(f.ctx, f.tenant, u.ID, directory.Ref{ID: m.ID}), directory.ErrInvalid)
	// A user who manages nobody may report to anyone.
	f.setManager(u, f.user("boss"))
	f.checkInvariants()
}
