package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// SharedDatabase checks what several processes on one database need: two Stores opened on the same database
// (the server and the CLI on one SQLite file, two nodes on one PostgreSQL schema) agree on the default tenant
// and race manager writes through goroutines each; whatever serialises the stores across processes must keep
// the cycle check true, so the directory comes out whole. pause, when set, spaces each goroutine's writes, as
// independent clients' are.
func SharedDatabase(t *testing.T, a, b store.Store, goroutines int, pause func(*rand.Rand)) {
	ctx := t.Context()
	stores := [2]store.Store{a, b}
	tenant, err := store.Bootstrap(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if other, err := store.Bootstrap(ctx, b); err != nil || other != tenant {
		t.Fatalf("second Store bootstraps %q, %v; want %q", other, err, tenant)
	}
	var ids []string
	svc := directory.NewService(a)
	for i := range 20 {
		name := fmt.Sprintf("u%d", i)
		o, err := svc.Create(ctx, tenant, directory.KindUser, map[string]any{"accountEnabled": true, "displayName": name,
			"mailNickname": name, "userPrincipalName": name + "@example.com", "passwordProfile": map[string]any{"password": "Secret-123"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done [2]int
	)
	deadline := time.Now().Add(2 * time.Second)
	for g := range goroutines {
		svc := directory.NewService(stores[g%2])
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			n := 0
			for time.Now().Before(deadline) {
				u, m := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
				err := svc.SetManager(ctx, tenant, u, directory.Ref{ID: m})
				if err != nil && !errors.Is(err, directory.ErrInvalid) {
					t.Errorf("SetManager: %v", err)
					return
				}
				n++
				if pause != nil {
					pause(rng)
				}
			}
			mu.Lock()
			done[g%2] += n
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("writes through each store: %v", done)
	if done[0] == 0 || done[1] == 0 {
		t.Errorf("a store made no writes: %v", done)
	}
	for _, s := range stores {
		err := s.View(ctx, tenant, func(tx directory.Tx) error {
			CheckInvariants(t, tx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
