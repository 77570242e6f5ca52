package transfer

import (
	"reflect"
	"testing"
)

// FuzzDecodeFast checks that decodeFast, wherever it takes a line, reads it as decode does.
func FuzzDecodeFast(f *testing.F) {
	for _, l := range fuzzLines {
		f.Add([]byte(l))
	}
	for _, l := range []string{
		` { "kind" : "user" , "id":"x", "props" : { "a" : [ true , false , null , { } , [ ] ] } , "manager":"m" } `,
		`{"kind":"sponsor","user":"u","sponsor":"s"}`,
		`{"Kind":"user"}`, `{"kind":"user","kind":"group"}`, `{"props":{"a":1,"a":2}}`, `{"props":null}`,
		`{"kind":"us\u0065r"}`, `{"kind":"Zoë"}`, "{\"kind\":\"\xff\"}", `{"props":{"a":tru}}`, `{"props":{"a":nullx}}`,
		`{}`, `{} x`, `{"id":"a",}`, `{"props":{"d":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}`,
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := decodeFast(line, map[string]any{})
		if !ok {
			return
		}
		slow, err := decode(line)
		if err != nil {
			t.Fatalf("decodeFast took %q, which decode refuses: %v", line, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: decodeFast read %#v, decode %#v", line, fast, slow)
		}
	})
}
