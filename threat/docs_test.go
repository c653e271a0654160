package threat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docs", "threat-picture.md"))
	if err != nil {
		t.Fatalf("docs/threat-picture.md: %v", err)
	}
	return string(data)
}

// TestDocsMatchCode keeps docs/threat-picture.md true: its tables are the
// code's tables, and its example is the real output.
func TestDocsMatchCode(t *testing.T) {
	doc := readDoc(t)
	row := regexp.MustCompile(`(?m)^\| ([a-z ]+) \| ([0-9.]+) \| ([0-9.]+)–([0-9.]+) \| (.+) \|$`)
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		p, _ := strconv.ParseFloat(m[2], 64)
		lo, _ := strconv.ParseFloat(m[3], 64)
		hi, _ := strconv.ParseFloat(m[4], 64)
		w, ok := likelihoodByPhrase[m[1]]
		if !ok || w.P != p || w.Lo != lo || w.Hi != hi || w.Origin != m[5] {
			t.Errorf("docs row %q does not match the code's %+v", m[0], w)
		}
		seen[m[1]] = true
	}
	for _, w := range Likelihoods {
		if !seen[w.Phrase] {
			t.Errorf("the docs' likelihood table lacks %q", w.Phrase)
		}
	}
	for kind, hl := range HalfLife {
		want := fmt.Sprintf("| %s | %d hours |", kind, int(hl.Hours()))
		if hl >= 72*time.Hour {
			want = fmt.Sprintf("| %s | %d days |", kind, int(hl.Hours()/24))
		}
		if !strings.Contains(doc, want) {
			t.Errorf("docs lack the half-life row %q", want)
		}
	}
	var rel, cred []string
	for _, g := range "ABCDEF" {
		rel = append(rel, fmt.Sprintf("%.2f", ReliabilityWeight[string(g)]))
	}
	for c := 1; c <= 6; c++ {
		cred = append(cred, fmt.Sprintf("%.2f", CredibilityWeight[c]))
	}
	for _, want := range []string{"| weight | " + strings.Join(rel, " | ") + " |", "| weight | " + strings.Join(cred, " | ") + " |",
		fmt.Sprintf(`"large_area_km2": %g`, DefaultPolicy().LargeAreaKm2), fmt.Sprintf(`"max_forbidden_area_km2": %g`, DefaultPolicy().MaxForbiddenAreaKm2),
		fmt.Sprintf("within a factor %d", MaxScaleRatio), fmt.Sprintf("After %d half-lives", FadeHalfLives),
		fmt.Sprintf("from %.2f | from %.2f", HighAt, CriticalAt), fmt.Sprintf("%d m circle", DefaultPlaceRadiusM)} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs lack %q", want)
		}
	}
	// The example is the real output of the Kabul scenario.
	s := loadScenario(t, "kabul-2021")
	var table bytes.Buffer
	if err := WriteTable(&table, build(t, s, s.reports, mustTime(t, kabulEvening))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "```\n"+strings.TrimRight(table.String(), "\n ")+"\n```") {
		t.Error("the docs' Kabul example is not the current output of muster threats --at 2021-08-21T18:00:00Z --format table")
	}
}
