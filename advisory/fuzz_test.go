package advisory

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode: whatever the input, Decode returns an advisory or an error,
// never panics; what it accepts passes Validate, encodes, and reads back
// unchanged. Run with go test -fuzz FuzzDecode ./advisory.
func FuzzDecode(f *testing.F) {
	for _, a := range variety(f) {
		f.Add(encode(f, a))
	}
	files, _ := filepath.Glob("testdata/foreign-*.xml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(minimal))
	for _, s := range []string{
		`<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol2;</alert>`,
		`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">` + strings.Repeat("<info>", 50),
		strings.Replace(minimal, "<circle>34.5,69.2 5</circle>", "<polygon>34.5,69.2 34.6,69.2 34.6,69.3 34.5,69.2</polygon><geocode><valueName>muster-hole</valueName><value>0 34.52,69.22 34.55,69.22 34.55,69.25 34.52,69.22</value></geocode>", 1),
		strings.Replace(minimal, "<info>", "<info><language>ps</language>", 1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Read(bytes.NewReader(data))
		if err != nil {
			if d != nil {
				t.Fatal("an error and a result")
			}
			return
		}
		if err := d.Advisory.Validate(); err != nil {
			t.Fatalf("accepted an invalid advisory: %v", err)
		}
		var b bytes.Buffer
		if err := Encode(&b, d.Advisory); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
		again, err := Decode(&b)
		if err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(again, d.Advisory) {
			t.Fatalf("round trip changed it:\n%+v\n%+v", again, d.Advisory)
		}
	})
}
