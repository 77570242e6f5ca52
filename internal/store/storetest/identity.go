package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// testApps: apps are created with their tenant in one call or later, are scoped to a tenant, and go with it.
func testApps(t *testing.T, s store.Store) {
	ctx := t.Context()
	tenant := uuid.NewString()
	now := time.Now().UTC().Truncate(time.Second)
	a := store.App{TenantID: tenant, ClientID: uuid.NewString(), Name: "suite", SecretHash: []byte{1, 2, 3},
		Roles: []string{"Directory.ReadWrite.All"}, Scopes: []string{"User.Read.All"}, CreatedAt: now}
	if err := s.CreateTenant(ctx, store.Tenant{ID: tenant, Name: "apps", CreatedAt: now}, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.App(ctx, tenant, a.ClientID)
	if err != nil || got.Name != a.Name || string(got.SecretHash) != string(a.SecretHash) ||
		!slices.Equal(got.Roles, a.Roles) || !slices.Equal(got.Scopes, a.Scopes) || !got.CreatedAt.Equal(now) {
		t.Fatalf("App = %+v, %v; want %+v", got, err, a)
	}
	public := store.App{TenantID: tenant, ClientID: uuid.NewString(), Name: "public", CreatedAt: now.Add(time.Second)}
	if err := s.CreateApp(ctx, public); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApp(ctx, public); !errors.Is(err, store.ErrAppExists) {
		t.Errorf("second CreateApp = %v, want ErrAppExists", err)
	}
	if err := s.CreateApp(ctx, store.App{TenantID: uuid.NewString(), ClientID: uuid.NewString(), CreatedAt: now}); !errors.Is(err, store.ErrTenantNotFound) {
		t.Errorf("CreateApp in an unknown tenant = %v, want ErrTenantNotFound", err)
	}
	apps, err := s.Apps(ctx, tenant)
	if err != nil || len(apps) != 2 || apps[0].ClientID != a.ClientID || apps[1].ClientID != public.ClientID {
		t.Fatalf("Apps = %+v, %v", apps, err)
	}
	other := uuid.NewString()
	if err := s.CreateTenant(ctx, store.Tenant{ID: other, Name: "other", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App(ctx, other, a.ClientID); !errors.Is(err, store.ErrAppNotFound) {
		t.Errorf("App of another tenant = %v, want ErrAppNotFound", err)
	}
	if err := s.DeleteApp(ctx, tenant, public.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(ctx, tenant, public.ClientID); !errors.Is(err, store.ErrAppNotFound) {
		t.Errorf("second DeleteApp = %v, want ErrAppNotFound", err)
	}
	// A failed CreateTenant leaves nothing behind: the tenant and its apps are one transaction.
	dup := store.App{TenantID: other, ClientID: a.ClientID, CreatedAt: now}
	third := uuid.NewString()
	if err := s.CreateTenant(ctx, store.Tenant{ID: third, CreatedAt: now}, store.App{TenantID: third, ClientID: "x", CreatedAt: now}, store.App{TenantID: third, ClientID: "x", CreatedAt: now}); !errors.Is(err, store.ErrAppExists) {
		t.Errorf("CreateTenant with a repeated client id = %v, want ErrAppExists", err)
	}
	if _, err := s.Tenant(ctx, third); !errors.Is(err, store.ErrTenantNotFound) {
		t.Errorf("a failed CreateTenant left its tenant: %v", err)
	}
	if err := s.CreateApp(ctx, dup); err != nil {
		t.Errorf("the same client id in another tenant: %v", err)
	}
	if err := s.DeleteTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App(ctx, tenant, a.ClientID); !errors.Is(err, store.ErrAppNotFound) {
		t.Errorf("App after DeleteTenant = %v, want ErrAppNotFound", err)
	}
}

// testCredentialsAndRoles: password hashes and directory roles belong to users of one tenant and go with them.
func testCredentialsAndRoles(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	u := f.user("cred")
	g := f.group("not-a-user")
	if h, err := s.PasswordHash(f.ctx, f.tenant, u.ID); err != nil || h != nil {
		t.Fatalf("PasswordHash before any = %q, %v", h, err)
	}
	for _, h := range []string{"first", "second"} {
		if err := s.SetPasswordHash(f.ctx, f.tenant, u.ID, []byte(h)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PasswordHash(f.ctx, f.tenant, u.ID); err != nil || string(got) != h {
			t.Fatalf("PasswordHash = %q, %v; want %q", got, err, h)
		}
	}
	for _, id := range []string{g.ID, uuid.NewString()} {
		if err := s.SetPasswordHash(f.ctx, f.tenant, id, []byte("x")); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("SetPasswordHash on %s = %v, want ErrNotFound", id, err)
		}
		if err := s.SetDirectoryRoles(f.ctx, f.tenant, id, []string{"User Administrator"}); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("SetDirectoryRoles on %s = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.SetDirectoryRoles(f.ctx, f.tenant, u.ID, []string{"User Administrator", "Directory Writers", "User Administrator"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DirectoryRoles(f.ctx, f.tenant, u.ID); err != nil || !slices.Equal(got, []string{"Directory Writers", "User Administrator"}) {
		t.Fatalf("DirectoryRoles = %q, %v", got, err)
	}
	other := f.in(f.newTenant())
	if got, _ := s.PasswordHash(f.ctx, other.tenant, u.ID); got != nil {
		t.Error("another tenant sees the user's password hash")
	}
	if got, _ := s.DirectoryRoles(f.ctx, other.tenant, u.ID); len(got) != 0 {
		t.Error("another tenant sees the user's roles")
	}
	if err := f.svc.Delete(f.ctx, f.tenant, directory.KindUser, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PasswordHash(f.ctx, f.tenant, u.ID); got != nil {
		t.Error("a deleted user's password hash remains")
	}
	if got, _ := s.DirectoryRoles(f.ctx, f.tenant, u.ID); len(got) != 0 {
		t.Error("a deleted user's roles remain")
	}
}
