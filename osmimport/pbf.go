package osmimport

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/paulmach/osm"
)

// PBF files are decoded here rather than with paulmach/osm's osmpbf
// scanner: that scanner decodes on its own goroutines and trusts the file
// (string-table indexes, array lengths, and it panics on a PrimitiveGroup
// with plain, non-dense nodes), so a corrupt or merely unusual file would
// crash the whole process with a panic nobody can recover. This decoder
// checks every index and length, knows each block's byte offset for error
// messages, and keeps only what the import needs (node positions and
// barriers, way node lists and tags; relations and metadata are skipped).

const (
	maxBlobHeaderSize = 64 << 10 // the PBF specification's limits
	maxBlobSize       = 32 << 20
)

// pbfBlock is one file block read from the input, not yet decoded.
type pbfBlock struct {
	offset int64
	typ    string
	blob   []byte
}

// pbfWay is a way as decoded from a block, waiting to be collected.
type pbfWay struct {
	id   int64
	refs []int64
	tags osm.Tags
}

// pbfDecoded is what one data block holds.
type pbfDecoded struct {
	offset int64
	nodes  []pbfNode
	ways   []pbfWay
	err    error
}

type pbfNode struct {
	id        int64
	lat, lon  float64
	blocksCar bool
}

// readPBF reads a PBF stream: one goroutine reads the blocks in order,
// up to GOMAXPROCS goroutines inflate and decode them, and this goroutine
// collects the results in file order.
func readPBF(ctx context.Context, meter *progressMeter, br *bufio.Reader, dz *decompressed, name string, c *collector) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	futures := make(chan chan pbfDecoded, 2*workers)
	sem := make(chan struct{}, workers)
	go func() {
		defer close(futures)
		var off int64
		for first := true; ctx.Err() == nil; first = false {
			blk, n, err := readPBFBlock(br, off)
			off += n
			if err == io.EOF {
				return
			}
			future := make(chan pbfDecoded, 1)
			select {
			case futures <- future:
			case <-ctx.Done():
				return
			}
			if err != nil {
				future <- pbfDecoded{offset: blk.offset, err: err}
				return
			}
			switch blk.typ {
			case "OSMHeader":
				if !first {
					future <- pbfDecoded{offset: blk.offset, err: errors.New("a second OSMHeader block")}
					return
				}
				future <- pbfDecoded{offset: blk.offset, err: checkPBFHeader(blk.blob)}
			case "OSMData":
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					future <- decodePBFData(blk)
				}()
			default:
				// The specification asks readers to skip unknown block types.
				future <- pbfDecoded{offset: blk.offset}
			}
		}
	}()
	var failure error
	for future := range futures {
		res := <-future
		if failure != nil {
			continue // drain, so that no decoding goroutine is left blocked
		}
		if res.err != nil {
			failure = pbfError(name, res, dz)
			cancel()
			continue
		}
		for _, n := range res.nodes {
			c.addNode(n.id, n.lat, n.lon, n.blocksCar)
		}
		for i := range res.ways {
			w := &res.ways[i]
			c.addWay(w.id, w.tags, w.refs)
		}
		meter.tick()
	}
	if failure != nil {
		return failure
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: import cancelled: %w", name, err)
	}
	return nil
}

// pbfError says which block went wrong and why; a failing decompressor
// under the PBF (a .pbf.gz) is the better explanation when there is one.
func pbfError(name string, res pbfDecoded, dz *decompressed) error {
	if derr := dz.failure(); derr != nil {
		return &InputError{Source: name, Where: fmt.Sprintf("byte %d of the decompressed data", res.offset), Err: derr}
	}
	var trunc *truncatedError
	if errors.As(res.err, &trunc) {
		return &InputError{Source: name, Where: fmt.Sprintf("truncated block at byte %d", res.offset), Err: res.err}
	}
	return &InputError{Source: name, Where: fmt.Sprintf("block at byte %d", res.offset), Err: res.err}
}

// truncatedError is a block cut short by the end of the input.
type truncatedError struct {
	endsAt int64
	part   string
}

func (e *truncatedError) Error() string {
	return fmt.Sprintf("the input ends at byte %d, inside the %s: %v", e.endsAt, e.part, io.ErrUnexpectedEOF)
}

func (e *truncatedError) Unwrap() error { return io.ErrUnexpectedEOF }

// readPBFBlock reads the block starting at byte off: a 4-byte big-endian
// BlobHeader length, the BlobHeader, then the Blob. It returns io.EOF only
// at a clean end between blocks, and how many bytes it consumed.
func readPBFBlock(r io.Reader, off int64) (pbfBlock, int64, error) {
	blk := pbfBlock{offset: off}
	var sizeBuf [4]byte
	n, err := io.ReadFull(r, sizeBuf[:])
	if err == io.EOF {
		return blk, 0, io.EOF
	}
	read := int64(n)
	short := func(err error, part string) error {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return &truncatedError{endsAt: off + read, part: part}
		}
		return fmt.Errorf("read: %w", err)
	}
	if err != nil {
		return blk, read, short(err, "block's header length")
	}
	hsize := binary.BigEndian.Uint32(sizeBuf[:])
	if hsize >= maxBlobHeaderSize {
		return blk, read, fmt.Errorf("block header of %d bytes (the limit is %d): not a PBF block", hsize, maxBlobHeaderSize)
	}
	header := make([]byte, hsize)
	n, err = io.ReadFull(r, header)
	read += int64(n)
	if err != nil {
		return blk, read, short(err, "block header")
	}
	typ, dataSize, err := parseBlobHeader(header)
	if err != nil {
		return blk, read, fmt.Errorf("unreadable block header: %w", err)
	}
	if dataSize >= maxBlobSize {
		return blk, read, fmt.Errorf("block of %d bytes (the limit is %d)", dataSize, maxBlobSize)
	}
	blk.typ = typ
	// Grow the buffer as data arrives rather than trusting the declared
	// size, so that a truncated file cannot make us allocate 32 MB.
	buf := bytes.NewBuffer(make([]byte, 0, min(dataSize, 1<<20)))
	m, err := io.CopyN(buf, r, dataSize)
	read += m
	if err != nil {
		if err == io.EOF {
			return blk, read, &truncatedError{endsAt: off + read,
				part: fmt.Sprintf("block's data, %d bytes before its declared end", dataSize-m)}
		}
		return blk, read, fmt.Errorf("read: %w", err)
	}
	blk.blob = buf.Bytes()
	return blk, read, nil
}

// parseBlobHeader reads the type (field 1) and datasize (field 3) of a
// BlobHeader message.
func parseBlobHeader(b []byte) (typ string, dataSize int64, err error) {
	m := pbMsg{b: b}
	seenSize := false
	for m.next() {
		switch {
		case m.field == 1 && m.wire == 2:
			typ = string(m.data)
		case m.field == 3 && m.wire == 0:
			dataSize, seenSize = int64(min(m.val, maxBlobSize)), true
		}
	}
	if m.err != nil {
		return "", 0, m.err
	}
	if typ == "" || !seenSize {
		return "", 0, errors.New("no block type or size")
	}
	return typ, dataSize, nil
}

// inflate returns the uncompressed content of a Blob message.
func inflate(blob []byte) ([]byte, error) {
	m := pbMsg{b: blob}
	var raw, zdata []byte
	rawSize := int64(-1)
	hasRaw, hasZlib := false, false
	for m.next() {
		switch {
		case m.field == 1 && m.wire == 2:
			raw, hasRaw = m.data, true
		case m.field == 2 && m.wire == 0:
			rawSize = int64(min(m.val, maxBlobSize+1))
		case m.field == 3 && m.wire == 2:
			zdata, hasZlib = m.data, true
		case m.field == 4:
			return nil, errors.New("LZMA-compressed block: not supported (recompress with zlib, e.g. osmium cat)")
		case m.field == 5 || m.field == 6 || m.field == 7:
			return nil, errors.New("bzip2-, LZ4- or zstd-compressed block: not supported (recompress with zlib, e.g. osmium cat)")
		}
	}
	if m.err != nil {
		return nil, fmt.Errorf("unreadable blob: %w", m.err)
	}
	switch {
	case hasRaw:
		return raw, nil
	case !hasZlib:
		return nil, errors.New("block has no data")
	case rawSize < 0 || rawSize > maxBlobSize:
		return nil, fmt.Errorf("compressed block declares %d bytes uncompressed (the limit is %d)", rawSize, maxBlobSize)
	}
	zr, err := zlib.NewReader(bytes.NewReader(zdata))
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	out := bytes.NewBuffer(make([]byte, 0, min(rawSize, 4<<20)))
	if _, err := io.Copy(out, io.LimitReader(zr, rawSize+1)); err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	if int64(out.Len()) != rawSize {
		return nil, fmt.Errorf("block inflates to %d bytes, %d declared", out.Len(), rawSize)
	}
	return out.Bytes(), nil
}

// supportedFeatures are the required_features this decoder honours.
var supportedFeatures = map[string]bool{"OsmSchema-V0.6": true, "DenseNodes": true, "HistoricalInformation": true}

func checkPBFHeader(blob []byte) error {
	data, err := inflate(blob)
	if err != nil {
		return err
	}
	m := pbMsg{b: data}
	for m.next() {
		if m.field == 4 && m.wire == 2 && !supportedFeatures[string(m.data)] {
			return fmt.Errorf("the file requires feature %q, which this reader does not support", m.data)
		}
	}
	if m.err != nil {
		return fmt.Errorf("unreadable header block: %w", m.err)
	}
	return nil
}

// decodePBFData decodes a PrimitiveBlock: its nodes (plain or dense) and
// ways. Relations, changesets and metadata are skipped.
func decodePBFData(blk pbfBlock) pbfDecoded {
	res := pbfDecoded{offset: blk.offset}
	data, err := inflate(blk.blob)
	if err != nil {
		res.err = err
		return res
	}
	var strs []string
	var groups [][]byte
	gran, latOff, lonOff := int64(100), int64(0), int64(0)
	m := pbMsg{b: data}
	for m.next() {
		switch {
		case m.field == 1 && m.wire == 2:
			st := pbMsg{b: m.data}
			for st.next() {
				if st.field == 1 && st.wire == 2 {
					strs = append(strs, string(st.data))
				}
			}
			if st.err != nil {
				res.err = fmt.Errorf("unreadable string table: %w", st.err)
				return res
			}
		case m.field == 2 && m.wire == 2:
			groups = append(groups, m.data)
		case m.field == 17 && m.wire == 0:
			gran = int64(int32(m.val))
		case m.field == 19 && m.wire == 0:
			latOff = int64(m.val)
		case m.field == 20 && m.wire == 0:
			lonOff = int64(m.val)
		}
	}
	if m.err != nil {
		res.err = fmt.Errorf("unreadable data block: %w", m.err)
		return res
	}
	if gran <= 0 {
		res.err = fmt.Errorf("coordinate granularity %d", gran)
		return res
	}
	coord := func(off, v int64) float64 { return 1e-9 * float64(off+gran*v) }
	d := &pbfDecoder{strs: strs}
	for _, g := range groups {
		gm := pbMsg{b: g}
		for gm.next() && res.err == nil {
			if gm.wire != 2 {
				continue
			}
			switch gm.field {
			case 1:
				res.err = d.node(gm.data, &res, latOff, lonOff, coord)
			case 2:
				res.err = d.denseNodes(gm.data, &res, latOff, lonOff, coord)
			case 3:
				res.err = d.way(gm.data, &res)
			}
		}
		if res.err == nil && gm.err != nil {
			res.err = fmt.Errorf("unreadable primitive group: %w", gm.err)
		}
		if res.err != nil {
			return res
		}
	}
	return res
}

type pbfDecoder struct {
	strs []string
	ids  []uint64
	lats []uint64
	lons []uint64
	keys []uint64
	vals []uint64
	refs []uint64
}

func zigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// blocksCar applies nodeBlocksCar to a node's tags, given as string-table
// indexes key, value, key, value...
func (d *pbfDecoder) blocksCar(kv []uint64) (bool, error) {
	relevant := false
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] >= uint64(len(d.strs)) || kv[i+1] >= uint64(len(d.strs)) {
			return false, fmt.Errorf("node tag refers to string %d of %d", max(kv[i], kv[i+1]), len(d.strs))
		}
		relevant = relevant || nodeTagsMatter(d.strs[kv[i]])
	}
	if !relevant {
		return false, nil
	}
	return nodeBlocksCar(func(key string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if d.strs[kv[i]] == key {
				return d.strs[kv[i+1]]
			}
		}
		return ""
	}), nil
}

func (d *pbfDecoder) denseNodes(b []byte, res *pbfDecoded, latOff, lonOff int64, coord func(off, v int64) float64) error {
	d.ids, d.lats, d.lons, d.keys = d.ids[:0], d.lats[:0], d.lons[:0], d.keys[:0]
	m := pbMsg{b: b}
	var err error
	for m.next() && err == nil {
		switch m.field {
		case 1:
			d.ids, err = m.appendVarints(d.ids)
		case 8:
			d.lats, err = m.appendVarints(d.lats)
		case 9:
			d.lons, err = m.appendVarints(d.lons)
		case 10:
			d.keys, err = m.appendVarints(d.keys) // keys_vals: k v k v ... 0 per node
		}
	}
	if err == nil {
		err = m.err
	}
	if err != nil {
		return fmt.Errorf("unreadable dense nodes: %w", err)
	}
	if len(d.lats) != len(d.ids) || len(d.lons) != len(d.ids) {
		return fmt.Errorf("dense nodes: %d ids, %d latitudes, %d longitudes", len(d.ids), len(d.lats), len(d.lons))
	}
	var id, lat, lon int64
	kv := d.keys
	for i := range d.ids {
		id += zigzag(d.ids[i])
		lat += zigzag(d.lats[i])
		lon += zigzag(d.lons[i])
		n := pbfNode{id: id, lat: coord(latOff, lat), lon: coord(lonOff, lon)}
		if len(kv) > 0 {
			end := 0
			for end < len(kv) && kv[end] != 0 {
				end += 2
			}
			if end > len(kv) {
				return fmt.Errorf("dense node %d: tag list ends inside a key/value pair", id)
			}
			var err error
			if n.blocksCar, err = d.blocksCar(kv[:end]); err != nil {
				return fmt.Errorf("dense node %d: %w", id, err)
			}
			kv = kv[min(end+1, len(kv)):]
		}
		res.nodes = append(res.nodes, n)
	}
	return nil
}

func (d *pbfDecoder) node(b []byte, res *pbfDecoded, latOff, lonOff int64, coord func(off, v int64) float64) error {
	var n pbfNode
	d.keys, d.vals = d.keys[:0], d.vals[:0]
	m := pbMsg{b: b}
	var err error
	for m.next() && err == nil {
		switch {
		case m.field == 2:
			d.keys, err = m.appendVarints(d.keys)
		case m.field == 3:
			d.vals, err = m.appendVarints(d.vals)
		case m.wire != 0:
		case m.field == 1:
			n.id = zigzag(m.val)
		case m.field == 8:
			n.lat = coord(latOff, zigzag(m.val))
		case m.field == 9:
			n.lon = coord(lonOff, zigzag(m.val))
		}
	}
	if err == nil {
		err = m.err
	}
	if err != nil {
		return fmt.Errorf("unreadable node: %w", err)
	}
	if len(d.keys) != len(d.vals) {
		return fmt.Errorf("node %d: %d tag keys but %d values", n.id, len(d.keys), len(d.vals))
	}
	kv := make([]uint64, 0, 2*len(d.keys))
	for i := range d.keys {
		kv = append(kv, d.keys[i], d.vals[i])
	}
	if n.blocksCar, err = d.blocksCar(kv); err != nil {
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	res.nodes = append(res.nodes, n)
	return nil
}

func (d *pbfDecoder) way(b []byte, res *pbfDecoded) error {
	d.keys, d.vals, d.refs = d.keys[:0], d.vals[:0], d.refs[:0]
	var id int64
	m := pbMsg{b: b}
	var err error
	for m.next() && err == nil {
		switch m.field {
		case 1:
			id = int64(m.val)
		case 2:
			d.keys, err = m.appendVarints(d.keys)
		case 3:
			d.vals, err = m.appendVarints(d.vals)
		case 8:
			d.refs, err = m.appendVarints(d.refs)
		}
	}
	if err == nil {
		err = m.err
	}
	if err != nil {
		return fmt.Errorf("unreadable way: %w", err)
	}
	if len(d.keys) != len(d.vals) {
		return fmt.Errorf("way %d: %d tag keys but %d values", id, len(d.keys), len(d.vals))
	}
	w := pbfWay{id: id, tags: make(osm.Tags, len(d.keys)), refs: make([]int64, len(d.refs))}
	for i := range d.keys {
		k, v := d.keys[i], d.vals[i]
		if k >= uint64(len(d.strs)) || v >= uint64(len(d.strs)) {
			return fmt.Errorf("way %d: tag refers to string %d of %d", id, max(k, v), len(d.strs))
		}
		w.tags[i] = osm.Tag{Key: d.strs[k], Value: d.strs[v]}
	}
	var ref int64
	for i, r := range d.refs {
		ref += zigzag(r)
		w.refs[i] = ref
	}
	res.ways = append(res.ways, w)
	return nil
}

// pbMsg walks the fields of one protobuf message, checking every length.
type pbMsg struct {
	b     []byte
	field uint64
	wire  uint64
	val   uint64 // wire types 0, 1 and 5
	data  []byte // wire type 2
	err   error
}

func (m *pbMsg) next() bool {
	if m.err != nil || len(m.b) == 0 {
		return false
	}
	key, n := binary.Uvarint(m.b)
	if n <= 0 {
		m.err = errors.New("bad field key")
		return false
	}
	m.b = m.b[n:]
	m.field, m.wire = key>>3, key&7
	if m.field == 0 {
		m.err = errors.New("field number 0")
		return false
	}
	switch m.wire {
	case 0:
		v, n := binary.Uvarint(m.b)
		if n <= 0 {
			m.err = errors.New("bad varint")
			return false
		}
		m.val, m.b = v, m.b[n:]
	case 1:
		if len(m.b) < 8 {
			m.err = errors.New("short fixed64 field")
			return false
		}
		m.val, m.b = binary.LittleEndian.Uint64(m.b), m.b[8:]
	case 2:
		l, n := binary.Uvarint(m.b)
		if n <= 0 || l > uint64(len(m.b)-n) {
			m.err = errors.New("field length beyond the message")
			return false
		}
		m.data, m.b = m.b[n:n+int(l)], m.b[n+int(l):]
	case 5:
		if len(m.b) < 4 {
			m.err = errors.New("short fixed32 field")
			return false
		}
		m.val, m.b = uint64(binary.LittleEndian.Uint32(m.b)), m.b[4:]
	default:
		m.err = fmt.Errorf("unknown wire type %d", m.wire)
		return false
	}
	return true
}

// appendVarints appends the current field's integers to dst, packed
// (wire type 2) or single (wire type 0), as protobuf allows both.
func (m *pbMsg) appendVarints(dst []uint64) ([]uint64, error) {
	switch m.wire {
	case 0:
		return append(dst, m.val), nil
	case 2:
		b := m.data
		for len(b) > 0 {
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return dst, errors.New("bad packed varint")
			}
			dst, b = append(dst, v), b[n:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("integer field with wire type %d", m.wire)
}
