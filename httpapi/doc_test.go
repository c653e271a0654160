package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerDocListsEveryRoute keeps docs/server.md in step with the
// route table: every route is in its table with the roles it allows.
func TestServerDocListsEveryRoute(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "server.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
	}
	e := newEnv(t, openSQLite(t), nil)
	for _, rt := range e.api.Routes() {
		who, ok := rows[rt.Name()]
		if !ok {
			t.Errorf("docs/server.md does not list %s", rt.Name())
			continue
		}
		want := map[Access]string{Public: "anyone", Capability: "capability"}[rt.Access]
		if rt.Access == Operator {
			want = strings.Join(rt.Roles, " ")
			if len(rt.Roles) == 4 {
				want = "all roles"
			}
		}
		if who != want {
			t.Errorf("docs/server.md: %s is for %q, the server says %q", rt.Name(), who, want)
		}
		delete(rows, rt.Name())
	}
	for name := range rows {
		t.Errorf("docs/server.md lists %s, which the server does not serve", name)
	}
}
