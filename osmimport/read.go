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
	"sync"

	"github.com/paulmach/osm"
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
			c.addNode(int64(o.ID), o.Lat, o.Lon, nodeBlocksCar(o.Tags.Find))
		case *osm.Way:
			c.addOSMWay(o)
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
