package transfer

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
)

// fuzzHeader is the header line every file needs; the line targets put their input after it.
const fuzzHeader = `{"orgraph":1,"kind":"header"}` + "\n"

// fuzzLines are single lines, good and bad, that the fuzz targets start from.
var fuzzLines = []string{
	`{"kind":"user","id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0","props":{"displayName":"Ada","userPrincipalName":"ada@contoso.com","accountEnabled":true,"createdDateTime":"2021-01-02T03:04:05Z"}}`,
	`{"kind":"user","id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e1","props":{"userPrincipalName":"bob@contoso.com","businessPhones":["1"]},"manager":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"}`,
	`{"kind":"group","id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e2","props":{"displayName":"G","groupTypes":[],"mail":"g@x"}}`,
	`{"kind":"orgContact","id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e3","props":{"addresses":[{"city":"Oslo"}],"onPremisesLastSyncDateTime":"2020-02-02T00:00:00+01:00"}}`,
	`{"kind":"sponsor","user":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e1","sponsor":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e2"}`,
	`{"kind":"user","id":"6EA91A8D-E32E-41A1-B7BD-D2D185EED0E0","props":{}}`,
	`{"kind":"user","id":"x","props":{"userPrincipalName":"a@b"},"extra":1}`,
	`{"kind":"header","orgraph":1}`, `{"kind":"sponsor","user":"a"}`, `[1]`, `{"kind":"group"`, `{} {}`, ``,
	"{\"kind\":\"user\",\"id\":\"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e4\",\"props\":{\"displayName\":\"\xff\\u0000\"}}",
}

// FuzzImportLine reads one line of an import file. Reading never panics; a line it takes is an object with a
// canonical UUID, a known kind and properties valid under the schema (checking them again changes nothing),
// a user among them with a well-formed userPrincipalName; or a sponsor line naming both sides.
func FuzzImportLine(f *testing.F) {
	for _, l := range fuzzLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		file, err := read(context.Background(), bytes.NewReader(append([]byte(fuzzHeader), line...)))
		if err != nil {
			var le LineError
			if !errors.As(err, &le) {
				t.Fatalf("read(%q): %v is not a LineError", line, err)
			}
			return
		}
		if len(file.objects)+len(file.sponsors) > 1 {
			t.Fatalf("read(%q): one line gave %d objects and %d sponsors", line, len(file.objects), len(file.sponsors))
		}
		for _, o := range file.objects {
			if u, err := uuid.Parse(o.id); err != nil || u.String() != o.id {
				t.Fatalf("read(%q): id %q is not canonical", line, o.id)
			}
			if _, ok := directory.ParseKind(string(o.kind)); !ok {
				t.Fatalf("read(%q): kind %q", line, o.kind)
			}
			if o.bad {
				continue
			}
			again, err := directory.CheckProps(o.kind, o.props, false, true)
			if err != nil || !reflect.DeepEqual(again, o.props) {
				t.Fatalf("read(%q): props %v check again as %v, %v", line, o.props, again, err)
			}
			if o.kind == directory.KindUser {
				upn, _ := o.props["userPrincipalName"].(string)
				if directory.CheckUPN(upn) != nil {
					t.Fatalf("read(%q): user taken with userPrincipalName %q", line, upn)
				}
			}
		}
		for _, s := range file.sponsors {
			if s.user == "" || s.sponsor == "" {
				t.Fatalf("read(%q): sponsor line %+v", line, s)
			}
		}
	})
}

// FuzzImport imports whole files into an empty tenant. Import never panics; whatever it accepts leaves the
// directory whole (directory.CheckInvariants finds nothing) and round-trips: exported, imported into another
// empty tenant and exported again, it gives the same bytes and the same counts.
func FuzzImport(f *testing.F) {
	// Seeds stay small: every input the fuzzer finds interesting is minimized by running it again and again,
	// and an import costs a few transactions.
	good := fuzzHeader + strings.Join([]string{
		`{"kind":"user","id":"00000000-0000-4000-8000-00000000000a","props":{"accountEnabled":true,"businessPhones":["+1 555"],"createdDateTime":"2021-01-02T03:04:05Z","displayName":"Ada","employeeHireDate":"2020-02-29T00:00:00Z","userPrincipalName":"ada@contoso.com"}}`,
		`{"kind":"user","id":"00000000-0000-4000-8000-00000000000b","props":{"displayName":"Bob","userPrincipalName":"bob@contoso.com","userType":"Guest"},"manager":"00000000-0000-4000-8000-00000000000a"}`,
		`{"kind":"orgContact","id":"00000000-0000-4000-8000-00000000000c","props":{"addresses":[{"city":"Oslo"}],"displayName":"Cy"}}`,
		`{"kind":"user","id":"00000000-0000-4000-8000-00000000000d","props":{"displayName":"Di","userPrincipalName":"di@contoso.com"},"manager":"00000000-0000-4000-8000-00000000000c"}`,
		`{"kind":"group","id":"00000000-0000-4000-8000-00000000000e","props":{"displayName":"Eng","groupTypes":["Unified"],"mailEnabled":false}}`,
		`{"kind":"sponsor","user":"00000000-0000-4000-8000-00000000000b","sponsor":"00000000-0000-4000-8000-00000000000a"}`,
		`{"kind":"sponsor","user":"00000000-0000-4000-8000-00000000000b","sponsor":"00000000-0000-4000-8000-00000000000e"}`,
	}, "\n") + "\n"
	f.Add([]byte(good), false)
	f.Add([]byte("\ufeff"+good), true)
	f.Add([]byte(fuzzHeader+strings.Join(fuzzLines, "\n")), false)
	f.Add([]byte(fuzzHeader+strings.Join(fuzzLines, "\n")), true)
	cycle := fuzzHeader +
		`{"kind":"user","id":"00000000-0000-4000-8000-000000000001","props":{"userPrincipalName":"a@x"},"manager":"00000000-0000-4000-8000-000000000002"}` + "\n" +
		`{"kind":"user","id":"00000000-0000-4000-8000-000000000002","props":{"userPrincipalName":"b@x"},"manager":"00000000-0000-4000-8000-000000000001"}` + "\n"
	f.Add([]byte(cycle), true)
	ctx := context.Background()
	st, _ := openStore(f)

	newTenant := func(t *testing.T) string {
		id := uuid.NewString()
		if err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: "fuzz", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	export := func(t *testing.T, tenant string) ([]byte, Summary) {
		var buf bytes.Buffer
		sum, err := Export(ctx, st, tenant, &buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), sum
	}
	// empty is a tenant kept for the next input while imports into it fail, which leave it empty: most
	// inputs then cost one rolled-back transaction.
	var empty string
	f.Fuzz(func(t *testing.T, data []byte, skipBad bool) {
		if empty == "" {
			empty = newTenant(t)
		}
		first := empty
		imported, err := Import(ctx, st, first, bytes.NewReader(data), Options{SkipBad: skipBad})
		if err != nil {
			if n := count(t, st, first); n != 0 {
				t.Fatalf("a failed import left %d objects", n)
			}
			return
		}
		empty = ""
		defer st.DeleteTenant(ctx, first)
		err = st.View(ctx, first, func(tx directory.Tx) error {
			if problems := directory.CheckInvariants(tx); len(problems) > 0 {
				t.Fatalf("the import broke the directory: %v", problems)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out, exported := export(t, first)
		imported.Skipped = nil
		if !reflect.DeepEqual(imported, exported) {
			t.Fatalf("imported %+v, exported %+v", imported, exported)
		}
		second := newTenant(t)
		defer st.DeleteTenant(ctx, second)
		if _, err := Import(ctx, st, second, bytes.NewReader(out), Options{}); err != nil {
			t.Fatalf("the export of an import does not import: %v\n%s", err, out)
		}
		if again, _ := export(t, second); !bytes.Equal(out, again) {
			t.Fatalf("export, import, export differs:\n%s\n----\n%s", out, again)
		}
	})
}
