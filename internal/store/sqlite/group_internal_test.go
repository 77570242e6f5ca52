package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// onWriteConn runs fn on the driver connection the committer writes through: hooks registered there
// observe every batch.
func onWriteConn(t *testing.T, s *Store, fn func(*sqlite3.SQLiteConn)) {
	t.Helper()
	conn, err := s.w.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		fn(dc.(*sqlite3.SQLiteConn))
		return nil
	})
}

// queued waits until n writes wait in the queue.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		got := len(s.queue)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%d writes queued after 10s, want %d", got, n)
		}
	}
}

// holdCommitter starts a write whose fn blocks until release is called, so that the writes started
// meanwhile queue behind it; release returns the held write's result.
func holdCommitter(t *testing.T, s *Store) (release func() error) {
	t.Helper()
	held, done, running := make(chan struct{}), make(chan error, 1), make(chan struct{})
	ran := sync.OnceFunc(func() { close(running) })
	go func() {
		// fn may run again when its batch is run again; only the first run waits.
		done <- s.write(context.Background(), "", func(*txn) error {
			ran()
			<-held
			return nil
		})
	}()
	<-running
	release = sync.OnceValue(func() error {
		close(held)
		return <-done
	})
	t.Cleanup(func() { release() })
	return release
}

func setting(t *testing.T, s *Store, name string) string {
	t.Helper()
	v, err := s.Setting(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// insertSetting is a write that stores a setting.
func insertSetting(name string) func(*txn) error {
	return func(tx *txn) error {
		_, err := tx.exec(`INSERT INTO settings (name, value) VALUES (?, 'v')`, name)
		return err
	}
}

// TestBatchSharesCommit queues writes behind a held one and expects them to share commits, and each to be
// answered only after a commit that followed its fn.
func TestBatchSharesCommit(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	// seq orders fns and commits; lastCommit is the place of the last commit in that order.
	var seq, lastCommit, commits atomic.Int64
	onWriteConn(t, s, func(c *sqlite3.SQLiteConn) {
		c.RegisterCommitHook(func() int {
			commits.Add(1)
			lastCommit.Store(seq.Add(1))
			return 0
		})
	})
	release := holdCommitter(t, s)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var ran int64
			err := s.write(t.Context(), "", func(tx *txn) error {
				ran = seq.Add(1)
				return insertSetting(fmt.Sprint("k", i))(tx)
			})
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
			if lastCommit.Load() < ran {
				t.Errorf("write %d was answered before a commit that followed its fn", i)
			}
		})
	}
	queued(t, s, n)
	if err := release(); err != nil {
		t.Errorf("held write: %v", err)
	}
	wg.Wait()
	// All of them fit in one batch, but a slow machine may reach maxBatchTime first.
	if got := commits.Load(); got > n/4 {
		t.Errorf("%d commits for a held write and %d queued behind it: they did not share commits", got, n)
	}
	for i := range n {
		if v := setting(t, s, fmt.Sprint("k", i)); v != "v" {
			t.Errorf("setting k%d = %q after its write was acknowledged", i, v)
		}
	}
}

// TestFailedCommitFailsBatch makes SQLite refuse a commit (a commit hook that returns non-zero turns COMMIT
// into ROLLBACK): every write of the batch gets an error and none of them is kept, and the writes after it
// are not affected.
func TestFailedCommitFailsBatch(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	var refuse atomic.Bool
	var refused atomic.Int64
	onWriteConn(t, s, func(c *sqlite3.SQLiteConn) {
		c.RegisterCommitHook(func() int {
			if refuse.Load() {
				refused.Add(1)
				return 1
			}
			return 0
		})
	})
	release := holdCommitter(t, s)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = s.SetSettingOnce(t.Context(), fmt.Sprint("k", i), "v") })
	}
	queued(t, s, n)
	refuse.Store(true)
	release()
	wg.Wait()
	refuse.Store(false)
	if n := refused.Load(); n > int64(len(errs)/2) {
		t.Errorf("%d commits refused for a held write and %d queued behind it: they did not share commits", n, len(errs))
	}
	for i, err := range errs {
		if extendedCode(err) != sqlite3.ErrConstraintCommitHook {
			t.Errorf("write %d of a batch whose commit failed: %v, want the commit's error", i, err)
		}
		if v := setting(t, s, fmt.Sprint("k", i)); v != "" {
			t.Errorf("write %d of a batch whose commit failed is kept: %q", i, v)
		}
	}
	if v, err := s.SetSettingOnce(t.Context(), "after", "v"); err != nil || v != "v" {
		t.Errorf("write after the failed commit: %q, %v", v, err)
	}
}

// TestInterruptedWriteRunsOthersAgain interrupts a long write statement through its caller's deadline. SQLite
// then rolls back the whole transaction, with the write that ran before it in the batch: that one must run
// again and be kept, and only the interrupted one fail.
func TestInterruptedWriteRunsOthersAgain(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	release := holdCommitter(t, s)
	var runsA atomic.Int32
	errA := make(chan error, 1)
	go func() {
		errA <- s.write(context.Background(), "", func(tx *txn) error {
			runsA.Add(1)
			return insertSetting("a")(tx)
		})
	}()
	queued(t, s, 1)
	errB := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		errB <- s.write(ctx, "", func(tx *txn) error {
			// Inserts rows until the deadline interrupts it.
			_, err := tx.exec(`WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)
				INSERT INTO settings (name, value) SELECT 'b' || i, '' FROM n`)
			return err
		})
	}()
	queued(t, s, 2)
	if err := release(); err != nil {
		t.Errorf("held write: %v", err)
	}
	if err := <-errB; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("interrupted write: %v, want context.DeadlineExceeded", err)
	}
	if err := <-errA; err != nil {
		t.Errorf("write batched before the interrupted one: %v", err)
	}
	if v := setting(t, s, "a"); v != "v" {
		t.Error("the write batched before the interrupted one is lost")
	}
	if n := runsA.Load(); n != 2 {
		t.Errorf("the write batched before the interrupted one ran %d times, want 2: in the lost transaction and again", n)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM settings WHERE name LIKE 'b%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the interrupted write left %d rows (%v)", n, err)
	}
}

// TestBatchWaitsForLock queues writes while another process holds the write lock: they wait for it as a
// lone write does and all go through once it is released; with a shorter wait, all give up with
// store.ErrUnavailable.
func TestBatchWaitsForLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orgraph.db")
	s := open(t, path)
	other := open(t, path)
	hold := func() (release func()) {
		locked, unlock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- other.write(context.Background(), "", func(*txn) error {
				close(locked)
				<-unlock
				return nil
			})
		}()
		<-locked
		release = sync.OnceFunc(func() {
			close(unlock)
			if err := <-done; err != nil {
				t.Errorf("the other process's write: %v", err)
			}
		})
		t.Cleanup(release)
		return release
	}
	run := func(prefix string) (errs []error, elapsed time.Duration) {
		start := time.Now()
		errs = make([]error, 5)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = s.write(t.Context(), "", insertSetting(fmt.Sprint(prefix, i))) })
		}
		wg.Wait()
		return errs, time.Since(start)
	}

	release := hold()
	var released atomic.Bool
	time.AfterFunc(300*time.Millisecond, func() {
		released.Store(true)
		release()
	})
	errs, _ := run("a")
	for i, err := range errs {
		if err != nil || !released.Load() {
			t.Errorf("write %d while another process held the lock for 300ms: %v (lock released: %v)", i, err, released.Load())
		}
	}

	hold()
	s.lockWait = 200 * time.Millisecond
	errs, elapsed := run("b")
	for i, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("write %d while another process holds the lock: %v, want ErrUnavailable", i, err)
		}
	}
	if elapsed < s.lockWait || elapsed > s.lockWait+time.Second {
		t.Errorf("the writes gave up after %v, want about %v", elapsed, s.lockWait)
	}
}

// TestWritePathCompilesOnce checks that the statements of manager and sponsor writes are compiled once and
// then reused. The driver clears a statement's bindings before each use, which makes SQLite compile again any
// statement whose plan it let depend on a bound value; that once cost more than the rest of a cycle check.
func TestWritePathCompilesOnce(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	ctx := t.Context()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t", Name: "t", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(s)
	var users []*directory.Object
	for _, name := range []string{"boss", "mid", "worker", "other", "guest"} {
		u, err := svc.Create(ctx, "t", directory.KindUser, map[string]any{"accountEnabled": true, "displayName": name,
			"mailNickname": name, "userPrincipalName": name + "@example.com", "passwordProfile": map[string]any{"password": "Secret-123"}})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	boss, mid, worker, other, guest := users[0], users[1], users[2], users[3], users[4]
	// mid has a report, so that assigning mid a manager walks the chain for the cycle check.
	if err := svc.SetManager(ctx, "t", worker.ID, directory.Ref{ID: mid.ID}); err != nil {
		t.Fatal(err)
	}
	writes := func(manager, sponsor *directory.Object) {
		t.Helper()
		if err := svc.SetManager(ctx, "t", mid.ID, directory.Ref{ID: manager.ID}); err != nil {
			t.Fatal(err)
		}
		if err := svc.AddSponsor(ctx, "t", guest.ID, directory.Ref{ID: sponsor.ID}); err != nil {
			t.Fatal(err)
		}
		if err := svc.RemoveSponsor(ctx, "t", guest.ID, directory.Ref{ID: sponsor.ID}); err != nil {
			t.Fatal(err)
		}
	}
	var compiles atomic.Int64
	onWriteConn(t, s, func(c *sqlite3.SQLiteConn) {
		c.RegisterAuthorizer(func(op int, _, _, _ string) int {
			// BEGIN, COMMIT and the savepoints are compiled at each use; they are short.
			if op != sqlite3.SQLITE_TRANSACTION && op != sqlite3.SQLITE_SAVEPOINT {
				compiles.Add(1)
			}
			return sqlite3.SQLITE_OK
		})
	})
	writes(boss, other)
	compiles.Store(0)
	writes(other, boss)
	writes(boss, mid)
	if n := compiles.Load(); n != 0 {
		t.Errorf("manager and sponsor writes compiled statements again: %d authorizer calls", n)
	}
}
