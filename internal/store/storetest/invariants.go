package storetest

import (
	"slices"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
)

// CheckInvariants reports through t every way the directory seen by tx breaks the rules the Service keeps:
// a manager cycle, a manager that is missing or of the wrong kind, a ChainIDs answer that differs from
// following ManagerID, DirectReports that is not exactly the inverse of ManagerID, or a user with more than
// MaxSponsors sponsors, a duplicate, a missing one or one of the wrong kind.
func CheckInvariants(t testing.TB, tx directory.Tx) {
	t.Helper()
	all, err := tx.List(directory.ListQuery{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	byID := make(map[string]*directory.Object, len(all))
	reports := map[string][]string{}
	for _, o := range all {
		byID[o.ID] = o
		if o.ManagerID != "" {
			reports[o.ManagerID] = append(reports[o.ManagerID], o.ID)
		}
	}
	for _, o := range all {
		checkManager(t, tx, byID, o)

		want := reports[o.ID] // in List order, which is id order
		got, err := tx.DirectReports(o.ID, directory.ListQuery{})
		if err != nil {
			t.Fatalf("DirectReports(%s): %v", o.ID, err)
		}
		if ids := idsOf(got); !slices.Equal(ids, want) {
			t.Errorf("DirectReports(%s) = %v, want the objects whose manager it is: %v", o.ID, ids, want)
		}
		if n, err := tx.CountDirectReports(o.ID, directory.ListQuery{}); err != nil || n != len(want) {
			t.Errorf("CountDirectReports(%s) = %d, %v; want %d", o.ID, n, err, len(want))
		}

		if o.Kind == directory.KindUser {
			checkSponsors(t, tx, byID, o)
		}
	}
	for id := range reports {
		if byID[id] == nil {
			t.Errorf("DirectReports: objects report to %s, which does not exist", id)
		}
	}
}

// checkManager follows ManagerID up from o in Go, and compares the walk with the store's ChainIDs.
func checkManager(t testing.TB, tx directory.Tx, byID map[string]*directory.Object, o *directory.Object) {
	t.Helper()
	if o.ManagerID == "" {
		return
	}
	if m := byID[o.ManagerID]; m == nil {
		t.Errorf("%s: manager %s does not exist", o.ID, o.ManagerID)
	} else if m.Kind != directory.KindUser && m.Kind != directory.KindOrgContact {
		t.Errorf("%s: manager %s is a %s", o.ID, m.ID, m.Kind)
	}
	var walk []string
	seen := map[string]bool{o.ID: true}
	for id := o.ManagerID; id != "" && byID[id] != nil; id = byID[id].ManagerID {
		if seen[id] {
			t.Errorf("%s: manager cycle through %s (chain %v)", o.ID, id, walk)
			return
		}
		seen[id] = true
		walk = append(walk, id)
	}
	chain, err := tx.ChainIDs(o.ID, 0)
	if err != nil {
		t.Fatalf("ChainIDs(%s): %v", o.ID, err)
	}
	if !slices.Equal(chain, walk) {
		t.Errorf("ChainIDs(%s) = %v, want %v", o.ID, chain, walk)
	}
}

func checkSponsors(t testing.TB, tx directory.Tx, byID map[string]*directory.Object, u *directory.Object) {
	t.Helper()
	sponsors, err := tx.Sponsors(u.ID)
	if err != nil {
		t.Fatalf("Sponsors(%s): %v", u.ID, err)
	}
	if len(sponsors) > directory.MaxSponsors {
		t.Errorf("%s has %d sponsors, more than %d", u.ID, len(sponsors), directory.MaxSponsors)
	}
	seen := map[string]bool{}
	for _, sp := range sponsors {
		switch {
		case seen[sp.ID]:
			t.Errorf("%s: sponsor %s listed twice", u.ID, sp.ID)
		case byID[sp.ID] == nil:
			t.Errorf("%s: sponsor %s does not exist", u.ID, sp.ID)
		case sp.Kind != directory.KindUser && sp.Kind != directory.KindGroup:
			t.Errorf("%s: sponsor %s is a %s", u.ID, sp.ID, sp.Kind)
		case sp.ID == u.ID:
			t.Errorf("%s sponsors itself", u.ID)
		}
		seen[sp.ID] = true
	}
}

func idsOf(objects []*directory.Object) []string {
	ids := make([]string, len(objects))
	for i, o := range objects {
		ids[i] = o.ID
	}
	return ids
}
