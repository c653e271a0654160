package seal

import (
	"crypto/rand"
	"sync"
)

// nonceBatch is how many nonces one read of crypto/rand makes.
const nonceBatch = 256

// nonceSource hands out random nonces read from crypto/rand a few
// kilobytes at a time. An issuance seals some 300,000 values on every
// core; a read of crypto/rand for each 12 bytes cost 0.2 CPU-seconds of
// it (0.4-0.5 µs a read, most of it the DRBG's own bookkeeping), a copy
// from this buffer a few nanoseconds.
//
// What matters in a GCM nonce is that it never repeats under one key;
// it need not be secret (it is stored beside the ciphertext) nor
// unpredictable. Nonces read ahead are the same random bytes, each handed
// out once (the offset moves under the lock before the lock is let go),
// so the bound on seals under one data key (about 2^32, see the package
// comment) is unchanged.
type nonceSource struct {
	mu  sync.Mutex
	buf [nonceBatch * nonceSize]byte
	off int // next unused byte; len(buf) when all are used
}

func newNonceSource() *nonceSource { return &nonceSource{off: nonceBatch * nonceSize} }

// fill writes a fresh nonce to dst (nonceSize bytes).
func (s *nonceSource) fill(dst []byte) {
	s.mu.Lock()
	if s.off == len(s.buf) {
		_, _ = rand.Read(s.buf[:]) // never fails (crypto/rand crashes the program instead)
		s.off = 0
	}
	copy(dst[:nonceSize], s.buf[s.off:])
	clear(s.buf[s.off : s.off+nonceSize]) // a nonce used is not kept
	s.off += nonceSize
	s.mu.Unlock()
}
