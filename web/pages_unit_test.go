package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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

// TestFlagWordsCoverEveryFlag: every flag the server can put on a field
// event (the string constants named Flag... in fieldevent.go and package
// operation, read from their source) has its words in the operations
// map's list of flagged events (src/ops/flagged.js), so that a flag added
// to the server is not shown there by its bare name unnoticed.
func TestFlagWordsCoverEveryFlag(t *testing.T) {
	js, err := os.ReadFile(filepath.Join("src", "ops", "flagged.js"))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{}
	for _, file := range []string{filepath.Join("..", "fieldevent.go"), filepath.Join("..", "operation", "operation.go")} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Flag") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						flags[name.Name] = v
					}
				}
			}
		}
	}
	if len(flags) < 13 {
		t.Fatalf("found %d flags in the server's source, want at least 13: %v", len(flags), flags)
	}
	for name, v := range flags {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(v) + `: ['"]`).Match(js) {
			t.Errorf("%s (%q) has no words in src/ops/flagged.js", name, v)
		}
	}
}
