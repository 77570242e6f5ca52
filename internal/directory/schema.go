package directory

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"
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
	// Filter lists the $filter operations Graph evaluates on the property; the zero value: none.
	Filter FilterSupport
	// OrderBy says whether Graph sorts by the property.
	OrderBy Support
	// Search marks the properties Graph's $search tokenizes (Tokenize); $search on other filterable
	// strings is a startsWith.
	Search bool
}

// Support says whether Graph evaluates a query feature on a property, and when.
type Support uint8

const (
	// NotSupported: Graph answers 400 Request_UnsupportedQuery.
	NotSupported Support = iota
	// Default: works in every request.
	Default
	// Advanced: works only in advanced queries, with ConsistencyLevel: eventual and $count=true.
	Advanced
)

// FilterSupport is a property's row of Graph's table of $filter support on directory objects
// (https://learn.microsoft.com/graph/aad-advanced-queries). Rules that hold for every property are not
// repeated here: in goes with eq, ne and not need advanced queries wherever eq works, and on a string
// collection every operation is made inside any().
type FilterSupport struct {
	Eq         Support // eq, in, and (advanced) ne and not
	StartsWith Support
	EndsWith   Support // advanced only, where supported at all
	Range      Support // ge, le, gt, lt: date-times only
	Null       Support // eq null and ne null
}

// Schema is the set of properties of one kind.
type Schema struct {
	Kind       Kind
	Properties []Property
	byName     map[string]*Property
	index      map[string]int
}

// MaxProperties bounds the properties of any kind, so a renderer can index them in a fixed-size array.
const MaxProperties = 64

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

// Index returns the position in Properties of the property with exactly this name, or -1: the lookup of
// names as stored (always the schema's own), taken as bytes so that looking one up allocates nothing.
func (s *Schema) Index(name []byte) int {
	if i, ok := s.index[string(name)]; ok {
		return i
	}
	return -1
}

func newSchema(k Kind, props []Property) *Schema {
	if len(props) > MaxProperties {
		panic("directory: more than MaxProperties properties of " + string(k))
	}
	s := &Schema{Kind: k, Properties: props, byName: map[string]*Property{}, index: map[string]int{}}
	for i := range s.Properties {
		s.byName[strings.ToLower(s.Properties[i].Name)] = &s.Properties[i]
		s.index[s.Properties[i].Name] = i
	}
	return s
}

// cols is a string property's $filter support in the columns of Graph's table: eq, startsWith, eq null.
func cols(eq, startsWith, null Support) FilterSupport {
	return FilterSupport{Eq: eq, StartsWith: startsWith, Null: null}
}

// Shorthands for the table below.
const (
	no  = NotSupported
	def = Default
	adv = Advanced
)

var schemas = map[Kind]*Schema{
	// Default properties and required-on-create ones as listed on Graph's user resource and create-user pages;
	// $filter and $orderby support as in the tables of Graph's advanced query page.
	KindUser: newSchema(KindUser, []Property{
		{Name: "accountEnabled", Type: TypeBool, Required: true, Filter: cols(def, no, no)},
		{Name: "ageGroup", Type: TypeString, Filter: cols(def, no, no)},
		{Name: "businessPhones", Type: TypeStrings, Default: true, Filter: cols(adv, adv, no)},
		{Name: "city", Type: TypeString, Filter: cols(def, def, adv)},
		{Name: "companyName", Type: TypeString, Filter: cols(adv, adv, adv)},
		{Name: "country", Type: TypeString, Filter: cols(def, def, adv)},
		{Name: "createdDateTime", Type: TypeDateTime, ReadOnly: true, Filter: FilterSupport{Eq: def, Range: def, Null: adv}, OrderBy: adv},
		{Name: "creationType", Type: TypeString, ReadOnly: true, Filter: cols(def, no, no)},
		{Name: "department", Type: TypeString, Filter: cols(def, def, adv)},
		{Name: "displayName", Type: TypeString, Default: true, Required: true, Filter: cols(def, def, adv), OrderBy: def, Search: true},
		{Name: "employeeHireDate", Type: TypeDateTime, Filter: FilterSupport{Eq: adv, Range: adv}},
		{Name: "employeeId", Type: TypeString, Filter: cols(def, no, adv)},
		{Name: "employeeType", Type: TypeString, Filter: cols(adv, no, no)},
		{Name: "externalUserState", Type: TypeString, ReadOnly: true, Filter: cols(def, no, no)},
		{Name: "givenName", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "jobTitle", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "mail", Type: TypeString, Default: true, Filter: FilterSupport{Eq: def, StartsWith: def, EndsWith: adv, Null: adv}},
		{Name: "mailNickname", Type: TypeString, Required: true, Filter: cols(def, def, adv)},
		{Name: "mobilePhone", Type: TypeString, Default: true, Filter: cols(adv, adv, adv)},
		{Name: "officeLocation", Type: TypeString, Default: true, Filter: cols(adv, adv, adv)},
		{Name: "otherMails", Type: TypeStrings, Filter: FilterSupport{Eq: def, StartsWith: def, EndsWith: adv}},
		{Name: "passwordPolicies", Type: TypeString, Filter: cols(no, no, adv)},
		{Name: "passwordProfile", Type: TypeObject, Required: true, WriteOnly: true},
		{Name: "postalCode", Type: TypeString, Filter: cols(adv, adv, adv)},
		{Name: "preferredLanguage", Type: TypeString, Default: true, Filter: cols(adv, adv, adv)},
		{Name: "proxyAddresses", Type: TypeStrings, ReadOnly: true, Filter: FilterSupport{Eq: def, StartsWith: def, EndsWith: adv}},
		{Name: "state", Type: TypeString, Filter: cols(def, no, adv)},
		{Name: "streetAddress", Type: TypeString, Filter: cols(adv, adv, adv)},
		{Name: "surname", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "usageLocation", Type: TypeString, Filter: cols(def, def, adv)},
		{Name: "userPrincipalName", Type: TypeString, Default: true, Required: true, Filter: FilterSupport{Eq: def, StartsWith: def, EndsWith: adv}, OrderBy: def},
		{Name: "userType", Type: TypeString, Filter: cols(def, no, adv)},
	}),
	// Graph's table leaves out the group's createdDateTime (filtering on it is Request_UnsupportedQuery, as the
	// advanced query page shows) and groupTypes, which the group resource page lists with eq.
	KindGroup: newSchema(KindGroup, []Property{
		{Name: "classification", Type: TypeString, Default: true, Filter: cols(def, def, no)},
		{Name: "createdDateTime", Type: TypeDateTime, Default: true, ReadOnly: true},
		{Name: "description", Type: TypeString, Default: true, Filter: cols(adv, adv, adv), Search: true},
		{Name: "displayName", Type: TypeString, Default: true, Required: true, Filter: cols(def, def, adv), OrderBy: def, Search: true},
		{Name: "groupTypes", Type: TypeStrings, Default: true, Filter: cols(def, no, no)},
		{Name: "isAssignableToRole", Type: TypeBool, Default: true, Filter: cols(def, no, no)},
		{Name: "mail", Type: TypeString, Default: true, ReadOnly: true, Filter: cols(def, def, adv)},
		{Name: "mailEnabled", Type: TypeBool, Default: true, Required: true, Filter: cols(def, no, no)},
		{Name: "mailNickname", Type: TypeString, Default: true, Required: true, Filter: cols(def, def, adv)},
		{Name: "membershipRule", Type: TypeString, Default: true, Filter: cols(def, def, no)},
		{Name: "preferredLanguage", Type: TypeString, Default: true, Filter: cols(adv, adv, adv)},
		{Name: "proxyAddresses", Type: TypeStrings, Default: true, ReadOnly: true, Filter: cols(def, def, no)},
		{Name: "securityEnabled", Type: TypeBool, Default: true, Required: true, Filter: cols(def, no, no)},
		{Name: "securityIdentifier", Type: TypeString, Default: true, ReadOnly: true},
		{Name: "theme", Type: TypeString, Default: true},
		{Name: "visibility", Type: TypeString, Default: true},
	}),
	// Org contacts are synchronised into Entra ID, never created through Graph: only import writes them,
	// so nothing is read-only or required for the API's sake.
	KindOrgContact: newSchema(KindOrgContact, []Property{
		{Name: "addresses", Type: TypeObjects, Default: true},
		{Name: "companyName", Type: TypeString, Default: true, Filter: cols(adv, adv, adv)},
		{Name: "department", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "displayName", Type: TypeString, Default: true, Filter: cols(def, def, adv), OrderBy: adv, Search: true},
		{Name: "givenName", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "jobTitle", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "mail", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "mailNickname", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
		{Name: "onPremisesLastSyncDateTime", Type: TypeDateTime, Default: true, Filter: FilterSupport{Eq: def, Range: def}},
		{Name: "onPremisesSyncEnabled", Type: TypeBool, Default: true, Filter: cols(def, no, adv)},
		{Name: "phones", Type: TypeObjects, Default: true},
		{Name: "proxyAddresses", Type: TypeStrings, Default: true, Filter: cols(def, def, no)},
		{Name: "surname", Type: TypeString, Default: true, Filter: cols(def, def, adv)},
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

// validText reports whether every backend can store s: PostgreSQL's text and JSONB hold neither NUL nor
// invalid UTF-8 (JSON decoding already replaces the latter, but not every caller decodes JSON).
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// errBadValue is what checkValue reports; callers turn it into Graph's message for the property.
var errBadValue = errors.New("value of the wrong type")

func checkValue(p *Property, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := errBadValue
	switch p.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok || !validText(s) {
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
		// An offset can move a year-0001 or year-9999 time out of RFC 3339's four-digit years once in UTC,
		// where it would no longer parse back (found by FuzzBody).
		if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
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
			if !ok || !validText(s) {
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
