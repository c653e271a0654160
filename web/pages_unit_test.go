package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"
)

// TestPageScriptsUnitTests runs the JavaScript unit tests of the evacuee
// and field pages and of the token verifier (node --test): the walk
// sketch's geometry, the labels in every language, the field queue's
// settling of server answers, base45, CBOR and the verifier's refusal of
// random input. The verifier's agreement with Go is
// TestBrowserVerifierAgreesWithGo.
func TestPageScriptsUnitTests(t *testing.T) {
	testshared.Long(t) // several seconds on a loaded machine: node, and 3,000 random tokens
	node, err := exec.LookPath("node")
	if err != nil {
		testshared.Unavailable(t, "node is not installed: the pages' unit tests cannot run")
	}
	var files []string
	for _, dir := range []string{"lib", "evacuee", "field", "ops"} {
		m, _ := filepath.Glob(filepath.Join("src", dir, "*.test.mjs"))
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found %d test files of the pages, want at least 4: %v", len(files), files)
	}
	cmd := exec.Command(node, append([]string{"--test", "--test-reporter=tap"}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^# pass (\d+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("node did not say how many tests passed:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 10 {
		t.Fatalf("only %d tests passed:\n%s", n, out)
	}
	if !regexp.MustCompile(`(?m)^# fail 0$`).Match(out) {
		t.Fatalf("failures:\n%s", out)
	}
}
