package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

var errAbort = errors.New("abort")

func testUpdateRollsBack(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	a, b := f.user("a"), f.user("b")
	err := s.Update(f.ctx, f.tenant, func(tx directory.Tx) error {
		if err := tx.Insert(&directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: map[string]any{"userPrincipalName": "c@example.com"}}); err != nil {
			return err
		}
		if err := tx.SetManager(a.ID, b.ID); err != nil {
			return err
		}
		if err := tx.AddSponsor(a.ID, b.ID); err != nil {
			return err
		}
		if err := tx.Delete(b.ID); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	f.view(func(tx directory.Tx) error {
		if _, err := tx.GetByUPN("c@example.com"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("insert of a failed Update was kept: %v", err)
		}
		if o, err := tx.Get(a.ID); err != nil || o.ManagerID != "" {
			t.Errorf("manager of a failed Update was kept: %+v, %v", o, err)
		}
		if _, err := tx.Get(b.ID); err != nil {
			t.Errorf("delete of a failed Update was kept: %v", err)
		}
		if sp, err := tx.Sponsors(a.ID); err != nil || len(sp) != 0 {
			t.Errorf("sponsor of a failed Update was kept: %v, %v", idsOf(sp), err)
		}
		return nil
	})
}

// testViewSnapshot commits a write in the middle of a View, which must not see it.
func testViewSnapshot(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	a := f.user("a")
	f.view(func(tx directory.Tx) error {
		before, err := tx.Count(directory.ListQuery{})
		if err != nil {
			return err
		}
		f.user("b")
		if err := f.svc.Update(f.ctx, f.tenant, directory.KindUser, a.ID, map[string]any{"city": "Rome"}); err != nil {
			return err
		}
		after, err := tx.Count(directory.ListQuery{})
		if err != nil {
			return err
		}
		if after != before {
			t.Errorf("View saw a concurrent commit: Count %d, then %d", before, after)
		}
		if o, err := tx.Get(a.ID); err != nil || o.String("city") != "" {
			t.Errorf("View saw a concurrent update: %v, %v", o.Props, err)
		}
		return nil
	})
	if got := f.get(a.ID); got.String("city") != "Rome" {
		t.Errorf("update lost: %v", got.Props)
	}
}

func testCancelled(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	err := s.View(ctx, f.tenant, func(tx directory.Tx) error {
		_, err := tx.List(directory.ListQuery{})
		return err
	})
	wantErr(t, "View with a cancelled context", err, context.Canceled)
	err = s.Update(ctx, f.tenant, func(tx directory.Tx) error {
		return tx.Insert(&directory.Object{ID: uuid.NewString(), Kind: directory.KindGroup, Props: map[string]any{}})
	})
	wantErr(t, "Update with a cancelled context", err, context.Canceled)
	_, err = s.Tenants(ctx)
	wantErr(t, "Tenants with a cancelled context", err, context.Canceled)
	f.view(func(tx directory.Tx) error {
		if n, err := tx.Count(directory.ListQuery{}); err != nil || n != 0 {
			t.Errorf("a cancelled Update wrote: Count %d, %v", n, err)
		}
		return nil
	})
}

// testConcurrentSetManager races managers among a few users, cycle-closing attempts included, and then
// expects the directory to be whole: the Service's checks must hold inside each Update.
func testConcurrentSetManager(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	users := f.users(30)
	var ops, refused int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			var n, no int64
			for time.Now().Before(deadline) {
				u, m := users[rng.IntN(len(users))], users[rng.IntN(len(users))]
				var err error
				if rng.IntN(10) == 0 {
					err = f.svc.RemoveManager(f.ctx, f.tenant, u.ID)
				} else {
					err = f.svc.SetManager(f.ctx, f.tenant, u.ID, directory.Ref{Kind: directory.KindUser, ID: m.ID})
				}
				switch {
				case err == nil:
				case errors.Is(err, directory.ErrInvalid), errors.Is(err, directory.ErrNotFound):
					no++ // a cycle, oneself, or no manager to remove
				default:
					t.Errorf("SetManager: %v", err)
					return
				}
				n++
			}
			mu.Lock()
			ops, refused = ops+n, refused+no
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("%d manager writes, %d refused", ops, refused)
	if refused == 0 || refused == ops {
		t.Errorf("%d of %d writes refused: the race did not exercise both outcomes", refused, ops)
	}
	f.checkInvariants()
}
