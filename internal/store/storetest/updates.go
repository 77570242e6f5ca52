package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// How each Update of testConcurrentUpdates ends.
const (
	endKept            = iota // fn returns nil
	endFailed                 // fn returns an error
	endPanicked               // fn panics
	endCancelledBefore        // the context ends before Update is called
	endCancelledInside        // the context ends while fn runs, and fn's next statement fails
	endKinds
)

// testConcurrentUpdates starts many Updates at once, as a busy server does (a backend may run them in one
// transaction), and checks the Transactor contract for each, whatever the others do: the writes of an
// Update whose fn succeeds are kept; one whose fn fails or panics, or whose context ends, keeps nothing and
// gets its own error or panic; and each fn sees the writes of every fn that ran before it, so a counter
// that every fn increments ends at the number of Updates kept.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	counter := f.group("counter")
	const n = 100
	var (
		wg      sync.WaitGroup
		results [n]error
		panics  [n]any
		ids     [n]string
	)
	for i := range n {
		ids[i] = uuid.NewString()
		wg.Go(func() {
			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			end := i % endKinds
			if end == endCancelledBefore {
				cancel()
			}
			defer func() { panics[i] = recover() }()
			results[i] = s.Update(ctx, f.tenant, func(tx directory.Tx) error {
				if err := increment(tx, counter.ID); err != nil {
					return err
				}
				name := fmt.Sprintf("g%03d", i)
				err := tx.Insert(&directory.Object{ID: ids[i], Kind: directory.KindGroup, Props: map[string]any{"displayName": name}})
				if err != nil {
					return err
				}
				switch end {
				case endFailed:
					return fmt.Errorf("fn %d: %w", i, errAbort)
				case endPanicked:
					panic(fmt.Sprintf("fn %d panics", i))
				case endCancelledInside:
					cancel()
					_, err := tx.Get(counter.ID)
					return err
				}
				return nil
			})
		})
	}
	wg.Wait()
	kept := 0
	f.view(func(tx directory.Tx) error {
		for i := range n {
			_, err := tx.Get(ids[i])
			present := err == nil
			if err != nil && !errors.Is(err, directory.ErrNotFound) {
				return err
			}
			want := results[i] == nil && panics[i] == nil
			switch end := i % endKinds; end {
			case endKept:
				if results[i] != nil || panics[i] != nil {
					t.Errorf("Update %d: error %v, panic %v; want success", i, results[i], panics[i])
				}
			case endFailed:
				wantErr(t, fmt.Sprintf("Update %d", i), results[i], errAbort)
			case endPanicked:
				if panics[i] == nil {
					t.Errorf("Update %d: the panic of fn did not reach the caller (error %v)", i, results[i])
				}
			case endCancelledBefore, endCancelledInside:
				wantErr(t, fmt.Sprintf("Update %d (ending %d)", i, end), results[i], context.Canceled)
			}
			if present != want {
				t.Errorf("Update %d (ending %d, error %v, panic %v): its object is there: %v", i, i%endKinds, results[i], panics[i], present)
			}
			if present {
				kept++
			}
		}
		o, err := tx.Get(counter.ID)
		if err != nil {
			return err
		}
		if got := o.String("description"); got != strconv.Itoa(kept) {
			t.Errorf("the counter every fn increments is %q after %d kept Updates: an fn did not see the one before it", got, kept)
		}
		return nil
	})
	if kept != n/endKinds {
		t.Errorf("%d Updates kept, want %d", kept, n/endKinds)
	}
}

// increment adds one to the number a group holds in its description.
func increment(tx directory.Tx, id string) error {
	o, err := tx.Get(id)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(o.String("description"))
	return tx.Replace(&directory.Object{ID: id, Kind: o.Kind, Props: map[string]any{
		"displayName": o.String("displayName"), "description": strconv.Itoa(n + 1),
	}})
}
