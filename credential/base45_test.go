package credential

import (
	"bytes"
	"testing"
)

// RFC 9285, section 4.3 and 4.4 examples.
func TestBase45RFC9285Vectors(t *testing.T) {
	for _, c := range []struct{ plain, enc string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	} {
		if got := encodeBase45([]byte(c.plain)); got != c.enc {
			t.Errorf("encode %q = %q, want %q", c.plain, got, c.enc)
		}
		got, err := decodeBase45(c.enc)
		if err != nil || string(got) != c.plain {
			t.Errorf("decode %q = %q, %v; want %q", c.enc, got, err, c.plain)
		}
	}
}

func TestBase45RejectsWhatNoEncoderWrites(t *testing.T) {
	for _, s := range []string{
		"GGW",    // 65536: RFC 9285's example of an invalid triple
		":::",    // 44+44·45+44·2025 = 91124
		"BB8A",   // 3k+1 characters
		"bb8",    // lower case is not in the alphabet
		"BB\n",   // nor is a newline
		"QED8W",  // two characters at the end is fine ...
		"QED8::", // ... but not above 255
	} {
		_, err := decodeBase45(s)
		if s == "QEDX0" {
			if err != nil {
				t.Errorf("decode %q: %v", s, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("decode %q: want an error", s)
		}
	}
}

func TestBase45RoundTripsEveryPair(t *testing.T) {
	b := make([]byte, 0, 2*65536)
	for n := 0; n < 65536; n++ {
		b = append(b, byte(n>>8), byte(n))
	}
	for _, in := range [][]byte{b, b[:len(b)-1], {0}, {255}, {0, 0}, {255, 255, 255}} {
		got, err := decodeBase45(encodeBase45(in))
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("round trip of %d bytes failed: %v", len(in), err)
		}
	}
}
