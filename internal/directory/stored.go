package directory

import (
	"encoding/json"
	"errors"
	"fmt"
)

// errStored is the error of a stored properties document that is not a JSON object.
var errStored = errors.New("stored properties are not a JSON object")

// Decode fills o.Props from o.Stored when Props is nil, so code that changes or inspects properties can use
// the map whatever the object came from. It fails only on a stored document that is not a JSON object.
func (o *Object) Decode() error {
	if o.Props != nil {
		return nil
	}
	props := map[string]any{}
	if len(o.Stored) > 0 {
		if err := json.Unmarshal(o.Stored, &props); err != nil {
			return fmt.Errorf("object %s: %w: %w", o.ID, errStored, err)
		}
	}
	o.Props = props
	return nil
}

// Prop returns the decoded value of one property and whether it is set. On an object read from a store it
// decodes that one value only.
func (o *Object) Prop(name string) (any, bool) {
	if o.Props != nil || len(o.Stored) == 0 {
		v, ok := o.Props[name]
		return v, ok
	}
	var (
		v     any
		found bool
	)
	err := EachMember(o.Stored, func(key, raw []byte) bool {
		if string(key) != name {
			return true
		}
		found = json.Unmarshal(raw, &v) == nil
		return false
	})
	if err != nil || !found {
		return nil, false
	}
	return v, true
}

// EachMember calls fn with the name and the raw JSON value of each member of the JSON object b, in order,
// until fn returns false. It is how a read copies stored properties into a response without decoding them.
// b is expected to be valid JSON, as stores keep it (SQLite holds what json.Marshal wrote, PostgreSQL
// checks jsonb); it reports malformed structure as an error rather than validate every literal, and never
// reads outside b. A name with escapes is passed still escaped (property names have none).
func EachMember(b []byte, fn func(name, value []byte) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errStored
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errStored
		}
		end := skipString(b, i)
		if end < 0 {
			return errStored
		}
		name := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errStored
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if end < 0 {
			return errStored
		}
		if !fn(name, b[i:end]) {
			return nil
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return errStored
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return trailing(b, i+1)
		default:
			return errStored
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errStored
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a quote), or -1 if it does not end.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1 if it is cut short or unbalanced.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		closers := make([]byte, 0, 16) // the brackets still open, as the bytes that close them
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := skipString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{':
				closers = append(closers, '}')
			case '[':
				closers = append(closers, ']')
			case '}', ']':
				if closers[len(closers)-1] != b[i] {
					return -1
				}
				closers = closers[:len(closers)-1]
				if len(closers) == 0 {
					return i + 1
				}
			}
		}
		return -1
	case ',', '}', ']', ':':
		return -1
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	if i == start {
		return -1
	}
	return i
}
