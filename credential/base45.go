package credential

import (
	"errors"
	"fmt"
	"unsafe"
)

// base45Alphabet is RFC 9285's: exactly the characters a QR code's
// alphanumeric mode carries, at 5.5 bits each.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a character to its value, or 0xff for a character
// outside the alphabet.
var base45Value = func() (v [256]byte) {
	for i := range v {
		v[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		v[base45Alphabet[i]] = byte(i)
	}
	return v
}()

// encodeBase45 encodes b as RFC 9285 base45: each pair of bytes, read as a
// big-endian number n, becomes three characters c, d, e with
// n = c + 45·d + 45²·e; a last lone byte becomes two.
func encodeBase45(b []byte) string { return encodeBase45After("", b) }

// encodeBase45After is prefix followed by encodeBase45(b), written into
// one buffer of its length: a token is made so at every signature.
func encodeBase45After(prefix string, b []byte) string {
	out := make([]byte, len(prefix)+len(b)/2*3+len(b)%2*2)
	j := copy(out, prefix)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		out[j], out[j+1], out[j+2] = base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/(45*45)]
		j += 3
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		out[j], out[j+1] = base45Alphabet[n%45], base45Alphabet[n/45]
	}
	if len(out) == 0 {
		return ""
	}
	// The string is the buffer itself, as strings.Builder makes one: out
	// is not written again (a copy was 29 MB an approval).
	return unsafe.String(&out[0], len(out))
}

var errBase45Length = errors.New("base45: a length of 3k+1 characters is never an encoding")

// decodeBase45 is encodeBase45's inverse. It accepts only what
// encodeBase45 writes: characters of the alphabet (upper case), no triple
// above 65535 and no final pair above 255, so each string decodes to at
// most one byte string and each byte string has exactly one encoding.
func decodeBase45(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45Length
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		k := min(3, len(s)-i)
		n := 0
		for j := k - 1; j >= 0; j-- {
			v := base45Value[s[i+j]]
			if v == 0xff {
				return nil, fmt.Errorf("base45: character %d (%q) is not in the alphabet", i+j+1, s[i+j])
			}
			n = n*45 + int(v)
		}
		if k == 3 {
			if n > 0xffff {
				return nil, fmt.Errorf("base45: characters %d-%d encode %d, above 65535", i+1, i+3, n)
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, fmt.Errorf("base45: the last two characters encode %d, above 255", n)
			}
			out = append(out, byte(n))
		}
	}
	return out, nil
}
