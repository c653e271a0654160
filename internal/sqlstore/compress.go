package sqlstore

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// An instruction's body (its JSON, some 900 bytes with walking
// directions) is compressed before it is sealed: an issuance of 100,000
// households wrote 250 MB of instructions, a row of 1.4 kB filling a
// 4 kB page two at a time; compressed, a row is about half and a page
// holds twice as many. The one writer's time goes by the pages it fills,
// and compressing is done on every core before it starts.
//
// The format is told by the first byte of the plaintext: '{' is the JSON
// as stored before (rows issued before compression, read as they are),
// bodyDeflate is a raw DEFLATE stream of the JSON.
const bodyDeflate = 0x01

// maxInstructionBody bounds an instruction's body inflated: the sealed
// body is authenticated, so only a bug could make a larger one, but
// reading must not be unbounded even then.
const maxInstructionBody = 16 << 20

var deflaters = sync.Pool{New: func() any {
	w, err := flate.NewWriter(nil, flate.BestSpeed)
	if err != nil {
		panic(err) // BestSpeed is a valid level
	}
	return w
}}

var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// compressInstructionBody returns body (JSON) in the stored format.
func compressInstructionBody(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/2 + 64)
	buf.WriteByte(bodyDeflate)
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&buf)
	// Writes to a bytes.Buffer do not fail.
	_, _ = w.Write(body)
	_ = w.Close()
	deflaters.Put(w)
	return buf.Bytes()
}

// readInstructionBody returns the JSON of a stored body.
func readInstructionBody(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("its body is empty")
	}
	switch b[0] {
	case '{':
		return b, nil
	case bodyDeflate:
	default:
		return nil, fmt.Errorf("its body is in format %#x, which this version does not read", b[0])
	}
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(b[1:]), nil); err != nil {
		return nil, fmt.Errorf("its body: %w", err)
	}
	out := bytes.NewBuffer(make([]byte, 0, 3*len(b)))
	n, err := io.Copy(out, io.LimitReader(r, maxInstructionBody+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("its body: %w", err)
	case n > maxInstructionBody:
		return nil, fmt.Errorf("its body is over %d bytes", maxInstructionBody)
	}
	return out.Bytes(), nil
}
