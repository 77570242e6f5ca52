package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// keyring caches one source's verification keys by kid. Asked for a kid it does not know, it reloads them, at
// most once per interval, so a flood of forged kids costs the source one load per interval while a key added
// there (by the CLI, or an IdP's rotation) is found without a restart. With maxAge set, keys older than that are
// reloaded at their next use, so a key the source withdrew stops verifying; if that reload fails the old keys
// go on serving, as an outage of the source is no reason to turn callers away. Safe for concurrent use.
type keyring[K any] struct {
	load     func(context.Context) (map[string]K, error)
	interval time.Duration
	maxAge   time.Duration // 0: keys never age; the store's only change when an unknown kid asks for a reload
	warn     func(error)   // told of failed reloads the cached keys outlived; nil: nobody

	mu       sync.RWMutex
	keys     map[string]K
	loadedAt time.Time // when keys were last replaced

	loadMu   sync.Mutex // serialises loads, so concurrent misses on one new kid load once
	lastLoad time.Time  // guarded by loadMu: the last attempt, successful or not
	loadErr  error      // guarded by loadMu: the last attempt's failure, repeated until the next allowed one
}

// get returns the key for kid. An unknown kid is a *TokenError; a failed load is returned as it is, since it is
// the server's fault, not the caller's.
func (r *keyring[K]) get(ctx context.Context, kid string, now time.Time) (K, error) {
	var zero K
	k, ok, stale := r.lookup(kid, now)
	if ok && !stale {
		return k, nil
	}
	if ok {
		// A stale key still serves: the request that finds loadMu free reloads, the others do not wait.
		if !r.loadMu.TryLock() {
			return k, nil
		}
		defer r.loadMu.Unlock()
		if r.allowed(now) {
			if err := r.reload(ctx, now); err != nil {
				if r.warn != nil && ctx.Err() == nil {
					r.warn(err)
				}
				return k, nil
			}
		}
		if k, ok, _ := r.lookup(kid, now); ok {
			return k, nil
		}
		return zero, unknownKey(kid)
	}

	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	// Another request may have loaded the key while this one waited.
	if k, ok, _ := r.lookup(kid, now); ok {
		return k, nil
	}
	if !r.allowed(now) {
		if r.loadErr != nil {
			return zero, r.loadErr
		}
		return zero, unknownKey(kid)
	}
	if err := r.reload(ctx, now); err != nil {
		return zero, err
	}
	if k, ok, _ := r.lookup(kid, now); ok {
		return k, nil
	}
	return zero, unknownKey(kid)
}

// refresh loads the keys now unless the last attempt is younger than the interval.
func (r *keyring[K]) refresh(ctx context.Context, now time.Time) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	if !r.allowed(now) {
		return r.loadErr
	}
	return r.reload(ctx, now)
}

func unknownKey(kid string) *TokenError {
	return tokenErr(msgInvalid, fmt.Errorf("unknown signing key %q", kid))
}

func (r *keyring[K]) lookup(kid string, now time.Time) (k K, ok, stale bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok = r.keys[kid]
	return k, ok, r.maxAge > 0 && now.Sub(r.loadedAt) >= r.maxAge
}

// allowed reports whether a load may be attempted; loadMu must be held.
func (r *keyring[K]) allowed(now time.Time) bool {
	return r.lastLoad.IsZero() || now.Sub(r.lastLoad) >= r.interval
}

// reload replaces the keys with the source's, so keys removed there stop verifying; loadMu must be held.
func (r *keyring[K]) reload(ctx context.Context, now time.Time) error {
	prev := r.lastLoad
	r.lastLoad = now
	keys, err := r.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// This caller gave up; that says nothing about the source, so the next caller may try at once.
			r.lastLoad = prev
			return err
		}
		r.loadErr = err
		return err
	}
	r.loadErr = nil
	r.mu.Lock()
	r.keys, r.loadedAt = keys, now
	r.mu.Unlock()
	return nil
}
