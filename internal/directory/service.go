package directory

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxSponsors is how many sponsors a user may have, as in Entra ID.
const MaxSponsors = 5

// MaxLevels is the largest $levels Graph accepts on a manager chain; "max" walks the whole chain.
const MaxLevels = 1000

// Ref names a target object as an @odata.id does: an id and the kind its URL claimed ("" for directoryObjects).
type Ref struct {
	Kind Kind
	ID   string
}

// Service performs the directory's writes, each in one transaction that checks the invariants it could break.
// Reads go through View, where callers compose Tx reads into one consistent answer.
type Service struct {
	store Transactor
	now   func() time.Time
}

// NewService returns a Service over a store.
func NewService(store Transactor) *Service {
	return &Service{store: store, now: time.Now}
}

// View runs fn in a read-only transaction of tenant.
func (s *Service) View(ctx context.Context, tenant string, fn func(Tx) error) error {
	return s.store.View(ctx, tenant, fn)
}

// Resolve finds the object a URL segment names: an id (GUIDs compare case-insensitively), or for users a
// userPrincipalName too. With kind "", any kind matches. An object of another kind is not found, as
// /users/{groupId} is not found in Graph.
func Resolve(tx Tx, kind Kind, key string) (*Object, error) {
	var (
		o   *Object
		err error
	)
	if !validText(key) {
		return nil, NotFound(key)
	}
	if (kind == KindUser || kind == "") && strings.Contains(key, "@") {
		o, err = tx.GetByUPN(key)
	} else {
		o, err = tx.Get(NormalizeID(key))
	}
	if err == nil && kind != "" && o.Kind != kind {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound(key)
	}
	return o, err
}

// NormalizeID returns a GUID in the lower-case form orgraph stores, and any other string unchanged.
func NormalizeID(id string) string {
	if u, err := uuid.Parse(id); err == nil && len(id) == 36 {
		return u.String()
	}
	return id
}

// Create adds an object of kind from a client's properties and returns it as stored.
func (s *Service) Create(ctx context.Context, tenant string, kind Kind, props map[string]any) (*Object, error) {
	if kind == KindOrgContact {
		return nil, Invalid("Organizational contacts cannot be created through the API; they are imported.")
	}
	props, err := CheckProps(kind, props, true, false)
	if err != nil {
		return nil, err
	}
	if err := checkWriteOnly(kind, props); err != nil {
		return nil, err
	}
	o := &Object{ID: uuid.NewString(), Kind: kind, Props: props}
	o.Props["createdDateTime"] = s.now().UTC().Format(time.RFC3339)
	if kind == KindUser {
		if err := CheckUPN(o.String("userPrincipalName")); err != nil {
			return nil, err
		}
		if o.Props["userType"] == nil {
			o.Props["userType"] = "Member"
		}
	}
	dropNulls(o.Props)
	err = s.store.Update(ctx, tenant, func(tx Tx) error { return tx.Insert(o) })
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Import adds an object as an import file or the demo describes it: trusted, so read-only properties and the
// id are kept, and org contacts may be created. Relationships are set afterwards with SetManager and AddSponsor.
func (s *Service) Import(ctx context.Context, tenant string, o *Object) error {
	props, err := CheckProps(o.Kind, o.Props, false, true)
	if err != nil {
		return err
	}
	delete(props, "passwordProfile")
	dropNulls(props)
	o = &Object{ID: NormalizeID(o.ID), Kind: o.Kind, Props: props}
	if _, ok := o.Props["createdDateTime"]; !ok && o.Kind != KindOrgContact {
		o.Props["createdDateTime"] = s.now().UTC().Format(time.RFC3339)
	}
	if o.ID == "" {
		o.ID = uuid.NewString()
	}
	u, err := uuid.Parse(o.ID)
	if err != nil {
		return Invalid("Invalid object identifier '%s'.", o.ID)
	}
	o.ID = u.String()
	if o.Kind == KindUser {
		if err := CheckUPN(o.String("userPrincipalName")); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, tenant, func(tx Tx) error { return tx.Insert(o) })
}

// Update applies a PATCH: listed properties are replaced, nulls clear them.
func (s *Service) Update(ctx context.Context, tenant string, kind Kind, key string, patch map[string]any) error {
	patch, err := CheckProps(kind, patch, false, false)
	if err != nil {
		return err
	}
	if err := checkWriteOnly(kind, patch); err != nil {
		return err
	}
	if kind == KindUser {
		if v, ok := patch["userPrincipalName"]; ok {
			upn, _ := v.(string)
			if err := CheckUPN(upn); err != nil {
				return err
			}
		}
	}
	return s.store.Update(ctx, tenant, func(tx Tx) error {
		o, err := Resolve(tx, kind, key)
		if err != nil {
			return err
		}
		if o, err = o.Clone(); err != nil {
			return err
		}
		for k, v := range patch {
			o.Props[k] = v
		}
		dropNulls(o.Props)
		return tx.Replace(o)
	})
}

// Delete removes an object and every relationship it is part of.
func (s *Service) Delete(ctx context.Context, tenant string, kind Kind, key string) error {
	return s.store.Update(ctx, tenant, func(tx Tx) error {
		o, err := Resolve(tx, kind, key)
		if err != nil {
			return err
		}
		return tx.Delete(o.ID)
	})
}

// SetManager makes ref the manager of the user key names. The manager must be a user or an org contact,
// not the user itself, and not someone who reports to the user (directly or through others): Graph does
// not document a cycle check, but a cycle would make every chain walk meaningless, so orgraph refuses it.
func (s *Service) SetManager(ctx context.Context, tenant, key string, ref Ref) error {
	return s.store.Update(ctx, tenant, func(tx Tx) error {
		return setManager(tx, key, ref)
	})
}

func setManager(tx Tx, key string, ref Ref) error {
	u, err := Resolve(tx, KindUser, key)
	if err != nil {
		return err
	}
	m, err := Resolve(tx, ref.Kind, ref.ID)
	if err != nil {
		return err
	}
	if m.Kind != KindUser && m.Kind != KindOrgContact {
		return Invalid("Unsupported referenced-object resource identifier for link property 'manager'.")
	}
	if m.ID == u.ID {
		return Invalid("A user cannot be their own manager.")
	}
	if u.ManagerID == m.ID {
		return nil
	}
	// A cycle needs u above m, so someone must report to u. Most users manage nobody, and for them one
	// index probe replaces the walk up from m.
	reports, err := tx.CountDirectReports(u.ID, ListQuery{})
	if err != nil {
		return err
	}
	if reports > 0 {
		above, err := tx.ChainIDs(m.ID, 0)
		if err != nil {
			return err
		}
		for _, id := range above {
			if id == u.ID {
				return Invalid("Assigning '%s' as the manager of '%s' would create a cycle in the management chain.", m.ID, u.ID)
			}
		}
	}
	return tx.SetManager(u.ID, m.ID)
}

// RemoveManager clears the manager of the user key names; a user with no manager is a 404, as in Graph.
func (s *Service) RemoveManager(ctx context.Context, tenant, key string) error {
	return s.store.Update(ctx, tenant, func(tx Tx) error {
		u, err := Resolve(tx, KindUser, key)
		if err != nil {
			return err
		}
		if u.ManagerID == "" {
			return NotFound("manager")
		}
		return tx.SetManager(u.ID, "")
	})
}

// AddSponsor adds ref, a user or a group, to the sponsors of the user key names, up to MaxSponsors.
func (s *Service) AddSponsor(ctx context.Context, tenant, key string, ref Ref) error {
	return s.store.Update(ctx, tenant, func(tx Tx) error {
		u, err := Resolve(tx, KindUser, key)
		if err != nil {
			return err
		}
		sp, err := Resolve(tx, ref.Kind, ref.ID)
		if err != nil {
			return err
		}
		if sp.Kind != KindUser && sp.Kind != KindGroup {
			return Invalid("Unsupported referenced-object resource identifier for link property 'sponsors'.")
		}
		if sp.ID == u.ID {
			return Invalid("A user cannot be their own sponsor.")
		}
		current, err := tx.Sponsors(u.ID)
		if err != nil {
			return err
		}
		for _, c := range current {
			if c.ID == sp.ID {
				return DuplicateReference("sponsors")
			}
		}
		if len(current) >= MaxSponsors {
			return Invalid("A user can have at most %d sponsors.", MaxSponsors)
		}
		return tx.AddSponsor(u.ID, sp.ID)
	})
}

// RemoveSponsor removes ref from the sponsors of the user key names; a sponsor that is not one is a 404.
func (s *Service) RemoveSponsor(ctx context.Context, tenant, key string, ref Ref) error {
	return s.store.Update(ctx, tenant, func(tx Tx) error {
		u, err := Resolve(tx, KindUser, key)
		if err != nil {
			return err
		}
		sp, err := Resolve(tx, ref.Kind, ref.ID)
		if err != nil {
			return err
		}
		err = tx.RemoveSponsor(u.ID, sp.ID)
		if errors.Is(err, ErrNotFound) {
			return NotFound(ref.ID)
		}
		return err
	})
}

// CheckUPN applies Graph's shape rule for userPrincipalName: alias@domain, both parts present. Graph also
// requires a verified domain of the tenant; orgraph accepts any domain so code written for Graph runs unchanged.
func CheckUPN(upn string) error {
	at := strings.IndexByte(upn, '@')
	if at <= 0 || at != strings.LastIndexByte(upn, '@') || at == len(upn)-1 || strings.ContainsAny(upn, " /\\\"") {
		return InvalidValue("userPrincipalName", KindUser)
	}
	return nil
}

// checkWriteOnly validates write-only properties and removes them: orgraph never stores a password in the clear.
func checkWriteOnly(kind Kind, props map[string]any) error {
	if kind != KindUser {
		return nil
	}
	if v, ok := props["passwordProfile"]; ok {
		pp, _ := v.(map[string]any)
		if pw, _ := pp["password"].(string); pw == "" {
			return InvalidValue("passwordProfile", kind)
		}
		delete(props, "passwordProfile")
	}
	return nil
}

func dropNulls(props map[string]any) {
	for k, v := range props {
		if v == nil {
			delete(props, k)
		}
	}
}
