package store

import (
	"fmt"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store/sqlquery"
)

// BulkInserter is offered by the directory.Tx of a backend that can add many objects at once, far faster than
// Insert, SetManager and AddSponsor one at a time: importing a whole organisation (package transfer) uses it
// when the Tx has it. storetest.RunBulk holds every backend that offers it to this contract.
type BulkInserter interface {
	// InsertBulk adds objects to the tenant, managers included, then sponsors: afterwards every read gives
	// what Insert of each object, SetManager of each one with a manager, then AddSponsor of each
	// relationship in order would have given.
	//
	// The caller checks what the Service would have checked, and InsertBulk relies on it: that the
	// properties are valid; that every manager is a user or org contact, and every user with sponsors a
	// user and every sponsor a user or group, of objects or of the tenant; that no manager chain becomes a
	// cycle and no user gets more than directory.MaxSponsors sponsors. Like SetManager, InsertBulk checks
	// none of that. An id, or a user's userPrincipalName, that the tenant holds or that objects repeats makes
	// it fail with directory.DuplicateValue; a relationship that exists or repeats, with
	// directory.DuplicateReference; a relationship with an object that does not exist, with
	// directory.NotFound; a tenant that does not exist, with ErrTenantNotFound; an object the backend cannot
	// store, with an *ObjectError naming it.
	//
	// objects may come in any order, but in id order (BulkObject.ID, compared as bytes) they are written
	// fastest. progress, when not nil, is called on the calling goroutine now and then with the number of
	// objects and relationships written so far, objects first, the last time with len(objects) +
	// len(sponsors). Unlike the other errors of a Tx, any error of InsertBulk leaves the transaction
	// unusable: the caller returns it from Update, which then keeps nothing the update wrote.
	InsertBulk(objects []BulkObject, sponsors []BulkSponsor, progress func(n int)) error
}

// BulkSponsor is a relationship for InsertBulk: SponsorID sponsors UserID.
type BulkSponsor struct {
	UserID, SponsorID string
}

// ObjectError is an error of InsertBulk about one of its objects.
type ObjectError struct {
	ID  string
	Err error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("object %s: %v", e.ID, e.Err) }

func (e *ObjectError) Unwrap() error { return e.Err }

// BulkObject is an object prepared for InsertBulk by a BulkEncoder: what the backends store for it, encoded
// once. Preparing is most of the work a bulk insert does outside the database, and it needs the object's
// property map, which costs several times the encoded form in memory: a caller loading a million objects
// prepares them in parallel as they arrive and keeps only these until the write.
type BulkObject struct {
	// text is the id, the manager's id, the properties' JSON, the search tokens, the UPN key and the
	// display name back to back, ends where each ends: one allocation, which the garbage collector does not
	// scan, per object.
	text       string
	ends       [6]uint32
	kind       directory.Kind
	unstorable string
}

func (b *BulkObject) part(i int) string {
	start := uint32(0)
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.text[start:b.ends[i]]
}

// ID returns the object's id.
func (b *BulkObject) ID() string { return b.part(0) }

// ManagerID returns the id of the object's manager, or "".
func (b *BulkObject) ManagerID() string { return b.part(1) }

// Props returns the properties' JSON as Insert stores it (AppendProps).
func (b *BulkObject) Props() string { return b.part(2) }

// SearchTokens returns the object's $search tokens (sqlquery.SearchTokens).
func (b *BulkObject) SearchTokens() string { return b.part(3) }

// UPNKey returns the case-folded userPrincipalName of a user (directory.UPNKey), or "" for none.
func (b *BulkObject) UPNKey() string { return b.part(4) }

// DisplayName returns the object's displayName, or "" for none.
func (b *BulkObject) DisplayName() string { return b.part(5) }

// Kind returns the object's kind.
func (b *BulkObject) Kind() directory.Kind { return b.kind }

// Unstorable names the first property, in name order, whose name or value holds text that is not valid
// UTF-8 or holds a NUL character, which PostgreSQL cannot store; "" when there is none.
func (b *BulkObject) Unstorable() string { return b.unstorable }

// BulkEncoder prepares BulkObjects. Its zero value is ready; one encoder must not be used by two goroutines
// at once.
type BulkEncoder struct {
	buf []byte
}

// Encode prepares o, with its manager, for InsertBulk. It keeps nothing of o.
func (e *BulkEncoder) Encode(o *directory.Object) (BulkObject, error) {
	var out BulkObject
	w := propsWriter{b: e.buf[:0]}
	w.b = append(w.b, o.ID...)
	out.ends[0] = uint32(len(w.b))
	w.b = append(w.b, o.ManagerID...)
	out.ends[1] = uint32(len(w.b))
	if err := w.props(o.Props); err != nil {
		return BulkObject{}, fmt.Errorf("object %s: props: %w", o.ID, err)
	}
	out.ends[2] = uint32(len(w.b))
	w.b = append(w.b, sqlquery.SearchTokens(o)...)
	out.ends[3] = uint32(len(w.b))
	if upn := o.String("userPrincipalName"); o.Kind == directory.KindUser && upn != "" {
		w.b = append(w.b, directory.UPNKey(upn)...)
	}
	out.ends[4] = uint32(len(w.b))
	w.b = append(w.b, o.String("displayName")...)
	out.ends[5] = uint32(len(w.b))
	e.buf = w.b
	out.text, out.kind, out.unstorable = string(w.b), o.Kind, w.unstorable
	return out, nil
}
