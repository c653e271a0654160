-- Version 12 (docs/issuing.md, "Measured: the issue's budget").
--
-- The predicate of the partial index outbox_pending as three comparisons
-- rather than an IN list: SQLite evaluates an IN list of three or more
-- values through a temporary table it builds when the statement runs and
-- frees when it ends, so every statement that queued messages (fifty
-- rows a statement) or changed their status built one and freed its
-- pages (0.26 CPU-seconds of an approval of 100,000 instructions, most
-- of it the allocator handing the pages back to the system). The index
-- holds the same rows; the lease's query names the predicate word for
-- word (sqlstore.pendingPredicate), so that the engine matches it.
DROP INDEX IF EXISTS outbox_pending;
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE (status = 'queued' OR status = 'failed-retrying' OR status = 'sending');
