package credential

import (
	"bytes"
	"compress/zlib"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/qrcode"
)

// TestFormatSizes measures the token against the formats it was chosen
// over, with the same claims and the same Ed25519 signature: JWS compact
// (a JWT), PASETO v4.public, and a bare Ed25519 signature over a custom
// binary layout; and the token compressed with zlib, as HCERT does. It
// prints the table docs/instruction-tokens.md quotes (go test -v -run
// FormatSizes ./credential) and holds the choice to what that note says.
func TestFormatSizes(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	c := realistic(now)
	c.Issuer = kr.Deployment()
	msg, err := kr.SignBytes(c, now)
	if err != nil {
		t.Fatal(err)
	}
	tok := Prefix + encodeBase45(msg)
	kid := kr.Active().ID()
	priv := kr.keys[0].priv
	b64 := base64.RawURLEncoding

	// A JWT with short claim names, as small as JSON makes it.
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "kid": b64.EncodeToString(kid[:])})
	claims, _ := json.Marshal(map[string]any{
		"iss": c.Issuer, "iat": c.IssuedAt.Unix(), "exp": c.NotAfter.Unix(),
		"ins": c.Instruction, "v": c.Version, "sup": c.Supersedes, "hh": c.Household,
		"dig": b64.EncodeToString(c.Digest[:]), "rp": c.RallyPoint,
		"from": c.ReportFrom.Unix(), "by": c.ReportBy.Unix(), "grp": c.Group, "n": c.People,
	})
	signingInput := b64.EncodeToString(header) + "." + b64.EncodeToString(claims)
	jws := signingInput + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(signingInput)))

	// PASETO v4.public: the claims, the signature, the key id in a footer.
	footer, _ := json.Marshal(map[string]string{"kid": b64.EncodeToString(kid[:])})
	paseto := "v4.public." + b64.EncodeToString(append(claims, make([]byte, 64)...)) + "." + b64.EncodeToString(footer)

	// Bare Ed25519 over fixed fields and length-prefixed strings.
	var bare []byte
	bare = append(bare, kid[:]...)
	for _, u := range []time.Time{c.IssuedAt, c.NotAfter, c.ReportFrom, c.ReportBy} {
		bare = binary.BigEndian.AppendUint32(bare, uint32(u.Unix()))
	}
	bare = binary.BigEndian.AppendUint16(bare, uint16(c.Version))
	bare = binary.BigEndian.AppendUint16(bare, uint16(c.Supersedes))
	bare = binary.BigEndian.AppendUint16(bare, c.People)
	bare = append(bare, c.Digest[:]...)
	for _, s := range []string{c.Issuer, c.Instruction, c.Household, c.RallyPoint, c.Group} {
		bare = append(append(bare, byte(len(s))), s...)
	}
	bare = append(bare, ed25519.Sign(priv, bare)...)
	bareTok := "MB1:" + encodeBase45(bare)

	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(msg)
	zw.Close()
	zTok := "MZ1:" + encodeBase45(z.Bytes())

	version := func(s string) int {
		code, err := qrcode.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		return code.Version()
	}
	rows := []struct {
		name     string
		bytes    int
		text     string
		encoding string
	}{
		{"COSE_Sign1 + CBOR + base45 (chosen)", len(msg), tok, "alphanumeric"},
		{"the same, zlib-compressed", z.Len(), zTok, "alphanumeric"},
		{"bare Ed25519 + custom binary + base45", len(bare), bareTok, "alphanumeric"},
		{"JWS compact (JWT, EdDSA)", len(jws), jws, "byte"},
		{"PASETO v4.public", len(paseto), paseto, "byte"},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| format | bytes | characters | QR version at Q (mode) | modules |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		v := version(r.text)
		fmt.Fprintf(&table, "| %s | %d | %d | %d (%s) | %d |\n", r.name, r.bytes, len(r.text), v, r.encoding, (17+4*v)*(17+4*v))
	}
	t.Logf("same claims, same Ed25519 key:\n%s", table.String())

	if len(msg) >= 200 {
		t.Errorf("the token is %d bytes, want under 200", len(msg))
	}
	ours, jwsV, pasetoV := version(tok), version(jws), version(paseto)
	if ours > 12 {
		t.Errorf("the token needs a version %d QR code, want 12 or less", ours)
	}
	if area := func(v int) int { return (17 + 4*v) * (17 + 4*v) }; float64(area(jwsV)) < 1.4*float64(area(ours)) || float64(area(pasetoV)) < 1.4*float64(area(ours)) {
		t.Errorf("JWS (v%d) and PASETO (v%d) were measured at about 1.5 times the token's QR area (v%d): the design note needs updating", jwsV, pasetoV, ours)
	}
	if saved := len(msg) - z.Len(); saved > len(msg)/5 {
		t.Errorf("zlib saves %d of %d bytes: more than the design note says, reconsider it", saved, len(msg))
	}
}
