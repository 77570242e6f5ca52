package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestZZPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	qs := []string{
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND id = 'b'`,
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND upn_key = 'b'`,
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND id IN (SELECT value FROM json_each('["a"]'))`,
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND id > '' AND kind IN ('user') ORDER BY id LIMIT 5`,
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND id > '' AND +kind IN ('user','group') ORDER BY id LIMIT 5`,
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND id > '' ORDER BY id LIMIT 5`,
		`SELECT count(*) FROM objects INDEXED BY objects_kind WHERE tenant_id = 'a'`,
		`SELECT count(*) FROM objects INDEXED BY objects_kind WHERE tenant_id = 'a' AND kind IN ('user','group')`,
		`SELECT ` + objectCols + ` FROM objects WHERE tenant_id = 'a' AND manager_id = 'm' AND id > '' AND +kind IN ('user') ORDER BY id LIMIT 5`,
		`SELECT count(*) FROM objects WHERE tenant_id = 'a' AND manager_id = 'm'`,
		`UPDATE objects SET manager_id = NULL WHERE tenant_id = 'a' AND manager_id = 'm'`,
		`DELETE FROM objects WHERE tenant_id = 'a' AND id = 'b'`,
		chainIDsQuery,
		chainQuery,
	}
	for _, q := range qs {
		rows, err := s.w.Query("EXPLAIN QUERY PLAN "+q, "t", "x", 10)
		if err != nil {
			t.Fatal(q, err)
		}
		fmt.Println("==", q)
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			fmt.Println("  ", d)
		}
		rows.Close()
	}
}
