// Package credential makes and checks instruction tokens: the signed,
// compact form of an evacuee's instruction that anyone can verify without
// a network, from a text message or a QR code.
//
// A token is "MU1:" and the base45 (RFC 9285) of a COSE_Sign1 message
// (RFC 9052) signed with Ed25519, its key id in the protected header, over
// CWT-style claims (RFC 8392) in deterministic CBOR: the instruction's id,
// version and the version it supersedes, the household, issue and expiry
// times, the deployment, a digest of the instruction's full text, and what
// a checker at a rally point needs offline (rally point, report-by window,
// group code, people admitted). Realistic claims make 187 bytes, 285
// characters, a version 12 QR code at level Q.
//
// A deployment's Keyring signs (Sign) with its newest key; Rotate retires
// that key for signing and keeps it for verification until every token it
// could have signed has expired. The keyring file keeps private keys
// sealed under the master key (package seal). A Bundle holds what a
// verifier needs: the public keys, each endorsed by the one before, and
// the statuses (revoked and superseded versions) as of a time; offline
// verifiers get it signed (SignBundle, OpenBundle, Refresh). Verify says
// plainly whether a token is genuine and current, superseded (by which
// version; CompareWith says what changed), revoked, expired, signed by an
// unknown key, or forged, and always how old its bundle is.
//
// The package stores nothing and talks to no network, beside reading and
// writing its keyring file: it is meant to run on a server, a phone or a
// gate scanner alike. docs/instruction-tokens.md gives the design, its
// measured sizes, and what it does against whom.
package credential
