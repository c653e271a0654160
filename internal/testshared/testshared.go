// Package testshared finds the read-only data shared beside the
// repository (../shared from its root: real OpenStreetMap extracts and
// scenarios) for tests and benchmarks, and skips them with a clear
// message where it is absent, except in CI (CI=true, which .ci/run
// sets), where anything a test needs and lacks fails it: a skipped
// real-data, PostgreSQL or browser test must not pass unseen.
package testshared

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the repository root: the nearest directory holding go.mod
// above the working directory.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("the repository root (go.mod) is not above the working directory")
		}
		dir = parent
	}
}

// Path returns the path of rel under ../shared (e.g. "data/porto.osm.pbf"),
// or skips tb when it is absent.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Root(tb), "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		Unavailable(tb, "%s is absent (the real extracts and scenarios live in ../shared beside the repository): %v", p, err)
	}
	return p
}

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips tb for want of something it needs (shared data, a
// database, a tool), or fails it in CI, where everything must be there.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("CI=true: "+format, args...)
	}
	tb.Skipf(format, args...)
}

// Long marks a test as part of the long suites (real extracts at scale,
// crash and browser tests): it runs when MUSTER_LONG=1 or in CI (CI=true,
// which .ci/run sets), and is skipped otherwise, so that `go test ./...`
// on a developer's machine stays under three minutes.
func Long(tb testing.TB) {
	tb.Helper()
	if _, bench := tb.(*testing.B); bench {
		return // a benchmark is asked for by name: it runs
	}
	if os.Getenv("MUSTER_LONG") == "1" || InCI() {
		return
	}
	tb.Skip("a long test: set MUSTER_LONG=1 (CI sets it) to run it")
}
