// Package qrcode draws a token as a QR code (PNG and SVG) and reads one
// back from an image.
//
// Codes are made at error correction level Q, which restores up to a
// quarter of the code: a cracked phone screen, a crease in a printout.
// Text made only of QR alphanumeric characters (0-9, A-Z, space and
// $%*+-./:), as base45 tokens are, is encoded in alphanumeric mode at 5.5
// bits a character. Encoding uses rsc.io/qr, decoding the pure-Go port of
// ZXing (github.com/makiuchi-d/gozxing).
package qrcode

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // images a verifier may be handed
	_ "image/jpeg"
	_ "image/png"
	"io"
	"slices"
	"sync"

	"github.com/makiuchi-d/gozxing"
	zqr "github.com/makiuchi-d/gozxing/qrcode"
	"rsc.io/qr"
	"rsc.io/qr/coding"
)

// quiet is the margin around a code, in modules, that ISO/IEC 18004 asks for.
const quiet = 4

// Code is a QR code.
type Code struct {
	c *qr.Code
}

// Encode makes the QR code of text at level Q, in the smallest version
// that holds it, with the mask of the lowest penalty (ISO/IEC 18004
// 8.8.2): rsc.io/qr's Encode always takes mask 0, whose pattern on some
// texts draws a shape a reader takes for a finder pattern, and a phone
// then finds no code (it happened to one token in a few dozen).
//
// Choosing the mask draws the code and reads it back (a few milliseconds);
// the mask chosen for a text is remembered (masks), so that an evacuee's
// page drawing the same token at every view costs that once.
func Encode(text string) (*Code, error) {
	enc, v, err := encoding(text)
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256([]byte(text))
	if mask, ok := masks.get(key); ok {
		c, err := encodeMasked(enc, v, mask, len(text))
		if err != nil {
			return nil, err
		}
		return &Code{c: &qr.Code{Bitmap: c.Bitmap, Size: c.Size, Stride: c.Stride, Scale: 8}}, nil
	}
	code, mask, err := chooseMask(text, enc, v)
	if err != nil {
		return nil, err
	}
	masks.put(key, mask)
	return code, nil
}

// encoding is text's encoding (numeric, alphanumeric or bytes) and the
// smallest version that holds it at level Q.
func encoding(text string) (coding.Encoding, coding.Version, error) {
	var enc coding.Encoding
	switch {
	case coding.Num(text).Check() == nil:
		enc = coding.Num(text)
	case coding.Alpha(text).Check() == nil:
		enc = coding.Alpha(text)
	default:
		enc = coding.String(text)
	}
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(coding.Q)*8; v++ {
		if v == coding.MaxVersion {
			return nil, 0, fmt.Errorf("QR code of %d characters: too long for any version at level Q", len(text))
		}
	}
	return enc, v, nil
}

func encodeMasked(enc coding.Encoding, v coding.Version, mask coding.Mask, n int) (*coding.Code, error) {
	p, err := coding.NewPlan(v, coding.Q, mask)
	if err != nil {
		return nil, fmt.Errorf("QR code of %d characters: %w", n, err)
	}
	c, err := p.Encode(enc)
	if err != nil {
		return nil, fmt.Errorf("QR code of %d characters: %w", n, err)
	}
	return c, nil
}

// chooseMask encodes text with each mask and takes the one of the lowest
// penalty that a reader finds.
func chooseMask(text string, enc coding.Encoding, v coding.Version) (*Code, coding.Mask, error) {
	type candidate struct {
		c       *coding.Code
		mask    coding.Mask
		penalty int
	}
	var cands []candidate
	for mask := coding.Mask(0); mask < 8; mask++ {
		c, err := encodeMasked(enc, v, mask, len(text))
		if err != nil {
			return nil, 0, err
		}
		cands = append(cands, candidate{c, mask, penalty(c)})
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return a.penalty - b.penalty })
	// The lowest penalty that a reader finds: on about one text in
	// thirty, whatever the mask, ZXing's detector takes a shape in the
	// data for a finder pattern and finds no code in a perfect image. The
	// code is drawn and read back here, and the next mask taken if it is
	// not read (a few milliseconds a try).
	for _, cd := range cands {
		code := &Code{c: &qr.Code{Bitmap: cd.c.Bitmap, Size: cd.c.Size, Stride: cd.c.Stride, Scale: 8}}
		if code.readsBack(text) {
			return code, cd.mask, nil
		}
	}
	best := cands[0]
	return &Code{c: &qr.Code{Bitmap: best.c.Bitmap, Size: best.c.Size, Stride: best.c.Stride, Scale: 8}}, best.mask, nil
}

// maxMasks bounds the masks remembered: 4,096 texts' at about 60 bytes
// each. Past it an arbitrary one is forgotten, so a flood of texts (each a
// valid link's token: an evacuee's page draws only its own) costs the
// reads it would have cost anyway, and never memory.
const maxMasks = 4096

// masks remembers the mask chosen for a text, by the text's SHA-256: the
// process keeps no token it was not holding anyway.
var masks = &maskMemo{m: map[[32]byte]coding.Mask{}}

type maskMemo struct {
	mu sync.Mutex
	m  map[[32]byte]coding.Mask
}

func (mm *maskMemo) get(key [32]byte) (coding.Mask, bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mask, ok := mm.m[key]
	return mask, ok
}

func (mm *maskMemo) put(key [32]byte, mask coding.Mask) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if len(mm.m) >= maxMasks {
		for k := range mm.m {
			delete(mm.m, k)
			break
		}
	}
	mm.m[key] = mask
}

// readsBack reports whether ZXing reads text from the code drawn small
// on its own and large in a landscape camera frame (whether its detector
// is fooled depends on the size and the frame too).
func (c *Code) readsBack(text string) bool {
	for _, scale := range []int{3, 6} {
		if got, err := Decode(c.image(scale, scale > 3)); err != nil || got != text {
			return false
		}
	}
	return true
}

// image draws the code, scale pixels a module, with its margin; wide
// centres it in a 4:3 landscape frame, as a camera films it.
func (c *Code) image(scale int, wide bool) *image.Gray {
	n := (c.c.Size + 2*quiet) * scale
	w, x0 := n, 0
	if wide {
		w = n * 4 / 3
		x0 = (w - n) / 2
	}
	img := image.NewGray(image.Rect(0, 0, w, n))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < c.c.Size; y++ {
		for x := 0; x < c.c.Size; x++ {
			if !c.c.Black(x, y) {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				row := img.Pix[((y+quiet)*scale+dy)*img.Stride+x0:]
				for dx := 0; dx < scale; dx++ {
					row[(x+quiet)*scale+dx] = 0
				}
			}
		}
	}
	return img
}

// penalty scores a masked code as ISO/IEC 18004 (8.8.2) does, lower being
// easier to read: runs of five or more modules of one colour in a row or
// column (N1 = 3, and one more a module beyond five), 2×2 blocks of one
// colour (N2 = 3 each), the finder's 1:1:3:1:1 with four light modules on
// one side in a row or column (N3 = 40 each), and dark modules away from
// half (N4 = 10 for each 5% off).
func penalty(c *coding.Code) int {
	n := c.Size
	dark := func(x, y int) bool { return c.Black(x, y) }
	score, darkCount := 0, 0
	// finder is dark-light-dark-dark-dark-light-dark with four light on a side.
	finder := [2][11]bool{
		{true, false, true, true, true, false, true, false, false, false, false},
		{false, false, false, false, true, false, true, true, true, false, true},
	}
	for _, byRow := range []bool{true, false} {
		at := func(i, j int) bool { // i along the line, j across
			if byRow {
				return dark(i, j)
			}
			return dark(j, i)
		}
		for j := 0; j < n; j++ {
			run := 1
			for i := 1; i <= n; i++ {
				if i < n && at(i, j) == at(i-1, j) {
					run++
					continue
				}
				if run >= 5 {
					score += 3 + run - 5
				}
				run = 1
			}
			for i := 0; i+11 <= n; i++ {
				for _, pat := range finder {
					match := true
					for k, want := range pat {
						if at(i+k, j) != want {
							match = false
							break
						}
					}
					if match {
						score += 40
					}
				}
			}
		}
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			d := dark(x, y)
			if d {
				darkCount++
			}
			if x+1 < n && y+1 < n && dark(x+1, y) == d && dark(x, y+1) == d && dark(x+1, y+1) == d {
				score += 3
			}
		}
	}
	pct := darkCount * 100 / (n * n)
	off := pct - 50
	if off < 0 {
		off = -off
	}
	return score + 10*(off/5)
}

// Size returns the number of modules on a side, without the margin.
func (c *Code) Size() int { return c.c.Size }

// Version returns the QR version (1 to 40): 21 modules a side for version
// 1, four more for each version after.
func (c *Code) Version() int { return (c.c.Size - 17) / 4 }

// Black reports whether the module at column x, row y is dark.
func (c *Code) Black(x, y int) bool { return c.c.Black(x, y) }

// PNG returns a 1-bit PNG of the code, scale pixels a module (at least 1),
// with a 4-module white margin.
func (c *Code) PNG(scale int) []byte {
	cc := *c.c
	cc.Scale = max(scale, 1)
	return cc.PNG()
}

// SVG returns an SVG of the code with a 4-module margin, one unit a module,
// the dark modules of each row drawn as horizontal runs in one path: it
// scales to any size without blurring.
func (c *Code) SVG() []byte {
	n := c.c.Size + 2*quiet
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`+"\n", n, n, 8*n, 8*n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", n, n)
	b.WriteString(`<path fill="#000" d="`)
	for y := 0; y < c.c.Size; y++ {
		for x := 0; x < c.c.Size; {
			if !c.c.Black(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < c.c.Size && c.c.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quiet, y+quiet, run, run)
			x += run
		}
	}
	b.WriteString("\"/>\n</svg>\n")
	return b.Bytes()
}

// Limits on an image to read: a phone's photo fits, a decompression bomb
// does not.
const (
	maxImageBytes  = 32 << 20
	maxImagePixels = 50_000_000
)

// ErrNoCode is wrapped by the error of Decode and Read when no QR code is
// found in the image.
var ErrNoCode = errors.New("no QR code found in the image")

// Read decodes a PNG, JPEG or GIF image and returns the text of the QR code
// in it.
func Read(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading the image: %w", err)
	}
	if len(data) > maxImageBytes {
		return "", fmt.Errorf("the image is larger than %d MiB", maxImageBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("not a PNG, JPEG or GIF image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return "", fmt.Errorf("the %s image is %d×%d pixels: more than %d million", format, cfg.Width, cfg.Height, maxImagePixels/1_000_000)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("decoding the %s image: %w", format, err)
	}
	return Decode(img)
}

// Decode returns the text of the QR code in img.
func Decode(img image.Image) (text string, err error) {
	// The decoder is a port of a large Java library: whatever it does with
	// an odd image, a verifier must answer and not crash.
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("%w (the decoder failed: %v)", ErrNoCode, r)
		}
	}()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoCode, err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := zqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoCode, err)
	}
	return res.GetText(), nil
}
