package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
)

// TestLoadInvariantsSQLite and TestLoadInvariantsPostgres run 64 clients against one server for about three
// seconds: random manager assignments among a few dozen users (so that some would close a cycle), deliberate
// cycle-closing ones (a user's manager made to report to the user), user
// deletions (each followed by a replacement), and sponsor additions and removals of users and groups. No
// request may fail with a 5xx or be throttled, cycle-closing assignments must have been refused, and
// afterwards `orgraph check` must find the directory whole.
func TestLoadInvariantsSQLite(t *testing.T) {
	loadInvariants(t, "--data", t.TempDir())
}

func TestLoadInvariantsPostgres(t *testing.T) {
	loadInvariants(t, "--db", pgtest.DSN(t))
}

const (
	loadClients  = 64
	loadUsers    = 40
	loadGroups   = 4
	loadDuration = 3 * time.Second
)

func loadInvariants(t *testing.T, storage ...string) {
	srv := startServer(t, storage...)
	token := strings.TrimSpace(mustRun(t, append([]string{"token"}, storage...)...))
	api := newAPIClient(srv.base, token)

	// pool holds the users under load; a deleted one's slot gets its replacement.
	var (
		mu     sync.Mutex
		pool   = make([]string, loadUsers)
		groups = make([]string, loadGroups)
		counts = map[string]int{} // "kind status" → answers
		cycles int
		added  [][2]string // user and sponsor of acknowledged additions, for removals to pick from
	)
	for i := range pool {
		pool[i] = api.createUser(t, fmt.Sprintf("load-%02d", i))
	}
	for i := range groups {
		status, body, err := api.call(t.Context(), http.MethodPost, "/v1.0/groups", map[string]any{
			"displayName": fmt.Sprintf("group %d", i), "mailEnabled": false, "mailNickname": fmt.Sprintf("group%d", i), "securityEnabled": true,
		})
		var g struct{ ID string }
		if err != nil || status != http.StatusCreated || json.Unmarshal(body, &g) != nil {
			t.Fatalf("create group: %d %s %v", status, body, err)
		}
		groups[i] = g.ID
	}
	pick := func(rng *rand.Rand) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		i := rng.IntN(len(pool))
		return i, pool[i]
	}

	ctx := context.Background()
	deadline := time.Now().Add(loadDuration)
	var wg sync.WaitGroup
	for g := range loadClients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for n := 0; time.Now().Before(deadline); n++ {
				_, u := pick(rng)
				_, other := pick(rng)
				var (
					kind   string
					status int
					body   []byte
					err    error
				)
				switch r := rng.IntN(100); {
				case r < 40:
					kind = "manager"
					status, body, err = api.call(ctx, http.MethodPut, "/v1.0/users/"+u+"/manager/$ref", refBody(other))
				case r < 50:
					// Close a cycle on purpose: make u's manager report to u. It is refused unless another
					// client moved u in between.
					kind = "close"
					var m struct{ ID string }
					status, body, err = api.call(ctx, http.MethodGet, "/v1.0/users/"+u+"/manager?$select=id", nil)
					if err == nil && status == http.StatusOK && json.Unmarshal(body, &m) == nil {
						status, body, err = api.call(ctx, http.MethodPut, "/v1.0/users/"+m.ID+"/manager/$ref", refBody(u))
					}
				case r < 58:
					kind = "unmanage"
					status, body, err = api.call(ctx, http.MethodDelete, "/v1.0/users/"+u+"/manager/$ref", nil)
				case r < 78:
					kind = "sponsor"
					ref := refBody(other)
					if rng.IntN(3) == 0 {
						other = groups[rng.IntN(len(groups))]
						ref = map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + other}
					}
					status, body, err = api.call(ctx, http.MethodPost, "/v1.0/users/"+u+"/sponsors/$ref", ref)
					if err == nil && status == http.StatusNoContent {
						mu.Lock()
						added = append(added, [2]string{u, other})
						mu.Unlock()
					}
				case r < 95:
					kind = "unsponsor"
					mu.Lock()
					if len(added) > 0 {
						k := rng.IntN(len(added))
						u, other = added[k][0], added[k][1]
						added[k] = added[len(added)-1]
						added = added[:len(added)-1]
					}
					mu.Unlock()
					status, body, err = api.call(ctx, http.MethodDelete, "/v1.0/users/"+u+"/sponsors/"+other+"/$ref", nil)
				default:
					kind = "delete"
					i, victim := pick(rng)
					status, body, err = api.call(ctx, http.MethodDelete, "/v1.0/users/"+victim, nil)
					if err == nil && status == http.StatusNoContent {
						// The replacement takes the slot, so the pool keeps its size.
						s, b, e := api.call(ctx, http.MethodPost, "/v1.0/users", newUser(fmt.Sprintf("load-%02d-%d-%d", g, n, i)))
						var nu struct{ ID string }
						if e != nil || s != http.StatusCreated || json.Unmarshal(b, &nu) != nil {
							t.Errorf("replace a deleted user: %d %s %v", s, b, e)
							continue
						}
						mu.Lock()
						if pool[i] == victim {
							pool[i] = nu.ID
						}
						mu.Unlock()
					}
				}
				if err != nil {
					t.Errorf("%s: %v", kind, err)
					return
				}
				mu.Lock()
				counts[fmt.Sprintf("%s %d", kind, status)]++
				if strings.Contains(string(body), "would create a cycle") {
					cycles++
				}
				mu.Unlock()
				// 400: a cycle, a sixth or duplicate sponsor, a user as their own manager or sponsor;
				// 404: a user another client deleted, or nothing to remove.
				if status >= 300 && status != http.StatusBadRequest && status != http.StatusNotFound {
					t.Errorf("%s: %d %s", kind, status, body)
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d requests in %s: %v; %d cycle-closing assignments refused", total, loadDuration, counts, cycles)
	if cycles == 0 || counts["close 400"] == 0 || counts["manager 204"] == 0 || counts["delete 204"] == 0 || counts["sponsor 204"] == 0 {
		t.Errorf("the load did not exercise cycles, assignments, deletions and sponsors: %v, %d cycles", counts, cycles)
	}
	mustCheck(t, storage...)
}
