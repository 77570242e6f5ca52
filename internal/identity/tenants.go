package identity

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/store"
)

// AdminPermissions are what a new tenant's first app is granted, as application roles and as delegated
// scopes: everything orgraph serves, so a test suite's app can do whatever its code under test does.
var AdminPermissions = []string{"Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All"}

// Credentials are what a caller needs to use a new tenant: its id and an app's client id and secret.
type Credentials struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// CreateTenant makes a tenant with an app holding AdminPermissions, in one store transaction, and returns
// the app's secret, which is kept only as a hash.
func CreateTenant(ctx context.Context, st store.Store, name string) (Credentials, error) {
	now := time.Now().UTC()
	c := Credentials{TenantID: uuid.NewString(), ClientID: uuid.NewString(), ClientSecret: auth.NewSecret()}
	app := store.App{
		TenantID: c.TenantID, ClientID: c.ClientID, Name: name + " admin app",
		SecretHash: auth.HashSecret(c.ClientSecret), Roles: AdminPermissions, Scopes: AdminPermissions, CreatedAt: now,
	}
	if err := st.CreateTenant(ctx, store.Tenant{ID: c.TenantID, Name: name, CreatedAt: now}, app); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

// CreateApp registers an app in a tenant. A confidential app gets a secret (returned, kept hashed); a public
// one (for the password grant from a device or a test) gets none.
func CreateApp(ctx context.Context, st store.Store, tenant, name string, roles, scopes []string, public bool) (store.App, string, error) {
	a := store.App{TenantID: tenant, ClientID: uuid.NewString(), Name: name, Roles: roles, Scopes: scopes, CreatedAt: time.Now().UTC()}
	var secret string
	if !public {
		secret = auth.NewSecret()
		a.SecretHash = auth.HashSecret(secret)
	}
	return a, secret, st.CreateApp(ctx, a)
}
