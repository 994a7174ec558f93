package htmlreport

import (
	"html/template"
	"slices"

	"gonum.org/v1/plot/plotter"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Figure is one chart of a page: an inline SVG with its caption, or, when
// the data to draw it is missing, the sentence that says so instead.
type Figure struct {
	Title   string
	Caption string        // how to read it: what the points, bars and lines are
	SVG     template.HTML // the chart; empty when Missing is set
	Missing string        // why the chart cannot be drawn
}

// Section is a titled group of figures.
type Section struct {
	Title   string
	Intro   string
	Figures []Figure
}

// series are the summary rows of one server, in level order.
func series(run *results.Run, server string) []results.Summary {
	var rows []results.Summary
	for _, s := range run.Summary {
		if s.Server == server {
			rows = append(rows, s)
		}
	}
	slices.SortStableFunc(rows, func(a, b results.Summary) int { return a.Level - b.Level })
	return rows
}

// serverNames are the servers that have summary rows, in run order.
func serverNames(run *results.Run) []string {
	var names []string
	for _, s := range run.Servers {
		if len(series(run, s.Name)) > 0 {
			names = append(names, s.Name)
		}
	}
	return names
}

// levels are the levels that have summary rows, ascending.
func levels(run *results.Run) []int {
	var ls []int
	for _, s := range run.Summary {
		if !slices.Contains(ls, s.Level) {
			ls = append(ls, s.Level)
		}
	}
	slices.Sort(ls)
	return ls
}

// interval is the error bar of an estimate: its confidence interval when
// it has one, else the spread of the trials (min..max), else nothing.
// spread reports which.
func interval(e results.Estimate) (lo, hi float64, spread bool) {
	switch {
	case e.Confidence > 0:
		return e.Lo, e.Hi, false
	case e.Max > e.Min:
		return e.Min, e.Max, true
	}
	return e.Median, e.Median, false
}

// points are one series' dots (medians) with their error bars
// (interval); spread reports whether any bar is the trials' min..max
// rather than a confidence interval.
type points struct {
	xys    plotter.XYs
	errs   plotter.YErrors
	spread bool
}

// add puts the median of e at x, with e's interval as its error bar.
func (ps *points) add(x float64, e results.Estimate) {
	lo, hi, sp := interval(e)
	ps.spread = ps.spread || sp
	ps.xys = append(ps.xys, plotter.XY{X: x, Y: e.Median})
	ps.errs = append(ps.errs, struct{ Low, High float64 }{e.Median - lo, hi - e.Median})
}

// levelAxis is the x-axis label of a run's levels.
func levelAxis(run *results.Run) string {
	if run.Load.Mode == "open" {
		return "requested rate (req/s)"
	}
	return "concurrency (connections)"
}
