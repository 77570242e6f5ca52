package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// envDB names the variable that gives --db its value when the flag is not on the command line, so that
// every command of a deployment reaches the shared database without repeating (and showing) its DSN.
const envDB = "ORGRAPH_DB"

// storeFlags are the flags every command that opens the directory takes.
type storeFlags struct {
	data string
	sync string
	db   string
	// fs, once registered, tells flags given on the command line from defaults.
	fs *flag.FlagSet
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.data, "data", "./orgraph-data", "folder of the embedded database")
	fs.StringVar(&f.sync, "sync", "full", "embedded database durability: full (survives power loss) or normal (survives a crash)")
	// The default is read in open, not here, so that -h never prints a DSN with its password.
	fs.StringVar(&f.db, "db", "", "PostgreSQL database shared by several nodes, instead of the embedded one: postgres://user@host/db?sslmode=… (default $"+envDB+")")
}

// open opens the store and makes sure it has a signing key and a default tenant, whose id it returns.
// --db (or ORGRAPH_DB) selects PostgreSQL; --data or --sync on the command line beat ORGRAPH_DB, and
// together with --db they are a mistake.
func (f *storeFlags) open(ctx context.Context) (store.Store, string, error) {
	embedded := f.given("data") || f.given("sync")
	db := f.db
	if f.fs != nil && !f.given("db") && !embedded {
		db = os.Getenv(envDB)
	}
	var (
		st  store.Store
		err error
	)
	switch {
	case db != "" && embedded:
		return nil, "", errors.New("--data and --sync configure the embedded database; leave them out with --db")
	case db != "":
		// The DSN is not repeated in errors: it may hold a password. pgx's own errors leave it out.
		if st, err = postgres.Open(ctx, db); err != nil {
			return nil, "", fmt.Errorf("open --db: %w", err)
		}
	default:
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return nil, "", err
		}
		if st, err = sqlite.Open(ctx, filepath.Join(f.data, "orgraph.db"), sqlite.Options{Sync: f.sync}); err != nil {
			return nil, "", fmt.Errorf("open %s: %w", f.data, err)
		}
	}
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		st.Close()
		return nil, "", err
	}
	return st, tenant, nil
}

// given reports whether the command line set the named flag.
func (f *storeFlags) given(name string) bool {
	found := false
	if f.fs != nil {
		f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	}
	return found
}
