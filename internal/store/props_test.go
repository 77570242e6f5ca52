package store

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendProps decodes JSON objects as an import does and checks that AppendProps writes what json.Marshal
// writes for them.
func FuzzAppendProps(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"displayName":"Ada","accountEnabled":true,"businessPhones":["+1 555"],"manager":null}`,
		`{"b":1,"a":[{"city":"Oslo","street":null,"n":1.5e300,"deep":{"z":[],"y":{}}}]}`,
		`{"name":"R&D <team>","q":"say \"hi\"\\","nl":"a\nb\tc\u0001","ls":"\u2028\u2029","bad":"\udc00"}`,
		`{"ünï":"Zoë Çelik – 東京","emoji":"😀","":""}`,
		`{"Key":1,"key":2,"KEY":3,"k\u00e9y":4}`,
		`{"accountEnabled":true,"displayName":"Zoë","userPrincipalName":"a@b","mail":"x<y>","surname":null}`,
		`{"accountEnabled":true,"displayName":"Zoë","userPrincipalName":"a@b","unknown":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var props map[string]any
		if json.Unmarshal(data, &props) != nil {
			return
		}
		got, err := AppendProps([]byte("prefix"), props)
		want, wantErr := json.Marshal(props)
		if len(props) == 0 {
			want, wantErr = []byte("{}"), nil
		}
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("AppendProps(%s): error %v, json.Marshal: %v", data, err, wantErr)
		}
		if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("AppendProps(%s)\n = %s\nwant prefix%s", data, got, want)
		}
	})
}

// TestAppendPropsValues covers values JSON decoding never yields but a caller may hold.
func TestAppendPropsValues(t *testing.T) {
	for _, props := range []map[string]any{
		nil,
		{"nilList": []any(nil), "nilMap": map[string]any(nil), "strings": []string{"a", "<b>"}, "int": 7},
		{"nested": map[string]any{"list": []any{nil, true, false, "x", 2.5, map[string]any{}}}},
	} {
		got, err := AppendProps(nil, props)
		if err != nil {
			t.Fatal(err)
		}
		want := []byte("{}")
		if len(props) > 0 {
			if want, err = json.Marshal(props); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("AppendProps(%v) = %s, want %s", props, got, want)
		}
	}
}

func BenchmarkAppendProps(b *testing.B) {
	var props map[string]any
	line := `{"accountEnabled":true,"businessPhones":["+47 21 00 1234"],"city":"Oslo","companyName":"Contoso","country":"Norway",` +
		`"createdDateTime":"2019-03-04T05:06:07Z","department":"Engineering","displayName":"Ada Lovelace","employeeHireDate":"2014-01-02T00:00:00Z",` +
		`"employeeId":"E1000042","employeeType":"Employee","givenName":"Ada","jobTitle":"Engineer","mail":"ada.lovelace42@contoso.example",` +
		`"mailNickname":"ada.lovelace42","mobilePhone":"+47 21 00 4321","officeLocation":"Oslo 3/120","preferredLanguage":"nb-NO","surname":"Lovelace",` +
		`"usageLocation":"NO","userPrincipalName":"ada.lovelace42@contoso.example","userType":"Member"}`
	if err := json.Unmarshal([]byte(line), &props); err != nil {
		b.Fatal(err)
	}
	b.Run("AppendProps", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = AppendProps(buf[:0], props)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(props)
		}
	})
}
