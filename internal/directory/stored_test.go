package directory_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/orgraph/orgraph/internal/directory"
)

// members decodes b with EachMember, the values through encoding/json.
func members(t *testing.T, b []byte) (map[string]any, []string, error) {
	t.Helper()
	got := map[string]any{}
	var order []string
	err := directory.EachMember(b, func(name, v []byte) bool {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			t.Fatalf("value %q of %q is not JSON: %v", v, name, err)
		}
		got[string(name)] = x
		order = append(order, string(name))
		return true
	})
	return got, order, err
}

func TestEachMember(t *testing.T) {
	for _, in := range []string{
		`{}`,
		` { } `,
		`{"a":"x","b":true,"c":null,"d":1.5e3,"e":["p","q"],"f":{"g":[{"h":"}"}]},"i":"\"\\\u00e9"}`,
		// PostgreSQL's jsonb text form, with spaces.
		`{"a": "x", "bb": [1, 2], "ccc": {"d": false}}`,
	} {
		got, order, err := members(t, []byte(in))
		if err != nil {
			t.Fatalf("EachMember(%s): %v", in, err)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || len(order) != len(want) {
			t.Errorf("EachMember(%s) = %v, want %v", in, got, want)
		}
	}
	for _, in := range []string{``, `[]`, `"a"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1`, `{"a":"x}`, `{"a":[1}`, `{} x`, `{a:1}`} {
		if _, _, err := members(t, []byte(in)); err == nil {
			t.Errorf("EachMember(%s) = nil error, want one", in)
		}
	}
}

func TestEachMemberStops(t *testing.T) {
	n := 0
	err := directory.EachMember([]byte(`{"a":1,"b":2,"c":3}`), func(name, _ []byte) bool {
		n++
		return string(name) != "b"
	})
	if err != nil || n != 2 {
		t.Fatalf("EachMember stopping at b: %d calls, %v", n, err)
	}
}

func TestStoredObject(t *testing.T) {
	o := &directory.Object{ID: "1", Kind: directory.KindUser, Stored: []byte(`{"displayName":"Ada","accountEnabled":false}`)}
	if got := o.String("displayName"); got != "Ada" {
		t.Errorf("String(displayName) = %q", got)
	}
	if v, ok := o.Prop("accountEnabled"); !ok || v != false {
		t.Errorf("Prop(accountEnabled) = %v, %v", v, ok)
	}
	if _, ok := o.Prop("city"); ok {
		t.Error("Prop(city) is set")
	}
	c, err := o.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.Props["displayName"] = "Grace"
	if c.Stored != nil || o.String("displayName") != "Ada" {
		t.Errorf("Clone shares state: clone %+v, original %+v", c, o)
	}
	bad := &directory.Object{ID: "2", Stored: []byte(`[1]`)}
	if err := bad.Decode(); err == nil {
		t.Error("Decode of a stored array succeeded")
	}
}

// FuzzEachMember: on any input EachMember returns without panicking and hands out only slices of its input;
// on a JSON object it yields exactly the members encoding/json sees, each value valid JSON.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"x","b":[1,{"c":"]"}]}`, `{"a": "x\"y", "b": null}`, `{"a":1,}`, `{"a":[}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var names []string
		vals := map[string][]byte{}
		err := directory.EachMember(b, func(name, v []byte) bool {
			if !bytes.Contains(b, v) {
				t.Fatalf("value %q is not part of the input", v)
			}
			names = append(names, string(name))
			vals[string(name)] = v
			return true
		})
		var want map[string]json.RawMessage
		if json.Unmarshal(b, &want) != nil || want == nil || bytes.Contains(b, []byte(`\`)) || !utf8.Valid(b) {
			return // not a JSON object, or names encoding/json rewrites and EachMember does not
		}
		if err != nil {
			t.Fatalf("EachMember(%q): %v on a JSON object", b, err)
		}
		if len(vals) != len(want) {
			t.Fatalf("EachMember(%q) names %v, encoding/json %d", b, names, len(want))
		}
		for name, v := range want {
			if !json.Valid(vals[name]) || !bytes.Equal(compact(t, vals[name]), compact(t, v)) {
				t.Fatalf("member %q = %q, encoding/json %q", name, vals[name], v)
			}
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
