package osmimport

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkImport runs one fuzz input: it must import into valid graphs or
// fail with an error naming the source; a panic fails the fuzzer.
func checkImport(t *testing.T, data []byte) {
	city, _, err := Import(context.Background(), bytes.NewReader(data), "fuzz.osm", Options{})
	if err != nil {
		if !strings.HasPrefix(err.Error(), "fuzz.osm") {
			t.Fatalf("error does not name the source: %v", err)
		}
		return
	}
	for p, g := range city.Graphs {
		if err := g.Validate(); err != nil {
			t.Fatalf("%s graph: %v", p, err)
		}
	}
}

func FuzzImportXML(f *testing.F) {
	for _, name := range []string{"rules.osm", "spur.osm", "missing.osm"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<osm><node id="1" lat="91" lon="0"/><node id="2" lat="0" lon="0"/><way id="1"><nd ref="1"/><nd ref="2"/><nd ref="1"/><tag k="highway" v="primary"/><tag k="maxspeed" v="NaN mph"/></way></osm>`))
	f.Add([]byte(`<osm><node id="1" lat="1" lon="1"/><node id="1" lat="1" lon="1"/><way id="1"><nd ref="1"/><nd ref="1"/><tag k="highway" v="service"/><tag k="oneway" v="-1"/></way></osm>`))
	f.Fuzz(checkImport)
}

func FuzzImportPBF(f *testing.F) {
	for _, name := range []string{"rules.osm", "spur.osm", "missing.osm"} {
		o := readFixtureOSM(f, name)
		f.Add(encodePBF(o, 1000, false))
		f.Add(encodePBF(o, 3, true))
	}
	// Pieces of a real file, when it is there: a valid header block
	// followed by cut or whole data blocks.
	if data, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "andorra.osm.pbf")); err == nil {
		for _, n := range []int{200, 4096, 70_000} {
			f.Add(data[:min(n, len(data))])
		}
	}
	f.Fuzz(checkImport)
}
