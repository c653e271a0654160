package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
)

func init() { subcommands = append(subcommands, newOutboxCmd, newUnacknowledgedCmd) }

func newOutboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "The outbox: what was sent, what waits, what could not be delivered",
		Long: `Every message muster sends (an instruction by e-mail, SMS or webhook) goes
through the outbox: queued, then sending under one worker's lease, then
sent, or failed-retrying (sent again later, with backoff), or dead (refused
for good, or too many attempts). 'muster serve --smtp ...' delivers it;
docs/delivery.md explains it.

The commands open the store as 'muster households' does (--data, --db,
--key). They show no recipient and no text: those are sealed.`,
		Example: `  muster outbox list --status failed-retrying
  muster outbox dead
  muster outbox retry M0662a1b2c3d4e5f0123456789abcdef`,
	}
	cmd.AddCommand(newOutboxListCmd(), newOutboxDeadCmd(), newOutboxRetryCmd())
	return cmd
}

func printMessages(w io.Writer, ms []muster.OutboxMessage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOUSEHOLD\tINSTRUCTION\tCHANNEL\tSTATUS\tATTEMPTS\tUPDATED\tLAST ERROR")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s v%d\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.HouseholdID, m.InstructionID, m.InstructionVersion, m.Channel, m.Status,
			m.Attempts, m.UpdatedAt.Format(time.RFC3339), m.LastError)
	}
	return tw.Flush()
}

func newOutboxListCmd() *cobra.Command {
	var sf storeFlags
	var f muster.MessageFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Count the messages by status and list them, oldest first",
		Args:  cobra.NoArgs,
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			counts, err := st.CountMessages(ctx, f)
			if err != nil {
				return err
			}
			var parts []string
			for _, s := range muster.MessageStatuses {
				parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(parts, ", "))
			ms, next, err := st.ListMessages(ctx, f)
			if err != nil {
				return err
			}
			if err := printMessages(cmd.OutOrStdout(), ms); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "muster: more: --after %s\n", next)
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	sf.register(fl)
	fl.StringVar(&f.Status, "status", "", "only this status: "+strings.Join(muster.MessageStatuses, ", "))
	fl.StringVar(&f.Channel, "channel", "", "only this channel: "+strings.Join(muster.Channels, ", "))
	fl.StringVar(&f.HouseholdID, "household", "", "only this household's messages")
	fl.StringVar(&f.InstructionID, "instruction", "", "only this instruction's messages")
	fl.StringVar(&f.AfterID, "after", "", "the page after this message id")
	fl.IntVar(&f.Limit, "limit", 100, "messages a page (at most 1000)")
	return cmd
}

func newOutboxDeadCmd() *cobra.Command {
	var sf storeFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "dead",
		Short: "List the dead letters: messages that could not be delivered, and why",
		Args:  cobra.NoArgs,
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			ms, err := st.DeadLetters(ctx, limit)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no dead letters")
				return nil
			}
			return printMessages(cmd.OutOrStdout(), ms)
		}),
	}
	sf.register(cmd.Flags())
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (at most 1000)")
	return cmd
}

func newOutboxRetryCmd() *cobra.Command {
	return onStore(&cobra.Command{
		Use:   "retry ID...",
		Short: "Queue dead letters again (after fixing the address or the provider), audited as the CLI's user",
		Args:  cobra.MinimumNArgs(1),
	}, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
		for _, id := range args {
			m, err := st.RetryMessage(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s queued again (household %s, %s)\n", m.ID, m.HouseholdID, m.Channel)
		}
		return nil
	})
}

func newUnacknowledgedCmd() *cobra.Command {
	var sf storeFlags
	var older time.Duration
	cmd := &cobra.Command{
		Use:   "unacknowledged",
		Short: "Households whose newest instruction is not acknowledged: whom to call",
		Long: `Lists, oldest first, the households whose newest instruction was queued at
least --older-than ago and that have not acknowledged it (by their link or
by replying with the code), with their name and phone, to call them. The
read of names and phones is audited as the CLI's user.`,
		Example: `  muster unacknowledged --older-than 2h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if older < 0 {
				return muster.Errorf(muster.EINVALID, "--older-than %s: negative", older)
			}
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			us, err := st.Unacknowledged(ctx, older)
			if err != nil {
				return err
			}
			if len(us) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "every household acknowledged its newest instruction, or got it less than %s ago\n", older)
				return nil
			}
			ids := make([]string, len(us))
			for i, u := range us {
				ids[i] = u.HouseholdID
			}
			detail := fmt.Sprintf("%d unacknowledged households (name, phone)", len(ids))
			if all := strings.Join(ids, ","); len(all) < 3500 {
				detail += ": " + all
			} else {
				detail += ": ids " + ids[0] + " ... " + ids[len(ids)-1]
			}
			if _, err := st.AppendAudit(ctx, muster.AuditEntry{Action: "household.list", Target: "households", Detail: detail}); err != nil {
				return fmt.Errorf("audit the read: %w", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HOUSEHOLD\tNAME\tPHONE\tINSTRUCTION\tQUEUED\tSENT\tPENDING\tDEAD")
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s v%d\t%s\t%d\t%d\t%d\n", u.HouseholdID, u.Name, u.Phone, u.InstructionID, u.InstructionVersion,
					u.FirstQueuedAt.Format(time.RFC3339), u.Sent, u.Pending, u.Dead)
			}
			return tw.Flush()
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().DurationVar(&older, "older-than", 2*time.Hour, "queued at least this long ago")
	return cmd
}
