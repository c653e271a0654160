package advisory

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// hole is a hole inside airport.
var hole = orb.Ring{{69.2, 34.563}, {69.21, 34.563}, {69.21, 34.568}, {69.2, 34.568}, {69.2, 34.563}}

// variety returns advisories covering what CAP can carry: each language
// alone and together, polygons with holes, circles, a zone, every time,
// an update, cancellations with and without text, other statuses.
func variety(t testing.TB) map[string]muster.Advisory {
	t.Helper()
	out := map[string]muster.Advisory{}
	base := sample(t)
	out["avoid-gates"] = base

	for _, lang := range []string{muster.LangDari, muster.LangPashto} {
		a := sample(t)
		a.ID = "adv-en-" + lang
		a.Texts = []muster.AdvisoryText{*a.Text(muster.LangEnglish), *a.Text(lang)}
		out["en+"+lang] = a
	}
	en := sample(t)
	en.ID = "adv-en"
	en.Texts = en.Texts[:1]
	out["en only"] = en

	sh, err := Canned("shelter-in-place", "District 8")
	if err != nil {
		t.Fatal(err)
	}
	sh.ID, sh.Sender, sh.Sent = "adv-0002", base.Sender, sent.Add(time.Hour)
	sh.Effective, sh.Onset, sh.Expires = sent.Add(time.Hour), sent.Add(90*time.Minute), sent.Add(13*time.Hour)
	sh.Status = muster.AdvisoryExercise
	sh.Area = muster.AdvisoryArea{
		ZoneID:   "zone-r04",
		Polygons: []orb.Polygon{{airport, hole}, {{{69.1, 34.5}, {69.12, 34.5}, {69.11, 34.52}, {69.1, 34.5}}}},
		Circles:  []muster.AdvisoryCircle{{Center: orb.Point{69.2195, 34.5605}, RadiusM: 250}, {Center: orb.Point{69.16, 34.53}, RadiusM: 1234.5678}},
	}
	out["shelter, holes, circles, zone, exercise"] = sh

	circle, err := Canned("all-clear", "Abbey Gate")
	if err != nil {
		t.Fatal(err)
	}
	circle.ID, circle.Sender, circle.Sent = "adv-0003", base.Sender, sent.Add(2*time.Hour)
	circle.Area.Circles = []muster.AdvisoryCircle{{Center: orb.Point{69.2195, 34.5605}, RadiusM: 12000}}
	circle.Status = muster.AdvisoryTest
	out["all-clear circle, test"] = circle

	up := sample(t)
	up.ID, up.Sent = "adv-0004", sent.Add(3*time.Hour)
	up.MsgType = muster.AdvisoryUpdate
	up.References = []muster.AdvisoryRef{base.Ref(), sh.Ref()}
	up.Note = "Abbey Gate added.\nThe crowd grew."
	up.Severity, up.Urgency, up.Certainty = "Extreme", "Expected", "Observed"
	out["update"] = up

	c, err := Cancel(base, "adv-0005", sent.Add(4*time.Hour), "Hamid Karzai International Airport", "issued in error")
	if err != nil {
		t.Fatal(err)
	}
	out["cancel with text"] = c

	bare := muster.Advisory{ID: "adv-0006", Sender: base.Sender, Sent: sent.Add(5 * time.Hour), Status: muster.AdvisoryActual,
		MsgType: muster.AdvisoryCancel, Scope: muster.AdvisoryPublic, References: []muster.AdvisoryRef{up.Ref()}}
	out["cancel without text"] = bare

	for name, a := range out {
		if err := a.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for name, a := range variety(t) {
		t.Run(name, func(t *testing.T) {
			doc := encode(t, a)
			got, err := Decode(bytes.NewReader(doc))
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, doc)
			}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("round trip changed the advisory:\n got %+v\nwant %+v", got, a)
			}
			if again := encode(t, got); !bytes.Equal(again, doc) {
				t.Errorf("re-encoding differs:\n%s\n---\n%s", again, doc)
			}
		})
	}
}

// TestLatLonOrder: CAP writes "lat,lon", GeoJSON and muster [lon, lat].
func TestLatLonOrder(t *testing.T) {
	a := sample(t)
	a.Area = muster.AdvisoryArea{
		Polygons: []orb.Polygon{{{{69.18, 34.56}, {69.23, 34.56}, {69.23, 34.57}, {69.18, 34.56}}}},
		Circles:  []muster.AdvisoryCircle{{Center: orb.Point{69.2195, 34.5605}, RadiusM: 2500}},
	}
	doc := string(encode(t, a))
	for _, want := range []string{
		"<polygon>34.56,69.18 34.56,69.23 34.57,69.23 34.56,69.18</polygon>",
		"<circle>34.5605,69.2195 2.5</circle>",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("CAP lacks %s:\n%s", want, doc)
		}
	}
	// A foreign alert, written by hand: the point lat 34.5, lon 69.2.
	foreign := strings.Replace(minimal, "<areaDesc>Kabul</areaDesc>",
		"<areaDesc>Kabul</areaDesc><polygon>34.5,69.2 34.6,69.2 34.6,69.3 34.5,69.2</polygon><circle>-33.9,18.4 1</circle>", 1)
	got, err := Decode(strings.NewReader(foreign))
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Area.Polygons[0][0][0]; p != (orb.Point{69.2, 34.5}) {
		t.Errorf("first polygon point read as %v, want [69.2 34.5] (lon, lat)", p)
	}
	if c := got.Area.Circles[0]; c.Center != (orb.Point{18.4, -33.9}) || c.RadiusM != 1000 {
		t.Errorf("circle read as %+v, want centre [18.4 -33.9] and 1000 m", c)
	}
	// Inside the polygon as CAP means it (lat 34.55, lon 69.21), not as
	// swapped coordinates would have it.
	h := []muster.Household{{ID: "in", HasLocation: true, Lat: 34.55, Lon: 69.21}, {ID: "swapped", HasLocation: true, Lat: 69.21, Lon: 34.55}}
	if r := Recipients(got, h); len(r.Inside) != 1 || r.Inside[0].HouseholdID != "in" {
		t.Errorf("recipients %+v, want the household at lat 34.55, lon 69.21 alone", r.Inside)
	}
}

var capTime = regexp.MustCompile(`^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$`)

func TestTimesHaveNumericOffsets(t *testing.T) {
	doc := string(encode(t, variety(t)["shelter, holes, circles, zone, exercise"]))
	re := regexp.MustCompile(`<(sent|effective|onset|expires)>([^<]*)<`)
	found := re.FindAllStringSubmatch(doc, -1)
	if len(found) != 1+3*3 {
		t.Fatalf("found %d times in:\n%s", len(found), doc)
	}
	for _, m := range found {
		if !capTime.MatchString(m[2]) || !strings.HasSuffix(m[2], "-00:00") {
			t.Errorf("<%s>%s: want the schema's pattern with CAP's UTC offset -00:00", m[1], m[2])
		}
	}
	if !strings.Contains(doc, "<onset>2021-08-26T15:30:00-00:00</onset>") {
		t.Errorf("onset:\n%s", doc)
	}
	// Both ways of writing UTC, and other offsets, read as the same instant.
	for _, s := range []string{"2021-08-26T14:00:00-00:00", "2021-08-26T14:00:00+00:00", "2021-08-26T18:30:00+04:30", "2021-08-26T10:00:00-04:00"} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(sent) || got.Location() != time.UTC {
			t.Errorf("parseTime(%s) = %v, %v; want %v", s, got, err, sent)
		}
	}
	for _, s := range []string{"2021-08-26T14:00:00Z", "2021-08-26T14:00:00.5-00:00", "2021-08-26T14:00:00", "2021-08-26 14:00:00-00:00", "2021-02-30T14:00:00-00:00", "2021-08-26T14:00:00,00:00"} {
		if _, err := parseTime(s); err == nil {
			t.Errorf("parseTime(%s) accepted", s)
		}
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	a := sample(t)
	a.Area.Polygons[0][0] = a.Area.Polygons[0][0][:len(airport)-1] // open
	var b bytes.Buffer
	err := Encode(&b, a)
	if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "area/polygon[0]: is open") || b.Len() > 0 {
		t.Errorf("an open ring: %v, wrote %d bytes", err, b.Len())
	}
}

func TestRadiusAndCoordinatesExact(t *testing.T) {
	for _, r := range []float64{1, 0.001, 250, 1234.5678, 12000, 99999.999, 2_000_000, 1.0 / 3, 0.1 + 0.2} {
		c := muster.AdvisoryCircle{Center: orb.Point{-0.1 + 0.2/3, 51.5 / 7}, RadiusM: r}
		got, err := parseCircle(formatCircle(c))
		if err != nil || got != c {
			t.Errorf("circle %v: %q read back as %v, %v", c, formatCircle(c), got, err)
		}
	}
	for _, s := range []string{"34.5,69.2 1e3", "34.5,69.2 -1", "34.5,69.2", "34.5,69.2 1 2", "NaN,69.2 1", "34.5,0x1p2 1", "91,69 1", "34.5,181 1"} {
		if c, err := parseCircle(s); err == nil && c.RadiusM > 0 {
			t.Errorf("parseCircle(%q) = %v", s, c)
		}
	}
}

// TestSchema checks muster's CAP against the OASIS schema with xmllint,
// and that the check bites: a document with a "Z" time is refused.
func TestSchema(t *testing.T) {
	bin, schema := xmllint(t)
	for name, a := range variety(t) {
		doc := encode(t, a)
		if msg := schemaCheck(t, bin, schema, "muster.xml", doc); msg != "" {
			t.Errorf("%s: the OASIS schema refuses muster's CAP: %s\n%s", name, msg, doc)
		}
	}
	bad := bytes.Replace(encode(t, sample(t)), []byte("2021-08-26T14:00:00-00:00"), []byte("2021-08-26T14:00:00Z"), 1)
	if schemaCheck(t, bin, schema, "z.xml", bad) == "" {
		t.Error("xmllint accepted a sent time with Z: the schema check does not bite")
	}
	if _, err := Decode(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "/alert/sent") {
		t.Errorf("Decode of a Z time: %v", err)
	}
}

// TestForeignAlerts reads CAP written the way other systems write it
// (testdata/foreign-*.xml, written for muster's tests), each valid under
// the OASIS schema.
func TestForeignAlerts(t *testing.T) {
	files, _ := filepath.Glob("testdata/foreign-*.xml")
	if len(files) < 3 {
		t.Fatalf("foreign alerts: %v", files)
	}
	bin, schema := xmllintOrEmpty(t)
	want := map[string]func(*Decoded) error{
		"foreign-weather-service.xml": func(d *Decoded) error {
			a := d.Advisory
			if a.Sender != "w-nws.webmaster@example.gov" || len(a.Texts) != 1 || a.Texts[0].Language != muster.LangEnglish ||
				a.Severity != "Severe" || len(a.Area.Polygons) != 1 || len(a.Area.Circles) != 0 {
				return fmt.Errorf("read as %+v", a)
			}
			return wantLeftOut(d, "/alert/code", "/alert/info[2]: language es-US (muster keeps en, fa and ps)", "/alert/info/eventCode (2)",
				"/alert/info/parameter (3)", "/alert/info/area/geocode SAME", "/alert/info/senderName")
		},
		"foreign-signed-update.xml": func(d *Decoded) error {
			a := d.Advisory
			if !d.Signed || a.MsgType != muster.AdvisoryUpdate || len(a.References) != 1 || a.References[0].ID != "KAB-2021-0042" ||
				!a.References[0].Sent.Equal(time.Date(2021, 8, 26, 9, 30, 0, 0, time.UTC)) || len(a.Texts) != 3 {
				return fmt.Errorf("read as %+v (signed %v)", a, d.Signed)
			}
			if a.Text(muster.LangDari).Headline == "" || a.Text(muster.LangPashto).AreaDesc == "" {
				return fmt.Errorf("texts %+v", a.Texts)
			}
			return wantLeftOut(d, "/alert/Signature: XML-DSig, not verified")
		},
		"foreign-two-areas.xml": func(d *Decoded) error {
			a := d.Advisory
			if len(a.Area.Polygons) != 1 || len(a.Area.Circles) != 2 || a.Texts[0].AreaDesc != "Kabul city centre; Wazir Akbar Khan; Qala-e-Fatullah" {
				return fmt.Errorf("areas merged as %+v, %q", a.Area, a.Texts[0].AreaDesc)
			}
			if !a.Onset.Equal(time.Date(2021, 8, 26, 14, 0, 0, 0, time.UTC)) {
				return fmt.Errorf("onset %v (written with +04:30)", a.Onset)
			}
			return wantLeftOut(d, "/alert/info/area/altitude")
		},
	}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bin != "" {
			if msg := schemaCheck(t, bin, schema, filepath.Base(f), doc); msg != "" {
				t.Errorf("%s is not valid CAP 1.2: %s", f, msg)
			}
		}
		d, err := Read(bytes.NewReader(doc))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		check := want[filepath.Base(f)]
		if check == nil {
			t.Errorf("%s: no expectation", f)
			continue
		}
		if err := check(d); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		// What muster keeps, it writes as valid CAP and reads back unchanged.
		again, err := Decode(bytes.NewReader(encode(t, d.Advisory)))
		if err != nil || !reflect.DeepEqual(again, d.Advisory) {
			t.Errorf("%s: re-encoded and read back: %v\n%+v\n%+v", f, err, again, d.Advisory)
		}
	}
}

// xmllintOrEmpty is xmllint without the skip: the foreign alerts are read
// even where the schema check cannot run.
func xmllintOrEmpty(t *testing.T) (string, string) {
	var bin, schema string
	t.Run("schema", func(t *testing.T) { bin, schema = xmllint(t) })
	return bin, schema
}

func wantLeftOut(d *Decoded, want ...string) error {
	for _, w := range want {
		found := false
		for _, l := range d.LeftOut {
			found = found || l == w
		}
		if !found {
			return fmt.Errorf("LeftOut %q lacks %q", d.LeftOut, w)
		}
	}
	return nil
}
