// Package testshared finds the read-only data shared beside the
// repository (../shared from its root: real OpenStreetMap extracts and
// scenarios) for tests and benchmarks, and skips them with a clear
// message where it is absent.
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
		tb.Skipf("%s is absent (the real extracts and scenarios live in ../shared beside the repository): %v", p, err)
	}
	return p
}
