package advisory

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// minimal is the least a foreign alert muster accepts carries.
const minimal = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KAB-1</identifier>
  <sender>ops@example.org</sender>
  <sent>2021-08-26T14:00:00-00:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Safety</category>
    <event>Crowd</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <headline>Avoid the gates</headline>
    <area>
      <areaDesc>Kabul</areaDesc>
      <circle>34.5,69.2 5</circle>
    </area>
  </info>
</alert>
`

func TestDecodeMinimal(t *testing.T) {
	d, err := Read(strings.NewReader(minimal))
	if err != nil {
		t.Fatal(err)
	}
	a := d.Advisory
	if a.ID != "KAB-1" || a.Texts[0].Language != muster.LangEnglish || a.Texts[0].Headline != "Avoid the gates" ||
		a.Area.Circles[0].RadiusM != 5000 || !a.Sent.Equal(sent) || len(d.LeftOut) != 0 || d.Signed {
		t.Errorf("read as %+v, left out %q", a, d.LeftOut)
	}
	if _, err := Decode(strings.NewReader("\ufeff" + minimal)); err != nil {
		t.Errorf("with a byte-order mark: %v", err)
	}
}

// edit returns minimal with old replaced by new (which must be there).
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(minimal, old) {
		t.Fatalf("minimal has no %q", old)
	}
	return strings.Replace(minimal, old, new, 1)
}

func TestDecodeRefuses(t *testing.T) {
	info := minimal[strings.Index(minimal, "  <info>"):strings.Index(minimal, "</alert>")]
	cases := []struct {
		name, doc, want string
	}{
		{"doctype", edit(t, "<alert", `<!DOCTYPE alert SYSTEM "http://example.org/cap.dtd"><alert`), "<!DOCTYPE...> refused"},
		{"billion laughs", edit(t, "<alert", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><alert`), "<!DOCTYPE...> refused"},
		{"undeclared entity", edit(t, "<event>Crowd</event>", "<event>&lol;</event>"), "not well-formed XML"},
		{"external entity", edit(t, "<alert", `<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><alert`), "refused"},
		{"processing instruction", edit(t, "<alert", `<?xml-stylesheet href="x.xsl"?><alert`), "processing instruction <?xml-stylesheet?> refused"},
		{"other encoding", edit(t, `encoding="UTF-8"`, `encoding="ISO-8859-1"`), "not well-formed XML"},
		{"CAP 1.1", edit(t, "cap:1.2", "cap:1.1"), `CAP version "1.1": muster reads CAP 1.2`},
		{"no namespace", edit(t, ` xmlns="urn:oasis:names:tc:emergency:cap:1.2"`, ""), "/alert: in no namespace"},
		{"foreign namespace", edit(t, "<scope>Public</scope>", "<scope>Public</scope><x:note xmlns:x=\"urn:example\">hi</x:note>"), `/alert/note: namespace "urn:example"`},
		{"foreign child", edit(t, "<scope>Public</scope>", `<scope>Public</scope><x:extra xmlns:x="urn:example">1</x:extra>`), `/alert/extra: namespace "urn:example" is not CAP 1.2's`},
		{"unknown element", edit(t, "<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>"), "/alert/priority: CAP 1.2 has no such element here"},
		{"out of order", edit(t, "<status>Actual</status>\n  <msgType>Alert</msgType>", "<msgType>Alert</msgType>\n  <status>Actual</status>"), "/alert: <status> is missing before <msgType> (CAP's order is identifier, sender, sent, status, msgType"},
		{"out of order, later", edit(t, "<headline>Avoid the gates</headline>", "<headline>Avoid the gates</headline><expires>2021-08-27T14:00:00-00:00</expires>"), "/alert/info[1]/expires: comes after <headline>, but the schema wants it before"},
		{"missing sender", edit(t, "<sender>ops@example.org</sender>", ""), "<sender> is missing"},
		{"missing urgency", edit(t, "<urgency>Immediate</urgency>", ""), "/alert/info[1]: <urgency> is missing"},
		{"missing areaDesc", edit(t, "<areaDesc>Kabul</areaDesc>", ""), "/alert/info[1]/area[1]: <areaDesc> is missing"},
		{"twice", edit(t, "<sent>", "<sent>2021-08-26T14:00:00-00:00</sent><sent>"), "/alert/sent: given more than once"},
		{"attribute", edit(t, "<event>", `<event lang="en">`), `/alert/info[1]/event: attribute "lang"`},
		{"text in a parent", edit(t, "<info>", "<info>hello"), "/alert/info[1]: holds text \"hello\""},
		{"element in a leaf", edit(t, "<event>Crowd</event>", "<event><b>Crowd</b></event>"), "/alert/info[1]/event: holds the element <b>"},
		{"two roots", minimal + "<alert/>", "a second root element"},
		{"not an alert", `<feed xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>`, "the root element is <feed>"},
		{"empty", "", "no <alert> element"},
		{"truncated", minimal[:len(minimal)/2], "not well-formed XML"},
		{"too large", edit(t, "<headline>Avoid the gates</headline>", "<headline>Avoid the gates</headline><!--"+strings.Repeat("x", MaxBytes)+"-->"), "larger than 1024 KiB"},
		{"Z time", edit(t, "14:00:00-00:00", "14:00:00Z"), "/alert/sent: \"2021-08-26T14:00:00Z\": want a CAP time"},
		{"status", edit(t, "<status>Actual</status>", "<status>Real</status>"), `/alert/status: "Real" is not one of Actual, Exercise`},
		{"ack", edit(t, "<msgType>Alert</msgType>", "<msgType>Ack</msgType>"), "an acknowledgement or error message is not an advisory"},
		{"restricted", edit(t, "<scope>Public</scope>", "<scope>Restricted</scope><restriction>staff</restriction>"), `/alert/scope: "Restricted": muster broadcasts advisories to everyone`},
		{"category", edit(t, "<category>Safety</category>", "<category>Crowd</category>"), `/alert/info[1]/category[1]: "Crowd" is not one of Geo`},
		{"urgency", edit(t, "<urgency>Immediate</urgency>", "<urgency>Soon</urgency>"), `/alert/info[1]/urgency: "Soon"`},
		{"open polygon", edit(t, "<circle>34.5,69.2 5</circle>", "<polygon>34.5,69.2 34.6,69.2 34.6,69.3 34.5,69.3</polygon>"), "/alert/info[1]/area[1]/polygon[1]: is open"},
		{"short polygon", edit(t, "<circle>34.5,69.2 5</circle>", "<polygon>34.5,69.2 34.6,69.2 34.5,69.2</polygon>"), "has 3 points: CAP wants at least 4"},
		{"crossing polygon", edit(t, "<circle>34.5,69.2 5</circle>", "<polygon>34.5,69.2 34.6,69.3 34.6,69.2 34.5,69.3 34.5,69.2</polygon>"), "area/polygon[0]: crosses itself"},
		{"latitude range", edit(t, "<circle>34.5,69.2 5</circle>", "<circle>95,69.2 5</circle>"), "circle[1]: centre: \"95,69.2\" is out of range"},
		{"swapped pair", edit(t, "<circle>34.5,69.2 5</circle>", "<circle>69.2 34.5 5</circle>"), "want \"lat,lon radius_km\""},
		{"geocodes only", edit(t, "<circle>34.5,69.2 5</circle>", "<geocode><valueName>SAME</valueName><value>006113</value></geocode>"), "an area given by geocodes alone"},
		{"other language only", edit(t, "<info>", "<info><language>fr-FR</language>"), "no info in English, Dari or Pashto"},
		{"two in Dari", edit(t, "</alert>", strings.Replace(info, "<info>", "<info><language>fa-AF</language>", 1)+strings.Replace(info, "<info>", "<info><language>prs</language>", 1)+"</alert>"), "a second info in Dari (prs, after fa-AF"},
		{"urgency differs", edit(t, "</alert>", strings.Replace(strings.Replace(info, "<info>", "<info><language>ps-AF</language>", 1), "Immediate", "Expected", 1)+"</alert>"), "urgency Expected differs from the en-US info's (Immediate"},
		{"area differs", edit(t, "</alert>", strings.Replace(strings.Replace(info, "<info>", "<info><language>ps-AF</language>", 1), "69.2 5", "69.2 6", 1)+"</alert>"), "its area differs from the en-US info's"},
		{"update without references", edit(t, "<msgType>Alert</msgType>", "<msgType>Update</msgType>"), "references: an Update must name the advisories it updates"},
		{"bad references", edit(t, "<scope>Public</scope>", "<scope>Public</scope><references>ops@example.org,KAB-0</references>"), "/alert/references: entry 1 \"ops@example.org,KAB-0\": want sender,identifier,sent"},
		{"control character", edit(t, "Avoid the gates", "Avoid&#1;the gates"), "not well-formed XML"},
		{"bidi override", edit(t, "Avoid the gates", "Avoid the &#x202E;setag"), "info[en]/headline: holds the bidirectional override U+202E"},
		{"identifier with a space", edit(t, "KAB-1", "KAB 1"), "identifier: \"KAB 1\" holds ' ': CAP forbids spaces"},
		{"expires before sent", edit(t, "<headline>", "<expires>2021-08-26T13:00:00-00:00</expires><headline>"), "expires: 2021-08-26T13:00:00Z is not after sent"},
		{"signature not last", edit(t, "<info>", `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/><info>`), "/alert/info: after the signature, which must come last"},
		{"hole of no polygon", edit(t, "<circle>34.5,69.2 5</circle>", "<circle>34.5,69.2 5</circle><geocode><valueName>muster-hole</valueName><value>0 34.5,69.2 34.6,69.2 34.6,69.3 34.5,69.2</value></geocode>"), "muster-hole"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(c.doc))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.doc)
			}
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Errorf("error code %s: %v", muster.ErrorCode(err), err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "CAP: ") {
				t.Errorf("error %q does not say it is about CAP", err)
			}
		})
	}
}

// TestDecodeBounded: hostile documents are refused early and cheaply.
func TestDecodeBounded(t *testing.T) {
	deep := edit(t, "<scope>Public</scope>", "<scope>Public</scope>"+strings.Repeat("<note>", 100_000))
	huge := edit(t, "<event>", `<event a="`+strings.Repeat("x", 900_000)+`">`)
	many := edit(t, "<circle>34.5,69.2 5</circle>", strings.Repeat("<circle>34.5,69.2 5</circle>", 101))
	bigRing := edit(t, "<circle>34.5,69.2 5</circle>", "<polygon>"+strings.Repeat("34.5,69.2 ", muster.MaxAdvisoryRingPoints+1)+"</polygon>")
	deepSig := edit(t, "</alert>", `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`+strings.Repeat("<a>", 140_000)+strings.Repeat("</a>", 140_000)+"</Signature></alert>")
	for name, c := range map[string]struct{ doc, want string }{
		"deep signature": {deepSig, "/alert/Signature: nested more than 16 levels deep"},
		"deep nesting":   {deep, "/alert/note: holds the element <note>"},
		"huge attribute": {huge, `attribute "a"`},
		"many circles":   {many, "more than 100 polygons and circles"},
		"big ring":       {bigRing, "more than 2000"},
	} {
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		allocs := testing.AllocsPerRun(1, func() { _, err = Decode(strings.NewReader(c.doc)) })
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		// AllocsPerRun decodes twice (a warm-up, then the run).
		if mib := float64(after.TotalAlloc-before.TotalAlloc) / 2 / (1 << 20); allocs > 20_000 || mib > 16 {
			t.Errorf("%s: %.0f allocations, %.1f MiB to refuse it", name, allocs, mib)
		}
	}
}

func TestDecodeSizeLimitCountsBytes(t *testing.T) {
	pad := MaxBytes - len(minimal) - len("<!---->")
	ok := strings.Replace(minimal, "</alert>", "</alert><!--"+strings.Repeat("x", pad)+"-->", 1)
	if len(ok) != MaxBytes {
		t.Fatalf("built %d bytes", len(ok))
	}
	if _, err := Decode(strings.NewReader(ok)); err != nil {
		t.Errorf("a document of exactly MaxBytes: %v", err)
	}
	if _, err := Decode(bytes.NewReader(append([]byte(ok), ' '))); err == nil {
		t.Error("a document one byte over MaxBytes was read")
	}
}
