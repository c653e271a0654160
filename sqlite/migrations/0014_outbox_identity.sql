-- Version 14 (docs/delivery.md, docs/issuing.md).
--
-- A message in the outbox is known by what it carries to whom: its
-- household, instruction, version and channel, now one unique index, which
-- also serves the household's lookups that outbox_household served. The
-- idempotency key (the SHA-256 of those four, muster.MessageKey: what the
-- provider is given) was unique too, through an index of its own; being a
-- hash it took each new message at a random place, splitting its pages
-- all over: a third of what queuing a message cost the writer (0.3-0.5
-- CPU-seconds of an approval of 100,000 instructions). The key stays, no
-- longer unique on its own: it is a function of the four, and the store
-- refuses a key a caller gives that is not that function's.
--
-- SQLite drops a column's UNIQUE only with the table: the outbox is made
-- again, row for row, and its indexes after.
CREATE TABLE outbox_v14 (
	id                  TEXT PRIMARY KEY,
	idempotency_key     TEXT NOT NULL,
	household_id        TEXT NOT NULL REFERENCES households (id),
	instruction_id      TEXT NOT NULL,
	instruction_version INTEGER NOT NULL,
	channel             TEXT NOT NULL,
	recipient_enc       BLOB NOT NULL,
	subject_enc         BLOB NOT NULL,
	body_enc            BLOB NOT NULL,
	html_enc            BLOB NOT NULL,
	ack_code            TEXT NOT NULL,
	status              TEXT NOT NULL,
	attempts            INTEGER NOT NULL,
	next_attempt_at     INTEGER NOT NULL,
	lease_owner         TEXT NOT NULL,
	lease_until         INTEGER NOT NULL,
	last_error          TEXT NOT NULL,
	provider_id         TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	sent_at             INTEGER NOT NULL,
	content_enc         BLOB NOT NULL DEFAULT x''
);
INSERT INTO outbox_v14 (id, idempotency_key, household_id, instruction_id, instruction_version, channel, recipient_enc, subject_enc,
	body_enc, html_enc, ack_code, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, provider_id, created_at,
	updated_at, sent_at, content_enc)
SELECT id, idempotency_key, household_id, instruction_id, instruction_version, channel, recipient_enc, subject_enc,
	body_enc, html_enc, ack_code, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, provider_id, created_at,
	updated_at, sent_at, content_enc
FROM outbox ORDER BY rowid;
DROP TABLE outbox;
ALTER TABLE outbox_v14 RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE (status = 'queued' OR status = 'failed-retrying' OR status = 'sending');
CREATE UNIQUE INDEX outbox_message ON outbox (household_id, instruction_id, instruction_version, channel);
