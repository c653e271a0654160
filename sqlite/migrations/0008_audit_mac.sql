-- Placeholder for version 8, which the hardening branch fills (the keyed
-- audit chain, 0008_audit_mac.sql): on merge, take that branch's file.
SELECT 1;
