package directory

import (
	"fmt"
	"slices"
	"strings"
)

// CheckInvariants reads the whole directory tx sees and describes, one sentence each, every way it breaks the
// rules the Service keeps; it returns nothing when the directory is whole. The rules: the managers form no
// cycle; a manager exists and is a user or an org contact, and only users and org contacts have one;
// ChainIDs agrees with following ManagerID; DirectReports and CountDirectReports are exactly the inverse of
// ManagerID; a user has at most MaxSponsors sponsors, each an existing user or group other than the user,
// listed once; no other kind has sponsors. A read that fails is reported as a problem too, since the
// directory could then not be checked. Run it in a View, so that it sees one snapshot; it makes a few
// reads per object, which suits a test or an operator's check, not a request path.
func CheckInvariants(tx Tx) []string {
	c := &checker{tx: tx}
	c.run()
	return c.problems
}

type checker struct {
	tx       Tx
	byID     map[string]*Object
	reports  map[string][]string // manager id → the ids of its reports, in id order
	problems []string
}

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) run() {
	all, err := c.tx.List(ListQuery{})
	if err != nil {
		c.addf("list the objects: %v", err)
		return
	}
	c.byID = make(map[string]*Object, len(all))
	c.reports = map[string][]string{}
	for _, o := range all {
		c.byID[o.ID] = o
		if o.ManagerID != "" {
			c.reports[o.ManagerID] = append(c.reports[o.ManagerID], o.ID)
		}
	}
	onCycle := c.checkCycles(all)
	for _, o := range all {
		c.checkManager(o, onCycle[o.ID])
		c.checkReports(o)
		c.checkSponsors(o)
	}
	var missing []string
	for id := range c.reports {
		if c.byID[id] == nil {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		c.addf("%s: manager of %v, does not exist", id, c.reports[id])
	}
}

// checkCycles reports each manager cycle once and returns the objects whose chain runs into one. Each chain
// is climbed once, so the cost is linear however long the chains are.
func (c *checker) checkCycles(all []*Object) map[string]bool {
	const (
		unseen = iota
		climbing
		done
	)
	state := make(map[string]int, len(all))
	intoCycle := map[string]bool{}
	for _, start := range all {
		var path []string
		cycle := false
		id := start.ID
		for id != "" && c.byID[id] != nil && state[id] == unseen {
			state[id] = climbing
			path = append(path, id)
			id = c.byID[id].ManagerID
		}
		switch {
		case id != "" && state[id] == climbing:
			// The climb met itself: the cycle is the part of the path from id on.
			at := slices.Index(path, id)
			c.addf("manager cycle: %s → %s", strings.Join(path[at:], " → "), id)
			cycle = true
		case id != "" && state[id] == done:
			cycle = intoCycle[id]
		}
		for _, p := range path {
			state[p] = done
			intoCycle[p] = cycle
		}
	}
	return intoCycle
}

// checkManager checks o's manager reference, and for objects at the bottom of a chain (no reports) that the
// store's ChainIDs walks exactly the chain ManagerID gives: every chain is a suffix of such a bottom chain,
// so each manager link is compared once without walking every chain from every object.
func (c *checker) checkManager(o *Object, intoCycle bool) {
	if o.ManagerID == "" {
		return
	}
	if o.Kind != KindUser && o.Kind != KindOrgContact {
		c.addf("%s: %s has manager %s; only users and org contacts have one", o.ID, withArticle(o.Kind), o.ManagerID)
	}
	m := c.byID[o.ManagerID]
	switch {
	case m == nil:
		return // reported once per missing manager, with all its reports
	case m.Kind != KindUser && m.Kind != KindOrgContact:
		c.addf("%s: manager %s is %s", o.ID, m.ID, withArticle(m.Kind))
	}
	if intoCycle || len(c.reports[o.ID]) > 0 {
		return
	}
	var walk []string
	for id := o.ManagerID; id != "" && c.byID[id] != nil; id = c.byID[id].ManagerID {
		walk = append(walk, id)
	}
	chain, err := c.tx.ChainIDs(o.ID, 0)
	switch {
	case err != nil:
		c.addf("%s: ChainIDs: %v", o.ID, err)
	case !slices.Equal(chain, walk):
		c.addf("%s: ChainIDs = %v, but the managers are %v", o.ID, chain, walk)
	}
}

// checkReports compares DirectReports and CountDirectReports of o with the objects whose manager o is.
func (c *checker) checkReports(o *Object) {
	want := c.reports[o.ID] // in List order, which is id order, as DirectReports' default
	got, err := c.tx.DirectReports(o.ID, ListQuery{})
	if err != nil {
		c.addf("%s: DirectReports: %v", o.ID, err)
		return
	}
	if ids := idsOf(got); !slices.Equal(ids, want) {
		c.addf("%s: DirectReports = %v, but the objects it manages are %v", o.ID, ids, want)
	}
	if n, err := c.tx.CountDirectReports(o.ID, ListQuery{}); err != nil {
		c.addf("%s: CountDirectReports: %v", o.ID, err)
	} else if n != len(want) {
		c.addf("%s: CountDirectReports = %d, but it manages %d objects", o.ID, n, len(want))
	}
}

func (c *checker) checkSponsors(o *Object) {
	sponsors, err := c.tx.Sponsors(o.ID)
	if err != nil {
		c.addf("%s: Sponsors: %v", o.ID, err)
		return
	}
	if o.Kind != KindUser {
		if len(sponsors) > 0 {
			c.addf("%s: %s has sponsors %v; only users have them", o.ID, withArticle(o.Kind), idsOf(sponsors))
		}
		return
	}
	if len(sponsors) > MaxSponsors {
		c.addf("%s: %d sponsors, more than %d", o.ID, len(sponsors), MaxSponsors)
	}
	seen := map[string]bool{}
	for _, sp := range sponsors {
		switch {
		case seen[sp.ID]:
			c.addf("%s: sponsor %s listed twice", o.ID, sp.ID)
		case c.byID[sp.ID] == nil:
			c.addf("%s: sponsor %s does not exist", o.ID, sp.ID)
		case sp.Kind != KindUser && sp.Kind != KindGroup:
			c.addf("%s: sponsor %s is %s", o.ID, sp.ID, withArticle(sp.Kind))
		case sp.ID == o.ID:
			c.addf("%s: sponsors itself", o.ID)
		}
		seen[sp.ID] = true
	}
}

// withArticle names a kind with its article, for messages.
func withArticle(k Kind) string {
	if k == KindOrgContact {
		return "an orgContact"
	}
	return "a " + string(k)
}

func idsOf(objects []*Object) []string {
	ids := make([]string, len(objects))
	for i, o := range objects {
		ids[i] = o.ID
	}
	return ids
}
