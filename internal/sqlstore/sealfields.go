package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/muster-evac/muster"
)

// sealFieldsMigration adds the sealed priority, eligibility and documents
// columns; right after it runs, sealRegistryFields seals the values
// already there and drops the plaintext columns.
const sealFieldsMigration = 10

// sealRegistryFields seals each household's plaintext priority,
// eligibility and documents into the *_enc columns migration 0010 added,
// in the migration's transaction, then drops the plaintext columns, so
// that no instant has the values both unsealed and committed under the
// new schema. A database whose data key was wiped keeps nothing: the
// values cannot be sealed, and keeping them readable is what a wipe
// must prevent. A database without a key yet has no households.
func (c *Core) sealRegistryFields(ctx context.Context, tx *sql.Tx, keys muster.DataKeys) error {
	var wrapped []byte
	var wipedAt int64
	err := tx.QueryRowContext(ctx, `SELECT wrapped, wiped_at FROM data_key WHERE id = 1`).Scan(&wrapped, &wipedAt)
	var k muster.Sealer
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("seal registry fields: read the data key: %w", err)
	case wipedAt != 0:
		slog.Warn("the data key was wiped: the plaintext priority, eligibility and documents are dropped, not sealed", "backend", c.d.Name)
	default:
		if k, err = keys.Unwrap(wrapped); err != nil {
			return fmt.Errorf("seal registry fields: unwrap the data key (is this the master key this database was made with?): %w", err)
		}
	}
	if k != nil {
		n, err := sealPlainFields(ctx, c, tx, k)
		if err != nil {
			return err
		}
		slog.Info("sealed the priority, eligibility and documents of the households stored before", "backend", c.d.Name, "households", n)
	}
	// Only a database that held households has old copies to scrub.
	var rows int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM households`).Scan(&rows); err != nil {
		return fmt.Errorf("seal registry fields: count households: %w", err)
	}
	c.sealedOld = rows > 0
	for _, col := range []string{"priority", "eligibility", "documents"} {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE households DROP COLUMN `+col); err != nil {
			return fmt.Errorf("seal registry fields: drop the plaintext %s: %w", col, err)
		}
	}
	return nil
}

// sealPlainFields seals the plaintext columns a chunk of households at a
// time, in id order, and returns how many it sealed.
func sealPlainFields(ctx context.Context, c *Core, tx *sql.Tx, k muster.Sealer) (int, error) {
	type plain struct{ id, priority, eligibility, documents string }
	after, n := "", 0
	for {
		rows, err := tx.QueryContext(ctx, c.q(`SELECT id, priority, eligibility, documents FROM households WHERE id > ? ORDER BY id LIMIT 1000`), after)
		if err != nil {
			return n, fmt.Errorf("seal registry fields: %w", err)
		}
		var ps []plain
		for rows.Next() {
			var p plain
			if err := rows.Scan(&p.id, &p.priority, &p.eligibility, &p.documents); err != nil {
				rows.Close()
				return n, fmt.Errorf("seal registry fields: %w", err)
			}
			ps = append(ps, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("seal registry fields: %w", err)
		}
		if len(ps) == 0 {
			return n, nil
		}
		for _, p := range ps {
			if _, err := tx.ExecContext(ctx, c.q(`UPDATE households SET priority_enc = ?, eligibility_enc = ?, documents_enc = ? WHERE id = ?`),
				k.Seal([]byte(p.priority), aad(p.id, "priority")), k.Seal([]byte(p.eligibility), aad(p.id, "eligibility")),
				k.Seal([]byte(p.documents), aad(p.id, "documents")), p.id); err != nil {
				return n, fmt.Errorf("seal registry fields: household %s: %w", p.id, err)
			}
			n++
		}
		after = ps[len(ps)-1].id
	}
}

// scrubAfterSealing makes the plaintext that migration 0010 replaced
// leave the disk as a wipe makes the key leave it. On SQLite,
// Dialect.AfterWipe: a checkpoint that copies the rewritten pages over
// the old ones, which secure_delete zeroes, and an emptied write-ahead
// log. On PostgreSQL a dropped column's bytes stay in the row versions
// until the table is rewritten: VACUUM FULL, which cannot run in the
// migration's transaction, so it runs right after. On failure it warns:
// the values are sealed, and docs/server.md says what to run.
func (c *Core) scrubAfterSealing(ctx context.Context) {
	if !c.sealedOld {
		return
	}
	if c.d.Name == "postgres" {
		if _, err := c.w.ExecContext(ctx, `VACUUM (FULL) households`); err != nil {
			slog.Warn("the plaintext priority, eligibility and documents are sealed, but the table could not be rewritten: run VACUUM FULL households", "backend", c.d.Name, "err", err)
		}
		return
	}
	if c.d.AfterWipe == nil {
		return
	}
	// AfterWipe's note speaks of the key; what matters here is whether it
	// failed.
	if _, err := c.d.AfterWipe(ctx); err != nil {
		slog.Warn("the plaintext priority, eligibility and documents are sealed, but their old copies could not be overwritten yet", "backend", c.d.Name, "err", err)
		return
	}
	slog.Info("old plaintext copies of priority, eligibility and documents overwritten", "backend", c.d.Name)
}
