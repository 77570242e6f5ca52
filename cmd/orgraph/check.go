package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orgraph/orgraph/internal/directory"
)

// dbFile is the name of the embedded database in a --data folder.
const dbFile = "orgraph.db"

// check: orgraph check [--data DIR | --db DSN] [--tenant ID | --all]. It prints every broken invariant, one
// line each, and fails when there is one, so a script or a test can run it after a crash or a restore.
func (m *Main) check(ctx context.Context, args []string) error {
	fs := m.newFlags("check")
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the database's default tenant)")
	all := fs.Bool("all", false, "check every tenant")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("check: unexpected argument %q", fs.Arg(0))
	case *all && *tenant != "":
		return errors.New("check: --tenant and --all exclude each other")
	}
	if err := sf.requireDatabase(); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	st, def, err := sf.open(ctx)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer st.Close()
	ids := []string{def}
	switch {
	case *all:
		ts, err := st.Tenants(ctx)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		ids = ids[:0]
		for _, t := range ts {
			ids = append(ids, t.ID)
		}
	case *tenant != "":
		if _, err := st.Tenant(ctx, *tenant); err != nil {
			return fmt.Errorf("check: tenant %s: %w", *tenant, err)
		}
		ids = []string{*tenant}
	}
	problems := 0
	for _, id := range ids {
		var (
			found []string
			n     int
		)
		err := st.View(ctx, id, func(tx directory.Tx) (err error) {
			found = directory.CheckInvariants(tx)
			n, err = tx.Count(directory.ListQuery{})
			return err
		})
		if err != nil {
			return fmt.Errorf("check: tenant %s: %w", id, err)
		}
		for _, p := range found {
			fmt.Fprintf(m.Stdout, "tenant %s: %s\n", id, p)
		}
		fmt.Fprintf(m.Stderr, "tenant %s: %s, %s\n", id, plural(n, "object"), plural(len(found), "problem"))
		problems += len(found)
	}
	if problems > 0 {
		return fmt.Errorf("check: %s", plural(problems, "problem"))
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// usesPostgres mirrors open's choice of backend: --db, or ORGRAPH_DB unless --data or --sync is given.
func (f *storeFlags) usesPostgres() bool {
	return f.db != "" || (!f.given("data") && !f.given("sync") && os.Getenv(envDB) != "")
}

// requireDatabase refuses a --data folder without a database, where open would create an empty one, which
// a check or a backup would then vouch for.
func (f *storeFlags) requireDatabase() error {
	if f.usesPostgres() {
		return nil
	}
	if _, err := os.Stat(filepath.Join(f.data, dbFile)); err != nil {
		return fmt.Errorf("no orgraph database in %s: %w", f.data, err)
	}
	return nil
}
