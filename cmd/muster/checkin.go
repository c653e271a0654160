package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
)

func init() { subcommands = append(subcommands, newCheckinCmd) }

// errNotCheckedIn makes the exit status say that nothing was checked in.
var errNotCheckedIn = errors.New("not checked in")

func newCheckinCmd() *cobra.Command {
	var sf storeFlags
	var rally, household, qrFile, by, otherRally string
	cmd := &cobra.Command{
		Use:   "checkin [TOKEN|-] --rally ID [--household ID] [--qr IMAGE] [--other-rally REASON]",
		Short: "Check an instruction token in at a rally point: once",
		Long: `Checks a token in at a rally point, through the store, as the CLI's user: the
token is verified against the keys in the data folder and the store's
statuses; a forged token or another deployment's is never checked in, nor an
expired, superseded or revoked one. The first check-in spends the token (and
the household is at the rally point); a second one, a forwarded screenshot or
a sold copy, is REFUSED, saying where, by whom and when the first happened,
and is kept, flagged (GET /api/checkins?duplicates=true).

A token is checked in only at the rally point its instruction names: shown
at another, it is refused (and the attempt audited), so that a copy shown
there first cannot spend it and have the household it was issued to turned
away at its own. An officer who must admit the household here anyway says
why with --other-rally REASON, which is audited with the check-in.

The token is the argument (quote it), standard input, or a QR code image
(--qr); --household ID checks in that household's current instruction when
it shows no token (its identity checked otherwise). The exit status is 0
only when the token was checked in now.`,
		Example: `  muster checkin 'MU1:6BF...' --rally rally-031
  muster checkin --qr photo.png --rally rally-031
  muster checkin --household H000042 --rally rally-031
  muster checkin --household H000042 --rally rally-017 --other-rally "rally-031 is overrun"`,
		Args: tokenArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rally == "" {
				return muster.Errorf(muster.EINVALID, "say where with --rally RALLY_POINT_ID")
			}
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if by == "" {
				by = muster.ActorFrom(ctx)
			}
			now := time.Now()
			out := cmd.OutOrStdout()
			var tokenID, instructed string
			if household != "" {
				if len(args) > 0 || qrFile != "" {
					return muster.Errorf(muster.EINVALID, "give a token or --household, not both")
				}
				in, err := st.CurrentInstruction(ctx, household)
				if err != nil {
					return err
				}
				if _, err := st.AppendAudit(ctx, muster.AuditEntry{Action: "instruction.read", Target: "instruction:" + in.ID, Detail: "check-in by household id"}); err != nil {
					return err
				}
				tokenID, instructed = in.ID, in.RallyPoint.ID
				fmt.Fprintf(out, "household %s: instruction %s, admits %d, group %s, rally point %s\n", household, in.ID, in.People, in.GroupCode, in.RallyPoint.ID)
			} else {
				token, err := readToken(cmd, args, qrFile)
				if err != nil {
					return err
				}
				kf := keyringFlags{data: sf.data, key: sf.key}
				kr, _, _, err := kf.open(cmd, false)
				if err != nil {
					return err
				}
				v, err := issue.Verify(ctx, st, kr, token, now)
				if err != nil {
					return err
				}
				switch v.Status {
				case credential.Forged, credential.UnknownKey, credential.RevokedKey, credential.Expired:
					fmt.Fprint(out, "NOT CHECKED IN: ")
					fmt.Fprint(out, v.String())
					return errNotCheckedIn
				}
				tokenID = v.Claims.TokenID()
				fmt.Fprintf(out, "token %s for household %s: admits %d, group %s, rally point %s\n", tokenID, v.Claims.Household, v.Claims.People, v.Claims.Group, v.Claims.RallyPoint)
				if v.Status == credential.Current {
					// A superseded or revoked version goes on to the
					// store, which refuses it as such.
					instructed = v.Claims.RallyPoint
				}
			}
			if err := issue.CheckRallyPoint(ctx, st, tokenID, instructed, rally, otherRally, by); err != nil {
				fmt.Fprintf(out, "%v\n", err)
				return errNotCheckedIn
			}
			c, first, err := st.CheckIn(ctx, tokenID, rally, by, now)
			if err != nil {
				fmt.Fprintf(out, "NOT CHECKED IN: %v\n", err)
				return errNotCheckedIn
			}
			if first != nil {
				fmt.Fprintf(out, "REFUSED: token %s was checked in already, at %s by %s at %s (check-in %s): this is a copy.\nThis attempt is recorded and flagged (%s).\n",
					tokenID, first.RallyPoint, first.By, first.At.UTC().Format(time.RFC3339), first.ID, c.ID)
				return errNotCheckedIn
			}
			fmt.Fprintf(out, "CHECKED IN: %s at %s by %s at %s (check-in %s)\n", tokenID, rally, by, c.At.UTC().Format(time.RFC3339), c.ID)
			if instructed != "" && instructed != rally {
				fmt.Fprintf(out, "at another rally point than its instruction's (%s), for the reason given: audited\n", instructed)
			}
			return issue.AuditOtherRally(ctx, st, c, instructed, otherRally)
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&rally, "rally", "", "the rally point's id (required)")
	cmd.Flags().StringVar(&household, "household", "", "check in this household's current instruction instead of a token")
	cmd.Flags().StringVar(&qrFile, "qr", "", "read the token from the QR code in this image (PNG, JPEG, GIF)")
	cmd.Flags().StringVar(&by, "by", "", "who checks it in (default: the CLI's user)")
	cmd.Flags().StringVar(&otherRally, "other-rally", "", "admit at --rally a household whose instruction names another rally point, for this reason (audited)")
	return cmd
}
