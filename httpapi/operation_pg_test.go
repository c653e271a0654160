package httpapi

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/postgres"
	"github.com/muster-evac/muster/storetest"
)

// openPostgresPair opens two stores on one PostgreSQL schema, with one
// data key: two server instances sharing a database.
func openPostgresPair(tb testing.TB) (muster.Store, muster.Store) {
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
	for range 2 {
		st, err := postgres.Open(context.Background(), u.String(), keys.DataKeys())
		if err != nil {
			tb.Fatalf("open postgres store: %v", err)
		}
		stores = append(stores, st)
	}
	tb.Cleanup(func() {
		for _, st := range stores {
			st.Close()
		}
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return stores[0], stores[1]
}
