package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mattn/go-sqlite3"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlquery"
)

// chainBatch is the depth guard of one chain query. A longer chain is continued by another query from where
// the last one stopped; on data with a cycle a query yields at most this many rows before Go sees the repeat.
const chainBatch = 1024

// The columns an Object is read from, in the order scanObject expects.
const objectCols = `id, kind, manager_id, props`

// chainQuery walks up from ?2 through manager_id, at most ?3 levels; rows carry their depth so the order
// does not depend on how SQLite schedules the recursion. Dangling manager ids end the chain.
const chainQuery = `WITH RECURSIVE chain (id, kind, manager_id, props, depth) AS (
	SELECT m.id, m.kind, m.manager_id, m.props, 1
	FROM objects AS o JOIN objects AS m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id
	WHERE o.tenant_id = ?1 AND o.id = ?2
	UNION ALL
	SELECT m.id, m.kind, m.manager_id, m.props, c.depth + 1
	FROM chain AS c JOIN objects AS m ON m.tenant_id = ?1 AND m.id = c.manager_id
	WHERE c.depth < ?3
)
SELECT ` + objectCols + ` FROM chain ORDER BY depth`

// chainIDsQuery is chainQuery without the columns the cycle check does not need. Its parameters are compared
// as +?1 and +?2: compared bare, the planner marks them as values a new binding may re-plan for, and since
// the driver clears a statement's bindings before each use, SQLite then compiled the statement again at
// every cycle check, which cost more than the walk.
const chainIDsQuery = `WITH RECURSIVE chain (id, manager_id, depth) AS (
	SELECT m.id, m.manager_id, 1
	FROM objects AS o JOIN objects AS m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id
	WHERE o.tenant_id = +?1 AND o.id = +?2
	UNION ALL
	SELECT m.id, m.manager_id, c.depth + 1
	FROM chain AS c JOIN objects AS m ON m.tenant_id = +?1 AND m.id = c.manager_id
	WHERE c.depth < ?3
)
SELECT id FROM chain ORDER BY depth`

// txn is a directory.Tx on one SQLite transaction. It also runs the Store's own writes (with no tenant).
type txn struct {
	ctx    context.Context
	sql    runner
	tenant string
	// busy records that a statement found the database locked, so the Store runs the transaction again.
	busy bool
}

var _ directory.Tx = (*txn)(nil)

// fail classifies a database error and notes whether it calls for running the transaction again.
func (t *txn) fail(err error) error {
	if isBusy(err) {
		t.busy = true
	}
	return failure(t.ctx, err)
}

func (t *txn) exec(query string, args ...any) (sql.Result, error) {
	res, err := t.sql.ExecContext(t.ctx, query, args...)
	return res, t.fail(err)
}

// affected returns the number of rows a successful exec changed.
func (t *txn) affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, t.fail(err)
}

func (t *txn) objects(query string, args ...any) ([]*directory.Object, error) {
	rows, err := t.sql.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, t.fail(err)
	}
	defer rows.Close()
	var out []*directory.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, t.fail(err)
		}
		out = append(out, o)
	}
	return out, t.fail(rows.Err())
}

func (t *txn) count(query string, args ...any) (int, error) {
	var n int
	err := t.sql.QueryRowContext(t.ctx, query, args...).Scan(&n)
	return n, t.fail(err)
}

func scanObject(rows *sql.Rows) (*directory.Object, error) {
	var (
		o       directory.Object
		kind    string
		manager sql.NullString
	)
	// Scanning into Stored copies the bytes, which outlive the row.
	if err := rows.Scan(&o.ID, &kind, &manager, &o.Stored); err != nil {
		return nil, err
	}
	o.Kind = directory.Kind(kind)
	o.ManagerID = manager.String
	return &o, nil
}

// Get returns the object with this id, of any kind.
func (t *txn) Get(id string) (*directory.Object, error) {
	os, err := t.objects(`SELECT `+objectCols+` FROM objects WHERE tenant_id = ? AND id = ?`, t.tenant, id)
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, directory.NotFound(id)
	}
	return os[0], nil
}

// GetByUPN looks the user up by the lower-cased userPrincipalName, through its unique index.
func (t *txn) GetByUPN(upn string) (*directory.Object, error) {
	os, err := t.objects(`SELECT `+objectCols+` FROM objects WHERE tenant_id = ? AND upn_key = ?`, t.tenant, directory.UPNKey(upn))
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, directory.NotFound(upn)
	}
	return os[0], nil
}

// GetMany fetches the objects in one query, passing the ids as a JSON array, and puts them in the order of ids.
func (t *txn) GetMany(ids []string) ([]*directory.Object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	found, err := t.objects(`SELECT `+objectCols+` FROM objects WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, t.tenant, string(list))
	if err != nil {
		return nil, err
	}
	return sqlquery.InOrder(ids, found), nil
}

// List pages through the objects in the order q asks for.
func (t *txn) List(q directory.ListQuery) ([]*directory.Object, error) {
	query, args := listQuery(t.tenant, q)
	return t.objects(query, args...)
}

// listQuery is List's statement. In id order a single kind reads the (tenant, kind, id) index and several
// kinds the primary key; sorted by a property, one kind reads that property's sort key index from the cursor on.
func listQuery(tenant string, q directory.ListQuery) (string, []any) {
	b := sqlquery.New(sqlquery.SQLite)
	return `SELECT ` + objectCols + ` FROM objects WHERE tenant_id = ` + b.Arg(tenant) + kindFilter(b, q.Kinds, 1) + b.Where(q) + b.Page(q), b.Args()
}

// Count counts the objects List would return without After and Limit.
func (t *txn) Count(q directory.ListQuery) (int, error) {
	query, args := countQuery(t.tenant, q)
	return t.count(query, args...)
}

// countQuery is Count's statement: it counts from the (tenant, kind, id) index, which is far smaller than
// the table, unless a filter or search needs the rows.
func countQuery(tenant string, q directory.ListQuery) (string, []any) {
	b := sqlquery.New(sqlquery.SQLite)
	from := `objects INDEXED BY objects_kind`
	where := b.Where(q)
	if where != "" {
		from = `objects`
	}
	return `SELECT count(*) FROM ` + from + ` WHERE tenant_id = ` + b.Arg(tenant) + kindFilter(b, q.Kinds, len(directory.Kinds)) + where, b.Args()
}

// Insert adds o. Its ManagerID is not stored: a manager is set only through SetManager, after the Service's checks.
func (t *txn) Insert(o *directory.Object) error {
	props, err := encodeProps(o)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO objects (tenant_id, id, kind, upn_key, display_name, props, search_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.tenant, o.ID, string(o.Kind), upnKey(o), nullable(o.String("displayName")), props, sqlquery.SearchTokens(o))
	switch extendedCode(err) {
	case sqlite3.ErrConstraintForeignKey:
		return store.ErrTenantNotFound
	case sqlite3.ErrConstraintPrimaryKey:
		return directory.DuplicateValue("id")
	case sqlite3.ErrConstraintUnique:
		return directory.DuplicateValue("userPrincipalName")
	}
	return err
}

// Replace stores o's properties; the stored kind decides whether the object has a upn_key.
func (t *txn) Replace(o *directory.Object) error {
	props, err := encodeProps(o)
	if err != nil {
		return err
	}
	var upn any
	if s := o.String("userPrincipalName"); s != "" {
		upn = directory.UPNKey(s)
	}
	n, err := t.affected(t.exec(`UPDATE objects SET upn_key = CASE kind WHEN 'user' THEN ? END, display_name = ?, props = ?, search_tokens = ?
		WHERE tenant_id = ? AND id = ?`, upn, nullable(o.String("displayName")), props, sqlquery.SearchTokens(o), t.tenant, o.ID))
	if extendedCode(err) == sqlite3.ErrConstraintUnique {
		return directory.DuplicateValue("userPrincipalName")
	}
	if err == nil && n == 0 {
		return directory.NotFound(o.ID)
	}
	return err
}

// Delete removes the object; the sponsors foreign keys remove its sponsor rows, and its reports lose their manager here.
func (t *txn) Delete(id string) error {
	n, err := t.affected(t.exec(`DELETE FROM objects WHERE tenant_id = ? AND id = ?`, t.tenant, id))
	if err != nil {
		return err
	}
	if n == 0 {
		return directory.NotFound(id)
	}
	_, err = t.exec(`UPDATE objects SET manager_id = NULL WHERE tenant_id = ? AND manager_id = ?`, t.tenant, id)
	return err
}

// SetManager sets or clears the manager of id; ErrNotFound if there is no object id.
func (t *txn) SetManager(id, managerID string) error {
	n, err := t.affected(t.exec(`UPDATE objects SET manager_id = ? WHERE tenant_id = ? AND id = ?`, nullable(managerID), t.tenant, id))
	if err == nil && n == 0 {
		return directory.NotFound(id)
	}
	return err
}

// Chain returns the managers above id, nearest first, from one recursive query per chainBatch levels.
func (t *txn) Chain(id string, limit int) ([]*directory.Object, error) {
	return walk(t, id, limit, chainQuery, func(rows *sql.Rows) (string, *directory.Object, error) {
		o, err := scanObject(rows)
		if err != nil {
			return "", nil, err
		}
		return o.ID, o, nil
	})
}

// ChainIDs returns the ids of the managers above id, nearest first.
func (t *txn) ChainIDs(id string, limit int) ([]string, error) {
	return walk(t, id, limit, chainIDsQuery, func(rows *sql.Rows) (string, string, error) {
		var id string
		err := rows.Scan(&id)
		return id, id, err
	})
}

// walk runs a chain query (arguments: tenant, start id, depth guard) until the chain ends, reaches limit
// (when > 0) or comes back to an object it has passed; scan reads one row into its id and its value.
func walk[T any](t *txn, id string, limit int, query string, scan func(*sql.Rows) (string, T, error)) ([]T, error) {
	var out []T
	seen := map[string]bool{}
	from := id
	for {
		guard := chainBatch
		if limit > 0 {
			guard = min(guard, limit-len(out))
		}
		rows, err := t.sql.QueryContext(t.ctx, query, t.tenant, from, guard)
		if err != nil {
			return nil, t.fail(err)
		}
		n, cycle := 0, false
		for rows.Next() {
			id, v, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, t.fail(err)
			}
			if seen[id] {
				cycle = true
				break
			}
			seen[id] = true
			out = append(out, v)
			from = id
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, t.fail(err)
		}
		if cycle || n < guard || len(out) == limit {
			return out, nil
		}
	}
}

// DirectReports pages through the objects whose manager is id.
func (t *txn) DirectReports(id string, q directory.ListQuery) ([]*directory.Object, error) {
	query, args := reportsQuery(t.tenant, id, q, false)
	return t.objects(query, args...)
}

// CountDirectReports counts what DirectReports would return without After and Limit.
func (t *txn) CountDirectReports(id string, q directory.ListQuery) (int, error) {
	query, args := reportsQuery(t.tenant, id, q, true)
	return t.count(query, args...)
}

// reportsQuery is the statement of DirectReports or, with count, CountDirectReports. It reads the (tenant,
// manager, id) index: a manager has few reports, so sorting them by a property is cheap.
func reportsQuery(tenant, id string, q directory.ListQuery, count bool) (string, []any) {
	b := sqlquery.New(sqlquery.SQLite)
	where := ` FROM objects WHERE tenant_id = ` + b.Arg(tenant) + ` AND manager_id = ` + b.Arg(id) + kindFilter(b, q.Kinds, 0) + b.Where(q)
	if count {
		return `SELECT count(*)` + where, b.Args()
	}
	return `SELECT ` + objectCols + where + b.Page(q), b.Args()
}

// Sponsors returns the sponsors of id in the order they were added. The parameters are compared as +?, so
// that SQLite does not compile the join again at every use (see chainIDsQuery).
func (t *txn) Sponsors(id string) ([]*directory.Object, error) {
	return t.objects(`SELECT o.id, o.kind, o.manager_id, o.props
		FROM sponsors AS s JOIN objects AS o ON o.tenant_id = s.tenant_id AND o.id = s.sponsor_id
		WHERE s.tenant_id = +? AND s.user_id = +? ORDER BY s.seq`, t.tenant, id)
}

// AddSponsor records sponsorID as a sponsor of id, after the sponsors added before it.
func (t *txn) AddSponsor(id, sponsorID string) error {
	// +?1 and +?2 in the subquery, so that SQLite does not compile the statement again at every use (see
	// chainIDsQuery).
	_, err := t.exec(`INSERT INTO sponsors (tenant_id, user_id, sponsor_id, seq)
		VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM sponsors WHERE tenant_id = +?1 AND user_id = +?2))`,
		t.tenant, id, sponsorID)
	switch extendedCode(err) {
	case sqlite3.ErrConstraintPrimaryKey:
		return directory.DuplicateReference("sponsors")
	case sqlite3.ErrConstraintForeignKey:
		// One of the two objects is missing; say which.
		if _, err := t.Get(id); err != nil {
			return err
		}
		return directory.NotFound(sponsorID)
	}
	return err
}

// RemoveSponsor removes sponsorID from the sponsors of id.
func (t *txn) RemoveSponsor(id, sponsorID string) error {
	n, err := t.affected(t.exec(`DELETE FROM sponsors WHERE tenant_id = ? AND user_id = ? AND sponsor_id = ?`, t.tenant, id, sponsorID))
	if err == nil && n == 0 {
		return directory.NotFound(sponsorID)
	}
	return err
}

// kindFilter returns the condition that keeps the objects of kinds; "" when every kind passes. With more
// kinds than indexUpTo the column is written +kind, which stops SQLite from using the kind index: it yields
// one kind's rows in id order, but several kinds' only after a sort, and another index may already deliver
// the rows in id order.
func kindFilter(b *sqlquery.Builder, kinds []directory.Kind, indexUpTo int) string {
	col := "kind"
	if distinct := len(slices.Compact(slices.Sorted(slices.Values(kinds)))); distinct > indexUpTo {
		col = "+kind"
	}
	return b.Kinds(col, kinds)
}

// backfillSearchTokens fills in search_tokens for the objects stored before the column existed, a batch
// at a time in primary key order.
func backfillSearchTokens(t *txn) error {
	const batch = 1000
	var lastTenant, lastID string
	for {
		rows, err := t.sql.QueryContext(t.ctx, `SELECT tenant_id, id, kind, props FROM objects
			WHERE (tenant_id, id) > (?, ?) ORDER BY tenant_id, id LIMIT ?`, lastTenant, lastID, batch)
		if err != nil {
			return t.fail(err)
		}
		type update struct{ tenant, id, tokens string }
		var updates []update
		n := 0
		for rows.Next() {
			var (
				o      directory.Object
				tenant string
				kind   string
				props  sql.RawBytes
			)
			if err := rows.Scan(&tenant, &o.ID, &kind, &props); err != nil {
				rows.Close()
				return t.fail(err)
			}
			o.Kind = directory.Kind(kind)
			if err := json.Unmarshal(props, &o.Props); err != nil {
				rows.Close()
				return fmt.Errorf("object %s: props: %w", o.ID, err)
			}
			if tokens := sqlquery.SearchTokens(&o); tokens != "" {
				updates = append(updates, update{tenant, o.ID, tokens})
			}
			lastTenant, lastID = tenant, o.ID
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return t.fail(err)
		}
		for _, u := range updates {
			if _, err := t.exec(`UPDATE objects SET search_tokens = ? WHERE tenant_id = ? AND id = ?`, u.tokens, u.tenant, u.id); err != nil {
				return err
			}
		}
		if n < batch {
			return nil
		}
	}
}

func encodeProps(o *directory.Object) (string, error) {
	if err := o.Decode(); err != nil {
		return "", err
	}
	if len(o.Props) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(o.Props)
	if err != nil {
		return "", fmt.Errorf("sqlite: object %s: props: %w", o.ID, err)
	}
	return string(b), nil
}

// upnKey is the value of the upn_key column: the unique, case-folded userPrincipalName of a user, else NULL.
func upnKey(o *directory.Object) any {
	if upn := o.String("userPrincipalName"); o.Kind == directory.KindUser && upn != "" {
		return directory.UPNKey(upn)
	}
	return nil
}

// nullable stores "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
