package evacuees

import (
	"bytes"
	"encoding/csv"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// dirtyVerdicts maps each expectation of evacuees-dirty.csv that means
// "reject" to the column the error must name and a keyword its reason must
// contain. An expectation not in this table (and not starting "valid")
// fails the test, so new rows in the data are not silently accepted.
var dirtyVerdicts = map[string]struct{ column, keyword string }{
	"missing latitude without an address":             {"lat", "missing while the longitude is given"},
	"latitude out of range":                           {"lat", "out of range"},
	"party of zero":                                   {"members", "party of zero"},
	"members not a number":                            {"members", "not a whole number"},
	"malformed phone":                                 {"phone", "not a phone number"},
	"unsupported language":                            {"language", "not a supported language"},
	"unknown priority":                                {"priority", "not a known priority (accepted: none, medical"},
	"adults + children != members":                    {"members", "does not match adults + children"},
	"name absurdly long":                              {"name", "too large"},
	"duplicate household_id with conflicting content": {"household_id", "already on line 2"},
	"decimal comma in latitude":                       {"lat", "decimal comma"},
	"no way to contact":                               {"", "no way to contact"},
	"malformed e-mail":                                {"email", "not an e-mail address"},
	"null island: coordinates outside the map":        {"lat", "null island"},
	"invalid UTF-8 bytes in name":                     {"name", "not valid UTF-8"},
}

func TestDirtyFileVerdicts(t *testing.T) {
	path := sharedFile(t, "scenarios/kabul-2021/evacuees-dirty.csv")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The expectations, read independently of the package under test.
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	all, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := all[0]
	expCol := len(header) - 1
	if header[expCol] != "expected" {
		t.Fatalf("last column is %q, want expected", header[expCol])
	}
	type expectation struct{ id, text string }
	want := map[int]expectation{} // line -> expectation
	cr = csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		if i == 0 {
			continue
		}
		line, _ := cr.FieldPos(0)
		text := "wrong number of fields"
		if len(rec) == len(header) {
			text = rec[expCol]
		}
		want[line] = expectation{rec[0], text}
	}

	res := readFile(t, path, Options{})
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows read, the file has %d", len(res.Rows), len(want))
	}
	if !reflect.DeepEqual(res.Ignored, []string{"expected"}) {
		t.Errorf("ignored columns %q, want [expected]", res.Ignored)
	}
	good := 0
	for _, row := range res.Rows {
		exp, ok := want[row.Line]
		if !ok {
			t.Errorf("row at line %d: no such row in the file", row.Line)
			continue
		}
		if strings.HasPrefix(exp.text, "valid") {
			good++
			if !row.OK() {
				t.Errorf("line %d (%s, %q): rejected: %s", row.Line, exp.id, exp.text, rowErrors(row))
			}
			continue
		}
		v, ok := dirtyVerdicts[exp.text]
		if exp.text == "wrong number of fields" {
			v, ok = struct{ column, keyword string }{"", "fields, the header has 17"}, true
		}
		if !ok {
			t.Errorf("line %d (%s): expectation %q has no verdict in dirtyVerdicts", row.Line, exp.id, exp.text)
			continue
		}
		if row.OK() {
			t.Errorf("line %d (%s, %q): accepted, want rejected", row.Line, exp.id, exp.text)
			continue
		}
		matched := false
		for _, e := range row.Errors {
			if e.Column == v.column && strings.Contains(e.Reason, v.keyword) && e.Line == row.Line {
				matched = true
			}
		}
		if !matched {
			t.Errorf("line %d (%s, %q): errors %s; want one in column %q containing %q",
				row.Line, exp.id, exp.text, rowErrors(row), v.column, v.keyword)
		}
	}
	if res.Good != good || res.Bad != len(want)-good {
		t.Errorf("Good=%d Bad=%d, want %d and %d", res.Good, res.Bad, good, len(want)-good)
	}

	// The valid rows keep their hostile content as plain text.
	byID := map[string]muster.Household{}
	for _, h := range res.Households() {
		byID[h.ID] = h
	}
	if got := byID["D0011"].Notes; got != `=HYPERLINK("http://evil.example","click")` {
		t.Errorf("D0011 notes %q", got)
	}
	if got := byID["D0012"].Notes; got != "line one\nline two" {
		t.Errorf("D0012 notes %q", got)
	}
	if got := byID["D0013"].Name; got != "<img src=x onerror=alert(1)>" {
		t.Errorf("D0013 name %q", got)
	}
	if h := byID["D0001"]; h.Name != "Test Person" || h.Phone != "+93705550001" {
		t.Errorf("D0001 is %+v, want the first row's content", h)
	}

	// On export the formula is neutralised, and reads back unchanged.
	var out bytes.Buffer
	if err := Write(&out, res.Households()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"'=HYPERLINK(""http://evil.example"",""click"")"`) {
		t.Errorf("export does not neutralise the formula:\n%s", out.String())
	}
	back := readString(t, out.String(), Options{})
	if !reflect.DeepEqual(back.Households(), res.Households()) {
		t.Errorf("round trip changed the households:\n%+v\n%+v", back.Households(), res.Households())
	}
}

func TestKabulList(t *testing.T) {
	path := sharedFile(t, "scenarios/kabul-2021/evacuees.csv")
	res := readFile(t, path, Options{})
	if res.Bad != 0 {
		for _, r := range res.Rows {
			if !r.OK() {
				t.Errorf("%s", rowErrors(r))
			}
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if res.Good != len(recs)-1 || res.Good != 2000 {
		t.Fatalf("%d good rows, the file has %d", res.Good, len(recs)-1)
	}
	dari, pashto := 0, 0
	for i, row := range res.Rows {
		rec, h := recs[i+1], row.Household
		// Names in Dari and Pashto byte for byte.
		if h.ID != rec[0] || h.Name != rec[1] || h.NameLocal != rec[2] {
			t.Fatalf("line %d: read %q %q %q, file has %q %q %q", row.Line, h.ID, h.Name, h.NameLocal, rec[0], rec[1], rec[2])
		}
		if h.PartySize < 1 || h.Adults+h.Children != h.PartySize || !h.HasLocation || h.Phone != rec[8] {
			t.Fatalf("line %d: %+v from %q", row.Line, h, rec)
		}
		switch {
		case h.Language == muster.LangDari && h.NameLocal != "":
			dari++
		case h.Language == muster.LangPashto && h.NameLocal != "":
			pashto++
		}
	}
	if dari == 0 || pashto == 0 {
		t.Errorf("%d Dari and %d Pashto local names: the data should have both", dari, pashto)
	}

	var out bytes.Buffer
	if err := Write(&out, res.Households()); err != nil {
		t.Fatal(err)
	}
	back := readString(t, out.String(), Options{})
	if !reflect.DeepEqual(back.Households(), res.Households()) {
		t.Error("Read(Write(kabul)) differs from kabul")
	}
}

func TestSpreadsheetExport(t *testing.T) {
	path := sharedFile(t, "scenarios/kabul-2021/evacuees-spreadsheet.csv")
	res := readFile(t, path, Options{DefaultCountryCode: "+93"})
	if res.Separator != ';' {
		t.Errorf("separator %q, want ';'", res.Separator)
	}
	wantMap := map[string]string{"Full name": ColName, "Household ID": ColID, "Latitude": ColLat, "Longitude": ColLon,
		"Party size": ColMembers, "Phone number": ColPhone, "Language": ColLanguage, "Priority": ColPriority}
	if !reflect.DeepEqual(res.Mapping, wantMap) {
		t.Errorf("mapping %v, want %v", res.Mapping, wantMap)
	}
	want := []muster.Household{
		{ID: "S0001", Name: "Ahmad Karimi", PartySize: 3, Priority: "medical", Language: "fa", Phone: "+93701234567", Lat: 34.5301, Lon: 69.1802, HasLocation: true},
		{ID: "S0002", Name: "Zahra Noori", PartySize: 5, Priority: "none", Language: "ps", Phone: "+93701234568", Lat: 34.5288, Lon: 69.1755, HasLocation: true},
		{ID: "S0003", Name: "Miller; John", PartySize: 1, Priority: "none", Language: "en", Phone: "+12025550100", Lat: 34.5370, Lon: 69.1900, HasLocation: true},
	}
	for _, r := range res.Rows {
		if !r.OK() {
			t.Errorf("rejected: %s", rowErrors(r))
		}
	}
	if got := res.Households(); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}

	// Without a default country code the national number is refused, with
	// the reason.
	res = readFile(t, path, Options{})
	if res.Good != 2 || res.Rows[1].OK() || !strings.Contains(rowErrors(res.Rows[1]), `column "Phone number": "0701234568" has no country code`) {
		t.Errorf("without a country code: %d good, row 2: %s", res.Good, rowErrors(res.Rows[1]))
	}
}

func TestPortoAlegreDrill(t *testing.T) {
	res := readFile(t, sharedFile(t, "scenarios/porto-alegre-drill/evacuees.csv"), Options{})
	if res.Good != 8000 || res.Bad != 0 {
		t.Fatalf("%d good, %d bad; want 8000 good", res.Good, res.Bad)
	}
	people := 0
	for _, h := range res.Households() {
		people += h.PartySize
		if h.Lat > -29.9 || h.Lat < -30.3 || h.Lon > -51.0 || h.Lon < -51.4 {
			t.Fatalf("%s at %v,%v: not in Porto Alegre", h.ID, h.Lat, h.Lon)
		}
	}
	// The scenario README: 8,000 households, 29,350 people.
	if people != 29350 {
		t.Errorf("%d people, the scenario has 29,350", people)
	}
}

func BenchmarkReadPortoAlegre(b *testing.B) {
	raw, err := os.ReadFile(sharedFile(b, "scenarios/porto-alegre-drill/evacuees.csv"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Read(bytes.NewReader(raw), "evacuees.csv", Options{})
		if err != nil || res.Good != 8000 {
			b.Fatalf("%v, %d good", err, res.Good)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/8000, "ns/household")
}

func BenchmarkWritePortoAlegre(b *testing.B) {
	res := readFile(b, sharedFile(b, "scenarios/porto-alegre-drill/evacuees.csv"), Options{})
	hs := res.Households()
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		if err := Write(&out, hs); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(out.Len()))
	}
}
