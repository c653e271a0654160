package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/advisory"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/zonecost"
)

func init() { subcommands = append(subcommands, newAdvisoryCmd) }

func newAdvisoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "advisory",
		Short: "Public advisories to everyone in an area, as CAP 1.2: write, check, count whom they reach",
		Long: `An advisory is a public broadcast to every household registered inside an
area ("Avoid the airport gates unless you receive individual instructions"),
in English, Dari and Pashto, with CAP's urgency, severity and certainty.
It is written and read as CAP 1.2 XML, the Common Alerting Protocol that
other alerting systems exchange. It names no one and is not secret. See
docs/advisories.md.`,
	}
	cmd.AddCommand(newAdvisoryNewCmd(), newAdvisoryUpdateCmd(), newAdvisoryCancelCmd(), newAdvisoryCheckCmd(), newAdvisoryRecipientsCmd())
	return cmd
}

// advisoryMeta are the flags every advisory written here shares.
type advisoryMeta struct {
	id, sender, sent, status, out string
}

func (m *advisoryMeta) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&m.id, "id", "", "the advisory's identifier (default: a new random one)")
	fl.StringVar(&m.sender, "sender", "muster", "who sends it: your deployment's name, such as muster@kabul.example.org (no spaces or commas)")
	fl.StringVar(&m.sent, "sent", "", "when it is issued, RFC 3339 (default now)")
	fl.StringVar(&m.status, "status", muster.AdvisoryActual, "Actual, Exercise, System, Test or Draft")
	fl.StringVarP(&m.out, "out", "o", "", "write the CAP file here (default stdout)")
}

func (m *advisoryMeta) apply(a *muster.Advisory) error {
	a.ID, a.Sender, a.Status = m.id, m.sender, m.status
	if a.ID == "" {
		a.ID = advisory.NewID()
	}
	a.Sent = time.Now().UTC().Truncate(time.Second)
	if m.sent != "" {
		t, err := time.Parse(time.RFC3339, m.sent)
		if err != nil {
			return muster.Errorf(muster.EINVALID, "--sent %q: want an RFC 3339 time such as 2021-08-26T14:00:00Z", m.sent)
		}
		a.Sent = t.UTC().Truncate(time.Second)
	}
	return nil
}

// write validates and writes the advisory to --out or stdout, and says
// what it wrote on stderr.
func (m *advisoryMeta) write(cmd *cobra.Command, a muster.Advisory) error {
	var buf bytes.Buffer
	if err := advisory.Encode(&buf, a); err != nil {
		return err
	}
	if m.out == "" {
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(m.out, buf.Bytes(), 0o644); err != nil {
		return muster.Errorf(muster.EINVALID, "--out: %v", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %s %s %s, %s\n", m.out, a.Status, a.MsgType, a.ID, strings.Join(a.Languages(), ", "))
	return nil
}

func newAdvisoryNewCmd() *cobra.Command {
	var meta advisoryMeta
	var canned, zoneFile, zoneID, polygonFile, areaName, urgency, severity, certainty, updates string
	var expiresIn time.Duration
	cmd := &cobra.Command{
		Use:   "new --canned KEY (--zone-file FILE --zone ID | --polygon FILE) [-o advisory.xml]",
		Short: "Write a canned advisory for a threat zone or a drawn area, as CAP 1.2",
		Long: `Writes a canned advisory in English, Dari and Pashto for an area: a zone of
the threat picture (--zone-file, as "muster threats" writes it, and --zone
ID), or the polygons and circles of a GeoJSON file (--polygon: a Polygon,
a MultiPolygon, or a Point with a radius_m property, alone, as a Feature
or as a FeatureCollection). --area-name is the area in words (default: the
zone's or the first feature's name). --updates OLD.xml makes it an update
that replaces an earlier advisory.

Canned advisories: ` + strings.Join(advisory.CannedKeys(), ", ") + `.`,
		Example: `  muster advisory new --canned avoid-gates --zone-file zones.geojson --zone zone-r04 \
    --area-name "Hamid Karzai International Airport" --severity Severe --urgency Immediate --certainty Likely -o advisory.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if canned == "" {
				return muster.Errorf(muster.EINVALID, "give --canned, one of %s", strings.Join(advisory.CannedKeys(), ", "))
			}
			area, name, err := advisoryArea(zoneFile, zoneID, polygonFile)
			if err != nil {
				return err
			}
			if areaName == "" {
				areaName = name
			}
			if areaName == "" {
				return muster.Errorf(muster.EINVALID, "give --area-name: the area in words (\"Abbey Gate\"), which the advisory names")
			}
			a, err := advisory.Canned(canned, areaName)
			if err != nil {
				return err
			}
			if err := meta.apply(&a); err != nil {
				return err
			}
			a.Area = area
			for _, o := range []struct {
				v   string
				dst *string
			}{{urgency, &a.Urgency}, {severity, &a.Severity}, {certainty, &a.Certainty}} {
				if o.v != "" {
					*o.dst = o.v
				}
			}
			if expiresIn < 0 {
				return muster.Errorf(muster.EINVALID, "--expires-in %v: want a positive duration, or 0 for none", expiresIn)
			}
			if expiresIn > 0 {
				a.Expires = a.Sent.Add(expiresIn.Truncate(time.Second))
			}
			if updates != "" {
				prev, err := readAdvisory(updates)
				if err != nil {
					return err
				}
				a.MsgType = muster.AdvisoryUpdate
				a.References = []muster.AdvisoryRef{prev.Advisory.Ref()}
			}
			return meta.write(cmd, a)
		},
	}
	meta.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&canned, "canned", "", "the canned advisory: "+strings.Join(advisory.CannedKeys(), ", "))
	fl.StringVar(&zoneFile, "zone-file", "", "a threat picture (GeoJSON, as 'muster threats' writes it)")
	fl.StringVar(&zoneID, "zone", "", "the id of the zone of --zone-file the advisory covers")
	fl.StringVar(&polygonFile, "polygon", "", "GeoJSON of the area: Polygon, MultiPolygon, or Point with radius_m")
	fl.StringVar(&areaName, "area-name", "", "the area in words (default: the zone's or feature's name)")
	fl.StringVar(&urgency, "urgency", "", "Immediate, Expected, Future, Past or Unknown (default: the canned advisory's)")
	fl.StringVar(&severity, "severity", "", "Extreme, Severe, Moderate, Minor or Unknown (default: the canned advisory's)")
	fl.StringVar(&certainty, "certainty", "", "Observed, Likely, Possible, Unlikely or Unknown (default: the canned advisory's)")
	fl.DurationVar(&expiresIn, "expires-in", 24*time.Hour, "how long it holds after it is sent (0: no expiry)")
	fl.StringVar(&updates, "updates", "", "an earlier advisory (CAP file) this one updates")
	return cmd
}

// advisoryArea reads the area of a new advisory, and a name for it.
func advisoryArea(zoneFile, zoneID, polygonFile string) (muster.AdvisoryArea, string, error) {
	switch {
	case polygonFile != "" && (zoneFile != "" || zoneID != ""):
		return muster.AdvisoryArea{}, "", muster.Errorf(muster.EINVALID, "give --zone-file with --zone, or --polygon, not both")
	case polygonFile != "":
		return polygonArea(polygonFile)
	case zoneFile == "" || zoneID == "":
		return muster.AdvisoryArea{}, "", muster.Errorf(muster.EINVALID, "give the area: --zone-file FILE with --zone ID, or --polygon FILE")
	}
	zones, err := readZonesFile(zoneFile)
	if err != nil {
		return muster.AdvisoryArea{}, "", err
	}
	var ids []string
	for _, z := range zones {
		if z.ID == zoneID {
			ar, err := advisory.AreaFromZone(z)
			return ar, z.Name, err
		}
		ids = append(ids, z.ID)
	}
	return muster.AdvisoryArea{}, "", muster.Errorf(muster.EINVALID, "--zone %q: %s has no such zone that bears on routes (it has %s); draw the area with --polygon instead",
		zoneID, zoneFile, strings.Join(ids, ", "))
}

// polygonArea reads a GeoJSON file of polygons and circles as one area.
func polygonArea(path string) (muster.AdvisoryArea, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return muster.AdvisoryArea{}, "", muster.Errorf(muster.EINVALID, "--polygon: %v", err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return muster.AdvisoryArea{}, "", muster.Errorf(muster.EINVALID, "%s: not GeoJSON: %v", path, err)
	}
	// zonecost reads FeatureCollections; a lone Feature or geometry is
	// wrapped into one.
	switch head.Type {
	case "FeatureCollection":
	case "Feature":
		data = []byte(`{"type":"FeatureCollection","features":[` + string(data) + `]}`)
	default:
		data = []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":` + string(data) + `}]}`)
	}
	zones, err := zonecost.ReadGeoJSON(bytes.NewReader(data), path)
	if err != nil {
		return muster.AdvisoryArea{}, "", err
	}
	var ar muster.AdvisoryArea
	name := ""
	for _, z := range zones {
		one, err := advisory.AreaFromZone(z)
		if err != nil {
			return muster.AdvisoryArea{}, "", err
		}
		ar.Polygons = append(ar.Polygons, one.Polygons...)
		ar.Circles = append(ar.Circles, one.Circles...)
		if name == "" {
			name = z.Name
		}
	}
	if err := ar.Validate(); err != nil {
		return muster.AdvisoryArea{}, "", fmt.Errorf("%s: %w", path, err)
	}
	return ar, name, nil
}

func newAdvisoryCancelCmd() *cobra.Command {
	var meta advisoryMeta
	var areaName, note string
	var srv serverFlags
	cmd := &cobra.Command{
		Use:   "cancel (OLD.xml [-o cancel.xml] | ID --server URL)",
		Short: "Cancel an advisory: write the CAP 1.2 cancellation, or have a server issue and deliver it",
		Long: `Writes a CAP Cancel of an earlier advisory: same sender and area, urgency
Past, and the canned words saying the earlier advisory no longer applies,
in the languages it had. --area-name defaults to its English area
description.

With --server, ID is one of that server's advisories: the server issues
the cancellation and delivers it to the households in the area
(POST /api/advisories/ID/cancel, a planner's API token in MUSTER_TOKEN or
--token-file).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if srv.url != "" {
				return srv.post(cmd, "/api/advisories/"+url.PathEscape(args[0])+"/cancel", map[string]string{"area_name": areaName, "note": note})
			}
			prev, err := readAdvisory(args[0])
			if err != nil {
				return err
			}
			if areaName == "" {
				if t := prev.Advisory.Text(muster.LangEnglish); t != nil {
					areaName = t.AreaDesc
				}
			}
			var a muster.Advisory
			if err := meta.apply(&a); err != nil {
				return err
			}
			if !cmd.Flags().Changed("status") {
				a.Status = prev.Advisory.Status
			}
			c, err := advisory.Cancel(prev.Advisory, a.ID, a.Sent, areaName, note)
			if err != nil {
				return err
			}
			c.Status = a.Status
			if cmd.Flags().Changed("sender") {
				c.Sender = a.Sender
			}
			return meta.write(cmd, c)
		},
	}
	meta.flags(cmd)
	srv.flags(cmd)
	cmd.Flags().StringVar(&areaName, "area-name", "", "the area in words (default: the advisory's English area description)")
	cmd.Flags().StringVar(&note, "note", "", "why it is cancelled (CAP <note>)")
	return cmd
}

func newAdvisoryUpdateCmd() *cobra.Command {
	var canned, areaName, zone, polygon string
	var srv serverFlags
	cmd := &cobra.Command{
		Use:   "update ID --server URL --canned KEY --area-name NAME [--zone ID | --polygon FILE]",
		Short: "Have a server update one of its advisories (CAP Update) and deliver it",
		Long: `Asks a muster server to update one of its advisories: a CAP Update that
references it, with the canned words of --canned for --area-name, over the
same area unless --zone (a zone of the threat picture now) or --polygon (a
GeoJSON file) names another; the server delivers it to the households in
the area (POST /api/advisories/ID/update, a planner's API token in
MUSTER_TOKEN or --token-file).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if srv.url == "" {
				return muster.Errorf(muster.EINVALID, "--server: an update is issued by the server that issued the advisory")
			}
			req := map[string]any{"canned": canned, "area_name": areaName}
			if zone != "" {
				req["zone"] = zone
			}
			if polygon != "" {
				b, err := os.ReadFile(polygon)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--polygon: %v", err)
				}
				if !json.Valid(b) {
					return muster.Errorf(muster.EINVALID, "--polygon %s: not JSON (want GeoJSON)", polygon)
				}
				req["polygon"] = json.RawMessage(b)
			}
			return srv.post(cmd, "/api/advisories/"+url.PathEscape(args[0])+"/update", req)
		},
	}
	srv.flags(cmd)
	cmd.Flags().StringVar(&canned, "canned", "", "the canned advisory: "+strings.Join(advisory.CannedKeys(), ", "))
	cmd.Flags().StringVar(&areaName, "area-name", "", "the area in words, as people know it")
	cmd.Flags().StringVar(&zone, "zone", "", "a zone of the server's threat picture now, instead of the advisory's area")
	cmd.Flags().StringVar(&polygon, "polygon", "", "a GeoJSON file, instead of the advisory's area")
	return cmd
}

// serverFlags say which server a command asks, and with what API token.
type serverFlags struct {
	url, tokenFile string
}

func (f *serverFlags) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "server", "", "the muster server (https://host)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "a file holding an API token ('muster user token'); default: $MUSTER_TOKEN")
}

// post sends body as JSON to the server's path with the API token and
// prints its answer; an error answer is returned as its message.
func (f *serverFlags) post(cmd *cobra.Command, path string, body any) error {
	base, err := url.Parse(strings.TrimRight(f.url, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return muster.Errorf(muster.EINVALID, "--server %q: want http:// or https:// and the host", f.url)
	}
	token := os.Getenv("MUSTER_TOKEN")
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return muster.Errorf(muster.EINVALID, "--token-file: %v", err)
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return muster.Errorf(muster.EINVALID, "no API token: set MUSTER_TOKEN or --token-file (make one with 'muster user token NAME')")
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+path, bytes.NewReader(data))
	if err != nil {
		return muster.Errorf(muster.EINVALID, "--server: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", f.url, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading %s's answer: %w", f.url, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s: %s (%s)", f.url, e.Error.Message, resp.Status)
		}
		return fmt.Errorf("%s answered %s", f.url, resp.Status)
	}
	_, err = cmd.OutOrStdout().Write(append(bytes.TrimSpace(answer), '\n'))
	return err
}

// readAdvisory reads and checks a CAP file.
func readAdvisory(path string) (*advisory.Decoded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%v", err)
	}
	defer f.Close()
	d, err := advisory.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func newAdvisoryCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE.xml",
		Short: "Read a CAP 1.2 file strictly, validate it, and summarise it",
		Long: `Reads a CAP 1.2 alert, from muster or any other system, as the server
would import it: strictly (no DOCTYPE, nothing the CAP schema does not
allow, CAP's time and polygon formats), then validated as an advisory.
Prints a summary and what of the file an advisory does not keep. Exits with
status 2 and the element, line and reason when the file is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := readAdvisory(args[0])
			if err != nil {
				return err
			}
			printAdvisory(cmd.OutOrStdout(), d)
			return nil
		},
	}
}

func printAdvisory(w io.Writer, d *advisory.Decoded) {
	a := d.Advisory
	utc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "advisory %s from %s, sent %s\n", a.ID, a.Sender, utc(a.Sent))
	fmt.Fprintf(w, "  %s %s", a.Status, a.MsgType)
	for _, r := range a.References {
		fmt.Fprintf(w, ", refers to %s (%s, sent %s)", r.ID, r.Sender, utc(r.Sent))
	}
	fmt.Fprintln(w)
	if a.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", strings.ReplaceAll(a.Note, "\n", " "))
	}
	if !a.HasInfo() {
		fmt.Fprintln(w, "  no text and no area: it only withdraws what it refers to")
	} else {
		fmt.Fprintf(w, "  %s; response %s\n", strings.Join(a.Categories, ", "), orNone(a.ResponseTypes))
		fmt.Fprintf(w, "  urgency %s, severity %s, certainty %s\n", a.Urgency, a.Severity, a.Certainty)
		for _, t := range []struct {
			name string
			t    time.Time
		}{{"effective", a.Effective}, {"onset", a.Onset}, {"expires", a.Expires}} {
			if !t.t.IsZero() {
				fmt.Fprintf(w, "  %s %s\n", t.name, utc(t.t))
			}
		}
		points, holes := 0, 0
		for _, p := range a.Area.Polygons {
			holes += len(p) - 1
			for _, r := range p {
				points += len(r) - 1
			}
		}
		fmt.Fprintf(w, "  area: %d polygons (%d holes, %d corners), %d circles", len(a.Area.Polygons), holes, points, len(a.Area.Circles))
		if a.Area.ZoneID != "" {
			fmt.Fprintf(w, ", from zone %s", a.Area.ZoneID)
		}
		fmt.Fprintln(w)
		for _, t := range a.Texts {
			fmt.Fprintf(w, "  [%s] %s: %s\n", t.Language, t.AreaDesc, firstOf(t.Headline, t.Instruction, t.Description))
		}
		var missing []string
		for _, l := range muster.Languages {
			if a.Text(l) == nil {
				missing = append(missing, l)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "  no text in %s: those households get English\n", strings.Join(missing, ", "))
		}
	}
	if d.Signed {
		fmt.Fprintln(w, "  signed with XML-DSig: the signature is NOT verified (muster does not verify CAP signatures yet)")
	}
	for _, l := range d.LeftOut {
		fmt.Fprintf(w, "  left out: %s\n", l)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "not given"
	}
	return strings.Join(s, ", ")
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			v = strings.ReplaceAll(v, "\n", " ")
			if r := []rune(v); len(r) > 100 {
				v = string(r[:100]) + "…"
			}
			return v
		}
	}
	return ""
}

func newAdvisoryRecipientsCmd() *cobra.Command {
	var evacueesPath string
	var list bool
	cmd := &cobra.Command{
		Use:   "recipients FILE.xml --evacuees evacuees.csv [--list]",
		Short: "Count the households an advisory reaches, per language",
		Long: `Counts the households of an evacuee list located inside the advisory's
area, per language they would get it in (their own if the advisory has it,
else English), and those with no location, who must be reached otherwise.
Evacuated and withdrawn households are not reached. Prints no personal
data; --list adds each household id with its language.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if evacueesPath == "" {
				return muster.Errorf(muster.EINVALID, "give --evacuees FILE.csv, the evacuee list")
			}
			d, err := readAdvisory(args[0])
			if err != nil {
				return err
			}
			f, err := os.Open(evacueesPath)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "evacuees: %v", err)
			}
			defer f.Close()
			res, err := evacuees.ReadContext(cmd.Context(), f, evacueesPath, evacuees.Options{})
			if err != nil {
				return err
			}
			if res.Bad > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d rows rejected and not counted (run 'muster households import --dry-run FILE' to see why)\n", evacueesPath, res.Bad)
			}
			a := d.Advisory
			t := advisory.Recipients(a, res.Households())
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "advisory %s (%s %s): %d households inside the area\n", a.ID, a.Status, a.MsgType, len(t.Inside))
			by := t.ByLanguage()
			for _, l := range muster.Languages {
				if a.Text(l) != nil {
					fmt.Fprintf(w, "  %-3s %d\n", l, by[l])
				}
			}
			own := map[string]string{}
			for _, h := range res.Households() {
				own[h.ID] = h.Language
			}
			fallback := 0
			for _, r := range t.Inside {
				if own[r.HouseholdID] != r.Language {
					fallback++
				}
			}
			if fallback > 0 {
				fmt.Fprintf(w, "  (%d of them get English: the advisory lacks their language)\n", fallback)
			}
			fmt.Fprintf(w, "no location: %d households (reach them by phone, radio or in person)\n", len(t.NoLocation))
			fmt.Fprintf(w, "not reached: %d evacuated or withdrawn\n", t.Gone)
			if !a.HasInfo() {
				fmt.Fprintln(w, "this cancellation has no area: send it to those the advisories it cancels reached")
			}
			if list {
				for _, r := range t.Inside {
					fmt.Fprintf(w, "%s\t%s\n", r.HouseholdID, r.Language)
				}
				for _, id := range t.NoLocation {
					fmt.Fprintf(w, "%s\tno-location\n", id)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&evacueesPath, "evacuees", "", "the evacuee list (CSV)")
	cmd.Flags().BoolVar(&list, "list", false, "list each household id reached, with its language (personal data: mind where it goes)")
	return cmd
}
