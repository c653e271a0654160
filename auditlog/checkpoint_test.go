package auditlog

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))

func testPub() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

func TestLineRoundTripAndTamper(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 0, 0, 123456000, time.UTC)
	c := Sign(testKey, 42, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), at)
	line := c.MarshalLine()
	got, err := ParseLine(bytes.TrimSpace(line), testPub())
	if err != nil || got.Seq != 42 || !got.At.Equal(at) || !bytes.Equal(got.MAC, c.MAC) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, 32))
	for name, text := range map[string]string{
		"seq":        strings.Replace(string(line), `"seq":42`, `"seq":43`, 1),
		"at":         strings.Replace(string(line), `04:00:00.123456Z`, `04:00:01.123456Z`, 1),
		"mac":        strings.Replace(string(line), strings.Repeat("02", 32), strings.Repeat("03", 32), 1),
		"other key":  string(Sign(other, 42, c.Hash, c.MAC, at).MarshalLine()),
		"extra":      strings.Replace(string(line), `{`, `{"x":1,`, 1),
		"not json":   "seq=42",
		"short hash": strings.Replace(string(line), strings.Repeat("01", 32), "01", 1),
	} {
		if _, err := ParseLine([]byte(strings.TrimSpace(text)), testPub()); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A file: blank lines skipped (lines 1 and 3), a bad line named by number.
	file := "\n" + string(line) + "\n" + string(line) + "garbage\n"
	cps, err := Parse(strings.NewReader(file), testPub())
	if err == nil || !strings.Contains(err.Error(), "line 5") || len(cps) != 2 {
		t.Fatalf("file with a bad line 5: %d checkpoints, %v", len(cps), err)
	}
	if _, err := Parse(strings.NewReader(strings.Repeat("x", maxLine+10)), testPub()); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("an overlong line: %v", err)
	}
}

// FuzzParse: no panic on any input, and whatever parses verifies.
func FuzzParse(f *testing.F) {
	c := Sign(testKey, 7, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), time.Unix(1e9, 0))
	f.Add(c.MarshalLine())
	f.Add([]byte(`{"audit_checkpoint":1,"seq":-1}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cps, err := Parse(bytes.NewReader(b), nil)
		for _, c := range cps {
			if !ed25519.Verify(c.Key, c.message(), c.Sig) {
				t.Fatalf("parsed a checkpoint whose signature fails (err %v)", err)
			}
		}
	})
}
