package storetest

import (
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
)

// CheckInvariants reports through t every way the directory seen by tx breaks the rules the Service keeps,
// as directory.CheckInvariants finds them: a manager cycle, a manager that is missing or of the wrong kind, a
// ChainIDs answer that differs from following ManagerID, DirectReports that is not exactly the inverse of
// ManagerID, or a user with more than MaxSponsors sponsors, a duplicate, a missing one or one of the wrong kind.
func CheckInvariants(t testing.TB, tx directory.Tx) {
	t.Helper()
	for _, p := range directory.CheckInvariants(tx) {
		t.Error(p)
	}
}

func idsOf(objects []*directory.Object) []string {
	ids := make([]string, len(objects))
	for i, o := range objects {
		ids[i] = o.ID
	}
	return ids
}
