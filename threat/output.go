package threat

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// zoneProperties are a zone Feature's properties. routing's zonecost
// reads id, name, forbidden, risk, level and radius_m; the rest is for the
// operator.
type zoneProperties struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Level          string         `json:"level"`
	Risk           float64        `json:"risk"`
	Confidence     float64        `json:"confidence"`
	Disputed       bool           `json:"disputed"`
	Prevailing     string         `json:"prevailing"`
	VerifiedRisk   float64        `json:"verified_risk"`
	VerifiedLevel  string         `json:"verified_level,omitempty"`
	Unverified     bool           `json:"unverified"`
	Coordination   []Coordination `json:"coordination,omitempty"`
	Forbidden      bool           `json:"forbidden"`
	Penalty        float64        `json:"penalty"`
	PolicyVerdict  string         `json:"policy_verdict"`
	RadiusM        float64        `json:"radius_m,omitempty"`
	AreaKm2        float64        `json:"area_km2"`
	Severity       int            `json:"severity"`
	Kinds          []string       `json:"kinds"`
	Actors         []string       `json:"actors"`
	SupportFor     float64        `json:"support_for"`
	SupportAgainst float64        `json:"support_against"`
	ReportsFor     []ReportRef    `json:"reports_for"`
	ReportsAgainst []ReportRef    `json:"reports_against"`
	Explanation    string         `json:"explanation"`
}

type feature struct {
	Type       string            `json:"type"`
	Geometry   *geojson.Geometry `json:"geometry"`
	Properties zoneProperties    `json:"properties"`
}

type rejectedJSON struct {
	Line   int    `json:"line,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

type collection struct {
	Type     string         `json:"type"`
	At       time.Time      `json:"at"`
	Policy   Policy         `json:"policy"`
	Features []feature      `json:"features"`
	Gates    []GateStatus   `json:"gates"`
	Record   []RecordEntry  `json:"record"`
	ToVerify []ToVerify     `json:"to_verify"`
	Rejected []rejectedJSON `json:"rejected,omitempty"`
}

// WriteGeoJSON writes the picture as a GeoJSON FeatureCollection: one
// Feature per zone (a Point with radius_m for a circle, else a
// MultiPolygon), with the gates, the record and the rejected reports as
// foreign members. Text is data: JSON escapes it, nothing renders it.
func WriteGeoJSON(w io.Writer, p *Picture) error {
	c := collection{Type: "FeatureCollection", At: p.At, Policy: p.Policy, Features: []feature{},
		Gates: p.Gates, Record: p.Record, ToVerify: p.ToVerify}
	if c.ToVerify == nil {
		c.ToVerify = []ToVerify{}
	}
	for _, z := range p.Zones {
		var g orb.Geometry = z.Polygon
		if z.RadiusM > 0 && len(z.Polygon) == 0 {
			g = z.Center
		}
		props := zoneProperties{ID: z.ID, Name: z.Name, Level: z.Level, Risk: z.Risk, Confidence: z.Confidence,
			Disputed: z.Disputed, Prevailing: z.Prevailing, VerifiedRisk: z.VerifiedRisk, VerifiedLevel: z.VerifiedLevel,
			Unverified: z.Unverified, Coordination: z.Coordination, Forbidden: z.Forbidden, Penalty: z.Penalty,
			PolicyVerdict: z.PolicyVerdict, AreaKm2: z.AreaKm2, Severity: z.Severity, Kinds: z.Kinds, Actors: z.Actors,
			SupportFor: z.SupportFor, SupportAgainst: z.SupportAgainst, ReportsFor: z.For, ReportsAgainst: z.Against,
			Explanation: z.Explain()}
		if props.ReportsAgainst == nil {
			props.ReportsAgainst = []ReportRef{}
		}
		if props.Actors == nil {
			props.Actors = []string{}
		}
		if len(z.Polygon) == 0 {
			props.RadiusM = z.RadiusM
		}
		c.Features = append(c.Features, feature{Type: "Feature", Geometry: geojson.NewGeometry(g), Properties: props})
	}
	for _, r := range p.Rejected {
		c.Rejected = append(c.Rejected, rejectedJSON{Line: r.Line, ID: r.ID, Reason: r.Err.Error()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing threat picture: %w", err)
	}
	return nil
}

// Safe makes report text safe to show in a table: HTML special characters
// escaped (a table may be pasted into a web page or chat that renders
// HTML) and control characters (terminal escapes) shown as \u codes.
func Safe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			if r == '\n' || r == '\t' {
				b.WriteByte(' ')
				continue
			}
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return htmlEscaper.Replace(b.String())
}

// htmlEscaper escapes what could open markup; quotes are left alone, as
// table text is never put inside an HTML attribute.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// WriteTable writes the picture for a terminal: the zones, each with its
// explanation and its reports for and against, the gates, the record.
func WriteTable(w io.Writer, p *Picture) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Threat picture at %s\n\n", p.At.UTC().Format(time.RFC3339))
	fmt.Fprintln(tw, "ZONE\tLEVEL\tRISK\tCONF\tDISPUTED\tFORBIDDEN\tAREA km²\tNAME")
	for _, z := range p.Zones {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%v\t%v\t%.1f\t%s\n", Safe(z.ID), z.Level, z.Risk, z.Confidence,
			z.Disputed, z.Forbidden, z.AreaKm2, Safe(clip(z.Name, 70)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, z := range p.Zones {
		fmt.Fprintf(w, "\n%s — %s\n  %s\n", Safe(z.ID), Safe(z.Name), Safe(z.Explain()))
		for _, c := range z.Coordination {
			fmt.Fprintf(w, "  ! possible coordinated reporting %s it: %s (%s)\n", c.Side, c.Summary, Safe(clip(strings.Join(c.Reports, ", "), 100)))
		}
		for _, side := range []struct {
			label string
			refs  []ReportRef
		}{{"for", z.For}, {"against", z.Against}} {
			for _, r := range side.refs {
				counted := ""
				switch {
				case strings.HasPrefix(r.Note, "not weighed"):
					counted = " (not weighed: answers a confirmed report)"
				case r.Unverified && !r.Counted:
					counted = " (unverified: pooled)"
				case r.Unverified:
					counted = " (unverified)"
				case !r.Counted:
					counted = " (counted once with its source)"
				}
				fmt.Fprintf(w, "  %-7s %s %s %s %q%s: %s\n", side.label, Safe(r.ID), r.Grade, Safe(r.Source),
					Safe(r.Likelihood), counted, Safe(clip(r.Text, 100)))
			}
		}
	}
	if len(p.Gates) > 0 {
		fmt.Fprintln(w, "\nGATE STATUS")
		for _, g := range p.Gates {
			disputed := ""
			if g.Disputed {
				disputed = " (disputed)"
			}
			fmt.Fprintf(w, "  %s: %s%s\n", Safe(g.Name), g.Status, disputed)
			for _, r := range g.Reasons {
				fmt.Fprintf(w, "    - %s\n", Safe(r))
			}
			for _, c := range g.Coordination {
				fmt.Fprintf(w, "    ! possible coordinated reporting on its status: %s\n", c.Summary)
			}
		}
	}
	if len(p.ToVerify) > 0 {
		fmt.Fprintln(w, "\nTO VERIFY")
		for _, v := range p.ToVerify {
			what := v.Zone
			if v.Gate != "" {
				what = "gate " + v.Gate
			}
			fmt.Fprintf(w, "  %s: %s (%s)\n", Safe(what), Safe(v.Why), Safe(clip(strings.Join(v.Reports, ", "), 100)))
		}
	}
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nRECORD\tGRADE\tKIND\tSTATUS\tWEIGHT\tZONE\tNOTE")
	for _, e := range p.Record {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t%s\n", Safe(e.ID), e.Grade, e.Kind, e.Status, e.Weight, Safe(e.ZoneID), Safe(e.Note))
	}
	for _, r := range p.Rejected {
		fmt.Fprintf(tw, "%s\t\t\trejected\t\t\t%s\n", Safe(r.ID), Safe(r.Err.Error()))
	}
	return tw.Flush()
}
