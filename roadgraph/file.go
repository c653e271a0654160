package roadgraph

// The graph file ("city.graph") holds a City: its Source and one section per
// profile with every array of that profile's Graph. It is built to load with
// one read and no per-element parsing: every array starts at a multiple of 8
// bytes from the start of the file, so on a little-endian machine the arrays
// of the loaded Graph are views into the file's buffer.
//
// All integers are little-endian. "pad8" is 0..7 zero bytes that bring the
// offset to a multiple of 8. Format version 1:
//
//	offset        field              type
//	0             magic              [8]byte "MUSTERG\x00"
//	8             format version     uint32 (1)
//	12            section count P    uint32
//	16            source length S    uint32
//	20            reserved           uint32 (0)
//	24            source             [S]byte UTF-8, pad8
//	then P sections, in increasing profile order, each:
//	+0            profile            uint32 (Car=0, Foot=1)
//	+4            node count n       uint32
//	+8            arc count m        uint32
//	+12           shape points k     uint32
//	+16           name count q       uint32 (>= 1: name 0 is "")
//	+20           name bytes B       uint32
//	+24           order length o     uint32 (0 or n)
//	+28           emergency arcs e   uint32 (0 in version 1)
//	+32           Lat                [n]int32, pad8
//	              Lon                [n]int32, pad8
//	              OSMNodeID          [n]int64
//	              FirstOut           [n+1]uint32, pad8
//	              Head               [m]uint32, pad8
//	              TimeMS             [m]uint32, pad8
//	              LengthM            [m]float32 (IEEE 754), pad8
//	              NameID             [m]uint32, pad8
//	              GeomFirst          [m+1]uint32, pad8
//	              GeomLat            [k]int32, pad8
//	              GeomLon            [k]int32, pad8
//	              NameEnd            [q]uint32, pad8 (name i is bytes NameEnd[i-1]..NameEnd[i])
//	              NameBytes          [B]byte, pad8
//	              Order              [o]uint32, pad8
//	              EmergencyArcs      [e]uint32, pad8 (version 2: arc ids, increasing)
//	end-4         checksum           uint32: CRC-32C (Castagnoli) of every byte before it
//
// A reader first checks the magic and the version, then walks the sections,
// checking every count against the bytes that actually remain before it
// allocates or slices anything, then the checksum, then Validate() on every
// graph. A change to the layout must bump the version.
//
// Version 2 adds the emergency arcs (Graph.EmergencyArcs: roads closed to
// pedestrians that an emergency import opened). A city without any is
// written as version 1, byte for byte what earlier versions of muster
// wrote and read; one with them as version 2, which those refuse as newer
// than they support rather than route on it without knowing.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/muster-evac/muster"
)

// FormatVersion is the newest graph file version this package writes
// (only for a city with emergency arcs; version 1 otherwise); it reads
// versions 1 and 2.
const FormatVersion = 2

var fileMagic = [8]byte{'M', 'U', 'S', 'T', 'E', 'R', 'G', 0}

const (
	fileHeaderSize    = 24
	sectionHeaderSize = 32
	checksumSize      = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// hostLittleEndian is true when the machine stores integers the way the file
// does, so that arrays can be viewed in place instead of decoded one by one.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// zeroCopy selects the in-place decoder; tests and benchmarks turn it off to
// exercise and measure the portable one.
var zeroCopy = hostLittleEndian

func pad8(n int) int { return (8 - n%8) % 8 }

// WriteCity writes c in the graph file format. Every graph must pass
// Validate and be stored under its own profile.
func WriteCity(w io.Writer, c *City) error {
	if c == nil {
		return errors.New("write city graph: nil city")
	}
	profiles := make([]Profile, 0, len(c.Graphs))
	for p, g := range c.Graphs {
		if g == nil {
			return fmt.Errorf("write city graph: the %s graph is nil", p)
		}
		if g.Profile != p {
			return fmt.Errorf("write city graph: the %s graph is stored under profile %s", g.Profile, p)
		}
		if err := g.Validate(); err != nil {
			return fmt.Errorf("write city graph: %w", err)
		}
		profiles = append(profiles, p)
	}
	slices.Sort(profiles)
	if uint64(len(c.Source)) > math.MaxUint32 {
		return fmt.Errorf("write city graph: source name is %d bytes long", len(c.Source))
	}

	fw := &fileWriter{w: bufio.NewWriterSize(w, 1<<16), crc: crc32.New(castagnoli)}
	fw.bytes(fileMagic[:])
	version := uint32(1)
	for _, g := range c.Graphs {
		if len(g.EmergencyArcs) > 0 {
			version = 2
		}
	}
	fw.u32s(version, uint32(len(profiles)), uint32(len(c.Source)), 0)
	fw.bytes([]byte(c.Source))
	fw.pad()
	for _, p := range profiles {
		g := c.Graphs[p]
		nameBytes := 0
		nameEnd := make([]uint32, len(g.Names))
		for i, s := range g.Names {
			nameBytes += len(s)
			if uint64(nameBytes) > math.MaxUint32 {
				return fmt.Errorf("write city graph: %s graph: names take more than 4 GiB", p)
			}
			nameEnd[i] = uint32(nameBytes)
		}
		fw.u32s(uint32(p), uint32(g.NumNodes()), uint32(g.NumArcs()), uint32(len(g.GeomLat)),
			uint32(len(g.Names)), uint32(nameBytes), uint32(len(g.Order)), uint32(len(g.EmergencyArcs)))
		writeArray(fw, g.Lat)
		writeArray(fw, g.Lon)
		writeArray(fw, g.OSMNodeID)
		writeArray(fw, g.FirstOut)
		writeArray(fw, g.Head)
		writeArray(fw, g.TimeMS)
		writeArray(fw, g.LengthM)
		writeArray(fw, g.NameID)
		writeArray(fw, g.GeomFirst)
		writeArray(fw, g.GeomLat)
		writeArray(fw, g.GeomLon)
		writeArray(fw, nameEnd)
		for _, s := range g.Names {
			fw.bytes([]byte(s))
		}
		fw.pad()
		writeArray(fw, g.Order)
		writeArray(fw, g.EmergencyArcs)
	}
	if fw.err != nil {
		return fmt.Errorf("write city graph: %w", fw.err)
	}
	var sum [checksumSize]byte
	binary.LittleEndian.PutUint32(sum[:], fw.crc.Sum32())
	if _, err := fw.w.Write(sum[:]); err != nil {
		return fmt.Errorf("write city graph: %w", err)
	}
	if err := fw.w.Flush(); err != nil {
		return fmt.Errorf("write city graph: %w", err)
	}
	return nil
}

// fileWriter writes through a CRC and remembers the first error and the
// offset, so that the layout code reads as a list of fields.
type fileWriter struct {
	w   *bufio.Writer
	crc hash.Hash32
	n   int
	err error
}

func (fw *fileWriter) bytes(b []byte) {
	if fw.err != nil || len(b) == 0 {
		return
	}
	fw.crc.Write(b)
	_, fw.err = fw.w.Write(b)
	fw.n += len(b)
}

func (fw *fileWriter) u32s(vs ...uint32) {
	var buf [4]byte
	for _, v := range vs {
		binary.LittleEndian.PutUint32(buf[:], v)
		fw.bytes(buf[:])
	}
}

func (fw *fileWriter) pad() {
	var zeros [8]byte
	fw.bytes(zeros[:pad8(fw.n)])
}

type fixedWord interface {
	~int32 | ~uint32 | ~float32 | ~int64
}

// writeArray writes s little-endian, then pads to 8 bytes.
func writeArray[T fixedWord](fw *fileWriter, s []T) {
	size := int(unsafe.Sizeof(*new(T)))
	if hostLittleEndian {
		if len(s) > 0 {
			fw.bytes(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*size))
		}
	} else {
		buf := make([]byte, 0, 1<<15)
		for i := range s {
			switch size {
			case 4:
				buf = binary.LittleEndian.AppendUint32(buf, *(*uint32)(unsafe.Pointer(&s[i])))
			case 8:
				buf = binary.LittleEndian.AppendUint64(buf, *(*uint64)(unsafe.Pointer(&s[i])))
			}
			if len(buf) >= cap(buf)-8 {
				fw.bytes(buf)
				buf = buf[:0]
			}
		}
		fw.bytes(buf)
	}
	fw.pad()
}

// corrupt returns the error for a file that is not a valid graph file.
func corrupt(format string, args ...any) error {
	return muster.Errorf(muster.EINVALID, format, args...)
}

// ReadCity reads a graph file written by WriteCity. It checks the structure
// against the file's size before allocating, then the checksum, then
// validates every graph.
func ReadCity(r io.Reader) (*City, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read city graph: %w", err)
	}
	if zeroCopy && cap(data) > len(data)+len(data)/8 {
		// The loaded graph keeps its buffer alive: do not let ReadAll's
		// growth (up to twice the file) go with it.
		data = slices.Clip(slices.Clone(data))
	}
	return decodeCity(data)
}

// SaveCity writes c to path atomically: to a temporary file in the same
// directory, synced to disk, then renamed over path, so that a reader never
// sees a half-written graph and a crash leaves the old file intact.
func SaveCity(path string, c *City) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("save city graph %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := WriteCity(tmp, c); err != nil {
		return fmt.Errorf("save city graph %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("save city graph %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save city graph %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save city graph %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save city graph %s: %w", path, err)
	}
	// Sync the directory so the rename itself survives a crash; some file
	// systems refuse to sync a directory, which loses nothing already written.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// LoadCity reads the graph file at path with one read. Its errors name the file.
func LoadCity(path string) (*City, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load city graph: %w", err)
	}
	c, err := decodeCity(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// fileReader walks a graph file's bytes; every take checks the bytes remain.
type fileReader struct {
	data []byte // the whole file but its checksum
	off  int
}

func (fr *fileReader) remaining() int { return len(fr.data) - fr.off }

func (fr *fileReader) u32() uint32 {
	v := binary.LittleEndian.Uint32(fr.data[fr.off:])
	fr.off += 4
	return v
}

// need checks that count items of size bytes each (plus alignment padding)
// remain, and names them in the error if not.
func (fr *fileReader) need(section string, count uint64, what string, size uint64) error {
	want := count*size + uint64(pad8(int(count*size%8)))
	if want > uint64(fr.remaining()) {
		return corrupt("%struncated: header says %d %s but only %d bytes remain", section, count, what, fr.remaining())
	}
	return nil
}

func decodeCity(data []byte) (*City, error) {
	if len(data) < len(fileMagic) || !bytes.Equal(data[:len(fileMagic)], fileMagic[:]) {
		return nil, corrupt("not a muster graph file (bad magic)")
	}
	if len(data) < 12 {
		return nil, corrupt("truncated: %d bytes, too short for the format version", len(data))
	}
	version := binary.LittleEndian.Uint32(data[8:])
	if v := version; v != 1 && v != FormatVersion {
		if v > FormatVersion {
			return nil, corrupt("format version %d is newer than this muster supports (%d)", v, FormatVersion)
		}
		return nil, corrupt("format version %d is no longer supported: this muster reads versions 1 to %d; re-import the city", v, FormatVersion)
	}
	if len(data) < fileHeaderSize+checksumSize {
		return nil, corrupt("truncated: %d bytes, shorter than the %d-byte header and checksum", len(data), fileHeaderSize+checksumSize)
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(data)))%8 != 0 && zeroCopy {
		// Views need 8-byte alignment; Go's allocator gives it in practice,
		// but a caller's buffer might not.
		aligned := make([]uint64, (len(data)+7)/8)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(aligned))), len(data))
		copy(buf, data)
		data = buf
	}

	fr := &fileReader{data: data[:len(data)-checksumSize], off: 8 + 4}
	sections := fr.u32()
	sourceLen := fr.u32()
	if reserved := fr.u32(); reserved != 0 {
		return nil, corrupt("header: reserved field is %d, not 0", reserved)
	}
	if err := fr.need("", uint64(sourceLen), "bytes of source name", 1); err != nil {
		return nil, err
	}
	city := &City{Source: string(fr.data[fr.off : fr.off+int(sourceLen)]), Graphs: map[Profile]*Graph{}}
	fr.off += int(sourceLen) + pad8(int(sourceLen))
	if uint64(sections) > uint64(len(Profiles)) {
		return nil, corrupt("header says %d profile sections but only %d profiles exist", sections, len(Profiles))
	}
	for i := 0; i < int(sections); i++ {
		g, err := fr.section(i, version)
		if err != nil {
			return nil, err
		}
		if city.Graphs[g.Profile] != nil {
			return nil, corrupt("section %d: a second %s graph", i, g.Profile)
		}
		city.Graphs[g.Profile] = g
	}
	if fr.remaining() != 0 {
		return nil, corrupt("%d unexpected bytes after the last section", fr.remaining())
	}
	want := binary.LittleEndian.Uint32(data[len(data)-checksumSize:])
	if got := crc32.Checksum(fr.data, castagnoli); got != want {
		return nil, corrupt("checksum mismatch: the file is corrupt (CRC-32C %08x, expected %08x)", got, want)
	}
	for _, p := range Profiles {
		if g := city.Graphs[p]; g != nil {
			if err := g.Validate(); err != nil {
				return nil, corrupt("invalid graph: %v", err)
			}
		}
	}
	return city, nil
}

func (fr *fileReader) section(i int, version uint32) (*Graph, error) {
	if fr.remaining() < sectionHeaderSize {
		return nil, corrupt("truncated: section %d header needs %d bytes but only %d remain", i, sectionHeaderSize, fr.remaining())
	}
	profile := fr.u32()
	n, m, k := fr.u32(), fr.u32(), fr.u32()
	q, nameBytes, o := fr.u32(), fr.u32(), fr.u32()
	e := fr.u32()
	if int(profile) >= len(Profiles) {
		return nil, corrupt("section %d: unknown profile %d (this muster knows %v)", i, profile, Profiles)
	}
	p := Profile(profile)
	where := fmt.Sprintf("%s section ", p)
	if e != 0 && version < 2 {
		return nil, corrupt("%sheader: reserved field is %d, not 0", where, e)
	}
	if n == math.MaxUint32 || m == math.MaxUint32 {
		return nil, corrupt("%sheader: %d nodes and %d arcs is more than a graph can hold", where, n, m)
	}
	// Check the whole section's size before decoding any of it, array by
	// array, so the error names the count that does not fit.
	start := fr.off
	checks := []struct {
		count uint64
		what  string
		size  uint64
	}{
		{uint64(n), "nodes", 4 + 4 + 8 + 4},
		{uint64(m), "arcs", 4 * 5},
		{uint64(k), "shape points", 4 + 4},
		{uint64(q), "names", 4},
		{uint64(nameBytes), "bytes of names", 1},
		{uint64(o), "node order entries", 4},
		{uint64(e), "emergency arcs", 4},
	}
	for _, c := range checks {
		if err := fr.need(where, c.count, c.what, c.size); err != nil {
			return nil, err
		}
		fr.off += int(c.count * c.size)
	}
	fr.off = start
	if o != 0 && o != n {
		return nil, corrupt("%sheader: node order has %d entries for %d nodes", where, o, n)
	}
	if q == 0 {
		return nil, corrupt("%sheader: no name table (it must hold at least the empty name)", where)
	}

	g := &Graph{Profile: p}
	var err error
	take := func(count uint32, itemSize int, what string) []byte {
		if err != nil {
			return nil
		}
		if uint64(count)*uint64(itemSize) > uint64(fr.remaining()) {
			err = corrupt("%struncated: header says %d %s but only %d bytes remain", where, count, what, fr.remaining())
			return nil
		}
		size := int(count) * itemSize
		if size+pad8(size) > fr.remaining() {
			err = corrupt("%struncated: header says %d %s but only %d bytes remain", where, count, what, fr.remaining())
			return nil
		}
		b := fr.data[fr.off : fr.off+size : fr.off+size]
		fr.off += size + pad8(size)
		return b
	}
	g.Lat = decodeArray[int32](take(n, 4, "nodes"))
	g.Lon = decodeArray[int32](take(n, 4, "nodes"))
	g.OSMNodeID = decodeArray[int64](take(n, 8, "nodes"))
	g.FirstOut = decodeArray[uint32](take(n+1, 4, "nodes"))
	g.Head = decodeArray[uint32](take(m, 4, "arcs"))
	g.TimeMS = decodeArray[uint32](take(m, 4, "arcs"))
	g.LengthM = decodeArray[float32](take(m, 4, "arcs"))
	g.NameID = decodeArray[uint32](take(m, 4, "arcs"))
	g.GeomFirst = decodeArray[uint32](take(m+1, 4, "arcs"))
	g.GeomLat = decodeArray[int32](take(k, 4, "shape points"))
	g.GeomLon = decodeArray[int32](take(k, 4, "shape points"))
	nameEnd := decodeArray[uint32](take(q, 4, "names"))
	if err != nil {
		return nil, err
	}
	if int(nameBytes)+pad8(int(nameBytes)) > fr.remaining() {
		return nil, corrupt("%struncated: header says %d bytes of names but only %d bytes remain", where, nameBytes, fr.remaining())
	}
	// One string for all names; each name is a substring of it.
	allNames := string(fr.data[fr.off : fr.off+int(nameBytes)])
	fr.off += int(nameBytes) + pad8(int(nameBytes))
	g.Names = make([]string, q)
	prev := uint32(0)
	for j, end := range nameEnd {
		if end < prev || end > nameBytes {
			return nil, corrupt("%sname %d ends at byte %d, outside %d..%d", where, j, end, prev, nameBytes)
		}
		g.Names[j] = allNames[prev:end]
		prev = end
	}
	if prev != nameBytes {
		return nil, corrupt("%sname table covers %d of its %d bytes", where, prev, nameBytes)
	}
	if o > 0 {
		g.Order = decodeArray[uint32](take(o, 4, "node order entries"))
		if err != nil {
			return nil, err
		}
	}
	if e > 0 {
		g.EmergencyArcs = decodeArray[uint32](take(e, 4, "emergency arcs"))
		if err != nil {
			return nil, err
		}
	}
	return g, nil
}

// decodeArray turns little-endian bytes into a slice of T: a view of b where
// the machine's layout matches the file's (b is 8-byte aligned: see
// decodeCity), a decoded copy elsewhere. The view's capacity equals its
// length, so an append by the caller copies instead of overwriting the next
// array.
func decodeArray[T fixedWord](b []byte) []T {
	size := int(unsafe.Sizeof(*new(T)))
	count := len(b) / size
	if count == 0 {
		return []T{}
	}
	if zeroCopy {
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), count)
	}
	out := make([]T, count)
	switch size {
	case 4:
		for i := range out {
			*(*uint32)(unsafe.Pointer(&out[i])) = binary.LittleEndian.Uint32(b[4*i:])
		}
	case 8:
		for i := range out {
			*(*uint64)(unsafe.Pointer(&out[i])) = binary.LittleEndian.Uint64(b[8*i:])
		}
	}
	return out
}
