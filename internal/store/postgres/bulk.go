package postgres

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// copyRows is how many objects one COPY of InsertBulk sends; progress is reported between two of them.
const copyRows = 50_000

var _ store.BulkInserter = (*txn)(nil)

// objectColumns are the columns InsertBulk fills, in the order of copySource's values.
var objectColumns = []string{"tenant_id", "id", "kind", "manager_id", "upn_key", "display_name", "props", "search_tokens"}

// InsertBulk sends the objects with COPY in primary key order, each row with its manager, so that the table
// and its primary key are written page after page, then the sponsors with one statement. The other indexes
// stay: unlike SQLite, where readers go on with the old schema, dropping one here would lock every tenant's
// readers out until the import commits.
func (t *txn) InsertBulk(objects []store.BulkObject, sponsors []store.BulkSponsor, progress func(int)) error {
	if !storable(t.tenant) {
		return store.ErrTenantNotFound
	}
	// Checked before anything is sent, so that what PostgreSQL cannot store gets Graph's error, as from
	// Insert, rather than failing the COPY.
	for i := range objects {
		o := &objects[i]
		switch {
		case !storable(o.ID()):
			return &store.ObjectError{ID: o.ID(), Err: directory.Invalid("Invalid object identifier '%s'.", strings.ToValidUTF8(o.ID(), "\uFFFD"))}
		case !storable(o.ManagerID()):
			// No object has such an id.
			return &store.ObjectError{ID: o.ID(), Err: directory.NotFound(strings.ToValidUTF8(o.ManagerID(), "\uFFFD"))}
		case o.Unstorable() != "":
			return &store.ObjectError{ID: o.ID(), Err: directory.InvalidValue(strings.ToValidUTF8(o.Unstorable(), "\uFFFD"), o.Kind())}
		}
	}
	if !slices.IsSortedFunc(objects, byID) {
		objects = slices.SortedFunc(slices.Values(objects), byID)
	}
	for done := 0; done < len(objects); {
		chunk := objects[done:min(done+copyRows, len(objects))]
		if _, err := t.tx.CopyFrom(t.ctx, pgx.Identifier{"objects"}, objectColumns, &copySource{tenant: t.tenant, objects: chunk}); err != nil {
			return t.bulkFailure(err)
		}
		done += len(chunk)
		if progress != nil {
			progress(done)
		}
	}
	if err := t.insertSponsors(sponsors); err != nil {
		return err
	}
	if progress != nil {
		progress(len(objects) + len(sponsors))
	}
	return nil
}

// insertSponsors adds the relationships with one statement, which takes its rows in order, so that the
// identity column seq, which Sponsors orders by, follows them. Like AddSponsor's, the statement adds no row
// rather than fail for a relationship that exists or repeats or an object that is missing; if a row is
// missing, the relationships are looked at one by one to say why.
func (t *txn) insertSponsors(sponsors []store.BulkSponsor) error {
	if len(sponsors) == 0 {
		return nil
	}
	users := make([]string, len(sponsors))
	ids := make([]string, len(sponsors))
	for i, s := range sponsors {
		// No object has an id PostgreSQL cannot store.
		for _, id := range []string{s.UserID, s.SponsorID} {
			if !storable(id) {
				return directory.NotFound(strings.ToValidUTF8(id, "\uFFFD"))
			}
		}
		users[i], ids[i] = s.UserID, s.SponsorID
	}
	n, err := t.exec(`INSERT INTO sponsors (tenant_id, user_id, sponsor_id)
		SELECT $1, s.user_id, s.sponsor_id FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS s (user_id, sponsor_id, i)
		WHERE EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = s.user_id)
			AND EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = s.sponsor_id)
		ORDER BY s.i
		ON CONFLICT DO NOTHING`, t.tenant, users, ids)
	if err != nil || n == int64(len(sponsors)) {
		return err
	}
	for _, s := range sponsors {
		for _, id := range []string{s.UserID, s.SponsorID} {
			found, err := t.exists(`SELECT EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = $2)`, t.tenant, id)
			if err != nil {
				return err
			}
			if !found {
				return directory.NotFound(id)
			}
		}
	}
	return directory.DuplicateReference("sponsors")
}

func byID(a, b store.BulkObject) int { return cmp.Compare(a.ID(), b.ID()) }

// bulkFailure turns the constraint violations a COPY can meet into the errors of the contract.
func (t *txn) bulkFailure(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23503": // foreign_key_violation: only tenant_id has one
			return store.ErrTenantNotFound
		case pe.Code == "23505" && pe.ConstraintName == "objects_upn": // unique_violation
			return directory.DuplicateValue("userPrincipalName")
		case pe.Code == "23505":
			return directory.DuplicateValue("id")
		}
	}
	return t.fail(err)
}

// copySource gives CopyFrom the rows of objects; pgx encodes each row before it asks for the next.
type copySource struct {
	tenant  string
	objects []store.BulkObject
	next    int
	row     []any
}

func (c *copySource) Next() bool {
	if c.next == len(c.objects) {
		return false
	}
	o := &c.objects[c.next]
	c.next++
	c.row = append(c.row[:0], c.tenant, o.ID(), string(o.Kind()), nullable(o.ManagerID()), nullable(o.UPNKey()),
		nullable(o.DisplayName()), json.RawMessage(o.Props()), o.SearchTokens())
	return true
}

func (c *copySource) Values() ([]any, error) { return c.row, nil }

func (c *copySource) Err() error { return nil }
