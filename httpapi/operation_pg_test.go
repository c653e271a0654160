package httpapi

import (
	"testing"

	"github.com/muster-evac/muster"
)

// openPostgresPair opens two stores on one PostgreSQL schema, with one
// data key: two server instances sharing a database.
func openPostgresPair(tb testing.TB) (muster.Store, muster.Store) {
	tb.Helper()
	st := openPostgresStores(tb, 2)
	return st[0], st[1]
}
