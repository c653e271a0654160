package sqlstore

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
)

// TestInstructionBodyFormats: a body is stored compressed and reads back
// as it was; a body stored before compression (JSON) reads as it is; a
// format this version does not know, a stream cut short and a stream that
// inflates past the bound are errors, not panics nor garbage.
func TestInstructionBodyFormats(t *testing.T) {
	body := []byte(`{"id":"I-H000001@v1","series":"I-H000001","directions":"` + strings.Repeat("walk north on Main Street, ", 40) + `"}`)
	stored := compressInstructionBody(body)
	if stored[0] != bodyDeflate || len(stored) >= len(body)/2 {
		t.Fatalf("stored %d bytes (format %#x) for a body of %d", len(stored), stored[0], len(body))
	}
	for what, b := range map[string][]byte{"compressed": stored, "as JSON": body} {
		got, err := readInstructionBody(b)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: read %q, %v", what, got, err)
		}
	}
	var bomb bytes.Buffer
	bomb.WriteByte(bodyDeflate)
	w, _ := flate.NewWriter(&bomb, flate.BestCompression)
	w.Write(make([]byte, maxInstructionBody+1))
	w.Close()
	for what, b := range map[string][]byte{
		"empty":       nil,
		"format 2":    append([]byte{2}, stored[1:]...),
		"cut short":   stored[:len(stored)/2],
		"over 16 MiB": bomb.Bytes(),
		"not deflate": {bodyDeflate, 0xff, 0xff, 0xff},
	} {
		if got, err := readInstructionBody(b); err == nil {
			t.Errorf("%s: read %d bytes, want an error", what, len(got))
		}
	}
}
