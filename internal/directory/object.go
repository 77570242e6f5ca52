package directory

import "strings"

// Kind is the concrete type of a directory object, named as Graph names the entity type.
type Kind string

// The kinds of directory object orgraph keeps.
const (
	KindUser       Kind = "user"
	KindGroup      Kind = "group"
	KindOrgContact Kind = "orgContact"
)

// Kinds lists every kind, in a fixed order.
var Kinds = []Kind{KindUser, KindGroup, KindOrgContact}

// ODataType is the value of @odata.type for objects of this kind, which the SDKs need to hand back typed objects.
func (k Kind) ODataType() string { return "#microsoft.graph." + string(k) }

// EntitySet is the top-level collection objects of this kind live in ("users", "groups", "contacts").
func (k Kind) EntitySet() string {
	switch k {
	case KindUser:
		return "users"
	case KindGroup:
		return "groups"
	case KindOrgContact:
		return "contacts"
	}
	return "directoryObjects"
}

// ParseKind maps a Graph type name ("user", "microsoft.graph.user", "#microsoft.graph.user", "graph.user") to a Kind.
func ParseKind(s string) (Kind, bool) {
	s = strings.TrimPrefix(s, "#")
	s = strings.TrimPrefix(s, "microsoft.")
	s = strings.TrimPrefix(s, "graph.")
	for _, k := range Kinds {
		if strings.EqualFold(s, string(k)) {
			return k, true
		}
	}
	return "", false
}

// Object is one directory object. Props holds its Graph properties other than id, as decoded JSON values
// (string, bool, float64, []any, map[string]any); a property that is unset is absent, never nil.
// An object read from a store leaves Props nil and carries Stored instead, the properties' JSON object as
// the store keeps it: most reads only copy properties into a response, and decoding them into maps was the
// largest cost of a read. Props, when not nil, is what the object holds; Decode fills it from Stored.
// ManagerID is read-only here: it is changed only through Tx.SetManager, so that the cycle check cannot be bypassed.
type Object struct {
	ID        string
	Kind      Kind
	Props     map[string]any
	Stored    []byte
	ManagerID string
}

// String returns the string value of a property, or "" when it is unset or not a string.
func (o *Object) String(name string) string {
	v, _ := o.Prop(name)
	s, _ := v.(string)
	return s
}

// Clone returns a copy whose Props can be changed without touching o; it decodes stored properties.
func (o *Object) Clone() (*Object, error) {
	if err := o.Decode(); err != nil {
		return nil, err
	}
	c := *o
	c.Stored = nil
	c.Props = make(map[string]any, len(o.Props))
	for k, v := range o.Props {
		c.Props[k] = v
	}
	return &c, nil
}

// UPNKey is the form in which userPrincipalName is unique and looked up: Graph compares it case-insensitively.
func UPNKey(upn string) string { return strings.ToLower(upn) }
