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
func openPostgresSchema(tb testing.TB) muster.Store {
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
	st, err := postgres.Open(context.Background(), u.String(), storetest.NewKeys().DataKeys())
	if err != nil {
		tb.Fatalf("open postgres store: %v", err)
	}
	tb.Cleanup(func() {
		st.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return st
}
