package sqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/mattn/go-sqlite3"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

const (
	// bulkRows is how many objects one INSERT statement adds while the indexes are dropped: enough that the
	// statements' own cost vanishes, few enough parameters (bulkCols each) for SQLite.
	bulkRows = 128
	bulkCols = 7
	// rebuildMin is the smallest bulk insert for which rebuilding the indexes pays (see InsertBulk).
	rebuildMin = 10_000
	// bulkCacheMaxKiB bounds the page cache InsertBulk lets the transaction's pages take.
	bulkCacheMaxKiB = 4 << 20
	// sortCacheKiB is the page cache while InsertBulk rebuilds indexes. CREATE INDEX sorts in runs of
	// the cache's size: small runs sort within the processor's caches and, on SQLite's worker threads, while
	// the table is still being read. (The transaction's own pages stay, see tune.)
	sortCacheKiB = 16 << 10
)

var _ store.BulkInserter = (*txn)(nil)

// InsertBulk adds objects in primary key order, each row with its manager, then the sponsors.
//
// Each row also goes into the secondary indexes of objects, most of them in an order unrelated to the
// primary key's (by userPrincipalName, by manager, by display name, …), so that nearly every row changes a
// page of its own in each. So when the objects are many and at least as many as the table holds, as when a
// whole organisation is loaded into a new database, InsertBulk drops the secondary indexes, adds the rows,
// and builds the indexes again, which sorts their entries and writes each page once: several times faster.
// It is all one transaction: a crash or an error brings the indexes back as they were, and readers, in WAL
// mode, go on using them meanwhile. Dropping an index forgets its planner statistics (sqlite_stat1), so
// they are put back as well.
func (t *txn) InsertBulk(objects []store.BulkObject, sponsors []store.BulkSponsor, progress func(int)) (err error) {
	if !slices.IsSortedFunc(objects, byID) {
		objects = slices.SortedFunc(slices.Values(objects), byID)
	}
	rebuild := false
	if len(objects) >= rebuildMin {
		held, err := t.count(`SELECT count(*) FROM (SELECT 1 FROM objects LIMIT ?)`, len(objects)+1)
		if err != nil {
			return err
		}
		rebuild = held <= len(objects)
	}
	forIndexes, restore, err := t.tune(objects)
	defer func() { err = errors.Join(err, restore()) }()
	if err != nil {
		return err
	}
	// With every index in place, one row per statement: a statement that writes several rows needs a
	// statement journal, into which SQLite copies every page it changes, and then each row changes several.
	perStatement := 1
	var dropped []index
	if rebuild {
		if dropped, err = t.dropIndexes(); err != nil {
			return err
		}
		perStatement = bulkRows
	}
	if err := t.insertRows(objects, perStatement, progress); err != nil {
		return err
	}
	if err := t.insertSponsors(sponsors, len(objects), progress); err != nil {
		return err
	}
	if rebuild {
		if err := forIndexes(); err != nil {
			return err
		}
		if err := t.createIndexes(dropped); err != nil {
			return err
		}
	}
	if progress != nil {
		progress(len(objects) + len(sponsors))
	}
	return nil
}

func byID(a, b store.BulkObject) int { return cmp.Compare(a.ID(), b.ID()) }

// tune sets the connection up for writing objects and returns what sets it back, which InsertBulk runs
// before the commit (the pages still dirty then are freed as the commit writes them), and what sets it up
// for rebuilding the indexes.
//
// The page cache may hold every page the transaction writes, about twice the rows' bytes (the table and its
// indexes): a page SQLite spilled to the write-ahead log mid-transaction, to be read again for the next index
// or a foreign key, is found there through one hash table per 4,096 pages written. While the indexes are
// rebuilt that is the spill threshold instead, below which SQLite keeps a dirty page whatever the cache's
// size, and the cache's own size, which sets the length of the sorter's runs, is sortCacheKiB.
func (t *txn) tune(objects []store.BulkObject) (forIndexes, restore func() error, err error) {
	bytes := 0
	for i := range objects {
		o := &objects[i]
		bytes += len(t.tenant) + len(o.ID()) + len(o.ManagerID()) + len(o.Props()) + len(o.SearchTokens()) +
			len(o.UPNKey()) + len(o.DisplayName()) + 16
	}
	pagesKiB := max(min(2*bytes>>10, bulkCacheMaxKiB), writeCacheKiB)
	// PRAGMA takes no parameters; the values are integers computed here.
	run := func(ctx context.Context, pragmas ...string) error {
		var errs []error
		for _, p := range pragmas {
			_, err := t.sql.ExecContext(ctx, "PRAGMA "+p)
			errs = append(errs, t.fail(err))
		}
		return errors.Join(errs...)
	}
	forIndexes = func() error {
		return run(t.ctx, fmt.Sprintf("cache_spill = -%d", pagesKiB), fmt.Sprintf("cache_size = -%d", sortCacheKiB),
			fmt.Sprintf("threads = %d", runtime.GOMAXPROCS(0)))
	}
	restore = func() error {
		// Also when the context has ended: the connection serves the next writes. The spill threshold and
		// worker threads go back to SQLite's defaults (the cache's size; none).
		return run(context.WithoutCancel(t.ctx), fmt.Sprintf("cache_size = -%d", writeCacheKiB), "cache_spill = 1", "threads = 0")
	}
	return forIndexes, restore, run(t.ctx, fmt.Sprintf("cache_size = -%d", pagesKiB))
}

// addSponsor is AddSponsor's statement: each relationship goes after those its user has.
const addSponsor = `INSERT INTO sponsors (tenant_id, user_id, sponsor_id, seq)
	VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM sponsors WHERE tenant_id = +?1 AND user_id = +?2))`

// missing returns the error for a relationship between user and sponsor that failed its foreign key.
func (t *txn) missing(user, sponsor string) error {
	if _, err := t.Get(user); err != nil {
		return err
	}
	return directory.NotFound(sponsor)
}

// insertSponsors adds the relationships in order, as AddSponsor does; done objects came before them.
func (t *txn) insertSponsors(sponsors []store.BulkSponsor, done int, progress func(int)) error {
	for i, s := range sponsors {
		_, err := t.exec(addSponsor, t.tenant, s.UserID, s.SponsorID)
		switch extendedCode(err) {
		case sqlite3.ErrConstraintPrimaryKey:
			return directory.DuplicateReference("sponsors")
		case sqlite3.ErrConstraintForeignKey:
			return t.missing(s.UserID, s.SponsorID)
		}
		if err != nil {
			return err
		}
		if progress != nil && (i+1)%bulkRows == 0 {
			progress(done + i + 1)
		}
	}
	return nil
}

// insertRows inserts objects, perStatement rows per INSERT statement. The driver keeps the statements
// prepared, as it does every statement of the connection.
func (t *txn) insertRows(objects []store.BulkObject, perStatement int, progress func(int)) error {
	full := bulkInsert(perStatement)
	args := make([]any, 0, 1+perStatement*bulkCols)
	for done := 0; done < len(objects); {
		chunk := objects[done:min(done+perStatement, len(objects))]
		args = append(args[:0], t.tenant)
		for i := range chunk {
			o := &chunk[i]
			args = append(args, o.ID(), string(o.Kind()), nullable(o.ManagerID()), nullable(o.UPNKey()),
				nullable(o.DisplayName()), o.Props(), o.SearchTokens())
		}
		query := full
		if len(chunk) < perStatement {
			query = bulkInsert(len(chunk))
		}
		_, err := t.exec(query, args...)
		switch extendedCode(err) {
		case sqlite3.ErrConstraintForeignKey:
			return store.ErrTenantNotFound
		case sqlite3.ErrConstraintPrimaryKey:
			return directory.DuplicateValue("id")
		case sqlite3.ErrConstraintUnique:
			return directory.DuplicateValue("userPrincipalName")
		}
		if err != nil {
			return err
		}
		before := done
		done += len(chunk)
		if progress != nil && done/bulkRows != before/bulkRows {
			progress(done)
		}
	}
	return nil
}

// bulkInsert is the statement that inserts n rows: the tenant is parameter 1, then bulkCols per row.
func bulkInsert(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO objects (tenant_id, id, kind, manager_id, upn_key, display_name, props, search_tokens) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?1")
		for c := range bulkCols {
			fmt.Fprintf(&b, ", ?%d", 2+i*bulkCols+c)
		}
		b.WriteString(")")
	}
	return b.String()
}

// index is a secondary index of objects as the schema holds it: its statement and planner statistics.
type index struct {
	name, sql string
	stats     []string // its rows of sqlite_stat1
}

// dropIndexes drops the secondary indexes of objects and returns what createIndexes needs to make them
// again. All of them go, even one that rows in id order would only extend, so that they come back in their
// order: the planner weighs a table's indexes in that order.
func (t *txn) dropIndexes() ([]index, error) {
	rows, err := t.sql.QueryContext(t.ctx, `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND tbl_name = 'objects' AND sql IS NOT NULL ORDER BY rowid`)
	if err != nil {
		return nil, t.fail(err)
	}
	var out []index
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.sql); err != nil {
			rows.Close()
			return nil, t.fail(err)
		}
		out = append(out, ix)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, t.fail(err)
	}
	for i := range out {
		if out[i].stats, err = t.column(`SELECT stat FROM sqlite_stat1 WHERE tbl = 'objects' AND idx = ?`, out[i].name); err != nil {
			return nil, err
		}
		// The name comes from the schema, where SQLite checked it; quoting keeps it one identifier.
		if _, err := t.exec(`DROP INDEX "` + strings.ReplaceAll(out[i].name, `"`, `""`) + `"`); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// createIndexes makes the indexes dropIndexes dropped again, in their order, with their statistics.
func (t *txn) createIndexes(indexes []index) error {
	for _, ix := range indexes {
		_, err := t.exec(ix.sql)
		if err != nil {
			if extendedCode(err) == sqlite3.ErrConstraintUnique {
				return directory.DuplicateValue("userPrincipalName")
			}
			return fmt.Errorf("%w (building index %s)", err, ix.name)
		}
		for _, stat := range ix.stats {
			if _, err := t.exec(`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('objects', ?, ?)`, ix.name, stat); err != nil {
				return err
			}
		}
	}
	// The planner reads sqlite_stat1 when it loads the schema; this loads it again.
	_, err := t.exec(`ANALYZE sqlite_schema`)
	return err
}

// column runs a query of one text column.
func (t *txn) column(query string, args ...any) ([]string, error) {
	rows, err := t.sql.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, t.fail(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, t.fail(err)
		}
		out = append(out, s)
	}
	return out, t.fail(rows.Err())
}
