-- Version 8 (docs/server.md, "Audit log" and "Operator accounts").
--
-- The keyed audit chain: each entry's MAC is HMAC-SHA-256, under a key that
-- is not in the database, of the previous entry's MAC and this entry's
-- hash (muster.AuditEntry.ChainMAC). The store computes the MACs of the
-- entries already here in the same transaction, after this file runs
-- (sqlstore.keyAuditChain), and leaves NULL those past a break in the
-- unkeyed chain, so that keying never launders an edit.
ALTER TABLE audit ADD COLUMN mac BYTEA;
ALTER TABLE audit_head ADD COLUMN mac BYTEA NOT NULL DEFAULT decode(repeat('00', 32), 'hex');

-- User names unique regardless of case, in the database too (the store
-- already refuses them). Accounts made before the rule that clash are
-- kept, all but the oldest of each group marked case_clash and left out
-- of the index; the server warns about them at every start.
ALTER TABLE users ADD COLUMN case_clash BIGINT NOT NULL DEFAULT 0;
UPDATE users SET case_clash = 1 WHERE EXISTS (
	SELECT 1 FROM users AS older WHERE lower(older.name) = lower(users.name)
	AND (older.created_at < users.created_at OR (older.created_at = users.created_at AND older.name < users.name)));
CREATE UNIQUE INDEX users_name_fold ON users (lower(name)) WHERE case_clash = 0;
