-- Sources, version 5: the source registry, where analysts grade a report
-- source once (reliability, hostile, sock-puppet cluster) for every report
-- it gives. Not personal data: stored in clear. hostile is 0 or 1; times
-- are UTC Unix microseconds.
CREATE TABLE sources (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	reliability TEXT NOT NULL,
	hostile     BIGINT NOT NULL,
	cluster     TEXT NOT NULL,
	note        TEXT NOT NULL,
	updated_at  BIGINT NOT NULL,
	updated_by  TEXT NOT NULL
);
