package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlquery"
)

// chainBatch is the depth guard of one chain query. A longer chain is continued by another query from where
// the last one stopped; on data with a cycle a query yields at most this many rows before Go sees the repeat.
const chainBatch = 1024

// The columns an Object is read from, in the order scanObject expects.
const objectCols = `id, kind, manager_id, props`

// chainQuery walks up from $2 through manager_id, at most $3 levels; rows carry their depth so the order
// does not depend on how PostgreSQL runs the recursion. Dangling manager ids end the chain.
const chainQuery = `WITH RECURSIVE chain (id, kind, manager_id, props, depth) AS (
	SELECT m.id, m.kind, m.manager_id, m.props, 1
	FROM objects AS o JOIN objects AS m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id
	WHERE o.tenant_id = $1 AND o.id = $2
	UNION ALL
	SELECT m.id, m.kind, m.manager_id, m.props, c.depth + 1
	FROM chain AS c JOIN objects AS m ON m.tenant_id = $1 AND m.id = c.manager_id
	WHERE c.depth < $3
)
SELECT ` + objectCols + ` FROM chain ORDER BY depth`

// chainIDsQuery is chainQuery without the columns the cycle check does not need.
const chainIDsQuery = `WITH RECURSIVE chain (id, manager_id, depth) AS (
	SELECT m.id, m.manager_id, 1
	FROM objects AS o JOIN objects AS m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id
	WHERE o.tenant_id = $1 AND o.id = $2
	UNION ALL
	SELECT m.id, m.manager_id, c.depth + 1
	FROM chain AS c JOIN objects AS m ON m.tenant_id = $1 AND m.id = c.manager_id
	WHERE c.depth < $3
)
SELECT id FROM chain ORDER BY depth`

// txn is a directory.Tx on one PostgreSQL transaction. It also runs the Store's own statements (with no tenant).
type txn struct {
	ctx    context.Context
	s      *Store
	tx     pgx.Tx
	tenant string
	// again records that a statement failed in a way that makes running the whole transaction again
	// worthwhile: PostgreSQL rolled it back for a conflict, or the connection broke (which rolls it back).
	again bool
}

var _ directory.Tx = (*txn)(nil)

// fail classifies a database error and notes whether it calls for running the transaction again.
func (t *txn) fail(err error) error {
	if conflict(err) || lost(err) {
		t.again = true
	}
	return t.s.failure(t.ctx, err)
}

// exec runs a statement and returns the number of rows it changed. A statement with an argument PostgreSQL
// cannot store matches no row, so it changes nothing without being sent (the error would end the transaction).
func (t *txn) exec(query string, args ...any) (int64, error) {
	if !storableArgs(args) {
		return 0, nil
	}
	tag, err := t.tx.Exec(t.ctx, query, args...)
	return tag.RowsAffected(), t.fail(err)
}

// query runs a query whose rows the caller reads and closes.
func (t *txn) query(query string, args ...any) (pgx.Rows, error) {
	rows, err := t.tx.Query(t.ctx, query, args...)
	return rows, t.fail(err)
}

// objects runs a query for objects; like exec, one with an argument PostgreSQL cannot store finds none.
func (t *txn) objects(query string, args ...any) ([]*directory.Object, error) {
	if !storableArgs(args) {
		return nil, nil
	}
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
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
	if !storableArgs(args) {
		return 0, nil
	}
	var n int
	err := t.tx.QueryRow(t.ctx, query, args...).Scan(&n)
	return n, t.fail(err)
}

// exists runs a query of one boolean.
func (t *txn) exists(query string, args ...any) (bool, error) {
	if !storableArgs(args) {
		return false, nil
	}
	var ok bool
	err := t.tx.QueryRow(t.ctx, query, args...).Scan(&ok)
	return ok, t.fail(err)
}

func scanObject(rows pgx.Rows) (*directory.Object, error) {
	var (
		o       directory.Object
		kind    string
		manager *string
	)
	// Scanning into Stored copies the bytes, which outlive the row.
	if err := rows.Scan(&o.ID, &kind, &manager, &o.Stored); err != nil {
		return nil, err
	}
	o.Kind = directory.Kind(kind)
	if manager != nil {
		o.ManagerID = *manager
	}
	return &o, nil
}

// Get returns the object with this id, of any kind.
func (t *txn) Get(id string) (*directory.Object, error) {
	os, err := t.objects(`SELECT `+objectCols+` FROM objects WHERE tenant_id = $1 AND id = $2`, t.tenant, id)
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
	os, err := t.objects(`SELECT `+objectCols+` FROM objects WHERE tenant_id = $1 AND upn_key = $2`, t.tenant, directory.UPNKey(upn))
	if err != nil {
		return nil, err
	}
	if len(os) == 0 {
		return nil, directory.NotFound(upn)
	}
	return os[0], nil
}

// GetMany fetches the objects in one query and puts them in the order of ids.
func (t *txn) GetMany(ids []string) ([]*directory.Object, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if storable(id) {
			keys = append(keys, id)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	found, err := t.objects(`SELECT `+objectCols+` FROM objects WHERE tenant_id = $1 AND id = ANY($2)`, t.tenant, keys)
	if err != nil {
		return nil, err
	}
	return sqlquery.InOrder(ids, found), nil
}

// List pages through the objects in the order q asks for.
func (t *txn) List(q directory.ListQuery) ([]*directory.Object, error) {
	query, args := listQuery(t.tenant, q)
	if err := checkQuery(args, 1); err != nil {
		return nil, err
	}
	return t.objects(query, args...)
}

// listQuery is List's statement. In id order a single kind reads the (tenant, kind, id) index and several
// kinds the primary key; sorted by a property, one kind reads that property's sort key index from the cursor on.
func listQuery(tenant string, q directory.ListQuery) (string, []any) {
	b := sqlquery.New(sqlquery.Postgres)
	return `SELECT ` + objectCols + ` FROM objects WHERE tenant_id = ` + b.Arg(tenant) + b.Kinds("kind", q.Kinds) + b.Where(q) + b.Page(q), b.Args()
}

// Count counts the objects List would return without After and Limit.
func (t *txn) Count(q directory.ListQuery) (int, error) {
	b := sqlquery.New(sqlquery.Postgres)
	query := `SELECT count(*) FROM objects WHERE tenant_id = ` + b.Arg(t.tenant) + b.Kinds("kind", q.Kinds) + b.Where(q)
	if err := checkQuery(b.Args(), 1); err != nil {
		return 0, err
	}
	return t.count(query, b.Args()...)
}

// checkQuery refuses a listing whose filter, search or cursor has a value PostgreSQL cannot store. Such a
// value matches nothing, but under a negation it would match everything, so an empty answer could be wrong
// (SQLite, which stores any bytes, compares it). The first keys arguments are the tenant and the manager,
// which, when they cannot be stored, simply have no objects.
func checkQuery(args []any, keys int) error {
	if storableArgs(args[:keys]) && !storableArgs(args[keys:]) {
		return directory.Invalid("The query holds a value the directory cannot store (a NUL character or invalid UTF-8).")
	}
	return nil
}

// Insert adds o. Its ManagerID is not stored: a manager is set only through SetManager, after the Service's
// checks. ON CONFLICT DO NOTHING turns a taken id or userPrincipalName into no row rather than an error that
// would end the transaction; a second query tells which it was.
func (t *txn) Insert(o *directory.Object) error {
	switch {
	case !storable(t.tenant):
		return store.ErrTenantNotFound
	case !storable(o.ID):
		return directory.Invalid("Invalid object identifier '%s'.", strings.ToValidUTF8(o.ID, "\uFFFD"))
	}
	props, err := encodeProps(o)
	if err != nil {
		return err
	}
	n, err := t.exec(`INSERT INTO objects (tenant_id, id, kind, upn_key, display_name, props, search_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING`, t.tenant, o.ID, string(o.Kind), upnKey(o), nullable(o.String("displayName")), props, sqlquery.SearchTokens(o))
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: only tenant_id has one
			return store.ErrTenantNotFound
		}
		return err
	}
	if n == 1 {
		return nil
	}
	taken, err := t.exists(`SELECT EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = $2)`, t.tenant, o.ID)
	if err != nil {
		return err
	}
	if taken {
		return directory.DuplicateValue("id")
	}
	return directory.DuplicateValue("userPrincipalName")
}

// Replace stores o's properties; the stored kind decides whether the object has a upn_key. The update is
// skipped, rather than left to fail on the unique index and end the transaction, when another user holds the
// userPrincipalName. (The tenant's lock means nothing changes between such a check and the write.)
func (t *txn) Replace(o *directory.Object) error {
	props, err := encodeProps(o)
	if err != nil {
		return err
	}
	var upn any
	if s := o.String("userPrincipalName"); s != "" {
		upn = directory.UPNKey(s)
	}
	n, err := t.exec(`UPDATE objects AS o SET upn_key = CASE o.kind WHEN 'user' THEN $3 END, display_name = $4, props = $5, search_tokens = $6
		WHERE o.tenant_id = $1 AND o.id = $2 AND NOT (o.kind = 'user' AND EXISTS (
			SELECT FROM objects AS x WHERE x.tenant_id = $1 AND x.upn_key = $3 AND x.id <> $2))`,
		t.tenant, o.ID, upn, nullable(o.String("displayName")), props, sqlquery.SearchTokens(o))
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	found, err := t.exists(`SELECT EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = $2)`, t.tenant, o.ID)
	if err != nil {
		return err
	}
	if found {
		return directory.DuplicateValue("userPrincipalName")
	}
	return directory.NotFound(o.ID)
}

// Delete removes the object; the sponsors foreign keys remove its sponsor rows, and its reports lose their manager here.
func (t *txn) Delete(id string) error {
	n, err := t.exec(`DELETE FROM objects WHERE tenant_id = $1 AND id = $2`, t.tenant, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return directory.NotFound(id)
	}
	_, err = t.exec(`UPDATE objects SET manager_id = NULL WHERE tenant_id = $1 AND manager_id = $2`, t.tenant, id)
	return err
}

// SetManager sets or clears the manager of id; ErrNotFound if there is no object id.
func (t *txn) SetManager(id, managerID string) error {
	n, err := t.exec(`UPDATE objects SET manager_id = $3 WHERE tenant_id = $1 AND id = $2`, t.tenant, id, nullable(managerID))
	if err == nil && n == 0 {
		return directory.NotFound(id)
	}
	return err
}

// Chain returns the managers above id, nearest first, from one recursive query per chainBatch levels.
func (t *txn) Chain(id string, limit int) ([]*directory.Object, error) {
	return walk(t, id, limit, chainQuery, func(rows pgx.Rows) (string, *directory.Object, error) {
		o, err := scanObject(rows)
		if err != nil {
			return "", nil, err
		}
		return o.ID, o, nil
	})
}

// ChainIDs returns the ids of the managers above id, nearest first.
func (t *txn) ChainIDs(id string, limit int) ([]string, error) {
	return walk(t, id, limit, chainIDsQuery, func(rows pgx.Rows) (string, string, error) {
		var id string
		err := rows.Scan(&id)
		return id, id, err
	})
}

// walk runs a chain query (arguments: tenant, start id, depth guard) until the chain ends, reaches limit
// (when > 0) or comes back to an object it has passed; scan reads one row into its id and its value.
func walk[T any](t *txn, id string, limit int, query string, scan func(pgx.Rows) (string, T, error)) ([]T, error) {
	if !storable(t.tenant, id) {
		return nil, nil
	}
	var out []T
	seen := map[string]bool{}
	from := id
	for {
		guard := chainBatch
		if limit > 0 {
			guard = min(guard, limit-len(out))
		}
		rows, err := t.query(query, t.tenant, from, guard)
		if err != nil {
			return nil, err
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
		rows.Close()
		if err := rows.Err(); err != nil {
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
	if err := checkQuery(args, 2); err != nil {
		return nil, err
	}
	return t.objects(query, args...)
}

// CountDirectReports counts what DirectReports would return without After and Limit.
func (t *txn) CountDirectReports(id string, q directory.ListQuery) (int, error) {
	query, args := reportsQuery(t.tenant, id, q, true)
	if err := checkQuery(args, 2); err != nil {
		return 0, err
	}
	return t.count(query, args...)
}

// reportsQuery is the statement of DirectReports or, with count, CountDirectReports. It reads the (tenant,
// manager, id) index: a manager has few reports, so sorting them by a property is cheap.
func reportsQuery(tenant, id string, q directory.ListQuery, count bool) (string, []any) {
	b := sqlquery.New(sqlquery.Postgres)
	where := ` FROM objects WHERE tenant_id = ` + b.Arg(tenant) + ` AND manager_id = ` + b.Arg(id) + b.Kinds("kind", q.Kinds) + b.Where(q)
	if count {
		return `SELECT count(*)` + where, b.Args()
	}
	return `SELECT ` + objectCols + where + b.Page(q), b.Args()
}

// Sponsors returns the sponsors of id in the order they were added.
func (t *txn) Sponsors(id string) ([]*directory.Object, error) {
	return t.objects(`SELECT o.id, o.kind, o.manager_id, o.props
		FROM sponsors AS s JOIN objects AS o ON o.tenant_id = s.tenant_id AND o.id = s.sponsor_id
		WHERE s.tenant_id = $1 AND s.user_id = $2 ORDER BY s.seq`, t.tenant, id)
}

// AddSponsor records sponsorID as a sponsor of id, after the sponsors added before it. The insert adds no
// row, rather than fail and end the transaction, when the pair exists or either object is missing; a second
// query tells which.
func (t *txn) AddSponsor(id, sponsorID string) error {
	n, err := t.exec(`INSERT INTO sponsors (tenant_id, user_id, sponsor_id)
		SELECT $1, $2, $3 WHERE EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = $2)
			AND EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = $3)
		ON CONFLICT DO NOTHING`, t.tenant, id, sponsorID)
	if err != nil || n == 1 {
		return err
	}
	if _, err := t.Get(id); err != nil {
		return err
	}
	dup, err := t.exists(`SELECT EXISTS (SELECT FROM sponsors WHERE tenant_id = $1 AND user_id = $2 AND sponsor_id = $3)`, t.tenant, id, sponsorID)
	if err != nil {
		return err
	}
	if dup {
		return directory.DuplicateReference("sponsors")
	}
	return directory.NotFound(sponsorID)
}

// RemoveSponsor removes sponsorID from the sponsors of id.
func (t *txn) RemoveSponsor(id, sponsorID string) error {
	n, err := t.exec(`DELETE FROM sponsors WHERE tenant_id = $1 AND user_id = $2 AND sponsor_id = $3`, t.tenant, id, sponsorID)
	if err == nil && n == 0 {
		return directory.NotFound(sponsorID)
	}
	return err
}

// encodeProps returns o's properties as JSON for the jsonb column, or Graph's error for a property whose
// value PostgreSQL cannot store.
func encodeProps(o *directory.Object) (json.RawMessage, error) {
	if err := o.Decode(); err != nil {
		return nil, err
	}
	for name, v := range o.Props {
		if !storable(name) || !storableValue(v) {
			return nil, directory.InvalidValue(strings.ToValidUTF8(name, "\uFFFD"), o.Kind)
		}
	}
	if len(o.Props) == 0 {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(o.Props)
	if err != nil {
		return nil, fmt.Errorf("postgres: object %s: props: %w", o.ID, err)
	}
	return b, nil
}

// storable reports whether PostgreSQL can hold every string: text and jsonb refuse NUL and invalid UTF-8.
// No stored row can match such a key, and sending one would fail and end the transaction, so callers answer
// without asking (a mistyped URL is then a 404, as with SQLite, not a 500).
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

func storableArgs(args []any) bool {
	for _, a := range args {
		switch v := a.(type) {
		case string:
			if !storable(v) {
				return false
			}
		case []string:
			if !storable(v...) {
				return false
			}
		}
	}
	return true
}

// storableValue applies storable to every string in a decoded JSON value.
func storableValue(v any) bool {
	switch v := v.(type) {
	case string:
		return storable(v)
	case []any:
		for _, e := range v {
			if !storableValue(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !storable(k) || !storableValue(e) {
				return false
			}
		}
	}
	return true
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
