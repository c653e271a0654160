package web_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/qrcode"
)

// The camera test (web/e2e/camera.mjs) scans instructions' QR codes with
// the field page through Chromium's fake camera, which plays a Y4M file
// (--use-file-for-fake-video-capture). The files are made here, from real
// tokens the server under test issued: one shows a household's genuine
// token, the other another household's token with one character of its
// signature changed, re-encoded as a QR code.

// cameraEnv issues the instructions (as the planner, if none are current
// yet), writes the two camera files, and returns what camera.mjs reads:
// MUSTER_E2E_CAMERA_GENUINE and _FORGED (the Y4M files),
// MUSTER_E2E_CAMERA_GENUINE_ID (the instruction version the genuine code
// shows), MUSTER_E2E_CAMERA_FORGED_OF (the one the forgery was made from)
// and MUSTER_E2E_CAMERA_FORGED_TOKEN (the forged text).
func cameraEnv(t *testing.T, base, spki string) []string {
	t.Helper()
	as := apiLogin(t, spkiClient(spki), base, "e2e-planner")
	type issued struct {
		ID          string `json:"id"`
		Token       string `json:"token"`
		Instruction struct {
			Audience string `json:"audience"`
		} `json:"instruction"`
	}
	list := func() []issued {
		var page struct {
			Instructions []issued `json:"instructions"`
		}
		as.call(t, "GET", "/api/instructions?status=current&audience=household&limit=1000", nil, 200, &page)
		var out []issued
		for _, i := range page.Instructions {
			if i.Instruction.Audience == "household" && i.Token != "" {
				out = append(out, i)
			}
		}
		return out
	}
	all := list()
	if len(all) == 0 {
		var plan struct {
			ID string `json:"id"`
		}
		as.call(t, "POST", "/api/plans", map[string]any{}, 201, &plan)
		as.call(t, "POST", "/api/plans/"+plan.ID+"/approve", map[string]any{}, 200, nil)
		all = list()
	}
	if len(all) < 2 {
		t.Fatalf("the camera test needs two household instructions; the server has %d", len(all))
	}
	// Each frame must hold its text, read back by another decoder
	// (ZXing's), before a browser is asked to. qrcode.Encode makes codes
	// ZXing reads, but its detector still misses about one in a few
	// hundred perfect frames: then the next instruction (or forgery) is
	// filmed, and the test says so.
	readable := func(text string) (*image.Gray, bool) {
		frame := qrFrame(t, text, 640, 480)
		got, err := qrcode.Decode(frame)
		if err != nil || got != text {
			t.Logf("a camera frame reads back as %q (%v): another is filmed", got, err)
			return nil, false
		}
		return frame, true
	}
	var genuine issued
	var genuineFrame *image.Gray
	for _, in := range all[:len(all)-1] {
		if f, ok := readable(in.Token); ok {
			genuine, genuineFrame = in, f
			break
		}
	}
	var other issued
	var forged string
	var forgedFrame *image.Gray
	for i := len(all) - 1; i > 0 && forgedFrame == nil; i-- {
		if all[i].ID == genuine.ID {
			continue
		}
		for k := 10; k < 20; k++ {
			f := forgeTokenAt(t, all[i].Token, k)
			if frame, ok := readable(f); ok {
				other, forged, forgedFrame = all[i], f, frame
				break
			}
		}
	}
	if genuineFrame == nil || forgedFrame == nil {
		t.Fatalf("no instruction, genuine or forged, makes a camera frame ZXing reads back (%d instructions)", len(all))
	}

	dir := t.TempDir()
	env := []string{
		"MUSTER_E2E_CAMERA_GENUINE_ID=" + genuine.ID,
		"MUSTER_E2E_CAMERA_FORGED_OF=" + other.ID,
		"MUSTER_E2E_CAMERA_FORGED_TOKEN=" + forged,
	}
	for name, frame := range map[string]*image.Gray{"genuine": genuineFrame, "forged": forgedFrame} {
		path := filepath.Join(dir, name+".y4m")
		if err := writeY4M(path, frame, 5); err != nil {
			t.Fatal(err)
		}
		env = append(env, "MUSTER_E2E_CAMERA_"+strings.ToUpper(name)+"="+path)
	}
	return env
}

// forgeToken changes one character of a token's signature (the least
// significant character of one of its last base45 triples, down by one:
// still base45, still a COSE structure, but signed by no one) and returns
// the forgery.
func forgeToken(t *testing.T, token string) string {
	t.Helper()
	return forgeTokenAt(t, token, 10)
}

// forgeTokenAt forges token at the triple k triples from its end (10 to
// 20 are inside the signature), as forgeToken does at 10.
func forgeTokenAt(t *testing.T, token string, k int) string {
	t.Helper()
	const prefix = "MU1:"
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	body, ok := strings.CutPrefix(token, prefix)
	if !ok || len(body) < 60 {
		t.Fatalf("not a muster token: %.40q", token)
	}
	// Triples start at 0, 3, 6, ...; the signature is the last 64 bytes
	// (96 characters): ten to twenty triples from the end is inside it.
	i := (len(body)/3 - k) * 3
	v := strings.IndexByte(alphabet, body[i])
	if v < 0 {
		t.Fatalf("token character %d (%q) is not base45", i, body[i])
	}
	if v > 0 {
		v--
	} else {
		v++ // 0 becomes 1: the triple's value grows by one, which can overflow only at 65535, whose first character is not 0
	}
	forged := prefix + body[:i] + string(alphabet[v]) + body[i+1:]
	if forged == token || len(forged) != len(token) {
		t.Fatal("the forgery is the token")
	}
	return forged
}

// qrFrame draws text's QR code black on white, with its 4-module quiet
// zone, as large as whole pixels a module allow, centred on a w×h
// grayscale frame (a sheet of paper filling the camera's view).
func qrFrame(t *testing.T, text string, w, h int) *image.Gray {
	t.Helper()
	code, err := qrcode.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	const quiet = 4
	n := code.Size() + 2*quiet
	scale := min(w, h) / n
	if scale < 3 {
		t.Fatalf("a QR code of %d modules does not fit %dx%d at 3 pixels a module", n, w, h)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	x0, y0 := (w-n*scale)/2, (h-n*scale)/2
	for my := 0; my < code.Size(); my++ {
		for mx := 0; mx < code.Size(); mx++ {
			if !code.Black(mx, my) {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					img.SetGray(x0+(mx+quiet)*scale+dx, y0+(my+quiet)*scale+dy, color.Gray{})
				}
			}
		}
	}
	return img
}

// writeY4M writes frames copies of img as a YUV4MPEG2 file (4:2:0, 30
// frames a second): the luma plane is the image, the chroma planes
// neutral (128), which is what Chromium's fake camera plays.
func writeY4M(path string, img *image.Gray, frames int) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("y4m %s: %dx%d, want even sides for 4:2:0", path, w, h)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	b := bufio.NewWriter(f)
	fmt.Fprintf(b, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", w, h)
	chroma := bytes.Repeat([]byte{128}, 2*(w/2)*(h/2))
	for range frames {
		b.WriteString("FRAME\n")
		for y := 0; y < h; y++ {
			b.Write(img.Pix[y*img.Stride : y*img.Stride+w])
		}
		b.Write(chroma)
	}
	if err := b.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("y4m %s: %w", path, err)
	}
	return f.Close()
}

// spkiClient is an HTTP client that trusts the server whose key has the
// SPKI hash spki (base64 SHA-256), as Chromium is told to, and no other.
func spkiClient(spki string) *http.Client {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("no server certificate")
		}
		cert, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		if got := base64.StdEncoding.EncodeToString(sum[:]); got != spki {
			return fmt.Errorf("server key %s, want %s", got, spki)
		}
		return nil
	}
	// The chain is not checked: the key's hash is (VerifyPeerCertificate).
	tc := &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: verify} //nolint:gosec
	// Planning the demo city takes a while on a busy machine.
	return &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{TLSClientConfig: tc}}
}

// apiClient calls the server's API as one signed-in account.
type apiClient struct {
	c           *http.Client
	base, token string
}

func apiLogin(t *testing.T, c *http.Client, base, name string) *apiClient {
	t.Helper()
	as := &apiClient{c: c, base: base}
	var out struct {
		Token string `json:"token"`
	}
	as.call(t, "POST", "/api/login", map[string]string{"name": name, "password": E2EPassword}, 200, &out)
	as.token = out.Token
	return as
}

// call sends body as JSON, fails the test unless the answer has status
// want, and decodes it into out (if not nil).
func (a *apiClient) call(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %.500s", method, path, resp.StatusCode, want, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: %v: %.300s", method, path, err, got)
		}
	}
}

// The camera film's layout, which Chromium's Y4M reader expects: the
// header, then per frame "FRAME\n", the luma plane (the image, row by
// row) and both chroma planes at 128; and a forgery that reads back from
// its frame, one character off the token.
func TestCameraFilm(t *testing.T) {
	const token = "MU1:6BFOXN*TS0BI$ZDFRH%0HN%OAFDFRP6BFOXN*TS0BI$ZDFRH%0HN%OAFDFRP6BFOXN*TS0BI$ZDFRH%0HN%OAFDFRP6BFOXN*TS0BI$ZDFRH%0HN%OAFDFRP"
	forged := forgeToken(t, token)
	diff := 0
	for i := range token {
		if token[i] != forged[i] {
			diff++
		}
	}
	if diff != 1 || len(forged) != len(token) {
		t.Fatalf("the forgery differs in %d characters, want 1:\n%s\n%s", diff, token, forged)
	}
	frame := qrFrame(t, forged, 64*4, 48*4)
	if got, err := qrcode.Decode(frame); err != nil || got != forged {
		t.Fatalf("the frame reads %q (%v), want %q", got, err, forged)
	}
	path := filepath.Join(t.TempDir(), "film.y4m")
	if err := writeY4M(path, frame, 3); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head := "YUV4MPEG2 W256 H192 F30:1 Ip A1:1 C420jpeg\n"
	w, h := 256, 192
	each := len("FRAME\n") + w*h + 2*(w/2)*(h/2)
	if !bytes.HasPrefix(b, []byte(head)) || len(b) != len(head)+3*each {
		t.Fatalf("%d bytes starting %.60q, want %q and 3 frames of %d bytes", len(b), b, head, each)
	}
	for f := range 3 {
		fr := b[len(head)+f*each:]
		if string(fr[:6]) != "FRAME\n" {
			t.Fatalf("frame %d starts %q", f, fr[:6])
		}
		if !bytes.Equal(fr[6:6+w*h], frame.Pix) {
			t.Fatalf("frame %d: the luma plane is not the image", f)
		}
		if bytes.Count(fr[6+w*h:each], []byte{128}) != 2*(w/2)*(h/2) {
			t.Fatalf("frame %d: chroma not neutral", f)
		}
	}
	if err := writeY4M(path, image.NewGray(image.Rect(0, 0, 3, 2)), 1); err == nil {
		t.Error("an odd width was written as 4:2:0")
	}
}
