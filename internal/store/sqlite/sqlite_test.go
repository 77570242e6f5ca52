package sqlite_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

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
	path := filepath.Join(t.TempDir(), "orgraph.db")
	// Independent clients pause between requests; without pauses one process's writer, always waiting on its
	// own connection, can keep the lock from the other one's polling.
	storetest.SharedDatabase(t, openFile(t, path, sqlite.Options{}), openFile(t, path, sqlite.Options{}), 8,
		func(rng *rand.Rand) { time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond) })
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

// BenchmarkStore runs the store benchmarks every backend reports, for each durability mode.
func BenchmarkStore(b *testing.B) {
	for _, mode := range []string{"full", "normal"} {
		b.Run("sync="+mode, func(b *testing.B) {
			storetest.Bench(b, func(b *testing.B) store.Store {
				return openFile(b, filepath.Join(b.TempDir(), "orgraph.db"), sqlite.Options{Sync: mode})
			})
		})
	}
}
