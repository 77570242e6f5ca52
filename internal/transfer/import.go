package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// maxLine bounds one line, so a file that is not JSON Lines at all (no newlines) fails instead of filling memory.
const maxLine = 16 << 20

// lookupBatch is how many ids one GetMany asks for when the file is checked against the tenant.
const lookupBatch = 500

// Options tune an import.
type Options struct {
	// SkipBad imports the good lines and lists the bad ones in Summary.Skipped, instead of importing nothing.
	// A line that depends on a bad one (a report of a skipped manager, a sponsor of a skipped user) is bad too.
	SkipBad bool
	// Progress, when not nil, is called with the number of objects and relationships written so far. Writing
	// starts once the whole file is read and validated; if the backend runs the transaction again after a
	// conflict, the count starts again from zero.
	Progress func(n int)
}

// Import loads a file in the transfer format into tenant. Every line is validated first: its shape, its
// properties (as trusted, so read-only ones such as createdDateTime are kept), its id (a new UUID),
// userPrincipalName (present and unique in the file and the tenant), and its references (managers that are
// users or org contacts, sponsors that are users or groups, at most directory.MaxSponsors per user, no
// manager cycle), which may point into the file or at objects the tenant already has. Then everything is
// written in one transaction. Without opts.SkipBad any bad line fails the import and nothing is written;
// the error is the first bad line that is not bad only because of another one.
func Import(ctx context.Context, st directory.Transactor, tenant string, r io.Reader, opts Options) (Summary, error) {
	f, err := readFile(ctx, r, false)
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	err = st.Update(ctx, tenant, func(tx directory.Tx) error {
		c, err := check(f, tx)
		if err != nil {
			return err
		}
		if len(c.errs) > 0 && !opts.SkipBad {
			return c.failure()
		}
		sum, err = c.write(ctx, tx, opts.Progress)
		return err
	})
	if err != nil {
		return Summary{}, err
	}
	return sum, nil
}

// object is an object line that parsed.
type object struct {
	line    int
	id      string
	kind    directory.Kind
	props   map[string]any // the checked properties, until row holds them (see readFile)
	manager string
	upn     string           // a user's userPrincipalName
	row     store.BulkObject // the object encoded for writing, when the line itself is good
	bad     bool             // the line itself is invalid, whatever the tenant holds
}

// sponsor is a sponsor line that parsed.
type sponsor struct {
	line          int
	user, sponsor string
}

// problem is a bad line; dependent ones are bad only because a line they refer to is.
type problem struct {
	LineError
	dependent bool
}

// file is what reading yields: everything that can be known without the tenant.
type file struct {
	objects  []*object
	index    map[string]int // id → the first object with it
	sponsors []sponsor
	errs     []problem
}

// record is any line, decoded before its kind says which fields it may have.
type record struct {
	Orgraph *int           `json:"orgraph"`
	Kind    string         `json:"kind"`
	ID      string         `json:"id"`
	Props   map[string]any `json:"props"`
	Manager string         `json:"manager"`
	User    string         `json:"user"`
	Sponsor string         `json:"sponsor"`
}

func checkHeader(b []byte) error {
	rec, err := decode(b)
	if err != nil || rec.Kind != kindHeader || rec.Orgraph == nil {
		return fmt.Errorf(`not an orgraph export: the first line must be {"orgraph":%d,"kind":"header"}`, formatVersion)
	}
	if *rec.Orgraph != formatVersion {
		return fmt.Errorf("format version %d; this orgraph reads version %d", *rec.Orgraph, formatVersion)
	}
	return nil
}

// decode reads one line as one JSON object with only the fields of the format, so a misspelt field fails
// loudly instead of being dropped.
func decode(b []byte) (record, error) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&rec)
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return rec, fmt.Errorf("invalid JSON: %w", err)
	case errors.As(err, &typ) && typ.Field == "":
		return rec, fmt.Errorf("a line is a JSON object, not a JSON %s", typ.Value)
	case errors.As(err, &typ):
		return rec, fmt.Errorf("%q cannot be a JSON %s", typ.Field, typ.Value)
	case err != nil:
		return rec, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return rec, errors.New("invalid JSON: more than one value on the line")
	}
	return rec, nil
}

// parseObject checks an object line on its own. It returns the object with id "" when the line has no
// usable id, and the line's problem ("" if none).
func parseObject(line int, kind directory.Kind, rec record) (object, string) {
	if rec.Orgraph != nil || rec.User != "" || rec.Sponsor != "" {
		return object{}, `an object line has only "kind", "id", "props" and "manager"`
	}
	if rec.ID == "" {
		return object{}, `missing "id"`
	}
	// Only the canonical form: ids are compared as strings, so "ABC…" and "abc…" would be two objects.
	if u, err := uuid.Parse(rec.ID); err != nil || u.String() != rec.ID {
		return object{}, fmt.Sprintf("id %q is not a UUID in canonical form", rec.ID)
	}
	o := object{line: line, id: rec.ID, kind: kind, manager: rec.Manager}
	if rec.Manager != "" && kind != directory.KindUser {
		return o, "only users have a manager"
	}
	props, err := directory.CheckProps(kind, rec.Props, false, true)
	if err != nil {
		return o, "props: " + err.Error()
	}
	// As for any import: a password is never stored, and null means absent.
	delete(props, "passwordProfile")
	for k, v := range props {
		if v == nil {
			delete(props, k)
		}
	}
	o.props = props
	if upn, _ := props["userPrincipalName"].(string); kind == directory.KindUser {
		if upn == "" {
			return o, "a user needs a userPrincipalName"
		}
		if err := directory.CheckUPN(upn); err != nil {
			return o, err.Error()
		}
	}
	return o, ""
}

// checked is a file checked against one tenant, in one transaction: what to write and what to skip.
type checked struct {
	f        *file
	bad      []bool                    // per object of f
	external map[string]directory.Kind // objects of the tenant the file refers to
	sponsors []sponsor                 // the sponsor lines to write, in line order
	errs     []problem
}

// check validates the file against the tenant tx sees. It keeps no state between calls, because Update may
// run it again.
func check(f *file, tx directory.Tx) (*checked, error) {
	c := &checked{f: f, bad: make([]bool, len(f.objects)), external: map[string]directory.Kind{}, errs: slices.Clone(f.errs)}
	for i, o := range f.objects {
		c.bad[i] = o.bad
	}
	// Into an empty tenant, the usual case of a move, nothing can clash and every reference is to the file.
	n, err := tx.Count(directory.ListQuery{})
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if err := c.checkTenant(tx); err != nil {
			return nil, err
		}
	}
	c.checkManagers()
	existing, err := c.existingSponsors(tx)
	if err != nil {
		return nil, err
	}
	c.checkSponsors(existing)
	slices.SortFunc(c.errs, func(a, b problem) int { return a.Line - b.Line })
	return c, nil
}

func (c *checked) fail(i int, dependent bool, format string, args ...any) {
	c.bad[i] = true
	c.errs = append(c.errs, problem{LineError{c.f.objects[i].line, fmt.Sprintf(format, args...)}, dependent})
}

// checkTenant refuses objects whose id or userPrincipalName the tenant has, and looks up the tenant's
// objects the file refers to.
func (c *checked) checkTenant(tx directory.Tx) error {
	ids := make([]string, 0, len(c.f.objects))
	for i, o := range c.f.objects {
		if !c.bad[i] {
			ids = append(ids, o.id)
		}
	}
	taken, err := lookup(tx, ids)
	if err != nil {
		return err
	}
	for i, o := range c.f.objects {
		if c.bad[i] {
			continue
		}
		if _, ok := taken[o.id]; ok {
			c.fail(i, false, "id %q: %s", o.id, directory.DuplicateValue("id").Message)
			continue
		}
		if o.kind != directory.KindUser {
			continue
		}
		_, err := tx.GetByUPN(o.upn)
		switch {
		case err == nil:
			c.fail(i, false, "userPrincipalName %q: %s", o.upn, directory.DuplicateValue("userPrincipalName").Message)
		case !errors.Is(err, directory.ErrNotFound):
			return err
		}
	}
	var refs []string
	seen := map[string]bool{}
	ref := func(id string) {
		if _, inFile := c.f.index[id]; !inFile && !seen[id] {
			seen[id] = true
			refs = append(refs, id)
		}
	}
	for i, o := range c.f.objects {
		if !c.bad[i] && o.manager != "" {
			ref(o.manager)
		}
	}
	for _, s := range c.f.sponsors {
		ref(s.user)
		ref(s.sponsor)
	}
	c.external, err = lookup(tx, refs)
	return err
}

// lookup returns the kinds of those of ids that exist in the tenant.
func lookup(tx directory.Tx, ids []string) (map[string]directory.Kind, error) {
	found := map[string]directory.Kind{}
	for batch := range slices.Chunk(ids, lookupBatch) {
		os, err := tx.GetMany(batch)
		if err != nil {
			return nil, err
		}
		for _, o := range os {
			found[o.ID] = o.Kind
		}
	}
	return found, nil
}

// target resolves an id an import line refers to: the object of the file or tenant with that id and its kind.
// With inFile, i is the file object, which may be bad.
func (c *checked) target(id string) (kind directory.Kind, i int, inFile, exists bool) {
	if i, ok := c.f.index[id]; ok {
		return c.f.objects[i].kind, i, true, true
	}
	kind, ok := c.external[id]
	return kind, 0, false, ok
}

// checkManagers marks the objects whose manager is missing, of the wrong kind, skipped, or on a cycle. Each
// chain is climbed once, without recursion (a chain may be a million long): climb until an object already
// decided, the tenant or the top, then decide on the way back down, so every object's manager is decided
// before the object. Meeting an object of the current climb again is a cycle. Tenant objects end a climb:
// they cannot lead back into the file, whose objects are all new to the tenant.
func (c *checked) checkManagers() {
	const (
		undecided = iota
		climbing
		decided
	)
	state := make([]uint8, len(c.f.objects))
	at := make([]int, len(c.f.objects)) // position in path while climbing
	var path []int
	for start := range c.f.objects {
		if state[start] != undecided {
			continue
		}
		path = path[:0]
		cycleAt := -1
		for i := start; ; {
			state[i], at[i] = climbing, len(path)
			path = append(path, i)
			next, ok := c.f.index[c.f.objects[i].manager]
			if c.bad[i] || !ok || state[next] == decided {
				break
			}
			if state[next] == climbing {
				cycleAt = at[next]
				break
			}
			i = next
		}
		down := len(path)
		if cycleAt >= 0 {
			c.failCycle(path[cycleAt:])
			down = cycleAt
		}
		for k := down - 1; k >= 0; k-- {
			c.checkManager(path[k])
		}
		for _, i := range path {
			state[i] = decided
		}
	}
}

// checkManager decides object i once its manager is decided.
func (c *checked) checkManager(i int) {
	o := c.f.objects[i]
	if c.bad[i] || o.manager == "" {
		return
	}
	kind, m, inFile, exists := c.target(o.manager)
	switch {
	case !exists:
		c.fail(i, false, "manager %q does not exist", o.manager)
	case inFile && c.bad[m]:
		c.fail(i, true, "manager %q is skipped (line %d)", o.manager, c.f.objects[m].line)
	case kind != directory.KindUser && kind != directory.KindOrgContact:
		c.fail(i, false, "manager %q is %s; a manager is a user or an orgContact", o.manager, article(kind))
	}
}

// failCycle marks the objects of a management cycle, each naming the lines of the whole cycle.
func (c *checked) failCycle(cycle []int) {
	lines := make([]string, 0, min(len(cycle), 10))
	for _, i := range cycle[:min(len(cycle), 10)] {
		lines = append(lines, strconv.Itoa(c.f.objects[i].line))
	}
	if len(cycle) > 10 {
		lines = append(lines, fmt.Sprintf("… %d lines in all", len(cycle)))
	}
	for _, i := range cycle {
		c.fail(i, false, "manager %q makes a cycle in the management chain (lines %s)", c.f.objects[i].manager, strings.Join(lines, ", "))
	}
}

// existingSponsors returns the sponsors the tenant's users named by sponsor lines already have, which count
// towards their limit.
func (c *checked) existingSponsors(tx directory.Tx) (map[string][]string, error) {
	out := map[string][]string{}
	for _, s := range c.f.sponsors {
		if _, done := out[s.user]; done || c.external[s.user] != directory.KindUser {
			continue
		}
		sponsors, err := tx.Sponsors(s.user)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(sponsors))
		for k, o := range sponsors {
			ids[k] = o.ID
		}
		out[s.user] = ids
	}
	return out, nil
}

// checkSponsors picks the sponsor lines to write, in line order, so the first directory.MaxSponsors of a
// user are kept.
func (c *checked) checkSponsors(existing map[string][]string) {
	type pair struct{ user, sponsor string }
	have := map[pair]int{} // → the line that added it, 0 for the tenant
	count := map[string]int{}
	for user, ids := range existing {
		count[user] = len(ids)
		for _, id := range ids {
			have[pair{user, id}] = 0
		}
	}
	for _, s := range c.f.sponsors {
		bad := func(dependent bool, format string, args ...any) {
			c.errs = append(c.errs, problem{LineError{s.line, fmt.Sprintf(format, args...)}, dependent})
		}
		uk, ui, uInFile, uOK := c.target(s.user)
		sk, si, sInFile, sOK := c.target(s.sponsor)
		switch {
		case !uOK:
			bad(false, "user %q does not exist", s.user)
		case uInFile && c.bad[ui]:
			bad(true, "user %q is skipped (line %d)", s.user, c.f.objects[ui].line)
		case uk != directory.KindUser:
			bad(false, "%q is %s; only users have sponsors", s.user, article(uk))
		case !sOK:
			bad(false, "sponsor %q does not exist", s.sponsor)
		case sInFile && c.bad[si]:
			bad(true, "sponsor %q is skipped (line %d)", s.sponsor, c.f.objects[si].line)
		case sk != directory.KindUser && sk != directory.KindGroup:
			bad(false, "sponsor %q is %s; a sponsor is a user or a group", s.sponsor, article(sk))
		case s.user == s.sponsor:
			bad(false, "a user cannot be their own sponsor")
		default:
			p := pair{s.user, s.sponsor}
			if line, dup := have[p]; dup && line > 0 {
				bad(false, "sponsor %q of %q is on line %d too", s.sponsor, s.user, line)
			} else if dup {
				bad(false, "sponsor %q of %q: %s", s.sponsor, s.user, directory.DuplicateReference("sponsors").Message)
			} else if count[s.user] >= directory.MaxSponsors {
				bad(false, "user %q would have more than %d sponsors", s.user, directory.MaxSponsors)
			} else {
				have[p] = s.line
				count[s.user]++
				c.sponsors = append(c.sponsors, s)
			}
		}
	}
}

// article names a kind with its article, for messages.
func article(k directory.Kind) string {
	if k == directory.KindOrgContact {
		return "an orgContact"
	}
	return "a " + string(k)
}

// failure is the error of an import without SkipBad: the first line that is bad in itself, since fixing
// it may well fix the lines that depend on it.
func (c *checked) failure() error {
	first := c.errs[0]
	for _, p := range c.errs {
		if !p.dependent {
			first = p
			break
		}
	}
	switch len(c.errs) {
	case 1:
		return first.LineError
	case 2:
		return fmt.Errorf("%w (and 1 more bad line)", first.LineError)
	}
	return fmt.Errorf("%w (and %d more bad lines)", first.LineError, len(c.errs)-1)
}

// write stores the good objects, then their managers (which may come later in the file), then the sponsors.
// Objects are written in id order, the order of the backends' primary keys: each write then lands next to
// the previous one instead of on a random page, which makes a large import several times faster. A backend
// that offers store.BulkInserter gets everything in one call.
func (c *checked) write(ctx context.Context, tx directory.Tx, progress func(int)) (Summary, error) {
	good := make([]*object, 0, len(c.f.objects))
	for i := range c.f.objects {
		if !c.bad[i] {
			good = append(good, c.f.objects[i])
		}
	}
	slices.SortFunc(good, func(a, b *object) int { return strings.Compare(a.id, b.id) })
	var sum Summary
	for _, o := range good {
		sum.countObject(o.kind)
		if o.manager != "" {
			sum.Managers++
		}
	}
	sum.Sponsors = len(c.sponsors)
	var err error
	if bulk, ok := tx.(store.BulkInserter); ok {
		err = c.writeBulk(bulk, good, sum.Managers, progress)
	} else {
		err = c.writeEach(ctx, tx, good, progress)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return Summary{}, err
	}
	if progress != nil {
		progress(len(good) + sum.Managers + sum.Sponsors)
	}
	for _, p := range c.errs {
		sum.Skipped = append(sum.Skipped, p.LineError)
	}
	return sum, nil
}

// writeBulk writes good (in id order), their managers and the sponsors in one call. Progress counts the
// managers, which are written with their objects, once all objects are in.
func (c *checked) writeBulk(bulk store.BulkInserter, good []*object, managers int, progress func(int)) error {
	rows := make([]store.BulkObject, len(good))
	for k, o := range good {
		rows[k] = o.row
	}
	sponsors := make([]store.BulkSponsor, len(c.sponsors))
	for k, s := range c.sponsors {
		sponsors[k] = store.BulkSponsor{UserID: s.user, SponsorID: s.sponsor}
	}
	var report func(int)
	if progress != nil {
		report = func(n int) {
			if n >= len(rows) {
				n += managers
			}
			progress(n)
		}
	}
	err := bulk.InsertBulk(rows, sponsors, report)
	if oe := (*store.ObjectError)(nil); errors.As(err, &oe) {
		if i, ok := c.f.index[oe.ID]; ok {
			return fmt.Errorf("line %d: %w", c.f.objects[i].line, oe.Err)
		}
	}
	return err
}

// writeEach writes good (in id order) one object at a time, then the managers, then the sponsors.
func (c *checked) writeEach(ctx context.Context, tx directory.Tx, good []*object, progress func(int)) error {
	written := 0
	step := func() error {
		written++
		if progress != nil && written%progressEvery == 0 {
			progress(written)
		}
		return ctx.Err()
	}
	for _, o := range good {
		// The properties as read, back from their encoding: JSON gives the same values again.
		var props map[string]any
		if err := json.Unmarshal([]byte(o.row.Props()), &props); err != nil {
			return fmt.Errorf("line %d: %w", o.line, err)
		}
		if err := tx.Insert(&directory.Object{ID: o.id, Kind: o.kind, Props: props}); err != nil {
			return fmt.Errorf("line %d: %w", o.line, err)
		}
		if err := step(); err != nil {
			return err
		}
	}
	for _, o := range good {
		if o.manager == "" {
			continue
		}
		if err := tx.SetManager(o.id, o.manager); err != nil {
			return fmt.Errorf("line %d: %w", o.line, err)
		}
		if err := step(); err != nil {
			return err
		}
	}
	for _, s := range c.sponsors {
		if err := tx.AddSponsor(s.user, s.sponsor); err != nil {
			return fmt.Errorf("line %d: %w", s.line, err)
		}
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
