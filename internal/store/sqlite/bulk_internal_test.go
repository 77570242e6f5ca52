package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// bulkUsers returns n users named prefix0… ready for InsertBulk, each managed by the one before; with
// dupUPN the last has the first's userPrincipalName, which only the rebuilt unique index finds.
func bulkUsers(t *testing.T, prefix string, n int, dupUPN bool) []store.BulkObject {
	t.Helper()
	var enc store.BulkEncoder
	out := make([]store.BulkObject, n)
	for i := range out {
		upn := fmt.Sprintf("%s%d@example.com", prefix, i)
		if dupUPN && i == n-1 {
			upn = strings.ToUpper(prefix) + "0@example.com"
		}
		o := &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: map[string]any{
			"displayName": fmt.Sprintf("User %d", i), "userPrincipalName": upn, "createdDateTime": "2024-01-02T03:04:05Z",
		}}
		if i > 0 {
			o.ManagerID = out[i-1].ID()
		}
		var err error
		if out[i], err = enc.Encode(o); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// schema is what InsertBulk must leave as it found it: the definitions, the order of the indexes of objects
// (in which the planner weighs them), the planner's statistics and the write connection's settings; roots
// shows whether the indexes were built again.
type schema struct {
	defs, indexes, stats []string
	settings             [3]int // cache_size, cache_spill, threads
	roots                map[string]int
}

func schemaOf(t *testing.T, s *Store) schema {
	t.Helper()
	var sc schema
	sc.roots = map[string]int{}
	rows, err := s.w.Query(`SELECT type, name, tbl_name, coalesce(sql, ''), rootpage FROM sqlite_schema ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, name, tbl, sql string
		var root int
		if err := rows.Scan(&typ, &name, &tbl, &sql, &root); err != nil {
			t.Fatal(err)
		}
		sc.defs = append(sc.defs, strings.Join([]string{typ, name, tbl, sql}, " | "))
		if typ == "index" && tbl == "objects" {
			sc.indexes = append(sc.indexes, name)
		}
		sc.roots[name] = root
	}
	rows.Close()
	// A rebuilt index is defined again after the tables created since.
	slices.Sort(sc.defs)
	rows, err = s.w.Query(`SELECT tbl, coalesce(idx, ''), stat FROM sqlite_stat1 ORDER BY tbl, idx`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, idx, stat string
		if err := rows.Scan(&tbl, &idx, &stat); err != nil {
			t.Fatal(err)
		}
		sc.stats = append(sc.stats, tbl+" "+idx+" "+stat)
	}
	rows.Close()
	for i, p := range []string{"cache_size", "cache_spill", "threads"} {
		if err := s.w.QueryRow("PRAGMA " + p).Scan(&sc.settings[i]); err != nil {
			t.Fatal(err)
		}
	}
	var check string
	if err := s.w.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	return sc
}

// same fails unless after has before's definitions, statistics and settings; rebuilt says whether the
// secondary indexes of objects must have been built again or must be the ones there were.
func same(t *testing.T, before, after schema, rebuilt bool) {
	t.Helper()
	if !slices.Equal(before.defs, after.defs) {
		t.Errorf("schema\n%s\nwant\n%s", strings.Join(after.defs, "\n"), strings.Join(before.defs, "\n"))
	}
	if !slices.Equal(before.indexes, after.indexes) {
		t.Errorf("indexes of objects %q, want %q", after.indexes, before.indexes)
	}
	if !slices.Equal(before.stats, after.stats) {
		t.Errorf("sqlite_stat1 %q, want %q", after.stats, before.stats)
	}
	if before.settings != after.settings {
		t.Errorf("cache_size, cache_spill, threads = %v, want %v", after.settings, before.settings)
	}
	for _, name := range []string{"objects_upn", "objects_manager", "objects_kind", "objects_display_name", "objects_upn_order", "objects_created"} {
		if moved := before.roots[name] != after.roots[name]; moved != rebuilt {
			t.Errorf("index %s at page %d, before at %d; want it rebuilt: %v", name, after.roots[name], before.roots[name], rebuilt)
		}
	}
}

// bulkStore is a store with a tenant holding one user and another tenant holding five.
func bulkStore(t *testing.T, path string) (*Store, string) {
	t.Helper()
	s := open(t, path)
	ctx := t.Context()
	svc := directory.NewService(s)
	var tenants []string
	for range 2 {
		id := uuid.NewString()
		if err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: id, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, id)
	}
	for i, tenant := range []string{tenants[0], tenants[1], tenants[1], tenants[1], tenants[1], tenants[1]} {
		if _, err := svc.Create(ctx, tenant, directory.KindUser, map[string]any{
			"accountEnabled": true, "displayName": "Existing", "mailNickname": "existing",
			"userPrincipalName": fmt.Sprintf("existing%d@example.com", i), "passwordProfile": map[string]any{"password": "Secret-123"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return s, tenants[0]
}

func insertBulk(s *Store, ctx context.Context, tenant string, objects []store.BulkObject, progress func(int)) error {
	return s.Update(ctx, tenant, func(tx directory.Tx) error {
		return tx.(store.BulkInserter).InsertBulk(objects, nil, progress)
	})
}

func count(t *testing.T, s *Store, tenant string) int {
	t.Helper()
	var n int
	err := s.View(t.Context(), tenant, func(tx directory.Tx) (err error) {
		n, err = tx.Count(directory.ListQuery{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBulkRebuild loads enough objects into a database holding fewer that InsertBulk rebuilds the indexes,
// and checks that the schema, the planner's statistics and the connection come back as they were.
func TestBulkRebuild(t *testing.T) {
	s, tenant := bulkStore(t, filepath.Join(t.TempDir(), "orgraph.db"))
	before := schemaOf(t, s)
	users := bulkUsers(t, "user", rebuildMin+10, false)
	if err := insertBulk(s, t.Context(), tenant, users, nil); err != nil {
		t.Fatal(err)
	}
	same(t, before, schemaOf(t, s), true)
	if n := count(t, s, tenant); n != len(users)+1 {
		t.Errorf("%d objects, want %d", n, len(users)+1)
	}
	err := s.View(t.Context(), tenant, func(tx directory.Tx) error {
		o, err := tx.GetByUPN("USER77@example.com")
		if err != nil || o.ID != users[77].ID() || o.ManagerID != users[76].ID() {
			t.Errorf("GetByUPN = %+v, %v", o, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Fewer objects than the table holds go into the indexes as they are.
	before = schemaOf(t, s)
	if err := insertBulk(s, t.Context(), tenant, bulkUsers(t, "more", rebuildMin, false), nil); err != nil {
		t.Fatal(err)
	}
	same(t, before, schemaOf(t, s), false)
}

// TestBulkRebuildFails makes InsertBulk fail while the indexes are dropped, at the unique index and when
// the context ends: the transaction is rolled back, indexes, statistics and settings included.
func TestBulkRebuildFails(t *testing.T) {
	s, tenant := bulkStore(t, filepath.Join(t.TempDir(), "orgraph.db"))
	before := schemaOf(t, s)
	err := insertBulk(s, t.Context(), tenant, bulkUsers(t, "user", rebuildMin+10, true), nil)
	var de *directory.Error
	if !errors.As(err, &de) || de.Message != directory.DuplicateValue("userPrincipalName").Message {
		t.Errorf("InsertBulk with a repeated userPrincipalName: %v", err)
	}
	same(t, before, schemaOf(t, s), false)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	users := bulkUsers(t, "user", rebuildMin+10, false)
	err = insertBulk(s, ctx, tenant, users, func(n int) {
		if n > len(users)/2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("InsertBulk cancelled: %v", err)
	}
	same(t, before, schemaOf(t, s), false)
	if n := count(t, s, tenant); n != 1 {
		t.Errorf("%d objects after the failed loads, want the 1 there was", n)
	}
}

// bulkCrashEnv names the database a child process of TestBulkCrash loads, and the tenant.
const (
	bulkCrashDB     = "ORGRAPH_TEST_BULK_CRASH_DB"
	bulkCrashTenant = "ORGRAPH_TEST_BULK_CRASH_TENANT"
)

// TestBulkCrash kills a process with SIGKILL while it loads objects with the indexes dropped, at different
// moments, and checks that the database is then as it was before the load, or holds the whole load.
func TestBulkCrash(t *testing.T) {
	if path := os.Getenv(bulkCrashDB); path != "" {
		bulkCrashChild(t, path, os.Getenv(bulkCrashTenant))
		return
	}
	for _, at := range []string{"half", "rows", "rows+50ms", "rows+200ms"} {
		t.Run(at, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "orgraph.db")
			s, tenant := bulkStore(t, path)
			before := schemaOf(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestBulkCrash$", "-test.count=1")
			cmd.Env = append(os.Environ(), bulkCrashDB+"="+path, bulkCrashTenant+"="+tenant)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			mark, delay, _ := strings.Cut(at, "+")
			lines := bufio.NewScanner(out)
			for lines.Scan() && lines.Text() != mark {
			}
			if d, err := time.ParseDuration(delay); err == nil {
				time.Sleep(d)
			}
			cmd.Process.Kill()
			cmd.Wait()

			s = open(t, path)
			after := schemaOf(t, s)
			n := count(t, s, tenant)
			t.Logf("killed at %s: %d objects in the tenant", at, n)
			switch n {
			case 1:
				same(t, before, after, false)
			case rebuildMin + 11:
				same(t, before, after, true)
			default:
				t.Errorf("%d objects after the crash: neither the 1 before nor all %d", n, rebuildMin+11)
			}
		})
	}
}

// bulkCrashChild loads objects, saying "half" when half the rows are in and "rows" when all are, before
// the indexes are built again.
func bulkCrashChild(t *testing.T, path, tenant string) {
	s := open(t, path)
	users := bulkUsers(t, "user", rebuildMin+10, false)
	said := map[string]bool{}
	say := func(what string) {
		if !said[what] {
			said[what] = true
			fmt.Println(what)
		}
	}
	err := insertBulk(s, t.Context(), tenant, users, func(n int) {
		if n >= len(users)/2 {
			say("half")
		}
		if n >= len(users) {
			say("rows")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("committed")
	// Wait to be killed, so that the parent sees the outcome of a load that finished before it could.
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}
