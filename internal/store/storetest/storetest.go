// Package storetest is the conformance suite every orgraph store backend runs, so that the directory's
// guarantees (tenant isolation, no manager cycles, the sponsor limit, cascading deletes, bootstrap races)
// are proved once, through the real directory.Service and the raw Tx, for every backend alike.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// Run runs the suite. open must return a new, empty store for each subtest and close it when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"ObjectsCRUD", testObjectsCRUD},
		{"ListPaging", testListPaging},
		{"Query", testQuery},
		{"DuplicateValues", testDuplicateValues},
		{"NotFound", testNotFound},
		{"UnknownTenant", testUnknownTenant},
		{"TenantIsolation", testTenantIsolation},
		{"DeleteTenant", testDeleteTenant},
		{"Manager", testManager},
		{"Chain", testChain},
		{"ChainOnCyclicData", testChainOnCyclicData},
		{"DirectReports", testDirectReports},
		{"Cycles", testCycles},
		{"CycleThroughContact", testCycleThroughContact},
		{"Sponsors", testSponsors},
		{"DeleteCascades", testDeleteCascades},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"ViewSnapshot", testViewSnapshot},
		{"Cancelled", testCancelled},
		{"Settings", testSettings},
		{"SigningKeys", testSigningKeys},
		{"Bootstrap", testBootstrap},
		{"BootstrapConcurrent", testBootstrapConcurrent},
		{"ConcurrentSetManager", testConcurrentSetManager},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Apps", testApps},
		{"CredentialsAndRoles", testCredentialsAndRoles},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// fixture is one tenant of a store with the Service over it.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	s      store.Store
	svc    *directory.Service
	tenant string
}

func newFixture(t *testing.T, s store.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), s: s, svc: directory.NewService(s)}
	f.tenant = f.newTenant()
	return f
}

func (f *fixture) newTenant() string {
	f.t.Helper()
	id := uuid.NewString()
	if err := f.s.CreateTenant(f.ctx, store.Tenant{ID: id, Name: "T " + id, CreatedAt: time.Now()}); err != nil {
		f.t.Fatalf("CreateTenant: %v", err)
	}
	return id
}

// in returns a fixture on another tenant of the same store.
func (f *fixture) in(tenant string) *fixture {
	g := *f
	g.tenant = tenant
	return &g
}

func userProps(name string) map[string]any {
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       name,
		"mailNickname":      name,
		"userPrincipalName": name + "@example.com",
		"passwordProfile":   map[string]any{"password": "Secret-123"},
	}
}

func (f *fixture) user(name string) *directory.Object {
	f.t.Helper()
	o, err := f.svc.Create(f.ctx, f.tenant, directory.KindUser, userProps(name))
	if err != nil {
		f.t.Fatalf("create user %s: %v", name, err)
	}
	return o
}

func (f *fixture) group(name string) *directory.Object {
	f.t.Helper()
	o, err := f.svc.Create(f.ctx, f.tenant, directory.KindGroup, map[string]any{
		"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true,
	})
	if err != nil {
		f.t.Fatalf("create group %s: %v", name, err)
	}
	return o
}

func (f *fixture) contact(name string) *directory.Object {
	f.t.Helper()
	o := &directory.Object{ID: uuid.NewString(), Kind: directory.KindOrgContact, Props: map[string]any{
		"displayName": name,
		"mail":        name + "@partner.example",
		"addresses":   []any{map[string]any{"city": "Oslo", "countryOrRegion": "NO"}},
	}}
	if err := f.svc.Import(f.ctx, f.tenant, o); err != nil {
		f.t.Fatalf("import contact %s: %v", name, err)
	}
	return f.get(o.ID)
}

// users inserts n users in one transaction through the raw Tx, for tests that need many.
func (f *fixture) users(n int) []*directory.Object {
	f.t.Helper()
	out := make([]*directory.Object, n)
	f.update(func(tx directory.Tx) error {
		for i := range out {
			name := fmt.Sprintf("u%04d", i)
			props := userProps(name)
			delete(props, "passwordProfile")
			out[i] = &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: props}
			if err := tx.Insert(out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

func (f *fixture) view(fn func(tx directory.Tx) error) {
	f.t.Helper()
	if err := f.s.View(f.ctx, f.tenant, fn); err != nil {
		f.t.Fatalf("View: %v", err)
	}
}

func (f *fixture) update(fn func(tx directory.Tx) error) {
	f.t.Helper()
	if err := f.s.Update(f.ctx, f.tenant, fn); err != nil {
		f.t.Fatalf("Update: %v", err)
	}
}

func (f *fixture) get(id string) *directory.Object {
	f.t.Helper()
	var o *directory.Object
	f.view(func(tx directory.Tx) (err error) {
		if o, err = tx.Get(id); err != nil {
			return err
		}
		return o.Decode()
	})
	return o
}

func (f *fixture) setManager(user, manager *directory.Object) {
	f.t.Helper()
	if err := f.svc.SetManager(f.ctx, f.tenant, user.ID, directory.Ref{ID: manager.ID}); err != nil {
		f.t.Fatalf("SetManager(%s, %s): %v", user.String("displayName"), manager.String("displayName"), err)
	}
}

func (f *fixture) addSponsor(user, sponsor *directory.Object) {
	f.t.Helper()
	if err := f.svc.AddSponsor(f.ctx, f.tenant, user.ID, directory.Ref{ID: sponsor.ID}); err != nil {
		f.t.Fatalf("AddSponsor(%s, %s): %v", user.String("displayName"), sponsor.String("displayName"), err)
	}
}

func (f *fixture) checkInvariants() {
	f.t.Helper()
	f.view(func(tx directory.Tx) error {
		CheckInvariants(f.t, tx)
		return nil
	})
}

// wantErr fails unless err is of the class target (a directory sentinel or a store error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// wantMessage fails unless err is exactly the domain error want, message included.
func wantMessage(t *testing.T, what string, err error, want *directory.Error) {
	t.Helper()
	var de *directory.Error
	if !errors.As(err, &de) || de.Code != want.Code || de.Message != want.Message {
		t.Errorf("%s: got error %v, want %q", what, err, want.Message)
	}
}

func sortedIDs(objects ...*directory.Object) []string {
	ids := idsOf(objects)
	slices.Sort(ids)
	return ids
}
