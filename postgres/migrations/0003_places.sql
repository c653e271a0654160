-- Places, version 3: the operation's gates, rally points and other named
-- places, editable while it runs. Each row is one place as a GeoJSON
-- Feature in the places-file format; settings holds the time zone their
-- opening hours are in.
CREATE TABLE places (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	feature    TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
