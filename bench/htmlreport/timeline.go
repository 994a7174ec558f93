package htmlreport

import (
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// SectionFaults is the section of a fault scenario's timelines.
const SectionFaults = "Faults over time"

// failColour fills the failure bars of a timeline: a dark red, apart from
// the series colours (a server's line may be vermillion) and from the
// gray of the fault markers.
var failColour = color.RGBA{R: 0xA0, G: 0x1C, B: 0x1C, A: 0xff}

// faultFigures draws, per server and level of a run with faults, the
// timeline of its representative trial (RepresentativeTrial): successful
// req/s per bucket as a line in the server's colour, failed requests per
// second as bars, and a dashed vertical line labelled with each fault
// applied. Nil when no trial recorded a timeline.
func faultFigures(run *results.Run, pal Palette) ([]Figure, error) {
	var figs []Figure
	for _, name := range serverNames(run) {
		for _, level := range levels(run) {
			tr, ok := RepresentativeTrial(run.Trials, name, level)
			if !ok {
				continue
			}
			fig, err := timelineFigure(run, tr, pal.Colour(name))
			if err != nil {
				return nil, err
			}
			figs = append(figs, fig)
		}
	}
	return figs, nil
}

// RepresentativeTrial is the trial of server at level that a timeline
// chart shows: among the measured trials (metrics.RowTrials) with a
// timeline, the one whose requests failed across all its faults is the
// median (the lower one of an even count), the earliest of equals. False
// when no trial has a timeline.
func RepresentativeTrial(trials []results.Trial, server string, level int) (results.Trial, bool) {
	var ts []results.Trial
	for _, t := range metrics.RowTrials(trials, server, level) {
		if t.Timeline != nil && len(t.Timeline.Buckets) > 0 {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return results.Trial{}, false
	}
	failed := func(t results.Trial) int64 {
		var n int64
		for _, ev := range t.Faults {
			if ev.Applied {
				n += ev.Failed.Total()
			}
		}
		return n
	}
	slices.SortStableFunc(ts, func(a, b results.Trial) int {
		return cmp.Or(cmp.Compare(failed(a), failed(b)), cmp.Compare(a.Trial, b.Trial))
	})
	return ts[(len(ts)-1)/2], true
}

func timelineFigure(run *results.Run, tr results.Trial, col color.RGBA) (Figure, error) {
	tl := tr.Timeline
	title := fmt.Sprintf("Faults over time: %s at %s (trial %d)", tr.Server, results.LevelName(run.Load.Mode, tr.Level), tr.Trial)
	fig := Figure{Title: title}
	p := newPlot(title, "time from the trial's start (s)", "requests per second")
	p.Y.Tick.Marker = compactTicks{}
	w := tl.BucketMs / 1000 // s
	ok := make(plotter.XYs, len(tl.Buckets))
	fails := make(failBars, 0, len(tl.Buckets))
	top := 0.0
	for i, b := range tl.Buckets {
		ok[i] = plotter.XY{X: b.StartMs/1000 + w/2, Y: b.OKPerS}
		top = max(top, b.OKPerS)
		if n := b.Failed(); n > 0 {
			fails = append(fails, failBar{x0: b.StartMs / 1000, x1: b.StartMs/1000 + w, y: float64(n) / w})
			top = max(top, float64(n)/w)
		}
	}
	if top <= 0 {
		top = 1
	}
	leg := newLegend()
	line, err := plotter.NewLine(ok)
	if err != nil {
		return fig, fmt.Errorf("chart %q: %w", title, err)
	}
	line.Color, line.Width = col, vg.Points(1.5)
	p.Add(fails, line)
	leg.Add(tr.Server+" ok/s", line)
	leg.Add("failed/s", fails)
	var marks plotter.XYLabels
	for _, ev := range tr.Faults {
		if !ev.Applied {
			continue
		}
		x := ev.AtMs / 1000
		at := []float64{ev.AtMs}
		if len(ev.KillsAtMs) > 0 { // a crash loop: a line per kill, one label
			at = ev.KillsAtMs
			x = at[0] / 1000
		}
		for _, ms := range at {
			m, err := plotter.NewLine(plotter.XYs{{X: ms / 1000, Y: 0}, {X: ms / 1000, Y: top * 1.06}})
			if err != nil {
				return fig, fmt.Errorf("chart %q: %w", title, err)
			}
			m.Color, m.Width, m.Dashes = gray, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(m)
		}
		marks.XYs = append(marks.XYs, plotter.XY{X: x, Y: top * 1.08})
		marks.Labels = append(marks.Labels, ev.Name)
	}
	if len(marks.Labels) > 0 {
		labels, err := plotter.NewLabels(marks)
		if err != nil {
			return fig, fmt.Errorf("chart %q: %w", title, err)
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Font = leg.TextStyle.Font
			labels.TextStyle[i].Color = gray
			labels.TextStyle[i].XAlign = draw.XCenter
		}
		p.Add(labels)
	}
	p.X.Min = 0
	p.X.Max = max(tr.DurationS, float64(len(tl.Buckets))*w)
	p.Y.Min, p.Y.Max = 0, top*1.18
	svg, err := render(p, &leg, chartW, chartH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	width := time.Duration(tl.BucketMs * float64(time.Millisecond)).String()
	fig.Caption = fmt.Sprintf("Trial %d of %s, the one whose requests failed across its faults is the median of the measured trials "+
		"(the earliest of equals). The line is successful responses per second in each %s bucket, by completion time; "+
		"each bar is the requests that failed in a bucket (refused, reset, closed, timeout, 5xx, other) per second, "+
		"its height times %s is the count. A dashed line marks each fault applied, labelled with its name. "+
		"timeline.csv has every trial.", tr.Trial, tr.Server, width, width)
	return fig, nil
}

// failBar is one bucket's failures: a bar over [x0, x1) of height y.
type failBar struct{ x0, x1, y float64 }

// failBars draws only the buckets with failures (a bar chart of every
// bucket would draw empty bars too).
type failBars []failBar

var _ plot.Plotter = failBars(nil)

// Plot draws the bars in failColour.
func (fb failBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, b := range fb {
		pts := []vg.Point{{X: tx(b.x0), Y: ty(0)}, {X: tx(b.x1), Y: ty(0)}, {X: tx(b.x1), Y: ty(b.y)}, {X: tx(b.x0), Y: ty(b.y)}}
		c.FillPolygon(failColour, c.ClipPolygonXY(pts))
	}
}

// Thumbnail draws the legend's swatch.
func (fb failBars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(failColour, c.ClipPolygonXY(pts))
}
