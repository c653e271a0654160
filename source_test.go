package muster

import (
	"strings"
	"testing"
)

func TestSourceGradeValidate(t *testing.T) {
	good := SourceGrade{ID: "tg-channel-441", Name: "Telegram channel 441", Kind: SourceSocial, Reliability: "E",
		Hostile: true, Cluster: "abbey-open-campaign", Note: "forty new accounts, one text\nsee ticket 12"}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good grade: %v", err)
	}
	if err := (&SourceGrade{ID: "x"}).Validate(); err != nil {
		t.Fatalf("an id alone (registered, not graded): %v", err)
	}
	for _, c := range []struct {
		field string
		mod   func(g *SourceGrade)
	}{
		{"id", func(g *SourceGrade) { g.ID = "" }},
		{"id", func(g *SourceGrade) { g.ID = "  " }},
		{"id", func(g *SourceGrade) { g.ID = "a\x00b" }},
		{"id", func(g *SourceGrade) { g.ID = "\xff" }},
		{"id", func(g *SourceGrade) { g.ID = strings.Repeat("x", MaxIDBytes+1) }},
		{"name", func(g *SourceGrade) { g.Name = "bell\a" }},
		{"name", func(g *SourceGrade) { g.Name = strings.Repeat("n", MaxIDBytes+1) }},
		{"kind", func(g *SourceGrade) { g.Kind = "rumour" }},
		{"reliability", func(g *SourceGrade) { g.Reliability = "G" }},
		{"reliability", func(g *SourceGrade) { g.Reliability = "AB" }},
		{"reliability", func(g *SourceGrade) { g.Reliability = "b" }},
		{"cluster", func(g *SourceGrade) { g.Cluster = " " }},
		{"cluster", func(g *SourceGrade) { g.Cluster = "c\x1b[31m" }},
		{"cluster", func(g *SourceGrade) { g.Cluster = strings.Repeat("c", MaxIDBytes+1) }},
		{"note", func(g *SourceGrade) { g.Note = strings.Repeat("é", MaxSourceNoteBytes) }},
		{"note", func(g *SourceGrade) { g.Note = "\x7f" }},
	} {
		g := good
		c.mod(&g)
		err := g.Validate()
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), c.field+": ") {
			t.Errorf("%+v: %v, want EINVALID naming %s", g, err, c.field)
		}
	}
	// Every kind and grade is accepted, and empty ones too.
	for _, k := range append([]string{""}, SourceKinds...) {
		for _, r := range append([]string{""}, strings.Split(ReliabilityGrades, "")...) {
			g := SourceGrade{ID: "s", Kind: k, Reliability: r}
			if err := g.Validate(); err != nil {
				t.Errorf("kind %q reliability %q: %v", k, r, err)
			}
		}
	}
}

func TestCheckText(t *testing.T) {
	for s, ok := range map[string]bool{"": true, "a\nb\tc": true, "دری": true, "\x00": false, "\u0085": false, "\xc3": false, "abcdefg": false} {
		if err := CheckText(s, 6); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", s, err, ok)
		}
	}
}
