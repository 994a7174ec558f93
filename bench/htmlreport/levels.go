package htmlreport

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/clusterbench/clusterbench/bench/results"
)

// estimateChart is a chart of one estimate per server against the level:
// a line through the medians, a filled dot at each, its interval as an
// error bar.
type estimateChart struct {
	title, yLabel string
	value         func(results.Summary) results.Estimate
	// skip leaves a row out (no reading); why says so in the caption.
	skip func(results.Summary) bool
	why  string
	// mark rings the points of rows it returns true for, with legend text
	// markLabel.
	mark      func(results.Summary) bool
	markLabel string
}

// draw renders the chart; it returns a Figure whose Missing says why when
// no server has a point to draw.
func (ec estimateChart) draw(run *results.Run, pal Palette, caption string) (Figure, error) {
	fig := Figure{Title: ec.title}
	p := newPlot(ec.title, levelAxis(run), ec.yLabel)
	leg := newLegend()
	var marked plotter.XYs
	var skipped []string
	spread, drawn := false, 0
	for _, name := range serverNames(run) {
		var ps points
		for _, s := range series(run, name) {
			if ec.skip != nil && ec.skip(s) {
				skipped = append(skipped, fmt.Sprintf("%s at %s", name, results.LevelName(run.Load.Mode, s.Level)))
				continue
			}
			e := ec.value(s)
			ps.add(float64(s.Level), e)
			if ec.mark != nil && ec.mark(s) {
				marked = append(marked, plotter.XY{X: float64(s.Level), Y: e.Median})
			}
		}
		if len(ps.xys) == 0 {
			continue
		}
		drawn++
		spread = spread || ps.spread
		if err := seriesPlot(p, &leg, name, ps.xys, ps.errs, pal); err != nil {
			return fig, fmt.Errorf("chart %q: %w", ec.title, err)
		}
	}
	if drawn == 0 {
		fig.Missing = "nothing to draw: " + ec.why + " for every server and level."
		return fig, nil
	}
	if len(marked) > 0 {
		rings, err := plotter.NewScatter(marked)
		if err != nil {
			return fig, fmt.Errorf("chart %q: %w", ec.title, err)
		}
		rings.Color, rings.Shape, rings.Radius = gray, draw.RingGlyph{}, vg.Points(7)
		p.Add(rings)
		leg.Add(ec.markLabel, rings)
	}
	fromZero(p)
	p.Y.Tick.Marker = compactTicks{}
	spreadX(p, levels(run))
	p.Add(plotter.NewGrid())
	svg, err := render(p, &leg, chartW, chartH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	bar := "the 95% confidence interval of the median"
	if spread {
		bar += " (where there were too few trials for one: the range of the trials, min to max)"
	}
	fig.Caption = caption + " Dots: median across the measured trials; bars: " + bar + "."
	if len(skipped) > 0 {
		fig.Caption += " Not drawn (" + ec.why + "): " + strings.Join(skipped, ", ") + "."
	}
	return fig, nil
}

func throughputFigure(run *results.Run, pal Palette) (Figure, error) {
	what := "successful requests per second"
	if run.Load.Mode == "open" {
		what += " (at a fixed requested rate: below the rate means the server or the load generator fell behind)"
	}
	return estimateChart{
		title:     "Throughput",
		yLabel:    "throughput (req/s)",
		value:     func(s results.Summary) results.Estimate { return s.Throughput },
		mark:      func(s results.Summary) bool { return s.ClientBound },
		markLabel: "client-bound",
	}.draw(run, pal, "Throughput, "+what+", against "+levelAxis(run)+". A gray ring marks a client-bound point: the load generator was the bottleneck in at least one trial, so the server may do more.")
}

func cpuFigure(run *results.Run, pal Palette) (Figure, error) {
	return estimateChart{
		title:  "Server CPU per request",
		yLabel: "server CPU per request (µs)",
		value:  func(s results.Summary) results.Estimate { return s.ServerCPUPerReqUs },
		skip:   func(s results.Summary) bool { return s.ServerCPUPerReqUs.Median <= 0 },
		why:    "no CPU reading of the server's processes (a target: server the runner did not start, or a platform without /proc)",
	}.draw(run, pal, "CPU time (user + system) of the server's whole process tree per request, in microseconds: lower is cheaper.")
}
