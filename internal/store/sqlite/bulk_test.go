package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

func TestBulkConformance(t *testing.T) {
	storetest.RunBulk(t, func(t *testing.T) store.Store {
		return openFile(t, filepath.Join(t.TempDir(), "orgraph.db"), sqlite.Options{Sync: "normal"})
	})
}
