package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// TestCheckInvariants breaks a directory in every way the checker knows, through the store's Tx, which checks
// nothing itself, and expects each break reported; the demo directory, written through the Service, is whole.
func TestCheckInvariants(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(ctx, directory.NewService(st), tenant); err != nil {
		t.Fatal(err)
	}
	check := func() []string {
		var problems []string
		err := st.View(ctx, tenant, func(tx directory.Tx) error {
			problems = directory.CheckInvariants(tx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return problems
	}
	if p := check(); len(p) > 0 {
		t.Fatalf("the demo directory: %v", p)
	}

	id := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	err = st.Update(ctx, tenant, func(tx directory.Tx) error {
		for n := 1; n <= 12; n++ {
			kind := directory.KindUser
			switch n {
			case 10:
				kind = directory.KindGroup
			case 11:
				kind = directory.KindOrgContact
			}
			props := map[string]any{"displayName": fmt.Sprint(n)}
			if kind == directory.KindUser {
				props["userPrincipalName"] = fmt.Sprintf("u%d@example.com", n)
			}
			if err := tx.Insert(&directory.Object{ID: id(n), Kind: kind, Props: props}); err != nil {
				return err
			}
		}
		for _, link := range [][2]int{
			{1, 2}, {2, 3}, {3, 1}, // a cycle
			{4, 1},   // a chain into the cycle: not a cycle of its own
			{5, 10},  // a group as manager
			{10, 6},  // a group with a manager
			{7, 99},  // a manager that does not exist
			{11, 12}, // an org contact managed by a user: fine
		} {
			if err := tx.SetManager(id(link[0]), id(link[1])); err != nil {
				return err
			}
		}
		for _, s := range []int{1, 2, 3, 4, 5, 6} { // six sponsors
			if err := tx.AddSponsor(id(8), id(s)); err != nil {
				return err
			}
		}
		for _, pair := range [][2]int{{9, 11}, {9, 9}, {10, 1}} { // a contact, itself; a group's sponsor
			if err := tx.AddSponsor(id(pair[0]), id(pair[1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	problems := check()
	for _, want := range []string{
		"manager cycle: " + id(1) + " → " + id(2) + " → " + id(3) + " → " + id(1),
		id(5) + ": manager " + id(10) + " is a group",
		id(10) + ": a group has manager " + id(6) + "; only users and org contacts have one",
		id(99) + ": manager of [" + id(7) + "], does not exist",
		id(8) + ": 6 sponsors, more than 5",
		id(9) + ": sponsor " + id(11) + " is an orgContact",
		id(9) + ": sponsors itself",
		id(10) + ": a group has sponsors [" + id(1) + "]; only users have them",
	} {
		found := false
		for _, p := range problems {
			found = found || p == want
		}
		if !found {
			t.Errorf("no problem %q in:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	if len(problems) != 8 {
		t.Errorf("%d problems, want 8:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}
