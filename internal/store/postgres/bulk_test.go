package postgres_test

import (
	"context"
	"testing"

	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/postgres/pgtest"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

func TestBulkConformance(t *testing.T) {
	pgtest.Connect(t).Close(context.Background()) // skip once, not in every subtest, without a server
	storetest.RunBulk(t, func(t *testing.T) store.Store { return openDSN(t, pgtest.DSN(t)) })
}
