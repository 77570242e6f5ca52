package directory

import "context"

// Transactor runs functions in storage transactions scoped to one tenant. Every backend implements it;
// every object a Tx reads or writes belongs to that tenant, so no code path can cross tenants.
type Transactor interface {
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, tenant string, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. Updates of one tenant are serialised (across processes
	// sharing the database too), so a check made in fn still holds when fn's writes commit. fn may be
	// called more than once when the backend retries a conflict; it must have no other side effects.
	// When fn returns an error nothing it wrote is kept.
	Update(ctx context.Context, tenant string, fn func(Tx) error) error
}

// ListQuery selects a page of objects: those of Kinds that satisfy Filter and Search, sorted by Order (by id
// when nil), after the cursor After.
type ListQuery struct {
	Kinds  []Kind // empty: every kind
	Filter Cond   // nil: every object
	Search Cond   // nil: every object
	Order  *Order // nil: id order
	After  Cursor // the zero Cursor: from the start
	Limit  int    // at most this many; 0: no limit
}

// Tx is a storage transaction within one tenant. Errors are *Error values where the caller can act on them
// (ErrNotFound, ErrConflict), and after one of those the transaction stays usable (PostgreSQL backends must
// therefore detect them without a failing statement); anything else is a storage failure that ends it.
type Tx interface {
	// Get returns the object with this id, of any kind, or ErrNotFound.
	Get(id string) (*Object, error)
	// GetByUPN returns the user whose userPrincipalName matches upn case-insensitively, or ErrNotFound.
	GetByUPN(upn string) (*Object, error)
	// GetMany returns the objects with these ids that exist, in the order of ids, skipping unknown ones.
	GetMany(ids []string) ([]*Object, error)
	// List returns a page of objects, in the order q asks for. Paging with q.Next keeps its place when
	// objects are added or removed between pages: no object is returned twice, and none that existed
	// throughout (with unchanged sort key) is skipped.
	List(q ListQuery) ([]*Object, error)
	// Count counts the objects List would return without After and Limit.
	Count(q ListQuery) (int, error)
	// Insert adds a new object; a taken id or userPrincipalName gives DuplicateValue.
	Insert(o *Object) error
	// Replace stores o's properties over the object with o.ID (kind and manager unchanged); ErrNotFound if none.
	Replace(o *Object) error
	// Delete removes the object, clears every manager reference to it and removes every sponsor
	// relationship it is on either side of; ErrNotFound if none.
	Delete(id string) error

	// SetManager sets (managerID != "") or clears the manager of id. It checks nothing: the Service does.
	SetManager(id, managerID string) error
	// Chain returns the managers above id, nearest first, at most limit of them (limit <= 0: all). It stops
	// before an object already in the chain, so it ends even on data with a cycle.
	Chain(id string, limit int) ([]*Object, error)
	// ChainIDs is Chain without loading the objects, for the cycle check on every manager write.
	ChainIDs(id string, limit int) ([]string, error)
	// DirectReports returns the objects whose manager is id, filtered and paged by q.
	DirectReports(id string, q ListQuery) ([]*Object, error)
	// CountDirectReports counts what DirectReports would return without After and Limit.
	CountDirectReports(id string, q ListQuery) (int, error)

	// Sponsors returns the sponsors of id, in the order they were added.
	Sponsors(id string) ([]*Object, error)
	// AddSponsor records sponsorID as a sponsor of id; DuplicateReference("sponsors") if it is one already.
	AddSponsor(id, sponsorID string) error
	// RemoveSponsor removes sponsorID from the sponsors of id; ErrNotFound if it is not one.
	RemoveSponsor(id, sponsorID string) error
}
