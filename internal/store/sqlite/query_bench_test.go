package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
	"github.com/orgraph/orgraph/internal/store/sqlite"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

// BenchmarkStartsWithPage reads a page (100) of $filter=startswith(displayName,'…') from 1,000 and from
// 100,000 users named user000000, user000001, …, with the query as the HTTP layer builds it: without $orderby
// such a listing comes in displayName order, so the displayName key index yields just the page, and its cost
// follows the page, not the directory. "narrow" matches 100 users in both directories (user0001…), "broad"
// every user; "deep" is broad's page from the middle of the directory, as a $skiptoken asks for it.
func BenchmarkStartsWithPage(b *testing.B) {
	users := []directory.Kind{directory.KindUser}
	query := func(b *testing.B, prefix string) directory.ListQuery {
		e, err := odata.ParseFilter("startswith(displayName,'" + prefix + "')")
		if err != nil {
			b.Fatal(err)
		}
		q := directory.ListQuery{Kinds: users, Limit: 101}
		if q.Filter, err = directory.ParseFilter(e, users, false); err != nil {
			b.Fatal(err)
		}
		if q.Order, err = directory.ParseOrder(nil, users, false, q.Filter); err != nil {
			b.Fatal(err)
		}
		return q
	}
	for _, n := range []int{1000, 100000} {
		x := storetest.NewBenchTenant(b, openFile(b, filepath.Join(b.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"}))
		all := x.Users(b, n, storetest.NoManager)
		deep := query(b, "user0")
		deep.After = deep.Next(all[n/2])
		for _, c := range []struct {
			name string
			q    directory.ListQuery
			want int
		}{
			{"narrow", query(b, "USER0001"), 100},
			{"broad", query(b, "user0"), 101},
			{"deep", deep, 101},
		} {
			b.Run(fmt.Sprintf("%s/users=%d", c.name, n), func(b *testing.B) {
				for b.Loop() {
					err := x.S.View(x.Ctx, x.Tenant, func(tx directory.Tx) error {
						page, err := tx.List(c.q)
						if err == nil && len(page) != c.want {
							err = fmt.Errorf("page of %d, want %d", len(page), c.want)
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
