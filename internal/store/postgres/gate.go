package postgres

import (
	"context"
	"sync"
)

// gates queues this process's updates of each tenant in Go before they take a connection. The advisory lock
// alone would serialise them too, but each waiter would hold a pooled connection while it waited: a long
// import into one tenant could then take every connection and stall reads and other tenants' writes. With the
// gate, at most one connection per tenant per process waits for the lock, and waiting honours the context.
type gates struct {
	mu sync.Mutex
	m  map[string]*gate
}

type gate struct {
	token chan struct{} // capacity 1: whoever put the token in holds the gate
	users int           // goroutines holding or waiting for the gate; at 0 it is dropped
}

// enter waits for the tenant's gate and returns the function that leaves it.
func (g *gates) enter(ctx context.Context, tenant string) (leave func(), err error) {
	g.mu.Lock()
	e := g.m[tenant]
	if e == nil {
		e = &gate{token: make(chan struct{}, 1)}
		g.m[tenant] = e
	}
	e.users++
	g.mu.Unlock()
	drop := func() {
		g.mu.Lock()
		if e.users--; e.users == 0 {
			delete(g.m, tenant)
		}
		g.mu.Unlock()
	}
	select {
	case e.token <- struct{}{}:
		return func() { <-e.token; drop() }, nil
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
}
