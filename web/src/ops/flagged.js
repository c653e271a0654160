// The field events the live state flags (GET /api/operation's "flagged"),
// as the operations map lists them; a module of its own, with no page, so
// that node tests it.

// What each flag means, in the words of the table (operation.go and
// fieldevent.go define them); a flag this page does not know is shown as
// the server names it.
export const flagWords = {
  token_forged: 'forged token',
  token_superseded: 'superseded token',
  token_revoked: 'revoked token',
  token_spent: 'token already used',
  token_mismatch: "another household's token",
  other_rally_point: 'at another rally point',
  unknown: 'not in the plan',
  after_departure: 'after its group left',
  contradicts_checkin: 'contradicts a check-in',
  arrived_before_departure: 'arrived before leaving',
  seen_before_departure: 'seen before leaving',
  seen_after_arrival: 'seen after arriving',
  repeated: 'repeated',
};

// flaggedRows returns the rows of the flagged events' table, the newest
// first, at most max of them, and how many were left out. A row:
// { id, at (Date), kind, what, where, flags (words), counted, noted }.
// Counted: the event counts in the live state all the same (a check-in
// at another rally point); otherwise it is kept but not applied.
export function flaggedRows(flagged, max) {
  const all = (flagged || []).slice().sort((a, b) => (Date.parse(b.at) - Date.parse(a.at)) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const rows = all.slice(0, Math.max(0, max)).map((f) => ({
    id: f.id,
    at: new Date(f.at),
    kind: (f.kind || '').replace(/_/g, ' '),
    what: f.what || '',
    where: f.rally_point || '',
    flags: (f.flags || []).map((x) => flagWords[x] || x),
    counted: !!f.applied,
    noted: !!f.noted,
  }));
  return { rows, more: all.length - rows.length };
}
