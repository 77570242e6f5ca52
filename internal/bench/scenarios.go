package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

// Scenario is one named workload of `orgraph bench`.
type Scenario struct {
	Name string
	// Write marks workloads that change the directory.
	Write bool
	// Prepare, when set, runs once before the load: it gathers what the workload needs from the server and
	// checks that the server answers as the workload expects. An error is worth reporting, but the workload
	// still runs (and counts its failures).
	Prepare func(ctx context.Context, c *Client) error
	Op      Op
}

// graphRoot is the service root @odata.id values name, as Graph's documentation writes them.
const graphRoot = "https://graph.microsoft.com/v1.0"

var eventual = Header{"ConsistencyLevel", "eventual"}

// chainQuery expands the whole management chain of a user.
const chainQuery = "?$expand=manager($levels=max)"

// Scenarios returns the workloads of `orgraph bench` over o, reads first, in the order they are run.
func Scenarios(o *Org) []Scenario {
	withManager := func(w *Worker) int {
		for {
			if i := w.Rand.IntN(o.guestStart); o.parent[i] >= 0 {
				return i
			}
		}
	}
	anyUser := func(w *Worker) int { return w.Rand.IntN(o.cfg.Users) }
	pick := func(w *Worker, list []int32) int { return int(list[w.Rand.IntN(len(list))]) }
	filter := &filterPages{org: o}

	reads := []Scenario{
		{Name: "get_user", Op: func(w *Worker) { w.Get("/users/" + o.ID(anyUser(w))) }},
		{Name: "get_user_by_upn", Op: func(w *Worker) { w.Get("/users/" + url.PathEscape(o.UPN(anyUser(w)))) }},
		{Name: "get_manager", Op: func(w *Worker) { w.Get("/users/" + o.ID(withManager(w)) + "/manager") }},
		{Name: "get_manager_ref", Op: func(w *Worker) { w.Get("/users/" + o.ID(withManager(w)) + "/manager/$ref") }},
		{
			Name:    "direct_reports_8",
			Prepare: expectReports(o.ID(int(o.Managers8[0])), o.Reports(int(o.Managers8[0])), false),
			Op:      func(w *Worker) { w.Get("/users/" + o.ID(pick(w, o.Managers8)) + "/directReports") },
		},
		{
			Name:    "direct_reports_1000",
			Prepare: expectReports(o.ID(o.Big), 100, true),
			Op:      func(w *Worker) { w.Get("/users/" + o.ID(o.Big) + "/directReports") },
		},
		{
			Name:    "chain_depth_6",
			Prepare: expectChain(o.ID(int(o.Deep[0])), o.DeepLevel),
			Op:      func(w *Worker) { w.Get("/users/"+o.ID(pick(w, o.Deep))+chainQuery, eventual) },
		},
		{
			Name:    "chain_depth_1000",
			Prepare: expectChain(o.ID(o.ChainBottom), o.Depth(o.ChainBottom)),
			Op:      func(w *Worker) { w.Get("/users/"+o.ID(o.ChainBottom)+chainQuery, eventual) },
		},
		{Name: "filter_page", Prepare: filter.check, Op: func(w *Worker) { w.Get(filter.first(w)) }},
		{Name: "filter_next_page", Prepare: filter.collect, Op: filter.next},
	}
	writes := []Scenario{
		{Name: "put_manager", Write: true, Op: func(w *Worker) { o.moveLeaf(w) }},
		{Name: "sponsors_add_remove", Write: true, Op: func(w *Worker) { o.addRemoveSponsor(w) }},
	}
	mixed := Scenario{Name: "mixed_90_10", Write: true, Op: func(w *Worker) {
		if w.Rand.IntN(10) == 0 {
			writes[w.Rand.IntN(len(writes))].Op(w)
			return
		}
		reads[w.Rand.IntN(len(reads))].Op(w)
	}}
	return append(append(reads, writes...), mixed)
}

// moveLeaf moves a leaf of the tree under a manager at a shallower depth. Leaves never get reports (only
// the managers of the tree are targets), so no move can close a cycle, whatever the order of the moves.
func (o *Org) moveLeaf(w *Worker) {
	leaf := int(o.Movable[w.Rand.IntN(len(o.Movable))])
	n := o.targetsBelow[o.depth[leaf]]
	if n == 0 {
		n = len(o.Targets)
	}
	target := int(o.Targets[w.Rand.IntN(n)])
	w.Send(http.MethodPut, "/users/"+o.ID(leaf)+"/manager/$ref", refBody("/users/", o.ID(target)))
}

// addRemoveSponsor adds a user to a guest's sponsors and removes it again. Each worker has its own guests,
// so two workers never race on one guest's sponsors.
func (o *Org) addRemoveSponsor(w *Worker) {
	guests := o.SponsorGuests
	var g int
	if n := (len(guests) - w.ID + w.Concurrency - 1) / w.Concurrency; n > 0 {
		g = int(guests[w.ID+w.Concurrency*w.Rand.IntN(n)])
	} else {
		g = int(guests[w.Rand.IntN(len(guests))])
	}
	have := o.GuestSponsors(g)
	var s int32
	for {
		if s = int32(w.Rand.IntN(o.tree)); !contains(have, s) {
			break
		}
	}
	guest, sponsor := o.ID(g), o.ID(int(s))
	if st := w.Send(http.MethodPost, "/users/"+guest+"/sponsors/$ref", refBody("/directoryObjects/", sponsor)); st/100 == 2 {
		w.Send(http.MethodDelete, "/users/"+guest+"/sponsors/"+sponsor+"/$ref", nil)
	}
}

func refBody(set, id string) []byte {
	return []byte(`{"@odata.id":"` + graphRoot + set + id + `"}`)
}

// filterPages serves the filter scenarios: the first page of users whose displayName starts with a given
// name, and the pages after it, whose links the first pages hand out.
type filterPages struct {
	org   *Org
	mu    sync.Mutex
	links []string
}

func filterPath(given string) string {
	return "/users?$filter=" + url.QueryEscape("startswith(displayName,'"+given+"')") + "&$top=100"
}

func (f *filterPages) first(w *Worker) string {
	names := f.org.GivenNames()
	return filterPath(names[w.Rand.IntN(len(names))])
}

type page struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"@odata.nextLink"`
}

func fetchPage(ctx context.Context, c *Client, path string) (page, error) {
	var p page
	req, err := c.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return p, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, snippet(buf.Bytes()))
	}
	return p, json.Unmarshal(buf.Bytes(), &p)
}

func (f *filterPages) check(ctx context.Context, c *Client) error {
	p, err := fetchPage(ctx, c, filterPath(f.org.GivenNames()[0]))
	if err == nil && len(p.Value) == 0 {
		err = fmt.Errorf("the filter matched nobody")
	}
	return err
}

// collect gathers the next links of every given name's first page.
func (f *filterPages) collect(ctx context.Context, c *Client) error {
	var links []string
	var firstErr error
	for _, given := range f.org.GivenNames() {
		p, err := fetchPage(ctx, c, filterPath(given))
		if err != nil {
			firstErr = err
			break
		}
		if p.NextLink != "" {
			links = append(links, p.NextLink)
		}
	}
	f.mu.Lock()
	f.links = links
	f.mu.Unlock()
	if firstErr == nil && len(links) == 0 {
		firstErr = fmt.Errorf("no first page had an @odata.nextLink")
	}
	return firstErr
}

// next follows one of the collected links; without any (the server refused the filter), it asks for a first
// page, so that the refusals are counted rather than hidden.
func (f *filterPages) next(w *Worker) {
	f.mu.Lock()
	links := f.links
	f.mu.Unlock()
	if len(links) == 0 {
		w.Get(f.first(w))
		return
	}
	w.Get(links[w.Rand.IntN(len(links))])
}

// expectReports checks that a manager's first page of direct reports holds want of them, and a next link or not.
func expectReports(id string, want int, more bool) func(context.Context, *Client) error {
	return func(ctx context.Context, c *Client) error {
		p, err := fetchPage(ctx, c, "/users/"+id+"/directReports")
		switch {
		case err != nil:
			return err
		case len(p.Value) != want || (p.NextLink != "") != more:
			return fmt.Errorf("directReports of %s: %d on the first page, next link %v; want %d, %v", id, len(p.Value), p.NextLink != "", want, more)
		}
		return nil
	}
}

// expectChain checks that a user's expanded management chain is depth managers long.
func expectChain(id string, depth int) func(context.Context, *Client) error {
	return func(ctx context.Context, c *Client) error {
		req, err := c.NewRequest(ctx, http.MethodGet, "/users/"+id+chainQuery, nil, eventual)
		if err != nil {
			return err
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /users/%s%s: %d %s", id, chainQuery, resp.StatusCode, snippet(buf.Bytes()))
		}
		if n := bytes.Count(buf.Bytes(), []byte(`"manager":{`)); n != depth {
			return fmt.Errorf("the chain of %s has %d managers; want %d", id, n, depth)
		}
		return nil
	}
}

// BaselineOp is the baseline's workload: get_user's request, to a server that answers it from memory.
func BaselineOp(o *Org) Op {
	return func(w *Worker) { w.Get("/users/" + o.ID(w.Rand.IntN(o.cfg.Users))) }
}

// BaselineHandler is the bare net/http handler the figures are set against: it answers every request with
// body, one user's JSON held in memory, under the Content-Type orgraph sends.
func BaselineHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
		w.Write(body)
	})
}
