package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/httpapi"
)

func init() { subcommands = append(subcommands, newHouseholdsCmd) }

func newHouseholdsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "households",
		Short: "Import and export the evacuee registry directly in the database",
	}
	cmd.AddCommand(newHouseholdsImportCmd(), newHouseholdsExportCmd())
	return cmd
}

func newHouseholdsImportCmd() *cobra.Command {
	var sf storeFlags
	var dryRun bool
	var countryCode string
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import an evacuee list: good rows in one transaction, each bad row rejected with its reason",
		Long: `Reads an evacuee list (CSV as people keep them: see package evacuees)
and imports its good rows in one transaction, matching existing households
by id (a row without one: by phone), and updating only the fields the file has columns
for (a list without member_names keeps the members on record; see
docs/server.md); re-importing a file changes nothing. Prints the
row-by-row report as JSON; --dry-run stores nothing. Exits with status 2
when a row is rejected.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			defer f.Close()
			ctx := muster.WithActor(cmd.Context(), cliActor())
			res, err := evacuees.ReadContext(ctx, f, args[0], evacuees.Options{DefaultCountryCode: countryCode})
			if err != nil {
				return err
			}
			st, err := sf.openStore(ctx, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, ierr := httpapi.ImportCSV(ctx, st, res, dryRun)
			if rep != nil {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			}
			if ierr != nil {
				return ierr
			}
			verb := "imported"
			if dryRun {
				verb = "would import"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s %d new, %d updated, %d unchanged; %d rejected\n", args[0], verb, rep.Created, rep.Updated, rep.Unchanged, rep.Rejected)
			if rep.Rejected > 0 {
				return muster.Errorf(muster.EINVALID, "%s: %d rows rejected (see the report)", args[0], rep.Rejected)
			}
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be imported, store nothing")
	cmd.Flags().StringVar(&countryCode, "country-code", "", "country calling code (+93) completing national phone numbers")
	return cmd
}

func newHouseholdsExportCmd() *cobra.Command {
	var sf storeFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export every household as CSV (the canonical columns); the export is audited",
		Args:  cobra.NoArgs,
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			var all []muster.Household
			f := muster.HouseholdFilter{Limit: 1000}
			for {
				hs, next, err := st.ListHouseholds(ctx, f)
				if err != nil {
					return err
				}
				for i := range hs {
					all = append(all, hs[i].Household)
				}
				if next == "" {
					break
				}
				f.AfterID = next
			}
			if _, err := st.AppendAudit(ctx, muster.AuditEntry{Actor: muster.ActorFrom(ctx), Action: "household.export", Target: "households",
				Detail: fmt.Sprintf("%d households", len(all))}); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "" {
				file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--out: %v", err)
				}
				defer file.Close()
				w = file
			}
			if err := evacuees.Write(w, all); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d households\n", out, len(all))
			}
			return nil
		}),
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this file (mode 0600) instead of stdout")
	return cmd
}
