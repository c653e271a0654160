package seal

import (
	"crypto/rand"
	"sync"
)

// nonceBatch is how many nonces one read of crypto/rand makes.
const nonceBatch = 256

// nonceBuf is nonceBatch nonces read from crypto/rand at once, handed out
// one at a time.
type nonceBuf struct {
	buf [nonceBatch * nonceSize]byte
	off int // next unused byte; len(buf) when all are used
}

// nonceBufs keeps the buffers between seals, one a core or so. An
// issuance seals some 300,000 values on every core; a read of crypto/rand
// for each 12 bytes cost 0.2 CPU-seconds of it (0.4-0.5 µs a read, most
// of it the DRBG's own bookkeeping), and one buffer behind a lock, shared
// by the cores, 0.08 in the lock. A sync.Pool gives each goroutine a
// buffer of its own while it takes a nonce, without a lock on its way.
//
// What matters in a GCM nonce is that it never repeats under one key; it
// need not be secret (it is stored beside the ciphertext) nor
// unpredictable. A buffer is used by one goroutine at a time (the pool
// hands an object to one Get until it is Put back), each nonce in it is
// handed out once and then cleared, and a buffer the collector drops
// takes its unused nonces with it: so the nonces are the random bytes
// crypto/rand gave, each used once, and the bound on seals under one data
// key (about 2^32, see the package comment) is unchanged.
var nonceBufs = sync.Pool{New: func() any { return &nonceBuf{off: nonceBatch * nonceSize} }}

// fillNonce writes a fresh nonce to dst (nonceSize bytes).
func fillNonce(dst []byte) {
	b := nonceBufs.Get().(*nonceBuf)
	if b.off == len(b.buf) {
		_, _ = rand.Read(b.buf[:]) // never fails (crypto/rand crashes the program instead)
		b.off = 0
	}
	copy(dst[:nonceSize], b.buf[b.off:])
	clear(b.buf[b.off : b.off+nonceSize]) // a nonce used is not kept
	b.off += nonceSize
	nonceBufs.Put(b)
}
