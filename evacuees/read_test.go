package evacuees

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

const canonHeader = "household_id,name,name_local,members,adults,children,priority,language,phone,email,lat,lon,address,eligibility,documents,notes,member_names\n"

// oneRow reads a canonical file of one row built from a good row with
// the given canonical column replaced.
func oneRow(t *testing.T, col, value string, opts Options) Row {
	t.Helper()
	good := map[string]string{ColID: "H1", ColName: "Ali", ColMembers: "2", ColAdults: "1", ColChildren: "1",
		ColLanguage: "fa", ColPhone: "+93700000001", ColLat: "34.5", ColLon: "69.1"}
	good[col] = value
	var rec []string
	for _, c := range Columns {
		v := good[c]
		if strings.ContainsAny(v, ",\"\n") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		rec = append(rec, v)
	}
	res := readString(t, canonHeader+strings.Join(rec, ",")+"\n", opts)
	if len(res.Rows) != 1 {
		t.Fatalf("%d rows", len(res.Rows))
	}
	return res.Rows[0]
}

func TestValues(t *testing.T) {
	// Each case sets one column; want is the accepted field value, or
	// wantErr a fragment of the reason.
	cases := []struct {
		col, value string
		opts       Options
		field      func(muster.Household) any
		want       any
		wantErr    string
	}{
		{col: ColPhone, value: "+93 (70) 123-4567", field: phone, want: "+93701234567"},
		{col: ColPhone, value: "0093 70 123 4567", field: phone, want: "+93701234567"},
		{col: ColPhone, value: "070 123 4567", opts: Options{DefaultCountryCode: "+93"}, field: phone, want: "+93701234567"},
		{col: ColPhone, value: "۰۷۰۱۲۳۴۵۶۷", opts: Options{DefaultCountryCode: "+93"}, field: phone, want: "+93701234567"},
		{col: ColPhone, value: "'+93 70 123 4567", field: phone, want: "+93701234567"},
		{col: ColPhone, value: "070 123 4567", wantErr: "no country code"},
		{col: ColPhone, value: "93701234567", wantErr: "no country code"},
		{col: ColPhone, value: "+93 70", wantErr: "8 to 15 digits"},
		{col: ColPhone, value: "+9370123456789012", wantErr: "8 to 15 digits"},
		{col: ColPhone, value: "+93 70 123 4567 ext 2", wantErr: "not a phone number"},
		{col: ColPhone, value: "++93701234567", wantErr: "not a phone number"},
		{col: ColLanguage, value: "Dari", field: lang, want: "fa"},
		{col: ColLanguage, value: "FARSI", field: lang, want: "fa"},
		{col: ColLanguage, value: "Persian", field: lang, want: "fa"},
		{col: ColLanguage, value: "دری", field: lang, want: "fa"},
		{col: ColLanguage, value: "فارسی", field: lang, want: "fa"},
		{col: ColLanguage, value: "پښتو", field: lang, want: "ps"},
		{col: ColLanguage, value: "pashto", field: lang, want: "ps"},
		{col: ColLanguage, value: "English", field: lang, want: "en"},
		{col: ColLanguage, value: "", field: lang, want: ""},
		{col: ColLanguage, value: "Urdu", wantErr: "not a supported language"},
		{col: ColPriority, value: "", field: prio, want: "none"},
		{col: ColPriority, value: "Unaccompanied minor", field: prio, want: "unaccompanied_minor"},
		{col: ColPriority, value: "AT-RISK", field: prio, want: "at_risk"},
		{col: ColPriority, value: "urgent", wantErr: "accepted: none, medical, mobility, unaccompanied_minor, elderly, at_risk"},
		{col: ColEligibility, value: "SIV", field: func(h muster.Household) any { return h.Eligibility }, want: "siv"},
		{col: ColEligibility, value: "refugee", wantErr: "accepted: citizen, lpr, siv, partner, other"},
		{col: ColDocuments, value: "Visa pending", field: func(h muster.Household) any { return h.Documents }, want: "visa-pending"},
		{col: ColDocuments, value: "birth certificate", wantErr: "not a known documents status"},
		{col: ColEmail, value: "a.b@example.org", field: func(h muster.Household) any { return h.Email }, want: "a.b@example.org"},
		{col: ColEmail, value: "a b@example.org", wantErr: "not an e-mail"},
		{col: ColEmail, value: "a@localhost", wantErr: "not an e-mail"},
		{col: ColLat, value: "-90", field: func(h muster.Household) any { return h.Lat }, want: -90.0},
		{col: ColLat, value: "90.000001", wantErr: "out of range"},
		{col: ColLat, value: "NaN", wantErr: "not a number"},
		{col: ColLat, value: "Inf", wantErr: "not a number"},
		{col: ColLat, value: "0x1p3", wantErr: "not a number"},
		{col: ColLat, value: "3_4", wantErr: "not a number"},
		{col: ColLon, value: "180.5", wantErr: "longitude must be within -180..180"},
		{col: ColLon, value: "", wantErr: "is missing while the latitude is given"},
		{col: ColID, value: "", wantErr: "every household needs an id"},
		{col: ColID, value: "H 1", wantErr: "not a valid household id"},
		{col: ColID, value: strings.Repeat("H", 65), wantErr: "at most 64"},
		{col: ColName, value: strings.Repeat("ن", 201), wantErr: "201 characters; a name has at most 200"},
		{col: ColName, value: "Ali\nKarimi", wantErr: "line break"},
		{col: ColName, value: "Ali\x07", wantErr: "control character (U+0007)"},
		{col: ColName, value: "", wantErr: "no name: both name and name_local are empty"},
		{col: ColNotes, value: strings.Repeat("x", MaxFieldBytes+1), wantErr: "too large (4097 bytes"},
		{col: ColNotes, value: "a\r\nb\rc", field: func(h muster.Household) any { return h.Notes }, want: "a\nb\nc"},
		{col: ColNotes, value: "  '@SUM(A1)  ", field: func(h muster.Household) any { return h.Notes }, want: "@SUM(A1)"},
		{col: ColNotes, value: "'tis", field: func(h muster.Household) any { return h.Notes }, want: "'tis"},
		{col: ColAddress, value: "bad\xffbyte", wantErr: "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.col+"="+c.value, func(t *testing.T) {
			row := oneRow(t, c.col, c.value, c.opts)
			if c.wantErr != "" {
				if row.OK() || !strings.Contains(rowErrors(row), c.wantErr) {
					t.Fatalf("errors %q, want one containing %q", rowErrors(row), c.wantErr)
				}
				return
			}
			if !row.OK() {
				t.Fatalf("rejected: %s", rowErrors(row))
			}
			if got := c.field(row.Household); got != c.want {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func phone(h muster.Household) any { return h.Phone }
func lang(h muster.Household) any  { return h.Language }
func prio(h muster.Household) any  { return h.Priority }

func TestPartySize(t *testing.T) {
	cases := []struct {
		members, adults, children string
		want                      [3]int // party, adults, children
		wantErr                   string
	}{
		{"3", "", "", [3]int{3, 0, 0}, ""},
		{"", "2", "1", [3]int{3, 2, 1}, ""},
		{"", "2", "", [3]int{2, 2, 0}, ""},
		{"4", "1", "", [3]int{4, 1, 3}, ""},
		{"4", "", "3", [3]int{4, 1, 3}, ""},
		{"4", "1", "3", [3]int{4, 1, 3}, ""},
		{"۴", "", "", [3]int{4, 0, 0}, ""},
		{"4", "1", "2", [3]int{}, "does not match adults + children (1 + 2 = 3)"},
		{"2", "3", "", [3]int{}, "is more than the 2 members"},
		{"", "", "", [3]int{}, "no party size"},
		{"", "0", "0", [3]int{}, "party of zero"},
		{"-1", "", "", [3]int{}, "negative"},
		{"51", "", "", [3]int{}, "at most 50 people"},
		{"", "30", "30", [3]int{}, "party of 60"},
		{"2.5", "", "", [3]int{}, "not a whole number"},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/%s", c.members, c.adults, c.children)
		t.Run(name, func(t *testing.T) {
			csv := "id,name,members,adults,children,address,phone\nH1,Ali," + c.members + "," + c.adults + "," + c.children + ",Kabul,+93700000001\n"
			row := readString(t, csv, Options{}).Rows[0]
			if c.wantErr != "" {
				if row.OK() || !strings.Contains(rowErrors(row), c.wantErr) {
					t.Fatalf("errors %q, want %q", rowErrors(row), c.wantErr)
				}
				return
			}
			h := row.Household
			if !row.OK() || [3]int{h.PartySize, h.Adults, h.Children} != c.want {
				t.Errorf("party %d adults %d children %d, errors %q; want %v", h.PartySize, h.Adults, h.Children, rowErrors(row), c.want)
			}
		})
	}
}

func TestHeadersAndSeparators(t *testing.T) {
	cases := []struct {
		name, file string
		sep        rune
	}{
		{"aliases with accents and case", "\ufeffID família;Nome completo;Endereço;TELEFONE;Idioma;Observações;Pessoas\r\nF1;Ana;\"Rua A; 10\";+55 51 99999 0000;English;\"nota; um\";2\r\n", ';'},
		{"tab separated", "Household ID\tFull Name\tLatitude\tlng\tParty Size\tE-mail\nF1\tAna\t-30,05\t-51,2\t2\tana@example.org\n", '\t'},
		{"quoted header with separators inside", "\"household_id\",\"name; as written\",Full Name,members,address,phone\nF1,x,Ana,2,Somewhere,+5551999990000\n", ','},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := readString(t, c.file, Options{})
			if res.Separator != c.sep {
				t.Errorf("separator %q, want %q", res.Separator, c.sep)
			}
			if res.Good != 1 {
				t.Fatalf("rejected: %s (mapping %v)", rowErrors(res.Rows[0]), res.Mapping)
			}
			h := res.Rows[0].Household
			if h.ID != "F1" || h.Name != "Ana" || h.PartySize != 2 {
				t.Errorf("household %+v", h)
			}
		})
	}
	res := readString(t, cases[0].file, Options{})
	if h := res.Rows[0].Household; h.Address != "Rua A; 10" || h.Notes != "nota; um" || h.Phone != "+5551999990000" || h.Language != "en" {
		t.Errorf("household %+v", h)
	}
	if res.Rows[0].Line != 2 {
		t.Errorf("line %d, want 2", res.Rows[0].Line)
	}
	res = readString(t, cases[1].file, Options{})
	if h := res.Rows[0].Household; h.Lat != -30.05 || h.Lon != -51.2 || !h.HasLocation {
		t.Errorf("decimal commas in a tab file: %+v", h)
	}
	res = readString(t, cases[2].file, Options{})
	if !reflect.DeepEqual(res.Ignored, []string{"name; as written"}) {
		t.Errorf("ignored %q", res.Ignored)
	}
}

func TestFileErrors(t *testing.T) {
	cases := []struct {
		name, file string
		opts       Options
		want       string
	}{
		{"empty", "", Options{}, "no header"},
		{"blank first line", "\nid,name\n", Options{}, "no header"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Options{}, "not a CSV text file"},
		{"UTF-16", "\xff\xfeh\x00o\x00", Options{}, "UTF-16"},
		{"latin-1 header", "household_id,nom,adresse,t\xe9l\xe9phone,members\n", Options{}, "not valid UTF-8"},
		{"missing columns", "household_id,name,notes\nH1,Ali,x\n", Options{}, "no column for a party size (members, or adults and children, or member_names), a location (lat and lon, or address), a contact (phone or email)"},
		{"one coordinate", "id,name,members,lat,phone\n", Options{}, "only one of lat and lon"},
		{"duplicate column", "id,name,members,address,phone,Phone Number\n", Options{}, `columns 5 ("phone") and 6 ("Phone Number") both mean phone`},
		{"header too long", strings.Repeat("x", 70<<10), Options{}, "header is longer than"},
		{"bad CSV header", "id,\"name\"x,members\n", Options{}, "header is not valid CSV"},
		{"too many rows", canonHeader + strings.Repeat("H1,A,,1,,,,,+93700000001,,,,Kabul,,,,\n", 4), Options{MaxRows: 3}, "more than 3 rows"},
		{"too large", canonHeader + strings.Repeat("H1,A,,1,,,,,+93700000001,,,,Kabul,,,,\n", 100), Options{MaxBytes: 1000}, "larger than the limit of 1000 bytes"},
		{"too large header", canonHeader, Options{MaxBytes: 10}, "larger than the limit of 10 bytes"},
		{"bad country code", canonHeader, Options{DefaultCountryCode: "93"}, `default country code "93": want + and 1 to 3 digits`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Read(strings.NewReader(c.file), "list.csv", c.opts)
			if err == nil {
				t.Fatalf("no error; %d rows", len(res.Rows))
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "list.csv: ") {
				t.Errorf("error %q, want it to name the file and contain %q", err, c.want)
			}
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Errorf("code %q, want invalid", muster.ErrorCode(err))
			}
		})
	}
	// Exactly at the limits is fine.
	file := canonHeader + strings.Repeat("H1,A,,1,,,,,+93700000001,,,,Kabul,,,,\n", 3)
	res, err := Read(strings.NewReader(file), "list.csv", Options{MaxRows: 3, MaxBytes: int64(len(file))})
	if err != nil || len(res.Rows) != 3 {
		t.Errorf("at the limits: %v", err)
	}
	// The duplicate ids are row errors, not a file error.
	if res.Good != 1 || !strings.Contains(rowErrors(res.Rows[2]), "already on line 2") {
		t.Errorf("good %d; %s", res.Good, rowErrors(res.Rows[2]))
	}
}

func TestRowLevelCSVErrors(t *testing.T) {
	file := "id,name,members,address,phone\r\n" +
		"H1,Ali,2,Kabul,+93700000001\r\n" +
		"H2,Bad \"quote,2,Kabul,+93700000002\r\n" +
		";;;;\r\n" + // not blank for a comma file: one field
		",,,,\r\n" + // blank: skipped
		"\"H3\",\"Multi\nline\",2,Kabul,+93700000003\r\n" +
		"H4,Ok,2,Kabul,+93700000004,,\r\n" // trailing empty fields are fine
	res := readString(t, file, Options{})
	var lines []int
	for _, r := range res.Rows {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 3, 4, 6, 8}) {
		t.Fatalf("rows at lines %v", lines)
	}
	if !res.Rows[0].OK() || res.Rows[1].OK() || !strings.Contains(rowErrors(res.Rows[1]), "not valid CSV") {
		t.Errorf("rows 1-2: %s | %s", rowErrors(res.Rows[0]), rowErrors(res.Rows[1]))
	}
	if !strings.Contains(rowErrors(res.Rows[2]), "1 fields, the header has 5") {
		t.Errorf("row 3: %s", rowErrors(res.Rows[2]))
	}
	if !strings.Contains(rowErrors(res.Rows[3]), "line break") || !res.Rows[4].OK() {
		t.Errorf("rows 4-5: %s | %s", rowErrors(res.Rows[3]), rowErrors(res.Rows[4]))
	}
	if res.Good != 2 || res.Bad != 3 {
		t.Errorf("good %d bad %d", res.Good, res.Bad)
	}
}

func TestNoLocationNoContact(t *testing.T) {
	res := readString(t, "id,name,members,lat,lon,address,phone,email\nH1,Ali,2,,,,+93700000001,\nH2,Ali,2,,,Karte Seh,,\nH3,Ali,2,,,Karte Seh,,a@example.org\n", Options{})
	if e := rowErrors(res.Rows[0]); e != "line 2: no location: no coordinates and no address; " {
		t.Errorf("row 1: %q", e)
	}
	if e := rowErrors(res.Rows[1]); e != "line 3: no way to contact: both phone and e-mail are empty; " {
		t.Errorf("row 2: %q", e)
	}
	if h := res.Rows[2].Household; !res.Rows[2].OK() || h.HasLocation || h.Address != "Karte Seh" {
		t.Errorf("row 3: %+v %s", h, rowErrors(res.Rows[2]))
	}
}

func TestRowErrorFormat(t *testing.T) {
	e := RowError{Line: 7, Column: "lat", Value: "95.2", Reason: "is out of range (latitude must be within -90..90)"}
	if got := e.Error(); got != `line 7, column "lat": "95.2" is out of range (latitude must be within -90..90)` {
		t.Errorf("%s", got)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	file := canonHeader + strings.Repeat("H1,A,,1,,,,,+93700000001,,,,Kabul,,,,\n", 2000)
	_, err := ReadContext(ctx, strings.NewReader(file), "list.csv", Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestWriteNeutralisesFormulas(t *testing.T) {
	hs := []muster.Household{{ID: "H1", Name: "=1+1", NameLocal: "@x", PartySize: 1, Priority: "none",
		Phone: "+93700000001", Lat: -30.5, Lon: -51.25, HasLocation: true, Notes: "-5 is fine, -x is not", Address: "'=quoted"}}
	var out bytes.Buffer
	if err := Write(&out, hs); err != nil {
		t.Fatal(err)
	}
	want := canonHeader + "H1,'=1+1,'@x,1,,,none,,+93700000001,,-30.5,-51.25,''=quoted,,,'-5 is fine, -x is not,\n"
	want = strings.Replace(want, "'-5 is fine, -x is not", `"'-5 is fine, -x is not"`, 1)
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	back := readString(t, out.String(), Options{})
	if !reflect.DeepEqual(back.Households(), hs) {
		t.Errorf("round trip: %+v", back.Households())
	}
}

func TestAliasTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for col, aliases := range aliasTable {
		var line string
		for _, l := range strings.Split(string(doc), "\n") {
			if f := strings.Fields(strings.TrimPrefix(l, "//")); len(f) > 1 && f[0] == col {
				line = l
			}
		}
		documented := strings.Split(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, "//")), col)), ", ")
		var want []string
		for _, a := range aliases {
			if a != col {
				want = append(want, a)
			}
		}
		if !reflect.DeepEqual(documented, want) {
			t.Errorf("doc.go lists for %s:\n%q\nthe code has\n%q", col, documented, want)
		}
	}
}
