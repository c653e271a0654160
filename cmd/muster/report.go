package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/threat"
)

func init() { subcommands = append(subcommands, newReportCmd) }

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Keep the record of threat reports: import a file, add one report",
		Long: `A reports file (JSON Lines, one report a line, the format of
../shared/scenarios/README.md) is the record the threat picture is built
from. Reports are appended exactly as received and never overwritten: a
correction is a new report (with relates_to). A report whose id is already
in the record is rejected.`,
	}
	cmd.AddCommand(newReportImportCmd(), newReportAddCmd())
	return cmd
}

// loadPlacesIndex reads a places file, or returns nil for no file.
func loadPlacesIndex(path string) (*places.Index, error) {
	if path == "" {
		return nil, nil
	}
	pl, err := places.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return places.NewIndex(pl)
}

// storeIDs returns the ids of the reports already in the record file (an
// absent file is an empty record).
func storeIDs(path string) (map[string]bool, error) {
	ids := map[string]bool{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return ids, nil
	}
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "record %s: %v", path, err)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &v); err != nil || v.ID == "" {
			return nil, muster.Errorf(muster.EINVALID, "record %s line %d: not a report with an id; fix the record before adding to it", path, i+1)
		}
		ids[v.ID] = true
	}
	return ids, nil
}

// appendToStore appends raw report lines to the record under an exclusive
// lock, re-checking ids under the lock so that two operators adding at
// once cannot both add one id.
func appendToStore(path string, accepted []threat.Accepted) ([]threat.Accepted, []threat.Rejection, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, muster.Errorf(muster.EINVALID, "record %s: %v", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, nil, fmt.Errorf("locking record %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	ids, err := storeIDs(path)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			buf.WriteByte('\n')
		}
	}
	var kept []threat.Accepted
	var rejected []threat.Rejection
	for _, a := range accepted {
		if ids[a.Report.ID] {
			rejected = append(rejected, threat.Rejection{Line: a.Line, ID: a.Report.ID, Input: string(a.Raw),
				Err: &threat.FieldError{Field: "id", Reason: fmt.Sprintf("%q is already the id of a report in the record", a.Report.ID)}})
			continue
		}
		ids[a.Report.ID] = true
		buf.Write(a.Raw)
		buf.WriteByte('\n')
		kept = append(kept, a)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("appending to record %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, nil, fmt.Errorf("syncing record %s: %w", path, err)
	}
	return kept, rejected, nil
}

func printOutcome(w io.Writer, verb string, accepted []threat.Accepted, rejected []threat.Rejection) {
	for _, a := range accepted {
		fmt.Fprintf(w, "%s  line %d  %s  %s %s %s at %s\n", verb, a.Line, threat.Safe(a.Report.ID), a.Report.Grade(),
			a.Report.Kind, a.Report.Claim, threat.Safe(areaLabel(a.Report.Area)))
	}
	for _, r := range rejected {
		fmt.Fprintf(w, "rejected  %s\n", threat.Safe(r.Error()))
	}
}

func areaLabel(a muster.Area) string {
	switch {
	case a.PlaceID != "":
		return "place id " + strconv.Quote(a.PlaceID)
	case a.Place != "":
		return strconv.Quote(a.Place)
	case a.Point != nil:
		return fmt.Sprintf("%.0f m round %.5f,%.5f", a.RadiusM, a.Point[0], a.Point[1])
	}
	return fmt.Sprintf("a polygon of %d points", len(a.Polygon[0]))
}

func newReportImportCmd() *cobra.Command {
	var into, placesPath string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Validate a JSON Lines file of reports and append the good ones to the record",
		Long: `Each line is validated on its own: a bad line is rejected with the field
and the reason, the good ones are kept. --dry-run shows both and writes
nothing. The command fails (exit status 2) if any line was rejected, after
appending the good ones.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if into == "" && !dryRun {
				return muster.Errorf(muster.EINVALID, "give --into FILE (the record to append to) or --dry-run")
			}
			ix, err := loadPlacesIndex(placesPath)
			if err != nil {
				return err
			}
			existing := map[string]bool{}
			if into != "" {
				if existing, err = storeIDs(into); err != nil {
					return err
				}
			}
			in, err := os.Open(args[0])
			if err != nil {
				return muster.Errorf(muster.EINVALID, "reports: %v", err)
			}
			defer in.Close()
			res, err := threat.ParseReports(in, existing, threat.ParseOptions{Places: ix})
			if err != nil {
				return fmt.Errorf("reading %s: %w", args[0], err)
			}
			accepted, rejected := res.Accepted, res.Rejected
			verb := "accepted"
			if dryRun {
				verb = "would add"
			} else {
				var late []threat.Rejection
				if accepted, late, err = appendToStore(into, accepted); err != nil {
					return err
				}
				rejected = append(rejected, late...)
				verb = "added"
			}
			out := cmd.OutOrStdout()
			printOutcome(out, verb, accepted, rejected)
			fmt.Fprintf(out, "%d %s, %d rejected\n", len(accepted), verb, len(rejected))
			if len(rejected) > 0 {
				return muster.Errorf(muster.EINVALID, "%s: %d of %d reports rejected", args[0], len(rejected), len(accepted)+len(rejected))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&into, "into", "", "the record (JSON Lines) to append the accepted reports to; created if absent")
	cmd.Flags().StringVar(&placesPath, "places", "", "places file (GeoJSON) resolving area.place names and area.place_id ids")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be accepted and rejected; write nothing")
	return cmd
}

func newReportAddCmd() *cobra.Command {
	var into, placesPath, doc string
	var f struct {
		id, receivedAt, observedAt, sourceID, sourceName, sourceKind, via, reliability string
		actor, kind, claim, likelihood, immediacy, place, point, polygon, validUntil   string
		placeID, text                                                                  string
		relatesTo                                                                      []string
		credibility, severity                                                          int
		radiusM                                                                        float64
	}
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add one report to the record, from flags or a JSON document",
		Example: `  muster report add --into reports.jsonl --places places.geojson --id r12 \
    --source-id gate3-team --source-name "Gate 3 field team" --source-kind field \
    --reliability A --credibility 2 --kind crowd --claim present \
    --likelihood "almost certain" --immediacy imminent --severity 3 \
    --place "Abbey Gate" --text "A crowd of about 500 at the gate"
  muster report add --into reports.jsonl --json '{"id": "r13", ...}'
  muster report add --into reports.jsonl --json - < report.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if into == "" {
				return muster.Errorf(muster.EINVALID, "give --into FILE, the record to add the report to")
			}
			ix, err := loadPlacesIndex(placesPath)
			if err != nil {
				return err
			}
			var raw []byte
			if doc != "" {
				if doc == "-" {
					if raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), threat.MaxLineBytes+1)); err != nil {
						return fmt.Errorf("reading the report from stdin: %w", err)
					}
				} else {
					raw = []byte(doc)
				}
				// One line in the record: compact what was given.
				var b bytes.Buffer
				if err := json.Compact(&b, bytes.TrimSpace(raw)); err != nil {
					return muster.Errorf(muster.EINVALID, "--json: not a JSON document: %v", err)
				}
				raw = b.Bytes()
			} else {
				src := map[string]any{"id": f.sourceID, "kind": f.sourceKind}
				if f.sourceName != "" {
					src["name"] = f.sourceName
				}
				if f.via != "" {
					src["via"] = f.via
				}
				m := map[string]any{"id": f.id, "source": src}
				received := f.receivedAt
				if received == "" {
					received = time.Now().UTC().Format(time.RFC3339)
				}
				m["received_at"] = received
				for k, v := range map[string]string{"observed_at": f.observedAt, "reliability": f.reliability, "actor": f.actor,
					"kind": f.kind, "claim": f.claim, "immediacy": f.immediacy, "valid_until": f.validUntil, "text": f.text} {
					if v != "" {
						m[k] = v
					}
				}
				if cmd.Flags().Changed("credibility") {
					m["credibility"] = f.credibility
				}
				if cmd.Flags().Changed("severity") {
					m["severity"] = f.severity
				}
				if f.likelihood != "" {
					if v, err := strconv.ParseFloat(f.likelihood, 64); err == nil {
						m["likelihood"] = v
					} else {
						m["likelihood"] = f.likelihood
					}
				}
				if len(f.relatesTo) > 0 {
					m["relates_to"] = f.relatesTo
				}
				area := map[string]any{}
				if f.place != "" {
					area["place"] = f.place
				}
				if f.placeID != "" {
					area["place_id"] = f.placeID
				}
				if f.point != "" {
					pt, err := parsePointFlag(f.point)
					if err != nil {
						return err
					}
					area["point"] = pt
				}
				if cmd.Flags().Changed("radius-m") {
					area["radius_m"] = f.radiusM
				}
				if f.polygon != "" {
					var poly any
					if err := json.Unmarshal([]byte(f.polygon), &poly); err != nil {
						return muster.Errorf(muster.EINVALID, "--polygon: not JSON polygon coordinates [[[lon, lat], ...]]: %v", err)
					}
					area["polygon"] = poly
				}
				if len(area) > 0 {
					m["area"] = area
				}
				if raw, err = json.Marshal(m); err != nil {
					return fmt.Errorf("encoding the report: %w", err)
				}
			}
			res, err := threat.ParseReports(bytes.NewReader(raw), nil, threat.ParseOptions{Places: ix})
			if err != nil {
				return err
			}
			if len(res.Rejected) > 0 {
				r := res.Rejected[0]
				r.Line = 0
				return muster.Errorf(muster.EINVALID, "report rejected: %v", r.Err)
			}
			if len(res.Accepted) != 1 {
				return muster.Errorf(muster.EINVALID, "give one report")
			}
			kept, rejected, err := appendToStore(into, res.Accepted)
			if err != nil {
				return err
			}
			if len(rejected) > 0 {
				return muster.Errorf(muster.ECONFLICT, "report rejected: %v", rejected[0].Err)
			}
			r := kept[0].Report
			fmt.Fprintf(cmd.OutOrStdout(), "added %s (%s %s %s at %s) to %s\n", threat.Safe(r.ID), r.Grade(), r.Kind, r.Claim,
				threat.Safe(areaLabel(r.Area)), into)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&into, "into", "", "the record (JSON Lines) to add the report to; created if absent")
	fl.StringVar(&placesPath, "places", "", "places file (GeoJSON) resolving --place and --place-id")
	fl.StringVar(&doc, "json", "", "the whole report as one JSON document (\"-\" reads it from stdin); replaces the other flags")
	fl.StringVar(&f.id, "id", "", "unique id of the report")
	fl.StringVar(&f.receivedAt, "received-at", "", "RFC 3339 time the report was received (default now)")
	fl.StringVar(&f.observedAt, "observed-at", "", "RFC 3339 time of what it reports")
	fl.StringVar(&f.sourceID, "source-id", "", "id of the original source (reports from one source are not independent)")
	fl.StringVar(&f.sourceName, "source-name", "", "name of the original source")
	fl.StringVar(&f.sourceKind, "source-kind", "", "official, intelligence, media, social, field or public")
	fl.StringVar(&f.via, "via", "", "the outlet that relayed it")
	fl.StringVar(&f.reliability, "reliability", "", "Admiralty source reliability A-F")
	fl.IntVar(&f.credibility, "credibility", 0, "Admiralty information credibility 1-6")
	fl.StringVar(&f.actor, "actor", "", "who")
	fl.StringVar(&f.kind, "kind", "", strings.Join(muster.ReportKinds, ", "))
	fl.StringVar(&f.claim, "claim", "", "present or absent; open, restricted or closed for gate-status")
	fl.StringVar(&f.likelihood, "likelihood", "", "estimative words (\"likely\", \"strong possibility\") or a number 0..1")
	fl.StringVar(&f.immediacy, "immediacy", "", "imminent, near-term, not-immediate or unknown")
	fl.IntVar(&f.severity, "severity", 0, "1 (nuisance) to 5 (mass casualties)")
	fl.StringVar(&f.place, "place", "", "area: a place's name, alias or group")
	fl.StringVar(&f.placeID, "place-id", "", "area: a place's id (for a place whose name other places share)")
	fl.StringVar(&f.point, "point", "", "area: a circle's centre LAT,LON (with --radius-m)")
	fl.Float64Var(&f.radiusM, "radius-m", 0, "area: the circle's radius in metres")
	fl.StringVar(&f.polygon, "polygon", "", "area: GeoJSON polygon coordinates [[[lon, lat], ...]]")
	fl.StringVar(&f.validUntil, "valid-until", "", "RFC 3339 time after which the report stops counting")
	fl.StringSliceVar(&f.relatesTo, "relates-to", nil, "ids of reports it corroborates or contradicts")
	fl.StringVar(&f.text, "text", "", "the original wording")
	return cmd
}

// parsePointFlag reads --point as LAT,LON, like every coordinate flag,
// into the report format's [lon, lat].
func parsePointFlag(s string) ([]float64, error) {
	p, err := parseLatLon("--point", s)
	if err != nil {
		return nil, err
	}
	return []float64{p.Lon(), p.Lat()}, nil
}
