package graphapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// The benchmarks below measure the JSON a response is made of, alone ("encode") and as a whole request
// through ServeHTTP on a SQLite store ("http": token check, routing, store reads and encoding, with no
// network). They run in CI with -benchtime=1x so that they keep compiling and working.

// benchUser returns a user with the properties a real directory fills in.
func benchUser(i int) *directory.Object {
	name := fmt.Sprintf("Ada Lovelace%d", i)
	upn := fmt.Sprintf("ada.lovelace%d@contoso.example", i)
	return &directory.Object{ID: uuid.NewString(), Kind: directory.KindUser, Props: map[string]any{
		"accountEnabled":    true,
		"businessPhones":    []any{"+44 20 7946 0123"},
		"city":              "London",
		"companyName":       "Contoso",
		"country":           "United Kingdom",
		"createdDateTime":   "2021-03-04T05:06:07Z",
		"department":        "Engineering",
		"displayName":       name,
		"employeeId":        fmt.Sprintf("E%07d", i),
		"givenName":         "Ada",
		"jobTitle":          "Senior Software Engineer",
		"mail":              upn,
		"mailNickname":      fmt.Sprintf("ada.lovelace%d", i),
		"mobilePhone":       "+44 20 7946 0456",
		"officeLocation":    "London 12/345",
		"preferredLanguage": "en-GB",
		"surname":           "Lovelace",
		"usageLocation":     "GB",
		"userPrincipalName": upn,
		"userType":          "Member",
	}}
}

// benchAPI serves a tenant holding a chain of n+1 users (users[0] reports to users[1], and so on), and
// returns the handler, a token for it, and the users.
func benchAPI(b *testing.B, n int) (*Server, string, []*directory.Object) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "orgraph.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	users := make([]*directory.Object, n+1)
	err = st.Update(ctx, tenant, func(tx directory.Tx) error {
		for i := range users {
			users[i] = benchUser(i)
			if err := tx.Insert(users[i]); err != nil {
				return err
			}
		}
		for i := range n {
			if err := tx.SetManager(users[i].ID, users[i+1].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		b.Fatal(err)
	}
	app := uuid.NewString()
	token, err := auth.Mint(keys[0], auth.Claims{TenantID: tenant, ObjectID: app, AppID: app, Roles: []string{"Directory.Read.All"}}, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return New(Options{Store: st, Verifier: auth.NewVerifier(st.SigningKeys, time.Now)}), token, users
}

// serveBench runs one GET through the handler per iteration and checks it succeeds.
func serveBench(b *testing.B, s *Server, token, target string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("ConsistencyLevel", "eventual")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}

func BenchmarkRenderUser(b *testing.B) {
	b.Run("encode", func(b *testing.B) {
		u := benchUser(1)
		b.ReportAllocs()
		for b.Loop() {
			d := &doc{}
			d.open()
			d.str("@odata.context", contextURL("http://127.0.0.1:8080/v1.0", "users/$entity", nil))
			d.object(u, shape{})
			d.close()
			b.SetBytes(int64(d.buf.Len()))
		}
	})
	b.Run("http", func(b *testing.B) {
		s, token, users := benchAPI(b, 1)
		serveBench(b, s, token, "/v1.0/users/"+users[0].ID)
	})
}

func BenchmarkRenderChain1000(b *testing.B) {
	const depth = directory.MaxLevels
	b.Run("encode", func(b *testing.B) {
		chain := make([]*directory.Object, depth)
		for i := range chain {
			chain[i] = benchUser(i)
		}
		u := benchUser(-1)
		sh := shape{canRead: func(directory.Kind) bool { return true }}
		b.ReportAllocs()
		for b.Loop() {
			d := &doc{}
			d.open()
			d.str("@odata.context", contextURL("http://127.0.0.1:8080/v1.0", "users/$entity", nil))
			d.object(u, shape{})
			for _, m := range chain {
				d.key("manager")
				d.open()
				d.object(m, sh)
			}
			for range chain {
				d.close()
			}
			d.close()
			b.SetBytes(int64(d.buf.Len()))
		}
	})
	b.Run("http", func(b *testing.B) {
		s, token, users := benchAPI(b, depth)
		serveBench(b, s, token, "/v1.0/users/"+users[0].ID+"?$expand=manager($levels=max)")
	})
}
