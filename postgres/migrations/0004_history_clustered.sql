-- Nothing to change on PostgreSQL. SQLite's migration 0004 clusters the
-- status history by household; PostgreSQL reads it through its primary key
-- index already. Kept so that both backends number their schemas alike.
SELECT 1;
