package credential

import (
	"bytes"
	"crypto/ed25519"
	"log/slog"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Tokens are signed with curve25519-voi's Ed25519 (Oasis Protocol's, from
// Go's own and curve25519-dalek, BSD-3), and verified, everywhere, with
// crypto/ed25519. Ed25519 signatures are deterministic (RFC 8032): a key
// and a message have one signature, whoever computes it, so the tokens
// are byte for byte what crypto/ed25519 would sign. It signs in 11 µs
// where crypto/ed25519 takes 19 on this project's 2-core machine
// (BenchmarkEd25519: its larger precomputed table of the base point), and
// an approval of 100,000 instructions signs 100,000 tokens: 0.85 of its
// 10 CPU-seconds. TestFastSignIsEd25519 and FuzzFastSign compare the two;
// and each process compares them once, on a key of its own, before its
// first signature, falling back to crypto/ed25519 if they differ (a
// broken build or platform must not sign tokens nobody can verify).

var (
	checkFastSign sync.Once
	fastSignOK    bool
)

// signEd25519 is ed25519.Sign(priv, msg).
func signEd25519(priv ed25519.PrivateKey, msg []byte) []byte {
	checkFastSign.Do(func() {
		fastSignOK = fastSignAgrees()
		if !fastSignOK {
			slog.Error("curve25519-voi's Ed25519 signs otherwise than crypto/ed25519 in this build: signing with crypto/ed25519 (slower)")
		}
	})
	if !fastSignOK {
		return ed25519.Sign(priv, msg)
	}
	return voi.Sign(voi.PrivateKey(priv), msg)
}

// fastSignAgrees reports whether voi signs a few messages as
// crypto/ed25519 does, under a fixed key, and the signatures verify.
func fastSignAgrees() bool {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, ed25519.SeedSize))
	for _, msg := range [][]byte{nil, []byte("muster"), bytes.Repeat([]byte{0xa5}, 300)} {
		want := ed25519.Sign(priv, msg)
		got := voi.Sign(voi.PrivateKey(priv), msg)
		if !bytes.Equal(got, want) || !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, got) {
			return false
		}
	}
	return true
}
