package instruct

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	xmessage "golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/muster-evac/muster"
)

// Every key in every language, no key nobody uses, the placeholders each
// message must have and no other, syntax: each problem is named with its
// key and language.
func TestCatalogsAreComplete(t *testing.T) {
	for _, p := range catalogProblems {
		t.Error(p)
	}
	if len(catalogs) != len(languages) {
		t.Errorf("%d catalogs for %d languages", len(catalogs), len(languages))
	}
}

// The checker itself: a catalog with a key missing, a key unknown, a
// placeholder dropped, one invented and a plural form missing gets a
// problem for each, naming key and language.
func TestCatalogCheckerFindsProblems(t *testing.T) {
	data, err := catalogFS.ReadFile("catalog/ps-AF.toml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "title ="),
			strings.HasPrefix(l, "people.one ="):
			continue // missing
		case strings.HasPrefix(l, "greeting ="):
			l = `greeting = "د لپاره"` // {name} dropped
		case strings.HasPrefix(l, "walk ="):
			l = `walk = "شاوخوا {duration} ({distance}) {speed}"` // {speed} unknown
		}
		lines = append(lines, l)
	}
	lines = append(lines, `word.unicorn = "ښکر"`)
	ps := languages[2]
	_, problems := compileCatalog(ps, []byte(strings.Join(lines, "\n")))
	for _, want := range []string{
		`missing translation of "title" (language ps)`,
		`missing translation of "people.one" (language ps)`,
		`greeting: placeholders none, want {name}`,
		`walk: placeholders {distance} {duration} {speed}, want {distance} {duration}`,
		`unused key "word.unicorn" (language ps)`,
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem says %q; problems:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems, want 5:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	// A right-to-left message that starts with a Latin letter reads left to right.
	_, problems = compileCatalog(ps, []byte(strings.Replace(string(data), `title = "د تخلیې لارښوونه"`, `title = "Muster د تخلیې لارښوونه"`, 1)))
	if len(problems) != 1 || !strings.Contains(problems[0], "title: a right-to-left message must not begin with a left-to-right letter") {
		t.Errorf("problems: %q", problems)
	}
}

// Each key has the same placeholders in every language (and every plural
// form), the ones the renderer fills.
func TestPlaceholdersAgreeAcrossLanguages(t *testing.T) {
	for k, d := range keyDefs {
		var ref []string
		for _, l := range languages {
			for f, m := range catalogs[l.code].msgs[k] {
				if m == nil {
					continue
				}
				got := m.placeholders()
				if ref == nil {
					ref = got
				} else if !slices.Equal(got, ref) {
					t.Errorf("%s (%s, %s): placeholders %v, other languages have %v", d.name, l.code, formNames[f], got, ref)
				}
			}
		}
	}
}

// Every message of the catalogs is one muster can write: rendering every
// kind of instruction in every language and form uses every key.
func TestEveryKeyIsUsed(t *testing.T) {
	used := make([]bool, len(keyDefs))
	noteUse = func(k msgKey) { used[k] = true }
	defer func() { noteUse = nil }()
	for _, in := range varietyOfInstructions() {
		for _, lang := range Languages() {
			in.Language = lang
			if _, err := Render(&in, "https://e.example/i/AB12CD34EF56GH78JK9"); err != nil {
				t.Fatalf("%s in %s: %v", in.ID, lang, err)
			}
			if _, err := RenderMessage(&in, Message{Link: "https://e.example/i/AB12CD34EF56GH78JK9", Token: "MU1:ABC DEF", AckCode: "482913"}); err != nil {
				t.Fatalf("%s in %s, as sent: %v", in.ID, lang, err)
			}
		}
	}
	for k, u := range used {
		if !u {
			t.Errorf("key %q is never rendered", keyDefs[k].name)
		}
	}
}

// varietyOfInstructions covers every message: households and an escort,
// each maneuver, compass point, weekday, month, item and code word, one and
// several people, an escape, an update, a window and a single time.
func varietyOfInstructions() []muster.Instruction {
	base := sampleHousehold()
	var out []muster.Instruction
	for i := 0; i < 12; i++ {
		in := base
		in.ID = fmt.Sprintf("I-H%06d/v1", i)
		in.People = 1 + i%3
		in.ReportBy = base.ReportBy.AddDate(0, i, i) // every month and weekday
		in.ReportFrom = in.ReportBy.Add(-time.Duration(i%2) * 20 * time.Minute)
		in.ExpiresAt = in.ReportBy.Add(20 * time.Hour)
		in.Walk.Escape = i == 3
		in.Walk.DurationS = 60 * (1 + i)
		in.Walk.DistanceM = 300 * i
		in.Walk.Steps = nil
		for j, m := range muster.Maneuvers {
			street := fmt.Sprintf("Street %d", j)
			if j == i%len(muster.Maneuvers) {
				street = ""
			}
			in.Walk.Steps = append(in.Walk.Steps, muster.WalkStep{Maneuver: m, Street: street, DistanceM: 40 * j * (1 + i), Bearing: 45 * (i + j)})
		}
		in.Bring = itemKeys("bring.")
		in.DoNotBring = itemKeys("no.")
		if i == 5 {
			in.Supersedes, in.Version = "I-H000005/v1", 2
		}
		out = append(out, in)
	}
	n := len(out)
	for i, w := range CodeWords {
		if i < n {
			out[i].CodeWord = w
			continue
		}
		in := out[i%n]
		in.CodeWord = w
		out = append(out, in)
	}
	out = append(out, sampleEscort())
	return out
}

// The digits, separators and plural forms come from CLDR through
// golang.org/x/text; the fast path writes numbers exactly as it does.
func TestNumbersAsXTextWritesThem(t *testing.T) {
	for _, l := range languages {
		c := catalogs[l.code]
		p := xmessage.NewPrinter(language.MustParse(l.numbers))
		for v := 0; v < 3000; v += 7 {
			if got, want := c.num.Int(v), p.Sprint(number.Decimal(v)); got != want {
				t.Fatalf("%s: Int(%d) = %q, x/text writes %q", l.code, v, got, want)
			}
		}
		for _, v := range []float64{0.05, 1.04, 1.25, 2.96, 12.3, 999.94} {
			if got, want := c.num.Tenths(v), p.Sprint(number.Decimal(v, number.MinFractionDigits(1), number.MaxFractionDigits(1))); got != want {
				t.Errorf("%s: Tenths(%v) = %q, x/text writes %q", l.code, v, got, want)
			}
		}
		if got, want := c.num.Coord(34.523456), p.Sprint(number.Decimal(34.523456, number.MinFractionDigits(5), number.MaxFractionDigits(5))); got != want {
			t.Errorf("%s: Coord = %q, x/text writes %q", l.code, got, want)
		}
	}
	if got := catalogs[muster.LangDari].num.Int(1234); got != "۱٬۲۳۴" {
		t.Errorf("Dari 1234 = %q", got)
	}
	if got := string(catalogs[muster.LangPashto].num.Clock(nil, 6, 5)); got != "۰۶:۰۵" {
		t.Errorf("Pashto 06:05 = %q", got)
	}
}

func TestPluralForms(t *testing.T) {
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{
		{muster.LangEnglish, 1, "It admits 1 person"},
		{muster.LangEnglish, 2, "It admits 2 people"},
		{muster.LangPashto, 1, "۱ تن ته"},
		{muster.LangPashto, 5, "۵ تنو ته"},
		{muster.LangDari, 1, "فقط خود شما"},
		{muster.LangDari, 3, "فقط اعضای خانوار شما"},
	} {
		in := sampleHousehold()
		in.Language, in.People = tc.lang, tc.n
		s, err := Text(&in, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, tc.want) {
			t.Errorf("%s, %d people: no %q in\n%s", tc.lang, tc.n, tc.want, s)
		}
	}
	// Every form a language uses for whole numbers is in its catalog.
	for _, l := range languages {
		forms := pluralFormsOf(language.Make(l.tag))
		if !slices.Contains(forms, plural.Other) || len(forms) < 2 {
			t.Errorf("%s: plural forms %v", l.code, forms)
		}
	}
}

func TestParseTOMLStrings(t *testing.T) {
	got, errs := parseTOMLStrings([]byte("# comment\n\na = \"x \\\"y\\\" \\u0627\\n\" # trailing\nb.c-d = \"\"\n"))
	if len(errs) > 0 || got["a"] != "x \"y\" ا\n" || got["b.c-d"] != "" || len(got) != 2 {
		t.Errorf("got %q, errors %v", got, errs)
	}
	for _, bad := range []string{
		"a = 'single'", "a = \"open", "a \"x\"", "a = \"x\" y", "a..b = \"x\"", "a = \"\\q\"",
		"a = \"x\"\na = \"y\"", "a = \"x\"\na.b = \"y\"", "a = \"tab\x01\"", "ä = \"x\"", "a = \"\\uD800\"",
	} {
		if _, errs := parseTOMLStrings([]byte(bad)); len(errs) == 0 {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := compileMessage("a {b"); err == nil {
		t.Error("an unclosed placeholder compiles")
	}
	if _, err := compileMessage("a } b"); err == nil {
		t.Error("a stray } compiles")
	}
	if _, err := compileMessage("a {B}"); err == nil {
		t.Error("an upper-case placeholder compiles")
	}
}

// docs/instructions.md names every field a change can be in, every
// maneuver and every item an instruction can list.
func TestDocsNameWhatCodeHas(t *testing.T) {
	doc, err := os.ReadFile("../docs/instructions.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{muster.ChangedAudience, muster.ChangedHousehold, muster.ChangedLanguage, muster.ChangedName, muster.ChangedRallyPoint,
		muster.ChangedWalk, muster.ChangedTime, muster.ChangedGroup, muster.ChangedPeople, muster.ChangedCodeWord, muster.ChangedBring,
		muster.ChangedDoNotBring, muster.ChangedContact, muster.ChangedGate, muster.ChangedSchedule, muster.ChangedExpiry}
	names = append(names, DefaultBring...)
	names = append(names, DefaultDoNotBring...)
	names = append(names, "bring.medical_records")
	for _, m := range muster.Maneuvers {
		if !strings.HasPrefix(m, "slight_right") && !strings.HasPrefix(m, "sharp_right") && m != muster.ManeuverRight {
			names = append(names, m)
		}
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/instructions.md does not name `%s`", n)
		}
	}
	if !strings.Contains(string(doc), fmt.Sprintf("%d concrete words", len(CodeWords))) {
		t.Errorf("docs/instructions.md does not say there are %d code words", len(CodeWords))
	}
}
