package evacuees

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"
)

// sharedFile returns the path of a file under ../shared relative to the
// repository root, skipping the test when the shared data is absent.
func sharedFile(tb testing.TB, rel string) string {
	tb.Helper()
	return testshared.Path(tb, rel)
}

func readFile(tb testing.TB, path string, opts Options) *Result {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	res, err := Read(f, filepath.Base(path), opts)
	if err != nil {
		tb.Fatalf("Read(%s): %v", path, err)
	}
	return res
}

func readString(tb testing.TB, s string, opts Options) *Result {
	tb.Helper()
	res, err := Read(strings.NewReader(s), "test.csv", opts)
	if err != nil {
		tb.Fatalf("Read: %v\n%s", err, s)
	}
	return res
}

// rowErrors joins a row's errors for messages and keyword checks.
func rowErrors(r Row) string {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Error())
		b.WriteString("; ")
	}
	return b.String()
}
