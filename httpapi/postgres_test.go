package httpapi

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/postgres"
	"github.com/muster-evac/muster/storetest"
)

func init() { openPostgres = openPostgresSchema }

// openPostgresSchema opens a PostgreSQL store in a schema of its own in
// the database MUSTER_TEST_POSTGRES names, dropped after the test.
func openPostgresSchema(tb testing.TB) muster.Store { return openPostgresStores(tb, 1)[0] }

// openPostgresStores opens n stores on one schema of their own, with one
// data key (n server instances sharing a database); the schema is
// dropped after the test.
func openPostgresStores(tb testing.TB, n int) []muster.Store {
	tb.Helper()
	base := os.Getenv("MUSTER_TEST_POSTGRES")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "httpapi_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	keys := storetest.NewKeys()
	var stores []muster.Store
	tb.Cleanup(func() {
		for _, st := range stores {
			st.Close()
		}
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	for range n {
		st, err := postgres.Open(context.Background(), u.String(), keys.DataKeys())
		if err != nil {
			tb.Fatalf("open postgres store: %v", err)
		}
		stores = append(stores, st)
	}
	return stores
}
