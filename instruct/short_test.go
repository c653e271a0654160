package instruct

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/testshared"
)

// issuerLink is as long as the links the server puts in its messages:
// https://evac.example.org/i/ and 20 characters of secret.
const issuerLink = "https://evac.example.org/i/abcdefghij234567klmn"

// markers stand for the rally point's name in a reference rendering: the
// rest of the short form must come out the same whatever the name. One
// character, in the language's script (no isolates): it fits even the
// longest short form whole.
var markers = map[string]string{muster.LangEnglish: "Q", muster.LangDari: "ۏ", muster.LangPashto: "ۏ"}

// stripIsolates drops the directional isolates, which a name gets or not
// according to its script.
func stripIsolates(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, s)
}

// checkShort renders in's short form with the reply code and checks that
// it fits two segments (UCS-2 when not GSM-7) and that everything but the
// rally point's name is there as it is with a short name: the time, the
// codes, the code word, the link and the reply code; the name whole, or
// cut and ended with an ellipsis.
func checkShort(t *testing.T, in muster.Instruction, link, ack string) {
	t.Helper()
	f, err := RenderMessage(&in, Message{Link: link, AckCode: ack})
	if err != nil {
		t.Fatalf("%s, rally %q: %v", in.Language, in.RallyPoint.Name, err)
	}
	size := MeasureSMS(f.SMS)
	if size.Segments > 2 {
		t.Fatalf("%s, rally %q: %d segments (%s, %d units):\n%s", in.Language, in.RallyPoint.Name, size.Segments, size.Encoding, size.Units, f.SMS)
	}
	if in.Language != muster.LangEnglish && size.Encoding != UCS2 {
		t.Fatalf("%s: encoded as %s", in.Language, size.Encoding)
	}
	ref := in
	marker := markers[in.Language]
	ref.RallyPoint.Name = marker
	rf, err := RenderMessage(&ref, Message{Link: link, AckCode: ack})
	if err != nil {
		t.Fatal(err)
	}
	refSMS := stripIsolates(rf.SMS)
	i := strings.Index(refSMS, marker)
	if i < 0 || strings.Count(refSMS, marker) != 1 {
		t.Fatalf("the reference short form has not the marker once: %q", refSMS)
	}
	prefix, suffix := refSMS[:i], refSMS[i+len(marker):]
	for _, must := range []string{link, ack} {
		if !strings.Contains(suffix, must) && !strings.Contains(prefix, must) {
			t.Fatalf("the reference short form lacks %q: %q", must, refSMS)
		}
	}
	got := stripIsolates(f.SMS)
	if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) || len(got) < len(prefix)+len(suffix) {
		t.Fatalf("%s, rally %q: the short form lost more than the name:\n got %q\nwant %q NAME %q", in.Language, in.RallyPoint.Name, got, prefix, suffix)
	}
	name := got[len(prefix) : len(got)-len(suffix)]
	r, err := newRenderer(&in, false, in.Language == muster.LangEnglish)
	if err != nil {
		t.Fatal(err)
	}
	full := r.foldData(cleanData(in.RallyPoint.Name, maxNameRunes))
	r.release()
	ell := "…"
	if in.Language == muster.LangEnglish { // written in GSM-7 where it can
		ell = "..."
	}
	if name != full && (!strings.HasSuffix(name, ell) || !strings.HasPrefix(full, strings.TrimSuffix(name, ell))) {
		t.Fatalf("%s: the name %q came out as %q", in.Language, full, name)
	}
}

// longestCodeWord is the code word longest in lang's short form.
func longestCodeWord(t *testing.T, lang string) string {
	best, bestLen := "", -1
	for _, w := range CodeWords {
		s, err := codeWordIn(lang, w, false)
		if err != nil {
			t.Fatal(err)
		}
		if n := MeasureSMS(s).Units; n > bestLen {
			best, bestLen = w, n
		}
	}
	return best
}

// hardest is the household instruction with the longest short form but
// for its name: an update, a window of two times, a two-digit number of
// people and the longest code word.
func hardest(t *testing.T, lang string) muster.Instruction {
	in := sampleHousehold()
	in.Language, in.People, in.CodeWord = lang, 12, longestCodeWord(t, lang)
	in.Version, in.ID, in.Supersedes = 2, "I-H004217/v2", "I-H004217/v1"
	in.ReportFrom = in.ReportBy.Add(-45 * time.Minute)
	return in
}

// TestShortKeepsReplyCodeScenarioNames: the longest rally point names of
// the scenarios, in every language, keep the reply code, the link and
// the time in two segments; only the name is cut.
func TestShortKeepsReplyCodeScenarioNames(t *testing.T) {
	var names []string
	for _, sc := range []string{"kabul-2021", "porto-alegre-drill"} {
		b, err := os.ReadFile(testshared.Path(t, "scenarios/"+sc+"/places.geojson"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Features []struct {
				Properties struct {
					Name, Kind string
				}
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", sc, err)
		}
		for _, f := range doc.Features {
			if f.Properties.Kind == muster.PlaceRally {
				names = append(names, f.Properties.Name)
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	if len(names) < 5 {
		t.Fatalf("%d rally points in the scenarios", len(names))
	}
	cut := 0
	for _, lang := range Languages() {
		in := hardest(t, lang)
		for _, name := range names[:5] {
			in.RallyPoint.Name = name
			checkShort(t, in, issuerLink, "482913")
			if f, _ := RenderMessage(&in, Message{Link: issuerLink, AckCode: "482913"}); !strings.Contains(f.SMS, name) {
				cut++
			}
		}
	}
	if cut == 0 {
		t.Fatal("no name was cut: the test no longer tests cutting")
	}
}

// alphabets are letters of each language's names, with spaces, digits
// and punctuation names carry.
var alphabets = map[string][]rune{
	muster.LangEnglish: []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZçãáéíóúâêôàüñ '-.()0123456789"),
	muster.LangDari:    []rune("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءآأئؤة ۰۱۲۳۴۵۶۷۸۹()-،"),
	muster.LangPashto:  []rune("ابپتټثجچحخځڅدډذرړزژږسشښصضطظعغفقکګلمنڼوهیېۍئ ۰۱۲۳۴۵۶۷۸۹()-،"),
}

// TestShortPropertyRandomNames: for random names in each language, of
// any length, with random code words, numbers of people, reply codes and
// updates, the short form fits two segments and keeps everything but the
// name.
func TestShortPropertyRandomNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 2026))
	for _, lang := range Languages() {
		letters := alphabets[lang]
		if letters == nil {
			t.Fatalf("no alphabet for %s", lang)
		}
		for range 400 {
			in := hardest(t, lang)
			in.CodeWord = CodeWords[rng.IntN(len(CodeWords))]
			in.People = 1 + rng.IntN(40)
			if rng.IntN(2) == 0 {
				in.Version, in.ID, in.Supersedes = 1, "I-H004217/v1", ""
			}
			if rng.IntN(3) == 0 {
				in.ReportFrom = in.ReportBy
			}
			name := make([]rune, 1+rng.IntN(140))
			for i := range name {
				name[i] = letters[rng.IntN(len(letters))]
			}
			if rng.IntN(10) == 0 { // a Latin name in a right-to-left text, or the reverse
				name = append(name, []rune(" Hotel Kabul")...)
			}
			in.RallyPoint.Name = string(name)
			checkShort(t, in, issuerLink, fmt.Sprintf("%06d", rng.IntN(1_000_000)))
		}
	}
}

// shortFormSlow is the short form as it was first searched for: a binary
// search over the whole name, each step rendered and measured by the
// three-pass measure. The search from the excess must find the same cut.
func shortFormSlow(in *muster.Instruction, m Message) (string, error) {
	r, err := newRenderer(in, false, in.Language == muster.LangEnglish)
	if err != nil {
		return "", err
	}
	defer r.release()
	rally := r.foldData(cleanData(in.RallyPoint.Name, maxNameRunes))
	gate := ""
	if in.Escort != nil {
		gate = r.foldData(cleanData(in.Escort.Gate.Name, maxNameRunes))
	}
	fits := func(keep int) (string, bool, error) {
		r.b, r.arena = r.b[:0], r.arena[:0]
		if err := r.short(in, m, r.cut(rally, keep), r.cut(gate, keep)); err != nil {
			return "", false, err
		}
		s := string(r.b)
		return s, measureSMSSlow(s).Segments <= 2, nil
	}
	full := max(len([]rune(rally)), len([]rune(gate)))
	s, ok, err := fits(full)
	if err != nil || ok {
		return s, err
	}
	lo, hi := -1, full
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if _, ok, _ := fits(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo < 0 {
		return "", fmt.Errorf("does not fit")
	}
	s, _, err = fits(lo)
	return s, err
}

// TestShortSameAsFullSearch: households' and escorts' short forms, with
// random names of every length (rally points and gates) in every
// language, come out as the binary search over the whole name finds them.
func TestShortSameAsFullSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2026))
	cut := 0
	for _, lang := range Languages() {
		letters := alphabets[lang]
		name := func() string {
			n := make([]rune, 1+rng.IntN(140))
			for i := range n {
				n[i] = letters[rng.IntN(len(letters))]
			}
			if rng.IntN(8) == 0 {
				n = append(n, []rune(" Hotel Kabul €")...)
			}
			return string(n)
		}
		for i := range 600 {
			in := hardest(t, lang)
			if i%3 == 0 {
				in = sampleEscort()
				in.Language = lang
				in.Escort.Gate.Name = name()
			}
			in.CodeWord = CodeWords[rng.IntN(len(CodeWords))]
			in.People = 1 + rng.IntN(40)
			if rng.IntN(2) == 0 {
				in.Version, in.ID, in.Supersedes = 1, "I-H004217/v1", ""
			}
			in.RallyPoint.Name = name()
			m := Message{Link: issuerLink, AckCode: fmt.Sprintf("%06d", rng.IntN(1_000_000))}
			got, err := ShortMessage(&in, m)
			want, werr := shortFormSlow(&in, m)
			if (err != nil) != (werr != nil) || got != want {
				t.Fatalf("%s, rally %q: %q (%v), want %q (%v)", lang, in.RallyPoint.Name, got, err, want, werr)
			}
			if strings.Contains(got, "…") || strings.Contains(got, "...") {
				cut++ // a name was cut
			}
		}
	}
	if cut < 300 {
		t.Fatalf("%d names cut: the test hardly tests cutting", cut)
	}
}
