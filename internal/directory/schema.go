package directory

import (
	"fmt"
	"strings"
	"time"
)

// Type is the JSON shape of a property's value.
type Type int

// The property types orgraph stores.
const (
	TypeString Type = iota + 1
	TypeBool
	TypeStrings  // a collection of strings
	TypeDateTime // a string in RFC 3339 form
	TypeObjects  // a collection of complex values (addresses, phones), kept as given
	TypeObject   // one complex value (passwordProfile), never returned
)

// Property describes one Graph property of a kind.
type Property struct {
	Name string
	Type Type
	// Default properties are returned when the request has no $select, as Graph does.
	Default bool
	// ReadOnly properties are set by the server; a client that writes one gets a 400.
	ReadOnly bool
	// Required properties must be present when the object is created through the API.
	Required bool
	// WriteOnly properties are accepted but never returned (passwordProfile).
	WriteOnly bool
}

// Schema is the set of properties of one kind.
type Schema struct {
	Kind       Kind
	Properties []Property
	byName     map[string]*Property
}

// Property looks a property up by name, case-insensitively as Graph does.
func (s *Schema) Property(name string) (*Property, bool) {
	p, ok := s.byName[strings.ToLower(name)]
	return p, ok
}

// DefaultSelect lists the properties returned without $select, in schema order, id first.
func (s *Schema) DefaultSelect() []string {
	names := []string{"id"}
	for _, p := range s.Properties {
		if p.Default {
			names = append(names, p.Name)
		}
	}
	return names
}

func newSchema(k Kind, props []Property) *Schema {
	s := &Schema{Kind: k, Properties: props, byName: map[string]*Property{}}
	for i := range s.Properties {
		s.byName[strings.ToLower(s.Properties[i].Name)] = &s.Properties[i]
	}
	return s
}

var schemas = map[Kind]*Schema{
	// Default properties and required-on-create ones as listed on Graph's user resource and create-user pages.
	KindUser: newSchema(KindUser, []Property{
		{Name: "accountEnabled", Type: TypeBool, Required: true},
		{Name: "ageGroup", Type: TypeString},
		{Name: "businessPhones", Type: TypeStrings, Default: true},
		{Name: "city", Type: TypeString},
		{Name: "companyName", Type: TypeString},
		{Name: "country", Type: TypeString},
		{Name: "createdDateTime", Type: TypeDateTime, ReadOnly: true},
		{Name: "creationType", Type: TypeString, ReadOnly: true},
		{Name: "department", Type: TypeString},
		{Name: "displayName", Type: TypeString, Default: true, Required: true},
		{Name: "employeeHireDate", Type: TypeDateTime},
		{Name: "employeeId", Type: TypeString},
		{Name: "employeeType", Type: TypeString},
		{Name: "externalUserState", Type: TypeString, ReadOnly: true},
		{Name: "givenName", Type: TypeString, Default: true},
		{Name: "jobTitle", Type: TypeString, Default: true},
		{Name: "mail", Type: TypeString, Default: true},
		{Name: "mailNickname", Type: TypeString, Required: true},
		{Name: "mobilePhone", Type: TypeString, Default: true},
		{Name: "officeLocation", Type: TypeString, Default: true},
		{Name: "otherMails", Type: TypeStrings},
		{Name: "passwordPolicies", Type: TypeString},
		{Name: "passwordProfile", Type: TypeObject, Required: true, WriteOnly: true},
		{Name: "postalCode", Type: TypeString},
		{Name: "preferredLanguage", Type: TypeString, Default: true},
		{Name: "proxyAddresses", Type: TypeStrings, ReadOnly: true},
		{Name: "state", Type: TypeString},
		{Name: "streetAddress", Type: TypeString},
		{Name: "surname", Type: TypeString, Default: true},
		{Name: "usageLocation", Type: TypeString},
		{Name: "userPrincipalName", Type: TypeString, Default: true, Required: true},
		{Name: "userType", Type: TypeString},
	}),
	KindGroup: newSchema(KindGroup, []Property{
		{Name: "classification", Type: TypeString, Default: true},
		{Name: "createdDateTime", Type: TypeDateTime, Default: true, ReadOnly: true},
		{Name: "description", Type: TypeString, Default: true},
		{Name: "displayName", Type: TypeString, Default: true, Required: true},
		{Name: "groupTypes", Type: TypeStrings, Default: true},
		{Name: "isAssignableToRole", Type: TypeBool, Default: true},
		{Name: "mail", Type: TypeString, Default: true, ReadOnly: true},
		{Name: "mailEnabled", Type: TypeBool, Default: true, Required: true},
		{Name: "mailNickname", Type: TypeString, Default: true, Required: true},
		{Name: "membershipRule", Type: TypeString, Default: true},
		{Name: "preferredLanguage", Type: TypeString, Default: true},
		{Name: "proxyAddresses", Type: TypeStrings, Default: true, ReadOnly: true},
		{Name: "securityEnabled", Type: TypeBool, Default: true, Required: true},
		{Name: "securityIdentifier", Type: TypeString, Default: true, ReadOnly: true},
		{Name: "theme", Type: TypeString, Default: true},
		{Name: "visibility", Type: TypeString, Default: true},
	}),
	// Org contacts are synchronised into Entra ID, never created through Graph: only import writes them,
	// so nothing is read-only or required for the API's sake.
	KindOrgContact: newSchema(KindOrgContact, []Property{
		{Name: "addresses", Type: TypeObjects, Default: true},
		{Name: "companyName", Type: TypeString, Default: true},
		{Name: "department", Type: TypeString, Default: true},
		{Name: "displayName", Type: TypeString, Default: true},
		{Name: "givenName", Type: TypeString, Default: true},
		{Name: "jobTitle", Type: TypeString, Default: true},
		{Name: "mail", Type: TypeString, Default: true},
		{Name: "mailNickname", Type: TypeString, Default: true},
		{Name: "onPremisesLastSyncDateTime", Type: TypeDateTime, Default: true},
		{Name: "onPremisesSyncEnabled", Type: TypeBool, Default: true},
		{Name: "phones", Type: TypeObjects, Default: true},
		{Name: "proxyAddresses", Type: TypeStrings, Default: true},
		{Name: "surname", Type: TypeString, Default: true},
	}),
}

// SchemaOf returns the schema of a kind.
func SchemaOf(k Kind) *Schema { return schemas[k] }

// CheckProps validates property values against the schema of kind and returns them keyed by their schema
// names (Graph matches names case-insensitively). With creating, required properties must be present;
// with trusted (import), read-only properties may be written.
func CheckProps(k Kind, in map[string]any, creating, trusted bool) (map[string]any, error) {
	s := SchemaOf(k)
	out := make(map[string]any, len(in))
	for name, v := range in {
		if strings.EqualFold(name, "id") {
			if trusted {
				continue
			}
			return nil, Invalid("Property 'id' is read-only and cannot be set.")
		}
		if strings.HasPrefix(name, "@odata.") {
			continue // annotations such as @odata.type are allowed in bodies and carry no data
		}
		p, ok := s.Property(name)
		if !ok {
			return nil, Invalid("Property '%s' does not exist as a declared property or extension property.", name)
		}
		if p.ReadOnly && !trusted {
			return nil, Invalid("Property '%s' is read-only and cannot be set.", p.Name)
		}
		cv, err := checkValue(p, v)
		if err != nil {
			return nil, InvalidValue(p.Name, k)
		}
		if cv == nil {
			if p.Required && creating {
				return nil, InvalidValue(p.Name, k)
			}
			out[p.Name] = nil // a null in a PATCH clears the property
			continue
		}
		out[p.Name] = cv
	}
	if creating && !trusted {
		for _, p := range s.Properties {
			if p.Required && out[p.Name] == nil {
				return nil, InvalidValue(p.Name, k)
			}
		}
	}
	return out, nil
}

func checkValue(p *Property, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := fmt.Errorf("property %s: unexpected %T", p.Name, v)
	switch p.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, bad
		}
		return s, nil
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad
		}
		return b, nil
	case TypeDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad
		}
		return t.UTC().Format(time.RFC3339), nil
	case TypeStrings:
		list, ok := v.([]any)
		if !ok {
			return nil, bad
		}
		out := make([]any, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, bad
			}
			out[i] = s
		}
		return out, nil
	case TypeObjects:
		list, ok := v.([]any)
		if !ok {
			return nil, bad
		}
		for _, e := range list {
			if _, ok := e.(map[string]any); !ok {
				return nil, bad
			}
		}
		return list, nil
	case TypeObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad
		}
		return m, nil
	}
	return nil, bad
}
