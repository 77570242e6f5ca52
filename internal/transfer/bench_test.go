package transfer

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/bench"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
)

// benchUsers is the size of BenchmarkImport's organisation: its database is larger than the SQLite store's
// page cache, which is where a slow import path shows.
const benchUsers = 100_000

// BenchmarkImport imports the organisation `orgraph bench` generates (benchUsers users, with its groups,
// contacts, deep chain and guests' sponsors) into a new database of each backend, once per iteration. The
// file is generated and the database made before the timer starts; the import's own reading and checking
// are measured.
func BenchmarkImport(b *testing.B) {
	org, err := bench.Generate(bench.Config{Users: benchUsers, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var file bytes.Buffer
	if err := org.WriteJSONL(&file); err != nil {
		b.Fatal(err)
	}
	want := Summary{Users: org.Users(), Groups: org.Groups(), Contacts: org.Contacts(), Managers: org.Managers(), Sponsors: org.Sponsors()}
	run := func(b *testing.B, open func() store.Store) {
		ctx := context.Background()
		b.SetBytes(int64(file.Len()))
		for b.Loop() {
			b.StopTimer()
			st := open()
			tenant := uuid.NewString()
			if err := st.CreateTenant(ctx, store.Tenant{ID: tenant, Name: "bench", CreatedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sum, err := Import(ctx, st, tenant, bytes.NewReader(file.Bytes()), Options{})
			if err != nil {
				b.Fatal(err)
			}
			if sum.Users != want.Users || sum.Groups != want.Groups || sum.Contacts != want.Contacts ||
				sum.Managers != want.Managers || sum.Sponsors != want.Sponsors || len(sum.Skipped) > 0 {
				b.Fatalf("imported %+v, want %+v", sum, want)
			}
		}
	}
	b.Run("backend=sqlite", func(b *testing.B) {
		run(b, func() store.Store {
			st, _ := openStore(b)
			return st
		})
	})
	b.Run("backend=postgres", func(b *testing.B) {
		run(b, func() store.Store {
			st, err := postgres.Open(context.Background(), pgtest.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		})
	})
}
