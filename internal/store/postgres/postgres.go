// Package postgres is the store for running several orgraph nodes on one PostgreSQL database, behind a load
// balancer. The directory's invariants (no manager cycles, at most five sponsors) are checked by the Service
// inside Update, so they hold across nodes only if a tenant's updates run one at a time everywhere: each
// update therefore takes a transaction-scoped advisory lock on its tenant before anything else, which gives
// PostgreSQL what SQLite's single writer gives the embedded store, while other tenants' writes and all reads
// go on in parallel. A View reads one REPEATABLE READ snapshot and takes no locks. The schema is the SQLite
// store's (tenant first in every key, properties as JSONB); its migrations are embedded and applied on Open
// under another advisory lock, so nodes that start together apply them once.
//
// PostgreSQL aborts a transaction at its first failed statement, where SQLite carries on. So that a caller
// may go on after the errors the Tx contract names (DuplicateValue, DuplicateReference, not found), the
// statements that could produce them are written not to fail; any other failure ends the transaction.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

const (
	// lockMigrate and lockTenant are the first keys of orgraph's advisory locks ("orgm", "orgt"). The
	// two-key form keeps them apart from each other and from single-key locks other software may take.
	lockMigrate int32 = 0x6f72676d
	lockTenant  int32 = 0x6f726774
	// maxAttempts bounds how often Update runs fn when PostgreSQL rolls the transaction back for a
	// serialization failure or a deadlock, or the connection fails before the commit is sent.
	maxAttempts = 5
	// reconnectAttempts bounds how often a transaction is begun, or a lone read run, again on a broken
	// connection: after a server restart the pool holds dead connections until they are used, and neither
	// BEGIN nor a read on one changes anything.
	reconnectAttempts = 3
	// timeFormat keeps nanoseconds in UTC with a fixed width, so that ORDER BY on the text is time order.
	timeFormat = "2006-01-02T15:04:05.000000000Z"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool  *pgxpool.Pool
	gates gates
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or key=value pairs; search_path selects the
// schema, pool_max_conns the pool size) and brings its schema up to date. A server that cannot be reached
// gives an error wrapping store.ErrUnavailable.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Name the nodes' sessions in pg_stat_activity unless the DSN does.
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "orgraph"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, gates: gates{m: map[string]*gate{}}}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations the database has not seen, in one transaction, and records each in
// schema_migrations. The advisory lock makes nodes that open a new database at once take turns, so the
// second finds the work done.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// Glob returns names sorted; each must be numbered after its position, so none is skipped or run twice.
	for i, name := range names {
		if !strings.HasPrefix(name, fmt.Sprintf("migrations/%04d_", i+1)) {
			return fmt.Errorf("postgres: migration %s is out of sequence", name)
		}
	}
	return s.write(ctx, "", func(t *txn) error {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock($1, 0)`, lockMigrate); err != nil {
			return err
		}
		if err := s.checkLocks(ctx); err != nil {
			return err
		}
		if _, err := t.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		var version int
		if err := t.fail(t.tx.QueryRow(t.ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version)); err != nil {
			return err
		}
		if version > len(names) {
			return fmt.Errorf("postgres: database schema version %d is newer than this orgraph's (%d)", version, len(names))
		}
		for i := version; i < len(names); i++ {
			text, err := migrationFiles.ReadFile(names[i])
			if err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			// Without arguments pgx uses the simple protocol, which runs a file of several statements.
			if _, err := t.exec(string(text)); err != nil {
				return fmt.Errorf("%w (in migration %s)", err, names[i])
			}
			if _, err := t.exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, i+1, strings.TrimPrefix(names[i], "migrations/")); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkLocks makes sure that the migration lock the caller holds keeps another session out, as PostgreSQL's
// advisory locks do. Some PostgreSQL-compatible engines accept the lock functions but do not lock: there the
// nodes' updates of a tenant would interleave, and the directory's invariants would break without a sign, so
// Open refuses. The other session is a connection of its own, so a pool of one connection cannot deadlock.
func (s *Store) checkLocks(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return s.failure(ctx, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var taken bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, 0)`, lockMigrate).Scan(&taken); err != nil {
		return s.failure(ctx, err)
	}
	if taken {
		return errors.New("postgres: this server's advisory locks do not exclude one another, which orgraph needs to keep the nodes' updates of a tenant apart")
	}
	return nil
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: every read in it sees the snapshot taken by the
// first, so the parts of one response agree, and it waits for no writer.
func (s *Store) View(ctx context.Context, tenant string, fn func(directory.Tx) error) error {
	tx, err := s.begin(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	// A read-only transaction has nothing to commit; ending it releases the snapshot.
	defer tx.Rollback(ctx)
	return fn(&txn{ctx: ctx, s: s, tx: tx, tenant: tenant})
}

// Update runs fn in a READ COMMITTED transaction that first takes the tenant's advisory lock, and runs it
// again (up to maxAttempts) when PostgreSQL rolls it back for a conflict.
//
// The lock makes the tenant's updates, on every node, run one after another: each statement of fn then sees
// every commit made before the lock was granted and no concurrent change, so what the Service checks (the
// chain above a new manager, the sponsor count) still holds when fn's writes commit. READ COMMITTED is not
// only enough but needed: REPEATABLE READ would take its snapshot at the first statement, the lock itself,
// before waiting for it, and so miss the very commit it waited for.
func (s *Store) Update(ctx context.Context, tenant string, fn func(directory.Tx) error) error {
	return s.locked(ctx, tenant, func(t *txn) error { return fn(t) })
}

// locked runs fn as an update of tenant: through the tenant's gate in this process, then under its lock.
func (s *Store) locked(ctx context.Context, tenant string, fn func(*txn) error) error {
	leave, err := s.gates.enter(ctx, tenant)
	if err != nil {
		return err
	}
	defer leave()
	return s.write(ctx, tenant, fn)
}

// write runs fn in a read-write transaction, with the tenant's advisory lock unless tenant is "" (the
// Store's own writes, outside any tenant), retrying what PostgreSQL rolled back.
func (s *Store) write(ctx context.Context, tenant string, fn func(*txn) error) error {
	for attempt := 1; ; attempt++ {
		again, err := s.attempt(ctx, tenant, fn)
		if err == nil || !again || attempt == maxAttempts || ctx.Err() != nil {
			return err
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// attempt runs fn in one transaction and reports whether running it again may succeed where it failed.
func (s *Store) attempt(ctx context.Context, tenant string, fn func(*txn) error) (again bool, err error) {
	tx, err := s.begin(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return false, err
	}
	// Deferred so that a panicking fn gives its connection back; after Commit it does nothing.
	defer tx.Rollback(ctx)
	t := &txn{ctx: ctx, s: s, tx: tx, tenant: tenant}
	if tenant != "" {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockTenant, tenant); err != nil {
			return t.again, err
		}
	}
	if err := fn(t); err != nil {
		return t.again, err
	}
	// A connection lost while COMMIT was in flight leaves the outcome unknown: only a commit that was never
	// sent, or that PostgreSQL refused for a conflict, may be run again.
	err = tx.Commit(ctx)
	return conflict(err) || pgconn.SafeToRetry(err), s.failure(ctx, err)
}

// begin starts a transaction, on another connection when the one the pool gave is broken.
func (s *Store) begin(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	for attempt := 1; ; attempt++ {
		tx, err := s.pool.BeginTx(ctx, opts)
		if err == nil || !broken(err) || attempt == reconnectAttempts || ctx.Err() != nil {
			return tx, s.failure(ctx, err)
		}
		s.failure(ctx, err) // resets the pool, so the next try connects afresh
	}
}

// collect runs one query outside any transaction (a single statement reads one snapshot) and scans its rows,
// again on another connection when the one the pool gave was broken: a read may be repeated safely.
func collect[T any](ctx context.Context, s *Store, scan pgx.RowToFunc[T], query string, args ...any) ([]T, error) {
	for attempt := 1; ; attempt++ {
		rows, err := s.pool.Query(ctx, query, args...)
		var out []T
		if err == nil {
			out, err = pgx.CollectRows(rows, scan)
		}
		if err == nil || !broken(err) || attempt == reconnectAttempts || ctx.Err() != nil {
			return out, s.failure(ctx, err)
		}
		s.failure(ctx, err) // resets the pool, so the next try connects afresh
	}
}

// pause waits a little longer at each attempt, with jitter so that transactions that collided do not
// collide again, and returns early with the context's error.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * (5*time.Millisecond + rand.N(5*time.Millisecond))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// conflict reports whether PostgreSQL rolled the transaction back for a serialization failure or a
// deadlock, after which running it again may succeed.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// lost reports whether err means the server could not be reached, the connection broke, or the server
// refuses work for now (shutting down, starting up, out of connections): the database may answer again soon.
func lost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300": // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection_exception
	}
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// broken reports whether err came from a pooled connection that had died (the server restarted, or an
// operator ended the session) rather than from failing to connect: another connection may work at once.
func broken(err error) bool {
	var ce *pgconn.ConnectError
	return lost(err) && !errors.As(err, &ce)
}

// failure classifies a database error: the context's own error when it ended the call, store.ErrUnavailable
// when the server is out of reach (worth retrying later), and a wrapped error otherwise. A lost connection
// resets the pool: when one connection finds the server restarted, the idle ones are dead too.
func (s *Store) failure(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case lost(err):
		s.pool.Reset()
		return fmt.Errorf("%w: postgres: %w", store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// CreateTenant adds a tenant and registers apps in it, in one transaction; store.ErrTenantExists if its id
// is taken, store.ErrAppExists for a taken client id.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, apps ...store.App) error {
	if !storable(t.ID, t.Name) {
		return fmt.Errorf("postgres: tenant id and name must be UTF-8 without NUL")
	}
	return s.write(ctx, "", func(tx *txn) error {
		n, err := tx.exec(`INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			t.ID, t.Name, t.CreatedAt.UTC().Format(timeFormat))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrTenantExists
		}
		for _, a := range apps {
			if a.TenantID != t.ID {
				return fmt.Errorf("postgres: app %s belongs to tenant %s, not %s", a.ClientID, a.TenantID, t.ID)
			}
			if err := tx.insertApp(a); err != nil {
				return err
			}
		}
		return nil
	})
}

// Tenant returns one tenant or store.ErrTenantNotFound.
func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	if !storable(id) {
		return store.Tenant{}, store.ErrTenantNotFound
	}
	ts, err := collect(ctx, s, scanTenant, `SELECT id, name, created_at FROM tenants WHERE id = $1`, id)
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
	return collect(ctx, s, scanTenant, `SELECT id, name, created_at FROM tenants ORDER BY created_at, id`)
}

func scanTenant(row pgx.CollectableRow) (store.Tenant, error) {
	var (
		t       store.Tenant
		created string
	)
	if err := row.Scan(&t.ID, &t.Name, &created); err != nil {
		return t, err
	}
	var err error
	if t.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
		return t, fmt.Errorf("tenant %s: %w", t.ID, err)
	}
	return t, nil
}

// DeleteTenant removes a tenant; the foreign keys remove its objects and their relationships with it. It
// holds the tenant's lock, like an update of the tenant, so that it does not interleave with one.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.locked(ctx, id, func(tx *txn) error {
		n, err := tx.exec(`DELETE FROM tenants WHERE id = $1`, id)
		if err == nil && n == 0 {
			return store.ErrTenantNotFound
		}
		return err
	})
}

// SigningKeys returns the token signing keys, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	return collect(ctx, s, func(row pgx.CollectableRow) (auth.SigningKey, error) {
		var (
			k       auth.SigningKey
			created string
		)
		if err := row.Scan(&k.ID, &k.PrivateKeyPEM, &created); err != nil {
			return k, err
		}
		var err error
		if k.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
			return k, fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		return k, nil
	}, `SELECT kid, private_pem, created_at FROM signing_keys ORDER BY created_at DESC, kid`)
}

// AddSigningKey stores a new signing key; a kid that is stored already is an error.
func (s *Store) AddSigningKey(ctx context.Context, k auth.SigningKey) error {
	if !storable(k.ID) {
		return fmt.Errorf("postgres: signing key id must be UTF-8 without NUL")
	}
	return s.write(ctx, "", func(tx *txn) error {
		n, err := tx.exec(`INSERT INTO signing_keys (kid, private_pem, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			k.ID, k.PrivateKeyPEM, k.CreatedAt.UTC().Format(timeFormat))
		if err == nil && n == 0 {
			return fmt.Errorf("postgres: signing key %q is stored already", k.ID)
		}
		return err
	})
}

// Setting reads a named server-wide value ("" when unset).
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	if !storable(name) {
		return "", nil
	}
	vs, err := collect(ctx, s, pgx.RowTo[string], `SELECT value FROM settings WHERE name = $1`, name)
	if err != nil || len(vs) == 0 {
		return "", err
	}
	return vs[0], nil
}

// SetSettingOnce sets a named value unless it is set, and returns the value in force. The no-op update on a
// conflict makes RETURNING yield the stored value, so insert and read are one statement on every node.
func (s *Store) SetSettingOnce(ctx context.Context, name, value string) (string, error) {
	if !storable(name, value) {
		return "", fmt.Errorf("postgres: setting name and value must be UTF-8 without NUL")
	}
	var got string
	err := s.write(ctx, "", func(t *txn) error {
		return t.fail(t.tx.QueryRow(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = settings.value RETURNING value`, name, value).Scan(&got))
	})
	return got, err
}

// Ping asks the server for an answer on a pooled connection.
func (s *Store) Ping(ctx context.Context) error {
	return s.failure(ctx, s.pool.Ping(ctx))
}

// Close waits for the connections in use to be given back and closes them all.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
