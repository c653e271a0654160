// Package auditlog keeps the audit log honest from outside the database.
//
// The store chains its audit entries twice: an unkeyed hash anyone can
// check, and a MAC under a key derived from the master key that is never
// stored in the database (seal.AuditKey). Whoever can write the database
// but does not hold the master key cannot edit an entry, nor rebuild the
// chain, without VerifyAudit failing. What no chain kept inside the
// database can show is its newest entries cut off together with the head
// moved back: the database is then simply an older, valid log.
//
// A checkpoint closes that gap: the head's seq, hash and MAC at a time,
// signed with Ed25519 under a key derived from the master key
// (seal.AuditSigningKey), written outside the database: appended to a file
// (muster serve --audit-checkpoints FILE, fsynced), to standard output for
// a log collector, and to the server's log. Verify then checks every
// checkpoint against the database: an entry a checkpoint saw must still be
// there with the same hash and MAC. A checkpoint cannot be forged without
// the master key; deleting checkpoint lines only loses coverage, which is
// why they should be shipped off the host too.
//
// A checkpoint is one line of JSON:
//
//	{"audit_checkpoint":1,"seq":42,"at":"2026-12-06T04:00:00.123456Z","hash":"<hex>","mac":"<hex>","key":"<hex>","sig":"<hex>"}
//
// key is the Ed25519 public key, sig the signature of
// "muster-audit-checkpoint-v1" || seq || at (UTC Unix microseconds), both
// 8 bytes big-endian, || hash || mac, each 32 bytes.
package auditlog

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Checkpoint is a signed statement that the audit log's head was entry
// Seq, with Hash and MAC, at At.
type Checkpoint struct {
	Seq  int64
	At   time.Time
	Hash []byte
	MAC  []byte
	Key  ed25519.PublicKey
	Sig  []byte
}

const (
	sigContext = "muster-audit-checkpoint-v1"
	digestSize = 32
	// maxLine bounds one checkpoint line: a valid one is about 400 bytes.
	maxLine = 4096
)

func (c *Checkpoint) message() []byte {
	var b bytes.Buffer
	b.WriteString(sigContext)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(c.Seq))
	b.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(c.At.UnixMicro()))
	b.Write(n[:])
	b.Write(c.Hash)
	b.Write(c.MAC)
	return b.Bytes()
}

// Sign returns the checkpoint of head (seq, hash, mac) at at, signed with
// key.
func Sign(key ed25519.PrivateKey, seq int64, hash, mac []byte, at time.Time) Checkpoint {
	c := Checkpoint{Seq: seq, At: at.UTC().Truncate(time.Microsecond), Hash: bytes.Clone(hash), MAC: bytes.Clone(mac),
		Key: key.Public().(ed25519.PublicKey)}
	c.Sig = ed25519.Sign(key, c.message())
	return c
}

type line struct {
	Version *int   `json:"audit_checkpoint"`
	Seq     *int64 `json:"seq"`
	At      string `json:"at"`
	Hash    string `json:"hash"`
	MAC     string `json:"mac"`
	Key     string `json:"key"`
	Sig     string `json:"sig"`
}

// MarshalLine is the checkpoint as one line of JSON, newline included.
func (c Checkpoint) MarshalLine() []byte {
	v := 1
	b, _ := json.Marshal(line{Version: &v, Seq: &c.Seq, At: c.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
		Hash: hex.EncodeToString(c.Hash), MAC: hex.EncodeToString(c.MAC), Key: hex.EncodeToString(c.Key), Sig: hex.EncodeToString(c.Sig)})
	return append(b, '\n')
}

// ParseLine reads one checkpoint line and checks its signature under
// want (any key when want is nil). The errors say which part is wrong.
func ParseLine(text []byte, want ed25519.PublicKey) (Checkpoint, error) {
	var c Checkpoint
	var l line
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return c, fmt.Errorf("not a checkpoint: %v", err)
	}
	if dec.More() {
		return c, errors.New("not a checkpoint: more after the JSON object")
	}
	if l.Version == nil || *l.Version != 1 {
		return c, errors.New(`not a checkpoint: "audit_checkpoint" is not 1`)
	}
	if l.Seq == nil || *l.Seq < 0 {
		return c, errors.New(`"seq" missing or negative`)
	}
	c.Seq = *l.Seq
	at, err := time.Parse(time.RFC3339Nano, l.At)
	if err != nil {
		return c, fmt.Errorf(`"at": %v`, err)
	}
	c.At = at.UTC()
	for _, f := range []struct {
		name string
		hex  string
		size int
		dst  *[]byte
	}{{"hash", l.Hash, digestSize, &c.Hash}, {"mac", l.MAC, digestSize, &c.MAC},
		{"key", l.Key, ed25519.PublicKeySize, (*[]byte)(&c.Key)}, {"sig", l.Sig, ed25519.SignatureSize, &c.Sig}} {
		b, err := hex.DecodeString(f.hex)
		if err != nil || len(b) != f.size {
			return c, fmt.Errorf("%q: want %d bytes in hex", f.name, f.size)
		}
		*f.dst = b
	}
	if want != nil && !bytes.Equal(c.Key, want) {
		return c, fmt.Errorf("signed by another key (%x…), not this master key's (%x…): another deployment's checkpoint, or a forged one", c.Key[:6], want[:6])
	}
	if !ed25519.Verify(c.Key, c.message(), c.Sig) {
		return c, errors.New("the signature does not verify: the line was edited or forged")
	}
	return c, nil
}

// Parse reads checkpoint lines from r (blank lines skipped), each signed
// under want. Any other line is an error naming it: a checkpoint file
// holds nothing else, and a line that fails its signature is tampering.
func Parse(r io.Reader, want ed25519.PublicKey) ([]Checkpoint, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	var out []Checkpoint
	n := 0
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		c, err := ParseLine(text, want)
		if err != nil {
			return out, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return out, fmt.Errorf("line %d: longer than %d bytes: not a checkpoint", n+1, maxLine)
		}
		return out, err
	}
	return out, nil
}

// String is a short description for messages.
func (c Checkpoint) String() string {
	return fmt.Sprintf("checkpoint of %s (entry %d, MAC %s…)", c.At.Format(time.RFC3339), c.Seq, strings.ToLower(hex.EncodeToString(c.MAC[:min(6, len(c.MAC))])))
}
