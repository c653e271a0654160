package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"
	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

func init() { subcommands = append(subcommands, newRouteCmd) }

func newRouteCmd() *cobra.Command {
	var graphPath, fromS, toS, profileS, avoid, departS string
	var alternatives int
	var opts route.Options
	cmd := &cobra.Command{
		Use:   "route --graph city.graph --from LAT,LON --to LAT,LON",
		Short: "Find the fastest routes that avoid forbidden zones, as GeoJSON",
		Long: `Prints a GeoJSON FeatureCollection: one LineString Feature per route, best first, with
properties duration_s, distance_m, exposure (risk-weighted seconds inside risky zones),
forbidden_crossings (always 0 on a route) and, with --depart, departure and arrival times.

Zones (--avoid) are GeoJSON Polygons, MultiPolygons or Points with radius_m, with properties
forbidden (bool) and risk (0..1): the output of 'muster threats --format geojson' as it is.
A route never touches a forbidden zone; time inside a risky zone costs extra in proportion
to its risk. If the origin lies in a forbidden zone, the first Feature (leg "escape") is the
shortest way out and the routes start where it ends; if the destination does, the routes
stop at the zone's edge and a last Feature (leg "approach") shows the way in.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := parseLatLon("--from", fromS)
			if err != nil {
				return err
			}
			to, err := parseLatLon("--to", toS)
			if err != nil {
				return err
			}
			profile, err := roadgraph.ParseProfile(profileS)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "--profile: %v", err)
			}
			var depart time.Time
			if departS != "" {
				if depart, err = time.Parse(time.RFC3339, departS); err != nil {
					return muster.Errorf(muster.EINVALID, "--depart %q: want an RFC 3339 time such as 2021-08-26T14:00:00+04:30", departS)
				}
			}
			if alternatives < 1 || alternatives > 10 {
				return muster.Errorf(muster.EINVALID, "--alternatives %d: ask for 1 to 10 routes", alternatives)
			}
			var zones []muster.Zone
			if avoid != "" {
				if zones, err = readZonesFile(avoid); err != nil {
					return err
				}
			}
			r, err := loadRouter(cmd, graphPath, profile, opts)
			if err != nil {
				return err
			}
			bound := graphBound(r.Graph())
			if err := checkOnGraph("--from", fromS, from, bound); err != nil {
				return err
			}
			if err := checkOnGraph("--to", toS, to, bound); err != nil {
				return err
			}
			if len(zones) > 0 {
				st, err := r.SetZones(cmd.Context(), zones)
				if err != nil {
					return err
				}
				warnUntouched(cmd.ErrOrStderr(), avoid, st.Untouched)
			}
			res, err := r.Route(cmd.Context(), route.Request{From: from, To: to, Alternatives: alternatives})
			if err != nil {
				return err
			}
			for _, n := range res.Notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			return writeRoutesGeoJSON(cmd, res, depart)
		},
	}
	f := cmd.Flags()
	f.StringVar(&graphPath, "graph", "city.graph", "graph file made by 'muster import' or 'muster demo'")
	f.StringVar(&fromS, "from", "", "origin as LAT,LON (41.1496,-8.611)")
	f.StringVar(&toS, "to", "", "destination as LAT,LON")
	f.StringVar(&profileS, "profile", "car", "car or foot")
	f.StringVar(&avoid, "avoid", "", "zones to avoid (GeoJSON)")
	f.IntVar(&alternatives, "alternatives", 1, "number of routes wanted, best first")
	f.StringVar(&departS, "depart", "", "departure time (RFC 3339): adds departure and arrival to each route")
	f.Float64Var(&opts.RiskPenalty, "risk-penalty", 4, "extra cost per second inside a zone, per unit of risk")
	f.Float64Var(&opts.MaxSnapM, "max-snap", 1000, "how far (m) a coordinate may be from a road")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func readZonesFile(path string) ([]muster.Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "zones: %v", err)
	}
	defer f.Close()
	return zonecost.ReadGeoJSON(f, path)
}

// loadRouter loads one profile of a graph file and prepares its router.
func loadRouter(cmd *cobra.Command, path string, profile roadgraph.Profile, opts route.Options) (*route.Router, error) {
	city, err := roadgraph.LoadCity(path)
	if err != nil {
		return nil, err
	}
	g, err := city.Graph(profile)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%s: %v", path, err)
	}
	return route.New(cmd.Context(), g, opts)
}

func routeFeature(rt *route.Route, rank int, depart time.Time) *geojson.Feature {
	f := geojson.NewFeature(rt.Geometry)
	f.Properties["leg"] = rt.Leg
	if rank > 0 {
		f.Properties["rank"] = rank
	}
	f.Properties["duration_s"] = round1(rt.DurationS)
	f.Properties["distance_m"] = round1(rt.DistanceM)
	f.Properties["exposure"] = round1(rt.Exposure)
	f.Properties["forbidden_crossings"] = rt.ForbiddenCrossings
	if !depart.IsZero() {
		f.Properties["departure"] = depart.Format(time.RFC3339)
		f.Properties["arrival"] = depart.Add(time.Duration(rt.DurationS * float64(time.Second))).Format(time.RFC3339)
	}
	return f
}

func writeRoutesGeoJSON(cmd *cobra.Command, res *route.Result, depart time.Time) error {
	fc := geojson.NewFeatureCollection()
	start := depart
	if res.Escape != nil {
		fc.Append(routeFeature(res.Escape, 0, depart))
		if !depart.IsZero() {
			start = depart.Add(time.Duration(res.Escape.DurationS * float64(time.Second)))
		}
	}
	for i := range res.Routes {
		fc.Append(routeFeature(&res.Routes[i], i+1, start))
	}
	if res.Approach != nil {
		fc.Append(routeFeature(res.Approach, 0, time.Time{}))
	}
	if len(res.Notes) > 0 {
		fc.ExtraMembers = geojson.Properties{"notes": res.Notes}
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", " ")
	return enc.Encode(fc)
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// warnUntouched tells the operator of zones that touch no road of the
// graph: a threat picture of another city is used silently otherwise, and
// every route looks safe.
func warnUntouched(w io.Writer, source string, ids []string) {
	if len(ids) == 0 {
		return
	}
	shown := ids
	if len(shown) > 5 {
		shown = shown[:5]
	}
	more := ""
	if len(ids) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(ids)-len(shown))
	}
	fmt.Fprintf(w, "warning: %s: %d zone(s) touch no road of this graph and change nothing (another city's picture?): %s%s\n",
		source, len(ids), strings.Join(shown, ", "), more)
}
