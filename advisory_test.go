package muster

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func validAdvisory() Advisory {
	sent := time.Date(2021, 8, 26, 14, 0, 0, 0, time.UTC)
	return Advisory{
		ID: "adv-1", Sender: "muster@kabul.example.org", Sent: sent,
		Status: AdvisoryActual, MsgType: AdvisoryAlert, Scope: AdvisoryPublic,
		Categories: []string{"Security"}, ResponseTypes: []string{"Avoid"},
		Urgency: "Immediate", Severity: "Severe", Certainty: "Likely",
		Expires: sent.Add(24 * time.Hour),
		Texts: []AdvisoryText{
			{Language: LangEnglish, Event: "Danger", Headline: "Avoid the airport gates", AreaDesc: "HKIA"},
			{Language: LangDari, Event: "خطر", Headline: "از دروازه\u200cها دوری کنید", AreaDesc: "میدان هوایی"},
		},
		Area: AdvisoryArea{Polygons: []orb.Polygon{{{{69.18, 34.56}, {69.23, 34.56}, {69.23, 34.57}, {69.18, 34.57}, {69.18, 34.56}}}}},
	}
}

func TestAdvisoryValidate(t *testing.T) {
	if a := validAdvisory(); a.Validate() != nil {
		t.Fatalf("the valid advisory: %v", a.Validate())
	}
	square := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	long := strings.Repeat("x", MaxAdvisoryTextBytes+1)
	cases := []struct {
		name string
		edit func(a *Advisory)
		want string
	}{
		{"no identifier", func(a *Advisory) { a.ID = "" }, "identifier: missing"},
		{"comma in identifier", func(a *Advisory) { a.ID = "adv,1" }, "identifier: \"adv,1\" holds ','"},
		{"space in sender", func(a *Advisory) { a.Sender = "muster kabul" }, "sender: \"muster kabul\" holds ' '"},
		{"long identifier", func(a *Advisory) { a.ID = strings.Repeat("a", 201) }, "identifier: 201 bytes, more than 200"},
		{"no sent", func(a *Advisory) { a.Sent = time.Time{} }, "sent: missing"},
		{"fraction of a second", func(a *Advisory) { a.Sent = a.Sent.Add(time.Millisecond) }, "sent: 2021-08-26T14:00:00.001Z has a fraction of a second"},
		{"status", func(a *Advisory) { a.Status = "Real" }, `status: "Real" is not one of Actual, Exercise, System, Test, Draft`},
		{"msgType Ack", func(a *Advisory) { a.MsgType = "Ack" }, `msgType: "Ack" is not an advisory`},
		{"scope", func(a *Advisory) { a.Scope = "Private" }, `scope: "Private": an advisory is public`},
		{"category", func(a *Advisory) { a.Categories = []string{"Crowd"} }, `category: "Crowd" is not one of Geo, Met`},
		{"no category", func(a *Advisory) { a.Categories = nil }, "category: missing"},
		{"category twice", func(a *Advisory) { a.Categories = []string{"Safety", "Safety"} }, `category: "Safety" is given twice`},
		{"responseType", func(a *Advisory) { a.ResponseTypes = []string{"Run"} }, `responseType: "Run"`},
		{"urgency", func(a *Advisory) { a.Urgency = "immediate" }, `urgency: "immediate" is not one of Immediate`},
		{"severity", func(a *Advisory) { a.Severity = "" }, "severity: missing (one of Extreme, Severe, Moderate, Minor, Unknown)"},
		{"certainty", func(a *Advisory) { a.Certainty = "Certain" }, `certainty: "Certain"`},
		{"expires before sent", func(a *Advisory) { a.Expires = a.Sent.Add(-time.Hour) }, "expires: 2021-08-26T13:00:00Z is not after sent"},
		{"expires before onset", func(a *Advisory) { a.Onset = a.Expires.Add(time.Hour) }, "expires: 2021-08-27T14:00:00Z is not after onset (2021-08-27T15:00:00Z)"},
		{"expires at effective", func(a *Advisory) { a.Effective = a.Expires }, "is not after effective"},
		{"no English", func(a *Advisory) { a.Texts = a.Texts[1:] }, "info: no English text"},
		{"language twice", func(a *Advisory) { a.Texts[1].Language = LangEnglish }, "info[en]/language: given twice"},
		{"unknown language", func(a *Advisory) { a.Texts[1].Language = "fr" }, `info[1]/language: "fr": want one of en, fa, ps`},
		{"no event", func(a *Advisory) { a.Texts[1].Event = "" }, "info[fa]/event: missing"},
		{"nothing said", func(a *Advisory) { a.Texts[0].Headline = "" }, "info[en]/headline: missing, and so are description and instruction"},
		{"long headline", func(a *Advisory) { a.Texts[1].Headline = strings.Repeat("خ", 161) }, "info[fa]/headline: 161 characters, more than 160"},
		{"long description", func(a *Advisory) { a.Texts[0].Description = long }, "info[en]/description: 8001 bytes, more than 8000"},
		{"control character", func(a *Advisory) { a.Texts[0].Instruction = "Go\x07 now" }, "info[en]/instruction: holds the control character U+0007 at byte 2"},
		{"C1 control", func(a *Advisory) { a.Texts[0].Instruction = "Go\u0085now" }, "holds the control character U+0085"},
		{"newline in a headline", func(a *Advisory) { a.Texts[0].Headline = "Avoid\nthe gates" }, "info[en]/headline: holds the control character U+000A"},
		{"carriage return", func(a *Advisory) { a.Texts[0].Description = "a\r\nb" }, "holds a carriage return"},
		{"bidi override", func(a *Advisory) { a.Texts[1].Description = "\u202eخطر" }, "info[fa]/description: holds the bidirectional override U+202E"},
		{"invalid UTF-8", func(a *Advisory) { a.Texts[0].Event = "Dan\xffger" }, "info[en]/event: not valid UTF-8"},
		{"non-character", func(a *Advisory) { a.Texts[0].Event = "Danger\uffff" }, "not a character XML can carry"},
		{"padded", func(a *Advisory) { a.Texts[0].Event = " Danger" }, "info[en]/event: starts or ends with white space"},
		{"no area words", func(a *Advisory) { a.Texts[0].AreaDesc = "" }, "info[en]/area/areaDesc: missing"},
		{"no geometry", func(a *Advisory) { a.Area = AdvisoryArea{ZoneID: "zone-r04"} }, "area: no polygon and no circle"},
		{"zone id with a space", func(a *Advisory) { a.Area.ZoneID = "zone r04" }, `area/zone: "zone r04" holds ' '`},
		{"latitude", func(a *Advisory) { a.Area.Polygons[0][0][1] = orb.Point{69.23, 91} }, "area/polygon[0]: position 1: [69.23, 91] is out of range"},
		{"NaN", func(a *Advisory) { a.Area.Polygons[0][0][2] = orb.Point{math.NaN(), 34.5} }, "area/polygon[0]: position 2: [NaN, 34.5] is out of range"},
		{"open ring", func(a *Advisory) { a.Area.Polygons[0][0] = a.Area.Polygons[0][0][:4] }, "area/polygon[0]: is open"},
		{"short ring", func(a *Advisory) { a.Area.Polygons[0][0] = orb.Ring{{0, 0}, {1, 1}, {0, 0}} }, "has 3 positions, a closed ring needs at least 4"},
		{"self-crossing ring", func(a *Advisory) { a.Area.Polygons[0][0] = orb.Ring{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}} }, "area/polygon[0]: crosses itself: segment 0"},
		{"flat ring", func(a *Advisory) { a.Area.Polygons[0][0] = orb.Ring{{0, 0}, {1, 0}, {2, 0}, {0, 0}} }, "area/polygon[0]: has no area"},
		{"repeated position", func(a *Advisory) { a.Area.Polygons[0][0] = orb.Ring{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 0}} }, "position 2 repeats position 1"},
		{"too many points", func(a *Advisory) {
			r := orb.Ring{}
			for i := 0; i <= MaxAdvisoryRingPoints; i++ {
				r = append(r, orb.Point{float64(i) * 1e-4, 0})
			}
			a.Area.Polygons[0][0] = r
		}, "has 2001 positions, more than 2000: simplify it"},
		{"too many points in all", func(a *Advisory) {
			big := orb.Ring{}
			for i := 0; i < 1999; i++ {
				x := 2 * math.Pi * float64(i) / 1999
				big = append(big, orb.Point{math.Cos(x), math.Sin(x)})
			}
			big = append(big, big[0])
			a.Area.Polygons = nil
			for i := 0; i < 6; i++ {
				a.Area.Polygons = append(a.Area.Polygons, orb.Polygon{big})
			}
		}, "area/polygon[5]: the area has more than 10000 positions in all"},
		{"antimeridian", func(a *Advisory) {
			a.Area.Polygons[0][0] = orb.Ring{{179.5, 0}, {-179.5, 0}, {-179.5, 1}, {179.5, 1}, {179.5, 0}}
		}, "spans 359.0° of longitude: it would cross the antimeridian"},
		{"hole outside", func(a *Advisory) {
			a.Area.Polygons = []orb.Polygon{{square, {{2, 2}, {3, 2}, {3, 3}, {2, 2}}}}
		}, "area/polygon[0]/hole[0]: position 0 [2 2] is not inside the polygon's outline"},
		{"hole crossing the outline", func(a *Advisory) {
			a.Area.Polygons = []orb.Polygon{{square, {{0.5, 0.5}, {1.5, 0.5}, {0.5, 0.8}, {0.5, 0.5}}}}
		}, "area/polygon[0]/hole[0]: position 1 [1.5 0.5] is not inside"},
		{"circle centre", func(a *Advisory) { a.Area.Circles = []AdvisoryCircle{{Center: orb.Point{181, 0}, RadiusM: 10}} }, "area/circle[0]: centre [181, 0] is out of range"},
		{"circle radius", func(a *Advisory) { a.Area.Circles = []AdvisoryCircle{{Center: orb.Point{69, 34}, RadiusM: 0}} }, "area/circle[0]: radius 0 m"},
		{"huge circle", func(a *Advisory) { a.Area.Circles = []AdvisoryCircle{{Center: orb.Point{69, 34}, RadiusM: 3e6}} }, "at most 2000 km"},
		{"infinite radius", func(a *Advisory) {
			a.Area.Circles = []AdvisoryCircle{{Center: orb.Point{69, 34}, RadiusM: math.Inf(1)}}
		}, "area/circle[0]: radius +Inf m"},
		{"alert with references", func(a *Advisory) { a.References = []AdvisoryRef{{Sender: "s", ID: "x", Sent: a.Sent}} }, "references: an Alert refers to no earlier advisory"},
		{"update without", func(a *Advisory) { a.MsgType = AdvisoryUpdate }, "references: an Update must name the advisories it updates"},
		{"refers to itself", func(a *Advisory) { a.MsgType = AdvisoryUpdate; a.References = []AdvisoryRef{a.Ref()} }, "references[0]: the advisory refers to itself"},
		{"refers to a later one", func(a *Advisory) {
			a.MsgType = AdvisoryCancel
			a.References = []AdvisoryRef{{Sender: a.Sender, ID: "adv-0", Sent: a.Sent.Add(time.Minute)}}
		}, "references[0]: sent 2021-08-26T14:01:00Z, after this advisory"},
		{"reference twice", func(a *Advisory) {
			r := AdvisoryRef{Sender: a.Sender, ID: "adv-0", Sent: a.Sent.Add(-time.Hour)}
			a.MsgType, a.References = AdvisoryUpdate, []AdvisoryRef{r, r}
		}, "references[1]: muster@kabul.example.org,adv-0,2021-08-26T13:00:00Z is listed twice"},
		{"no texts, not a cancel", func(a *Advisory) { a.Texts = nil }, "info: missing"},
		{"bare cancel with an area", func(a *Advisory) {
			a.MsgType, a.Texts = AdvisoryCancel, nil
			a.References = []AdvisoryRef{{Sender: a.Sender, ID: "adv-0", Sent: a.Sent}}
		}, "info: a Cancel without texts cannot carry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := validAdvisory()
			c.edit(&a)
			err := a.Validate()
			if err == nil {
				t.Fatalf("accepted")
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "advisory: ") {
				t.Errorf("%v\nwant %q", err, c.want)
			}
		})
	}
	// A cancellation may carry nothing but its references.
	a := validAdvisory()
	a = Advisory{ID: "adv-2", Sender: a.Sender, Sent: a.Sent, Status: AdvisoryActual, MsgType: AdvisoryCancel, Scope: AdvisoryPublic,
		References: []AdvisoryRef{a.Ref()}}
	a.ID = "adv-2"
	if err := a.Validate(); err != nil {
		t.Errorf("a bare cancellation: %v", err)
	}
	// RLM, ZWNJ and isolates are part of writing Dari and Pashto.
	a = validAdvisory()
	a.Texts[1].Description = "\u200fمی\u200cتوانید \u2068Abbey Gate\u2069"
	if err := a.Validate(); err != nil {
		t.Errorf("Dari text with RLM, ZWNJ and isolates: %v", err)
	}
}

func TestAdvisoryAreaContains(t *testing.T) {
	// A 2x2 square with a 1x1 hole, and a circle far away.
	ar := AdvisoryArea{
		Polygons: []orb.Polygon{{{{10, 10}, {12, 10}, {12, 12}, {10, 12}, {10, 10}}, {{10.5, 10.5}, {11.5, 10.5}, {11.5, 11.5}, {10.5, 11.5}, {10.5, 10.5}}}},
		Circles:  []AdvisoryCircle{{Center: orb.Point{0, 45}, RadiusM: 1000}},
	}
	for _, c := range []struct {
		p    orb.Point
		want bool
		why  string
	}{
		{orb.Point{10.25, 10.25}, true, "inside, outside the hole"},
		{orb.Point{11, 11}, false, "inside the hole"},
		{orb.Point{12, 11}, true, "on the outline's edge"},
		{orb.Point{10, 10}, true, "on the outline's corner"},
		{orb.Point{11, 10}, true, "on the outline's bottom edge"},
		{orb.Point{11.5, 11}, true, "on the hole's edge: the area's boundary"},
		{orb.Point{10.5, 10.5}, true, "on the hole's corner"},
		{orb.Point{12.000001, 11}, false, "just outside"},
		{orb.Point{9, 11}, false, "level with a corner, outside"},
		{orb.Point{0, 45 + 999.0/EarthRadiusM*180/math.Pi}, true, "999 m north of the circle's centre"},
		{orb.Point{0, 45 + 1001.0/EarthRadiusM*180/math.Pi}, false, "1,001 m north"},
	} {
		if got := ar.Contains(c.p); got != c.want {
			t.Errorf("%v (%s): %v, want %v", c.p, c.why, got, c.want)
		}
	}
	// A diagonal edge with exactly representable points on it.
	tri := AdvisoryArea{Polygons: []orb.Polygon{{{{0, 0}, {4, 0}, {0, 4}, {0, 0}}}}}
	for _, p := range []orb.Point{{2, 2}, {1, 3}, {3, 1}, {0, 2}, {2, 0}} {
		if !tri.Contains(p) {
			t.Errorf("%v lies on the triangle's edge: want it in", p)
		}
	}
	if tri.Contains(orb.Point{2.5, 2}) {
		t.Error("(2.5, 2) is outside the triangle")
	}
}
