package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/threat"
)

func init() { subcommands = append(subcommands, newSourceCmd) }

func newSourceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "source",
		Short: "Grade report sources once, for all their reports: the source registry",
		Long: `Sources are graded once, by analysts. The source registry holds, for a
source id (the source.id its reports give), the analysts' grade:

  --reliability A-F   its reports take this Admiralty reliability instead of
                      the one typed on each report (empty: each keeps its own)
  --hostile           its reports stay in the record but do not count
  --cluster NAME      sources with one cluster (one operator behind many
                      accounts, a sock-puppet cluster) count as one source
  --name, --kind, --note   who it is, and the analyst's reason

The registry lives in the server's store (the default: the commands open the
store as 'muster households' does, with --data, --db and --key, and act as
the CLI's user; every change is audited) or in a file (--file sources.jsonl),
which 'muster threats --sources' and 'muster plan --sources' read.

The file is JSON Lines, one source a line, in the fields of the API:
  {"id": "tg-17", "name": "Telegram account 17", "kind": "social", "reliability": "F",
   "hostile": true, "cluster": "gate-campaign", "note": "...",
   "updated_at": "2021-08-26T14:05:00Z", "updated_by": "amina"}
It is a log: every set or delete appends a line (updated_by is the OS user),
the last line for an id is its grade, and {"id": "tg-17", "deleted": true, ...}
removes it, so the file keeps its own history. It is parsed strictly: a bad
line is named with its field and reason, and a file with a bad line is
refused until it is fixed (a grade left out could be a hostile mark).`,
		Example: `  muster source set tg-17 --reliability F --hostile --cluster gate-campaign --note "one of 40 new accounts" --file sources.jsonl
  muster source list --file sources.jsonl
  muster threats --reports reports.jsonl --places places.geojson --sources sources.jsonl --format table
  muster source import sources.jsonl        # into the server's store
  muster source set us-defense-official --reliability B --kind official
  muster source export -o sources.jsonl`,
	}
	cmd.AddCommand(newSourceListCmd(), newSourceSetCmd(), newSourceDeleteCmd(), newSourceImportCmd(), newSourceExportCmd())
	return cmd
}

// registryFlags choose the registry a command works on: a file, or the
// store.
type registryFlags struct {
	file string
	sf   storeFlags
}

func (f *registryFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.file, "file", "", "work on this registry file (JSON Lines) instead of the store; created if absent")
	f.sf.register(cmd.Flags())
}

// check refuses --file with store flags: one registry at a time.
func (f *registryFlags) check(cmd *cobra.Command) error {
	if f.file == "" {
		return nil
	}
	for _, name := range []string{"data", "db", "key"} {
		if cmd.Flags().Changed(name) {
			return muster.Errorf(muster.EINVALID, "give --file or --%s, not both: the file and the store are two registries", name)
		}
	}
	return nil
}

// osUser names the OS user for a file's updated_by.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// changeSourceFile appends to a registry file, under an exclusive lock,
// the lines change makes from the registry as it stands under the lock, so
// that two analysts changing one file at once do not undo each other. A
// file with a bad line is refused.
func changeSourceFile(path string, change func(reg threat.Sources) ([]threat.SourceLine, error)) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return muster.Errorf(muster.EINVALID, "source registry: %v", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking source registry %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cur, err := threat.ParseSources(io.NewSectionReader(f, 0, threat.MaxSourceFileBytes+1))
	if err != nil {
		return fmt.Errorf("source registry %s: %w", path, err)
	}
	if err := cur.Err(path); err != nil {
		return fmt.Errorf("%w; fix the file before changing it", err)
	}
	lines, err := change(threat.NewSources(cur.Grades()))
	if err != nil {
		return err
	}
	return threat.AppendSourceLines(f, lines)
}

// loadSourceRegistry reads the registry file a picture is built under:
// no option for no file. A bad line fails the whole file.
func loadSourceRegistry(path string) ([]threat.Option, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--sources: %v", err)
	}
	defer f.Close()
	sf, err := threat.ParseSources(f)
	if err != nil {
		return nil, fmt.Errorf("source registry %s: %w", path, err)
	}
	if err := sf.Err(path); err != nil {
		return nil, err
	}
	return []threat.Option{threat.WithSources(threat.NewSources(sf.Grades()))}, nil
}

// gradeWords is a grade in a few words, for what a command did.
func gradeWords(g *muster.SourceGrade) string {
	var parts []string
	if g.Reliability != "" {
		parts = append(parts, "reliability "+g.Reliability)
	} else {
		parts = append(parts, "reliability as each report says")
	}
	if g.Hostile {
		parts = append(parts, "HOSTILE: its reports do not count")
	}
	if g.Cluster != "" {
		parts = append(parts, "cluster "+g.Cluster)
	}
	if g.Kind != "" {
		parts = append(parts, g.Kind)
	}
	return threat.Safe(strings.Join(parts, ", "))
}

func newSourceListCmd() *cobra.Command {
	var rf registryFlags
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the graded sources: id, reliability, hostile, cluster, when and by whom, note",
		Long: `Lists the registry (the store's, or with --file the one a file ends with)
in id order: a table, or with --format json a JSON array in the file's fields.
A file with bad lines is listed without them, the bad lines named on stderr,
and the command then fails (exit status 2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.check(cmd); err != nil {
				return err
			}
			if format != "table" && format != "json" {
				return muster.Errorf(muster.EINVALID, "--format %q: want table or json", format)
			}
			var list []muster.SourceGrade
			var bad error
			if rf.file != "" {
				sf, err := threat.ReadSourceFile(rf.file)
				if err != nil {
					return err
				}
				for _, r := range sf.Rejected {
					fmt.Fprintf(cmd.ErrOrStderr(), "muster: %s: %s (left out)\n", rf.file, threat.Safe(r.Error()))
				}
				list, bad = sf.Grades(), sf.Err(rf.file)
			} else {
				ctx, st, err := rf.sf.open(cmd, false)
				if err != nil {
					return err
				}
				defer st.Close()
				if list, err = st.Sources(ctx); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				out := make([]json.RawMessage, 0, len(list))
				for _, g := range list {
					b, err := threat.MarshalSourceLine(threat.SourceLine{Grade: g})
					if err != nil {
						return err
					}
					out = append(out, b)
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
				return bad
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRELIABILITY\tHOSTILE\tCLUSTER\tUPDATED\tBY\tNOTE")
			for _, g := range list {
				rel, hostile, cluster, updated, by := "-", "-", "-", "-", "-"
				if g.Reliability != "" {
					rel = g.Reliability
				}
				if g.Hostile {
					hostile = "HOSTILE"
				}
				if g.Cluster != "" {
					cluster = g.Cluster
				}
				if !g.UpdatedAt.IsZero() {
					updated = g.UpdatedAt.UTC().Format(time.RFC3339)
				}
				if g.UpdatedBy != "" {
					by = g.UpdatedBy
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(g.ID), rel, hostile, cell(cluster), updated, cell(by), cell(clipNote(g.Note)))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "%d sources\n", len(list))
			return bad
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// cell makes text safe for one table cell: no control characters, no tab.
func cell(s string) string { return strings.ReplaceAll(threat.Safe(s), "\t", " ") }

func clipNote(s string) string {
	r := []rune(s)
	if len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}

func newSourceSetCmd() *cobra.Command {
	var rf registryFlags
	var v struct {
		reliability, cluster, name, kind, note string
		hostile, noHostile                     bool
	}
	cmd := &cobra.Command{
		Use:   "set ID [--reliability B] [--hostile|--no-hostile] [--cluster NAME] [--name ...] [--kind ...] [--note ...]",
		Short: "Grade a source: change only the fields given (a new id is registered)",
		Long: `Sets the fields given, and only those, on source ID's grade (a source not yet
registered is registered with them). An empty value clears a field:
--reliability "" lets each report keep its own grade, --cluster "" takes the
source out of its cluster. In the store the change is audited, by the CLI's
user; in a file (--file) it is a new line, by the OS user.`,
		Example: `  muster source set tg-17 --reliability F --hostile --cluster gate-campaign --note "one of 40 new accounts, one text"
  muster source set tg-17 --no-hostile --note "verified: a real eyewitness" --file sources.jsonl
  muster source set us-defense-official --reliability B --kind official --name "US defense official"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.check(cmd); err != nil {
				return err
			}
			id := args[0]
			fl := cmd.Flags()
			if v.hostile && v.noHostile {
				return muster.Errorf(muster.EINVALID, "give --hostile or --no-hostile, not both")
			}
			given := false
			for _, name := range []string{"reliability", "hostile", "no-hostile", "cluster", "name", "kind", "note"} {
				given = given || fl.Changed(name)
			}
			if !given {
				return muster.Errorf(muster.EINVALID, "nothing to set: give --reliability, --hostile or --no-hostile, --cluster, --name, --kind or --note")
			}
			apply := func(g muster.SourceGrade) (muster.SourceGrade, error) {
				g.ID = id
				for _, f := range []struct {
					name     string
					dst, val *string
				}{{"reliability", &g.Reliability, &v.reliability}, {"cluster", &g.Cluster, &v.cluster}, {"name", &g.Name, &v.name},
					{"kind", &g.Kind, &v.kind}, {"note", &g.Note, &v.note}} {
					if fl.Changed(f.name) {
						*f.dst = *f.val
					}
				}
				if fl.Changed("hostile") {
					g.Hostile = v.hostile
				}
				if fl.Changed("no-hostile") {
					g.Hostile = !v.noHostile
				}
				return g, g.Validate()
			}
			w := cmd.OutOrStdout()
			if rf.file != "" {
				var set muster.SourceGrade
				err := changeSourceFile(rf.file, func(reg threat.Sources) ([]threat.SourceLine, error) {
					g, err := apply(reg[id])
					if err != nil {
						return nil, err
					}
					g.UpdatedAt, g.UpdatedBy = time.Now().UTC().Truncate(time.Second), osUser()
					set = g
					return []threat.SourceLine{{Grade: g}}, nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "set %s: %s (in %s)\n", threat.Safe(id), gradeWords(&set), rf.file)
				return nil
			}
			ctx, st, err := rf.sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.Sources(ctx)
			if err != nil {
				return err
			}
			g, err := apply(threat.NewSources(list)[id])
			if err != nil {
				return err
			}
			if g, err = st.PutSource(ctx, g); err != nil {
				return err
			}
			fmt.Fprintf(w, "set %s: %s (in the store, audited as %s)\n", threat.Safe(id), gradeWords(&g), threat.Safe(g.UpdatedBy))
			return nil
		},
	}
	rf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&v.reliability, "reliability", "", "Admiralty reliability A (reliable) to F (cannot be judged); \"\": each report keeps its own")
	fl.BoolVar(&v.hostile, "hostile", false, "mark the source hostile: its reports stay in the record but do not count")
	fl.BoolVar(&v.noHostile, "no-hostile", false, "lift the hostile mark")
	fl.StringVar(&v.cluster, "cluster", "", "the sock-puppet cluster it belongs to (sources of one cluster count as one); \"\": none")
	fl.StringVar(&v.name, "name", "", "the source's name")
	fl.StringVar(&v.kind, "kind", "", strings.Join(muster.SourceKinds, ", ")+"; \"\": not given")
	fl.StringVar(&v.note, "note", "", "the analyst's reason, shown with the source")
	return cmd
}

func newSourceDeleteCmd() *cobra.Command {
	var rf registryFlags
	var note string
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Remove a source's grade: its reports keep their own grades again",
		Long: `Removes source ID from the registry. In the store the deletion is audited;
in a file (--file) it is a new line {"id": ID, "deleted": true, ...}, with
--note as the reason, and the file keeps the grades it had. A source not in
the registry is an error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.check(cmd); err != nil {
				return err
			}
			id := args[0]
			w := cmd.OutOrStdout()
			if rf.file != "" {
				err := changeSourceFile(rf.file, func(reg threat.Sources) ([]threat.SourceLine, error) {
					if _, ok := reg[id]; !ok {
						return nil, muster.Errorf(muster.ENOTFOUND, "source %q is not in %s", id, rf.file)
					}
					return []threat.SourceLine{{Deleted: true, Grade: muster.SourceGrade{ID: id, Note: note,
						UpdatedAt: time.Now().UTC().Truncate(time.Second), UpdatedBy: osUser()}}}, nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "deleted %s (from %s)\n", threat.Safe(id), rf.file)
				return nil
			}
			if cmd.Flags().Changed("note") {
				return muster.Errorf(muster.EINVALID, "--note goes with --file: the store's audit log records who deleted and when")
			}
			ctx, st, err := rf.sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DeleteSource(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(w, "deleted %s (from the store)\n", threat.Safe(id))
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&note, "note", "", "the reason, kept in the file's deleted line (--file only)")
	return cmd
}

func newSourceImportCmd() *cobra.Command {
	var sf storeFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load a registry file into the store",
		Long: `Makes the store's registry agree with the registry FILE ends with, for
every source FILE names: a source FILE grades is set (unless the store has
it exactly so), a source FILE deleted last is deleted from the store if it
is there. Sources FILE does not name are left alone. Each change is audited
as the CLI's user at the time of the import (the file keeps its own
history). A file with a bad line is refused whole: nothing is imported.
--dry-run says what would change and changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := os.Open(args[0])
			if err != nil {
				return muster.Errorf(muster.EINVALID, "source registry: %v", err)
			}
			defer in.Close()
			file, err := threat.ParseSources(in)
			if err != nil {
				return fmt.Errorf("source registry %s: %w", args[0], err)
			}
			for _, r := range file.Rejected {
				fmt.Fprintf(cmd.ErrOrStderr(), "rejected  %s\n", threat.Safe(r.Error()))
			}
			if err := file.Err(args[0]); err != nil {
				return fmt.Errorf("%w; nothing imported", err)
			}
			last := map[string]threat.SourceLine{}
			for _, l := range file.Lines {
				last[l.Grade.ID] = l
			}
			ids := make([]string, 0, len(last))
			for id := range last {
				ids = append(ids, id)
			}
			slices.Sort(ids)

			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.Sources(ctx)
			if err != nil {
				return err
			}
			stored := threat.NewSources(list)
			w := cmd.OutOrStdout()
			would := ""
			if dryRun {
				would = "would be "
			}
			var set, deleted, unchanged int
			for _, id := range ids {
				l := last[id]
				have, ok := stored[id]
				switch {
				case l.Deleted && !ok:
					unchanged++
				case l.Deleted:
					if !dryRun {
						if err := st.DeleteSource(ctx, id); err != nil {
							return fmt.Errorf("source %s: %w", id, err)
						}
					}
					deleted++
					fmt.Fprintf(w, "%sdeleted  %s\n", would, threat.Safe(id))
				case ok && sameGrade(have, l.Grade):
					unchanged++
				default:
					if !dryRun {
						if _, err := st.PutSource(ctx, l.Grade); err != nil {
							return fmt.Errorf("source %s: %w", id, err)
						}
					}
					set++
					verb := "set"
					if !ok {
						verb = "new"
					}
					fmt.Fprintf(w, "%s%s  %s: %s\n", would, verb, threat.Safe(id), gradeWords(&l.Grade))
				}
			}
			fmt.Fprintf(w, "%s: %d %sset, %d %sdeleted, %d unchanged\n", args[0], set, would, deleted, would, unchanged)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would change; change nothing")
	return cmd
}

// sameGrade compares what analysts set, not when or by whom.
func sameGrade(a, b muster.SourceGrade) bool {
	a.UpdatedAt, a.UpdatedBy, b.UpdatedAt, b.UpdatedBy = time.Time{}, "", time.Time{}, ""
	return a == b
}

func newSourceExportCmd() *cobra.Command {
	var sf storeFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the store's registry as a registry file",
		Long: `Writes the store's registry, one source a line in id order with when and by
whom it was last changed, to stdout or to a new file (-o, which must not
exist: a registry file is a log, and overwriting it would lose its history).`,
		Args: cobra.NoArgs,
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			list, err := st.Sources(ctx)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			var file *os.File
			if out != "" {
				file, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
				if errors.Is(err, os.ErrExist) {
					return muster.Errorf(muster.EINVALID, "-o %s: the file exists; give a new name (a registry file is a log: 'muster source set --file' appends to it)", out)
				}
				if err != nil {
					return muster.Errorf(muster.EINVALID, "-o: %v", err)
				}
				defer file.Close()
				w = file
			}
			for _, g := range list {
				if err := threat.WriteSourceLine(w, threat.SourceLine{Grade: g}); err != nil {
					return fmt.Errorf("source %s: %w", g.ID, err)
				}
			}
			if file != nil {
				if err := file.Sync(); err != nil {
					return fmt.Errorf("writing %s: %w", out, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d sources\n", out, len(list))
			}
			return nil
		}),
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this new file instead of stdout")
	return cmd
}
