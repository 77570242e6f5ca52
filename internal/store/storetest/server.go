package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/store"
)

func testSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	if v, err := s.Setting(ctx, "color"); err != nil || v != "" {
		t.Errorf("unset Setting = %q, %v", v, err)
	}
	if v, err := s.SetSettingOnce(ctx, "color", "blue"); err != nil || v != "blue" {
		t.Errorf("first SetSettingOnce = %q, %v; want blue", v, err)
	}
	if v, err := s.SetSettingOnce(ctx, "color", "red"); err != nil || v != "blue" {
		t.Errorf("second SetSettingOnce = %q, %v; want the value in force, blue", v, err)
	}
	if v, err := s.SetSettingOnce(ctx, "shape", "round"); err != nil || v != "round" {
		t.Errorf("SetSettingOnce of another name = %q, %v", v, err)
	}
	if v, err := s.Setting(ctx, "color"); err != nil || v != "blue" {
		t.Errorf("Setting = %q, %v; want blue", v, err)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys of a new store = %v, %v", keys, err)
	}
	now := time.Now()
	older := auth.SigningKey{ID: "kid-older", PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nb2xkZXI=\n-----END PRIVATE KEY-----\n"), CreatedAt: now.Add(-time.Hour)}
	newer := auth.SigningKey{ID: "kid-newer", PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nbmV3ZXI=\n-----END PRIVATE KEY-----\n"), CreatedAt: now}
	for _, k := range []auth.SigningKey{older, newer} {
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey: %v", err)
		}
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("SigningKeys = %v, %v", keys, err)
	}
	for i, want := range []auth.SigningKey{newer, older} {
		got := keys[i]
		if got.ID != want.ID || string(got.PrivateKeyPEM) != string(want.PrivateKeyPEM) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("SigningKeys[%d] = %s %q %v, want %s %q %v (newest first)", i, got.ID, got.PrivateKeyPEM, got.CreatedAt, want.ID, want.PrivateKeyPEM, want.CreatedAt)
		}
	}
}

func testBootstrap(t *testing.T, s store.Store) {
	ctx := t.Context()
	id, err := store.Bootstrap(ctx, s)
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	again, err := store.Bootstrap(ctx, s)
	if err != nil || again != id {
		t.Fatalf("second Bootstrap = %q, %v; want %q", again, err, id)
	}
	if _, err := s.Tenant(ctx, id); err != nil {
		t.Errorf("default tenant: %v", err)
	}
	if v, err := s.Setting(ctx, store.SettingDefaultTenant); err != nil || v != id {
		t.Errorf("default tenant setting = %q, %v", v, err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 || len(keys[0].PrivateKeyPEM) == 0 {
		t.Errorf("after two Bootstraps: %d signing keys, %v; want 1", len(keys), err)
	}
	if ts, err := s.Tenants(ctx); err != nil || len(ts) != 1 {
		t.Errorf("after two Bootstraps: tenants %v, %v; want 1", ts, err)
	}
}

func testBootstrapConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { ids[i], errs[i] = store.Bootstrap(ctx, s) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Bootstrap: %v, %v", errs[0], errs[1])
	}
	if ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("concurrent Bootstraps disagree: %q and %q", ids[0], ids[1])
	}
	ts, err := s.Tenants(ctx)
	if err != nil || len(ts) != 1 || ts[0].ID != ids[0] {
		t.Errorf("tenants after concurrent Bootstraps = %v, %v; want only %s", ts, err, ids[0])
	}
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) == 0 {
		t.Errorf("no signing key after Bootstrap: %v", err)
	}
}
