-- A household's status history is read with the household on every GET:
-- keyed by (household_id, seq) WITHOUT ROWID, its rows sit together in the
-- primary key's b-tree and are found in one descent instead of an index
-- descent and then a table descent per row.
CREATE TABLE household_status_new (
	household_id TEXT NOT NULL REFERENCES households (id),
	seq          INTEGER NOT NULL,
	status       TEXT NOT NULL,
	at           INTEGER NOT NULL,
	by_actor     TEXT NOT NULL,
	note_enc     BLOB NOT NULL,
	PRIMARY KEY (household_id, seq)
) WITHOUT ROWID;
INSERT INTO household_status_new SELECT household_id, seq, status, at, by_actor, note_enc FROM household_status;
DROP TABLE household_status;
ALTER TABLE household_status_new RENAME TO household_status;
