package sqlstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// The audit chain: audit_head holds one row (the last seq, hash and MAC).
// An append locks it (SELECT ... FOR UPDATE on PostgreSQL; SQLite's single
// writer excludes everyone anyway), so concurrent instances extend one
// chain, never two branches. VerifyAudit also compares the last entry with
// the head, which catches a truncated tail when the head was left alone.
//
// Two chains run side by side: the unkeyed hash (AuditEntry.ChainHash),
// which anyone can check, and the MAC (AuditEntry.ChainMAC) under the
// audit key, which the store is given and never stores. Whoever can write
// the database can edit an entry and recompute every hash after it, but
// not the MACs. What no chain inside the database can show is a tail cut
// off together with the head moved back: the signed checkpoints kept
// outside it do (package auditlog, docs/server.md).

const auditChunk = 50

var (
	insertAuditOne   = `INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertAuditChunk = `INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash, mac) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", auditChunk), ", ")
)

// appendAudit appends es to the chain inside w's transaction.
func (c *Core) appendAudit(w *wtx, es []muster.AuditEntry) ([]muster.AuditEntry, error) {
	if len(es) == 0 {
		return nil, nil
	}
	var seq int64
	var prev, prevMAC []byte
	if err := w.queryRow(`SELECT seq, hash, mac FROM audit_head WHERE id = 1`+c.d.ForUpdate).Scan(&seq, &prev, &prevMAC); err != nil {
		return nil, fmt.Errorf("audit: lock the chain head: %w", err)
	}
	out := make([]muster.AuditEntry, len(es))
	for i, e := range es {
		seq++
		e.Seq = seq
		e.At = e.At.UTC().Truncate(time.Microsecond)
		e.PrevHash = prev
		e.Hash = e.ChainHash(prev)
		e.MAC = e.ChainMAC(c.auditKey, prevMAC, e.Hash)
		prev, prevMAC = e.Hash, e.MAC
		out[i] = e
	}
	// Whole chunks in one statement each, the rest one by one: two
	// statements to prepare, and few round trips while the head is locked.
	for start := 0; start < len(out); {
		n, query := auditChunk, insertAuditChunk
		if len(out)-start < auditChunk {
			n, query = 1, insertAuditOne
		}
		args := make([]any, 0, 9*n)
		for _, e := range out[start : start+n] {
			args = append(args, e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.Detail, e.PrevHash, e.Hash, e.MAC)
		}
		if _, err := w.exec(query, args...); err != nil {
			return nil, fmt.Errorf("audit: append %d: %w", out[start].Seq, err)
		}
		start += n
	}
	if _, err := w.exec(`UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1`, seq, prev, prevMAC); err != nil {
		return nil, fmt.Errorf("audit: move the chain head: %w", err)
	}
	return out, nil
}

// AppendAudit implements muster.Store.
func (c *Core) AppendAudit(ctx context.Context, e muster.AuditEntry) (muster.AuditEntry, error) {
	if e.Action == "" {
		return e, muster.Errorf(muster.EINVALID, "audit: no action")
	}
	for _, s := range []string{e.Actor, e.Action, e.Target, e.Detail} {
		if len(s) > maxTextLen || !validText(s) {
			return e, muster.Errorf(muster.EINVALID, "audit: a field is longer than %d bytes or not UTF-8", maxTextLen)
		}
	}
	if e.Actor == "" {
		e.Actor = muster.ActorFrom(ctx)
	}
	var out muster.AuditEntry
	err := c.write(ctx, func(w *wtx) error {
		if e.At.IsZero() {
			e.At = w.now
		}
		es, err := c.appendAudit(w, []muster.AuditEntry{e})
		if err != nil {
			return err
		}
		out = es[0]
		return nil
	})
	return out, err
}

const auditColumns = `seq, at, actor, action, target, detail, prev_hash, hash, mac`

func scanAudit(sc interface{ Scan(...any) error }) (muster.AuditEntry, error) {
	var e muster.AuditEntry
	var at int64
	err := sc.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.PrevHash, &e.Hash, &e.MAC)
	e.At = time.UnixMicro(at).UTC()
	return e, err
}

// ListAudit implements muster.Store.
func (c *Core) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]muster.AuditEntry, error) {
	rows, err := c.reader().QueryContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []muster.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit implements muster.Store: it reads the chain in one
// transaction (a consistent snapshot while others append) and checks that
// seqs run 1, 2, 3... with no gap, that each entry names its predecessor's
// hash, that each hash is the hash of its entry, that each MAC is the MAC
// of its entry and its predecessor's MAC under the audit key, and that the
// last entry is the head.
func (c *Core) VerifyAudit(ctx context.Context) (muster.AuditVerification, error) {
	var v muster.AuditVerification
	tx, err := c.r.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	var headSeq int64
	var headHash, headMAC []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash, mac FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash, &headMAC); err != nil {
		return v, fmt.Errorf("verify audit: read the chain head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev, prevMAC := make([]byte, 32), make([]byte, 32)
	fail := func(at int64, format string, args ...any) (muster.AuditVerification, error) {
		v.FirstBad, v.Reason = at, fmt.Sprintf(format, args...)
		return v, nil
	}
	var pos int64
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return v, fmt.Errorf("verify audit: %w", err)
		}
		pos++
		v.Entries = pos
		switch {
		case e.Seq != pos:
			return fail(pos, "entry %d is missing: the next entry found is %d (removed or reordered)", pos, e.Seq)
		case !bytes.Equal(e.PrevHash, prev):
			return fail(pos, "entry %d does not follow entry %d: its previous hash is not that entry's hash (removed, reordered or edited)", pos, pos-1)
		case !bytes.Equal(e.Hash, e.ChainHash(prev)):
			return fail(pos, "entry %d was edited: its contents do not hash to its stored hash", pos)
		case e.MAC == nil:
			return fail(pos, "entry %d has no MAC: the unkeyed chain was already broken there when the log was first keyed (migration 0008), or the MAC was removed", pos)
		case !hmac.Equal(e.MAC, e.ChainMAC(c.auditKey, prevMAC, e.Hash)):
			return fail(pos, "entry %d fails its MAC under this server's audit key: it or an entry before it was edited and the hashes recomputed, or the chain was rebuilt (or this is not the master key the log was written under)", pos)
		}
		prev, prevMAC = e.Hash, e.MAC
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	if pos != headSeq || !bytes.Equal(prev, headHash) || !bytes.Equal(prevMAC, headMAC) {
		return fail(pos+1, "the chain ends at entry %d but its head says %d: entries after %d were removed, or the head was edited", pos, headSeq, pos)
	}
	v.OK, v.Head, v.HeadMAC = true, headHash, headMAC
	return v, nil
}

// auditMACMigration is the migration that adds the MAC columns; right
// after it runs, keyAuditChain keys the entries already there.
const auditMACMigration = 8

// keyAuditChain computes the MACs of the entries written before the audit
// log was keyed, in the migration's transaction, a chunk at a time. It
// keys only the entries whose unkeyed chain holds: from the first broken
// link on, the MACs stay NULL and VerifyAudit reports that entry, so that
// keying an edited log cannot make it pass.
func (c *Core) keyAuditChain(ctx context.Context, tx *sql.Tx) error {
	prev, prevMAC := make([]byte, 32), make([]byte, 32)
	var pos int64
	for {
		rows, err := tx.QueryContext(ctx, c.q(`SELECT `+auditColumns+` FROM audit WHERE seq > ? ORDER BY seq LIMIT 1000`), pos)
		if err != nil {
			return fmt.Errorf("key the audit log: %w", err)
		}
		var es []muster.AuditEntry
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("key the audit log: %w", err)
			}
			es = append(es, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("key the audit log: %w", err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			pos++
			if e.Seq != pos || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ChainHash(prev)) {
				slog.Error("audit log broken before it was keyed: entries from this one on are left without a MAC, and muster audit verify reports it",
					"backend", c.d.Name, "entry", pos)
				return c.setHeadMAC(ctx, tx, prev, prevMAC)
			}
			e.MAC = e.ChainMAC(c.auditKey, prevMAC, e.Hash)
			if _, err := tx.ExecContext(ctx, c.q(`UPDATE audit SET mac = ? WHERE seq = ?`), e.MAC, e.Seq); err != nil {
				return fmt.Errorf("key the audit log: entry %d: %w", e.Seq, err)
			}
			prev, prevMAC = e.Hash, e.MAC
		}
	}
	return c.setHeadMAC(ctx, tx, prev, prevMAC)
}

// setHeadMAC sets the head's MAC when the head is the keyed entry with
// hash; a head that is not (the chain was cut) keeps zeros, and
// VerifyAudit reports it.
func (c *Core) setHeadMAC(ctx context.Context, tx *sql.Tx, hash, mac []byte) error {
	if _, err := tx.ExecContext(ctx, c.q(`UPDATE audit_head SET mac = ? WHERE id = 1 AND hash = ?`), mac, hash); err != nil {
		return fmt.Errorf("key the audit log: head: %w", err)
	}
	return nil
}
