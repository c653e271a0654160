package instruct

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// A household's instruction as a plan makes it, in Kabul.
func sampleHousehold() muster.Instruction {
	by := time.Date(2021, 8, 26, 6, 45, 0, 0, time.UTC) // 11:15 in Kabul
	return muster.Instruction{
		ID: "I-H004217/v1", Series: "I-H004217", Version: 1,
		IssuedAt: time.Date(2021, 8, 26, 3, 0, 0, 0, time.UTC), ExpiresAt: by.Add(14 * time.Hour),
		Plan: "plan-20210826T020000Z", PlanCreatedAt: time.Date(2021, 8, 26, 2, 0, 0, 0, time.UTC), Catalog: CatalogFingerprint(),
		Audience: muster.AudienceHousehold, Household: "H004217", Language: muster.LangEnglish, Name: "Laila Ahmadi", TimeZone: "Asia/Kabul",
		RallyPoint: muster.InstructionPlace{ID: "rally-031", Name: "Shahr-e Naw Park", Lat: 34.534713, Lon: 69.167011},
		Walk: muster.Walk{DurationS: 745, DistanceM: 1012, Steps: []muster.WalkStep{
			{Maneuver: muster.ManeuverDepart, Street: "Kocha-e Qasaba", DistanceM: 212, Bearing: 88},
			{Maneuver: muster.ManeuverLeft, Street: "Jada-e Maiwand", DistanceM: 640, Bearing: 1},
			{Maneuver: muster.ManeuverSlightRight, Street: "", DistanceM: 160, Bearing: 30},
			{Maneuver: muster.ManeuverArrive}}},
		ReportFrom: by.Add(-20 * time.Minute), ReportBy: by,
		Group: "G0042", GroupCode: "K7F-42", People: 5, CodeWord: "pomegranate",
		Bring: DefaultBring, DoNotBring: DefaultDoNotBring,
		Contact: muster.Contact{Phone: "+93 20 210 0000", URL: "https://evac.example.org/help"},
	}
}

// The same group's escort.
func sampleEscort() muster.Instruction {
	in := sampleHousehold()
	in.ID, in.Series, in.Audience, in.Household, in.Name, in.Walk = "E-G0042/v1", "E-G0042", muster.AudienceEscort, "", "", muster.Walk{}
	in.People = 11
	in.Escort = &muster.EscortBrief{Gate: muster.InstructionPlace{ID: "gate-abbey", Name: "Abbey Gate", Lat: 34.5601, Lon: 69.2101},
		Departure: in.ReportBy.Add(15 * time.Minute), Arrival: in.ReportBy.Add(50 * time.Minute), Through: in.ReportBy.Add(58 * time.Minute), Households: 3}
	return in
}

const testLink = "https://evac.example.org/i/7KQ2M9XPA4" // 38 characters: a short capability id

// One instruction per language, checked for what it must say (not its
// exact bytes): names, local times in the language's digits, the code,
// the code word in the language, the steps, the items, the contact.
func TestLongFormPerLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{muster.LangEnglish, []string{
			"Evacuation instruction", "Household H004217", "For Laila Ahmadi",
			"Where: Shahr-e Naw Park (34.53471, 69.16701)",
			"When: Thursday 26 August. Arrive between 10:55 and 11:15",
			"Times are local time (Kabul, UTC+04:30).",
			"Your group code: K7F-42.", "It admits 5 people", "Code word at the rally point: pomegranate.",
			"The walk from your home takes about 13 minutes (1.0 km).",
			"1. Head east on Kocha-e Qasaba for 210 m.", "2. Turn left onto Jada-e Maiwand for 640 m.",
			"3. Bear right onto a path without a name for 160 m.", "4. You are at Shahr-e Naw Park.",
			"• passports, tazkira", "• weapons of any kind", "Questions: call +93 20 210 0000.",
			"Check that this instruction is genuine: " + testLink,
			"Instruction I-H004217/v1, issued Thursday 26 August, 07:30, valid until Friday 27 August, 01:15.",
		}},
		{muster.LangDari, []string{
			"دستورالعمل تخلیه", "خانوار \u2068H004217\u2069", "برای \u2068Laila Ahmadi\u2069",
			"محل تجمع: \u2068Shahr-e Naw Park\u2069 (۳۴٫۵۳۴۷۱، ۶۹٫۱۶۷۰۱)",
			"زمان: پنجشنبه ۲۶ اگست. بین ساعت ۱۰:۵۵ و ۱۱:۱۵ برسید",
			"کد گروه شما: \u2068K7F-42\u2069.", "اجازهٔ ورود برای ۵ نفر", "رمز محل تجمع: انار.",
			"حدود ۱۳ دقیقه", "(۱٫۰ کیلومتر)",
			"۱. در \u2068Kocha-e Qasaba\u2069 به طرف شرق ۲۱۰ متر بروید.", "۲. به چپ، به \u2068Jada-e Maiwand\u2069 بپیچید و ۶۴۰ متر بروید.",
			"۳. کمی به راست، به راه بی\u200cنام بپیچید", "۴. به \u2068Shahr-e Naw Park\u2069 رسیده\u200cاید.",
			"• هر نوع سلاح", "با \u2068+93 20 210 0000\u2069 تماس بگیرید", "\u2068" + testLink + "\u2069",
		}},
		{muster.LangPashto, []string{
			"د تخلیې لارښوونه", "کورنۍ \u2068H004217\u2069", "د \u2068Laila Ahmadi\u2069 لپاره",
			"د راټولېدو ځای: \u2068Shahr-e Naw Park\u2069 (۳۴٫۵۳۴۷۱، ۶۹٫۱۶۷۰۱)",
			"وخت: پنجشنبه ۲۶ اګست. د ۱۰:۵۵ او ۱۱:۱۵ ترمنځ ورسېږئ",
			"ستاسو د ډلې کوډ: \u2068K7F-42\u2069.", "۵ تنو ته", "پټه کلمه: انار.",
			"شاوخوا ۱۳ دقیقې", "(۱٫۰ کیلومتره)",
			"۱. په \u2068Kocha-e Qasaba\u2069 کې ختیځ لور ته ۲۱۰ متره لاړ شئ.", "۲. کیڼ لاس ته \u2068Jada-e Maiwand\u2069 ته واوړئ",
			"۴. تاسو \u2068Shahr-e Naw Park\u2069 ته ورسېدئ.", "• هر ډول وسله", "\u2068" + testLink + "\u2069",
		}},
	} {
		in := sampleHousehold()
		in.Language = tc.lang
		s, err := Text(&in, testLink)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: no %q in\n%s", tc.lang, w, s)
			}
		}
		// The household is never told the gate.
		esc := sampleEscort()
		for _, secret := range []string{esc.Escort.Gate.Name, esc.Escort.Gate.ID} {
			if strings.Contains(s, secret) {
				t.Errorf("%s: a household's instruction names the gate (%s)", tc.lang, secret)
			}
		}
	}
}

func TestEscortLongForm(t *testing.T) {
	in := sampleEscort()
	s, err := Text(&in, testLink)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Escort instruction", "For the escort of group K7F-42", "Gate: Abbey Gate (34.56010, 69.21010)",
		"Leave the rally point at 11:30. Reach the gate at 12:05. Everyone through by 12:13.", "Households: 3. People: 11.",
		"Code word: pomegranate (Dari: \u2067انار\u2069; Pashto: \u2067انار\u2069).", "Households arrive on Thursday 26 August between 10:55 and 11:15."} {
		if !strings.Contains(s, w) {
			t.Errorf("no %q in\n%s", w, s)
		}
	}
	in.Language = muster.LangPashto
	if s, err = Text(&in, testLink); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "دروازه: \u2068Abbey Gate\u2069") || !strings.Contains(s, "پټه کلمه: انار (انګلیسي: \u2068pomegranate\u2069؛ دري: انار)") {
		t.Errorf("Pashto escort:\n%s", s)
	}
	in.Escort = nil
	if _, err := Text(&in, testLink); err == nil {
		t.Error("an escort's instruction without a gate renders")
	}
}

// In Dari and Pashto every line reads right to left, no ASCII digit
// stands outside a Latin isolate, and isolates are balanced; in English
// every line reads left to right.
func TestRightToLeftText(t *testing.T) {
	c := testCity(t)
	ins, err := Build(c.plan, c.households, c.streets, testOptions(c))
	if err != nil {
		t.Fatal(err)
	}
	ins = append(ins, varietyOfInstructions()...)
	for _, in := range ins {
		for _, lang := range Languages() {
			in.Language = lang
			text, err := Text(&in, testLink)
			if err != nil {
				t.Fatal(err)
			}
			sms, err := Short(&in, testLink)
			if err != nil {
				t.Fatal(err)
			}
			rtl := lang != muster.LangEnglish
			for _, form := range []string{text, sms} {
				if err := checkIsolates(form); err != nil {
					t.Fatalf("%s %s: %v in\n%s", in.ID, lang, err, form)
				}
				for _, line := range strings.Split(strings.TrimSuffix(form, "\n"), "\n") {
					if line != "" && paragraphRTL(line) != rtl {
						t.Fatalf("%s %s: line reads the wrong way: %q", in.ID, lang, line)
					}
				}
				if rtl {
					if d := asciiDigitOutsideIsolates(form); d >= 0 {
						t.Fatalf("%s %s: an ASCII digit outside an isolate at byte %d: %q", in.ID, lang, d, form)
					}
				}
			}
		}
	}
}

// checkIsolates: every isolate closed, no PDI without an initiator, no
// other bidi control.
func checkIsolates(s string) error {
	depth := 0
	for i, r := range s {
		switch r {
		case lri, rli, fsi:
			depth++
		case pdi:
			if depth == 0 {
				return fmt.Errorf("a PDI that closes nothing at byte %d", i)
			}
			depth--
		case '\n':
			if depth != 0 {
				return fmt.Errorf("an isolate left open at the end of a line (byte %d)", i)
			}
		default:
			if unicode.Is(unicode.Bidi_Control, r) {
				return fmt.Errorf("bidi control %U at byte %d", r, i)
			}
		}
	}
	if depth != 0 {
		return fmt.Errorf("%d isolates left open", depth)
	}
	return nil
}

func asciiDigitOutsideIsolates(s string) int {
	depth := 0
	for i, r := range s {
		switch {
		case r == lri || r == rli || r == fsi:
			depth++
		case r == pdi:
			depth--
		case r >= '0' && r <= '9' && depth == 0:
			return i
		}
	}
	return -1
}

// Names that would not fit, the largest people count, the longest code
// words, a re-issue's prefix and a 40-character link: the short form of
// every language still fits two SMS segments, shortening only the rally
// point's name.
func TestShortFormFitsTwoSegments(t *testing.T) {
	longNames := []string{
		"Shahr-e Naw Park",
		"Masjid-e Jame-e Haji Yaqub, beside the main entrance of Shahr-e Naw Park",
		"مسجد جامع حاجی یعقوب، کنار دروازهٔ اصلی پارک شهر نو",
		"Praça de São João Novo, junto à Igreja de São Lourenço dos Grilos",
	}
	link40 := "https://evac.example.org/i/7KQ2M9XPA4MN" // 40 characters
	longestWord := map[string]string{}
	for _, l := range languages {
		for _, w := range CodeWords {
			s, _ := codeWordIn(l.code, w, false)
			cur, _ := codeWordIn(l.code, longestWord[l.code], false)
			if longestWord[l.code] == "" || utf8.RuneCountInString(s) > utf8.RuneCountInString(cur) {
				longestWord[l.code] = w
			}
		}
	}
	sizes := map[string]SMSSize{}
	for _, base := range []muster.Instruction{sampleHousehold(), sampleEscort()} {
		for _, name := range longNames {
			for _, lang := range Languages() {
				in := base
				in.Language, in.People, in.CodeWord = lang, 12, longestWord[lang]
				in.RallyPoint.Name = name
				if in.Escort != nil {
					e := *in.Escort
					e.Gate.Name = "Abbey Gate (north entrance, beside the Baron Hotel)"
					in.Escort = &e
				}
				in.ID, in.Version, in.Supersedes = "I-H004217/v2", 2, "I-H004217/v1"
				in.ReportBy = time.Date(2021, 12, 22, 8, 45, 0, 0, time.UTC) // the longest month names
				in.ReportFrom = in.ReportBy.Add(-20 * time.Minute)
				s, err := Short(&in, link40)
				if err != nil {
					t.Fatalf("%s, %q: %v", lang, name, err)
				}
				size := MeasureSMS(s)
				if size.Segments > 2 {
					t.Errorf("%s, %q: %d segments (%+v): %q", lang, name, size.Segments, size, s)
				}
				if lang == muster.LangEnglish && !strings.ContainsAny(name, "یع") && size.Encoding != GSM7 {
					t.Errorf("English with a Latin name goes as %s: %q", size.Encoding, s)
				}
				word, _ := codeWordIn(lang, in.CodeWord, false)
				for _, must := range []string{link40, in.GroupCode} {
					if !strings.Contains(s, must) {
						t.Errorf("%s: the short form lost %q: %q", lang, must, s)
					}
				}
				if in.Escort == nil && !strings.Contains(s, word) {
					t.Errorf("%s: the short form lost the code word %q: %q", lang, word, s)
				}
				if !strings.Contains(s, cleanData(name, maxNameRunes)) && !strings.Contains(s, "…") && !strings.Contains(s, "...") &&
					!strings.Contains(s, "Praca de Sao Joao") {
					t.Errorf("%s: the rally point's name is cut without an ellipsis: %q", lang, s)
				}
				key := lang + " " + in.Audience
				if size.Units > sizes[key].Units {
					sizes[key] = size
				}
			}
		}
	}
	for k, s := range sizes {
		t.Logf("longest short form, %s: %d %s units, %d segments", k, s.Units, s.Encoding, s.Segments)
	}
	// An English SMS loses the accents GSM-7 lacks and stays GSM-7.
	in := sampleHousehold()
	in.RallyPoint.Name = "Praça de São João"
	s, err := Short(&in, link40)
	if err != nil || !strings.Contains(s, "Praca de Sao Joao") || MeasureSMS(s).Encoding != GSM7 {
		t.Errorf("folded name: %q (%+v), %v", s, MeasureSMS(s), err)
	}
	// A link far too long is an error, never a cut link.
	if _, err := Short(&in, "https://evac.example.org/i/"+strings.Repeat("X", 300)); err == nil || muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("an overlong link: %v", err)
	}
	if _, err := Short(&in, ""); err == nil {
		t.Error("a short form without a link")
	}
}

var htmlTag = regexp.MustCompile(`<(/?)([a-z0-9]+)([^<>]*)>`)

// The HTML form: the language and direction set, data escaped and isolated,
// nothing loaded from anywhere, only the few tags muster writes.
func TestHTMLForm(t *testing.T) {
	in := sampleHousehold()
	in.Language = muster.LangDari
	in.Name = `<img src=x onerror=alert(1)> "Laila" & co`
	in.Walk.Steps[1].Street = "</li><script>alert(1)</script>"
	h, err := HTML(&in, testLink)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`<html lang="fa-AF" dir="rtl">`, `<meta charset="utf-8">`,
		"<bdi>&lt;img src=x onerror=alert(1)&gt; &#34;Laila&#34; &amp; co</bdi>", "<bdi>&lt;/li&gt;&lt;script&gt;alert(1)&lt;/script&gt;</bdi>", "<ol>", "<li>"} {
		if !strings.Contains(h, w) {
			t.Errorf("no %q in\n%s", w, h)
		}
	}
	checkHTMLTags(t, h)
	in.Language = muster.LangEnglish
	if h, _ = HTML(&in, testLink); !strings.Contains(h, `<html lang="en" dir="ltr">`) {
		t.Errorf("English HTML:\n%s", h)
	}
}

func checkHTMLTags(t *testing.T, h string) {
	t.Helper()
	allowed := map[string]bool{"html": true, "head": true, "meta": true, "title": true, "body": true, "h1": true, "p": true, "ol": true, "ul": true, "li": true, "bdi": true}
	rest := htmlTag.ReplaceAllStringFunc(h, func(tag string) string {
		m := htmlTag.FindStringSubmatch(tag)
		if !allowed[m[2]] {
			t.Errorf("tag %q", tag)
		}
		if attrs := m[3]; strings.Contains(attrs, "src") || strings.Contains(attrs, "href") || strings.Contains(attrs, "style") || strings.Contains(attrs, "on") && m[2] != "meta" {
			t.Errorf("attributes %q", tag)
		}
		return ""
	})
	rest = strings.TrimPrefix(rest, "<!DOCTYPE html>")
	if strings.ContainsAny(rest, "<>") {
		t.Errorf("an unescaped < or > outside muster's tags: %q", rest)
	}
}

// A re-issued instruction says which it replaces, in every form.
func TestUpdateSaysWhatItReplaces(t *testing.T) {
	in := sampleHousehold()
	in.ID, in.Version, in.Supersedes = "I-H004217/v2", 2, "I-H004217/v1"
	f, err := Render(&in, testLink)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Text, "This replaces instruction I-H004217/v1.") || !strings.HasPrefix(f.SMS, "UPDATE, replaces the earlier message.") {
		t.Errorf("text:\n%s\nSMS: %s", f.Text, f.SMS)
	}
}

func TestCleanData(t *testing.T) {
	for in, want := range map[string]string{
		"Shahr-e Naw":                      "Shahr-e Naw",
		"  two\t\tspaces \n and lines  ":   "two spaces and lines",
		"evil\u202Egnp.exe":                "evilgnp.exe",
		"\u2067rtl\u2069 \u200Fmark\u200E": "rtl mark",
		"می\u200cروم":                      "می\u200cروم", // ZWNJ is spelling
		"bad \xff byte":                    "bad \uFFFD byte",
		"e\u0301":                          "é",
		"zero\u200Bwidth\uFEFF":            "zerowidth",
		"bell\a\x00nul":                    "bell nul",
	} {
		if got := cleanData(in, 80); got != want {
			t.Errorf("cleanData(%q) = %q, want %q", in, got, want)
		}
	}
	if got := cleanData(strings.Repeat("ab ", 50), 10); got != "ab ab ab…" {
		t.Errorf("cut: %q", got)
	}
}

// Hostile data in every field a person or a map can name: the forms are
// valid UTF-8, have no control character but line ends, no bidi control
// but the balanced isolates muster adds, the HTML only muster's tags, and
// the short form fits.
func FuzzRenderHostileData(f *testing.F) {
	for _, s := range []string{"Shahr-e Naw", "\u202Eevil", "<script>alert(1)</script>", "a\nb\rc\x00", "مسجد \u2066x", strings.Repeat("Ⅻ", 200), "\xff\xfe", "\u2069\u2069\u2069", "{name} {link}"} {
		f.Add(s, s, s, "Laila", 3)
	}
	f.Fuzz(func(t *testing.T, rally, street, gate, name string, lang int) {
		for i, base := range []muster.Instruction{sampleHousehold(), sampleEscort()} {
			in := base
			in.Language = Languages()[(lang%3+3)%3]
			in.RallyPoint.Name, in.Name = rally, name
			in.Walk.Steps = append([]muster.WalkStep(nil), in.Walk.Steps...)
			if i == 0 {
				in.Walk.Steps[0].Street = street
			} else {
				e := *in.Escort
				e.Gate.Name = gate
				in.Escort = &e
			}
			forms, err := Render(&in, testLink)
			if err != nil {
				t.Fatalf("%v", err)
			}
			for _, s := range []string{forms.Text, forms.SMS} {
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8: %q", s)
				}
				if err := checkIsolates(s); err != nil {
					t.Fatalf("%v: %q", err, s)
				}
				for _, r := range s {
					if r != '\n' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
						t.Fatalf("control character %U in %q", r, s)
					}
				}
			}
			if strings.Contains(forms.SMS, "\n") || MeasureSMS(forms.SMS).Segments > 2 {
				t.Fatalf("short form %q: %+v", forms.SMS, MeasureSMS(forms.SMS))
			}
			checkHTMLTags(t, forms.HTML)
		}
	})
}

// Any instruction a file can hold renders or is refused with an error:
// never a panic.
func FuzzRenderInstructionJSON(f *testing.F) {
	for _, in := range []muster.Instruction{sampleHousehold(), sampleEscort()} {
		data, err := json.Marshal(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"language":"ps","people":-7,"code_word":"egg","walk":{"steps":[{"maneuver":"left","distance_m":-5,"bearing":-725}]},"time_zone":"Asia/Kabul"}`))
	f.Add([]byte(`{"language":"fa","audience":"escort","people":4000000000,"code_word":"moon","report_from":"0001-01-01T00:00:00Z","report_by":"9999-12-31T23:59:59Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in muster.Instruction
		if json.Unmarshal(data, &in) != nil {
			return
		}
		for _, link := range []string{"", testLink} {
			if forms, err := Render(&in, link); err == nil && MeasureSMS(forms.SMS).Segments > 2 {
				t.Fatalf("short form of %d segments: %q", MeasureSMS(forms.SMS).Segments, forms.SMS)
			}
		}
	})
}

// Renderers are pooled: texts rendered at once on many goroutines are the
// texts rendered one by one.
func TestRenderConcurrently(t *testing.T) {
	ins := varietyOfInstructions()
	want := make([]Forms, len(ins))
	for i := range ins {
		ins[i].Language = Languages()[i%3]
		f, err := Render(&ins[i], testLink)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = f
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for k := 0; k < 20; k++ {
				for i := range ins {
					i := (i + g*7) % len(ins)
					f, err := Render(&ins[i], testLink)
					if err != nil || f != want[i] {
						errs <- fmt.Errorf("%s: differs when rendered concurrently (%v)", ins[i].ID, err)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestRenderMessage: the forms as sent carry the token in the long form
// and the reply code in the long and short forms, the short form within
// two segments, in every language.
func TestRenderMessage(t *testing.T) {
	const token = "MU1:6BFOXN*TS0BI$  ZDFRH " // base45: spaces, a run of them, one at the end
	for _, lang := range Languages() {
		in := sampleHousehold()
		in.Language = lang
		f, err := RenderMessage(&in, Message{Link: testLink, Token: token, AckCode: "482913"})
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if !strings.Contains(f.Text, token) || !strings.Contains(f.HTML, token) {
			t.Fatalf("%s: the token is not in the long form:\n%s", lang, f.Text)
		}
		for name, s := range map[string]string{"text": f.Text, "html": f.HTML} {
			if !strings.Contains(s, "482913") {
				t.Fatalf("%s %s: no reply code:\n%s", lang, name, s)
			}
		}
		if !strings.Contains(f.SMS, "482913") {
			t.Fatalf("%s sms: no reply code:\n%s", lang, f.SMS)
		}
		if n := MeasureSMS(f.SMS).Segments; n > 2 {
			t.Fatalf("%s: the short form with its reply code takes %d segments", lang, n)
		}
		subj, err := Subject(&in)
		if err != nil || !strings.Contains(subj, in.ID) {
			t.Fatalf("%s: subject %q, %v", lang, subj, err)
		}
	}
	// A name that leaves no room: the name is cut, the code stays.
	in := sampleHousehold()
	in.Language, in.People, in.CodeWord = muster.LangDari, 12, "butterfly"
	in.RallyPoint.Name = strings.Repeat("میدان ", 12)
	sms, err := RenderMessage(&in, Message{Link: testLink + "XXXXXXXXXXXX", AckCode: "482913"})
	if err != nil {
		t.Fatal(err)
	}
	if MeasureSMS(sms.SMS).Segments > 2 || !strings.Contains(sms.SMS, "میدان") || !strings.Contains(sms.SMS, "482913") || !strings.Contains(sms.SMS, "…") {
		t.Fatalf("the short form: %q", sms.SMS)
	}
}
