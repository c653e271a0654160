package roadgraph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// graphDiff describes the first difference between two graphs, or "".
// Empty and nil slices count as equal: a file cannot tell them apart.
func graphDiff(a, b *Graph) string {
	switch {
	case a.Profile != b.Profile:
		return fmt.Sprintf("profile %s vs %s", a.Profile, b.Profile)
	case !slices.Equal(a.Lat, b.Lat):
		return "Lat"
	case !slices.Equal(a.Lon, b.Lon):
		return "Lon"
	case !slices.Equal(a.OSMNodeID, b.OSMNodeID):
		return "OSMNodeID"
	case !slices.Equal(a.FirstOut, b.FirstOut):
		return "FirstOut"
	case !slices.Equal(a.Head, b.Head):
		return "Head"
	case !slices.Equal(a.TimeMS, b.TimeMS):
		return "TimeMS"
	case !slices.Equal(a.LengthM, b.LengthM):
		return "LengthM"
	case !slices.Equal(a.NameID, b.NameID):
		return "NameID"
	case !slices.Equal(a.GeomFirst, b.GeomFirst):
		return "GeomFirst"
	case !slices.Equal(a.GeomLat, b.GeomLat):
		return "GeomLat"
	case !slices.Equal(a.GeomLon, b.GeomLon):
		return "GeomLon"
	case !slices.Equal(a.Names, b.Names):
		return "Names"
	case !slices.Equal(a.Order, b.Order):
		return "Order"
	case !slices.Equal(a.EmergencyArcs, b.EmergencyArcs):
		return "EmergencyArcs"
	}
	return ""
}

func cityDiff(a, b *City) string {
	if a.Source != b.Source {
		return fmt.Sprintf("source %q vs %q", a.Source, b.Source)
	}
	if len(a.Graphs) != len(b.Graphs) {
		return fmt.Sprintf("%d graphs vs %d", len(a.Graphs), len(b.Graphs))
	}
	for p, ga := range a.Graphs {
		gb := b.Graphs[p]
		if gb == nil {
			return fmt.Sprintf("no %s graph", p)
		}
		if d := graphDiff(ga, gb); d != "" {
			return fmt.Sprintf("%s graph: %s differs", p, d)
		}
	}
	return ""
}

func encodeCity(t testing.TB, c *City) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCity(&buf, c); err != nil {
		t.Fatalf("WriteCity: %v", err)
	}
	return buf.Bytes()
}

// reseal rewrites a file's checksum so a test can reach the checks behind it.
func reseal(data []byte) []byte {
	out := slices.Clone(data)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], castagnoli))
	return out
}

// withPortableDecoder runs f with the element-by-element decoder that
// big-endian machines use.
func withPortableDecoder(t testing.TB, f func()) {
	old := zeroCopy
	zeroCopy = false
	defer func() { zeroCopy = old }()
	f()
}

func testCities(t testing.TB) map[string]*City {
	empty := &Graph{Profile: Foot, FirstOut: []uint32{0}, GeomFirst: []uint32{0}, Names: []string{""}}
	emergency := gridCity(t, 3, 4, 3)
	emergency.Graphs[Foot].EmergencyArcs = []uint32{0, 3, 7}
	return map[string]*City{
		"emergency":  emergency,
		"grid":       gridCity(t, 7, 9, 1),
		"tiny grid":  gridCity(t, 2, 3, 2),
		"no graphs":  {Source: "nothing", Graphs: map[Profile]*Graph{}},
		"empty foot": {Source: "", Graphs: map[Profile]*Graph{Foot: empty}},
		"car only":   {Source: "ünïcödé source / ☃", Graphs: map[Profile]*Graph{Car: gridGraph(t, Car, 3, 3, 5, false, 0.3)}},
	}
}

func TestRoundTrip(t *testing.T) {
	for name, c := range testCities(t) {
		t.Run(name, func(t *testing.T) {
			data := encodeCity(t, c)
			if len(data)%8 != 4 {
				t.Errorf("file is %d bytes: arrays are not padded to 8", len(data))
			}
			got, err := ReadCity(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("ReadCity: %v", err)
			}
			if d := cityDiff(c, got); d != "" {
				t.Fatalf("round trip changed the city: %s", d)
			}
			withPortableDecoder(t, func() {
				got, err := ReadCity(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("ReadCity (portable decoder): %v", err)
				}
				if d := cityDiff(c, got); d != "" {
					t.Fatalf("portable decoder changed the city: %s", d)
				}
			})
			// Writing what was read gives the same bytes: the format has
			// one encoding per city.
			if again := encodeCity(t, got); !bytes.Equal(again, data) {
				t.Errorf("re-encoding gives different bytes (%d vs %d)", len(again), len(data))
			}
		})
	}
}

// A graph read from a file must not share spare capacity with the arrays
// after it: appending to one must not overwrite another.
func TestLoadedArraysDoNotOverlap(t *testing.T) {
	c := gridCity(t, 4, 4, 3)
	got, err := ReadCity(bytes.NewReader(encodeCity(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	g := got.Graphs[Car]
	wantLon := slices.Clone(g.Lon)
	_ = append(g.Lat, 1, 2, 3, 4)
	if !slices.Equal(g.Lon, wantLon) {
		t.Fatal("appending to Lat changed Lon")
	}
}

func TestSaveLoadCity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "porto.graph")
	first := gridCity(t, 3, 4, 7)
	if err := SaveCity(path, first); err != nil {
		t.Fatal(err)
	}
	second := gridCity(t, 5, 5, 8)
	if err := SaveCity(path, second); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCity(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cityDiff(second, got); d != "" {
		t.Fatalf("saved then loaded: %s", d)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after saving, want only the graph (no temp files)", len(entries))
	}

	// A failed save leaves the old file and no temp file.
	bad := gridCity(t, 2, 2, 9)
	bad.Graphs[Car].TimeMS[0] = 0
	if err := SaveCity(path, bad); err == nil {
		t.Fatal("SaveCity wrote an invalid graph")
	}
	if got, err := LoadCity(path); err != nil || cityDiff(second, got) != "" {
		t.Fatalf("a failed save damaged the old file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed save left %d entries", len(entries))
	}

	if err := SaveCity(filepath.Join(dir, "no-such-dir", "x.graph"), second); err == nil {
		t.Error("SaveCity into a missing directory succeeded")
	}

	_, err = LoadCity(filepath.Join(dir, "missing.graph"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.graph") {
		t.Errorf("loading a missing file: %v", err)
	}
	corruptPath := filepath.Join(dir, "city.graph")
	if err := os.WriteFile(corruptPath, []byte("PBF not a graph"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadCity(corruptPath)
	if err == nil || err.Error() != corruptPath+": not a muster graph file (bad magic)" {
		t.Errorf("loading a non-graph file: %v", err)
	}
	if muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("bad file error code %q, want %q", muster.ErrorCode(err), muster.EINVALID)
	}
}

func TestWriteCityRejects(t *testing.T) {
	g := gridGraph(t, Car, 2, 2, 1, false, 0)
	cases := map[string]*City{
		"nil graph":     {Graphs: map[Profile]*Graph{Car: nil}},
		"wrong profile": {Graphs: map[Profile]*Graph{Foot: g}},
		"invalid graph": {Graphs: map[Profile]*Graph{Car: {Profile: Car, FirstOut: []uint32{0}, GeomFirst: []uint32{0}}}},
	}
	for name, c := range cases {
		if err := WriteCity(&bytes.Buffer{}, c); err == nil {
			t.Errorf("%s: WriteCity accepted it", name)
		}
	}
	if err := WriteCity(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteCity accepted a nil city")
	}
}

func TestReadCityErrors(t *testing.T) {
	good := encodeCity(t, gridCity(t, 3, 3, 4))
	setU32 := func(off int, v uint32) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return reseal(b)
	}
	sourceLen := int(binary.LittleEndian.Uint32(good[16:]))
	firstSection := 24 + sourceLen + pad8(sourceLen)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a muster graph file (bad magic)"},
		{"pbf", []byte("\x00\x00\x00\x0d\x0a\x09OSMHeader"), "not a muster graph file (bad magic)"},
		{"newer version", setU32(8, 7), "format version 7 is newer than this muster supports (2)"},
		{"old version", setU32(8, 0), "format version 0 is no longer supported: this muster reads versions 1 to 2; re-import the city"},
		{"flipped checksum", append(slices.Clone(good[:len(good)-1]), good[len(good)-1]^1), "checksum mismatch: the file is corrupt"},
		{"4 billion nodes", setU32(firstSection+4, 4_000_000_000), fmt.Sprintf("car section truncated: header says 4000000000 nodes but only %d bytes remain", len(good)-4-firstSection-sectionHeaderSize)},
		{"4 billion arcs", setU32(firstSection+8, 4_000_000_000), "car section truncated: header says 4000000000 arcs but only"},
		{"huge source", setU32(16, 1<<31), "truncated: header says 2147483648 bytes of source name but only"},
		{"many sections", setU32(12, 1000), "header says 1000 profile sections but only 2 profiles exist"},
		{"unknown profile", setU32(firstSection, 9), "section 0: unknown profile 9"},
		{"order length", setU32(firstSection+24, 5), "car section header: node order has 5 entries for 9 nodes"},
		{"truncated", good[:len(good)/2], "truncated: header says"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCity(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Errorf("error code %q", muster.ErrorCode(err))
			}
		})
	}
}

// A header that claims a huge graph is refused before anything of its size
// is allocated.
func TestHugeCountsAllocateNothing(t *testing.T) {
	good := encodeCity(t, gridCity(t, 3, 3, 4))
	sourceLen := int(binary.LittleEndian.Uint32(good[16:]))
	section := 24 + sourceLen + pad8(sourceLen)
	for _, field := range []int{4, 8, 12, 16, 20} { // nodes, arcs, shape points, names, name bytes
		bad := slices.Clone(good)
		binary.LittleEndian.PutUint32(bad[section+field:], 0xffff_fff0)
		bad = reseal(bad)
		check := func(decoder string) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decodeCity(bad)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "truncated: header says 4294967280 ") {
				t.Errorf("%s decoder, field at +%d: %v", decoder, field, err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("%s decoder, field at +%d: refusing the file allocated %d bytes", decoder, field, grew)
			}
		}
		check("zero-copy")
		withPortableDecoder(t, func() { check("portable") })
	}
}

// A graph that is structurally well-formed and correctly checksummed but
// breaks the graph's invariants is still rejected, by Validate.
func TestReadCityValidates(t *testing.T) {
	c := gridCity(t, 3, 3, 4)
	data := encodeCity(t, c)
	// Find the car graph's Head array and point the first arc at node 99.
	sourceLen := int(binary.LittleEndian.Uint32(data[16:]))
	off := 24 + sourceLen + pad8(sourceLen) + sectionHeaderSize
	n := c.Graphs[Car].NumNodes()
	off += 4*n + pad8(4*n)         // Lat
	off += 4*n + pad8(4*n)         // Lon
	off += 8 * n                   // OSMNodeID
	off += 4*(n+1) + pad8(4*(n+1)) // FirstOut
	bad := slices.Clone(data)
	binary.LittleEndian.PutUint32(bad[off:], 99)
	_, err := ReadCity(bytes.NewReader(reseal(bad)))
	if err == nil || !strings.Contains(err.Error(), "arc 0 leads to node 99 of 9") {
		t.Fatalf("invalid head: %v", err)
	}
}

// Every single-byte change to a file is caught, by the structure checks or
// the checksum, with an error and never a panic.
func TestEveryByteFlipIsRejected(t *testing.T) {
	data := encodeCity(t, gridCity(t, 2, 3, 2))
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := slices.Clone(data)
			b[i] ^= mask
			c, err := ReadCity(bytes.NewReader(b))
			if err == nil {
				t.Fatalf("flipping byte %d with %#x went unnoticed (source %q)", i, mask, c.Source)
			}
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("flip at %d: error %v has code %q", i, err, muster.ErrorCode(err))
			}
		}
	}
}

func TestEveryTruncationIsRejected(t *testing.T) {
	data := encodeCity(t, gridCity(t, 2, 3, 2))
	for n := range len(data) {
		_, err := ReadCity(bytes.NewReader(data[:n]))
		if err == nil {
			t.Fatalf("file cut to %d of %d bytes was accepted", n, len(data))
		}
		if muster.ErrorCode(err) != muster.EINVALID {
			t.Fatalf("cut to %d: error %v has code %q", n, err, muster.ErrorCode(err))
		}
	}
	// Bytes after the checksum are corruption too.
	if _, err := ReadCity(bytes.NewReader(append(slices.Clone(data), 0, 0, 0, 0, 0, 0, 0, 0))); err == nil {
		t.Fatal("trailing bytes were accepted")
	}
}

// A buffer that is not 8-byte aligned still decodes (it is copied first).
func TestReadMisaligned(t *testing.T) {
	c := gridCity(t, 3, 5, 6)
	data := encodeCity(t, c)
	buf := make([]byte, len(data)+1)
	copy(buf[1:], data)
	got, err := decodeCity(buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	if d := cityDiff(c, got); d != "" {
		t.Fatal(d)
	}
}

func FuzzReadCity(f *testing.F) {
	for _, c := range testCities(f) {
		f.Add(encodeCity(f, c))
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.graph"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(data []byte) {
			c, err := ReadCity(bytes.NewReader(data))
			if err != nil {
				if muster.ErrorCode(err) != muster.EINVALID {
					t.Fatalf("error %v has code %q", err, muster.ErrorCode(err))
				}
				return
			}
			// Whatever is accepted writes back and reads to the same city.
			again, err := ReadCity(bytes.NewReader(encodeCity(t, c)))
			if err != nil {
				t.Fatalf("re-reading an accepted city: %v", err)
			}
			if d := cityDiff(c, again); d != "" {
				t.Fatalf("accepted city does not round-trip: %s", d)
			}
		}
		check(data)
		// With the checksum made right, the fuzzer reaches the structure
		// and graph checks behind it.
		if len(data) >= 4 {
			check(reseal(data))
		}
	})
}

// benchGridCity is a Porto-sized generated city: 245 x 245 = 60,025 nodes,
// a car graph of about 150k arcs and a foot graph of about 230k.
func benchGridCity(b *testing.B) *City {
	return &City{Source: "bench grid", Graphs: map[Profile]*Graph{
		Car:  gridGraph(b, Car, 245, 245, 1, true, 0.3),
		Foot: gridGraph(b, Foot, 245, 245, 2, false, 0),
	}}
}

func BenchmarkLoadCity(b *testing.B) {
	// Porto's is in package realdata, which may import the OSM importer.
	for _, city := range []struct {
		name string
		make func(b *testing.B) *City
	}{{"grid", benchGridCity}} {
		b.Run(city.name, func(b *testing.B) {
			c := city.make(b)
			path := filepath.Join(b.TempDir(), city.name+".graph")
			if err := SaveCity(path, c); err != nil {
				b.Fatal(err)
			}
			st, _ := os.Stat(path)
			b.Logf("%s: car %d nodes / %d arcs, foot %d nodes / %d arcs, file %d bytes", city.name,
				c.Graphs[Car].NumNodes(), c.Graphs[Car].NumArcs(), c.Graphs[Foot].NumNodes(), c.Graphs[Foot].NumArcs(), st.Size())
			run := func(b *testing.B) {
				b.SetBytes(st.Size())
				for b.Loop() {
					if _, err := LoadCity(path); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run("zero-copy", run)
			b.Run("portable", func(b *testing.B) { withPortableDecoder(b, func() { run(b) }) })
		})
	}
}

func BenchmarkWriteCity(b *testing.B) {
	c := benchGridCity(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteCity(&buf, c); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
