package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
	"github.com/orgraph/orgraph/internal/transfer"
)

func generate(t *testing.T, cfg Config) *Org {
	t.Helper()
	o, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestGenerateShape(t *testing.T) {
	o := generate(t, Config{Users: 100_000, Seed: 3})
	if o.Users() != 100_000 || o.Guests() != 1000 || o.Groups() != 1000 || o.Contacts() != 1000 {
		t.Fatalf("users %d guests %d groups %d contacts %d", o.Users(), o.Guests(), o.Groups(), o.Contacts())
	}
	if d := o.Depth(o.ChainBottom); d != 1000 {
		t.Errorf("the chain is %d deep, want 1000", d)
	}
	if n := o.Reports(o.Big); n != 1000 {
		t.Errorf("the big manager has %d reports, want 1000", n)
	}
	if o.DeepLevel != 6 || len(o.Deep) == 0 {
		t.Errorf("deep sample: level %d, %d users", o.DeepLevel, len(o.Deep))
	}
	for _, d := range o.Deep {
		if o.Depth(int(d)) != 6 {
			t.Fatalf("deep user %d is at depth %d", d, o.Depth(int(d)))
		}
	}
	if len(o.Managers8) == 0 {
		t.Fatal("no manager with 8 reports")
	}

	// The manager relationships, counted again from scratch, and walked for cycles: every walk must end.
	reports := make([]int, o.Users())
	contactManaged, totalReports, managers := 0, 0, 0
	for i := range o.Users() {
		p := o.Manager(i)
		switch {
		case p < 0:
		case p < o.Users():
			reports[p]++
			totalReports++
			managers++
		case p >= o.Users()+o.Groups() && p < o.Users()+o.Groups()+o.Contacts():
			contactManaged++
			managers++
		default:
			t.Fatalf("user %d has manager %d, neither a user nor a contact", i, p)
		}
		steps := 0
		for m := p; m >= 0 && m < o.Users(); m = o.Manager(m) {
			if steps++; steps > o.Users() {
				t.Fatalf("the chain of user %d is a cycle", i)
			}
		}
		if steps != o.Depth(i) && p < o.Users() {
			t.Fatalf("user %d: depth %d, chain of %d", i, o.Depth(i), steps)
		}
	}
	if contactManaged != o.Contacts() {
		t.Errorf("contacts manage %d users, want %d", contactManaged, o.Contacts())
	}
	if managers != o.Managers() {
		t.Errorf("Managers() = %d, counted %d", o.Managers(), managers)
	}
	for _, m := range o.Managers8 {
		if reports[m] != 8 {
			t.Fatalf("manager %d in the sample of 8 has %d reports", m, reports[m])
		}
	}
	// Fan-out about 8 among the tree's managers other than the big one.
	mgrs, sum := 0, 0
	for i := range o.TreeSize() {
		if reports[i] > 0 && i != o.Big {
			mgrs++
			sum += reports[i]
		}
	}
	if mean := float64(sum) / float64(mgrs); mean < 7 || mean > 9 {
		t.Errorf("mean fan-out %.2f, want about 8", mean)
	}

	// Guests: 1 to 5 distinct sponsors, users of the tree or groups.
	guests := 0
	for i := range o.Users() {
		if !o.IsGuest(i) {
			continue
		}
		guests++
		s := o.GuestSponsors(i)
		if len(s) < 1 || len(s) > 5 {
			t.Fatalf("guest %d has %d sponsors", i, len(s))
		}
		for k, x := range s {
			if contains(s[:k], x) || (int(x) >= o.TreeSize() && (int(x) < o.Users() || int(x) >= o.Users()+o.Groups())) {
				t.Fatalf("guest %d: sponsors %v", i, s)
			}
		}
	}
	if guests != o.Guests() {
		t.Errorf("%d guests, want %d", guests, o.Guests())
	}

	// Movable leaves have no reports and touch no sample; targets are managers above them.
	reserved := map[int32]bool{int32(o.Big): true}
	for _, m := range o.Managers8 {
		reserved[m] = true
	}
	for _, d := range o.Deep {
		reserved[d] = true
	}
	for _, l := range o.Movable {
		if reports[l] != 0 || reserved[l] || reserved[int32(o.Manager(int(l)))] {
			t.Fatalf("movable leaf %d: %d reports, reserved %v, manager reserved %v", l, reports[l], reserved[l], reserved[int32(o.Manager(int(l)))])
		}
	}
	for _, m := range o.Targets {
		if reports[m] == 0 || reserved[m] {
			t.Fatalf("target %d: %d reports, reserved %v", m, reports[m], reserved[m])
		}
	}
}

// TestWriteJSONL checks the file line by line: its shape, unique canonical ids and userPrincipalNames,
// references that resolve, and that one seed always writes the same bytes.
func TestWriteJSONL(t *testing.T) {
	cfg := Config{Users: 4000, Seed: 5, Groups: 50, Contacts: 50, BigTeam: 100}
	o := generate(t, cfg)
	var buf bytes.Buffer
	if err := o.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	generate(t, cfg).WriteJSONL(&again)
	if sha256.Sum256(buf.Bytes()) != sha256.Sum256(again.Bytes()) {
		t.Error("the same seed wrote different files")
	}
	var other bytes.Buffer
	cfg.Seed = 6
	generate(t, cfg).WriteJSONL(&other)
	if bytes.Equal(buf.Bytes(), other.Bytes()) {
		t.Error("another seed wrote the same file")
	}

	kinds := map[string]int{}
	ids := map[string]string{}
	upns := map[string]bool{}
	var managers, sponsors [][2]string
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var rec struct {
			Orgraph int            `json:"orgraph"`
			Kind    string         `json:"kind"`
			ID      string         `json:"id"`
			Props   map[string]any `json:"props"`
			Manager string         `json:"manager"`
			User    string         `json:"user"`
			Sponsor string         `json:"sponsor"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", n, err, sc.Bytes())
		}
		kinds[rec.Kind]++
		switch rec.Kind {
		case "header":
			if n != 1 || rec.Orgraph != 1 {
				t.Fatalf("line %d: header %s", n, sc.Bytes())
			}
		case "user", "group", "orgContact":
			if u, err := uuid.Parse(rec.ID); err != nil || u.String() != rec.ID || u.Version() != 4 {
				t.Fatalf("line %d: id %q", n, rec.ID)
			}
			if _, dup := ids[rec.ID]; dup {
				t.Fatalf("line %d: id %s twice", n, rec.ID)
			}
			ids[rec.ID] = rec.Kind
			if _, err := directory.CheckProps(directory.Kind(rec.Kind), rec.Props, false, true); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if rec.Kind == "user" {
				upn := strings.ToLower(rec.Props["userPrincipalName"].(string))
				if upns[upn] || strings.Count(upn, "@") != 1 {
					t.Fatalf("line %d: userPrincipalName %q", n, upn)
				}
				upns[upn] = true
			}
			if rec.Manager != "" {
				managers = append(managers, [2]string{rec.ID, rec.Manager})
			}
		case "sponsor":
			sponsors = append(sponsors, [2]string{rec.User, rec.Sponsor})
		default:
			t.Fatalf("line %d: kind %q", n, rec.Kind)
		}
	}
	if kinds["user"] != o.Users() || kinds["group"] != o.Groups() || kinds["orgContact"] != o.Contacts() ||
		len(managers) != o.Managers() || len(sponsors) != o.Sponsors() {
		t.Fatalf("kinds %v, %d managers, %d sponsors", kinds, len(managers), len(sponsors))
	}
	for _, m := range managers {
		if k := ids[m[1]]; k != "user" && k != "orgContact" {
			t.Fatalf("%s reports to %s, a %q", m[0], m[1], k)
		}
	}
	for _, s := range sponsors {
		if k := ids[s[1]]; ids[s[0]] != "user" || (k != "user" && k != "group") {
			t.Fatalf("sponsor line %v", s)
		}
	}
	if o.ID(o.ChainBottom) == o.ID(o.ChainBottom+1) || ids[o.ID(o.Big)] != "user" {
		t.Error("ids")
	}
}

// TestImport loads a small organisation through the import path the bench uses, and reads the deep chain back.
func TestImport(t *testing.T) {
	o := generate(t, Config{Users: 2500, Seed: 9, Groups: 20, Contacts: 20, BigTeam: 100})
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant := uuid.NewString()
	if err := st.CreateTenant(ctx, store.Tenant{ID: tenant, Name: "bench", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := o.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	sum, err := transfer.Import(ctx, st, tenant, &buf, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Users != o.Users() || sum.Groups != o.Groups() || sum.Contacts != o.Contacts() || sum.Managers != o.Managers() || sum.Sponsors != o.Sponsors() {
		t.Fatalf("imported %+v", sum)
	}
	err = st.View(ctx, tenant, func(tx directory.Tx) error {
		chain, err := tx.Chain(o.ID(o.ChainBottom), 0)
		if err != nil {
			return err
		}
		if len(chain) != 1000 {
			t.Errorf("chain of %d", len(chain))
		}
		reports, err := tx.DirectReports(o.ID(o.Big), directory.ListQuery{})
		if len(reports) != 100 {
			t.Errorf("big manager: %d reports", len(reports))
		}
		u, err := tx.GetByUPN(o.UPN(o.TreeSize() - 1))
		if err == nil && u.ID != o.ID(o.TreeSize()-1) {
			t.Errorf("UPN %s is %s", o.UPN(o.TreeSize()-1), u.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMovesNeverCycle runs put_manager against a server that applies each move to the generated tree and
// refuses any that would close a cycle.
func TestMovesNeverCycle(t *testing.T) {
	o := generate(t, Config{Users: 10_000, Seed: 11, Groups: 10, Contacts: 10, BigTeam: 50})
	index := map[string]int{}
	for i := range o.Users() + o.Groups() + o.Contacts() {
		index[o.ID(i)] = i
	}
	var mu sync.Mutex
	parent := map[int]int{}
	manager := func(i int) int {
		if p, ok := parent[i]; ok {
			return p
		}
		if i >= o.Users() {
			return -1
		}
		return o.Manager(i)
	}
	moves := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"@odata.id"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		segs := strings.Split(r.URL.Path, "/")
		if r.Method != http.MethodPut || len(segs) != 6 || segs[4] != "manager" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		u, m := index[segs[3]], index[body.ID[strings.LastIndexByte(body.ID, '/')+1:]]
		mu.Lock()
		defer mu.Unlock()
		for x, steps := m, 0; x >= 0; x, steps = manager(x), steps+1 {
			if x == u || steps > o.Users() {
				http.Error(w, "cycle", http.StatusBadRequest)
				return
			}
		}
		parent[u] = m
		moves++
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var put Scenario
	for _, sc := range Scenarios(o) {
		if sc.Name == "put_manager" {
			put = sc
		}
	}
	c := &Client{HTTP: NewHTTPClient(8), Base: srv.URL + "/v1.0", Token: "t"}
	res := Run(context.Background(), c, Options{Concurrency: 8, Duration: 300 * time.Millisecond}, put.Op)
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("%d moves, %d errors: %s", res.Requests, res.Errors, res.FirstError)
	}
	t.Logf("%d moves", moves)
}
