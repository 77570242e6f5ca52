package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestQueryPlans pins the index each hot query uses: with the wrong one a query still answers, only slowly.
func TestQueryPlans(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	users := []directory.Kind{directory.KindUser}
	two := []directory.Kind{directory.KindUser, directory.KindGroup}
	after := directory.Cursor{ID: "i"}
	list, listArgs := listQuery("t", directory.ListQuery{Kinds: users, After: after, Limit: 10})
	multi, multiArgs := listQuery("t", directory.ListQuery{Kinds: two, After: after, Limit: 10})
	reports, reportsArgs := reportsQuery("t", "m", directory.ListQuery{Kinds: users, After: after, Limit: 10}, false)
	count, countArgs := countQuery("t", directory.ListQuery{Kinds: two})
	cases := []struct {
		query string
		args  []any
		want  []string
	}{
		{`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = ? AND id = ?`, []any{"t", "i"},
			[]string{"USING PRIMARY KEY (tenant_id=? AND id=?)"}},
		{`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = ? AND upn_key = ?`, []any{"t", "u"},
			[]string{"USING INDEX objects_upn (tenant_id=? AND upn_key=?)"}},
		{`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, []any{"t", `["i"]`},
			[]string{"USING PRIMARY KEY (tenant_id=? AND id=?)"}},
		{list, listArgs,
			[]string{"USING INDEX objects_kind (tenant_id=? AND kind=? AND id>?)"}},
		{multi, multiArgs,
			[]string{"USING PRIMARY KEY (tenant_id=? AND id>?)"}},
		{count, countArgs,
			[]string{"USING COVERING INDEX objects_kind (tenant_id=? AND kind=?)"}},
		{reports, reportsArgs,
			[]string{"USING INDEX objects_manager (tenant_id=? AND manager_id=? AND id>?)"}},
		{`UPDATE objects SET manager_id = NULL WHERE tenant_id = ? AND manager_id = ?`, []any{"t", "m"},
			[]string{"USING INDEX objects_manager (tenant_id=? AND manager_id=?)"}},
		{`DELETE FROM objects WHERE tenant_id = ? AND id = ?`, []any{"t", "i"},
			[]string{"sponsors USING INDEX sponsors_sponsor (tenant_id=? AND sponsor_id=?)", "sponsors USING PRIMARY KEY (tenant_id=? AND user_id=?)"}},
		{chainQuery, []any{"t", "i", 10},
			[]string{"SEARCH o USING PRIMARY KEY (tenant_id=? AND id=?)", "SEARCH m USING PRIMARY KEY (tenant_id=? AND id=?)"}},
		{chainIDsQuery, []any{"t", "i", 10},
			[]string{"SEARCH o USING PRIMARY KEY (tenant_id=? AND id=?)", "SEARCH m USING PRIMARY KEY (tenant_id=? AND id=?)"}},
	}
	for _, c := range cases {
		// The write connection, because only it enforces the foreign keys whose actions the plans include.
		rows, err := s.w.Query("EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, want := range c.want {
			if !strings.Contains(text, want) {
				t.Errorf("plan of\n%s\nis\n%s\nwant %q", c.query, text, want)
			}
		}
		if strings.Contains(text, "SCAN objects") || strings.Contains(text, "SCAN sponsors") {
			t.Errorf("plan of\n%s\nscans a table:\n%s", c.query, text)
		}
	}
}

// holdWriteLock makes another Store on path (as another process would) hold the write lock until the test ends.
func holdWriteLock(t *testing.T, path string) {
	other := open(t, path)
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- other.Update(context.Background(), "", func(directory.Tx) error {
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	t.Cleanup(func() {
		close(release)
		if err := <-done; err != nil {
			t.Errorf("holding Update: %v", err)
		}
	})
}

func TestWriteLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orgraph.db")
	s := open(t, path)
	holdWriteLock(t, path)
	s.lockWait = 300 * time.Millisecond

	start := time.Now()
	err := s.CreateTenant(t.Context(), store.Tenant{ID: "t", Name: "t", CreatedAt: time.Now()})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("write while another process holds the lock: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < s.lockWait || d > s.lockWait+time.Second {
		t.Errorf("gave up after %v, want about %v", d, s.lockWait)
	}
	// Reads do not wait for the writer.
	if _, err := s.Tenants(t.Context()); err != nil {
		t.Errorf("read while another process writes: %v", err)
	}
}

func TestWriteLockWaitHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orgraph.db")
	s := open(t, path)
	holdWriteLock(t, path)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Update(ctx, "t", func(directory.Tx) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update waiting for the lock past its deadline: %v, want context.DeadlineExceeded", err)
	}
	// Without the context check it would wait out lockTimeout; a slice of lockPoll past the deadline is expected.
	if d := time.Since(start); d > time.Second {
		t.Errorf("Update returned %v after it started, with a deadline of 200ms", d)
	}
}

// TestPanickingUpdate checks that a panic in fn rolls back and frees the only write connection.
func TestPanickingUpdate(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		s.Update(t.Context(), "", func(tx directory.Tx) error {
			if _, err := tx.(*txn).exec(`INSERT INTO settings (name, value) VALUES ('a', 'b')`); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if v, err := s.SetSettingOnce(ctx, "a", "c"); err != nil || v != "c" {
		t.Errorf("after a panicking Update: SetSettingOnce = %q, %v; want c", v, err)
	}
}

func TestViewCannotWrite(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	if err := s.CreateTenant(t.Context(), store.Tenant{ID: "t", Name: "t", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	err := s.View(t.Context(), "t", func(tx directory.Tx) error {
		return tx.Insert(&directory.Object{ID: "x", Kind: directory.KindGroup, Props: map[string]any{}})
	})
	if err == nil {
		t.Error("Insert in a View succeeded")
	}
}
