package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
)

// TestQueryPlans pins the index each hot query uses: with an index expression that differs from the query's
// by a parenthesis or a collation a query still answers, only by reading the whole tenant. The tenant holds
// 3,000 objects, analysed, and scans of the whole table are switched off, so that the plans are those of a
// large directory.
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_, err = s.pool.Exec(ctx, `INSERT INTO tenants VALUES ('t', 't', '');
		INSERT INTO objects (tenant_id, id, kind, manager_id, upn_key, props)
		SELECT 't', 'id' || i, k, CASE WHEN i % 2 = 0 THEN 'id' || (i % 30) END, CASE k WHEN 'user' THEN 'u' || i END,
			jsonb_build_object('displayName', CASE k WHEN 'group' THEN 'Group ' ELSE 'Name ' END || i,
				'userPrincipalName', 'u' || i || '@example.com', 'createdDateTime', '2024-05-01T12:00:00Z')
		FROM generate_series(1, 3000) AS i, LATERAL (SELECT (ARRAY['user', 'group', 'orgContact'])[i % 3 + 1] AS k) AS kinds;
		ANALYZE objects`)
	if err != nil {
		t.Fatal(err)
	}
	users := []directory.Kind{directory.KindUser}
	byName := &directory.Order{Prop: "displayName", Type: directory.TypeString}
	after := directory.Cursor{Key: "Mia", ID: "i"}
	list := func(q directory.ListQuery) (string, []any) { return listQuery("t", q) }
	cases := []struct {
		query string
		args  []any
		want  []string
	}{
		{`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = $1 AND id = $2`, []any{"t", "i"}, []string{"objects_pkey"}},
		{`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = $1 AND upn_key = $2`, []any{"t", "u"}, []string{"objects_upn"}},
		{`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = $1 AND id = ANY($2)`, []any{"t", []string{"i"}}, []string{"objects_pkey"}},
		{chainIDsQuery, []any{"t", "i", 10}, []string{"objects_pkey"}},
		{chainQuery, []any{"t", "i", 10}, []string{"objects_pkey"}},
		{`UPDATE objects SET manager_id = NULL WHERE tenant_id = $1 AND manager_id = $2`, []any{"t", "m"}, []string{"objects_manager"}},
	}
	for _, c := range []struct {
		q    directory.ListQuery
		want string
	}{
		{directory.ListQuery{Kinds: users, After: directory.Cursor{ID: "i"}, Limit: 10}, "objects_kind"},
		{directory.ListQuery{Kinds: users, Order: byName, After: after, Limit: 10}, "objects_display_name"},
		{directory.ListQuery{Kinds: users, Order: &directory.Order{Prop: "userPrincipalName", Type: directory.TypeString, Desc: true}, After: after, Limit: 10}, "objects_upn_order"},
		{directory.ListQuery{Kinds: users, Order: &directory.Order{Prop: "createdDateTime", Type: directory.TypeDateTime}, Limit: 10}, "objects_created"},
		{directory.ListQuery{Kinds: []directory.Kind{directory.KindGroup}, Limit: 10, Filter: &directory.Compare{
			Prop: "displayName", Type: directory.TypeString, Op: directory.OpStartsWith, Values: []any{"Group 12"}}}, "objects_display_name"},
	} {
		query, args := list(c.q)
		cases = append(cases, struct {
			query string
			args  []any
			want  []string
		}{query, args, []string{c.want}})
	}
	query, args := reportsQuery("t", "m", directory.ListQuery{Kinds: users, After: directory.Cursor{ID: "i"}, Limit: 10}, false)
	cases = append(cases, struct {
		query string
		args  []any
		want  []string
	}{query, args, []string{"objects_manager"}})

	for _, c := range cases {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		tx.Rollback(ctx)
		text := strings.Join(plan, "\n")
		for _, want := range c.want {
			if !strings.Contains(text, " "+want+" ") && !strings.HasSuffix(text, " "+want) {
				t.Errorf("%s\ndoes not use %s:\n%s", c.query, want, text)
			}
		}
	}
}
