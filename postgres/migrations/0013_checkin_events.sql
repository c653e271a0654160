-- Version 13 (docs/operations.md, "Check-ins are checked against the
-- instructions").
--
-- A check-in made through POST /api/checkin, muster checkin or a device's
-- sync now records a field event too (id "checkin:" and the check-in's
-- id; clients may not use the prefix), so that the live state, computed
-- from field events alone, counts the household where it was checked in
-- and sees a check-in displaced by an earlier one. The check-ins recorded
-- before, of households' instructions, get theirs here, in the order they
-- were recorded: flagged token_spent where they came second. (A check-in
-- at another rally point than its instruction's was audited then; its
-- event here is not flagged other_rally_point: the instruction that says
-- so is sealed, out of this statement's reach. It is counted either way.)
INSERT INTO field_events (id, kind, at, since, household_id, token_id, group_id, households, rally_point, gate,
	lat, lon, people, queue, gate_status, note_enc, by_whom, recorded_at, flags, checkin_id, content_hash)
SELECT 'checkin:' || c.id, 'checkin', c.at, 0, i.household_id, c.token_id, '', '', c.rally_point, '',
	0, 0, 0, -1, '', ''::bytea, c.recorded_by, c.recorded_at, CASE WHEN c.duplicate_of = '' THEN '' ELSE 'token_spent' END, c.id, ''::bytea
FROM checkins c JOIN instructions i ON i.id = c.token_id
WHERE i.audience = 'household' AND NOT EXISTS (SELECT 1 FROM field_events f WHERE f.checkin_id = c.id)
ORDER BY c.recorded_at, c.id;
