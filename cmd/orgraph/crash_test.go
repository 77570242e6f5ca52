package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
)

// TestCrashSQLite and TestCrashPostgres kill `orgraph serve` with SIGKILL at a random moment while 16 clients
// create users, assign and remove managers and add and remove sponsors, three times over, and check after
// each crash that every write the server acknowledged is there and that nothing is half there.
//
// What can be asserted, precisely: each client alone writes the relationships of its own users, one request
// at a time, so the acknowledged writes to one relationship (a user's manager; one user–sponsor pair) are
// ordered. After the crash such a relationship is as the last acknowledged write left it, unless a request on
// it was in flight when the server died (sent, no answer): then it may also be as that request would have
// left it, and nothing else. A refused write (4xx) changes nothing. A user whose creation was acknowledged
// exists with its properties; one whose creation was in flight exists whole or not at all; no other user
// exists. And the directory keeps its invariants: `orgraph check` passes.
func TestCrashSQLite(t *testing.T) {
	crashRounds(t, "--data", t.TempDir())
}

func TestCrashPostgres(t *testing.T) {
	crashRounds(t, "--db", pgtest.DSN(t))
}

const (
	crashClients = 16
	crashRoundsN = 3
)

// modelUser is what the acknowledged writes say about one user.
type modelUser struct {
	id, name string
	manager  string
	sponsors map[string]bool
}

// crashOp is a write, kept when it was in flight at the crash.
type crashOp struct {
	kind   string // "create", "manager", "unmanage", "sponsor", "unsponsor"
	user   string // the user written to (for create: its name)
	target string // manager or sponsor
}

// crashClient is one client's view: the users it owns and writes to, and what it sent.
type crashClient struct {
	owned    []*modelUser
	created  []*modelUser // acknowledged creations of this round
	inFlight *crashOp     // the request that got no answer, after which the client stopped
	acked    int
}

func crashRounds(t *testing.T, storage ...string) {
	srv := startServer(t, storage...)
	token := strings.TrimSpace(mustRun(t, append([]string{"token"}, storage...)...))
	api := newAPIClient(srv.base, token)
	clients := make([]*crashClient, crashClients)
	names := map[string]bool{} // every user name ever sent in a create
	for g := range clients {
		clients[g] = &crashClient{}
		for k := range 2 {
			name := fmt.Sprintf("seed-%02d-%d", g, k)
			names[name] = true
			u := &modelUser{id: api.createUser(t, name), name: name, sponsors: map[string]bool{}}
			clients[g].owned = append(clients[g].owned, u)
		}
	}
	for round := range crashRoundsN {
		if round > 0 {
			srv = startServer(t, storage...)
			api = newAPIClient(srv.base, token)
		}
		var known []string // every user's id at the start of the round: managers and sponsors to pick
		for _, c := range clients {
			for _, u := range c.owned {
				known = append(known, u.id)
			}
			c.created, c.inFlight, c.acked = nil, nil, 0
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex // guards names
			errs = make(chan error, crashClients)
		)
		for g, c := range clients {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				errs <- c.run(api, rng, known, func(name string) {
					mu.Lock()
					names[name] = true
					mu.Unlock()
				}, fmt.Sprintf("r%d-%02d", round, g))
			})
		}
		delay := 300*time.Millisecond + rand.N(900*time.Millisecond)
		time.Sleep(delay)
		srv.kill()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		acked, inFlight := 0, 0
		for _, c := range clients {
			acked += c.acked
			if c.inFlight != nil {
				inFlight++
			}
		}
		t.Logf("round %d: killed after %s; %d writes acknowledged, %d in flight", round, delay.Round(time.Millisecond), acked, inFlight)
		if acked == 0 {
			t.Errorf("round %d: no write was acknowledged before the kill", round)
		}
		mustCheck(t, storage...)
		verifyCrash(t, exportTenant(t, storage...), clients, names)
		if t.Failed() {
			return
		}
	}
}

// run sends random writes until a request gets no answer (the server is gone). It returns an error for an
// answer no write of this kind should get.
func (c *crashClient) run(api *apiClient, rng *rand.Rand, known []string, sent func(string), prefix string) error {
	ctx := context.Background()
	for i := 0; ; i++ {
		u := c.owned[rng.IntN(len(c.owned))]
		other := known[rng.IntN(len(known))]
		var op crashOp
		switch r := rng.IntN(100); {
		case r < 15:
			op = crashOp{kind: "create", user: fmt.Sprintf("%s-%d", prefix, i)}
		case r < 50:
			op = crashOp{kind: "manager", user: u.id, target: other}
		case r < 60:
			op = crashOp{kind: "unmanage", user: u.id}
		case r < 80:
			op = crashOp{kind: "sponsor", user: u.id, target: other}
		default:
			if len(u.sponsors) > 0 && rng.IntN(4) > 0 {
				other = slices.Sorted(maps.Keys(u.sponsors))[rng.IntN(len(u.sponsors))]
			}
			op = crashOp{kind: "unsponsor", user: u.id, target: other}
		}
		if op.target == u.id {
			continue // refused before the transaction; nothing to learn
		}
		var (
			status int
			body   []byte
			err    error
		)
		switch op.kind {
		case "create":
			sent(op.user)
			status, body, err = api.call(ctx, http.MethodPost, "/v1.0/users", newUser(op.user))
		case "manager":
			status, body, err = api.call(ctx, http.MethodPut, "/v1.0/users/"+u.id+"/manager/$ref", refBody(op.target))
		case "unmanage":
			status, body, err = api.call(ctx, http.MethodDelete, "/v1.0/users/"+u.id+"/manager/$ref", nil)
		case "sponsor":
			status, body, err = api.call(ctx, http.MethodPost, "/v1.0/users/"+u.id+"/sponsors/$ref", refBody(op.target))
		case "unsponsor":
			status, body, err = api.call(ctx, http.MethodDelete, "/v1.0/users/"+u.id+"/sponsors/"+op.target+"/$ref", nil)
		}
		if err != nil {
			c.inFlight = &op
			return nil
		}
		if status >= 300 {
			// Refusals that the random writes provoke: a cycle, a sixth or duplicate sponsor, nothing to remove.
			refused := status == http.StatusBadRequest && op.kind != "create" && op.kind != "unmanage" ||
				status == http.StatusNotFound && (op.kind == "unmanage" || op.kind == "unsponsor")
			if !refused {
				c.inFlight = &op // the outcome is unknown; stop as after a crash
				return fmt.Errorf("%s %s %s: %d %s", op.kind, op.user, op.target, status, body)
			}
			continue
		}
		c.acked++
		switch op.kind {
		case "create":
			var created struct{ ID string }
			if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
				return fmt.Errorf("create %s: %d %s", op.user, status, body)
			}
			c.created = append(c.created, &modelUser{id: created.ID, name: op.user, sponsors: map[string]bool{}})
		case "manager":
			u.manager = op.target
		case "unmanage":
			u.manager = ""
		case "sponsor":
			u.sponsors[op.target] = true
		case "unsponsor":
			delete(u.sponsors, op.target)
		}
	}
}

// verifyCrash compares the directory after a crash with the clients' acknowledged writes, then makes it the
// clients' model for the next round (an in-flight write is settled one way or the other by then).
func verifyCrash(t *testing.T, got *exported, clients []*crashClient, names map[string]bool) {
	t.Helper()
	for id, o := range got.objects {
		name, _ := o.Props["displayName"].(string)
		if o.Kind != "user" || !names[name] || o.Props["userPrincipalName"] != name+"@example.com" || o.Props["mailNickname"] != name || o.Props["accountEnabled"] != true {
			t.Errorf("object %s after the crash is no user any client created: %v", id, o)
		}
	}
	for g, c := range clients {
		for _, u := range c.created {
			if o, ok := got.objects[u.id]; !ok || o.Props["displayName"] != u.name {
				t.Errorf("client %d: user %s (%s) was acknowledged, and after the crash it is %v", g, u.name, u.id, o)
			}
		}
		c.owned = append(c.owned, c.created...)
		op := c.inFlight
		if op != nil && op.kind == "create" {
			if id, ok := got.byUPN[op.user+"@example.com"]; ok {
				c.owned = append(c.owned, &modelUser{id: id, name: op.user, sponsors: map[string]bool{}})
			}
		}
		for _, u := range c.owned {
			o, ok := got.objects[u.id]
			if !ok {
				t.Errorf("client %d: user %s (%s) is gone", g, u.name, u.id)
				continue
			}
			may := func(kind, target string) bool {
				return op != nil && op.kind == kind && op.user == u.id && op.target == target
			}
			if o.Manager != u.manager && !(may("manager", o.Manager) || may("unmanage", "") && o.Manager == "") {
				t.Errorf("client %d: manager of %s is %q after the crash; the last acknowledged write left %q (in flight: %v)", g, u.id, o.Manager, u.manager, op)
			}
			have := got.sponsors[u.id]
			for s := range merge(u.sponsors, have) {
				if have[s] != u.sponsors[s] && !may("sponsor", s) && !may("unsponsor", s) {
					t.Errorf("client %d: sponsor %s of %s is %v after the crash; the last acknowledged write left %v (in flight: %v)", g, s, u.id, have[s], u.sponsors[s], op)
				}
			}
			u.manager = o.Manager
			u.sponsors = maps.Clone(have)
			if u.sponsors == nil {
				u.sponsors = map[string]bool{}
			}
		}
	}
}

func merge(a, b map[string]bool) map[string]bool {
	m := maps.Clone(a)
	if m == nil {
		m = map[string]bool{}
	}
	maps.Copy(m, b)
	return m
}
