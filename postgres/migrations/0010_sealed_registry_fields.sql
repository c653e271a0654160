-- Version 10 (docs/server.md, "What is encrypted at rest").
--
-- Priority (unaccompanied minor, medical, at risk), eligibility (e.g. SIV)
-- and documents are as dangerous as a name for the people on the list, so
-- they are sealed by the data key like the other personal fields, each
-- with the aad "household:<id>:<field>", and a wipe makes them unreadable.
-- The store seals the values already here in the same transaction, after
-- this file runs, and then drops the plaintext columns
-- (sqlstore.sealRegistryFields): sealing needs the data key, which SQL
-- does not have. A database whose key was already wiped gets NULL: the
-- values are dropped, not sealed.
ALTER TABLE households ADD COLUMN priority_enc BYTEA;
ALTER TABLE households ADD COLUMN eligibility_enc BYTEA;
ALTER TABLE households ADD COLUMN documents_enc BYTEA;
-- Priority is filtered and counted in the store after opening it; an
-- index on the plaintext would keep it readable.
DROP INDEX households_priority;
