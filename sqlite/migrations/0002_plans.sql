-- Plans, version 2. A plan is stored whole as its plan.json, sealed: it
-- names households and draws their walks from home. One plan at most is
-- current; approving another supersedes it.
CREATE TABLE plans (
	id          TEXT PRIMARY KEY,
	status      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	basis       TEXT NOT NULL,
	approved_at INTEGER NOT NULL DEFAULT 0,
	approved_by TEXT NOT NULL DEFAULT '',
	summary     TEXT NOT NULL,
	body_enc    BLOB NOT NULL
);
CREATE INDEX plans_created ON plans (created_at);
