package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
)

func init() { subcommands = append(subcommands, newWipeCmd) }

func newWipeCmd() *cobra.Command {
	var sf storeFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "wipe",
		Short: "Destroy the data key: the personal data in the database can never be read again",
		Long: `Destroys the database's wrapped data key, so that the names, phones,
e-mail addresses, notes, exact locations, priorities (unaccompanied minor,
medical, at risk), eligibility and documents stored in it can never be
decrypted again, by anyone, with or without the master key. For when the
database is about to be seized. It cannot be undone.

Running servers drop the key from memory as soon as they see the wipe
(PostgreSQL: at once; SQLite: within a fraction of a second). An admin can
also wipe through a running server: POST /api/wipe {"confirm":"wipe"}.
Asks for confirmation; --yes skips the question.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			where := "the SQLite database in " + sf.data
			if sf.db != "" {
				where = "the PostgreSQL database " + redactURL(sf.db)
			}
			if !yes {
				fmt.Fprintf(cmd.ErrOrStderr(), "This destroys the data key of %s: the personal data in it can never be read again.\nType wipe to go on: ", where)
				line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 256)).ReadString('\n')
				if err != nil && err != io.EOF {
					return fmt.Errorf("reading the confirmation: %w", err)
				}
				if strings.TrimSpace(line) != "wipe" {
					return muster.Errorf(muster.EINVALID, "not confirmed: nothing wiped")
				}
			}
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Wipe(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wiped %s at %s: %s\n", where, res.WipedAt.UTC().Format("2006-01-02T15:04:05Z"), res.Message)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}
