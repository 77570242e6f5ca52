// Package pgtest gives each test a PostgreSQL database of its own: a new schema on the server named by
// ORGRAPH_TEST_POSTGRES, reached through a DSN whose search_path selects it, and dropped when the test ends.
// Tests on a shared server then neither see each other's rows nor need a server each. Without a reachable
// server a test is skipped, unless CI=true: CI must fail rather than pass without having run it.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable that points tests at a PostgreSQL database.
const EnvDSN = "ORGRAPH_TEST_POSTGRES"

// DefaultDSN is the database tests use when EnvDSN is unset.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerDSN returns the DSN of the test database itself, for tests that act on the server (as an operator would).
func ServerDSN() string {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// Connect opens a connection to the test database, skipping t (or failing it under CI=true) when none answers.
func Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, ServerDSN())
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL for this test (set %s to a reachable database; default %s): %v", EnvDSN, DefaultDSN, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return conn
}

// DSN creates an empty schema and returns a DSN whose search_path is that schema. The schema and everything
// in it are dropped when t ends, after the cleanups registered later (closing the stores that use it) have run.
func DSN(t testing.TB) string {
	t.Helper()
	schema := "orgraph_test_" + strings.ToLower(rand.Text())
	exec(t, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, "DROP SCHEMA "+schema+" CASCADE") })
	return WithParam(ServerDSN(), "search_path", schema)
}

func exec(t testing.TB, sql string) {
	t.Helper()
	conn := Connect(t)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// WithParam returns dsn with one more connection parameter, in either form a DSN may take.
func WithParam(dsn, name, value string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(name, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + name + "=" + value
}
