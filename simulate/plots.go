package simulate

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Figure is one plot, drawn as SVG and PNG.
type Figure struct {
	Name  string // file name without extension
	Title string
	SVG   []byte
	PNG   []byte
}

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff},
}

func colorOf(i int) color.Color { return palette[i%len(palette)] }

func hoursXY(minutes []float64, ys func(i int) float64) plotter.XYs {
	pts := make(plotter.XYs, len(minutes))
	for i, m := range minutes {
		pts[i].X, pts[i].Y = m/60, ys(i)
	}
	return pts
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, c color.Color, dashed bool) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(1)
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

func hline(p *plot.Plot, name string, y, x0, x1 float64, c color.Color) error {
	return addLine(p, name, plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}}, c, true)
}

func newPlot(title, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "hours from the start"
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

func lastX(minutes []float64) float64 {
	if len(minutes) == 0 {
		return 1
	}
	return minutes[len(minutes)-1] / 60
}

// Plots draws the report's figures: people in safety over time for every
// run, and for each run the people waiting at each gate, the density
// against Fruin's levels E and F, and the flow through each gate against
// its capacity.
func (r *Report) Plots() ([]Figure, error) {
	var figs []Figure
	add := func(name string, p *plot.Plot) error {
		f := Figure{Name: name, Title: p.Title.Text}
		for _, format := range []string{"svg", "png"} {
			wt, err := p.WriterTo(8*vg.Inch, 4.5*vg.Inch, format)
			if err != nil {
				return fmt.Errorf("plot %s: %w", name, err)
			}
			var b bytes.Buffer
			if _, err := wt.WriteTo(&b); err != nil {
				return fmt.Errorf("plot %s: %w", name, err)
			}
			if format == "svg" {
				f.SVG = b.Bytes()
			} else {
				f.PNG = b.Bytes()
			}
		}
		figs = append(figs, f)
		return nil
	}
	safe := newPlot("People in safety", "people through a gate")
	for i, run := range r.Runs {
		s := run.Series
		if err := addLine(safe, run.Name, hoursXY(s.Minutes, func(k int) float64 { return float64(s.Safe[k]) }), colorOf(i), false); err != nil {
			return nil, err
		}
	}
	if err := add("safe", safe); err != nil {
		return nil, err
	}
	for ri, run := range r.Runs {
		mins := run.Series.Minutes
		x1 := lastX(mins)
		wait := newPlot("People waiting at each gate: "+run.Name, "people waiting")
		dens := newPlot("Crowd density at each gate: "+run.Name, "people per square metre")
		flow := newPlot("Flow through each gate: "+run.Name, "people per hour (5 min mean)")
		for gi, g := range run.Gates {
			c := colorOf(gi)
			if err := addLine(wait, g.ID, hoursXY(mins, func(k int) float64 { return float64(g.Waiting[k]) }), c, false); err != nil {
				return nil, err
			}
			if g.CrowdLimit > 0 {
				if err := hline(wait, "", float64(g.CrowdLimit), 0, x1, c); err != nil {
					return nil, err
				}
			}
			if err := addLine(dens, g.ID, hoursXY(mins, func(k int) float64 { return float64(g.Waiting[k]) / g.QueueAreaM2 }), c, false); err != nil {
				return nil, err
			}
			if err := addLine(flow, g.ID, hoursXY(mins, func(k int) float64 {
				sum, n := 0, 0
				for j := max(0, k-4); j <= k; j++ {
					sum += g.Through1m[j]
					n++
				}
				return float64(sum) * 60 / float64(n)
			}), c, false); err != nil {
				return nil, err
			}
			if err := hline(flow, "", g.ThroughputPerHour, 0, x1, c); err != nil {
				return nil, err
			}
		}
		if err := hline(dens, "Fruin E (3.3)", FruinE, 0, x1, color.RGBA{0xff, 0x99, 0x00, 0xff}); err != nil {
			return nil, err
		}
		if err := hline(dens, "Fruin F (5)", FruinF, 0, x1, color.RGBA{0xcc, 0x00, 0x00, 0xff}); err != nil {
			return nil, err
		}
		wait.Legend.Add("crowd limit (dashed)")
		flow.Legend.Add("capacity (dashed)")
		slug := fmt.Sprintf("run%d", ri+1)
		for _, f := range []struct {
			n string
			p *plot.Plot
		}{{"waiting", wait}, {"density", dens}, {"flow", flow}} {
			if err := add(f.n+"-"+slug, f.p); err != nil {
				return nil, err
			}
		}
	}
	return figs, nil
}
