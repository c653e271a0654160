-- Issued instructions, version 7 (docs/issuing.md). Every version of every
-- instruction the server issued: its content and its signed token sealed
-- (*_enc: the content names the household, and a token is what a check-in
-- spends), the rest in clear and naming no one. One version of a series is
-- current at most (the partial unique index); a re-plan supersedes it or
-- revokes it in the transaction that issues the next. Times are UTC Unix
-- microseconds.
CREATE TABLE instructions (
	id            TEXT PRIMARY KEY,
	series        TEXT NOT NULL,
	version       BIGINT NOT NULL,
	audience      TEXT NOT NULL,
	household_id  TEXT NOT NULL,
	group_id      TEXT NOT NULL,
	supersedes    TEXT NOT NULL,
	superseded_by TEXT NOT NULL,
	status        TEXT NOT NULL,
	plan_id       TEXT NOT NULL,
	issued_at     BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	changed_at    BIGINT NOT NULL,
	changes       TEXT NOT NULL,
	digest        TEXT NOT NULL,
	token_enc     BYTEA NOT NULL,
	body_enc      BYTEA NOT NULL,
	UNIQUE (series, version)
);
CREATE UNIQUE INDEX instructions_current ON instructions (series) WHERE status = 'current';
CREATE INDEX instructions_household ON instructions (household_id, status);

-- The capability link each household's instruction messages carry: made
-- once, its secret sealed here (the messages that carry it are sealed in
-- the outbox too), the capability itself keeping only its hash.
CREATE TABLE instruction_links (
	household_id  TEXT PRIMARY KEY REFERENCES households (id),
	capability_id TEXT NOT NULL,
	secret_enc    BYTEA NOT NULL,
	created_at    BIGINT NOT NULL
);

-- Check-ins: the first of a token spends it (duplicate_of empty, unique
-- per token); every later one is kept, flagged with the first's id.
CREATE TABLE checkins (
	id           TEXT PRIMARY KEY,
	token_id     TEXT NOT NULL,
	household_id TEXT NOT NULL,
	rally_point  TEXT NOT NULL,
	by_whom      TEXT NOT NULL,
	at           BIGINT NOT NULL,
	recorded_at  BIGINT NOT NULL,
	recorded_by  TEXT NOT NULL,
	duplicate_of TEXT NOT NULL
);
CREATE UNIQUE INDEX checkins_first ON checkins (token_id) WHERE duplicate_of = '';
CREATE INDEX checkins_token ON checkins (token_id, at);
CREATE INDEX checkins_household ON checkins (household_id);

-- Advisories (CAP 1.2, public: an advisory names no one), issued here or
-- imported by an operator, with how many households they were queued to.
CREATE TABLE advisories (
	id          TEXT PRIMARY KEY,
	sender      TEXT NOT NULL,
	sent        BIGINT NOT NULL,
	status      TEXT NOT NULL,
	msg_type    TEXT NOT NULL,
	origin      TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	created_by  TEXT NOT NULL,
	recipients  BIGINT NOT NULL,
	no_location BIGINT NOT NULL,
	cap         TEXT NOT NULL
);
CREATE INDEX advisories_created ON advisories (created_at);
