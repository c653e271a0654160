-- Field events, version 9 (docs/operations.md): what the field reports
-- (check-ins, departures, sightings, arrivals, gate counts and states) and
-- what the server concludes (overdue, no-show). seq is the arrival order;
-- id is the client's, unique, so a batch sent twice is stored once
-- (content_hash, a keyed hash of what the client said, tells the same
-- event from another one reusing its id). The note is free text from the
-- field and sealed; the rest names no one (ids, places, times, counts).
-- checkin_id is the check-in row a check-in event made (migration 0007).
-- Times are UTC Unix microseconds.
CREATE TABLE field_events (
	seq          BIGSERIAL PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	kind         TEXT NOT NULL,
	at           BIGINT NOT NULL,
	since        BIGINT NOT NULL,
	household_id TEXT NOT NULL,
	token_id     TEXT NOT NULL,
	group_id     TEXT NOT NULL,
	households   TEXT NOT NULL,
	rally_point  TEXT NOT NULL,
	gate         TEXT NOT NULL,
	lat          DOUBLE PRECISION NOT NULL,
	lon          DOUBLE PRECISION NOT NULL,
	people       BIGINT NOT NULL,
	queue        BIGINT NOT NULL,
	gate_status  TEXT NOT NULL,
	note_enc     BYTEA NOT NULL,
	by_whom      TEXT NOT NULL,
	recorded_at  BIGINT NOT NULL,
	flags        TEXT NOT NULL,
	checkin_id   TEXT NOT NULL,
	content_hash BYTEA NOT NULL
);
CREATE INDEX field_events_at ON field_events (at, id);
CREATE INDEX field_events_household ON field_events (household_id) WHERE household_id <> '';
CREATE INDEX field_events_group ON field_events (group_id) WHERE group_id <> '';
CREATE INDEX field_events_gate ON field_events (gate) WHERE gate <> '';
CREATE INDEX field_events_checkin ON field_events (checkin_id) WHERE checkin_id <> '';
