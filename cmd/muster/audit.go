package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newAuditCmd) }

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the tamper-evident audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditListCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-compute the audit log's hash chain: OK, or the first bad entry (exit status 1)",
		Long: `Every audit entry's hash covers the entry and the hash of the one
before it, so editing, removing or reordering any entry breaks the chain
from there on. verify re-computes the whole chain and prints OK with the
number of entries, or the first entry that fails and why, and then exits
with status 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			v, err := st.VerifyAudit(ctx)
			if err != nil {
				return err
			}
			if !v.OK {
				fmt.Fprintf(cmd.OutOrStdout(), "BAD: audit entry %d: %s (%d entries checked)\n", v.FirstBad, v.Reason, v.Entries)
				return fmt.Errorf("audit log broken at entry %d: %s", v.FirstBad, v.Reason)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK: %d audit entries, hash chain intact\n", v.Entries)
			return nil
		},
	}
	sf.register(cmd.Flags())
	return cmd
}

func newAuditListCmd() *cobra.Command {
	var sf storeFlags
	var after int64
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print audit entries: sequence, time, actor, action, target, detail",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			es, err := st.ListAudit(ctx, after, limit)
			if err != nil {
				return err
			}
			for _, e := range es {
				fmt.Fprintf(cmd.OutOrStdout(), "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Actor, e.Action, e.Target, e.Detail)
			}
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().Int64Var(&after, "after", 0, "print entries after this sequence number")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many (0: all)")
	return cmd
}
