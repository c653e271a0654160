// Command muster-scenario writes a generated scenario for a city graph:
// places.geojson, evacuees.csv, and the threat inject as threat-zones.geojson
// and threat-reports.jsonl, ready for
//
//	muster plan --graph city.graph --places DIR/places.geojson --evacuees DIR/evacuees.csv -o plan.json
//
// and, with the threat inject, --zones DIR/threat-zones.geojson or
// --reports DIR/threat-reports.jsonl.
//
//	go run ./scenario/cmd/muster-scenario --graph porto.graph --airport -8.681,41.248 --timezone Europe/Lisbon -o porto-scenario
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/scenario"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.Error("muster-scenario", "err", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("muster-scenario", flag.ContinueOnError)
	graph := fs.String("graph", "", "city graph file (from muster import)")
	airport := fs.String("airport", "", "airport centre as LON,LAT (Porto: -8.681,41.248)")
	out := fs.String("o", "", "directory to write the scenario into")
	threatAt := fs.String("threat-at", "2026-01-01T00:00:00Z", "when the threat reports are received (RFC 3339)")
	var o scenario.Options
	fs.Int64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same files")
	fs.IntVar(&o.Households, "households", scenario.DefaultHouseholds, "households")
	fs.IntVar(&o.TargetPeople, "people", scenario.DefaultTargetPeople, "people in all households")
	fs.IntVar(&o.RallyPoints, "rally-points", scenario.DefaultRallyPoints, "rally point candidates")
	fs.IntVar(&o.Gates, "gates", scenario.DefaultGates, "airport gates")
	fs.StringVar(&o.Timezone, "timezone", "UTC", "IANA time zone of the opening hours")
	fs.Float64Var(&o.RallyHoursShare, "rally-hours-share", scenario.DefaultRallyHoursShare, "share of rally points open 06:00-22:00 only (negative: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *graph == "" || *airport == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("--graph, --airport and -o are required")
	}
	lon, lat, ok := strings.Cut(*airport, ",")
	x, err1 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("--airport %q: want LON,LAT such as -8.681,41.248", *airport)
	}
	o.AirportCenter = orb.Point{x, y}
	at, err := time.Parse(time.RFC3339, *threatAt)
	if err != nil {
		return fmt.Errorf("--threat-at %q: want an RFC 3339 time such as 2026-03-14T08:00:00Z", *threatAt)
	}
	city, err := roadgraph.LoadCity(*graph)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *graph, err)
	}
	car, err := city.Graph(roadgraph.Car)
	if err != nil {
		return err
	}
	foot, err := city.Graph(roadgraph.Foot)
	if err != nil {
		return err
	}
	s, err := scenario.Generate(context.Background(), car, foot, o)
	if err != nil {
		return err
	}
	if err := s.WriteDir(*out, at); err != nil {
		return err
	}
	fmt.Printf("%s: %d households, %d people, %d rally points, %d gates; the threat closes %s and blocks %d roads\n",
		*out, len(s.Households), s.People(), len(s.RallyPoints()), len(s.Gates()), s.Threat.ClosedGate, len(s.Threat.RoadBlocks))
	return nil
}
