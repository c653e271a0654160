package osmimport

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/osm"
)

func readFixtureOSM(t testing.TB, name string) *osm.OSM {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	o := &osm.OSM{}
	if err := xml.Unmarshal(data, o); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return o
}

func sameCity(t *testing.T, what string, got, want *roadgraph.City) {
	t.Helper()
	for _, p := range roadgraph.Profiles {
		if !reflect.DeepEqual(got.Graphs[p], want.Graphs[p]) {
			t.Errorf("%s: %s graph differs from the one read from XML", what, p)
		}
	}
}

// The same data read as XML, PBF (compressed or not, in one block or
// many), gzip, through FromOSM, or under a misleading name, gives the
// same graphs.
func TestFormatsAgree(t *testing.T) {
	ctx := context.Background()
	want, wantStats := importFixture(t, "rules.osm")
	o := readFixtureOSM(t, "rules.osm")

	for _, tc := range []struct {
		name     string
		perBlock int
		compress bool
	}{{"one zlib block each", 1000, true}, {"raw blocks of 7", 7, false}} {
		pbf := encodePBF(o, tc.perBlock, tc.compress)
		got, st, err := Import(ctx, bytes.NewReader(pbf), "rules.osm.pbf", Options{})
		if err != nil {
			t.Fatalf("PBF, %s: %v", tc.name, err)
		}
		sameCity(t, "PBF, "+tc.name, got, want)
		if st.OSMNodes != wantStats.OSMNodes || st.OSMWays != wantStats.OSMWays {
			t.Errorf("PBF, %s: read %d nodes and %d ways, XML %d and %d", tc.name, st.OSMNodes, st.OSMWays, wantStats.OSMNodes, wantStats.OSMWays)
		}
	}

	got, _, err := FromOSM(ctx, o, "rules", Options{})
	if err != nil {
		t.Fatalf("FromOSM: %v", err)
	}
	sameCity(t, "FromOSM", got, want)

	xmlData, _ := os.ReadFile(filepath.Join("testdata", "rules.osm"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(xmlData)
	zw.Close()
	got, _, err = Import(ctx, bytes.NewReader(gz.Bytes()), "rules.osm.pbf", Options{}) // name lies: content decides
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	sameCity(t, "gzip named .pbf", got, want)

	pbfGz := encodePBF(o, 1000, true)
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write(pbfGz)
	zw.Close()
	got, _, err = Import(ctx, bytes.NewReader(gz.Bytes()), "rules.osm.pbf.gz", Options{})
	if err != nil {
		t.Fatalf("gzipped PBF: %v", err)
	}
	sameCity(t, "gzipped PBF", got, want)
}

func TestBzip2(t *testing.T) {
	want, _ := importFixture(t, "spur.osm")
	got, _ := importFixture(t, "spur.osm.bz2")
	sameCity(t, "bzip2", got, want)
}

func TestOnlyRequestedProfiles(t *testing.T) {
	city, st, err := ImportFile(context.Background(), filepath.Join("testdata", "spur.osm"), Options{Profiles: []roadgraph.Profile{roadgraph.Foot}})
	if err != nil {
		t.Fatal(err)
	}
	if len(city.Graphs) != 1 || city.Graphs[roadgraph.Foot] == nil || len(st.Profiles) != 1 || st.Profiles[0].Profile != roadgraph.Foot {
		t.Errorf("asked for foot only, got graphs %v and stats %+v", city.Graphs, st.Profiles)
	}
}

// Bad input of every kind fails with an InputError that names the source
// and says what is wrong, coded EINVALID; none panics.
func TestBadInput(t *testing.T) {
	o := readFixtureOSM(t, "rules.osm")
	pbf := encodePBF(o, 10, true)
	xmlData, _ := os.ReadFile(filepath.Join("testdata", "rules.osm"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(xmlData)
	zw.Close()
	corrupt := bytes.Clone(pbf)
	for i := len(corrupt) / 2; i < len(corrupt)/2+40; i++ {
		corrupt[i] ^= 0x5a
	}
	tests := []struct {
		name, input string
		want        []string // substrings of the message
	}{
		{"empty.osm", "", []string{"empty.osm", "empty input"}},
		{"photo.osm.pbf", "\x89PNG\r\n\x1a\n0000000000", []string{"photo.osm.pbf", "not an OpenStreetMap file", "PNG"}},
		{"cut.osm.pbf", string(pbf[:len(pbf)-10]), []string{"cut.osm.pbf: truncated block at byte ", "unexpected EOF"}},
		{"half.osm.pbf", string(pbf[:len(pbf)/2]), []string{"half.osm.pbf: truncated block at byte "}},
		{"corrupt.osm.pbf", string(corrupt), []string{"corrupt.osm.pbf: ", "block at byte "}},
		{"broken.osm", "<osm>\n<node id='1' lat='41' lon='-8'>\n</way>\n</osm>", []string{"broken.osm: line 3", "XML syntax error"}},
		{"cut.osm", string(xmlData[:len(xmlData)/2]), []string{"cut.osm: line ", "unexpected EOF"}},
		{"badnumber.osm", "<osm>\n<node id='x' lat='41' lon='-8'/>\n</osm>", []string{"badnumber.osm: line 2", "invalid OSM XML"}},
		{"cut.osm.gz", string(gz.Bytes()[:gz.Len()/2]), []string{"cut.osm.gz: line ", "gzip data is truncated or corrupt"}},
		{"nothing.xml", "<html><body>hello</body></html>", []string{"nothing.xml", "no OpenStreetMap nodes or ways"}},
		{"rivers.osm", "<osm><node id='1' lat='41' lon='-8'/><node id='2' lat='41.1' lon='-8'/><way id='1'><nd ref='1'/><nd ref='2'/><tag k='waterway' v='river'/></way></osm>",
			[]string{"rivers.osm", "no routable way for car"}},
	}
	for _, tc := range tests {
		_, _, err := Import(context.Background(), strings.NewReader(tc.input), tc.name, Options{})
		if err == nil {
			t.Errorf("%s: imported without error", tc.name)
			continue
		}
		t.Log(err)
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
		if code := muster.ErrorCode(err); code != muster.EINVALID {
			t.Errorf("%s: error code %q, want %q (%v)", tc.name, code, muster.EINVALID, err)
		}
	}
	_, _, err := Import(context.Background(), bytes.NewReader(pbf[:len(pbf)-10]), "cut.osm.pbf", Options{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated PBF error %v does not wrap io.ErrUnexpectedEOF", err)
	}
	if _, _, err := ImportFile(context.Background(), filepath.Join("testdata", "absent.osm.pbf"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v, want a not-exist error", err)
	}
}

func TestTruncatedRealPBF(t *testing.T) {
	data, err := os.ReadFile(sharedData(t, "andorra.osm.pbf"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Import(context.Background(), bytes.NewReader(data[:len(data)*2/3]), "andorra.osm.pbf", Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "andorra.osm.pbf: truncated block at byte ") {
		t.Errorf("two thirds of andorra.osm.pbf: error %v, want a truncated block", err)
	}
	t.Logf("error for a truncated real file: %v", err)
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := ImportFile(ctx, filepath.Join("testdata", "rules.osm"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("import with a cancelled context: %v", err)
	}
	// Cancel while reading: from the first progress report on.
	var big bytes.Buffer
	big.WriteString("<osm>\n")
	for i := 1; i <= 50_000; i++ {
		big.WriteString("<node id='" + strconv.Itoa(i) + "' lat='41.1' lon='-8.6'/>\n")
	}
	big.WriteString("</osm>\n")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"big.osm", big.Bytes()},
		{"big.osm.pbf", encodePBF(&osm.OSM{Nodes: bigNodes(50_000)}, 1000, true)},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		reports := 0
		_, _, err := Import(ctx, bytes.NewReader(tc.data), tc.name, Options{Progress: func(done, total int64) {
			reports++
			cancel()
		}})
		if !errors.Is(err, context.Canceled) || reports != 1 {
			t.Errorf("%s cancelled at the first progress report: %v after %d reports", tc.name, err, reports)
		}
		cancel()
	}
}

func bigNodes(n int) osm.Nodes {
	var out osm.Nodes
	for i := 1; i <= n; i++ {
		out = append(out, &osm.Node{ID: osm.NodeID(i), Lat: 41.1, Lon: -8.6})
	}
	return out
}

func TestProgress(t *testing.T) {
	path := filepath.Join("testdata", "rules.osm")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var last, calls int64
	_, _, err = ImportFile(context.Background(), path, Options{Progress: func(done, total int64) {
		if done < last || total != fi.Size() {
			t.Errorf("progress %d of %d after %d (file of %d bytes)", done, total, last, fi.Size())
		}
		last = done
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != fi.Size() {
		t.Errorf("%d progress reports, the last at %d of %d bytes", calls, last, fi.Size())
	}
}
