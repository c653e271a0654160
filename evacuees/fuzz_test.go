package evacuees

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// FuzzRead: Read never panics, its counts add up, every error names a
// line, and the good rows survive Write and Read unchanged.
func FuzzRead(f *testing.F) {
	f.Add([]byte(canonHeader + "H1,Ali,علی,2,1,1,medical,fa,+93700000001,a@example.org,34.5,69.1,,siv,passport,\"=1+1\"\n"))
	f.Add([]byte("\ufeffFull name;Household ID;Latitude;Longitude;Party size;Phone number;Language;Priority\r\nA;S1;34,5;69,1;3;0701234567;Dari;\r\n\"B; C\";S2;1;2;1;+1 202 555 0100;English;none\r\n"))
	f.Add([]byte("id\tname\tmembers\taddress\temail\nH1\tAli\t2\t\"a\nb\"\t'@x@example.org\n"))
	f.Add([]byte("id,name,members,address,phone\nH1,\"x\"\"y\",2,'-,'+93 70 000 0001\nH1,x,2,y,+93700000002\n"))
	f.Add([]byte(canonHeader + "H1,Ali,,3,,,,,+93700000001,,,,Kabul,,,,\"Ali (40); Sara (child)\nعلی (۰)\"\nH2,B,,,,,,,+93700000002,,,,Kabul,,,,'=x (Jr) (12)؛ ;y)\n"))
	f.Add([]byte("id;family members;name;address;email\r\nH1;\"Omid (elderly)\r\n\r\nNadia (17)\";N;x;n@example.org\r\nH2;5;N;x;n@example.org\r\n"))
	for _, p := range []string{
		"scenarios/kabul-2021/evacuees-dirty.csv",
		"scenarios/kabul-2021/evacuees-spreadsheet.csv",
	} {
		if path := sharedPathOrEmpty(p); path != "" {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{MaxRows: 200, MaxBytes: 1 << 20, DefaultCountryCode: "+93"}
		res, err := Read(bytes.NewReader(data), "fuzz.csv", opts)
		if err != nil {
			if res != nil {
				t.Fatal("both a result and an error")
			}
			return
		}
		if res.Good+res.Bad != len(res.Rows) {
			t.Fatalf("good %d + bad %d != %d rows", res.Good, res.Bad, len(res.Rows))
		}
		for _, r := range res.Rows {
			for _, e := range r.Errors {
				if e.Line != r.Line || e.Line < 2 || e.Reason == "" {
					t.Fatalf("row at line %d has error %+v", r.Line, e)
				}
			}
		}
		hs := res.Households()
		var out bytes.Buffer
		if err := Write(&out, hs); err != nil {
			t.Fatal(err)
		}
		back, err := Read(bytes.NewReader(out.Bytes()), "export.csv", Options{DefaultCountryCode: "+93"})
		if err != nil {
			t.Fatalf("re-reading the export: %v\n%q", err, out.String())
		}
		if back.Bad != 0 {
			t.Fatalf("the export has bad rows: %s\n%q", rowErrors(back.Rows[0]), out.String())
		}
		if got := back.Households(); !reflect.DeepEqual(got, hs) && len(hs) > 0 {
			t.Fatalf("round trip changed households:\n%+v\n%+v\n%q", got, hs, out.String())
		}
	})
}

// sharedPathOrEmpty is sharedFile for seed corpora: no skip, just "".
func sharedPathOrEmpty(rel string) string {
	p := "../../shared/" + rel
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
