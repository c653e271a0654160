package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/instruct"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/roadgraph"
)

func init() { subcommands = append(subcommands, newInstructionsCmd) }

func newInstructionsCmd() *cobra.Command {
	var planPath, evacPath, placesPath, graphPath, out, renderDir, secretFile, langDefault, escortLang, previous, linkBase string
	var phone, contactURL, issuedAt string
	var window, margin time.Duration
	var escorts, proposed bool
	cmd := &cobra.Command{
		Use:   "instructions --plan plan.json --evacuees evacuees.csv --places places.geojson --graph city.graph -o instructions.jsonl",
		Short: "Turn the approved plan into one instruction per household (and per group's escort)",
		Long: `Builds, from the current (approved) plan, each household's instruction: where to be (the
rally point, with walking directions from home that name the streets of --graph's foot
network), when (the report-by window, in the places' time zone), the group code, how many
people it admits, the rally point's code word, what to bring and not to bring, and whom to
ask; in the household's language (English, Dari or Pashto; others get --lang-default, with
a warning). With --escorts (the default) each group's escort gets one too, and only escorts
are told the gate. docs/instructions.md says what an instruction holds and why.

Group codes and code words derive from the deployment secret in --secret-file (created,
32 random bytes, when the file does not exist): keep it, and the same plan gives the same
codes. With --previous (the instructions in force) only households whose instruction
changes get a new version, which supersedes the old; households the plan no longer serves
are listed as revoked. --render DIR writes each instruction's long form (text and HTML)
and short form (SMS) there. 'muster instructions diff OLD NEW' says what changed, for whom.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return muster.Errorf(muster.EINVALID, "say where to write the instructions with -o instructions.jsonl")
			}
			if planPath == "" || evacPath == "" || placesPath == "" || graphPath == "" {
				return muster.Errorf(muster.EINVALID, "give --plan, --evacuees, --places and --graph")
			}
			if _, _, ok := instruct.LanguageTag(langDefault); !ok {
				return muster.Errorf(muster.EINVALID, "--lang-default %q: muster writes %s", langDefault, strings.Join(instruct.Languages(), ", "))
			}
			if escortLang == "" {
				escortLang = langDefault
			}
			p, err := readPlan(planPath)
			if err != nil {
				return err
			}
			if p.Status != muster.PlanCurrent && !proposed {
				return muster.Errorf(muster.EINVALID, "%s is %s: instructions come from the current plan only (approve it first with 'muster plan approve %s', or preview with --proposed)", planPath, p.Status, planPath)
			}
			pl, err := places.ReadFile(placesPath)
			if err != nil {
				return err
			}
			hs, err := readEvacuees(cmd, evacPath)
			if err != nil {
				return err
			}
			city, err := roadgraph.LoadCity(graphPath)
			if err != nil {
				return err
			}
			foot, err := city.Graph(roadgraph.Foot)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%s: %v", graphPath, err)
			}
			streets, err := instruct.NewStreets(foot)
			if err != nil {
				return fmt.Errorf("%s: %w", graphPath, err)
			}
			secret, created, err := loadSecret(secretFile)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(cmd.ErrOrStderr(), "created a new deployment secret in %s: keep it (the same secret gives the same group codes and code words)\n", secretFile)
			}
			issued := time.Now().UTC()
			if issuedAt != "" {
				if issued, err = time.Parse(time.RFC3339, issuedAt); err != nil {
					return muster.Errorf(muster.EINVALID, "--issued-at %q: want an RFC 3339 time such as 2021-08-26T05:00:00Z", issuedAt)
				}
			}
			opts := instruct.Options{
				IssuedAt: issued,
				Secret:   secret, TimeZone: pl.Timezone, DefaultLanguage: langDefault, EscortLanguage: escortLang, Escorts: escorts,
				Contact: muster.Contact{Phone: phone, URL: contactURL}, ReportWindow: window, ExpiryMargin: margin, AllowProposed: proposed,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			}
			w := cmd.OutOrStdout()
			var all, issuedNow []muster.Instruction
			if previous != "" {
				prev, err := readInstructions(previous)
				if err != nil {
					return err
				}
				rev, err := instruct.Reissue(prev, nil, p, hs, streets, opts)
				if err != nil {
					return err
				}
				keep := map[string]bool{}
				for _, id := range rev.Unchanged {
					keep[id] = true
				}
				for _, in := range prev {
					if keep[in.ID] {
						all = append(all, in)
						keep[in.ID] = false // once, even if the file repeats it
					}
				}
				for _, ch := range rev.Changed {
					all = append(all, ch.Instruction)
					issuedNow = append(issuedNow, ch.Instruction)
				}
				printRevision(w, rev)
			} else {
				if all, err = instruct.Build(p, hs, streets, opts); err != nil {
					return err
				}
				issuedNow = all
			}
			sort.SliceStable(all, func(i, j int) bool { return all[i].Series < all[j].Series })
			if err := writeInstructions(out, all); err != nil {
				return err
			}
			if renderDir != "" {
				if err := renderInstructions(renderDir, linkBase, issuedNow); err != nil {
					return err
				}
				fmt.Fprintf(w, "rendered %d instructions in %s\n", len(issuedNow), renderDir)
			}
			households := 0
			for _, in := range all {
				if in.Audience == muster.AudienceHousehold {
					households++
				}
			}
			fmt.Fprintf(w, "wrote %s: %d instructions in force (%d households, %d escorts), %d issued now\n", out, len(all), households, len(all)-households, len(issuedNow))
			if p.Status != muster.PlanCurrent {
				fmt.Fprintf(w, "the plan is %s: these instructions are a preview, not to be sent\n", p.Status)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&planPath, "plan", "", "the approved plan (plan.json)")
	f.StringVar(&evacPath, "evacuees", "", "evacuee list (CSV): each household's language and name")
	f.StringVar(&placesPath, "places", "", "places file (GeoJSON): its time zone is the one times are told in")
	f.StringVar(&graphPath, "graph", "city.graph", "the graph the plan was made on: street names for walking directions")
	f.StringVarP(&out, "output", "o", "", "instructions file to write (JSON Lines)")
	f.StringVar(&renderDir, "render", "", "also write each issued instruction's texts in this folder")
	f.StringVar(&linkBase, "link-base", "https://muster.invalid/i/", "with --render: the verification link is this and the instruction's id")
	f.StringVar(&secretFile, "secret-file", "instructions.secret", "the deployment secret for group codes and code words (created if absent)")
	f.StringVar(&langDefault, "lang-default", muster.LangEnglish, "language for households in one muster does not write")
	f.StringVar(&escortLang, "escort-lang", "", "language of escorts' instructions (default: --lang-default)")
	f.BoolVar(&escorts, "escorts", true, "also write an instruction for each group's escort (the only one told the gate)")
	f.StringVar(&phone, "contact-phone", "", "phone number to call with questions")
	f.StringVar(&contactURL, "contact-url", "", "web page with more information")
	f.DurationVar(&window, "report-window", 20*time.Minute, "how early before its report-by time a household may arrive")
	f.DurationVar(&margin, "expiry-margin", 12*time.Hour, "how long after its group is through an instruction stays valid")
	f.StringVar(&previous, "previous", "", "the instructions in force (JSON Lines): issue new versions only where they change")
	f.BoolVar(&proposed, "proposed", false, "build from a plan not yet approved, to preview it")
	f.StringVar(&issuedAt, "issued-at", "", "issue time (RFC 3339; default now): to replay an exercise")
	cmd.AddCommand(newInstructionsDiffCmd(), newInstructionsIssueCmd())
	return cmd
}

func newInstructionsDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff OLD.jsonl NEW.jsonl",
		Short: "Say which instructions changed between two sets, for whom, and what changed",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			old, err := readInstructions(args[0])
			if err != nil {
				return err
			}
			newer, err := readInstructions(args[1])
			if err != nil {
				return err
			}
			diffs, same := instruct.Compare(old, newer)
			w := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "instruction\thousehold\told\tnew\twhat changed")
			var changed, added, gone int
			for _, d := range diffs {
				what := strings.Join(d.Fields, ", ")
				switch {
				case d.Old == "":
					what, added = "new", added+1
				case d.New == "":
					what, gone = "gone: revoke", gone+1
				default:
					changed++
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Series, orDash(d.Household), orDash(d.Old), orDash(d.New), what)
			}
			if len(diffs) > 0 {
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintf(w, "%d unchanged, %d changed, %d new, %d gone\n", same, changed, added, gone)
			return nil
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printRevision(w io.Writer, rev *instruct.Revision) {
	counts := map[string]int{}
	newOnes := 0
	for _, ch := range rev.Changed {
		if ch.Changes == nil {
			newOnes++
		}
		for _, f := range ch.Changes {
			counts[f]++
		}
	}
	fmt.Fprintf(w, "%d instructions unchanged, %d new versions, %d first versions, %d to revoke\n", len(rev.Unchanged), len(rev.Changed)-newOnes, newOnes, len(rev.Revoked))
	for _, f := range []string{muster.ChangedRallyPoint, muster.ChangedWalk, muster.ChangedTime, muster.ChangedGroup, muster.ChangedPeople,
		muster.ChangedCodeWord, muster.ChangedGate, muster.ChangedSchedule, muster.ChangedExpiry, muster.ChangedLanguage, muster.ChangedName,
		muster.ChangedBring, muster.ChangedDoNotBring, muster.ChangedContact, muster.ChangedAudience, muster.ChangedHousehold, muster.ChangedSignature} {
		if counts[f] > 0 {
			fmt.Fprintf(w, "  %s changed in %d\n", f, counts[f])
		}
	}
	for _, id := range rev.Revoked {
		fmt.Fprintf(w, "revoke %s\n", id)
	}
}

func readEvacuees(cmd *cobra.Command, path string) ([]muster.Household, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "evacuees: %v", err)
	}
	defer f.Close()
	res, err := evacuees.ReadContext(cmd.Context(), f, path, evacuees.Options{})
	if err != nil {
		return nil, err
	}
	if res.Bad > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d rows rejected (run 'muster households import --dry-run FILE' to see why)\n", path, res.Bad)
	}
	return res.Households(), nil
}

// loadSecret reads the deployment secret, or creates the file with 32
// random bytes (hex) when it does not exist.
func loadSecret(path string) (secret []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(data))
		if len(s) < instruct.MinSecretBytes {
			return nil, false, muster.Errorf(muster.EINVALID, "%s: a secret of %d characters or more, not %d", path, instruct.MinSecretBytes, len(s))
		}
		return []byte(s), false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("reading the secret: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, false, fmt.Errorf("making a secret: %w", err)
	}
	s := hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("writing the secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("writing the secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("writing the secret: %w", err)
	}
	return []byte(s), true, nil
}

func writeInstructions(path string, ins []muster.Instruction) error {
	return writeFile(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i := range ins {
			if err := enc.Encode(&ins[i]); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}

// readInstructions reads JSON Lines of instructions, strictly.
func readInstructions(path string) ([]muster.Instruction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "instructions: %v", err)
	}
	defer f.Close()
	var out []muster.Instruction
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		var in muster.Instruction
		if err := dec.Decode(&in); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "%s:%d: not an instruction: %v", path, line, err)
		}
		if in.ID == "" || in.Series == "" || in.Version < 1 {
			return nil, muster.Errorf(muster.EINVALID, "%s:%d: an instruction needs an id, a series and a version", path, line)
		}
		out = append(out, in)
	}
	if err := sc.Err(); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%s: %v", path, err)
	}
	return out, nil
}

// renderInstructions writes each instruction's forms: NAME.txt, NAME.html
// and NAME.sms.txt, NAME being its id with the slash as a dash.
func renderInstructions(dir, linkBase string, ins []muster.Instruction) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	for i := range ins {
		in := &ins[i]
		forms, err := instruct.Render(in, linkBase+url.PathEscape(in.ID))
		if err != nil {
			return err
		}
		name := strings.ReplaceAll(in.ID, "/", "-")
		for ext, body := range map[string]string{".txt": forms.Text, ".html": forms.HTML, ".sms.txt": forms.SMS + "\n"} {
			if err := os.WriteFile(filepath.Join(dir, name+ext), []byte(body), 0o600); err != nil {
				return fmt.Errorf("render: %w", err)
			}
		}
	}
	return nil
}
