package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// storeFlags are the flags every command that opens the directory takes.
type storeFlags struct {
	data string
	sync string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./orgraph-data", "folder of the embedded database")
	fs.StringVar(&f.sync, "sync", "full", "embedded database durability: full (survives power loss) or normal (survives a crash)")
}

// open opens the store and makes sure it has a signing key and a default tenant, whose id it returns.
func (f *storeFlags) open(ctx context.Context) (store.Store, string, error) {
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return nil, "", err
	}
	st, err := sqlite.Open(ctx, filepath.Join(f.data, "orgraph.db"), sqlite.Options{Sync: f.sync})
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", f.data, err)
	}
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		st.Close()
		return nil, "", err
	}
	return st, tenant, nil
}
