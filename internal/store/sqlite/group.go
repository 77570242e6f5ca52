package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Group commit. With synchronous=FULL every commit waits for an fsync of the write-ahead log, and the one
// write connection commits one transaction at a time, so one transaction per write capped writes at the
// fsyncs the disk does per second, whatever the CPU. Concurrent writes of this process therefore share
// transactions. Each write queues a call; one committer goroutine at a time takes the calls in order into a
// transaction (BEGIN IMMEDIATE) and hands it to each caller in turn, whose fn runs in the caller's own
// goroutine (a panic keeps its stack and unwinds its own caller) inside a savepoint of its own: the fns of a
// batch run one after another, each alone and seeing everything committed or run before it, so the checks
// an fn makes still hold when the batch commits. An fn that returns an error or panics is rolled back to its
// savepoint; the others keep their writes. After the batch the committer commits once (one fsync) and only
// then answers every caller: no write is acknowledged before the commit that holds it is durable, and a
// failed commit fails every write of the batch.
//
// The first fn of a transaction runs without a savepoint (on failure the whole transaction, which holds
// nothing else, is rolled back): a lone write costs what it did before batching, and a large one (an
// import, deleting a tenant) does not copy every page it changes into a savepoint journal.

const (
	// maxBatch and maxBatchTime bound a batch: once it holds this many writes or has run this long, no more
	// join it and it commits, so a write waits for its commit at most about this long after its fn ran.
	maxBatch     = 64
	maxBatchTime = 5 * time.Millisecond
)

// errRolledBack answers a write whose fn reported success although SQLite rolled the transaction back under
// it (an I/O error the fn did not pass on): its writes are lost.
var errRolledBack = errors.New("sqlite: the transaction was rolled back under a write")

// errClosed answers writes after Close.
var errClosed = errors.New("sqlite: the store is closed")

// call is one write waiting for, or taking part in, a batch.
type call struct {
	ctx      context.Context
	tenant   string
	fn       func(*txn) error
	deadline time.Time // when waiting for another process's write lock gives up
	// turns carries the committer's messages to the caller: a connection on which to run fn now, or the
	// result. It has room for one, so the committer never waits for a caller to take its result.
	turns chan turn
	// err is fn's result in the current transaction, which the caller gets if the transaction commits.
	err error
}

type turn struct {
	conn runner // non-nil: run fn on it now
	err  error  // with conn nil: the write's result
}

// ran is what a caller reports to the committer when its fn has run.
type ran struct {
	err      error
	busy     bool // a statement found the database locked
	panicked bool // fn panicked or exited its goroutine; the panic goes on in the caller's goroutine
}

// runner is what a txn runs statements on: a read transaction, or the write connection inside a batch.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// batchConn is the write connection as the fns of a batch see it. A write statement that SQLite interrupts
// because its caller's context ended rolls back the whole transaction, every other write of the batch with
// it, so a statement whose context has already ended is not started at all (as database/sql does in a
// transaction of its own).
type batchConn struct{ *sql.Conn }

func (c batchConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Conn.ExecContext(ctx, query, args...)
}

// write runs fn as part of a batch (see the package's group commit) and returns once its outcome is final.
func (s *Store) write(ctx context.Context, tenant string, fn func(*txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{ctx: ctx, tenant: tenant, fn: fn, deadline: time.Now().Add(s.lockWait), turns: make(chan turn, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.queue = append(s.queue, c)
	if !s.committing {
		s.committing = true
		s.committers.Add(1)
		go s.runCommitter()
	}
	s.mu.Unlock()
	done := ctx.Done()
	for {
		select {
		case t := <-c.turns:
			if t.conn == nil {
				return t.err
			}
			s.run(c, t.conn)
		case <-done:
			// A caller still in the queue leaves it; one the committer has taken waits for its answer.
			if s.withdraw(c) {
				return ctx.Err()
			}
			done = nil
		}
	}
}

// run runs c's fn on conn in the caller's goroutine and reports to the committer, also when fn panics.
func (s *Store) run(c *call, conn runner) {
	t := &txn{ctx: c.ctx, sql: conn, tenant: c.tenant}
	returned := false
	defer func() {
		if !returned {
			s.ran <- ran{panicked: true}
		}
	}()
	err := c.fn(t)
	returned = true
	s.ran <- ran{err: err, busy: t.busy}
}

// withdraw takes c out of the queue if the committer has not taken it yet.
func (s *Store) withdraw(c *call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.queue, c)
	if i < 0 {
		return false
	}
	s.queue = slices.Delete(s.queue, i, i+1)
	return true
}

// committer is the state of the goroutine that runs batches while there are writes to run.
type committer struct {
	s    *Store
	conn *sql.Conn
	// retry holds calls to run again, before the queue, because the transaction they ran in was lost.
	retry []*call
	// batch holds the calls that ran in the open transaction, in order, waiting for its commit.
	batch []*call
	// busyErr is set while another process holds the lock: the error that said so, which calls that give up
	// waiting for the lock are answered with.
	busyErr error
}

// runCommitter runs batches until no write is waiting.
func (s *Store) runCommitter() {
	defer s.committers.Done()
	k := &committer{s: s}
	defer func() {
		if k.conn != nil {
			k.conn.Close()
		}
	}()
	for {
		s.mu.Lock()
		if len(k.retry) == 0 && len(s.queue) == 0 {
			s.committing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if k.conn == nil {
			conn, err := s.w.Conn(context.Background())
			if err != nil {
				k.failWaiting(err)
				continue
			}
			k.conn = conn
		}
		if k.begin() {
			k.runBatch()
		}
	}
}

// waiting reports whether a call waits to run.
func (k *committer) waiting() bool {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	return len(k.retry) > 0 || len(k.s.queue) > 0
}

// take removes the call to run next from the retries or the queue and returns it, or nil when there is none.
func (k *committer) take() *call {
	if len(k.retry) > 0 {
		c := k.retry[0]
		k.retry = k.retry[1:]
		return c
	}
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil
	}
	c := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	return c
}

// begin opens the batch's transaction, waiting for another process's write lock in slices of lockPoll. Calls
// that give up meanwhile (their context ends or their lock wait runs out) are answered, as is every waiting
// call when the transaction cannot be opened at all. It reports whether a transaction is open.
func (k *committer) begin() bool {
	for {
		_, err := k.conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
		switch {
		case err == nil:
			k.busyErr = nil
			return true
		case !isBusy(err):
			k.failWaiting(err)
			return false
		}
		k.busyErr = err
		k.expire()
		if !k.waiting() {
			return false
		}
	}
}

// expire answers the waiting calls whose context has ended or, while another process holds the lock, whose
// wait for it has run out.
func (k *committer) expire() {
	now := time.Now()
	keep := func(c *call) bool {
		switch {
		case c.ctx.Err() != nil:
			c.turns <- turn{err: c.ctx.Err()}
		case k.busyErr != nil && now.After(c.deadline):
			c.turns <- turn{err: failure(c.ctx, k.busyErr)}
		default:
			return true
		}
		return false
	}
	k.retry = slices.DeleteFunc(k.retry, func(c *call) bool { return !keep(c) })
	k.s.mu.Lock()
	k.s.queue = slices.DeleteFunc(k.s.queue, func(c *call) bool { return !keep(c) })
	k.s.mu.Unlock()
}

// failWaiting answers every waiting call with err, an error that opening a transaction met.
func (k *committer) failWaiting(err error) {
	for _, c := range k.retry {
		c.turns <- turn{err: failure(c.ctx, err)}
	}
	k.retry = nil
	k.s.mu.Lock()
	queue := k.s.queue
	k.s.queue = nil
	k.s.mu.Unlock()
	for _, c := range queue {
		c.turns <- turn{err: failure(c.ctx, err)}
	}
}

// runBatch runs calls in the open transaction until the batch is full, old or out of calls, and commits it.
func (k *committer) runBatch() {
	start := time.Now()
	for len(k.batch) < maxBatch && (len(k.batch) == 0 || time.Since(start) < maxBatchTime) {
		c := k.take()
		if c == nil {
			break
		}
		if err := c.ctx.Err(); err != nil {
			c.turns <- turn{err: err}
			continue
		}
		if !k.runCall(c) {
			return
		}
	}
	if len(k.batch) == 0 {
		// The calls taken had given up before their turn, or there were none: nothing to commit.
		k.rollback()
		return
	}
	k.commit()
}

// runCall runs c's fn in the open transaction. It reports false when the transaction has ended (rolled back
// for a retry, or after a failing first fn), so that a new one must be opened for the calls after it.
func (k *committer) runCall(c *call) bool {
	first := len(k.batch) == 0
	if !first {
		if _, err := k.conn.ExecContext(context.Background(), "SAVEPOINT w"); err != nil {
			k.retry = append([]*call{c}, k.retry...)
			k.restart(err)
			return false
		}
	}
	c.turns <- turn{conn: batchConn{k.conn}}
	r := <-k.s.ran
	if r.busy {
		k.retry = append([]*call{c}, k.retry...)
		k.restart(r.err)
		return false
	}
	if !k.open() {
		// SQLite rolled the transaction back during fn (an interrupted write, an I/O error): c is answered
		// with its own error, and the calls that ran before it run again in a new one.
		switch {
		case r.panicked:
		case r.err != nil:
			c.turns <- turn{err: r.err}
		default:
			c.turns <- turn{err: errRolledBack}
		}
		k.restart(nil)
		return false
	}
	if first {
		if r.panicked || r.err != nil {
			// Nothing else is in the transaction: roll it all back, and c's error stands, since the state it
			// saw was committed.
			k.rollback()
			if !r.panicked {
				c.turns <- turn{err: r.err}
			}
			return false
		}
		c.err = nil
		k.batch = append(k.batch, c)
		return true
	}
	end := "RELEASE w"
	if r.panicked || r.err != nil {
		end = "ROLLBACK TO w; RELEASE w"
	}
	if _, err := k.conn.ExecContext(context.Background(), end); err != nil {
		if !r.panicked {
			k.retry = append([]*call{c}, k.retry...)
		}
		k.restart(err)
		return false
	}
	if !r.panicked {
		c.err = r.err
		k.batch = append(k.batch, c)
	}
	return true
}

// open reports whether the transaction is still open: SQLite rolls it back by itself after some errors.
func (k *committer) open() bool {
	open := false
	k.conn.Raw(func(dc any) error {
		open = !dc.(*sqlite3.SQLiteConn).AutoCommit()
		return nil
	})
	return open
}

// rollback ends the transaction, keeping nothing; it is a no-op when SQLite has rolled it back already.
func (k *committer) rollback() {
	if k.open() {
		k.conn.ExecContext(context.Background(), "ROLLBACK")
	}
}

// restart rolls the transaction back and queues the calls that ran in it to run again in the next one, as
// the Transactor contract allows; cause is why, and a busy cause (another process holds a lock) makes the
// calls whose wait for the lock has run out give up.
func (k *committer) restart(cause error) {
	k.rollback()
	k.retry = append(k.batch, k.retry...)
	k.batch = nil
	if isBusy(cause) {
		k.busyErr = cause
	}
	k.expire()
}

// commit commits the batch and answers its calls: each with its fn's result, or all with the commit's error.
func (k *committer) commit() {
	_, err := k.conn.ExecContext(context.Background(), "COMMIT")
	if err != nil {
		// A failed COMMIT may leave the transaction open; nothing of it is kept.
		k.rollback()
		if isBusy(err) {
			k.restart(err)
			return
		}
	}
	for _, c := range k.batch {
		if err != nil {
			c.turns <- turn{err: failure(c.ctx, err)}
		} else {
			c.turns <- turn{err: c.err}
		}
	}
	k.batch = nil
}
