package directory

import "fmt"

// Code classifies a domain error; the HTTP layer maps each code to one Graph status and error code.
type Code int

// The classes of domain error.
const (
	// CodeNotFound: the object, or the relationship asked for, does not exist (Graph: 404 Request_ResourceNotFound).
	CodeNotFound Code = iota + 1
	// CodeInvalid: the request names something impossible (Graph: 400 Request_BadRequest).
	CodeInvalid
	// CodeConflict: the write would break a uniqueness rule or add a reference that exists (Graph: 400 Request_BadRequest).
	CodeConflict
	// CodeUnsupported: a valid request that Graph refuses to evaluate (Graph: 400 Request_UnsupportedQuery).
	CodeUnsupported
)

// Error is a domain error. Message is written for the client, in Graph's words where Graph has words for it.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true for every not-found error, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels to test an error's class with errors.Is.
var (
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrInvalid     = &Error{Code: CodeInvalid}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrUnsupported = &Error{Code: CodeUnsupported}
)

// NotFound is Graph's error for an id (or a navigation such as "manager") that resolves to nothing.
func NotFound(resource string) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", resource)}
}

// Invalid is a 400 with the given message.
func Invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// InvalidValue is Graph's error for a property value it will not accept.
func InvalidValue(property string, kind Kind) *Error {
	return Invalid("Invalid value specified for property '%s' of resource '%s'.", property, resourceName(kind))
}

// DuplicateValue is Graph's error for a second object with a unique property's value.
func DuplicateValue(property string) *Error {
	return &Error{Code: CodeConflict, Message: fmt.Sprintf("Another object with the same value for property %s already exists.", property)}
}

// DuplicateReference is Graph's error for adding a reference that is already there.
func DuplicateReference(navigation string) *Error {
	return &Error{Code: CodeConflict, Message: fmt.Sprintf("One or more added object references already exist for the following modified properties: '%s'.", navigation)}
}

// Unsupported is a 400 Request_UnsupportedQuery with the given message.
func Unsupported(format string, args ...any) *Error {
	return &Error{Code: CodeUnsupported, Message: fmt.Sprintf(format, args...)}
}

func resourceName(k Kind) string {
	switch k {
	case KindGroup:
		return "Group"
	case KindOrgContact:
		return "OrgContact"
	}
	return "User"
}
