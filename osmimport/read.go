package osmimport

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/paulmach/osm"
	"github.com/paulmach/osm/osmpbf"
	"github.com/paulmach/osm/osmxml"
)

// The input is read in one pass, keeping every node's position (16 bytes
// a node) and the node lists of the ways. A second pass (ways first, then
// only the nodes they use) would save memory only on files far bigger
// than a city, and it could not work on Import's io.Reader nor on
// compressed XML without decompressing twice; a Porto-sized extract
// (348k nodes) costs about 6 MB this way.

type format int

const (
	formatPBF format = iota
	formatXML
	formatGzip
	formatBzip2
)

const sniffLen = 512

// sniff recognises the format from the first bytes.
func sniff(head []byte) (format, error) {
	switch {
	case len(head) == 0:
		return 0, errors.New("empty input")
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return formatGzip, nil
	case bytes.HasPrefix(head, []byte("BZh")):
		return formatBzip2, nil
	case looksLikePBF(head):
		return formatPBF, nil
	}
	rest := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) > 0 && rest[0] == '<' {
		return formatXML, nil
	}
	show := head
	if len(show) > 16 {
		show = show[:16]
	}
	return 0, fmt.Errorf("not an OpenStreetMap file: expected PBF, XML, gzip or bzip2 content, found %q", show)
}

// looksLikePBF checks for a PBF file's first block: a 4-byte big-endian
// header length, then a BlobHeader whose first field is the type string
// "OSMHeader" (or "OSMData" in files written without a header).
func looksLikePBF(head []byte) bool {
	if len(head) < 6 {
		return false
	}
	size := binary.BigEndian.Uint32(head)
	if size == 0 || size >= maxBlobHeaderSize || head[4] != 0x0a {
		return false
	}
	typ := head[6:]
	if n := int(head[5]); n <= len(typ) {
		typ = typ[:n]
	}
	return string(typ) == "OSMHeader" || string(typ) == "OSMData"
}

// readOSM reads the whole input into c, recognising the format by content.
func readOSM(ctx context.Context, meter *progressMeter, name string, c *collector) error {
	return readFormat(ctx, meter, bufio.NewReaderSize(meter, 64<<10), nil, name, c)
}

// readFormat reads br, which dz (nil for plain input) decompresses.
func readFormat(ctx context.Context, meter *progressMeter, br *bufio.Reader, dz *decompressed, name string, c *collector) error {
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("%s: read: %w", name, err)
	}
	f, err := sniff(head)
	if err == nil && dz != nil && (f == formatGzip || f == formatBzip2) {
		err = errors.New("compressed data inside compressed data")
	}
	if err != nil {
		return &InputError{Source: name, Err: err}
	}
	switch f {
	case formatGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &InputError{Source: name, Err: fmt.Errorf("gzip: %w", err)}
		}
		dz := &decompressed{r: zr, kind: "gzip"}
		return readFormat(ctx, meter, bufio.NewReaderSize(dz, 64<<10), dz, name, c)
	case formatBzip2:
		dz := &decompressed{r: bzip2.NewReader(br), kind: "bzip2"}
		return readFormat(ctx, meter, bufio.NewReaderSize(dz, 64<<10), dz, name, c)
	case formatPBF:
		return readPBF(ctx, meter, br, dz, name, c)
	default:
		return readXML(ctx, meter, br, dz, name, c)
	}
}

// decompressed remembers the first error of a decompressor, so that a
// truncated .gz is reported as such and not as the XML cut short.
type decompressed struct {
	r    io.Reader
	kind string
	mu   sync.Mutex
	err  error
}

// failure returns the decompressor's first error; nil on a nil receiver.
func (d *decompressed) failure() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		d.mu.Lock()
		if d.err == nil {
			d.err = fmt.Errorf("%s data is truncated or corrupt: %w", d.kind, err)
		}
		d.mu.Unlock()
	}
	return n, err
}

// progressEvery is how many OSM objects are read between progress checks.
const progressEvery = 4096

func readXML(ctx context.Context, meter *progressMeter, br *bufio.Reader, dz *decompressed, name string, c *collector) error {
	lr := &lineReader{br: br}
	s := osmxml.New(ctx, lr)
	defer s.Close()
	objects := 0
	for s.Scan() {
		switch o := s.Object().(type) {
		case *osm.Node:
			c.addNode(int64(o.ID), o.Lat, o.Lon)
		case *osm.Way:
			c.addWay(o)
		}
		if objects++; objects%progressEvery == 0 {
			meter.tick()
		}
	}
	err := s.Err()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: import cancelled: %w", name, ctx.Err())
	}
	if err == nil {
		return nil
	}
	if derr := dz.failure(); derr != nil {
		return &InputError{Source: name, Where: fmt.Sprintf("line %d", lr.line+1), Err: derr}
	}
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		return &InputError{Source: name, Where: fmt.Sprintf("line %d", syn.Line), Err: fmt.Errorf("XML syntax error: %s", syn.Msg)}
	}
	return &InputError{Source: name, Where: fmt.Sprintf("line %d", lr.line+1), Err: fmt.Errorf("invalid OSM XML: %w", err)}
}

// lineReader counts lines as the XML decoder reads. It is an
// io.ByteReader, so encoding/xml reads from it directly and the count is
// exact at the point an error is found.
type lineReader struct {
	br   *bufio.Reader
	line int64
}

func (l *lineReader) ReadByte() (byte, error) {
	b, err := l.br.ReadByte()
	if err == nil && b == '\n' {
		l.line++
	}
	return b, err
}

func (l *lineReader) Read(p []byte) (int, error) {
	n, err := l.br.Read(p)
	l.line += int64(bytes.Count(p[:n], []byte{'\n'}))
	return n, err
}

const (
	maxBlobHeaderSize = 64 << 10 // the PBF specification's limits
	maxBlobSize       = 32 << 20
)

func readPBF(ctx context.Context, meter *progressMeter, br *bufio.Reader, dz *decompressed, name string, c *collector) error {
	fr := &pbfFraming{r: br, ctx: ctx}
	s := osmpbf.New(ctx, fr, runtime.GOMAXPROCS(0))
	// Relations (turn restrictions aside) do not make roads; skipping them
	// at the protobuf level saves decoding them.
	s.SkipRelations = true
	objects := 0
	for s.Scan() {
		switch o := s.Object().(type) {
		case *osm.Node:
			c.addNode(int64(o.ID), o.Lat, o.Lon)
		case *osm.Way:
			c.addWay(o)
		}
		if objects++; objects%progressEvery == 0 {
			meter.tick()
		}
	}
	err := s.Err()
	blockAt := s.FullyScannedBytes()
	// Stop feeding the decoder's reading goroutine, which would otherwise
	// read on to the end of the input before Close returns.
	fr.stop.Store(true)
	s.Close()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: import cancelled: %w", name, ctx.Err())
	}
	if err == nil {
		return nil
	}
	return fr.explain(name, blockAt, err, dz)
}

// pbfFraming follows a PBF file's block structure as the decoder reads it
// (4-byte header length, BlobHeader, Blob), so that an error can say which
// block is cut short or malformed and where it starts.
type pbfFraming struct {
	r    io.Reader
	ctx  context.Context
	stop atomic.Bool

	mu         sync.Mutex
	off        int64 // bytes passed on
	blockStart int64
	part       int    // 0: header length, 1: BlobHeader, 2: Blob
	acc        []byte // bytes of parts 0 and 1 gathered so far
	need       int64  // bytes still expected in the current part
	blockLen   int64  // the whole block's declared length, once known
	blocks     int
	problem    error // the first framing problem
	truncated  bool
	readErr    error
}

var errStopped = errors.New("reading stopped")

func (f *pbfFraming) Read(p []byte) (int, error) {
	if f.stop.Load() {
		return 0, errStopped
	}
	if err := f.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := f.r.Read(p)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.feed(p[:n])
	switch {
	case err == io.EOF:
		if f.part != 0 || len(f.acc) > 0 {
			f.truncated = true
		}
	case err != nil && f.readErr == nil:
		f.readErr = err
	}
	return n, err
}

func (f *pbfFraming) feed(b []byte) {
	for len(b) > 0 && f.problem == nil {
		switch f.part {
		case 0, 1:
			if f.part == 0 && len(f.acc) == 0 {
				f.blockStart = f.off
				f.need = 4
				f.blockLen = 0
			}
			k := int(min(int64(len(b)), f.need))
			f.acc = append(f.acc, b[:k]...)
			b, f.off, f.need = b[k:], f.off+int64(k), f.need-int64(k)
			if f.need > 0 {
				continue
			}
			if f.part == 0 {
				size := binary.BigEndian.Uint32(f.acc)
				if size >= maxBlobHeaderSize {
					f.problem = fmt.Errorf("block header of %d bytes (the limit is %d)", size, maxBlobHeaderSize)
					return
				}
				f.part, f.need, f.acc = 1, int64(size), f.acc[:0]
				f.blockLen = 4 + int64(size)
				if size > 0 {
					continue
				}
			}
			typ, dataSize, err := parseBlobHeader(f.acc)
			switch {
			case err != nil:
				f.problem = fmt.Errorf("unreadable block header: %w", err)
				return
			case dataSize >= maxBlobSize:
				f.problem = fmt.Errorf("block of %d bytes (the limit is %d)", dataSize, maxBlobSize)
				return
			case typ != "OSMData" && !(typ == "OSMHeader" && f.blocks == 0):
				f.problem = fmt.Errorf("unexpected block type %q", typ)
				return
			}
			f.blockLen += dataSize
			f.part, f.need, f.acc = 2, dataSize, f.acc[:0]
			if dataSize == 0 {
				f.part = 0
				f.blocks++
			}
		case 2:
			k := min(int64(len(b)), f.need)
			b, f.off, f.need = b[k:], f.off+k, f.need-k
			if f.need == 0 {
				f.part = 0
				f.blocks++
			}
		}
	}
}

// parseBlobHeader reads the type (field 1) and datasize (field 3) of a
// PBF BlobHeader message.
func parseBlobHeader(b []byte) (typ string, dataSize int64, err error) {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return "", 0, errors.New("bad field key")
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return "", 0, errors.New("bad varint")
			}
			b = b[n:]
			if key>>3 == 3 {
				if v > maxBlobSize {
					v = maxBlobSize
				}
				dataSize = int64(v)
			}
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return "", 0, errors.New("bad field length")
			}
			if key>>3 == 1 {
				typ = string(b[n : n+int(l)])
			}
			b = b[n+int(l):]
		case 1:
			if len(b) < 8 {
				return "", 0, errors.New("short fixed64 field")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return "", 0, errors.New("short fixed32 field")
			}
			b = b[4:]
		default:
			return "", 0, fmt.Errorf("bad wire type %d", key&7)
		}
	}
	return typ, dataSize, nil
}

// explain turns a decoder error into one that says where the file is bad.
func (f *pbfFraming) explain(name string, blockAt int64, err error, dz *decompressed) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if derr := dz.failure(); derr != nil {
		return &InputError{Source: name, Where: fmt.Sprintf("byte %d of the decompressed data", f.off), Err: derr}
	}
	switch {
	case f.truncated && f.part == 2:
		return &InputError{Source: name, Where: fmt.Sprintf("truncated block at byte %d", f.blockStart),
			Err: fmt.Errorf("the input ends at byte %d, %d bytes before the block's declared end: %w", f.off, f.need, io.ErrUnexpectedEOF)}
	case f.truncated:
		return &InputError{Source: name, Where: fmt.Sprintf("truncated block at byte %d", f.blockStart),
			Err: fmt.Errorf("the input ends at byte %d, inside the block's header: %w", f.off, io.ErrUnexpectedEOF)}
	case f.problem != nil:
		return &InputError{Source: name, Where: fmt.Sprintf("block at byte %d", f.blockStart), Err: f.problem}
	case f.readErr != nil && !errors.Is(f.readErr, errStopped):
		return fmt.Errorf("%s: read error at byte %d: %w", name, f.off, f.readErr)
	}
	return &InputError{Source: name, Where: fmt.Sprintf("block at byte %d", blockAt), Err: fmt.Errorf("corrupt PBF data: %w", err)}
}
