package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/orgraph/orgraph/internal/auth"
)

// SettingDefaultTenant names the setting that holds the id of the tenant a fresh data folder starts with.
const SettingDefaultTenant = "default_tenant"

// Bootstrap makes a new database usable: it ensures a token signing key and a default tenant exist and
// returns the default tenant's id. The server and the CLI both call it, so either may run first, and two
// processes doing it at once end up agreeing on one default tenant.
func Bootstrap(ctx context.Context, s Store) (string, error) {
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		k, err := auth.NewSigningKey(time.Now())
		if err != nil {
			return "", err
		}
		if err := s.AddSigningKey(ctx, k); err != nil {
			return "", err
		}
	}
	if id, err := s.Setting(ctx, SettingDefaultTenant); err != nil {
		return "", err
	} else if id != "" {
		// The default tenant may have been deleted (orgraph tenant delete); a data folder must stay usable,
		// so it comes back, empty, under the same id.
		_, err := s.Tenant(ctx, id)
		if errors.Is(err, ErrTenantNotFound) {
			err = s.CreateTenant(ctx, Tenant{ID: id, Name: "Default", CreatedAt: time.Now().UTC()})
			if errors.Is(err, ErrTenantExists) {
				err = nil
			}
		}
		return id, err
	}
	// Create the tenant before publishing its id, so nobody can see an id whose tenant is missing.
	id := uuid.NewString()
	if err := s.CreateTenant(ctx, Tenant{ID: id, Name: "Default", CreatedAt: time.Now().UTC()}); err != nil {
		return "", fmt.Errorf("create default tenant: %w", err)
	}
	got, err := s.SetSettingOnce(ctx, SettingDefaultTenant, id)
	if err != nil {
		return "", err
	}
	if got != id {
		// Another process won the race: drop the spare tenant.
		if err := s.DeleteTenant(ctx, id); err != nil {
			return "", err
		}
	}
	return got, nil
}
