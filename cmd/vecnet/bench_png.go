package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// barColors are the bars' colours, in configuration order: the kernel's
// grey, then blue, orange and green.
var barColors = []color.RGBA{{120, 120, 120, 255}, {40, 110, 200, 255}, {230, 140, 30, 255}, {60, 160, 80, 255}}

// WriteBarPNG draws one bar per configuration, its median rate
// (Median.SinkPPS) in millions per second with the value above the bar and
// the configuration's name below, titled title with the y axis labelled
// unit, as a PNG file at path. A configuration with no round is drawn as
// an empty slot labelled "n/a".
func WriteBarPNG(path, title, unit string, sum []Summary) error {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(8)
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.X.Padding = 0
	p.Add(plotter.NewGrid())
	p.X.Tick.Label.Font.Size = vg.Points(12)
	width := vg.Points(60)
	var top float64
	names := make([]string, len(sum))
	pts := make(plotter.XYs, len(sum))
	labels := make([]string, len(sum))
	for i, s := range sum {
		v := s.Median.SinkPPS / 1e6
		top = max(top, v)
		names[i] = s.Config
		pts[i] = plotter.XY{X: float64(i), Y: v}
		labels[i] = fmt.Sprintf("%.3f", v)
		if s.Rounds == 0 {
			labels[i] = "n/a"
			continue
		}
		bar, err := plotter.NewBarChart(plotter.Values{v}, width)
		if err != nil {
			return err
		}
		bar.XMin = float64(i)
		bar.Color = barColors[i%len(barColors)]
		bar.LineStyle.Width = 0
		p.Add(bar)
	}
	vals, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return err
	}
	for i := range vals.TextStyle {
		vals.TextStyle[i].XAlign = text.XCenter
		vals.TextStyle[i].YAlign = text.YBottom
		vals.TextStyle[i].Font.Size = vg.Points(12)
	}
	vals.Offset = vg.Point{Y: vg.Points(4)}
	p.Add(vals)
	p.NominalX(names...)
	if top == 0 {
		top = 1
	}
	p.Y.Max = top * 1.15 // room for the values above the bars
	p.X.Min, p.X.Max = -0.6, float64(len(sum))-0.4
	img, err := p.WriterTo(vg.Length(100+len(sum)*140)*vg.Inch/96, 420*vg.Inch/96, "png")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
