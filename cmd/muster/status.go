package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
)

func newStatusCmd() *cobra.Command {
	var sf storeFlags
	var rf remoteFlags
	var at, planFile, stateOut string
	var grace time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The live state of the operation: gates, rally points, groups, against the plan",
		Long: `Shows where the operation stands against the current plan (docs/operations.md):
people through, on the way, waiting at rally points, not yet moved, overdue
and no-shows; each gate's people through, waiting and expected and its
measured rate against the nominal; each rally point's people present and
overdue; the groups by where they are; the events kept but not applied, and
the check-ins at another rally point than the household's (applied).

With --server it asks that server (GET /api/operation); without, it computes
the state from the local store's field events against its current plan, or
the plan file --plan names (--at sets "now", for a replayed exercise).`,
		Example: `  muster status
  muster status --plan plan.json --at 2026-03-14T09:30:00Z --state-out state.json
  muster plan replan --plan plan.json ... --at 2026-03-14T09:30:00Z --state state.json --proposals -o proposed.json
  muster status --json
  muster status --server https://evac.example.org --token $T`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var st *operation.State
			if rf.server != "" {
				if at != "" || planFile != "" || stateOut != "" {
					return muster.Errorf(muster.EINVALID, "--at, --plan and --state-out are for the local store: a server answers as of now, against its current plan")
				}
				st = new(operation.State)
				if err := rf.call(cmd.Context(), "GET", "/api/operation", nil, st); err != nil {
					return err
				}
			} else {
				now := time.Now()
				if at != "" {
					t, err := time.Parse(time.RFC3339, at)
					if err != nil {
						return muster.Errorf(muster.EINVALID, "--at %q: want an RFC 3339 time", at)
					}
					now = t
				}
				ctx, store, err := sf.open(cmd, false)
				if err != nil {
					return err
				}
				defer store.Close()
				var p *plan.Plan
				if planFile != "" {
					if p, err = readPlan(planFile); err != nil {
						return err
					}
				}
				if st, err = localState(ctx, store, p, now, grace); err != nil {
					return err
				}
			}
			if stateOut != "" {
				ps := st.PlanState()
				if err := writeFile(stateOut, func(w io.Writer) error { return json.NewEncoder(w).Encode(&ps) }); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printState(cmd.OutOrStdout(), st)
			return nil
		},
	}
	sf.register(cmd.Flags())
	rf.register(cmd.Flags())
	cmd.Flags().StringVar(&planFile, "plan", "", "measure against this plan file (plan.json) instead of the store's current plan (local store only)")
	cmd.Flags().StringVar(&at, "at", "", "now, RFC 3339 (local store only; default: now)")
	cmd.Flags().DurationVar(&grace, "grace", operation.DefaultGrace, "time after report-by an overdue household becomes a no-show (local store only)")
	cmd.Flags().StringVar(&stateOut, "state-out", "", "also write the state a re-plan starts from (muster plan replan --state) to this file (local store only)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the state as JSON (what GET /api/operation answers)")
	return cmd
}

// localState computes the live state from the store's current plan and
// every field event.
func localState(ctx context.Context, st muster.Store, p *plan.Plan, now time.Time, grace time.Duration) (*operation.State, error) {
	planID := "file"
	if p == nil {
		rec, err := st.CurrentPlan(ctx)
		if err != nil {
			if muster.ErrorCode(err) == muster.ENOTFOUND {
				return nil, muster.Errorf(muster.ENOTFOUND, "no current plan in the store: approve one, or give the plan file with --plan")
			}
			return nil, err
		}
		if p, err = plan.Decode(rec.Body); err != nil {
			return nil, fmt.Errorf("plan %s: %w", rec.ID, err)
		}
		planID = rec.ID
	}
	var evs []muster.FieldEvent
	var after int64
	for {
		page, err := st.ListFieldEvents(ctx, muster.FieldEventFilter{AfterSeq: after, Limit: 10_000})
		if err != nil {
			return nil, err
		}
		evs = append(evs, page...)
		if len(page) < 10_000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	return operation.Compute(p, evs, now, operation.Options{Grace: grace, PlanID: planID}), nil
}

// printState prints the live state as tables.
func printState(w io.Writer, st *operation.State) {
	t := st.Totals
	pace := "on plan"
	switch {
	case st.BehindMin > 0:
		pace = fmt.Sprintf("%.0f min behind plan", st.BehindMin)
	case st.BehindMin < 0:
		pace = fmt.Sprintf("%.0f min ahead of plan", -st.BehindMin)
	}
	fmt.Fprintf(w, "Operation at %s, plan %s: %s (%d events)\n", st.At.UTC().Format(time.RFC3339), st.Plan, pace, st.Events)
	fmt.Fprintf(w, "People: %d planned; %d through (plan: %d by now), %d on the way, %d at rally points, %d not yet moved, %d overdue, %d no-shows\n\n",
		t.Planned, t.Through, t.PlannedBy, t.OnTheWay, t.AtRally, t.NotMoved, t.Overdue, t.NoShows)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "GATE\tSTATUS\tEXPECTED\tTHROUGH\tWAITING\tQUEUE SEEN\tRATE/H\tNOMINAL/H\t")
	for _, g := range st.Gates {
		queue, rate := "-", "-"
		if g.Queue >= 0 {
			queue = fmt.Sprint(g.Queue)
		}
		if g.MeasuredPerHour > 0 {
			rate = fmt.Sprintf("%.0f", g.MeasuredPerHour)
			if g.Slow {
				rate += " SLOW"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t\n", g.ID, g.Status, g.Expected, g.Through, g.Waiting, queue, rate, g.NominalPerHour)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RALLY POINT\tEXPECTED\tPRESENT\tHOUSEHOLDS\tOVERDUE\tNO-SHOWS\t")
	for _, r := range st.RallyPoints {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", r.ID, r.Expected, r.Present, len(r.Here), len(r.Overdue), len(r.NoShows))
	}
	tw.Flush()
	fmt.Fprintln(w)
	byStatus := map[string]int{}
	var moving []operation.GroupState
	for _, g := range st.Groups {
		byStatus[g.Status]++
		if g.Status == operation.GroupMoving {
			moving = append(moving, g)
		}
	}
	fmt.Fprintf(w, "Groups: %d forming, %d moving, %d at their gate, %d through\n", byStatus[operation.GroupForming], byStatus[operation.GroupMoving],
		byStatus[operation.GroupAtGate], byStatus[operation.GroupThrough])
	if len(moving) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MOVING\tFROM\tTO\tPEOPLE\tLEFT\tLATE MIN\tLAST SEEN")
		for _, g := range moving {
			seen := "not since it left"
			if !g.SeenAt.IsZero() {
				seen = fmt.Sprintf("%.5f,%.5f at %s", g.Lat, g.Lon, g.SeenAt.UTC().Format("15:04"))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.0f\t%s\n", g.ID, g.RallyPoint, g.Gate, g.People, g.Departed.UTC().Format("15:04"), g.LateMin, seen)
		}
		tw.Flush()
	}
	if len(st.Flagged) > 0 {
		fmt.Fprintf(w, "\nFlagged, kept but not applied unless said (%d):\n", len(st.Flagged))
		for _, f := range st.Flagged {
			where := ""
			if f.RallyPoint != "" {
				where = " at rally point " + f.RallyPoint
			}
			if f.Applied {
				where += ", applied"
			}
			if f.Noted {
				where += ", with a note (GET /api/field-events)"
			}
			fmt.Fprintf(w, "  %s  %s %s at %s by %s: %s%s\n", f.ID, f.Kind, f.What, f.At.UTC().Format(time.RFC3339), f.By, strings.Join(f.Flags, ", "), where)
		}
	}
}
