package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

func TestDBInitPrintsTheCommands(t *testing.T) {
	out, _, err := run(t, "db", "init", "--db", "postgres://evac:s3cret@127.0.0.1:5433/kabul")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"apt-get install -y postgresql",
		`CREATE ROLE evac LOGIN PASSWORD 's3cret'`,
		`CREATE DATABASE kabul OWNER evac`,
		"export MUSTER_DB='postgres://evac:s3cret@127.0.0.1:5433/kabul'",
		`muster serve --db "$MUSTER_DB"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("db init output lacks %q:\n%s", want, out)
		}
	}
	// With no URL: a default one with a generated password, different each time.
	a, _, err := run(t, "db", "init")
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := run(t, "db", "init")
	if !strings.Contains(a, "CREATE ROLE muster LOGIN PASSWORD '") || a == b {
		t.Errorf("default db init should make a fresh password each time:\n%s\n%s", a, b)
	}
	// What goes into SQL and the shell is refused unless it needs no quoting.
	for _, bad := range []string{
		"postgres://x;drop@127.0.0.1/m", "postgres://evac@127.0.0.1/kabul;rm", "postgres://evac:it's@127.0.0.1/m",
		"mysql://evac@127.0.0.1/m", "postgres:///m", "postgres://Evac@127.0.0.1/m",
	} {
		if _, _, err := run(t, "db", "init", "--db", bad); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("db init --db %s: %v, want EINVALID", bad, err)
		}
	}
}

// A database that is not there: the error says what to do.
func TestServeOnMissingPostgresSaysHow(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = openPostgresStore(context.Background(), "postgres://muster:pw@"+addr+"/muster?connect_timeout=5", muster.DataKeys{})
	if err == nil || !strings.Contains(err.Error(), "muster db init") || strings.Contains(err.Error(), ":pw@") {
		t.Fatalf("open on a closed port: %v", err)
	}
}
