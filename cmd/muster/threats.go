package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/threat"
)

func init() { subcommands = append(subcommands, newThreatsCmd) }

func newThreatsCmd() *cobra.Command {
	var reportsPath, placesPath, sourcesPath, at, format, policyPath, out string
	cmd := &cobra.Command{
		Use:   "threats",
		Short: "Fuse the reports into the threat picture: zones, levels, disputes, gate statuses",
		Long: `Builds the threat picture at a time (default now) from a reports record:
reports about the same danger fuse into a zone whose risk combines their
graded likelihoods, independent sources corroborate, a repeated or relayed
source counts once, denials mark the zone disputed, and old reports decay.
--at replays the picture as it stood at any earlier time: reports received
later are left out. --sources reads the analysts' source registry (see
'muster source --help'): a registered source's reports take its grade, a
hostile source's do not count. See docs/threat-picture.md.

--format geojson (the default) writes a FeatureCollection that
"muster route --avoid" reads directly; --format table is for reading.`,
		Example: `  muster threats --reports ../shared/scenarios/kabul-2021/reports.jsonl \
    --places ../shared/scenarios/kabul-2021/places.geojson \
    --at 2021-08-21T18:00:00Z --format table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if reportsPath == "" {
				return muster.Errorf(muster.EINVALID, "give --reports FILE, a JSON Lines file of reports")
			}
			if format != "geojson" && format != "table" {
				return muster.Errorf(muster.EINVALID, "--format %q: want geojson or table", format)
			}
			when := time.Now().UTC()
			if at != "" && at != "now" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--at %q: want an RFC 3339 time such as 2021-08-21T18:00:00Z", at)
				}
				when = t.UTC()
			}
			policy := threat.DefaultPolicy()
			if policyPath != "" {
				var err error
				if policy, err = threat.LoadPolicy(policyPath); err != nil {
					return err
				}
			}
			var pl *muster.Places
			var ix *places.Index
			if placesPath != "" {
				var err error
				if pl, err = places.ReadFile(placesPath); err != nil {
					return err
				}
				if ix, err = places.NewIndex(pl); err != nil {
					return err
				}
			}
			opts, err := loadSourceRegistry(sourcesPath)
			if err != nil {
				return err
			}
			in, err := os.Open(reportsPath)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "reports: %v", err)
			}
			defer in.Close()
			now := time.Now()
			if when.After(now) {
				now = when
			}
			res, err := threat.ParseReports(in, nil, threat.ParseOptions{Places: ix, Now: now})
			if err != nil {
				return fmt.Errorf("reading %s: %w", reportsPath, err)
			}
			for _, r := range res.Rejected {
				fmt.Fprintf(cmd.ErrOrStderr(), "muster: %s: %s (left out)\n", reportsPath, threat.Safe(r.Error()))
			}
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			p, err := threat.Build(res.Reports(), pl, when, policy, opts...)
			if err != nil {
				return err
			}
			p.Rejected = append(res.Rejected, p.Rejected...)
			w := cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--out: %v", err)
				}
				defer f.Close()
				w = f
			}
			if format == "table" {
				err = threat.WriteTable(w, p)
			} else {
				err = threat.WriteGeoJSON(w, p)
			}
			if err != nil {
				return err
			}
			if out != "" {
				forbidden := 0
				for _, z := range p.Zones {
					if z.Forbidden {
						forbidden++
					}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d zones (%d forbidden), %d gates, %d reports in the record, %d rejected\n",
					out, len(p.Zones), forbidden, len(p.Gates), len(p.Record), len(p.Rejected))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&reportsPath, "reports", "", "the reports record, JSON Lines (required)")
	fl.StringVar(&placesPath, "places", "", "places file (GeoJSON) resolving area.place names and listing the gates")
	fl.StringVar(&sourcesPath, "sources", "", "source registry file (JSON Lines, see 'muster source'): reports take its grades; a bad line fails the command")
	fl.StringVar(&at, "at", "", "the time of the picture, RFC 3339 (default now)")
	fl.StringVar(&format, "format", "geojson", "geojson or table")
	fl.StringVar(&policyPath, "policy", "", "routing policy file (JSON): "+strings.Join([]string{"forbid", "penalty", "large_area_km2", "well_graded", "max_forbidden_area_km2"}, ", "))
	fl.StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}
