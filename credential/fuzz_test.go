package credential

import (
	"bytes"
	"testing"
	"time"
)

// FuzzVerify: no input makes Verify panic, and nothing but the very token
// signed is ever genuine: whatever the fuzzer makes of the seeds, a
// verdict with claims is the exact text of a token the keyring signed.
func FuzzVerify(f *testing.F) {
	kr := newKeyring(f, "kabul-2021")
	now := t0.Add(time.Hour)
	genuine := map[string]bool{}
	for i, c := range []Claims{realistic(now), {IssuedAt: now, NotAfter: now.Add(time.Hour), Instruction: "I1", Version: 1, Household: "H1", Digest: ContentDigest(nil)}} {
		tok := sign(f, kr, c, now)
		genuine[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)-i-1])
	}
	other := newKeyring(f, "herat-2021")
	f.Add(sign(f, other, realistic(now), now))
	bundle, _ := kr.SignBundle(kr.Bundle(nil, now))
	f.Add(Prefix + encodeBase45(bundle))
	f.Add("HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHGWJC0FDC:5AIA%G7X+AQB9746HS80:54IBQF60R6$A80X6S1BTYACG6M+9XG8KIAWNA91AY%67092L4WJCT3EHS8XJC$+DXJCCWENF6OF63W5NW6WF6%JC QE/IAYJC5LEW34U3ET7DXC9 QE-ED8%E.JCBECB1A-:8$96646AL60A60S6Q$D.UDRYA 96NF6L/5QW6307KQEPD09WEQDD+Q6TW6FA7C466KCN9E%961A6DL6FA7D46JPCT3E5JDLA7$Q6E464W5TG6..DX%DZJC6/DTZ9 QE5$CB$DA/D JC1/D3Z8WED1ECW.CCWE.Y92OAGY8MY9L+9MPCG/D5 C5IA5N9$PC5$CUZCY$5Y$527B+A4KZNQG5TKOWWD9FL%I8U$F7O2IBM85CWOC%LEZU4R/BXHDAHN 11$CA5MRI:AONFN7091K9FKIGIY%VWSSSU9%01FO2*FTPQ3C3F")
	f.Add("")
	f.Add(Prefix)
	b := kr.Bundle(Statuses{"I-H004217": {Latest: 3}}, now)
	f.Fuzz(func(t *testing.T, token string) {
		v := Verify(token, b, now)
		if v.Claims != nil && !genuine[stripBreaks(token)] {
			t.Fatalf("a token the keyring never signed is genuine (%v): %q", v.Status, token)
		}
		if v.Status == Current && v.Claims == nil {
			t.Fatal("current without claims")
		}
		_ = v.String()
	})
}

func stripBreaks(s string) string {
	for len(s) > 0 && (s[0] == '\r' || s[0] == '\n' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == '\n' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// FuzzDecodeClaims: the claims decoder never panics, and what it accepts
// re-encodes to the same bytes (one encoding per claims).
func FuzzDecodeClaims(f *testing.F) {
	kr := newKeyring(f, "kabul-2021")
	now := t0.Add(time.Hour)
	msg, _ := kr.SignBytes(realistic(now), now)
	p, _ := parseSign1(msg)
	f.Add(p.payload)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := unmarshalClaims(b)
		if err != nil {
			return
		}
		again, err := c.marshal()
		if err != nil {
			t.Fatalf("accepted claims do not encode: %v", err)
		}
		c2, err := unmarshalClaims(again)
		if err != nil || *c2 != *c {
			t.Fatalf("claims changed on re-encoding: %+v / %+v (%v)", c, c2, err)
		}
	})
}

// FuzzOpenBundle: no input makes OpenBundle panic, and a byte string it
// accepts is the one the keyring signed.
func FuzzOpenBundle(f *testing.F) {
	kr := newKeyring(f, "kabul-2021")
	root := kr.Active().Fingerprint()
	kr.Rotate(t0.Add(time.Hour))
	data, _ := kr.SignBundle(kr.Bundle(Statuses{"I1": {Latest: 2, Revoked: []uint32{1}}}, t0.Add(2*time.Hour)))
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := OpenBundle(b, root); err == nil && !bytes.Equal(b, data) {
			t.Fatalf("accepted a bundle the keyring did not sign: %x", b)
		}
	})
}

// FuzzBase45: decoding never panics and is the exact inverse of encoding.
func FuzzBase45(f *testing.F) {
	f.Add("QED8WEX0")
	f.Add("GGW")
	f.Add("%69 VD92EX0")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeBase45(s)
		if err != nil {
			return
		}
		if encodeBase45(b) != s {
			t.Fatalf("%q decodes to %x, which encodes to %q", s, b, encodeBase45(b))
		}
	})
}
