package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

func openFile(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openFile(t, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{})
	})
}

func TestOpenRejects(t *testing.T) {
	ctx := t.Context()
	if _, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Sync: "sometimes"}); err == nil {
		t.Error("Open accepted an unknown sync mode")
	}
	for _, path := range []string{"", ":memory:", "file::memory:"} {
		if _, err := sqlite.Open(ctx, path, sqlite.Options{}); err == nil {
			t.Errorf("Open(%q) accepted a path that is not a file", path)
		}
	}
}

// TestReopen closes the file and opens it again: the data is there and the migrations are not run twice.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "orgraph.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := store.Bootstrap(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(s)
	boss, err := svc.Create(ctx, tenant, directory.KindUser, user("boss"))
	if err != nil {
		t.Fatal(err)
	}
	worker, err := svc.Create(ctx, tenant, directory.KindUser, user("worker"))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetManager(ctx, tenant, worker.ID, directory.Ref{ID: boss.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openFile(t, path, sqlite.Options{})
	again, err := store.Bootstrap(ctx, s)
	if err != nil || again != tenant {
		t.Fatalf("Bootstrap after reopening = %q, %v; want %q", again, err, tenant)
	}
	err = s.View(ctx, tenant, func(tx directory.Tx) error {
		o, err := tx.GetByUPN("WORKER@example.com")
		if err != nil {
			return err
		}
		if o.ID != worker.ID || o.ManagerID != boss.ID || o.String("displayName") != "worker" {
			t.Errorf("after reopening: %+v", o)
		}
		storetest.CheckInvariants(t, tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTwoStoresOneFile stands in for the server and the CLI: two Stores on one file, each with its own write
// connection, race manager writes; SQLite's file lock must serialise them so the cycle check still holds.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "orgraph.db")
	stores := []*sqlite.Store{openFile(t, path, sqlite.Options{}), openFile(t, path, sqlite.Options{})}
	tenant, err := store.Bootstrap(ctx, stores[0])
	if err != nil {
		t.Fatal(err)
	}
	if other, err := store.Bootstrap(ctx, stores[1]); err != nil || other != tenant {
		t.Fatalf("second Store bootstraps %q, %v; want %q", other, err, tenant)
	}
	var ids []string
	svc := directory.NewService(stores[0])
	for i := range 20 {
		o, err := svc.Create(ctx, tenant, directory.KindUser, user(fmt.Sprintf("u%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	done := map[int]int{}
	deadline := time.Now().Add(2 * time.Second)
	for g := range 8 {
		svc := directory.NewService(stores[g%2])
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			n := 0
			for time.Now().Before(deadline) {
				u, m := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
				err := svc.SetManager(ctx, tenant, u, directory.Ref{ID: m})
				if err != nil && !errors.Is(err, directory.ErrInvalid) {
					t.Errorf("SetManager: %v", err)
					return
				}
				n++
				// Independent clients pause between requests; without pauses one process's writer, always
				// waiting on its own connection, can keep the lock from the other one's polling.
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
			mu.Lock()
			done[g%2] += n
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("writes through each store: %v", done)
	if done[0] == 0 || done[1] == 0 {
		t.Errorf("a store made no writes: %v", done)
	}
	for _, s := range stores {
		err := s.View(ctx, tenant, func(tx directory.Tx) error {
			storetest.CheckInvariants(t, tx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func user(name string) map[string]any {
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       name,
		"mailNickname":      name,
		"userPrincipalName": name + "@example.com",
		"passwordProfile":   map[string]any{"password": "Secret-123"},
	}
}

// bench is a store with one tenant for benchmarks.
type bench struct {
	s      *sqlite.Store
	svc    *directory.Service
	tenant string
	ctx    context.Context
}

func newBench(b *testing.B, opts sqlite.Options) *bench {
	b.Helper()
	s := openFile(b, filepath.Join(b.TempDir(), "orgraph.db"), opts)
	x := &bench{s: s, svc: directory.NewService(s), tenant: uuid.NewString(), ctx: context.Background()}
	if err := s.CreateTenant(x.ctx, store.Tenant{ID: x.tenant, Name: "bench", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return x
}

// users inserts n users, each reporting to managerOf(i) when that is not negative, in one transaction.
func (x *bench) users(b *testing.B, n int, managerOf func(i int) int) []*directory.Object {
	b.Helper()
	out := make([]*directory.Object, n)
	err := x.s.Update(x.ctx, x.tenant, func(tx directory.Tx) error {
		for i := range out {
			name := fmt.Sprintf("user%06d", i)
			props := user(name)
			delete(props, "passwordProfile")
			props["jobTitle"] = "Engineer"
			props["businessPhones"] = []any{"+1 555 0100"}
			props["createdDateTime"] = "2024-05-01T12:00:00Z"
			out[i] = &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: props}
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

func noManager(int) int { return -1 }

func BenchmarkGet(b *testing.B) {
	x := newBench(b, sqlite.Options{})
	users := x.users(b, 10000, noManager)
	for i := 0; b.Loop(); i++ {
		err := x.s.View(x.ctx, x.tenant, func(tx directory.Tx) error {
			_, err := tx.Get(users[i%len(users)].ID)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetByUPN(b *testing.B) {
	x := newBench(b, sqlite.Options{})
	users := x.users(b, 10000, noManager)
	for i := 0; b.Loop(); i++ {
		err := x.s.View(x.ctx, x.tenant, func(tx directory.Tx) error {
			_, err := tx.GetByUPN(users[i%len(users)].String("userPrincipalName"))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChain1000(b *testing.B) {
	x := newBench(b, sqlite.Options{})
	const depth = directory.MaxLevels
	users := x.users(b, depth+1, func(i int) int {
		if i < depth {
			return i + 1
		}
		return -1
	})
	for b.Loop() {
		err := x.s.View(x.ctx, x.tenant, func(tx directory.Tx) error {
			chain, err := tx.Chain(users[0].ID, 0)
			if err == nil && len(chain) != depth {
				err = fmt.Errorf("chain of %d", len(chain))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetManager moves a user between two managers ten levels deep, through the Service and its cycle check.
func BenchmarkSetManager(b *testing.B) {
	for _, mode := range []string{"full", "normal"} {
		b.Run("sync="+mode, func(b *testing.B) {
			x := newBench(b, sqlite.Options{Sync: mode})
			// users[0..9] a chain, users[10] and users[11] report to users[0], users[12] is moved between them.
			users := x.users(b, 13, func(i int) int {
				switch {
				case i < 9:
					return i + 1
				case i == 10 || i == 11:
					return 0
				}
				return -1
			})
			for i := 0; b.Loop(); i++ {
				m := users[10+i%2]
				if err := x.svc.SetManager(x.ctx, x.tenant, users[12].ID, directory.Ref{ID: m.ID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDirectReportsPage reads pages of 100 of a manager's 1,000 reports, as $top=100 with a skip token does.
func BenchmarkDirectReportsPage(b *testing.B) {
	x := newBench(b, sqlite.Options{})
	users := x.users(b, 1001, func(i int) int {
		if i > 0 {
			return 0
		}
		return -1
	})
	var after []directory.Cursor
	err := x.s.View(x.ctx, x.tenant, func(tx directory.Tx) error {
		var q directory.ListQuery
		all, err := tx.DirectReports(users[0].ID, q)
		for i := 0; i < len(all); i += 100 {
			after = append(after, q.Next(all[i]))
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		err := x.s.View(x.ctx, x.tenant, func(tx directory.Tx) error {
			page, err := tx.DirectReports(users[0].ID, directory.ListQuery{After: after[i%len(after)], Limit: 100})
			if err == nil && len(page) == 0 {
				err = errors.New("empty page")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
