package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

func init() { subcommands = append(subcommands, newImportCmd) }

func newImportCmd() *cobra.Command {
	var out string
	var quiet bool
	var opts osmimport.Options
	cmd := &cobra.Command{
		Use:   "import FILE.osm.pbf|.osm|.osm.bz2|.osm.gz -o city.graph",
		Short: "Build a routable road graph (car and foot) from an OpenStreetMap extract",
		Long: `Reads an OpenStreetMap extract, keeps the ways each profile (car, foot) may use,
keeps the largest strongly connected part of each network and, on foot, every other
walkable piece (a town that a road closed to pedestrians cuts off is still planned for;
--min-foot-piece drops the small ones), reports what it dropped,
orders the nodes for fast routing, and writes one compact checksummed graph file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return muster.Errorf(muster.EINVALID, "say where to write the graph with -o city.graph")
			}
			stderr := cmd.ErrOrStderr()
			if quiet {
				stderr = io.Discard
			}
			start := time.Now()
			city, stats, err := importWithProgress(cmd, args[0], stderr, opts)
			if err != nil {
				return err
			}
			if err := orderCity(cmd, city, stderr); err != nil {
				return err
			}
			if err := roadgraph.SaveCity(out, city); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d OSM nodes, %d ways read", stats.Source, stats.OSMNodes, stats.OSMWays)
			if stats.MissingNodeRefs > 0 {
				fmt.Fprintf(w, "; %d references to nodes outside the extract (ways cut there)", stats.MissingNodeRefs)
			}
			fmt.Fprintln(w)
			for _, ps := range stats.Profiles {
				kept := "the largest connected network"
				if ps.Pieces > 1 {
					kept = fmt.Sprintf("the %d walkable pieces kept", ps.Pieces)
					if minPiece(opts) > 2 {
						kept += fmt.Sprintf(" (the largest, and every other of %d nodes or more)", minPiece(opts))
					}
				}
				fmt.Fprintf(w, "  %-4s %7d nodes %8d arcs from %d ways; dropped %d nodes and %d arcs outside %s (%d parts in all)\n",
					ps.Profile, ps.Nodes, ps.Arcs, ps.Ways, ps.DroppedNodes, ps.DroppedArcs, kept, ps.Components)
				if opts.FootEmergency && ps.Profile == roadgraph.Foot {
					fmt.Fprintf(w, "  foot emergency: %d arcs (%.1f km of road) closed to pedestrians kept, where nothing else joins the pieces they join; a plan says who walks on them\n",
						ps.EmergencyArcs, ps.EmergencyM/1000)
				}
			}
			fi, _ := os.Stat(out)
			var size int64
			if fi != nil {
				size = fi.Size()
			}
			fmt.Fprintf(w, "wrote %s (%.1f MB) in %s\n", out, float64(size)/1e6, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "graph file to write")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.Flags().BoolVar(&opts.FootEmergency, "foot-emergency", false, "also let people walk on roads closed to pedestrians (foot=no, use_sidepath, motorroad) where nothing else joins two walkable pieces; marked in the graph, and every plan says who walks on them")
	cmd.Flags().IntVar(&opts.MinFootPiece, "min-foot-piece", osmimport.DefaultMinFootPiece, "keep, besides the largest, every walkable piece of at least this many nodes (default: every piece; negative: the largest only)")
	return cmd
}

func importWithProgress(cmd *cobra.Command, path string, stderr io.Writer, opts osmimport.Options) (*roadgraph.City, *osmimport.Stats, error) {
	var bar *progressbar.ProgressBar
	if fi, err := os.Stat(path); err == nil {
		bar = progressbar.NewOptions64(fi.Size(), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("reading "+path),
			progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	if bar != nil {
		opts.Progress = func(done, total int64) { _ = bar.Set64(done) }
	}
	city, stats, err := osmimport.ImportFile(cmd.Context(), path, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	return city, stats, err
}

// orderCity computes each graph's nested-dissection order once, at import,
// so that loading the graph for routing needs no more than a read. The
// profiles are ordered side by side: the work is independent.
func orderCity(cmd *cobra.Command, city *roadgraph.City, stderr io.Writer) error {
	bar := progressbar.NewOptions(len(city.Graphs), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("ordering nodes for routing"),
		progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
	defer func() { _ = bar.Finish() }()
	g, ctx := errgroup.WithContext(cmd.Context())
	for _, p := range roadgraph.Profiles {
		graph := city.Graphs[p]
		if graph == nil {
			continue
		}
		g.Go(func() error {
			order, err := route.NestedDissectionOrder(ctx, graph)
			if err != nil {
				return fmt.Errorf("ordering the %s graph: %w", p, err)
			}
			graph.Order = order
			_ = bar.Add(1)
			return nil
		})
	}
	return g.Wait()
}

// minPiece is the smallest walkable piece the import keeps beside the
// largest, as the flag set it.
func minPiece(o osmimport.Options) int {
	if o.MinFootPiece == 0 {
		return osmimport.DefaultMinFootPiece
	}
	return o.MinFootPiece
}
