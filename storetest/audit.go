package storetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/auditlog"
)

// The keyed audit chain and its checkpoints, as an intruder with write
// access to the database (but not the master key) would attack them.

// blob is a bytes literal in the store's SQL dialect.
func (e *env) blob(b []byte) string {
	if strings.Contains(fmt.Sprintf("%T", e.store), "postgres") {
		return "decode('" + hex.EncodeToString(b) + "', 'hex')"
	}
	return "X'" + hex.EncodeToString(b) + "'"
}

// auditFields are the columns of an audit entry and an edit of each.
var auditFields = map[string]string{
	"at":        `UPDATE audit SET at = at + 1 WHERE seq = 4`,
	"actor":     `UPDATE audit SET actor = 'someone else' WHERE seq = 4`,
	"action":    `UPDATE audit SET action = 'household.list' WHERE seq = 4`,
	"target":    `UPDATE audit SET target = 'household:H999999' WHERE seq = 4`,
	"detail":    `UPDATE audit SET detail = 'nothing to see' WHERE seq = 4`,
	"prev_hash": `UPDATE audit SET prev_hash = (SELECT hash FROM audit WHERE seq = 1) WHERE seq = 4`,
	"hash":      `UPDATE audit SET hash = (SELECT hash FROM audit WHERE seq = 3) WHERE seq = 4`,
	"mac":       `UPDATE audit SET mac = (SELECT mac FROM audit WHERE seq = 3) WHERE seq = 4`,
	"no mac":    `UPDATE audit SET mac = NULL WHERE seq = 4`,
}

// testAuditTamperField edits each field of entry 4 in turn: every edit
// is found, at entry 4.
func testAuditTamperField(t *testing.T, fresh Fresh) {
	for field, edit := range auditFields {
		t.Run(field, func(t *testing.T) {
			e := setup(t, fresh)
			fillAudit(t, e, 8)
			if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK || len(v.HeadMAC) != 32 {
				t.Fatalf("before tampering: %+v", v)
			}
			e.db.Exec(t, edit)
			v := must(e.store.VerifyAudit(e.ctx))(t)
			if v.OK || v.FirstBad != 4 || v.Reason == "" {
				t.Fatalf("%s edited: verify says %+v, want first bad 4", field, v)
			}
			t.Logf("%s: %s", field, v.Reason)
		})
	}
}

// rechain rewrites the actor of entry from and recomputes every hash from
// there to the head, as whoever can write the database can; with macKey,
// the MACs too, as only a holder of the audit key can.
func rechain(t *testing.T, e *env, from int64, macKey []byte) {
	es := must(e.store.ListAudit(e.ctx, 0, 0))(t)
	prev, prevMAC := es[from-2].Hash, es[from-2].MAC
	var sqls []string
	for _, en := range es[from-1:] {
		if en.Seq == from {
			en.Actor = "someone else"
		}
		en.PrevHash = prev
		en.Hash = en.ChainHash(prev)
		if macKey != nil {
			en.MAC = en.ChainMAC(macKey, prevMAC, en.Hash)
		}
		sqls = append(sqls, fmt.Sprintf(`UPDATE audit SET actor = '%s', prev_hash = %s, hash = %s, mac = %s WHERE seq = %d`,
			en.Actor, e.blob(en.PrevHash), e.blob(en.Hash), e.blob(en.MAC), en.Seq))
		prev, prevMAC = en.Hash, en.MAC
	}
	sqls = append(sqls, fmt.Sprintf(`UPDATE audit_head SET hash = %s, mac = %s WHERE id = 1`, e.blob(prev), e.blob(prevMAC)))
	for _, q := range sqls {
		e.db.Exec(t, q)
	}
}

// testAuditRechained: an entry edited and every hash after it recomputed
// passes the unkeyed chain but fails the MACs.
func testAuditRechained(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	fillAudit(t, e, 8)
	rechain(t, e, 3, nil)
	es := must(e.store.ListAudit(e.ctx, 0, 0))(t)
	prev := make([]byte, 32)
	for _, en := range es {
		if !bytes.Equal(en.Hash, en.ChainHash(prev)) {
			t.Fatalf("the re-chain left entry %d's hash wrong: the check below would prove nothing", en.Seq)
		}
		prev = en.Hash
	}
	v := must(e.store.VerifyAudit(e.ctx))(t)
	if v.OK || v.FirstBad != 3 || !strings.Contains(v.Reason, "MAC") {
		t.Fatalf("re-chained from entry 3: verify says %+v", v)
	}
	t.Log(v.Reason)
}

// testAuditOtherKey: the MACs are under the key the store is given, so a
// store given another key rejects the log from its first entry.
func testAuditOtherKey(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	fillAudit(t, e, 4)
	keys := e.keys.DataKeys()
	keys.AuditKey = bytes.Repeat([]byte{7}, 32)
	other := must(e.db.Open(e.ctx, keys))(t)
	defer other.Close()
	if v := must(other.VerifyAudit(e.ctx))(t); v.OK || v.FirstBad != 1 {
		t.Fatalf("another audit key: verify says %+v", v)
	}
	keys.AuditKey = nil
	if s, err := e.db.Open(e.ctx, keys); err == nil {
		s.Close()
		t.Fatal("a store opened without an audit key")
	}
}

// quiet drops the checkpoint writer's log lines.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// appendReads appends n audit entries of reads, with a detail.
func appendReads(t *testing.T, e *env, n int) {
	for i := range n {
		must(e.store.AppendAudit(e.ctx, muster.AuditEntry{Action: "household.read", Target: fmt.Sprintf("household:H%06d", i), Detail: "via test"}))(t)
	}
}

// checkpointKey is the signing key of these tests.
var checkpointKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))

func (e *env) auditKey() []byte { return e.keys.DataKeys().AuditKey }

// checkpoints runs a checkpoint writer over the store and returns what
// it wrote.
func checkpoints(t *testing.T, e *env, grow func()) []auditlog.Checkpoint {
	var out bytes.Buffer
	w := &auditlog.Writer{Store: e.store, AuditKey: e.auditKey(), Key: checkpointKey, Out: &out, Log: quiet}
	if err := w.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	grow()
	if err := w.Checkpoint(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Checkpoint(e.ctx); err != nil { // nothing new: nothing written
		t.Fatal(err)
	}
	cps, err := auditlog.Parse(&out, checkpointKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 {
		t.Fatalf("%d checkpoints written, want 2 (start, after growing)", len(cps))
	}
	return cps
}

// testAuditCheckpoints: a tail cut off with the head moved back leaves a
// log that verifies on its own, and checkpoints catch it; so they catch a
// log rebuilt with the audit key itself.
func testAuditCheckpoints(t *testing.T, fresh Fresh) {
	for _, how := range []string{"intact", "truncated", "rebuilt with the key", "rebuilt without the key"} {
		t.Run(how, func(t *testing.T) {
			e := setup(t, fresh)
			fillAudit(t, e, 4)
			cps := checkpoints(t, e, func() { appendReads(t, e, 6) })
			if cps[0].Seq != 4 || cps[1].Seq != 10 {
				t.Fatalf("checkpoints at %d and %d, want 4 and 10", cps[0].Seq, cps[1].Seq)
			}
			wantInReason := ""
			switch how {
			case "truncated":
				es := must(e.store.ListAudit(e.ctx, 6, 1))(t)
				e.db.Exec(t, `DELETE FROM audit WHERE seq > 7`)
				e.db.Exec(t, fmt.Sprintf(`UPDATE audit_head SET seq = 7, hash = %s, mac = %s WHERE id = 1`, e.blob(es[0].Hash), e.blob(es[0].MAC)))
				if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
					t.Fatalf("a cleanly truncated log fails on its own (%+v): the check below would prove less", v)
				}
				wantInReason = "removed"
			case "rebuilt with the key":
				rechain(t, e, 6, e.auditKey())
				if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
					t.Fatalf("a log rebuilt with the key fails on its own (%+v): the check below would prove less", v)
				}
				wantInReason = "rewritten"
			case "rebuilt without the key":
				rechain(t, e, 6, nil)
				wantInReason = "MAC"
			}
			r := must(auditlog.Verify(e.ctx, e.store, cps))(t)
			if how == "intact" {
				if !r.OK || r.Checked != 2 || r.Latest.Seq != 10 {
					t.Fatalf("intact log: %+v", r)
				}
				return
			}
			if r.OK || !strings.Contains(r.Reason, wantInReason) {
				t.Fatalf("%s: checkpoints verify says %+v, want a reason with %q", how, r, wantInReason)
			}
			t.Log(r.Reason)
		})
	}
}

// testAuditWriterSeesChange: an entry changed under a running checkpoint
// writer stops it signing.
func testAuditWriterSeesChange(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	fillAudit(t, e, 4)
	var out bytes.Buffer
	w := &auditlog.Writer{Store: e.store, AuditKey: e.auditKey(), Key: checkpointKey, Out: &out, Log: quiet}
	if err := w.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	// The intruder rewrites the last entry the writer signed, then the
	// log grows on top of the rewrite.
	e.db.Exec(t, `DELETE FROM audit WHERE seq = 4`)
	es := must(e.store.ListAudit(e.ctx, 2, 1))(t)
	e.db.Exec(t, fmt.Sprintf(`UPDATE audit_head SET seq = 3, hash = %s, mac = %s WHERE id = 1`, e.blob(es[0].Hash), e.blob(es[0].MAC)))
	appendReads(t, e, 3)
	if err := w.Checkpoint(e.ctx); err != nil {
		t.Fatal(err)
	}
	cps := must(auditlog.Parse(&out, nil))(t)
	if len(cps) != 1 {
		t.Fatalf("%d checkpoints, want only the first: the writer signed a log that does not extend what it signed", len(cps))
	}
}

// testAuditAfterWipe: after a wipe the store opens for its audit log
// (DataKeys.OpenWiped), which verifies, checkpoints and all, while the
// personal data stays out of reach.
func testAuditAfterWipe(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	fillAudit(t, e, 4)
	cps := checkpoints(t, e, func() { must(e.store.Wipe(e.ctx))(t) })
	keys := e.keys.DataKeys()
	keys.OpenWiped = true
	wiped := must(e.db.Open(e.ctx, keys))(t)
	defer wiped.Close()
	r := must(auditlog.Verify(e.ctx, wiped, cps))(t)
	if !r.OK || r.Audit.Entries != 5 {
		t.Fatalf("audit log after wipe: %+v", r)
	}
	_, err := wiped.GetHousehold(e.ctx, "H000000")
	wantCode(t, err, muster.EFORBIDDEN, "read of a wiped database opened for its audit log")
	must(wiped.AppendAudit(e.ctx, muster.AuditEntry{Action: "audit.verify", Target: "audit"}))(t)
	if v := must(wiped.VerifyAudit(e.ctx))(t); !v.OK || v.Entries != 6 {
		t.Fatalf("appended after wipe: %+v", v)
	}
}

// auditMAC is the chain MAC as docs/server.md specifies it, computed
// here without muster.AuditEntry.ChainMAC.
func auditMAC(key, prevMAC []byte, e muster.AuditEntry) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("muster-audit-mac-v1"))
	for _, p := range [][]byte{prevMAC, e.Hash} {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(p))))
		m.Write(p)
	}
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(e.Seq)))
	return m.Sum(nil)
}
