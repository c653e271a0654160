package qrcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A token of the length realistic instructions make (285 characters of
// base45 after MU1:).
var token = "MU1:" + strings.Repeat("RRQT 9P60GO0VZ312NIA3:KP8CK-/C280*PD5KCIUDNF6OF6FN0", 6)[:281]

func TestTokenFitsAVersion12Code(t *testing.T) {
	c, err := Encode(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d characters: version %d, %d modules a side", len(token), c.Version(), c.Size())
	if c.Version() > 12 {
		t.Errorf("a token makes a version %d code, want at most 12", c.Version())
	}
	if c.Size() != 17+4*c.Version() {
		t.Errorf("size %d for version %d", c.Size(), c.Version())
	}
	// The same text in byte mode (lower case is not alphanumeric) needs a
	// larger code: the alphanumeric alphabet is why base45.
	lower, _ := Encode(strings.ToLower(token))
	if lower.Version() <= c.Version() {
		t.Errorf("byte mode: version %d, alphanumeric: %d", lower.Version(), c.Version())
	}
}

func TestPNGReadsBack(t *testing.T) {
	c, err := Encode(token)
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []int{3, 8} {
		data := c.PNG(scale)
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if w := img.Bounds().Dx(); w != (c.Size()+8)*scale {
			t.Errorf("scale %d: %d pixels wide, want %d", scale, w, (c.Size()+8)*scale)
		}
		got, err := Read(bytes.NewReader(data))
		if err != nil || got != token {
			t.Fatalf("scale %d: read %q, %v", scale, got, err)
		}
	}
}

// The SVG's path, drawn module by module, is the code: decoding a raster
// of it gives the token back.
func TestSVGDrawsTheCode(t *testing.T) {
	c, err := Encode(token)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(c.SVG())
	n := c.Size() + 2*quiet
	if !strings.Contains(svg, `viewBox="0 0 `+strconv.Itoa(n)+" "+strconv.Itoa(n)+`"`) {
		t.Fatalf("viewBox: %s", svg[:120])
	}
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	dark := 0
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		run, _ := strconv.Atoi(m[3])
		for i := range run {
			if !c.Black(x+i-quiet, y-quiet) {
				t.Fatalf("the SVG darkens module %d,%d, which is light", x+i-quiet, y-quiet)
			}
			dark++
			for py := y * scale; py < (y+1)*scale; py++ {
				for px := (x + i) * scale; px < (x+i+1)*scale; px++ {
					img.SetGray(px, py, color.Gray{})
				}
			}
		}
	}
	want := 0
	for y := 0; y < c.Size(); y++ {
		for x := 0; x < c.Size(); x++ {
			if c.Black(x, y) {
				want++
			}
		}
	}
	if dark != want {
		t.Fatalf("the SVG darkens %d modules, the code has %d", dark, want)
	}
	got, err := Decode(img)
	if err != nil || got != token {
		t.Fatalf("decoded %q, %v", got, err)
	}
}

func TestReadRefusesWhatIsNotACode(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range blank.Pix {
		blank.Pix[i] = 0xff
	}
	var b bytes.Buffer
	png.Encode(&b, blank)
	if _, err := Read(&b); !errors.Is(err, ErrNoCode) {
		t.Errorf("a blank image: %v", err)
	}
	if _, err := Read(strings.NewReader("not an image")); err == nil {
		t.Error("text read as an image")
	}
	// A PNG header claiming 100,000 × 100,000 pixels is refused before
	// anything is decompressed.
	if _, err := Read(bytes.NewReader(pngHeader(100000, 100000))); err == nil || !strings.Contains(err.Error(), "million") {
		t.Errorf("a huge image: %v", err)
	}
}

// pngHeader returns the signature and IHDR chunk of a PNG of w×h pixels.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 0 // 8-bit gray
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

func FuzzRead(f *testing.F) {
	c, _ := Encode("MU1:ABC")
	f.Add(c.PNG(2))
	f.Add(pngHeader(10, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Read(bytes.NewReader(data))
	})
}
