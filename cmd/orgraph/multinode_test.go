package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

// TestMultiNode runs two `orgraph serve --db` processes on one fresh PostgreSQL schema, as nodes behind a
// load balancer, and races manager assignments through both (cycle-closing ones included). The directory
// must come out whole: no cycle, directReports the inverse of manager on both nodes, every final manager one
// that a request was acknowledged for, no 5xx; and a write through one node is read at once through the other.
func TestMultiNode(t *testing.T) {
	dsn := pgtest.DSN(t)
	bin := orgraphBinary(t)
	// Started together, so that they race for the migrations and the bootstrap too.
	var nodes [2]*node
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i] = startNode(t, bin, dsn) })
	}
	wg.Wait()
	for i, n := range nodes {
		if n == nil {
			t.FailNow() // startNode reported why
		}
		t.Logf("node %c at %s", 'A'+i, n.base)
	}
	out, err := exec.Command(bin, "token", "--db", dsn).Output()
	if err != nil {
		t.Fatalf("orgraph token: %v", err)
	}
	c := &client{t: t, token: strings.TrimSpace(string(out)), http: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}}
	a, b := nodes[0].base, nodes[1].base

	users := make([]string, 30)
	for i := range users {
		users[i] = c.createUser(a, fmt.Sprintf("u%02d", i))
	}

	// The race: every goroutine alternates between the nodes; each 204 is recorded per user.
	var (
		mu     sync.Mutex
		acked  = map[string]map[string]bool{} // user → managers a 204 was returned for
		counts = map[int]int{}                // status → responses
	)
	deadline := time.Now().Add(3 * time.Second)
	for g := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := 0; time.Now().Before(deadline); i++ {
				u, m := users[rng.IntN(len(users))], users[rng.IntN(len(users))]
				status, body := c.setManager(nodes[(g+i)%2].base, u, m)
				mu.Lock()
				counts[status]++
				if status == http.StatusNoContent {
					if acked[u] == nil {
						acked[u] = map[string]bool{}
					}
					acked[u][m] = true
				}
				mu.Unlock()
				if status != http.StatusNoContent && status != http.StatusBadRequest {
					t.Errorf("PUT manager of %s to %s: %d %s", u, m, status, body)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("responses by status: %v", counts)
	if counts[http.StatusNoContent] == 0 || counts[http.StatusBadRequest] == 0 {
		t.Errorf("the race did not exercise both outcomes: %v", counts)
	}

	// (a) and (c): each chain, walked by the server, is free of cycles and follows the managers each node
	// reports; every final manager was acknowledged, and a user no 204 targeted has none.
	managers := map[string]string{}
	for _, u := range users {
		m := c.manager(a, u)
		if other := c.manager(b, u); other != m {
			t.Errorf("manager of %s: %q on node A, %q on node B", u, m, other)
		}
		managers[u] = m
		switch {
		case m == "" && len(acked[u]) > 0:
			t.Errorf("%s has no manager, but %d assignments were acknowledged", u, len(acked[u]))
		case m != "" && !acked[u][m]:
			t.Errorf("%s is managed by %s, which no acknowledged request set", u, m)
		}
	}
	for _, u := range users {
		var want []string
		for m := managers[u]; m != ""; m = managers[m] {
			if m == u || slices.Contains(want, m) {
				t.Fatalf("manager cycle through %s: %v", u, append(want, m))
			}
			want = append(want, m)
		}
		for _, base := range []string{a, b} {
			if got := c.chain(base, u); !slices.Equal(got, want) {
				t.Errorf("chain of %s from %s = %v, want %v", u, base, got, want)
			}
		}
	}
	// (b) directReports is the inverse of manager, through both nodes.
	reports := map[string][]string{}
	for _, u := range users {
		if m := managers[u]; m != "" {
			reports[m] = append(reports[m], u)
		}
	}
	for _, u := range users {
		want := slices.Sorted(slices.Values(reports[u]))
		for _, base := range []string{a, b} {
			if got := slices.Sorted(slices.Values(c.directReports(base, u))); !slices.Equal(got, want) {
				t.Errorf("directReports of %s from %s = %v, want %v", u, base, got, want)
			}
		}
	}
	// And the database itself, read by the store's own invariant check.
	checkDatabase(t, dsn)

	// Read-your-writes across nodes: a 204 from A is visible to the next read through B.
	x, y := c.createUser(a, "rw-x"), []string{c.createUser(a, "rw-y0"), c.createUser(a, "rw-y1")}
	for i := range 50 {
		m := y[i%2]
		if status, body := c.setManager(a, x, m); status != http.StatusNoContent {
			t.Fatalf("PUT manager through A: %d %s", status, body)
		}
		if got := c.manager(b, x); got != m {
			t.Fatalf("write %d: node B reads manager %q right after node A set %q", i, got, m)
		}
	}
}

// TestDBFlag checks how the commands choose their database: --db (or ORGRAPH_DB) is PostgreSQL, --data or
// --sync on the command line the embedded one, and both at once a mistake.
func TestDBFlag(t *testing.T) {
	run := func(args ...string) error {
		var out bytes.Buffer
		return (&Main{Stdout: &out, Stderr: &out}).Run(t.Context(), args)
	}
	if err := run("token", "--db", "postgres://nobody@127.0.0.1:1/none", "--data", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "leave them out with --db") {
		t.Errorf("--db with --data: %v", err)
	}
	// ORGRAPH_DB names a server where nothing listens, so any use of it fails.
	t.Setenv(envDB, "postgres://nobody@127.0.0.1:1/none?connect_timeout=5")
	if err := run("token"); err == nil || !strings.Contains(err.Error(), "open --db") {
		t.Errorf("token with ORGRAPH_DB set: %v, want it to open PostgreSQL", err)
	}
	data := t.TempDir()
	if err := run("token", "--data", data); err != nil {
		t.Errorf("token --data with ORGRAPH_DB set: %v, want the embedded database", err)
	}
	if _, err := os.Stat(filepath.Join(data, "orgraph.db")); err != nil {
		t.Errorf("token --data did not use the folder: %v", err)
	}
	t.Setenv(envDB, pgtest.DSN(t))
	if err := run("token"); err != nil {
		t.Errorf("token with ORGRAPH_DB: %v", err)
	}
}

// checkDatabase opens the schema as a store and runs the conformance suite's invariant check on the default tenant.
func checkDatabase(t *testing.T, dsn string) {
	t.Helper()
	ctx := t.Context()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant, err := st.Setting(ctx, store.SettingDefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, tenant, func(tx directory.Tx) error {
		storetest.CheckInvariants(t, tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// node is one `orgraph serve` process.
type node struct {
	base string
	logs *syncBuffer
}

var servingAt = regexp.MustCompile(`serving Microsoft Graph at (http://\S+)/v1\.0`)

// startNode starts `orgraph serve --db dsn` on a free port and waits until it prints where it listens. The
// process is interrupted, as SIGTERM would, when the test ends; the end of its log is shown if the test failed.
func startNode(t *testing.T, bin, dsn string) *node {
	cmd := exec.CommandContext(t.Context(), bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	n := &node{logs: &syncBuffer{}}
	cmd.Stderr = n.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Error(err)
		return nil
	}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return nil
	}
	t.Cleanup(func() {
		if err := cmd.Wait(); err != nil && t.Context().Err() == nil {
			t.Errorf("orgraph serve: %v", err)
		}
		if t.Failed() {
			log := n.logs.String()
			t.Logf("end of the log of the node at %s:\n%s", n.base, log[max(0, len(log)-4000):])
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingAt.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case base, ok := <-found:
		if !ok {
			t.Errorf("orgraph serve exited before listening: %s", n.logs.String())
			return nil
		}
		n.base = base
		return n
	case <-time.After(60 * time.Second):
		t.Errorf("orgraph serve did not start listening: %s", n.logs.String())
		return nil
	}
}

// client calls the Graph API of the nodes with one token, which every node accepts: the signing keys are in the database.
type client struct {
	t     *testing.T
	token string
	http  *http.Client
}

func (c *client) do(method, url string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, url, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("ConsistencyLevel", "eventual")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, url, err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, url, err)
	}
	if resp.StatusCode >= 500 {
		c.t.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, b
}

// get fetches a document into v, failing the test unless it is a 200.
func (c *client) get(url string, v any) {
	c.t.Helper()
	status, body := c.do(http.MethodGet, url, nil)
	if status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", url, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.t.Fatalf("GET %s: %v", url, err)
	}
}

func (c *client) createUser(base, name string) string {
	c.t.Helper()
	status, body := c.do(http.MethodPost, base+"/v1.0/users", map[string]any{
		"accountEnabled":    true,
		"displayName":       name,
		"mailNickname":      name,
		"userPrincipalName": name + "@example.com",
		"passwordProfile":   map[string]any{"password": "Secret-123"},
	})
	var u struct{ ID string }
	if status != http.StatusCreated || json.Unmarshal(body, &u) != nil || u.ID == "" {
		c.t.Fatalf("create user %s: %d %s", name, status, body)
	}
	return u.ID
}

func (c *client) setManager(base, user, manager string) (int, []byte) {
	return c.do(http.MethodPut, base+"/v1.0/users/"+user+"/manager/$ref",
		map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + manager})
}

// manager returns the id of the user's manager, "" when it has none (Graph's 404).
func (c *client) manager(base, user string) string {
	c.t.Helper()
	status, body := c.do(http.MethodGet, base+"/v1.0/users/"+user+"/manager?$select=id", nil)
	var m struct{ ID string }
	switch {
	case status == http.StatusNotFound:
		return ""
	case status != http.StatusOK || json.Unmarshal(body, &m) != nil:
		c.t.Fatalf("GET manager of %s: %d %s", user, status, body)
	}
	return m.ID
}

// chain returns the managers above user, nearest first, as $expand=manager($levels=max) nests them.
func (c *client) chain(base, user string) []string {
	c.t.Helper()
	var doc map[string]any
	c.get(base+"/v1.0/users/"+user+"?$select=id&$expand=manager($levels=max;$select=id)", &doc)
	var ids []string
	for m, ok := doc["manager"].(map[string]any); ok; m, ok = m["manager"].(map[string]any) {
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

func (c *client) directReports(base, user string) []string {
	c.t.Helper()
	var page struct {
		Value []struct{ ID string }
		Next  string `json:"@odata.nextLink"`
	}
	c.get(base+"/v1.0/users/"+user+"/directReports?$select=id", &page)
	if page.Next != "" {
		c.t.Fatalf("directReports of %s has more than one page", user)
	}
	var ids []string
	for _, r := range page.Value {
		ids = append(ids, r.ID)
	}
	return ids
}
