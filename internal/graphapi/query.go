package graphapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/odata"
)

// Page sizes as Graph has them for directory collections.
const (
	defaultPageSize = 100
	maxPageSize     = 999
	// maxExpandedItems is how many related objects an $expand of a collection-valued navigation returns.
	maxExpandedItems = 20
)

// selection validates $select against the kinds that can appear in the response and returns the names in
// their schema spelling; nil means "the default properties".
func selection(sel []string, kinds ...directory.Kind) ([]string, error) {
	if sel == nil {
		return nil, nil
	}
	out := make([]string, 0, len(sel)+1)
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, name := range sel {
		if name == "*" {
			add("id")
			for _, k := range kinds {
				for _, p := range directory.SchemaOf(k).Properties {
					if !p.WriteOnly {
						add(p.Name)
					}
				}
			}
			continue
		}
		if strings.EqualFold(name, "id") {
			add("id")
			continue
		}
		found := false
		for _, k := range kinds {
			if p, ok := directory.SchemaOf(k).Property(name); ok && !p.WriteOnly {
				add(p.Name)
				found = true
				break
			}
		}
		if !found {
			return nil, badRequest("Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, kinds[0])
		}
	}
	return out, nil
}

// rejectAdvanced refuses the options orgraph does not evaluate yet, rather than ignoring them and
// returning results the client did not ask for.
func (c *call) rejectUnsupported() error {
	q := c.query
	switch {
	case q.Filter != nil:
		return unsupportedQuery("$filter is not supported on this resource.")
	case q.Search != nil:
		return unsupportedQuery("$search is not supported on this resource.")
	case len(q.OrderBy) > 0:
		return unsupportedQuery("$orderby is not supported on this resource.")
	case q.HasSkip:
		return unsupportedQuery("$skip is not supported on this resource.")
	}
	return nil
}

// pageSize is $top, checked against Graph's range, or the default page size.
func (c *call) pageSize() (int, error) {
	if !c.query.HasTop {
		return defaultPageSize, nil
	}
	if c.query.Top < 1 || c.query.Top > maxPageSize {
		return 0, badRequest("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", c.query.Top, maxPageSize)
	}
	return c.query.Top, nil
}

// cursor is what a $skiptoken carries: where the next page starts, and a fingerprint of the query and
// tenant it belongs to, so a token cannot be replayed against another query or tenant.
type cursor struct {
	After string `json:"a"`
	Query string `json:"q"`
}

// queryWithout returns the raw query minus $skiptoken, keeping the client's order and encoding.
func queryWithout(raw string) string {
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && strings.EqualFold(strings.TrimPrefix(uk, "$"), "skiptoken") {
			continue
		}
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}

func (c *call) fingerprint(path, rawQuery string) string {
	h := sha256.Sum256([]byte(c.tenant + "\x00" + path + "\x00" + queryWithout(rawQuery)))
	return hex.EncodeToString(h[:8])
}

// after decodes $skiptoken into the id the page starts after ("" for the first page).
func (c *call) after(path, rawQuery string) (string, error) {
	if c.query.SkipToken == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c.query.SkipToken)
	var cur cursor
	if err != nil || json.Unmarshal(b, &cur) != nil || cur.Query != c.fingerprint(path, rawQuery) || cur.After == "" {
		return "", badRequest("Invalid $skiptoken value.")
	}
	return cur.After, nil
}

// nextLink is the absolute URL of the page after lastID.
func (c *call) nextLink(path, rawQuery, lastID string) string {
	b, _ := json.Marshal(cursor{After: lastID, Query: c.fingerprint(path, rawQuery)})
	q := queryWithout(rawQuery)
	if q != "" {
		q += "&"
	}
	return c.base + path + "?" + q + "$skiptoken=" + base64.RawURLEncoding.EncodeToString(b)
}

// expansion is a validated $expand.
type expansion struct {
	nav    string // "manager", "directReports" or "sponsors"
	levels int    // manager only: how many managers to nest; 0 means the whole chain
	sel    []string
}

// navTargets lists, for each navigation property, the kinds of object it can lead to.
var navTargets = map[string][]directory.Kind{
	"manager":       {directory.KindUser, directory.KindOrgContact},
	"directReports": {directory.KindUser, directory.KindOrgContact},
	"sponsors":      {directory.KindUser, directory.KindGroup},
}

// expansion validates $expand for a resource of kind; single is true for one entity (/users/{id}, /me),
// the only place Graph allows $levels.
func (c *call) expansion(kind directory.Kind, single bool) (*expansion, error) {
	exp := c.query.Expand
	if len(exp) == 0 {
		return nil, nil
	}
	if len(exp) > 1 {
		return nil, unsupportedQuery("Only one navigation property can be expanded at a time.")
	}
	e := exp[0]
	var nav string
	for n := range navTargets {
		if strings.EqualFold(e.Property, n) && (kind == directory.KindUser || (kind == directory.KindOrgContact && n != "sponsors")) {
			nav = n
		}
	}
	if nav == "" {
		return nil, badRequest("Could not find a navigation property named '%s' on type 'microsoft.graph.%s'.", e.Property, kind)
	}
	if e.Filter != nil || len(e.OrderBy) > 0 || e.HasTop || e.HasCount || len(e.Expand) > 0 {
		return nil, unsupportedQuery("Only $select and $levels are supported inside $expand.")
	}
	sel, err := selection(e.Select, navTargets[nav]...)
	if err != nil {
		return nil, err
	}
	x := &expansion{nav: nav, levels: 1, sel: sel}
	if !e.HasLevels {
		return x, nil
	}
	switch {
	case nav != "manager":
		return nil, unsupportedQuery("$levels is only supported when expanding manager.")
	case !single:
		return nil, unsupportedQuery("Transitive manager's list is only supported on a single user, send the $expand request on /users/{id} endpoint")
	case e.Levels == odata.LevelsMax:
		x.levels = 0
	case e.Levels < 1 || e.Levels > directory.MaxLevels:
		return nil, badRequest("Invalid $levels value '%d'. It must be 'max' or a number from 1 to %d.", e.Levels, directory.MaxLevels)
	default:
		x.levels = e.Levels
	}
	if !c.eventual && !c.lenient {
		return nil, badRequest("$levels in $expand requires the ConsistencyLevel header set to eventual.")
	}
	return x, nil
}
