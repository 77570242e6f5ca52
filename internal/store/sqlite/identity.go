package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// CreateTenant adds a tenant and its apps in one transaction; store.ErrTenantExists if its id is taken.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, apps ...store.App) error {
	return s.write(ctx, "", func(tx *txn) error {
		_, err := tx.exec(`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`,
			t.ID, t.Name, t.CreatedAt.UTC().Format(timeFormat))
		if extendedCode(err) == sqlite3.ErrConstraintPrimaryKey {
			return store.ErrTenantExists
		}
		if err != nil {
			return err
		}
		for _, a := range apps {
			if a.TenantID != t.ID {
				return fmt.Errorf("sqlite: app %s belongs to tenant %s, not %s", a.ClientID, a.TenantID, t.ID)
			}
			if err := tx.insertApp(a); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateApp registers an app in its tenant.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	return s.write(ctx, "", func(tx *txn) error { return tx.insertApp(a) })
}

func (t *txn) insertApp(a store.App) error {
	roles, _ := json.Marshal(nonNil(a.Roles))
	scopes, _ := json.Marshal(nonNil(a.Scopes))
	_, err := t.exec(`INSERT INTO apps (tenant_id, client_id, name, secret_hash, roles, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.TenantID, a.ClientID, a.Name, a.SecretHash, string(roles), string(scopes), a.CreatedAt.UTC().Format(timeFormat))
	switch extendedCode(err) {
	case sqlite3.ErrConstraintPrimaryKey:
		return store.ErrAppExists
	case sqlite3.ErrConstraintForeignKey:
		return store.ErrTenantNotFound
	}
	return err
}

// App returns an app of a tenant or store.ErrAppNotFound.
func (s *Store) App(ctx context.Context, tenant, clientID string) (store.App, error) {
	apps, err := s.apps(ctx, `WHERE tenant_id = ? AND client_id = ?`, tenant, clientID)
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
	return s.apps(ctx, `WHERE tenant_id = ? ORDER BY created_at, client_id`, tenant)
}

func (s *Store) apps(ctx context.Context, where string, args ...any) ([]store.App, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant_id, client_id, name, secret_hash, roles, scopes, created_at FROM apps `+where, args...)
	if err != nil {
		return nil, failure(ctx, err)
	}
	defer rows.Close()
	var out []store.App
	for rows.Next() {
		var (
			a                      store.App
			roles, scopes, created string
		)
		if err := rows.Scan(&a.TenantID, &a.ClientID, &a.Name, &a.SecretHash, &roles, &scopes, &created); err != nil {
			return nil, failure(ctx, err)
		}
		if err := errors.Join(json.Unmarshal([]byte(roles), &a.Roles), json.Unmarshal([]byte(scopes), &a.Scopes)); err != nil {
			return nil, fmt.Errorf("sqlite: app %s: %w", a.ClientID, err)
		}
		if a.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
			return nil, fmt.Errorf("sqlite: app %s: %w", a.ClientID, err)
		}
		out = append(out, a)
	}
	return out, failure(ctx, rows.Err())
}

// DeleteApp removes an app; store.ErrAppNotFound if none.
func (s *Store) DeleteApp(ctx context.Context, tenant, clientID string) error {
	return s.write(ctx, "", func(tx *txn) error {
		n, err := tx.affected(tx.exec(`DELETE FROM apps WHERE tenant_id = ? AND client_id = ?`, tenant, clientID))
		if err == nil && n == 0 {
			return store.ErrAppNotFound
		}
		return err
	})
}

// SetPasswordHash keeps a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, tenant, userID string, hash []byte) error {
	return s.write(ctx, tenant, func(tx *txn) error {
		if err := tx.requireUser(userID); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO credentials (tenant_id, user_id, password_hash) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, user_id) DO UPDATE SET password_hash = excluded.password_hash`, tenant, userID, hash)
		return err
	})
}

// PasswordHash returns a user's password hash, or nil when none was set.
func (s *Store) PasswordHash(ctx context.Context, tenant, userID string) ([]byte, error) {
	var hash []byte
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM credentials WHERE tenant_id = ? AND user_id = ?`, tenant, userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return hash, failure(ctx, err)
}

// SetDirectoryRoles replaces a user's directory roles.
func (s *Store) SetDirectoryRoles(ctx context.Context, tenant, userID string, roles []string) error {
	return s.write(ctx, tenant, func(tx *txn) error {
		if err := tx.requireUser(userID); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM directory_roles WHERE tenant_id = ? AND user_id = ?`, tenant, userID); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.exec(`INSERT OR IGNORE INTO directory_roles (tenant_id, user_id, role) VALUES (?, ?, ?)`, tenant, userID, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// DirectoryRoles returns a user's directory roles, sorted.
func (s *Store) DirectoryRoles(ctx context.Context, tenant, userID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT role FROM directory_roles WHERE tenant_id = ? AND user_id = ?`, tenant, userID)
	if err != nil {
		return nil, failure(ctx, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, failure(ctx, err)
		}
		out = append(out, r)
	}
	sort.Strings(out)
	return out, failure(ctx, rows.Err())
}

// requireUser fails with directory.ErrNotFound unless userID is a user of the transaction's tenant.
func (t *txn) requireUser(userID string) error {
	o, err := t.Get(userID)
	if err != nil {
		return err
	}
	if o.Kind != directory.KindUser {
		return directory.NotFound(userID)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
