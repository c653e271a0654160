-- Version 11 (docs/issuing.md, "Measured: the issue's budget").
--
-- A plan's body (a plan of 100,000 households is some 250 MB of JSON,
-- sealed) moves to a table of its own: approving a plan changes its
-- status, and SQLite writes a changed row whole, so each approval wrote
-- the whole body again (and PostgreSQL a new version of the row). The
-- plans' rows keep only what is listed and changed; body_enc stays in
-- them, empty, so that the table need not be rebuilt.
CREATE TABLE plan_bodies (
	plan_id  TEXT PRIMARY KEY REFERENCES plans (id),
	body_enc BYTEA NOT NULL
);
INSERT INTO plan_bodies (plan_id, body_enc) SELECT id, body_enc FROM plans;
UPDATE plans SET body_enc = '\x'::bytea;

-- A message's recipient, subject, bodies and link, sealed as one blob
-- (sqlstore.outboxContent) with the aad "message:<id>:content"; its
-- *_enc columns of one field each are then empty. Messages queued
-- before keep their fields sealed a column each, and are read so.
ALTER TABLE outbox ADD COLUMN content_enc BYTEA NOT NULL DEFAULT '\x'::bytea;
