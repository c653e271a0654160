-- Outbox, version 6: every message muster sends (package deliver) is
-- stored here first, then leased by one worker, sent and completed. The
-- idempotency key, one per (household, instruction version, channel), is
-- unique: enqueuing the same message twice stores it once. Recipient,
-- subject and bodies are sealed (*_enc) like a household's personal
-- fields; last_error holds status codes and reasons, never personal data.
-- lease_until is 0 when no worker holds the message. Times are UTC Unix
-- microseconds.
CREATE TABLE outbox (
	id                  TEXT PRIMARY KEY,
	idempotency_key     TEXT NOT NULL UNIQUE,
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
	sent_at             INTEGER NOT NULL
);
-- What a lease scans, oldest first: the messages not yet sent nor dead
-- (a partial index: sent messages leave it, so it stays as small as the
-- work left). The lease query repeats this predicate word for word.
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE status IN ('queued', 'failed-retrying', 'sending');
CREATE INDEX outbox_household ON outbox (household_id, instruction_id);

-- The first acknowledgement of each household's instruction.
CREATE TABLE acknowledgements (
	household_id   TEXT NOT NULL REFERENCES households (id),
	instruction_id TEXT NOT NULL,
	via            TEXT NOT NULL,
	at             INTEGER NOT NULL,
	by_actor       TEXT NOT NULL,
	PRIMARY KEY (household_id, instruction_id)
);
