-- muster's schema, version 1. Times are UTC Unix microseconds; personal
-- fields are *_enc columns sealed by the data key (see internal/sqlstore).
CREATE TABLE data_key (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	wrapped    BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	wiped_at   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE households (
	id             TEXT PRIMARY KEY,
	status         TEXT NOT NULL,
	priority       TEXT NOT NULL,
	language       TEXT NOT NULL,
	party_size     INTEGER NOT NULL,
	adults         INTEGER NOT NULL,
	children       INTEGER NOT NULL,
	eligibility    TEXT NOT NULL,
	documents      TEXT NOT NULL,
	has_location   INTEGER NOT NULL,
	name_enc       BLOB NOT NULL,
	name_local_enc BLOB NOT NULL,
	members_enc    BLOB NOT NULL,
	phone_enc      BLOB NOT NULL,
	email_enc      BLOB NOT NULL,
	address_enc    BLOB NOT NULL,
	notes_enc      BLOB NOT NULL,
	location_enc   BLOB NOT NULL,
	phone_hash     BLOB,
	version        INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX households_phone ON households (phone_hash);
CREATE INDEX households_status ON households (status, id);
CREATE INDEX households_priority ON households (priority, id);

CREATE TABLE household_status (
	household_id TEXT NOT NULL REFERENCES households (id),
	seq          INTEGER NOT NULL,
	status       TEXT NOT NULL,
	at           INTEGER NOT NULL,
	by_actor     TEXT NOT NULL,
	note_enc     BLOB NOT NULL,
	PRIMARY KEY (household_id, seq)
);

CREATE TABLE reports (
	id          TEXT PRIMARY KEY,
	received_at INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	body        TEXT NOT NULL
);
CREATE INDEX reports_received ON reports (received_at, id);

CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	user_name  TEXT NOT NULL REFERENCES users (name),
	kind       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_name);

CREATE TABLE capabilities (
	id           TEXT PRIMARY KEY,
	household_id TEXT NOT NULL REFERENCES households (id),
	hash         BLOB NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER NOT NULL
);

CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash BLOB NOT NULL,
	hash      BLOB NOT NULL
);
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE jobs (
	kind          TEXT NOT NULL,
	job_key       TEXT NOT NULL,
	claimed_until INTEGER NOT NULL,
	claimed_at    INTEGER NOT NULL,
	PRIMARY KEY (kind, job_key)
);
