package simulate

import (
	"bufio"
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"hours": fmtHours,
	"pct":   func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
	"f1":    func(x float64) string { return fmt.Sprintf("%.1f", x) },
	"f2":    func(x float64) string { return fmt.Sprintf("%.2f", x) },
	// drawn by gonum/plot from numbers and our own labels (gate ids are
	// escaped by it as XML text); the XML prolog is left out inline
	"svg": func(b []byte) template.HTML {
		if i := bytes.Index(b, []byte("<svg")); i >= 0 {
			b = b[i:]
		}
		return template.HTML(b)
	},
	"at":   func(s float64) string { return hhmm(s) },
	"time": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>muster exercise report</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.bad{background:#fdd}.ok{background:#dfd}
figure{margin:1.5em 0}svg{max-width:100%;height:auto}
</style></head><body>
<h1>Exercise report</h1>
<p>Operation starting {{time .R.Start}}; {{.R.Households}} households, {{.R.People}} people; seed {{.R.Seed}}.
Every number below is recomputed from the simulation, never taken from the plan.</p>
<h2>Comparison</h2>
<table><tr><th>run</th><th>egress (last person through)</th><th>90% through</th><th>safe</th><th>most waiting at a gate</th><th>highest density (p/m²)</th><th>worst Fruin level</th><th>gates over their crowd limit</th><th>dangerous minutes (E or F)</th><th>longest wait</th><th>exposure (person-risk-s)</th></tr>
{{range .R.Comparison}}<tr><td>{{.Name}}</td><td>{{hours .EgressS}}</td><td>{{hours .T90S}}</td><td>{{pct .SafeShare}}</td><td>{{.MaxWaiting}}</td>
<td class="{{if ge .MaxDensity 3.3}}bad{{else}}ok{{end}}">{{f2 .MaxDensity}}</td><td>{{.WorstLevel}}</td>
<td class="{{if gt .OverLimitGates 0}}bad{{else}}ok{{end}}">{{.OverLimitGates}}</td><td>{{.DangerMinutes}}</td><td>{{hours .MaxWaitS}}</td><td>{{f1 .Exposure}}</td></tr>
{{end}}</table>
<h2>Injects</h2>
{{if .R.Injects}}<table><tr><th>when</th><th>what</th><th>gate</th><th>note</th><th>reports in the picture</th><th>zones (forbidden)</th><th>flagged to verify</th></tr>
{{range .R.Injects}}<tr><td>{{at .AtS}}</td><td>{{.Kind}}</td><td>{{.Gate}}</td><td>{{.Note}}</td><td>{{.Picture.Reports}}</td><td>{{.Picture.Zones}} ({{.Picture.Forbidden}})</td><td>{{.Picture.ToVerify}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
{{range .R.Runs}}
<h2>{{.Name}}</h2>
<p>Safe: {{pct .SafeShare}} of {{.People}} people. 50% through at {{hours .T50S}}, 90% at {{hours .T90S}}, 100% of those who got out at {{hours .T100S}}.
No-shows: {{.NoShows}} people; never reached: {{.NotReached}}; acknowledged: {{.Acknowledged}} households; instructions re-issued: {{.Reissued}}.
Exposure: {{f1 .Exposure.PersonRiskS}} person-risk-seconds ({{f1 .Exposure.AtGatesS}} waiting at gates).</p>
<p>At the end: {{range $k, $v := .Final}}{{$k}} {{$v}}; {{end}}</p>
<table><tr><th>gate</th><th>throughput/h</th><th>crowd limit</th><th>queuing area m²</th><th>through</th><th>most waiting</th><th>highest density</th><th>level</th><th>minutes over limit</th><th>minutes at E or F</th><th>at F</th><th>mean wait</th><th>90% waited less than</th><th>longest wait</th><th>peak flow/h</th></tr>
{{range .Gates}}<tr><td>{{.ID}} {{.Name}}</td><td>{{f1 .ThroughputPerHour}}</td><td>{{.CrowdLimit}}</td><td>{{f1 .QueueAreaM2}}</td><td>{{.Through}}</td>
<td class="{{if gt .MaxWaiting .CrowdLimit}}bad{{end}}">{{.MaxWaiting}}</td><td>{{f2 .MaxDensity}}</td><td>{{.WorstLevel}}</td><td>{{.MinutesOverLimit}}</td><td>{{.MinutesE}}</td><td>{{.MinutesF}}</td>
<td>{{hours .WaitMeanS}}</td><td>{{hours .WaitP90S}}</td><td>{{hours .WaitMaxS}}</td><td>{{f1 .PeakFlowPerHour}}</td></tr>
{{end}}</table>
{{if .Replans}}<table><tr><th>re-plan for inject</th><th>at</th><th>instructions changed</th><th>approved</th><th>re-issued</th><th>groups revised</th><th>error</th></tr>
{{range .Replans}}<tr><td>{{.Inject}}</td><td>{{at .AtS}}</td><td>{{.Changes}}</td><td>{{.Approved}}</td><td>{{.Reissued}}</td><td>{{.GroupsRevised}}</td><td>{{.Error}}</td></tr>{{end}}</table>{{end}}
{{if .DangerousMinutes}}<p>{{len .DangerousMinutes}} dangerous minutes (a queue at Fruin level E or F); report.json lists each.</p>{{else}}<p>No dangerous minute: no queue reached Fruin level E.</p>{{end}}
<details><summary>What happened</summary><ul>{{range .Log}}<li>{{.}}</li>{{end}}</ul></details>
{{end}}
<h2>Figures</h2>
{{range .F}}<figure>{{svg .SVG}}<figcaption>{{.Title}}</figcaption></figure>
{{end}}
</body></html>
`))

func fmtHours(s float64) string {
	if s < 0 || math.IsNaN(s) {
		return "never"
	}
	m := int(math.Round(s / 60))
	return fmt.Sprintf("%dh%02d", m/60, m%60)
}

// WriteHTML writes a self-contained page: the tables and the figures as
// inline SVG, nothing fetched from elsewhere.
func (r *Report) WriteHTML(w io.Writer, figs []Figure) error {
	if err := htmlPage.Execute(w, struct {
		R *Report
		F []Figure
	}{r, figs}); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

// WriteDir writes the whole report into dir: report.json, events.jsonl (the
// field events of muster's plan), report.html, and each figure as SVG and
// PNG.
func (res *Result) WriteDir(dir string) error {
	figs, err := res.Report.Plots()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report folder: %w", err)
	}
	write := func(name string, fn func(io.Writer) error) error {
		path := filepath.Join(dir, name)
		tmp := path + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		bw := bufio.NewWriter(f)
		err = fn(bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return os.Rename(tmp, path)
	}
	if err := write("report.json", res.Report.WriteJSON); err != nil {
		return err
	}
	if err := write("events.jsonl", func(w io.Writer) error { return WriteEvents(w, res.Events) }); err != nil {
		return err
	}
	if err := write("report.html", func(w io.Writer) error { return res.Report.WriteHTML(w, figs) }); err != nil {
		return err
	}
	for _, f := range figs {
		for ext, b := range map[string][]byte{"svg": f.SVG, "png": f.PNG} {
			if err := write(f.Name+"."+ext, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
				return err
			}
		}
	}
	return nil
}
