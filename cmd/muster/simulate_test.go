package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// muster simulate on the demo city, twice with one seed: the same report;
// bad flags are refused with the reason.
func TestSimulateDemo(t *testing.T) {
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"simulate", "-q", "--scale", "0.5", "--households", "400", "--seed", "3", "-o", filepath.Join(dir, out)}
	}
	out, _, err := run(t, args("a")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"muster plan", "nearest gate", "CCRP", "fake_reports", "gate_close", "report.html"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, args("b")...); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a", "report.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "b", "report.json"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the same seed gave different reports")
	}
	for _, bad := range [][]string{
		{"simulate", "-o", dir, "--no-show", "2"},
		{"simulate", "-o", dir, "--places", "p.geojson"},
		{"simulate", "-o", dir, "--queue-area", "gate-1"},
		{"simulate"},
	} {
		_, _, err := run(t, bad...)
		if muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("%v: %v, want an EINVALID error", bad, err)
		}
	}
}
