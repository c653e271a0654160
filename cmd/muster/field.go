package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
)

func init() { subcommands = append(subcommands, newFieldCmd, newStatusCmd) }

// EnvServerToken is the environment variable that holds the API token
// the CLI sends to a server (--token overrides it).
const EnvServerToken = "MUSTER_TOKEN"

// remoteFlags name a muster server to talk to instead of the local store.
type remoteFlags struct {
	server, token string
	// wait is how long a call may take (0: 2 min); a command whose call
	// the server may work on longer sets it.
	wait time.Duration
}

func (f *remoteFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.server, "server", "", "talk to this muster server (https://host) instead of the local store")
	fl.StringVar(&f.token, "token", "", "the API token for --server (default: $"+EnvServerToken+")")
}

// call sends a JSON request to the server and decodes its answer into out;
// an error answer is an error with the server's message.
func (f *remoteFlags) call(ctx context.Context, method, path string, in, out any) error {
	base := strings.TrimRight(f.server, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return muster.Errorf(muster.EINVALID, "--server %q: want http:// or https:// and the host", f.server)
	}
	tok := f.token
	if tok == "" {
		tok = os.Getenv(EnvServerToken)
	}
	if tok == "" {
		return muster.Errorf(muster.EINVALID, "--server needs an API token: --token or $%s", EnvServerToken)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	wait := f.wait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return muster.Errorf(muster.EINVALID, "--server: %v", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", f.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("reading %s's answer: %w", f.server, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != nil {
			return fmt.Errorf("%s %s: %s", method, path, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not what was expected: %w", method, path, err)
		}
	}
	return nil
}

func newFieldCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "field",
		Short: "Record what the field reports: check-ins, departures, sightings, arrivals, gate counts and states",
		Long: `Field events (docs/operations.md) are what happens in the field, each with an id
its maker chose (the same event sent twice is recorded once) and the time it
happened. They go to a server (--server, as the token's operator) or to the
local store (as the CLI's user). muster status shows the live state they make.`,
	}
	cmd.AddCommand(newFieldAddCmd(), newFieldReplayCmd())
	return cmd
}

// fieldBatchSize is how many events one request carries.
const fieldBatchSize = 1000

// sendFieldEvents records events in batches and prints what happened to
// them: counts, and each refused or flagged event with why.
func sendFieldEvents(cmd *cobra.Command, sf *storeFlags, rf *remoteFlags, evs []muster.FieldEvent) error {
	out := cmd.OutOrStdout()
	var outcomes []muster.FieldEventOutcome
	if rf.server != "" {
		for i := 0; i < len(evs); i += fieldBatchSize {
			batch := evs[i:min(i+fieldBatchSize, len(evs))]
			var res struct {
				Outcomes []struct {
					ID      string   `json:"id"`
					Outcome string   `json:"outcome"`
					Reason  string   `json:"reason"`
					Flags   []string `json:"flags"`
				} `json:"outcomes"`
			}
			if err := rf.call(cmd.Context(), "POST", "/api/field-events", map[string]any{"events": batch}, &res); err != nil {
				return err
			}
			for _, o := range res.Outcomes {
				outcomes = append(outcomes, muster.FieldEventOutcome{Event: muster.FieldEvent{ID: o.ID, Flags: o.Flags}, Outcome: o.Outcome, Reason: o.Reason})
			}
		}
	} else {
		ctx, st, err := sf.open(cmd, false)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := 0; i < len(evs); i += fieldBatchSize {
			res, err := st.AddFieldEvents(ctx, evs[i:min(i+fieldBatchSize, len(evs))])
			if err != nil {
				return err
			}
			outcomes = append(outcomes, res...)
		}
	}
	counts := map[string]int{}
	flagged := 0
	for _, o := range outcomes {
		counts[o.Outcome]++
		switch {
		case o.Outcome == muster.FieldRefused:
			fmt.Fprintf(out, "REFUSED %s: %s\n", o.Event.ID, o.Reason)
		case o.Outcome == muster.FieldRecorded && len(o.Event.Flags) > 0:
			flagged++
			fmt.Fprintf(out, "FLAGGED %s: %s\n", o.Event.ID, strings.Join(o.Event.Flags, ", "))
		}
	}
	fmt.Fprintf(out, "%d events: %d recorded (%d flagged), %d already recorded, %d refused\n",
		len(outcomes), counts[muster.FieldRecorded], flagged, counts[muster.FieldDuplicate], counts[muster.FieldRefused])
	if counts[muster.FieldRefused] > 0 {
		return muster.Errorf(muster.EINVALID, "%d events refused", counts[muster.FieldRefused])
	}
	return nil
}

func newFieldReplayCmd() *cobra.Command {
	var sf storeFlags
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Send a file of field events (JSON Lines, - for standard input), for tests and exercises",
		Long: `Reads field events, one JSON object a line (the simulator's output, or a
phone's log): {"id", "kind", "at", ...} with the fields of docs/operations.md.
The whole file is checked before anything is sent: a bad line is an error
naming it. Events are sent in batches of 1000; sending a file again records
nothing twice.`,
		Example: `  muster field replay drill-events.jsonl
  muster field replay --server https://evac.example.org --token $T events.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			evs, err := operation.ReadEvents(r)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return sendFieldEvents(cmd, &sf, &rf, evs)
		},
	}
	sf.register(cmd.Flags())
	rf.register(cmd.Flags())
	return cmd
}

func newFieldAddCmd() *cobra.Command {
	var sf storeFlags
	var rf remoteFlags
	var e muster.FieldEvent
	var at, since, households string
	cmd := &cobra.Command{
		Use:   "add --kind KIND --id ID [fields]",
		Short: "Record one field event",
		Example: `  muster field add --kind checkin --id ph7-0042 --household H000042 --rally rally-031
  muster field add --kind departed --id ph7-0043 --group G0012 --rally rally-031 --households H000042,H000043 --people 7
  muster field add --kind seen --id ph7-0044 --group G0012 --lat -29.99 --lon -51.17
  muster field add --kind gate_count --id g2-0900 --gate gate-2 --since 2026-03-01T08:45:00Z --at 2026-03-01T09:00:00Z --people 140
  muster field add --kind gate_state --id g2-0901 --gate gate-2 --status restricted --queue 300`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e.At = time.Now().UTC()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--at %q: want an RFC 3339 time", at)
				}
				e.At = t
			}
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--since %q: want an RFC 3339 time", since)
				}
				e.Since = t
			}
			if households != "" {
				e.Households = strings.Split(households, ",")
			}
			if e.ID == "" {
				e.ID = fmt.Sprintf("cli-%s-%d", e.Kind, e.At.UnixMicro())
			}
			if err := e.Validate(); err != nil {
				return err
			}
			return sendFieldEvents(cmd, &sf, &rf, []muster.FieldEvent{e})
		},
	}
	fl := cmd.Flags()
	sf.register(fl)
	rf.register(fl)
	fl.StringVar(&e.ID, "id", "", "the event's id (default: made from kind and time; give one to be able to send it again)")
	fl.StringVar(&e.Kind, "kind", "", "checkin, overdue, no_show, departed, seen, arrived, gate_count or gate_state")
	fl.StringVar(&at, "at", "", "when it happened, RFC 3339 (default now)")
	fl.StringVar(&since, "since", "", "gate_count: the start of the interval counted")
	fl.StringVar(&e.Household, "household", "", "the household's id")
	fl.StringVar(&e.TokenID, "token-id", "", "checkin: the instruction version it showed (I-H000042/v2)")
	fl.StringVar(&e.Group, "group", "", "the group's id")
	fl.StringVar(&households, "households", "", "departed: the households in the group as it left, comma separated")
	fl.StringVar(&e.RallyPoint, "rally", "", "the rally point's id")
	fl.StringVar(&e.Gate, "gate", "", "the gate's id")
	fl.Float64Var(&e.Lat, "lat", 0, "seen: latitude")
	fl.Float64Var(&e.Lon, "lon", 0, "seen: longitude")
	fl.IntVar(&e.People, "people", 0, "departed: people in the group; gate_count: people through")
	fl.IntVar(&e.Queue, "queue", -1, "gate_state: people seen waiting")
	fl.StringVar(&e.GateStatus, "status", "", "gate_state: open, restricted or closed")
	fl.StringVar(&e.Note, "note", "", "free text for the operators")
	return cmd
}
