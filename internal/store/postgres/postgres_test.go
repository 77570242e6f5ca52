package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

func openDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pgtest.Connect(t).Close(context.Background()) // skip once, not in every subtest, without a server
	storetest.Run(t, func(t *testing.T) store.Store { return openDSN(t, pgtest.DSN(t)) })
}

// TestOpenConcurrently starts several stores on a new schema at once, as nodes starting together do: the
// migrations run once, and the nodes agree on one default tenant.
func TestOpenConcurrently(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	tenants := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if stores[i], errs[i] = postgres.Open(t.Context(), dsn); errs[i] == nil {
				tenants[i], errs[i] = store.Bootstrap(t.Context(), stores[i])
			}
		})
	}
	wg.Wait()
	for i := range n {
		if stores[i] != nil {
			t.Cleanup(func() { stores[i].Close() })
		}
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		if tenants[i] != tenants[0] {
			t.Errorf("node %d bootstrapped tenant %s, node 0 %s", i, tenants[i], tenants[0])
		}
	}
	conn := pgtest.Connect(t)
	defer conn.Close(context.Background())
	var versions int
	schema := schemaOf(t, dsn)
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+schema+`.schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 1 {
		t.Errorf("schema_migrations has %d rows, want 1", versions)
	}
}

// TestReopen closes the store and opens it again: the data is there and the migrations are not run twice.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	s, err := postgres.Open(ctx, dsn)
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
	s.Close()

	s = openDSN(t, dsn)
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

// TestTwoStoresOneSchema stands in for two nodes: two Stores on one schema, each with its own pool and
// in-process gate, race manager writes; only the tenant's advisory lock serialises them, so the cycle check
// must still hold.
func TestTwoStoresOneSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	storetest.SharedDatabase(t, openDSN(t, dsn), openDSN(t, dsn), 16, nil)
}

// TestUnreachable opens a DSN where nothing listens: the error says the store is unavailable.
func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open of an unreachable server: %v, want store.ErrUnavailable", err)
	}
	if _, err := postgres.Open(ctx, "postgres://[bad"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open of a malformed DSN: %v, want an error other than ErrUnavailable", err)
	}
}

// TestTerminatedConnections kills the store's sessions from outside, as a server restart or an operator
// does: the next calls succeed on new connections or fail with store.ErrUnavailable (a 503), and the store
// works again afterwards.
func TestTerminatedConnections(t *testing.T) {
	ctx := t.Context()
	app := "orgraph_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	s := openDSN(t, pgtest.WithParam(pgtest.DSN(t), "application_name", app))
	tenant, err := store.Bootstrap(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(s)
	u, err := svc.Create(ctx, tenant, directory.KindUser, user("u"))
	if err != nil {
		t.Fatal(err)
	}
	admin := pgtest.Connect(t)
	defer admin.Close(context.Background())

	get := func() error {
		return s.View(ctx, tenant, func(tx directory.Tx) error {
			_, err := tx.Get(u.ID)
			return err
		})
	}
	calls := []struct {
		name string
		fn   func() error
	}{
		{"View", get},
		{"Update", func() error {
			return svc.Update(ctx, tenant, directory.KindUser, u.ID, map[string]any{"city": "Oslo"})
		}},
		{"Tenants", func() error { _, err := s.Tenants(ctx); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
	}
	for round := range 3 {
		for _, c := range calls {
			// Several connections in the pool, so that dead idle ones are left behind.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { get() })
			}
			wg.Wait()
			var killed int
			err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed)
			if err != nil {
				t.Fatal(err)
			}
			if killed == 0 {
				t.Fatalf("round %d: no session of the store to terminate", round)
			}
			if err := c.fn(); err != nil && !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("round %d: %s after %d sessions were terminated: %v, want success or store.ErrUnavailable", round, c.name, killed, err)
			}
			if err := recovered(get); err != nil {
				t.Fatalf("round %d: the store did not recover after %s: %v", round, c.name, err)
			}
		}
	}
}

// recovered calls fn until it succeeds, for at most a few seconds.
func recovered(fn func() error) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnstorableKeys sends keys PostgreSQL cannot hold (NUL, invalid UTF-8), as a URL may: lookups find
// nothing, writes are refused with a domain error, and the transaction goes on.
func TestUnstorableKeys(t *testing.T) {
	ctx := t.Context()
	s := openDSN(t, pgtest.DSN(t))
	tenant, err := store.Bootstrap(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(s)
	a, err := svc.Create(ctx, tenant, directory.KindUser, user("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"x\x00y", "\xff", a.ID + "\x00"} {
		err := s.Update(ctx, tenant, func(tx directory.Tx) error {
			if _, err := tx.Get(bad); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("Get(%q): %v, want not found", bad, err)
			}
			if _, err := tx.GetByUPN(bad + "@example.com"); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("GetByUPN(%q): %v, want not found", bad, err)
			}
			if got, err := tx.GetMany([]string{bad, a.ID}); err != nil || len(got) != 1 {
				t.Errorf("GetMany(%q, a) = %d objects, %v", bad, len(got), err)
			}
			if ids, err := tx.ChainIDs(bad, 0); err != nil || len(ids) != 0 {
				t.Errorf("ChainIDs(%q) = %v, %v", bad, ids, err)
			}
			if got, err := tx.List(directory.ListQuery{After: directory.Cursor{ID: bad}}); !errors.Is(err, directory.ErrInvalid) {
				t.Errorf("List(After %q) = %d objects, %v; want invalid", bad, len(got), err)
			}
			if got, err := tx.DirectReports(bad, directory.ListQuery{}); err != nil || len(got) != 0 {
				t.Errorf("DirectReports(%q) = %d objects, %v", bad, len(got), err)
			}
			if err := tx.SetManager(bad, a.ID); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("SetManager(%q): %v, want not found", bad, err)
			}
			if err := tx.AddSponsor(a.ID, bad); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("AddSponsor(a, %q): %v, want not found", bad, err)
			}
			if err := tx.Insert(&directory.Object{ID: bad, Kind: directory.KindGroup, Props: map[string]any{}}); !errors.Is(err, directory.ErrInvalid) {
				t.Errorf("Insert with id %q: %v, want invalid", bad, err)
			}
			return nil
		})
		if err != nil {
			t.Errorf("the transaction did not survive key %q: %v", bad, err)
		}
		_, err = svc.Create(ctx, tenant, directory.KindGroup, map[string]any{
			"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true,
			"description": bad,
		})
		if !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("Create with description %q: %v, want invalid", bad, err)
		}
		if _, err := s.Tenant(ctx, bad); !errors.Is(err, store.ErrTenantNotFound) {
			t.Errorf("Tenant(%q): %v, want not found", bad, err)
		}
	}
}

// schemaOf returns the schema a pgtest DSN selects.
func schemaOf(t *testing.T, dsn string) string {
	t.Helper()
	_, after, ok := strings.Cut(dsn, "search_path=")
	if !ok {
		t.Fatalf("no search_path in %s", dsn)
	}
	schema, _, _ := strings.Cut(after, "&")
	return schema
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

// BenchmarkStore runs the store benchmarks every backend reports.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openDSN(b, pgtest.DSN(b)) })
}
