package advisory

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/instruct"
)

var placeholderRE = regexp.MustCompile(`\{[^}]*\}`)

// TestCatalogComplete fails on a missing translation: every canned message
// in every language, every field filled, the same placeholders as English,
// no message a language has and English lacks, Dari and Pashto written in
// Arabic script.
func TestCatalogComplete(t *testing.T) {
	cats, err := catalogs()
	if err != nil {
		t.Fatal(err)
	}
	keys := append(CannedKeys(), cancelKey)
	for _, lang := range muster.Languages {
		msgs := cats[lang]
		for key := range msgs {
			if !slices.Contains(keys, key) {
				t.Errorf("%s.json: message %q is not a canned advisory muster knows", lang, key)
			}
		}
		for _, key := range keys {
			m, ok := msgs[key]
			if !ok {
				t.Errorf("%s.json: no translation of %q", lang, key)
				continue
			}
			en := cats[muster.LangEnglish][key]
			fields := map[string][2]string{
				"event": {m.Event, en.Event}, "headline": {m.Headline, en.Headline}, "description": {m.Description, en.Description},
				"instruction": {m.Instruction, en.Instruction}, "area": {m.Area, en.Area},
			}
			for f, v := range fields {
				if strings.TrimSpace(v[0]) == "" {
					t.Errorf("%s.json: %s.%s is empty", lang, key, f)
				}
				got, want := placeholderRE.FindAllString(v[0], -1), placeholderRE.FindAllString(v[1], -1)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s.json: %s.%s has placeholders %v, English has %v", lang, key, f, got, want)
				}
				for _, p := range got {
					if p != placeholder {
						t.Errorf("%s.json: %s.%s: unknown placeholder %s", lang, key, f, p)
					}
				}
				if lang != muster.LangEnglish && f != "area" {
					if v[0] == v[1] {
						t.Errorf("%s.json: %s.%s is the English text", lang, key, f)
					}
					if arabic, latin := script(v[0]); arabic < 5*latin || arabic == 0 {
						t.Errorf("%s.json: %s.%s is not written in Arabic script: %q", lang, key, f, v[0])
					}
				}
			}
		}
	}
}

func script(s string) (arabic, latin int) {
	s = strings.ReplaceAll(s, placeholder, "")
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Arabic, r):
			arabic++
		case unicode.Is(unicode.Latin, r):
			latin++
		}
	}
	return
}

// TestCatalogFilesStrict: each catalog is well-formed, says its language
// and a native speaker's review is called for in the ones to translate.
func TestCatalogFilesStrict(t *testing.T) {
	for _, lang := range muster.Languages {
		data, err := catalogFS.ReadFile("catalog/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var f catalogFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if lang != muster.LangEnglish && !strings.Contains(f.Note, "native") {
			t.Errorf("%s.json: its note must say that a native speaker reviews it: %q", lang, f.Note)
		}
	}
}

func TestCanned(t *testing.T) {
	for _, key := range CannedKeys() {
		a, err := Canned(key, "Hamid Karzai International Airport")
		if err != nil {
			t.Fatal(err)
		}
		a.ID, a.Sender, a.Sent = NewID(), "muster@example.org", sent
		a.Area.Circles = []muster.AdvisoryCircle{{RadiusM: 500}}
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", key, err)
		}
		if len(a.Texts) != 3 {
			t.Errorf("%s: %d texts", key, len(a.Texts))
		}
		for _, tx := range a.Texts {
			if strings.Contains(tx.Headline+tx.Description+tx.Instruction+tx.AreaDesc, "{") {
				t.Errorf("%s/%s: a placeholder is left: %+v", key, tx.Language, tx)
			}
			if tx.AreaDesc != "Hamid Karzai International Airport" {
				t.Errorf("%s/%s: areaDesc %q", key, tx.Language, tx.AreaDesc)
			}
		}
	}
	en := func(key string) *muster.AdvisoryText {
		a, err := Canned(key, "Abbey Gate")
		if err != nil {
			t.Fatal(err)
		}
		return a.Text(muster.LangEnglish)
	}
	if h := en("avoid-gates").Headline; h != "Avoid the airport gates unless you receive individual instructions" {
		t.Errorf("avoid-gates headline %q", h)
	}
	if h := en("all-clear").Headline; h != "All clear for Abbey Gate" {
		t.Errorf("all-clear headline %q", h)
	}
	if h := en("shelter-in-place").Headline; h != "Shelter in place in Abbey Gate" {
		t.Errorf("shelter-in-place headline %q", h)
	}
	if _, err := Canned("evacuate-now", "x"); muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "avoid-gates, shelter-in-place, all-clear") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := Canned("all-clear", "  "); muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("no area name: %v", err)
	}
	if a, _ := Canned("avoid-gates", "HKIA"); a.Validate() == nil {
		t.Error("a canned advisory without identifier, sender and area validated")
	}
}

func TestCancel(t *testing.T) {
	prev := sample(t)
	prev.Texts = prev.Texts[:2] // English and Dari
	c, err := Cancel(prev, "adv-9", sent.Add(time.Hour), "HKIA", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.MsgType != muster.AdvisoryCancel || len(c.References) != 1 || c.References[0] != prev.Ref() || c.Urgency != "Past" ||
		!slices.Equal(c.Languages(), []string{muster.LangEnglish, muster.LangDari}) || c.Text(muster.LangEnglish).Headline != "Cancelled: the earlier advisory for HKIA" {
		t.Errorf("cancel %+v", c)
	}
	if _, err := Cancel(prev, "adv-9", sent.Add(-time.Hour), "HKIA", ""); err == nil {
		t.Error("a cancel sent before the advisory it cancels")
	}
	if _, err := Cancel(muster.Advisory{ID: "x"}, "adv-9", sent, "HKIA", ""); err == nil {
		t.Error("cancelled a cancellation without text")
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if seen[id] || len(id) != 28 || !strings.HasPrefix(id, "adv-") {
			t.Fatalf("NewID %q (seen %v)", id, seen[id])
		}
		seen[id] = true
	}
}

// TestSMSFitsSegments: every canned advisory's text message, in every
// language, with a long area name, takes at most SMSSegments segments
// and keeps the beginning of its headline.
func TestSMSFitsSegments(t *testing.T) {
	for _, key := range CannedKeys() {
		a, err := Canned(key, strings.Repeat("Hamid Karzai International Airport, North Gate ", 3))
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Texts {
			s := SMS(&a.Texts[i])
			if n := instruct.MeasureSMS(s).Segments; n > SMSSegments || n == 0 {
				t.Fatalf("%s in %s: %d segments: %q", key, a.Texts[i].Language, n, s)
			}
			head := []rune(a.Texts[i].Headline)
			if !strings.HasPrefix(s, string(head[:min(10, len(head))])) {
				t.Fatalf("%s in %s: the headline is not first: %q", key, a.Texts[i].Language, s)
			}
		}
	}
}

// TestOneLanguageTag: an advisory's CAP <language> is the tag its
// instructions' HTML carries, for each language (Pashto is ps-AF in both).
func TestOneLanguageTag(t *testing.T) {
	want := map[string]string{muster.LangEnglish: "en", muster.LangDari: "fa-AF", muster.LangPashto: "ps-AF"}
	for _, lang := range muster.Languages {
		tag, _, ok := instruct.LanguageTag(lang)
		if !ok || tag != want[lang] || capLanguage(lang) != tag || musterLanguage(tag) != lang {
			t.Fatalf("%s: instructions say %q, advisories %q (read back as %q), want %q", lang, tag, capLanguage(lang), musterLanguage(tag), want[lang])
		}
	}
}
