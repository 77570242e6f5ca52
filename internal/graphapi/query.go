package graphapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
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

// rejectUnsupported refuses the options a request for one object (or for sponsors) does not evaluate,
// rather than ignoring them and returning results the client did not ask for.
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

// errSearchNeedsEventual is Graph's answer to $search without ConsistencyLevel: eventual.
var errSearchNeedsEventual = unsupportedQuery("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")

// listQuery validates $filter, $search and $orderby against kinds and Graph's rules for advanced queries,
// decodes $skiptoken, and returns the store query for a page of top objects and one more (to know whether
// there is a next page). For a /$count segment (top 0) there is no page: the segment is an advanced query
// on its own, given ConsistencyLevel: eventual, which the caller has checked.
func (c *call) listQuery(r *http.Request, kinds []directory.Kind, top int) (directory.ListQuery, error) {
	q := directory.ListQuery{Kinds: kinds}
	o := c.query
	if top > 0 {
		tok, err := c.skipToken(r)
		if err != nil {
			return q, err
		}
		// The SDKs' page iterators send no ConsistencyLevel header with the next page's request; the
		// token says the listing had it.
		q.After, c.eventual = tok.After, c.eventual || tok.Eventual
	}
	if o.HasSkip {
		return q, unsupportedQuery("$skip is not supported on this resource.")
	}
	if o.Search != nil && !c.eventual {
		return q, errSearchNeedsEventual
	}
	advanced := c.eventual && (o.Count || top == 0)
	var err error
	if o.Filter != nil {
		if q.Filter, err = directory.ParseFilter(o.Filter, kinds, advanced); err != nil {
			return q, err
		}
	}
	if o.Search != nil {
		if q.Search, err = directory.ParseSearch(o.Search, kinds); err != nil {
			return q, err
		}
	}
	if q.Order, err = directory.ParseOrder(o.OrderBy, kinds, advanced, q.Filter); err != nil {
		return q, err
	}
	if top > 0 {
		q.Limit = top + 1
	}
	return q, nil
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

// skipToken is what a $skiptoken carries: where the next page starts, whether the listing was asked for
// with ConsistencyLevel: eventual, and a fingerprint of the query and tenant it belongs to, so a token
// cannot be replayed against another query or tenant.
type skipToken struct {
	After    directory.Cursor `json:"a"`
	Eventual bool             `json:"e,omitempty"`
	Query    string           `json:"q"`
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

// fingerprint identifies the listing a $skiptoken belongs to: tenant, path, and query without $skiptoken.
func (c *call) fingerprint(r *http.Request) string {
	h := sha256.Sum256([]byte(c.tenant + "\x00" + c.path + "\x00" + queryWithout(r.URL.RawQuery)))
	return hex.EncodeToString(h[:8])
}

// skipToken decodes $skiptoken; without one, the listing starts at the beginning.
func (c *call) skipToken(r *http.Request) (skipToken, error) {
	var tok skipToken
	if c.query.SkipToken == "" {
		return tok, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c.query.SkipToken)
	if err != nil || json.Unmarshal(b, &tok) != nil || tok.Query != c.fingerprint(r) || tok.After.IsZero() {
		return skipToken{}, badRequest("Invalid $skiptoken value.")
	}
	return tok, nil
}

// nextLink is the absolute URL of the page after the cursor.
func (c *call) nextLink(r *http.Request, after directory.Cursor) string {
	b, _ := json.Marshal(skipToken{After: after, Eventual: c.eventual, Query: c.fingerprint(r)})
	q := queryWithout(r.URL.RawQuery)
	if q != "" {
		q += "&"
	}
	return c.base + c.path + "?" + q + "$skiptoken=" + base64.RawURLEncoding.EncodeToString(b)
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
