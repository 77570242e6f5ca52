package transfer

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
)

// plainStore is a store whose transactions do not offer store.BulkInserter, as a backend without one.
type plainStore struct{ directory.Transactor }

func (s plainStore) Update(ctx context.Context, tenant string, fn func(directory.Tx) error) error {
	return s.Transactor.Update(ctx, tenant, func(tx directory.Tx) error { return fn(plainTx{tx}) })
}

type plainTx struct{ directory.Tx }

// TestImportWithoutBulk imports through Insert, SetManager and AddSponsor one at a time, as into a backend
// without store.BulkInserter: the same tenant results, the same summary, the same progress.
func TestImportWithoutBulk(t *testing.T) {
	ctx := context.Background()
	src, srcTenant := openStore(t)
	if err := demo.Load(ctx, directory.NewService(src), srcTenant); err != nil {
		t.Fatal(err)
	}
	first, exported := export(t, src, srcTenant)
	if _, ok := any(plainTx{}).(store.BulkInserter); ok {
		t.Fatal("plainTx offers store.BulkInserter")
	}

	dst, dstTenant := openStore(t)
	var calls []int
	imported, err := Import(ctx, plainStore{dst}, dstTenant, bytes.NewReader(first), Options{Progress: func(n int) { calls = append(calls, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(imported, exported) {
		t.Errorf("imported %+v, exported %+v", imported, exported)
	}
	total := imported.Users + imported.Groups + imported.Contacts + imported.Managers + imported.Sponsors
	if len(calls) == 0 || calls[len(calls)-1] != total {
		t.Errorf("progress calls %v, want the last to be %d", calls, total)
	}
	if second, _ := export(t, dst, dstTenant); !bytes.Equal(first, second) {
		t.Errorf("export of the import differs:\n%s\n----\n%s", first, second)
	}
}

// TestImportUnstorablePostgres imports an org contact whose address holds a NUL character, which SQLite
// stores and PostgreSQL cannot: the import into PostgreSQL fails naming the line, as Insert's error did, and
// writes nothing.
func TestImportUnstorablePostgres(t *testing.T) {
	ctx := context.Background()
	file := strings.Join(append(append([]string{}, base...),
		`{"kind":"orgContact","id":"`+id("nul")+`","props":{"displayName":"Nul","addresses":[{"street":"a\u0000b"}]}}`), "\n")

	sq, sqTenant := openStore(t)
	if _, err := Import(ctx, sq, sqTenant, strings.NewReader(file), Options{}); err != nil {
		t.Fatalf("SQLite: %v", err)
	}

	pg, err := postgres.Open(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	pgTenant, err := store.Bootstrap(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Import(ctx, pg, pgTenant, strings.NewReader(file), Options{})
	want := "line 11: " + directory.InvalidValue("addresses", directory.KindOrgContact).Message
	if err == nil || err.Error() != want {
		t.Errorf("PostgreSQL: error %v, want %q", err, want)
	}
	if n := count(t, pg, pgTenant); n != 0 {
		t.Errorf("%d objects after the failed import", n)
	}
}
