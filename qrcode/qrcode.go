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
	"errors"
	"fmt"
	"image"
	_ "image/gif" // images a verifier may be handed
	_ "image/jpeg"
	_ "image/png"
	"io"

	"github.com/makiuchi-d/gozxing"
	zqr "github.com/makiuchi-d/gozxing/qrcode"
	"rsc.io/qr"
)

// quiet is the margin around a code, in modules, that ISO/IEC 18004 asks for.
const quiet = 4

// Code is a QR code.
type Code struct {
	c *qr.Code
}

// Encode makes the QR code of text at level Q.
func Encode(text string) (*Code, error) {
	c, err := qr.Encode(text, qr.Q)
	if err != nil {
		return nil, fmt.Errorf("QR code of %d characters: %w", len(text), err)
	}
	return &Code{c: c}, nil
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
