package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store/sqlquery"
)

// TestListingPlans pins the index each kind of listing reads: sorted pages and startsWith or eq on a sort
// key read that key's index, from the cursor on, rather than the whole tenant.
func TestListingPlans(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "orgraph.db"))
	users := []directory.Kind{directory.KindUser}
	str := func(prop string, op directory.Op, v string) *directory.Compare {
		return &directory.Compare{Prop: prop, Type: directory.TypeString, Op: op, Values: []any{v}}
	}
	order := func(prop string, t directory.Type, desc bool) *directory.Order {
		return &directory.Order{Prop: prop, Type: t, Desc: desc}
	}
	after := directory.Cursor{Key: "Mia", ID: "i"}
	cases := []struct {
		q    directory.ListQuery
		want string
	}{
		{directory.ListQuery{Kinds: users, Order: order("displayName", directory.TypeString, false), After: after, Limit: 10},
			"USING INDEX objects_display_name (tenant_id=? AND kind=? AND (key_display_name,id)>(?,?))"},
		{directory.ListQuery{Kinds: users, Order: order("displayName", directory.TypeString, true), After: after, Limit: 10},
			"USING INDEX objects_display_name (tenant_id=? AND kind=? AND (key_display_name,id)<(?,?))"},
		{directory.ListQuery{Kinds: users, Order: order("userPrincipalName", directory.TypeString, false), After: after, Limit: 10},
			"USING INDEX objects_upn_order (tenant_id=? AND kind=? AND (key_upn,id)>(?,?))"},
		{directory.ListQuery{Kinds: users, Order: order("createdDateTime", directory.TypeDateTime, true), After: after, Limit: 10},
			"USING INDEX objects_created (tenant_id=? AND kind=? AND (key_created,id)<(?,?))"},
		{directory.ListQuery{Kinds: users, Filter: str("displayName", directory.OpStartsWith, "ab"), After: directory.Cursor{ID: "i"}, Limit: 10},
			"USING INDEX objects_display_name (tenant_id=? AND kind=? AND key_display_name>? AND key_display_name<?)"},
		{directory.ListQuery{Kinds: users, Filter: str("displayName", directory.OpStartsWith, "ab"), Order: order("displayName", directory.TypeString, false), Limit: 10},
			"USING INDEX objects_display_name (tenant_id=? AND kind=? AND key_display_name>? AND key_display_name<?)"},
		{directory.ListQuery{Kinds: users, Filter: str("displayName", directory.OpStartsWith, "ab"), Order: order("displayName", directory.TypeString, false), After: after, Limit: 10},
			"USING INDEX objects_display_name (tenant_id=? AND kind=? AND (key_display_name,id)>(?,?) AND key_display_name<?)"},
		{directory.ListQuery{Kinds: users, Filter: str("displayName", directory.OpStartsWith, "ab"), Order: order("displayName", directory.TypeString, true), After: after, Limit: 10},
			"USING INDEX objects_display_name (tenant_id=? AND kind=? AND key_display_name>? AND (key_display_name,id)<(?,?))"},
		{directory.ListQuery{Kinds: users, Filter: str("userPrincipalName", directory.OpEq, "a@b"), Limit: 10},
			"USING INDEX objects_upn_order (tenant_id=? AND kind=? AND key_upn=?)"},
		{directory.ListQuery{Kinds: users, Filter: str("jobTitle", directory.OpEq, "x"), After: directory.Cursor{ID: "i"}, Limit: 10},
			"USING INDEX objects_kind (tenant_id=? AND kind=? AND id>?)"},
	}
	for _, c := range cases {
		query, args := listQuery("t", c.q)
		plan := explain(t, s.r, query, args)
		if !strings.Contains(plan, c.want) || strings.Contains(plan, "SCAN objects") {
			t.Errorf("plan of\n%s\nis\n%s\nwant %q", query, plan, c.want)
		}
	}
}

func explain(t *testing.T, db *sql.DB, query string, args []any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}

// TestKeyColumns checks that the migration's key columns compute sqlquery's sort keys.
func TestKeyColumns(t *testing.T) {
	text, err := migrationFiles.ReadFile("migrations/0003_query.sql")
	if err != nil {
		t.Fatal(err)
	}
	for col, key := range map[string]string{
		"key_display_name": sqlquery.SQLite.SortKey("displayName", false),
		"key_upn":          sqlquery.SQLite.SortKey("userPrincipalName", false),
		"key_created":      sqlquery.SQLite.SortKey("createdDateTime", true),
	} {
		if want := col + " TEXT GENERATED ALWAYS AS (" + key + ") VIRTUAL"; !strings.Contains(string(text), want) {
			t.Errorf("migration lacks %q", want)
		}
	}
	for name := range migrationSteps {
		if _, err := migrationFiles.ReadFile(name); err != nil {
			t.Errorf("migration step for %s: %v", name, err)
		}
	}
}

// TestSearchTokensBackfill opens a database written before search_tokens existed: migrating gives its
// objects their tokens.
func TestSearchTokensBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orgraph.db")
	db, err := sql.Open("sqlite3", dsn(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"migrations/0001_init.sql", "migrations/0002_identity.sql"} {
		text, err := migrationFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(text)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	_, err = db.Exec(`PRAGMA user_version = 2;
		INSERT INTO tenants VALUES ('t', 't', '2024-01-01T00:00:00.000000000Z');
		INSERT INTO objects (tenant_id, id, kind, props) VALUES
			('t', 'a', 'user', '{"displayName": "Ada Lovelace"}'),
			('t', 'b', 'group', '{"displayName": "Analytical Engines", "description": "Difference"}'),
			('t', 'c', 'orgContact', '{}')`)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, path)
	err = s.View(context.Background(), "t", func(tx directory.Tx) error {
		for _, c := range []struct {
			prop, token string
			want        int
		}{{"displayName", "a", 2}, {"displayName", "lov", 1}, {"description", "dif", 1}, {"description", "a", 0}} {
			n, err := tx.Count(directory.ListQuery{Search: &directory.Tokens{Prop: c.prop, Tokens: []string{c.token}}})
			if err != nil || n != c.want {
				t.Errorf("objects with a %s token starting %s: %d, %v; want %d", c.prop, c.token, n, err, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
