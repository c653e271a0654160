package issue

import (
	"context"
	"fmt"
	"strings"

	"github.com/muster-evac/muster"
)

// MaxOtherRallyReason bounds an officer's reason for a check-in at
// another rally point than the instruction's (it goes to the audit log).
const MaxOtherRallyReason = 500

// CheckRallyPoint refuses a check-in at rally point here of an instruction
// that names another, instructed, unless the officer gives a reason; the
// refusal is audited (as is the admission, AuditOtherRally). A sold or
// forwarded copy of a genuine token, shown first at another rally point,
// would otherwise spend the token there and have the household it was
// issued to turned away as the copy at its own; a household that came to
// the wrong place is sent to its own. An officer who must admit one here
// (its rally point overrun, say) says why, and that is on record.
func CheckRallyPoint(ctx context.Context, st muster.Store, tokenID, instructed, here, reason, by string) error {
	if err := muster.CheckText(reason, MaxOtherRallyReason); err != nil {
		return muster.Errorf(muster.EINVALID, "the reason to check in at another rally point %v", err)
	}
	if instructed == "" || instructed == here {
		return nil
	}
	if strings.TrimSpace(reason) == "" {
		// A token spent already goes on to the store, which refuses it
		// as the copy it is, saying where and when the first check-in
		// was, and keeps the attempt flagged.
		spent, _, err := st.ListCheckIns(ctx, muster.CheckInFilter{TokenID: tokenID, Limit: 1})
		if err != nil {
			return err
		}
		if len(spent) > 0 {
			return nil
		}
		if _, err := st.AppendAudit(ctx, muster.AuditEntry{Action: "checkin.other_rally_refused", Target: "instruction:" + tokenID,
			Detail: fmt.Sprintf("refused at %s by %s: the instruction names rally point %s", here, by, instructed)}); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		return muster.Errorf(muster.ECONFLICT, "NOT CHECKED IN: %s is for rally point %s, not %s: send the household there (a copy of a token shown at another rally point is refused so that the household it was issued to is not turned away at its own); an officer who must admit it here gives the reason (other_rally in the API, --other-rally on the command line)",
			tokenID, instructed, here)
	}
	return nil
}

// AuditOtherRally audits a check-in made at another rally point than
// the instruction's, with the officer's reason.
func AuditOtherRally(ctx context.Context, st muster.Store, ci muster.CheckIn, instructed, reason string) error {
	if instructed == "" || instructed == ci.RallyPoint {
		return nil
	}
	if _, err := st.AppendAudit(ctx, muster.AuditEntry{Action: "checkin.other_rally", Target: "instruction:" + ci.TokenID,
		Detail: fmt.Sprintf("check-in %s at %s by %s, the instruction naming rally point %s: %s", ci.ID, ci.RallyPoint, ci.By, instructed, reason)}); err != nil {
		return fmt.Errorf("check-in %s recorded; its audit entry failed: %w", ci.ID, err)
	}
	return nil
}
