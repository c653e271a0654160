package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// TestFastSignIsEd25519: the signature signEd25519 makes is the one
// crypto/ed25519 makes, and verifies with it, for random keys and
// messages of every size a token's signing input has (and more), and
// this build's self-check passes.
func TestFastSignIsEd25519(t *testing.T) {
	if !fastSignAgrees() {
		t.Fatal("curve25519-voi does not sign as crypto/ed25519 in this build")
	}
	for i := range 2000 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, i%400)
		rand.Read(msg)
		got, want := signEd25519(priv, msg), ed25519.Sign(priv, msg)
		if !bytes.Equal(got, want) || !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, got) {
			t.Fatalf("key %d, a message of %d bytes: signed %x, crypto/ed25519 signs %x", i, len(msg), got, want)
		}
	}
	if !fastSignOK {
		t.Fatal("the process signs with crypto/ed25519: its self-check failed")
	}
}

// FuzzFastSign: any seed and message are signed as crypto/ed25519 signs
// them.
func FuzzFastSign(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, ed25519.SeedSize), []byte("muster"))
	f.Add(make([]byte, ed25519.SeedSize), []byte{})
	f.Fuzz(func(t *testing.T, seed, msg []byte) {
		if len(seed) != ed25519.SeedSize {
			return
		}
		priv := ed25519.NewKeyFromSeed(seed)
		if got, want := signEd25519(priv, msg), ed25519.Sign(priv, msg); !bytes.Equal(got, want) {
			t.Fatalf("signed %x, crypto/ed25519 signs %x", got, want)
		}
	})
}

// BenchmarkEd25519: a token's signing input (about 200 bytes) signed by
// crypto/ed25519 and by curve25519-voi (what signEd25519 uses); report
// the ratio.
func BenchmarkEd25519(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := bytes.Repeat([]byte{0xa5}, 200)
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
	b.Run("curve25519-voi", func(b *testing.B) {
		for b.Loop() {
			voi.Sign(voi.PrivateKey(priv), msg)
		}
	})
}
