-- Version 14 (docs/delivery.md, docs/issuing.md).
--
-- A message in the outbox is known by what it carries to whom: its
-- household, instruction, version and channel, now one unique index, which
-- also serves the household's lookups that outbox_household served. The
-- idempotency key (the SHA-256 of those four, muster.MessageKey: what the
-- provider is given) was unique too, through an index of its own; being a
-- hash it took each new message at a random place in that index. The key
-- stays, no longer unique on its own: it is a function of the four, and
-- the store refuses a key a caller gives that is not that function's.
-- (IF [NOT] EXISTS: the tests that put a database back to an earlier
-- version run it again.)
CREATE UNIQUE INDEX IF NOT EXISTS outbox_message ON outbox (household_id, instruction_id, instruction_version, channel);
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_idempotency_key_key;
DROP INDEX IF EXISTS outbox_household;
