package credential

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// The envelope is a COSE_Sign1 message (RFC 9052, section 4.2), tagged 18:
//
//	18([protected: bstr, unprotected: {}, payload: bstr, signature: bstr .size 64])
//
// with an Ed25519 signature (EdDSA, alg -8) over the Sig_structure
// ["Signature1", protected, h'', payload]. It is written and read here by
// hand rather than through a generic CBOR decoder: it has four fields, and
// reading them strictly (shortest lengths only, an empty unprotected
// header, nothing after the signature) makes every token have exactly one
// encoding, so that no changed character can leave the signature valid.

const (
	coseSign1Tag = 0xd2 // tag 18, in one byte
	algEdDSA     = 0x27 // -8, in one byte
	labelAlg     = 0x01
	labelCType   = 0x03
	labelKID     = 0x04
	cborArray4   = 0x84
	cborEmptyMap = 0xa0
)

// bundleContentType names the payload of a signed bundle in its protected
// header, so that a bundle can never pass for a token nor a token for a
// bundle.
const bundleContentType = "application/vnd.muster.bundle+cbor"

// protectedHeader returns the deterministic CBOR of the protected header:
// {1: -8, 4: kid} for a token, {1: -8, 3: content type, 4: kid} for a
// bundle (keys in ascending order).
func protectedHeader(kid KeyID, contentType string) []byte {
	h := make([]byte, 0, 16+len(contentType))
	if contentType == "" {
		h = append(h, 0xa2)
	} else {
		h = append(h, 0xa3)
	}
	h = append(h, labelAlg, algEdDSA)
	if contentType != "" {
		h = append(h, labelCType)
		h = appendHead(h, 3, uint64(len(contentType)))
		h = append(h, contentType...)
	}
	h = append(h, labelKID)
	h = appendHead(h, 2, uint64(len(kid)))
	return append(h, kid[:]...)
}

// parseProtected reads a protected header written by protectedHeader with
// the given content type and returns its key id.
func parseProtected(h []byte, contentType string) (KeyID, error) {
	var kid KeyID
	want := protectedHeader(kid, contentType)
	if len(h) != len(want) || !bytes.Equal(h[:len(h)-len(kid)], want[:len(want)-len(kid)]) {
		if contentType == "" && len(h) == len(protectedHeader(kid, bundleContentType)) {
			return kid, errors.New("its protected header is a bundle's, not a token's")
		}
		return kid, errors.New("its protected header is not {alg: EdDSA, kid: 8 bytes}")
	}
	copy(kid[:], h[len(h)-len(kid):])
	return kid, nil
}

// appendHead appends a CBOR head of the given major type with the shortest
// encoding of n (RFC 8949, section 4.2.1).
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendBytes(b []byte, v []byte) []byte {
	return append(appendHead(b, 2, uint64(len(v))), v...)
}

// sigStructure returns the bytes an Ed25519 signature covers:
// ["Signature1", protected, h”, payload].
func sigStructure(protected, payload []byte) []byte {
	b := make([]byte, 0, 16+len(protected)+len(payload)+8)
	b = append(b, cborArray4)
	b = append(b, 0x6a) // text of 10 bytes
	b = append(b, "Signature1"...)
	b = appendBytes(b, protected)
	b = append(b, 0x40) // no external additional data
	return appendBytes(b, payload)
}

// sign1 makes a COSE_Sign1 message of payload signed with priv.
func sign1(priv ed25519.PrivateKey, protected, payload []byte) []byte {
	sig := signEd25519(priv, sigStructure(protected, payload))
	b := make([]byte, 0, 8+len(protected)+len(payload)+len(sig))
	b = append(b, coseSign1Tag, cborArray4)
	b = appendBytes(b, protected)
	b = append(b, cborEmptyMap)
	b = appendBytes(b, payload)
	return appendBytes(b, sig)
}

// sign1Parts are the fields of a parsed COSE_Sign1 message; the slices
// alias the message.
type sign1Parts struct {
	protected, payload, signature []byte
}

// parseSign1 reads a COSE_Sign1 message strictly: the tag, four fields,
// shortest lengths, an empty unprotected header, a 64-byte signature and
// nothing after it. It does not check the signature.
func parseSign1(b []byte) (sign1Parts, error) {
	var p sign1Parts
	if len(b) < 2 || b[0] != coseSign1Tag || b[1] != cborArray4 {
		return p, errors.New("not a COSE_Sign1 message (tag 18, an array of 4)")
	}
	r := b[2:]
	var err error
	if p.protected, r, err = readBytes(r); err != nil {
		return p, fmt.Errorf("protected header: %w", err)
	}
	if len(r) == 0 || r[0] != cborEmptyMap {
		return p, errors.New("the unprotected header is not empty")
	}
	r = r[1:]
	if p.payload, r, err = readBytes(r); err != nil {
		return p, fmt.Errorf("payload: %w", err)
	}
	if p.signature, r, err = readBytes(r); err != nil {
		return p, fmt.Errorf("signature: %w", err)
	}
	if len(p.signature) != ed25519.SignatureSize {
		return p, fmt.Errorf("the signature is %d bytes, an Ed25519 signature is %d", len(p.signature), ed25519.SignatureSize)
	}
	if len(r) != 0 {
		return p, fmt.Errorf("%d bytes after the signature", len(r))
	}
	return p, nil
}

// readBytes reads a definite-length byte string with the shortest length
// encoding and returns it and what follows.
func readBytes(b []byte) (v, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errors.New("truncated")
	}
	if b[0]>>5 != 2 {
		return nil, nil, errors.New("not a byte string")
	}
	info := b[0] & 0x1f
	var n uint64
	var head int
	switch {
	case info < 24:
		n, head = uint64(info), 1
	case info == 24 && len(b) >= 2:
		n, head = uint64(b[1]), 2
		if n < 24 {
			return nil, nil, errors.New("length not in its shortest form")
		}
	case info == 25 && len(b) >= 3:
		n, head = uint64(b[1])<<8|uint64(b[2]), 3
		if n <= 0xff {
			return nil, nil, errors.New("length not in its shortest form")
		}
	case info == 26 && len(b) >= 5:
		n, head = uint64(b[1])<<24|uint64(b[2])<<16|uint64(b[3])<<8|uint64(b[4]), 5
		if n <= 0xffff {
			return nil, nil, errors.New("length not in its shortest form")
		}
	case info <= 26:
		return nil, nil, errors.New("truncated")
	default:
		return nil, nil, errors.New("an indefinite or 8-byte length")
	}
	if uint64(len(b)-head) < n {
		return nil, nil, errors.New("truncated")
	}
	return b[head : head+int(n)], b[head+int(n):], nil
}
