package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// Bench runs the store benchmarks every backend reports, so their figures compare like with like. open must
// return a new, empty store for each sub-benchmark.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	for _, bm := range []struct {
		name string
		fn   func(b *testing.B, s store.Store)
	}{
		{"Get", benchGet},
		{"GetByUPN", benchGetByUPN},
		{"Chain1000", benchChain1000},
		{"SetManager", benchSetManager},
		{"SetManagerParallel", benchSetManagerParallel},
		{"DirectReportsPage", benchDirectReportsPage},
	} {
		b.Run(bm.name, func(b *testing.B) { bm.fn(b, open(b)) })
	}
}

// BenchTenant is a tenant of a store, with the Service over it, for benchmarks.
type BenchTenant struct {
	S      store.Store
	Svc    *directory.Service
	Tenant string
	Ctx    context.Context
}

// NewBenchTenant creates a tenant in s.
func NewBenchTenant(b *testing.B, s store.Store) *BenchTenant {
	b.Helper()
	x := &BenchTenant{S: s, Svc: directory.NewService(s), Tenant: uuid.NewString(), Ctx: context.Background()}
	if err := s.CreateTenant(x.Ctx, store.Tenant{ID: x.Tenant, Name: "bench", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return x
}

// NoManager is a managerOf for Users that gives nobody a manager.
func NoManager(int) int { return -1 }

// Users inserts n users named user000000…, each reporting to managerOf(i) when that is not negative, in one
// transaction.
func (x *BenchTenant) Users(b *testing.B, n int, managerOf func(i int) int) []*directory.Object {
	b.Helper()
	out := make([]*directory.Object, n)
	err := x.S.Update(x.Ctx, x.Tenant, func(tx directory.Tx) error {
		for i := range out {
			name := fmt.Sprintf("user%06d", i)
			out[i] = &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: map[string]any{
				"accountEnabled": true, "displayName": name, "mailNickname": name, "userPrincipalName": name + "@example.com",
				"jobTitle": "Engineer", "businessPhones": []any{"+1 555 0100"}, "createdDateTime": "2024-05-01T12:00:00Z",
			}}
			if err := tx.Insert(out[i]); err != nil {
				return err
			}
		}
		for i := range out {
			if m := managerOf(i); m >= 0 {
				if err := tx.SetManager(out[i].ID, out[m].ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func (x *BenchTenant) view(b *testing.B, fn func(tx directory.Tx) error) {
	if err := x.S.View(x.Ctx, x.Tenant, fn); err != nil {
		b.Fatal(err)
	}
}

func benchGet(b *testing.B, s store.Store) {
	x := NewBenchTenant(b, s)
	users := x.Users(b, 10000, NoManager)
	for i := 0; b.Loop(); i++ {
		x.view(b, func(tx directory.Tx) error {
			_, err := tx.Get(users[i%len(users)].ID)
			return err
		})
	}
}

func benchGetByUPN(b *testing.B, s store.Store) {
	x := NewBenchTenant(b, s)
	users := x.Users(b, 10000, NoManager)
	for i := 0; b.Loop(); i++ {
		x.view(b, func(tx directory.Tx) error {
			_, err := tx.GetByUPN(users[i%len(users)].String("userPrincipalName"))
			return err
		})
	}
}

func benchChain1000(b *testing.B, s store.Store) {
	x := NewBenchTenant(b, s)
	const depth = directory.MaxLevels
	users := x.Users(b, depth+1, func(i int) int {
		if i < depth {
			return i + 1
		}
		return -1
	})
	for b.Loop() {
		x.view(b, func(tx directory.Tx) error {
			chain, err := tx.Chain(users[0].ID, 0)
			if err == nil && len(chain) != depth {
				err = fmt.Errorf("chain of %d", len(chain))
			}
			return err
		})
	}
}

// benchSetManager moves a user between two managers ten levels deep, through the Service and its cycle check.
func benchSetManager(b *testing.B, s store.Store) {
	x := NewBenchTenant(b, s)
	// users[0..9] a chain, users[10] and users[11] report to users[0], users[12] is moved between them.
	users := x.Users(b, 13, func(i int) int {
		switch {
		case i < 9:
			return i + 1
		case i == 10 || i == 11:
			return 0
		}
		return -1
	})
	for i := 0; b.Loop(); i++ {
		if err := x.Svc.SetManager(x.Ctx, x.Tenant, users[12].ID, directory.Ref{ID: users[10+i%2].ID}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSetManagerParallel runs SetManager from GOMAXPROCS goroutines, each in a tenant of its own, to show
// whether one tenant's writes hold up another's.
func benchSetManagerParallel(b *testing.B, s store.Store) {
	type tenant struct {
		*BenchTenant
		users []*directory.Object
	}
	n := runtime.GOMAXPROCS(0)
	tenants := make(chan tenant, n)
	for range n {
		x := NewBenchTenant(b, s)
		tenants <- tenant{x, x.Users(b, 3, NoManager)}
	}
	b.RunParallel(func(pb *testing.PB) {
		x := <-tenants
		for i := 0; pb.Next(); i++ {
			if err := x.Svc.SetManager(x.Ctx, x.Tenant, x.users[0].ID, directory.Ref{ID: x.users[1+i%2].ID}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchDirectReportsPage reads pages of 100 of a manager's 1,000 reports, as $top=100 with a skip token does.
func benchDirectReportsPage(b *testing.B, s store.Store) {
	x := NewBenchTenant(b, s)
	users := x.Users(b, 1001, func(i int) int {
		if i > 0 {
			return 0
		}
		return -1
	})
	var after []directory.Cursor
	x.view(b, func(tx directory.Tx) error {
		var q directory.ListQuery
		all, err := tx.DirectReports(users[0].ID, q)
		for i := 0; i < len(all); i += 100 {
			after = append(after, q.Next(all[i]))
		}
		return err
	})
	for i := 0; b.Loop(); i++ {
		x.view(b, func(tx directory.Tx) error {
			page, err := tx.DirectReports(users[0].ID, directory.ListQuery{After: after[i%len(after)], Limit: 100})
			if err == nil && len(page) == 0 {
				err = errors.New("empty page")
			}
			return err
		})
	}
}
