// Package store defines the storage contract every orgraph backend implements (store/sqlite, the embedded
// default; store/postgres, for several nodes on one database) and the errors it speaks in. Directory objects
// and their relationships are reached through directory.Transactor, so the domain's invariants run inside the
// backend's transactions; tenants and signing keys, which the server needs before any tenant is chosen, have
// their own methods. store/storetest holds the conformance suite every backend must pass.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
)

// ErrUnavailable wraps failures to reach the database (down, restarting, out of connections): the HTTP layer
// answers 503 with Retry-After instead of 500, because the request may succeed when it is retried.
var ErrUnavailable = errors.New("store unavailable")

// ErrTenantNotFound is returned for an unknown tenant id.
var ErrTenantNotFound = errors.New("tenant not found")

// ErrTenantExists is returned when creating a tenant whose id is taken.
var ErrTenantExists = errors.New("tenant exists")

// ErrAppNotFound is returned for an unknown client id.
var ErrAppNotFound = errors.New("app not found")

// ErrAppExists is returned when registering a client id that is taken.
var ErrAppExists = errors.New("app exists")

// Tenant is one isolated directory: every object belongs to exactly one.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// App is a client application registered in a tenant: what the token endpoint authenticates.
type App struct {
	TenantID string
	ClientID string
	Name     string
	// SecretHash is auth.HashSecret of the client secret; empty for a public client (password grant only).
	SecretHash []byte
	// Roles are the application permissions granted to the app: its client-credentials tokens' roles.
	Roles []string
	// Scopes are the delegated permissions consented for the app: the most a password-grant token may carry.
	Scopes    []string
	CreatedAt time.Time
}

// Store is a backend.
type Store interface {
	// View and Update run directory transactions within one tenant. A tenant that does not exist reads as
	// empty; writing into it is the caller's mistake and gives ErrTenantNotFound.
	directory.Transactor

	// CreateTenant adds a tenant and registers apps in it, in one transaction (a test suite makes one tenant
	// per test, so this is on a hot path); ErrTenantExists if its id is taken, ErrAppExists for a taken client id.
	CreateTenant(ctx context.Context, t Tenant, apps ...App) error
	// Tenant returns one tenant or ErrTenantNotFound.
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Tenants lists every tenant, oldest first.
	Tenants(ctx context.Context) ([]Tenant, error)
	// DeleteTenant removes a tenant and every object and relationship in it; ErrTenantNotFound if none.
	DeleteTenant(ctx context.Context, id string) error

	// CreateApp registers an app in its tenant; ErrTenantNotFound, ErrAppExists.
	CreateApp(ctx context.Context, a App) error
	// App returns an app of a tenant or ErrAppNotFound.
	App(ctx context.Context, tenant, clientID string) (App, error)
	// Apps lists a tenant's apps, oldest first.
	Apps(ctx context.Context, tenant string) ([]App, error)
	// DeleteApp removes an app; ErrAppNotFound if none.
	DeleteApp(ctx context.Context, tenant, clientID string) error

	// SetPasswordHash keeps a user's password hash (auth.HashPassword) for the password grant;
	// directory.ErrNotFound if the tenant has no such user. Deleting the user deletes it.
	SetPasswordHash(ctx context.Context, tenant, userID string, hash []byte) error
	// PasswordHash returns a user's password hash, or nil when none was set.
	PasswordHash(ctx context.Context, tenant, userID string) ([]byte, error)
	// SetDirectoryRoles replaces a user's directory roles ("User Administrator", …), which some delegated
	// writes require; directory.ErrNotFound if the tenant has no such user. Deleting the user deletes them.
	SetDirectoryRoles(ctx context.Context, tenant, userID string, roles []string) error
	// DirectoryRoles returns a user's directory roles, sorted.
	DirectoryRoles(ctx context.Context, tenant, userID string) ([]string, error)

	// SigningKeys returns the token signing keys, newest first.
	SigningKeys(ctx context.Context) ([]auth.SigningKey, error)
	// AddSigningKey stores a new signing key.
	AddSigningKey(ctx context.Context, k auth.SigningKey) error

	// Setting reads a named server-wide value ("" and no error when unset).
	Setting(ctx context.Context, name string) (string, error)
	// SetSettingOnce sets a named value unless it is already set, and returns the value in force. Two processes
	// bootstrapping one database at once therefore agree on one value.
	SetSettingOnce(ctx context.Context, name, value string) (string, error)

	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the database; pending transactions are finished first.
	Close() error
}
