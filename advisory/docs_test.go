package advisory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"
)

// TestDocsMatchCode keeps docs/advisories.md's table of canned advisories
// true.
func TestDocsMatchCode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testshared.Root(t), "docs", "advisories.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| `") {
			key := strings.Trim(strings.Split(line, "|")[1], " `")
			rows[key] = line
		}
	}
	for _, k := range cannedKinds {
		want := "| `" + k.key + "` | " + strings.Join(k.categories, ", ") + " | " + strings.Join(k.responseTypes, ", ") + " | " +
			k.urgency + " | " + k.severity + " | " + k.certainty + " |"
		if rows[k.key] != want {
			t.Errorf("docs/advisories.md says\n%s\nthe code says\n%s", rows[k.key], want)
		}
	}
}
