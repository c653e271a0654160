package credential

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// libraryCBOR is the claims' encoding by the CBOR library, which
// appendClaimsCBOR stands in for.
func libraryCBOR(t testing.TB, w *wireClaims) []byte {
	t.Helper()
	b, err := encMode.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClaimsCBORMatchesTheLibrary(t *testing.T) {
	texts := []string{"", "a", strings.Repeat("x", 23), strings.Repeat("x", 24), strings.Repeat("y", 255), strings.Repeat("z", 256), strings.Repeat("w", 70000), "I-H000042", "نقطه تجمع", "\x00\xff"}
	ints := []uint64{0, 1, 23, 24, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64}
	digests := [][]byte{nil, {}, bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 24)}
	n := 0
	for i, s := range texts {
		for j, v := range ints {
			w := wireClaims{
				Issuer: s, Expires: v, IssuedAt: ints[(j+3)%len(ints)],
				Muster: wireMuster{
					Instruction: texts[(i+1)%len(texts)], Household: texts[(i+2)%len(texts)],
					Version: uint32(v), Supersedes: uint32(ints[(j+1)%len(ints)]),
					Digest: digests[(i+j)%len(digests)], RallyPoint: texts[(i+j)%len(texts)],
					ReportFrom: ints[(j+5)%len(ints)], ReportBy: ints[(j+7)%len(ints)],
					Group: texts[(i+3*j)%len(texts)], People: uint16(ints[(j+2)%len(ints)]),
				},
			}
			if got, want := appendClaimsCBOR(nil, &w), libraryCBOR(t, &w); !bytes.Equal(got, want) {
				t.Fatalf("case %d/%d: %x, the library writes %x", i, j, got, want)
			}
			n++
		}
	}
	// A realistic token's claims, through marshal.
	testTime := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	c := Claims{Issuer: "kabul-2021", Instruction: "I-H000042", Household: "H000042", Version: 2, Supersedes: 1,
		Digest: ContentDigest([]byte("content")), RallyPoint: "RP-07", Group: "K7F-42", People: 5,
		IssuedAt: testTime, NotAfter: testTime.Add(36e11), ReportFrom: testTime.Add(18e11), ReportBy: testTime.Add(27e11)}
	got, err := c.marshal()
	if err != nil {
		t.Fatal(err)
	}
	w := wireClaims{Issuer: c.Issuer, Expires: unixOrZero(c.NotAfter), IssuedAt: unixOrZero(c.IssuedAt),
		Muster: wireMuster{Instruction: c.Instruction, Household: c.Household, Version: c.Version, Supersedes: c.Supersedes,
			Digest: c.Digest[:], RallyPoint: c.RallyPoint, ReportFrom: unixOrZero(c.ReportFrom), ReportBy: unixOrZero(c.ReportBy),
			Group: c.Group, People: c.People}}
	if want := libraryCBOR(t, &w); !bytes.Equal(got, want) {
		t.Fatalf("marshal: %x, the library writes %x", got, want)
	}
	back, err := unmarshalClaims(got)
	if err != nil || back.Instruction != c.Instruction || back.People != c.People || back.Digest != c.Digest {
		t.Fatalf("read back: %+v, %v", back, err)
	}
}

func FuzzClaimsCBOR(f *testing.F) {
	f.Add("kabul-2021", uint64(1630000000), uint64(1629990000), "I-H000042", "H000042", uint32(2), uint32(1), []byte("0123456789abcdef"), "RP-07", uint64(1629995000), uint64(1629996000), "K7F-42", uint16(5))
	f.Add("", uint64(0), uint64(0), "", "", uint32(0), uint32(0), []byte(nil), "", uint64(0), uint64(0), "", uint16(0))
	f.Fuzz(func(t *testing.T, iss string, exp, iat uint64, instr, hh string, ver, sup uint32, digest []byte, rp string, from, by uint64, group string, people uint16) {
		w := wireClaims{Issuer: iss, Expires: exp, IssuedAt: iat, Muster: wireMuster{Instruction: instr, Household: hh, Version: ver,
			Supersedes: sup, Digest: digest, RallyPoint: rp, ReportFrom: from, ReportBy: by, Group: group, People: people}}
		if got, want := appendClaimsCBOR(nil, &w), libraryCBOR(t, &w); !bytes.Equal(got, want) {
			t.Fatalf("%x, the library writes %x", got, want)
		}
	})
}

// BenchmarkClaimsCBOR: the claims of one token by hand and by the library.
func BenchmarkClaimsCBOR(b *testing.B) {
	w := wireClaims{Issuer: "kabul-2021", Expires: 1630000000, IssuedAt: 1629990000, Muster: wireMuster{Instruction: "I-H000042", Household: "H000042",
		Version: 2, Supersedes: 1, Digest: bytes.Repeat([]byte{7}, 16), RallyPoint: "RP-07", ReportFrom: 1629995000, ReportBy: 1629996000, Group: "K7F-42", People: 5}}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			appendClaimsCBOR(make([]byte, 0, 128), &w)
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			libraryCBOR(b, &w)
		}
	})
}
