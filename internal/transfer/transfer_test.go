package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// openStore opens a SQLite store in a temporary folder and returns it with its default tenant.
func openStore(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	return st, tenant
}

func count(t *testing.T, st directory.Transactor, tenant string) int {
	t.Helper()
	var n int
	err := st.View(context.Background(), tenant, func(tx directory.Tx) (err error) {
		n, err = tx.Count(directory.ListQuery{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func export(t *testing.T, st directory.Transactor, tenant string) ([]byte, Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Export(context.Background(), st, tenant, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sum
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, srcTenant := openStore(t)
	if err := demo.Load(ctx, directory.NewService(src), srcTenant); err != nil {
		t.Fatal(err)
	}
	first, exported := export(t, src, srcTenant)

	dst, dstTenant := openStore(t)
	var calls []int
	imported, err := Import(ctx, dst, dstTenant, bytes.NewReader(first), Options{Progress: func(n int) { calls = append(calls, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(imported, exported) {
		t.Errorf("imported %+v, exported %+v", imported, exported)
	}
	if exported.Users == 0 || exported.Groups == 0 || exported.Contacts == 0 || exported.Managers == 0 || exported.Sponsors == 0 {
		t.Errorf("the demo should exercise every kind of record: %+v", exported)
	}
	total := imported.Users + imported.Groups + imported.Contacts + imported.Managers + imported.Sponsors
	if len(calls) == 0 || calls[len(calls)-1] != total {
		t.Errorf("progress calls %v, want the last to be %d", calls, total)
	}

	second, _ := export(t, dst, dstTenant)
	if !bytes.Equal(first, second) {
		t.Fatalf("export of the import differs:\n%s\n----\n%s", first, second)
	}
	if !bytes.HasPrefix(first, []byte(`{"orgraph":1,"kind":"header"}`+"\n")) {
		t.Errorf("export starts %.60q", first)
	}

	// The relationships arrived, not just the lines: the intern's chain and a guest's sponsors in order.
	err = dst.View(ctx, dstTenant, func(tx directory.Tx) error {
		chain, err := tx.ChainIDs(demo.ID("mia.chen"), 0)
		if err != nil {
			return err
		}
		if len(chain) != 6 || chain[5] != demo.ID("patti.fernandez") {
			t.Errorf("chain of mia.chen: %v", chain)
		}
		sponsors, err := tx.Sponsors(demo.ID("hector.ruiz"))
		if err != nil {
			return err
		}
		var got []string
		for _, s := range sponsors {
			got = append(got, s.ID)
		}
		want := []string{demo.ID("ben.walters"), demo.ID("cameron.white"), demo.ID("engineering")}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("sponsors of hector.ruiz: %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRoundTripPostgres moves a tenant SQLite → PostgreSQL → SQLite, the move the format exists for; it is
// skipped where no PostgreSQL answers (see pgtest).
func TestRoundTripPostgres(t *testing.T) {
	ctx := context.Background()
	src, srcTenant := openStore(t)
	if err := demo.Load(ctx, directory.NewService(src), srcTenant); err != nil {
		t.Fatal(err)
	}
	first, _ := export(t, src, srcTenant)

	pg, err := postgres.Open(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	pgTenant, err := store.Bootstrap(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, pg, pgTenant, bytes.NewReader(first), Options{}); err != nil {
		t.Fatal(err)
	}
	fromPG, _ := export(t, pg, pgTenant)
	if !bytes.Equal(first, fromPG) {
		t.Errorf("PostgreSQL's export differs from SQLite's")
	}

	dst, dstTenant := openStore(t)
	if _, err := Import(ctx, dst, dstTenant, bytes.NewReader(fromPG), Options{}); err != nil {
		t.Fatal(err)
	}
	if last, _ := export(t, dst, dstTenant); !bytes.Equal(first, last) {
		t.Errorf("the export after SQLite → PostgreSQL → SQLite differs")
	}
}

// id gives a readable name a stable UUID.
func id(name string) string { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String() }

func userLine(name, manager string) string {
	l := map[string]any{"kind": "user", "id": id(name), "props": map[string]any{
		"displayName": name, "userPrincipalName": name + "@contoso.com", "accountEnabled": true,
	}}
	if manager != "" {
		l["manager"] = id(manager)
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func sponsorOf(user, sponsor string) string {
	return fmt.Sprintf(`{"kind":"sponsor","user":%q,"sponsor":%q}`, id(user), id(sponsor))
}

// base is a valid file; the cases below append lines to it, so their line numbers start at len(base)+1 = 11.
var base = []string{
	`{"orgraph":1,"kind":"header"}`,
	userLine("ceo", ""),
	userLine("vp", "ceo"),
	userLine("dev", "vp"),
	`{"kind":"group","id":"` + id("team") + `","props":{"displayName":"Team","mailNickname":"team","mailEnabled":false,"securityEnabled":true}}`,
	`{"kind":"orgContact","id":"` + id("consultant") + `","props":{"displayName":"Consultant"}}`,
	userLine("marketer", "consultant"),
	sponsorOf("marketer", "ceo"),
	sponsorOf("marketer", "team"),
	"", // blank lines are ignored
}

var baseSummary = Summary{Users: 4, Groups: 1, Contacts: 1, Managers: 3, Sponsors: 2}

func TestImportBadLines(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  []LineError // every bad line, in order
		// imported adds to baseSummary what SkipBad still imports of lines.
		imported Summary
	}{
		{
			name:     "broken JSON",
			lines:    []string{`{"kind":"user","id":`, userLine("ok", "ceo")},
			want:     []LineError{{11, "invalid JSON: unexpected EOF"}},
			imported: Summary{Users: 1, Managers: 1},
		},
		{
			name:  "unknown kind",
			lines: []string{`{"kind":"device","id":"` + id("device") + `"}`},
			want:  []LineError{{11, `unknown kind "device"`}},
		},
		{
			name:  "unknown field",
			lines: []string{`{"kind":"user","id":"` + id("x") + `","managerId":"` + id("ceo") + `"}`},
			want:  []LineError{{11, `json: unknown field "managerId"`}},
		},
		{
			name:  "unknown manager",
			lines: []string{userLine("orphan", "nobody")},
			want:  []LineError{{11, fmt.Sprintf("manager %q does not exist", id("nobody"))}},
		},
		{
			name:  "group as manager",
			lines: []string{userLine("grouped", "team")},
			want:  []LineError{{11, fmt.Sprintf("manager %q is a group; a manager is a user or an orgContact", id("team"))}},
		},
		{
			name: "cycle",
			// a and b manage each other; c reports to a, so it goes when a goes; d is fine.
			lines: []string{userLine("c", "a"), userLine("a", "b"), userLine("b", "a"), userLine("d", "ceo")},
			want: []LineError{
				{11, fmt.Sprintf("manager %q is skipped (line 12)", id("a"))},
				{12, fmt.Sprintf("manager %q makes a cycle in the management chain (lines 12, 13)", id("b"))},
				{13, fmt.Sprintf("manager %q makes a cycle in the management chain (lines 12, 13)", id("a"))},
			},
			imported: Summary{Users: 1, Managers: 1},
		},
		{
			name:  "own manager",
			lines: []string{userLine("narcissus", "narcissus")},
			want:  []LineError{{11, fmt.Sprintf("manager %q makes a cycle in the management chain (lines 11)", id("narcissus"))}},
		},
		{
			name: "six sponsors",
			lines: []string{
				userLine("guest", ""),
				sponsorOf("guest", "ceo"), sponsorOf("guest", "vp"), sponsorOf("guest", "dev"),
				sponsorOf("guest", "team"), sponsorOf("guest", "existing"), sponsorOf("guest", "marketer"),
			},
			want:     []LineError{{17, fmt.Sprintf("user %q would have more than 5 sponsors", id("guest"))}},
			imported: Summary{Users: 1, Sponsors: 5},
		},
		{
			name:  "duplicate UPN",
			lines: []string{strings.Replace(userLine("twin", ""), "twin@", "VP@", 1)},
			want:  []LineError{{11, `userPrincipalName "VP@contoso.com" is on line 3 too`}},
		},
		{
			name:  "UPN taken in the tenant",
			lines: []string{strings.Replace(userLine("twin", ""), "twin@", "EXISTING@", 1)},
			want: []LineError{{11, `userPrincipalName "EXISTING@contoso.com": ` +
				directory.DuplicateValue("userPrincipalName").Message}},
		},
		{
			name:  "id taken in the tenant",
			lines: []string{strings.Replace(userLine("existing", ""), "existing@", "other@", 1)},
			want:  []LineError{{11, fmt.Sprintf("id %q: %s", id("existing"), directory.DuplicateValue("id").Message)}},
		},
		{
			name:  "duplicate id",
			lines: []string{strings.Replace(userLine("dev", ""), "dev@", "dev2@", 1)},
			want:  []LineError{{11, fmt.Sprintf("id %q is on line 4 too", id("dev"))}},
		},
		{
			name: "bad props take their reports and sponsorships along",
			lines: []string{
				`{"kind":"user","id":"` + id("boss") + `","props":{"userPrincipalName":"boss@contoso.com","accountEnabled":"yes"}}`,
				userLine("report", "boss"),
				userLine("subreport", "report"),
				sponsorOf("report", "ceo"),
				sponsorOf("ceo", "boss"),
			},
			want: []LineError{
				{11, "props: Invalid value specified for property 'accountEnabled' of resource 'User'."},
				{12, fmt.Sprintf("manager %q is skipped (line 11)", id("boss"))},
				{13, fmt.Sprintf("manager %q is skipped (line 12)", id("report"))},
				{14, fmt.Sprintf("user %q is skipped (line 12)", id("report"))},
				{15, fmt.Sprintf("sponsor %q is skipped (line 11)", id("boss"))},
			},
		},
		{
			name:  "sponsor of the wrong kind",
			lines: []string{sponsorOf("marketer", "consultant"), sponsorOf("team", "ceo"), sponsorOf("marketer", "team")},
			want: []LineError{
				{11, fmt.Sprintf("sponsor %q is an orgContact; a sponsor is a user or a group", id("consultant"))},
				{12, fmt.Sprintf("%q is a group; only users have sponsors", id("team"))},
				{13, fmt.Sprintf("sponsor %q of %q is on line 9 too", id("team"), id("marketer"))},
			},
		},
		{
			name:  "non-canonical id",
			lines: []string{strings.Replace(userLine("upper", ""), id("upper"), strings.ToUpper(id("upper")), 1)},
			want:  []LineError{{11, fmt.Sprintf("id %q is not a UUID in canonical form", strings.ToUpper(id("upper")))}},
		},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, tenant := openStore(t)
			// One user exists already, for the cases that clash with or refer to the tenant.
			existing := &directory.Object{ID: id("existing"), Kind: directory.KindUser, Props: map[string]any{
				"displayName": "Existing", "userPrincipalName": "existing@contoso.com", "accountEnabled": true,
			}}
			if err := directory.NewService(st).Import(ctx, tenant, existing); err != nil {
				t.Fatal(err)
			}
			file := strings.Join(append(append([]string{}, base...), tc.lines...), "\n") + "\n"

			// Without SkipBad the error is the first line that is bad in itself, not for another line's sake.
			cause := tc.want[0]
			for _, le := range slices.Backward(tc.want) {
				if !strings.Contains(le.Err, "is skipped") {
					cause = le
				}
			}
			_, err := Import(ctx, st, tenant, strings.NewReader(file), Options{})
			var le LineError
			if !errors.As(err, &le) || le != cause {
				t.Errorf("error %v, want %v", err, cause)
			}
			if n := count(t, st, tenant); n != 1 {
				t.Errorf("%d objects after a failed import, want the 1 that was there", n)
			}

			sum, err := Import(ctx, st, tenant, strings.NewReader(file), Options{SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			want := baseSummary
			want.Users += tc.imported.Users
			want.Managers += tc.imported.Managers
			want.Sponsors += tc.imported.Sponsors
			want.Skipped = tc.want
			if !reflect.DeepEqual(sum, want) {
				t.Errorf("SkipBad imported %+v\nwant %+v", sum, want)
			}
			if n, want := count(t, st, tenant), 1+sum.Users+sum.Groups+sum.Contacts; n != want {
				t.Errorf("%d objects after SkipBad, want %d", n, want)
			}
		})
	}
}

func TestImportRefusesFile(t *testing.T) {
	cases := map[string]string{
		"":                                     "empty input",
		`{"kind":"user"}` + "\n":               `line 1: not an orgraph export`,
		`{"orgraph":2,"kind":"header"}` + "\n": "line 1: format version 2",
		`{"orgraph":1,"kind":"header"}` + "\n" + strings.Repeat("x", maxLine+1): "line 2: longer than",
	}
	st, tenant := openStore(t)
	for file, want := range cases {
		// SkipBad cannot skip a file that is not an export.
		_, err := Import(context.Background(), st, tenant, strings.NewReader(file), Options{SkipBad: true})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%.40q: error %v, want %q", file, err, want)
		}
	}
}

func TestImportReportsFirstCause(t *testing.T) {
	// The report on line 2 is bad only because its manager on line 3 is; the error names line 3.
	file := strings.Join([]string{`{"orgraph":1,"kind":"header"}`, userLine("report", "boss"),
		`{"kind":"user","id":"` + id("boss") + `","props":{}}`}, "\n")
	st, tenant := openStore(t)
	_, err := Import(context.Background(), st, tenant, strings.NewReader(file), Options{})
	want := "line 3: a user needs a userPrincipalName (and 1 more bad line)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestImportIntoPopulatedTenant(t *testing.T) {
	ctx := context.Background()
	st, tenant := openStore(t)
	if _, err := Import(ctx, st, tenant, strings.NewReader(strings.Join(base, "\n")), Options{}); err != nil {
		t.Fatal(err)
	}
	// A second file hangs new people under the tenant's and adds sponsors to a tenant user, who has two
	// already (ceo, team): ceo again is a duplicate, and of the rest only three fit.
	file := strings.Join([]string{
		"\ufeff" + `{"orgraph":1,"kind":"header"}`,
		userLine("new-report", "vp"),
		userLine("new-contractor", "consultant"),
		sponsorOf("marketer", "ceo"),
		sponsorOf("marketer", "vp"),
		sponsorOf("marketer", "dev"),
		sponsorOf("marketer", "new-report"),
		sponsorOf("marketer", "new-contractor"),
	}, "\n")
	sum, err := Import(ctx, st, tenant, strings.NewReader(file), Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Users: 2, Managers: 2, Sponsors: 3, Skipped: []LineError{
		{4, fmt.Sprintf("sponsor %q of %q: %s", id("ceo"), id("marketer"), directory.DuplicateReference("sponsors").Message)},
		{8, fmt.Sprintf("user %q would have more than 5 sponsors", id("marketer"))},
	}}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("imported %+v\nwant %+v", sum, want)
	}
	err = st.View(ctx, tenant, func(tx directory.Tx) error {
		chain, err := tx.ChainIDs(id("new-report"), 0)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(chain, []string{id("vp"), id("ceo")}) {
			t.Errorf("chain of new-report: %v", chain)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tree writes a header and n users, each managed by the user (i-1)/fanout, as an import file.
func tree(n, fanout int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"orgraph":1,"kind":"header"}` + "\n")
	for i := range n {
		name := fmt.Sprintf("user%d", i)
		manager := ""
		if i > 0 {
			manager = fmt.Sprintf("user%d", (i-1)/fanout)
		}
		b.WriteString(userLine(name, manager) + "\n")
	}
	return b.Bytes()
}

func BenchmarkImport10k(b *testing.B) {
	ctx := context.Background()
	file := tree(10_000, 8)
	st, _ := openStore(b)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		b.StopTimer()
		tenant := uuid.NewString()
		if err := st.CreateTenant(ctx, store.Tenant{ID: tenant, Name: "bench"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := Import(ctx, st, tenant, bytes.NewReader(file), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Users != 10_000 || sum.Managers != 9_999 {
			b.Fatalf("imported %+v", sum)
		}
	}
}
