package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/scenario"
)

func init() { subcommands = append(subcommands, newScenarioCmd) }

func newScenarioCmd() *cobra.Command {
	var graph, airport, out, threatAt string
	var o scenario.Options
	cmd := &cobra.Command{
		Use:   "scenario --graph city.graph --airport LAT,LON -o DIR",
		Short: "Generate an evacuation scenario for a city: households, rally points, gates and a threat",
		Long: `Writes a deterministic scenario for a graph file: places.geojson (gates around the airport,
rally points on main roads), evacuees.csv (households on residential streets) and the threat
inject (a closed gate and blocked roads) as threat-zones.geojson and threat-reports.jsonl,
ready for 'muster plan --places DIR/places.geojson --evacuees DIR/evacuees.csv' with
--zones or --reports. The same seed gives the same files.`,
		Example: `  muster import ../shared/data/porto.osm.pbf -o porto.graph
  muster scenario --graph porto.graph --airport 41.248,-8.681 --timezone Europe/Lisbon -o porto-scenario`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return muster.Errorf(muster.EINVALID, "say where to write the scenario with -o DIR")
			}
			centre, err := parseLatLon("--airport", airport)
			if err != nil {
				return err
			}
			o.AirportCenter = centre
			at, err := time.Parse(time.RFC3339, threatAt)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "--threat-at %q: want an RFC 3339 time such as 2026-03-14T08:00:00Z", threatAt)
			}
			city, err := roadgraph.LoadCity(graph)
			if err != nil {
				return err
			}
			car, err := city.Graph(roadgraph.Car)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%s: %v", graph, err)
			}
			if err := checkOnGraph("--airport", airport, o.AirportCenter, graphBound(car)); err != nil {
				return err
			}
			foot, err := city.Graph(roadgraph.Foot)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%s: %v", graph, err)
			}
			s, err := scenario.Generate(cmd.Context(), car, foot, o)
			if err != nil {
				return err
			}
			if err := s.WriteDir(out, at); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d households, %d people, %d rally points, %d gates; the threat closes %s and blocks %d roads\n",
				out, len(s.Households), s.People(), len(s.RallyPoints()), len(s.Gates()), s.Threat.ClosedGate, len(s.Threat.RoadBlocks))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&graph, "graph", "city.graph", "graph file made by 'muster import' or 'muster demo'")
	f.StringVar(&airport, "airport", "", "airport centre as LAT,LON (Porto: 41.248,-8.681)")
	f.StringVarP(&out, "output", "o", "", "folder to write the scenario into")
	f.StringVar(&threatAt, "threat-at", "2026-01-01T00:00:00Z", "when the threat reports are received (RFC 3339)")
	f.Int64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same files")
	f.IntVar(&o.Households, "households", scenario.DefaultHouseholds, "households")
	f.IntVar(&o.TargetPeople, "people", scenario.DefaultTargetPeople, "people in all households")
	f.IntVar(&o.RallyPoints, "rally-points", scenario.DefaultRallyPoints, "rally point candidates")
	f.IntVar(&o.Gates, "gates", scenario.DefaultGates, "airport gates")
	f.StringVar(&o.Timezone, "timezone", "UTC", "IANA time zone of the opening hours")
	f.Float64Var(&o.RallyHoursShare, "rally-hours-share", scenario.DefaultRallyHoursShare, "share of rally points open 06:00-22:00 only (negative: none)")
	return cmd
}
