package plancheck_test

import (
	"os"
	"strings"
	"testing"

	"github.com/muster-evac/muster/plancheck"
)

// TestRulesDocumented: every rule the checker knows is named in
// plan/PLAN_FORMAT.md's account of the hard rules.
func TestRulesDocumented(t *testing.T) {
	data, err := os.ReadFile("../plan/PLAN_FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "## The hard rules")
	if start < 0 {
		t.Fatal("PLAN_FORMAT.md has no section on the hard rules")
	}
	doc = doc[start:]
	if end := strings.Index(doc[3:], "\n## "); end >= 0 {
		doc = doc[:end+3]
	}
	for _, r := range plancheck.Rules {
		if !strings.Contains(doc, "`"+r.Code+"`") {
			t.Errorf("rule %s is not in PLAN_FORMAT.md's hard rules", r.Code)
		}
	}
}
