package credential

// appendClaimsCBOR appends w's deterministic CBOR (RFC 8949 core
// deterministic encoding, as cbor.CoreDetEncOptions writes the wire
// structs: keys in bytewise order of their encodings, shortest lengths,
// fields tagged omitempty left out when zero). An issuance encodes a
// claims map a token, 100,000 of them; the library's reflection took
// 0.7-0.9 µs each, this 35-41 ns (BenchmarkClaimsCBOR).
// TestClaimsCBORMatchesTheLibrary and FuzzClaimsCBOR hold it to the
// library's bytes.
func appendClaimsCBOR(b []byte, w *wireClaims) []byte {
	b = append(b, 0xa4) // a map of 4: 1, 4, 6, -65537
	b = append(b, 0x01)
	b = appendCBORText(b, w.Issuer)
	b = append(b, 0x04)
	b = appendHead(b, 0, w.Expires)
	b = append(b, 0x06)
	b = appendHead(b, 0, w.IssuedAt)
	b = append(b, 0x3a, 0x00, 0x01, 0x00, 0x00) // -65537: major type 1, 65536
	m := &w.Muster
	n := uint64(4) // instruction, household, version, digest
	for _, present := range [...]bool{m.Supersedes != 0, m.RallyPoint != "", m.ReportFrom != 0, m.ReportBy != 0, m.Group != "", m.People != 0} {
		if present {
			n++
		}
	}
	b = appendHead(b, 5, n)
	b = append(b, 0x01)
	b = appendCBORText(b, m.Instruction)
	b = append(b, 0x02)
	b = appendCBORText(b, m.Household)
	b = append(b, 0x03)
	b = appendHead(b, 0, uint64(m.Version))
	if m.Supersedes != 0 {
		b = append(b, 0x04)
		b = appendHead(b, 0, uint64(m.Supersedes))
	}
	b = append(b, 0x05)
	if m.Digest == nil {
		b = append(b, 0xf6) // null, as the library writes a nil byte string
	} else {
		b = appendBytes(b, m.Digest)
	}
	if m.RallyPoint != "" {
		b = append(b, 0x06)
		b = appendCBORText(b, m.RallyPoint)
	}
	if m.ReportFrom != 0 {
		b = append(b, 0x07)
		b = appendHead(b, 0, m.ReportFrom)
	}
	if m.ReportBy != 0 {
		b = append(b, 0x08)
		b = appendHead(b, 0, m.ReportBy)
	}
	if m.Group != "" {
		b = append(b, 0x09)
		b = appendCBORText(b, m.Group)
	}
	if m.People != 0 {
		b = append(b, 0x0a)
		b = appendHead(b, 0, uint64(m.People))
	}
	return b
}

func appendCBORText(b []byte, s string) []byte {
	return append(appendHead(b, 3, uint64(len(s))), s...)
}
