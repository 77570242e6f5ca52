package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// The columns an App is read from, in the order scanApp expects.
const appCols = `tenant_id, client_id, name, secret_hash, roles, scopes, created_at`

// insertApp registers a in its tenant: store.ErrTenantNotFound, store.ErrAppExists.
func (t *txn) insertApp(a store.App) error {
	switch {
	case !storable(a.TenantID):
		return store.ErrTenantNotFound
	case !storable(a.ClientID, a.Name) || !storable(a.Roles...) || !storable(a.Scopes...):
		return fmt.Errorf("postgres: app %q: names and permissions must be UTF-8 without NUL", a.ClientID)
	}
	n, err := t.exec(`INSERT INTO apps (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		a.TenantID, a.ClientID, a.Name, a.SecretHash, orEmpty(a.Roles), orEmpty(a.Scopes), a.CreatedAt.UTC().Format(timeFormat))
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23503": // foreign_key_violation: the tenant
		return store.ErrTenantNotFound
	case err != nil:
		return err
	case n == 0:
		return store.ErrAppExists
	}
	return nil
}

// CreateApp registers an app in its tenant.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	return s.write(ctx, "", func(t *txn) error { return t.insertApp(a) })
}

// App returns an app of a tenant or store.ErrAppNotFound.
func (s *Store) App(ctx context.Context, tenant, clientID string) (store.App, error) {
	if !storable(tenant, clientID) {
		return store.App{}, store.ErrAppNotFound
	}
	apps, err := collect(ctx, s, scanApp, `SELECT `+appCols+` FROM apps WHERE tenant_id = $1 AND client_id = $2`, tenant, clientID)
	if err != nil {
		return store.App{}, err
	}
	if len(apps) == 0 {
		return store.App{}, store.ErrAppNotFound
	}
	return apps[0], nil
}

// Apps lists a tenant's apps, oldest first.
func (s *Store) Apps(ctx context.Context, tenant string) ([]store.App, error) {
	if !storable(tenant) {
		return nil, nil
	}
	return collect(ctx, s, scanApp, `SELECT `+appCols+` FROM apps WHERE tenant_id = $1 ORDER BY created_at, client_id`, tenant)
}

func scanApp(row pgx.CollectableRow) (store.App, error) {
	var (
		a       store.App
		created string
	)
	if err := row.Scan(&a.TenantID, &a.ClientID, &a.Name, &a.SecretHash, &a.Roles, &a.Scopes, &created); err != nil {
		return a, err
	}
	var err error
	if a.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
		return a, fmt.Errorf("app %s: %w", a.ClientID, err)
	}
	return a, nil
}

// DeleteApp removes an app; store.ErrAppNotFound if none.
func (s *Store) DeleteApp(ctx context.Context, tenant, clientID string) error {
	return s.write(ctx, "", func(t *txn) error {
		n, err := t.exec(`DELETE FROM apps WHERE tenant_id = $1 AND client_id = $2`, tenant, clientID)
		if err == nil && n == 0 {
			return store.ErrAppNotFound
		}
		return err
	})
}

// SetPasswordHash keeps a user's password hash, under the tenant's lock so that the user cannot be deleted
// between the check that it is a user and the write.
func (s *Store) SetPasswordHash(ctx context.Context, tenant, userID string, hash []byte) error {
	return s.locked(ctx, tenant, func(t *txn) error {
		n, err := t.exec(`INSERT INTO credentials (tenant_id, user_id, password_hash)
			SELECT tenant_id, id, $3 FROM objects WHERE tenant_id = $1 AND id = $2 AND kind = 'user'
			ON CONFLICT (tenant_id, user_id) DO UPDATE SET password_hash = excluded.password_hash`, tenant, userID, hash)
		if err == nil && n == 0 {
			return directory.NotFound(userID)
		}
		return err
	})
}

// PasswordHash returns a user's password hash, or nil when none was set.
func (s *Store) PasswordHash(ctx context.Context, tenant, userID string) ([]byte, error) {
	if !storable(tenant, userID) {
		return nil, nil
	}
	hashes, err := collect(ctx, s, pgx.RowTo[[]byte], `SELECT password_hash FROM credentials WHERE tenant_id = $1 AND user_id = $2`, tenant, userID)
	if err != nil || len(hashes) == 0 {
		return nil, err
	}
	return hashes[0], nil
}

// SetDirectoryRoles replaces a user's directory roles, under the tenant's lock so that two replacements do
// not interleave.
func (s *Store) SetDirectoryRoles(ctx context.Context, tenant, userID string, roles []string) error {
	if !storable(roles...) {
		return fmt.Errorf("postgres: directory roles must be UTF-8 without NUL")
	}
	return s.locked(ctx, tenant, func(t *txn) error {
		user, err := t.exists(`SELECT EXISTS (SELECT FROM objects WHERE tenant_id = $1 AND id = $2 AND kind = 'user')`, tenant, userID)
		if err != nil {
			return err
		}
		if !user {
			return directory.NotFound(userID)
		}
		if _, err := t.exec(`DELETE FROM directory_roles WHERE tenant_id = $1 AND user_id = $2`, tenant, userID); err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO directory_roles (tenant_id, user_id, role) SELECT $1, $2, unnest($3::text[])
			ON CONFLICT DO NOTHING`, tenant, userID, orEmpty(roles))
		return err
	})
}

// DirectoryRoles returns a user's directory roles, sorted.
func (s *Store) DirectoryRoles(ctx context.Context, tenant, userID string) ([]string, error) {
	if !storable(tenant, userID) {
		return nil, nil
	}
	return collect(ctx, s, pgx.RowTo[string], `SELECT role FROM directory_roles WHERE tenant_id = $1 AND user_id = $2 ORDER BY role`, tenant, userID)
}

// orEmpty passes a nil list as an empty array: a NULL would break the NOT NULL columns and unnest.
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
