-- muster's schema, version 1. Times are UTC Unix microseconds; personal
-- fields are *_enc columns sealed by the data key (see internal/sqlstore).
CREATE TABLE data_key (
	id         SMALLINT PRIMARY KEY CHECK (id = 1),
	wrapped    BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	wiped_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE households (
	id             TEXT PRIMARY KEY,
	status         TEXT NOT NULL,
	priority       TEXT NOT NULL,
	language       TEXT NOT NULL,
	party_size     BIGINT NOT NULL,
	adults         BIGINT NOT NULL,
	children       BIGINT NOT NULL,
	eligibility    TEXT NOT NULL,
	documents      TEXT NOT NULL,
	has_location   BIGINT NOT NULL,
	name_enc       BYTEA NOT NULL,
	name_local_enc BYTEA NOT NULL,
	members_enc    BYTEA NOT NULL,
	phone_enc      BYTEA NOT NULL,
	email_enc      BYTEA NOT NULL,
	address_enc    BYTEA NOT NULL,
	notes_enc      BYTEA NOT NULL,
	location_enc   BYTEA NOT NULL,
	phone_hash     BYTEA,
	version        BIGINT NOT NULL,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL
);
CREATE INDEX households_phone ON households (phone_hash);
CREATE INDEX households_status ON households (status, id);
CREATE INDEX households_priority ON households (priority, id);

CREATE TABLE household_status (
	household_id TEXT NOT NULL REFERENCES households (id),
	seq          BIGINT NOT NULL,
	status       TEXT NOT NULL,
	at           BIGINT NOT NULL,
	by_actor     TEXT NOT NULL,
	note_enc     BYTEA NOT NULL,
	PRIMARY KEY (household_id, seq)
);

CREATE TABLE reports (
	id          TEXT PRIMARY KEY,
	received_at BIGINT NOT NULL,
	kind        TEXT NOT NULL,
	body        TEXT NOT NULL
);
CREATE INDEX reports_received ON reports (received_at, id);

CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	disabled      BIGINT NOT NULL,
	created_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	user_name  TEXT NOT NULL REFERENCES users (name),
	kind       TEXT NOT NULL,
	hash       BYTEA NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_name);

CREATE TABLE capabilities (
	id           TEXT PRIMARY KEY,
	household_id TEXT NOT NULL REFERENCES households (id),
	hash         BYTEA NOT NULL UNIQUE,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	revoked_at   BIGINT NOT NULL
);

CREATE TABLE audit (
	seq       BIGINT PRIMARY KEY,
	at        BIGINT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash BYTEA NOT NULL,
	hash      BYTEA NOT NULL
);
CREATE TABLE audit_head (
	id   SMALLINT PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE jobs (
	kind          TEXT NOT NULL,
	job_key       TEXT NOT NULL,
	claimed_until BIGINT NOT NULL,
	claimed_at    BIGINT NOT NULL,
	PRIMARY KEY (kind, job_key)
);
