package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/httpapi"
	"github.com/muster-evac/muster/simulate"
)

// simulateRemote are the flags that take an exercise to a server: run it
// there on the current plan (--server), or send the simulated field's
// events to one's live state (--post).
type simulateRemote struct {
	server, post, token string
}

// runSimulateOnServer asks a server to run the exercise on its current
// plan, households and reports (POST /api/simulations) and prints the
// comparison; -o, if given, receives the server's answer as
// simulation.json. The server keeps it for the operations map.
func runSimulateOnServer(cmd *cobra.Command, f *simulateFlags) error {
	switch {
	case f.graph != "" || f.places != "" || f.evacuees != "" || f.planFile != "" || f.reports != "":
		return muster.Errorf(muster.EINVALID, "--server runs the exercise on the server's own plan, places, households and reports: leave out --graph, --places, --evacuees, --reports and --plan")
	case f.remote.post != "":
		return muster.Errorf(muster.EINVALID, "--server and --post: the server's own exercise does not post events; run it here with --post")
	case f.horizon > 72*time.Hour:
		return muster.Errorf(muster.EINVALID, "--horizon %v: a server runs at most 72 hours", f.horizon)
	}
	req := map[string]any{"seed": f.seed, "baselines": !f.noBaselines, "horizon_h": f.horizon.Hours()}
	if f.injects != "" {
		data, err := os.ReadFile(f.injects)
		if err != nil {
			return muster.Errorf(muster.EINVALID, "injects: %v", err)
		}
		var file struct {
			Injects json.RawMessage `json:"injects"`
		}
		if err := json.Unmarshal(data, &file); err != nil || len(file.Injects) == 0 {
			return muster.Errorf(muster.EINVALID, "%s: want {\"injects\": [...]} (docs/exercise.md)", f.injects)
		}
		req["injects"] = file.Injects
	}
	// The server may work on it for its full time limit: wait that long
	// and a minute more, so that its own answer (done, or too long) comes.
	rf := remoteFlags{server: f.remote.server, token: f.remote.token, wait: httpapi.SimulationTimeout + time.Minute}
	var raw json.RawMessage
	if err := rf.call(cmd.Context(), "POST", "/api/simulations", req, &raw); err != nil {
		return err
	}
	var ans struct {
		Plan       string                  `json:"plan"`
		Injects    []simulate.InjectRecord `json:"injects"`
		Comparison []simulate.Comparison   `json:"comparison"`
		Runs       []struct {
			Name    string                  `json:"name"`
			Replans []simulate.ReplanRecord `json:"replans"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	rep := simulate.Report{Injects: ans.Injects, Comparison: ans.Comparison}
	for _, r := range ans.Runs {
		rep.Runs = append(rep.Runs, simulate.RunReport{Name: r.Name, Replans: r.Replans})
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "exercise on %s, plan %s:\n", f.remote.server, ans.Plan)
	if err := writeComparisonTable(w, &rep); err != nil {
		return err
	}
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return err
		}
		file := filepath.Join(f.out, "simulation.json")
		if err := os.WriteFile(file, raw, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "the server's answer: %s\n", file)
	}
	fmt.Fprintln(w, "the operations map shows it (Exercise panel)")
	return nil
}

// postEvents sends the simulated field's events (muster's run) to a
// server's live state, as `muster field replay --server` would.
func postEvents(cmd *cobra.Command, f *simulateFlags, res *simulate.Result) error {
	evs := make([]muster.FieldEvent, len(res.Events))
	for i, e := range res.Events {
		evs[i] = e.FieldEvent()
	}
	fmt.Fprintf(cmd.OutOrStdout(), "posting %d field events to %s\n", len(evs), f.remote.post)
	return sendFieldEvents(cmd, &storeFlags{}, &remoteFlags{server: f.remote.post, token: f.remote.token}, evs)
}
