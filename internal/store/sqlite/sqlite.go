// Package sqlite is orgraph's embedded default store: one SQLite file that the server and the CLI (orgraph
// token) open at the same time, so nothing else needs to be installed or running. Each pragma is set for that
// use: journal_mode=WAL lets readers keep reading while a writer commits, in this process or the other one;
// synchronous=FULL (or NORMAL, when the operator accepts losing the last commits to a power cut but not to a
// crash) decides what an acknowledged write survives; foreign_keys=ON makes a write into an unknown tenant
// fail and deleting a tenant or object remove what hangs off it; busy_timeout makes a writer wait for the
// other process's write lock rather than fail at once; query_only on the read pool makes a View that tries to
// write fail instead of writing. Writes take the write lock at BEGIN (IMMEDIATE), so every update runs alone
// and the checks the directory makes inside it still hold when it commits; concurrent writes of this process
// share transactions and their commits (group.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

const (
	// lockTimeout is how long a write waits for another process's write lock before giving up with
	// store.ErrUnavailable, and how long a read may wait in the rare cases WAL makes readers wait.
	lockTimeout = 10 * time.Second
	// lockPoll is the write connection's busy_timeout. SQLite's busy wait does not notice a cancelled
	// context, so the write lock is waited for in slices of this length with a context check between them.
	lockPoll = 100 * time.Millisecond
	// stmtCacheSize is how many prepared statements each connection keeps, enough for every query here, so
	// a request never re-parses SQL.
	stmtCacheSize = 64
	// writeCacheKiB and readCacheKiB size each connection's page cache (SQLite's default is 2 MiB): a
	// million-user directory is over a gigabyte, and with the default a fifth of the server's time went to
	// re-reading pages. Five connections at these sizes stay well inside the memory target.
	writeCacheKiB = 128 << 10
	readCacheKiB  = 64 << 10
	// timeFormat stores times in UTC with a fixed width, so that ORDER BY on the text is time order.
	timeFormat = "2006-01-02T15:04:05.000000000Z"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationSteps complete the migrations whose work SQL cannot do, in the same transaction.
var migrationSteps = map[string]func(*txn) error{
	"migrations/0003_query.sql": backfillSearchTokens,
}

// Options tune a Store.
type Options struct {
	// Sync is "full" (the default): an acknowledged write survives a power loss; or "normal": it survives a
	// crash of the process but the last commits may be lost to a power loss, for much cheaper commits.
	Sync string
}

// Store is a store.Store on one SQLite file.
type Store struct {
	// w has one connection, on which the committer runs the batches of writes (group.go).
	w *sql.DB
	// r is a pool of read-only connections; in WAL mode they read the last commit without waiting for w.
	r *sql.DB
	// lockWait is lockTimeout, apart from in tests that wait for the ErrUnavailable it ends in.
	lockWait time.Duration

	mu sync.Mutex
	// queue holds the writes waiting for the committer, oldest first.
	queue []*call
	// committing is set while a committer goroutine runs; committers counts them for Close.
	committing bool
	committers sync.WaitGroup
	// closed refuses writes after Close.
	closed bool
	// ran carries a caller's report that its fn has run to the committer, which waits for one at a time.
	ran chan ran
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	var sync string
	switch strings.ToLower(opts.Sync) {
	case "", "full":
		sync = "FULL"
	case "normal":
		sync = "NORMAL"
	default:
		return nil, fmt.Errorf("sqlite: unknown sync mode %q (want full or normal)", opts.Sync)
	}
	// The reader pool must see the writer's database, which an in-memory one would not be.
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: %q is not a file path", path)
	}
	w, err := sql.Open("sqlite3", dsn(path, url.Values{
		"_journal_mode":    {"WAL"},
		"_synchronous":     {sync},
		"_foreign_keys":    {"on"},
		"_busy_timeout":    {strconv.Itoa(int(lockPoll / time.Millisecond))},
		"_stmt_cache_size": {strconv.Itoa(stmtCacheSize)},
		"_cache_size":      {strconv.Itoa(-writeCacheKiB)},
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	s := &Store{w: w, lockWait: lockTimeout, ran: make(chan ran, 1)}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open(readerDriver, dsn(path, url.Values{
		"_query_only":      {"on"},
		"_busy_timeout":    {strconv.Itoa(int(lockTimeout / time.Millisecond))},
		"_stmt_cache_size": {strconv.Itoa(stmtCacheSize)},
		"_cache_size":      {strconv.Itoa(-readCacheKiB)},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Idle connections are kept: a new one would have to prepare its statements again.
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	return s, nil
}

// dsn builds a file: URI (so SQLite, not the driver, parses the path) with the driver's parameters.
func dsn(path string, params url.Values) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?" + params.Encode()
}

// migrate applies the embedded migrations the database has not seen, in one transaction, and records the
// schema version in PRAGMA user_version. Two processes opening a new file at once take turns on the write lock,
// so the second finds the work done.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// Glob returns names sorted; each must be numbered after its position, so none is skipped or run twice.
	for i, name := range names {
		if !strings.HasPrefix(name, fmt.Sprintf("migrations/%04d_", i+1)) {
			return fmt.Errorf("sqlite: migration %s is out of sequence", name)
		}
	}
	return s.write(ctx, "", func(t *txn) error {
		var version int
		if err := t.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return t.fail(err)
		}
		if version > len(names) {
			return fmt.Errorf("sqlite: database schema version %d is newer than this orgraph's (%d)", version, len(names))
		}
		for i := version; i < len(names); i++ {
			text, err := migrationFiles.ReadFile(names[i])
			if err != nil {
				return fmt.Errorf("sqlite: %w", err)
			}
			if _, err := t.sql.ExecContext(ctx, string(text)); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", names[i], t.fail(err))
			}
			if step := migrationSteps[names[i]]; step != nil {
				if err := step(t); err != nil {
					return fmt.Errorf("sqlite: migration %s: %w", names[i], err)
				}
			}
		}
		if version == len(names) {
			return nil
		}
		// PRAGMA takes no parameters; the value is an integer we computed.
		_, err := t.sql.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(names)))
		return t.fail(err)
	})
}

// View runs fn in a read transaction: from its first query it sees one snapshot of the database.
func (s *Store) View(ctx context.Context, tenant string, fn func(directory.Tx) error) error {
	return s.read(ctx, tenant, func(t *txn) error { return fn(t) })
}

// Update runs fn in a write transaction, which it may share with other writes of this process (group.go),
// and returns once the commit that holds fn's writes is durable. The transaction starts again from scratch
// if SQLite reports the database busy during it.
func (s *Store) Update(ctx context.Context, tenant string, fn func(directory.Tx) error) error {
	return s.write(ctx, tenant, func(t *txn) error { return fn(t) })
}

func (s *Store) read(ctx context.Context, tenant string, fn func(*txn) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return failure(ctx, err)
	}
	// A read transaction has nothing to commit; ending it releases the snapshot.
	defer tx.Rollback()
	return fn(&txn{ctx: ctx, sql: tx, tenant: tenant})
}

// isBusy reports whether err means another connection holds a lock we need: trying again later may succeed.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// failure classifies a database error: the context's own error when it ended the call, store.ErrUnavailable
// when the file could not be reached or locked in time (worth retrying), and a wrapped error otherwise.
func failure(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrCantOpen, sqlite3.ErrIoErr:
			return fmt.Errorf("%w: sqlite: %w", store.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %w", err)
}

// extendedCode returns the SQLite extended result code of err, or 0 when it is not an SQLite error.
func extendedCode(err error) sqlite3.ErrNoExtended {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode
	}
	return 0
}

// Tenant returns one tenant or store.ErrTenantNotFound.
func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	ts, err := s.tenants(ctx, `SELECT id, name, created_at FROM tenants WHERE id = ?`, id)
	if err != nil {
		return store.Tenant{}, err
	}
	if len(ts) == 0 {
		return store.Tenant{}, store.ErrTenantNotFound
	}
	return ts[0], nil
}

// Tenants lists every tenant, oldest first.
func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return s.tenants(ctx, `SELECT id, name, created_at FROM tenants ORDER BY created_at, id`)
}

func (s *Store) tenants(ctx context.Context, query string, args ...any) ([]store.Tenant, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, failure(ctx, err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		var (
			t       store.Tenant
			created string
		)
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, failure(ctx, err)
		}
		if t.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
			return nil, fmt.Errorf("sqlite: tenant %s: %w", t.ID, err)
		}
		out = append(out, t)
	}
	return out, failure(ctx, rows.Err())
}

// DeleteTenant removes a tenant; the foreign keys remove its objects and their relationships with it.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.write(ctx, "", func(tx *txn) error {
		n, err := tx.affected(tx.exec(`DELETE FROM tenants WHERE id = ?`, id))
		if err == nil && n == 0 {
			return store.ErrTenantNotFound
		}
		return err
	})
}

// SigningKeys returns the token signing keys, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kid, private_pem, created_at FROM signing_keys ORDER BY created_at DESC, kid`)
	if err != nil {
		return nil, failure(ctx, err)
	}
	defer rows.Close()
	var out []auth.SigningKey
	for rows.Next() {
		var (
			k       auth.SigningKey
			created string
		)
		if err := rows.Scan(&k.ID, &k.PrivateKeyPEM, &created); err != nil {
			return nil, failure(ctx, err)
		}
		if k.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
			return nil, fmt.Errorf("sqlite: signing key %s: %w", k.ID, err)
		}
		out = append(out, k)
	}
	return out, failure(ctx, rows.Err())
}

// AddSigningKey stores a new signing key; a kid that is stored already is an error.
func (s *Store) AddSigningKey(ctx context.Context, k auth.SigningKey) error {
	return s.write(ctx, "", func(tx *txn) error {
		_, err := tx.exec(`INSERT INTO signing_keys (kid, private_pem, created_at) VALUES (?, ?, ?)`,
			k.ID, k.PrivateKeyPEM, k.CreatedAt.UTC().Format(timeFormat))
		if extendedCode(err) == sqlite3.ErrConstraintPrimaryKey {
			return fmt.Errorf("sqlite: signing key %q is stored already", k.ID)
		}
		return err
	})
}

// Setting reads a named server-wide value ("" when unset).
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, failure(ctx, err)
}

// SetSettingOnce sets a named value unless it is set, and returns the value in force. The write lock makes
// the insert and the read one step for every process.
func (s *Store) SetSettingOnce(ctx context.Context, name, value string) (string, error) {
	var got string
	err := s.write(ctx, "", func(tx *txn) error {
		if _, err := tx.exec(`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.fail(tx.sql.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&got))
	})
	return got, err
}

// Ping reads the schema version from the file, which fails when the file cannot be read.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	return failure(ctx, s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v))
}

// Close waits for the writes under way and closes the database; writes after it fail.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.committers.Wait()
	return errors.Join(s.r.Close(), s.w.Close())
}
