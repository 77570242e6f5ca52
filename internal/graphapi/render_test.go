package graphapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzWriteString: the hand-written JSON string writer produces JSON that decodes to what encoding/json's
// output decodes to, for any input (invalid UTF-8 included).
func FuzzWriteString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " back \ slash`, "tab\tnew\nline\r", "\x00\x1f", "<a&b>", "é中文", "\u2028\u2029", "\xff\xfe", "ok\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		writeString(&buf, s)
		var got string
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, buf.Bytes(), err)
		}
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

func TestWriteValue(t *testing.T) {
	var buf bytes.Buffer
	writeValue(&buf, map[string]any{"list": []any{"a", true, nil, 1.5, []any{}}, "x": "<&>"})
	want := `{"list":["a",true,null,1.5,[]],"x":"<&>"}`
	if buf.String() != want {
		t.Fatalf("got %s, want %s", buf.String(), want)
	}
}
