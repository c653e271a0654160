package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// The audit chain: audit_head holds one row (the last seq and hash). An
// append locks it (SELECT ... FOR UPDATE on PostgreSQL; SQLite's single
// writer excludes everyone anyway), so concurrent instances extend one
// chain, never two branches. VerifyAudit also compares the last entry with
// the head, which catches a truncated tail. What a hash chain cannot catch
// alone is a rewrite of the whole chain and head by someone with write
// access: VerifyAudit returns the head hash so that an operator can keep it
// elsewhere and compare later.

const auditChunk = 50

var (
	insertAuditOne   = `INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	insertAuditChunk = `INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", auditChunk), ", ")
)

// appendAudit appends es to the chain inside w's transaction.
func (c *Core) appendAudit(w *wtx, es []muster.AuditEntry) ([]muster.AuditEntry, error) {
	if len(es) == 0 {
		return nil, nil
	}
	var seq int64
	var prev []byte
	if err := w.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`+c.d.ForUpdate).Scan(&seq, &prev); err != nil {
		return nil, fmt.Errorf("audit: lock the chain head: %w", err)
	}
	out := make([]muster.AuditEntry, len(es))
	for i, e := range es {
		seq++
		e.Seq = seq
		e.At = e.At.UTC().Truncate(time.Microsecond)
		e.PrevHash = prev
		e.Hash = e.ChainHash(prev)
		prev = e.Hash
		out[i] = e
	}
	// Whole chunks in one statement each, the rest one by one: two
	// statements to prepare, and few round trips while the head is locked.
	for start := 0; start < len(out); {
		n, query := auditChunk, insertAuditChunk
		if len(out)-start < auditChunk {
			n, query = 1, insertAuditOne
		}
		args := make([]any, 0, 8*n)
		for _, e := range out[start : start+n] {
			args = append(args, e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.Detail, e.PrevHash, e.Hash)
		}
		if _, err := w.exec(query, args...); err != nil {
			return nil, fmt.Errorf("audit: append %d: %w", out[start].Seq, err)
		}
		start += n
	}
	if _, err := w.exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, seq, prev); err != nil {
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

const auditColumns = `seq, at, actor, action, target, detail, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (muster.AuditEntry, error) {
	var e muster.AuditEntry
	var at int64
	err := sc.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.PrevHash, &e.Hash)
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
// hash, that each hash is the hash of its entry, and that the last entry is
// the head.
func (c *Core) VerifyAudit(ctx context.Context) (muster.AuditVerification, error) {
	var v muster.AuditVerification
	tx, err := c.r.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return v, fmt.Errorf("verify audit: read the chain head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, 32)
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
		}
		prev = e.Hash
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("verify audit: %w", err)
	}
	if pos != headSeq || !bytes.Equal(prev, headHash) {
		return fail(pos+1, "the chain ends at entry %d but its head says %d: entries after %d were removed, or the head was edited", pos, headSeq, pos)
	}
	v.OK, v.Head = true, headHash
	return v, nil
}
