package qrcode

import (
	"crypto/sha256"
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"testing"

	"rsc.io/qr"
	"rsc.io/qr/coding"
)

// frame draws c as a phone's camera sees a screen: the code centred in a
// 640×480 grey frame, as large as fits with its margin, whole pixels a
// module (web/camera_e2e_test.go films the same).
func frame(c *Code) *image.Gray {
	const w, h = 640, 480
	n := c.Size() + 2*quiet
	scale := min(w, h) / n
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	x0, y0 := (w-n*scale)/2, (h-n*scale)/2
	for my := 0; my < c.Size(); my++ {
		for mx := 0; mx < c.Size(); mx++ {
			if c.Black(mx, my) {
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						img.SetGray(x0+(mx+quiet)*scale+dx, y0+(my+quiet)*scale+dy, color.Gray{})
					}
				}
			}
		}
	}
	return img
}

// randomToken is a token-shaped text: MU1: and 281 base45 characters.
func randomToken(rng *rand.Rand) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	b := []byte("MU1:")
	for range 281 {
		b = append(b, alphabet[rng.IntN(len(alphabet))])
	}
	return string(b)
}

// withMask is the code of text at level Q in the given version with the
// given mask: with Encode's version and mask 0, what rsc.io/qr's own
// Encode makes.
func withMask(t *testing.T, text string, version int, mask coding.Mask) *Code {
	t.Helper()
	p, err := coding.NewPlan(coding.Version(version), coding.Q, mask)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Encode(coding.Alpha(text))
	if err != nil {
		t.Fatal(err)
	}
	return &Code{c: &qr.Code{Bitmap: c.Bitmap, Size: c.Size, Stride: c.Stride, Scale: 8}}
}

// TestEveryTokenReadsBack: random tokens, each drawn as a camera frame,
// all read back by ZXing with the code Encode makes; with mask 0 alone
// (rsc.io/qr's choice) some do not. Encode takes the mask of the lowest
// penalty unless a reader cannot find that code: nearly always the lowest.
func TestEveryTokenReadsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(2021, 8))
	const n = 150
	unreadable, notLowest := 0, 0
	for i := range n {
		text := randomToken(rng)
		c, err := Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decode(frame(c)); err != nil || got != text {
			t.Errorf("token %d: the code reads back as %q (%v)", i, got, err)
		}
		chosen := penalty(&coding.Code{Bitmap: c.c.Bitmap, Size: c.c.Size, Stride: c.c.Stride})
		lowest, same := chosen, false
		for mask := coding.Mask(0); mask < 8; mask++ {
			m := withMask(t, text, c.Version(), mask)
			lowest = min(lowest, penalty(&coding.Code{Bitmap: m.c.Bitmap, Size: m.c.Size, Stride: m.c.Stride}))
			same = same || slices.Equal(m.c.Bitmap, c.c.Bitmap)
			if mask == 0 {
				if got, err := Decode(frame(m)); err != nil || got != text {
					unreadable++
				}
			}
		}
		if !same {
			t.Fatalf("token %d: the code is none of the eight masks' codes of its text", i)
		}
		if chosen > lowest {
			notLowest++
		}
	}
	t.Logf("%d random tokens: all read back; with mask 0 alone, %d did not; %d took a mask above the lowest penalty, whose code a reader could not find", n, unreadable, notLowest)
	if unreadable == 0 {
		t.Log("(mask 0 read back every time: the sample shows no reason to choose)")
	}
	if notLowest > n/10 {
		t.Errorf("%d of %d codes did not take the mask of the lowest penalty", notLowest, n)
	}
}

// TestRememberedMaskDrawsTheSameCode: a text drawn again takes the mask
// remembered for it and gets the very code the first drawing chose (read
// back); forgetting (a full memo) changes nothing but the cost; the memo
// never holds more than maxMasks texts.
func TestRememberedMaskDrawsTheSameCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(2021, 26))
	for i := range 20 {
		text := randomToken(rng)
		first, err := Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		key := sha256.Sum256([]byte(text))
		mask, ok := masks.get(key)
		if !ok {
			t.Fatalf("token %d: no mask remembered after drawing it", i)
		}
		again, err := Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(first.c.Bitmap, again.c.Bitmap) {
			t.Fatalf("token %d: drawn again with the remembered mask %d, the code differs", i, mask)
		}
		if got, err := Decode(frame(again)); err != nil || got != text {
			t.Fatalf("token %d: the code drawn again reads back as %q (%v)", i, got, err)
		}
		// A wrong remembered mask would draw a different code: the
		// remembered one is the one chosen, not any.
		if other := withMask(t, text, first.Version(), (mask+1)%8); slices.Equal(other.c.Bitmap, again.c.Bitmap) {
			t.Fatalf("token %d: masks %d and %d draw the same code", i, mask, (mask+1)%8)
		}
	}
	for i := range maxMasks + 10 {
		var key [32]byte
		key[0], key[1], key[2] = byte(i), byte(i>>8), 0xee
		masks.put(key, coding.Mask(i%8))
	}
	if n := len(masks.m); n > maxMasks {
		t.Fatalf("the memo holds %d masks, more than %d", n, maxMasks)
	}
}

// BenchmarkEncode: a token drawn the first time (its mask chosen by
// drawing and reading back) and again (its mask remembered).
func BenchmarkEncode(b *testing.B) {
	rng := rand.New(rand.NewPCG(2021, 27))
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(randomToken(rng)); err != nil {
				b.Fatal(err)
			}
		}
	})
	text := randomToken(rng)
	if _, err := Encode(text); err != nil {
		b.Fatal(err)
	}
	b.Run("again", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}
