package htmlreport

import (
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/clusterbench/clusterbench/bench/results"
)

// executor names what ran a calc batch: the model, and the tasks in
// flight per worker process when set ("process k=4").
func executor(c results.CalcResult) string {
	if c.Inflight > 0 {
		return fmt.Sprintf("%s k=%d", c.Model, c.Inflight)
	}
	return c.Model
}

// task names what a calc batch computed ("fibonacci n=27").
func task(c results.CalcResult) string { return fmt.Sprintf("%s n=%d", c.Kind, c.N) }

// calcWorkers is a batch's worker count (inline runs on the master: 1).
func calcWorkers(c results.CalcResult) int { return max(c.Workers, 1) }

// calcFigures draws, per task, tasks/s against workers for each executor,
// and the parallel efficiency effs of its batches (Node included when the
// run measured it). The executors' colours follow the servers' (in
// the palette's order after them), so that no executor wears a server's
// colour.
func calcFigures(run *results.Run, effs []Efficiency) ([]Figure, error) {
	var tasks []string
	execs := serverNames(run)
	for _, c := range run.Calc {
		if !slices.Contains(tasks, task(c)) {
			tasks = append(tasks, task(c))
		}
		execs = append(execs, executor(c))
	}
	pal := NewPalette(execs)
	var figs []Figure
	for _, t := range tasks {
		var batches []results.CalcResult
		for _, c := range run.Calc {
			if task(c) == t {
				batches = append(batches, c)
			}
		}
		rate, err := calcRateFigure(t, batches, pal)
		if err != nil {
			return nil, err
		}
		eff, err := calcEfficiencyFigure(t, batches, effs, pal)
		if err != nil {
			return nil, err
		}
		figs = append(figs, rate, eff)
	}
	return figs, nil
}

// byExecutor groups batches by executor in first-seen order, each group
// sorted by workers; a repeated (executor, workers) keeps the first batch.
func byExecutor(batches []results.CalcResult) (names []string, groups map[string][]results.CalcResult) {
	groups = map[string][]results.CalcResult{}
	for _, c := range batches {
		e := executor(c)
		if _, ok := groups[e]; !ok {
			names = append(names, e)
		}
		if !slices.ContainsFunc(groups[e], func(o results.CalcResult) bool { return calcWorkers(o) == calcWorkers(c) }) {
			groups[e] = append(groups[e], c)
		}
	}
	for _, g := range groups {
		slices.SortFunc(g, func(a, b results.CalcResult) int { return calcWorkers(a) - calcWorkers(b) })
	}
	return names, groups
}

func workerTicks(batches []results.CalcResult) (plot.ConstantTicks, float64, float64) {
	var ws []int
	for _, c := range batches {
		if !slices.Contains(ws, calcWorkers(c)) {
			ws = append(ws, calcWorkers(c))
		}
	}
	slices.Sort(ws)
	return levelTicks(ws), float64(ws[0]) - 0.5, float64(ws[len(ws)-1]) + 0.5
}

func calcRateFigure(t string, batches []results.CalcResult, pal Palette) (Figure, error) {
	title := "Calc throughput: " + t
	fig := Figure{Title: title}
	p := newPlot(title, "workers", "tasks per second")
	leg := newLegend()
	names, groups := byExecutor(batches)
	spread := false
	for _, e := range names {
		var ps points
		for _, c := range groups[e] {
			ps.add(float64(calcWorkers(c)), c.TasksPerS)
		}
		spread = spread || ps.spread
		if err := seriesPlot(p, &leg, e, ps.xys, ps.errs, pal); err != nil {
			return fig, fmt.Errorf("chart %q: %w", title, err)
		}
	}
	fromZero(p)
	p.Y.Tick.Marker = compactTicks{}
	p.X.Tick.Marker, p.X.Min, p.X.Max = workerTicks(batches)
	p.Add(plotter.NewGrid())
	svg, err := render(p, &leg, chartW, chartH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	fig.Caption = "Tasks a master completed per second of wall time against the number of workers, by executor (inline: on the master itself; goroutine: a goroutine pool; process: a process pool over pipes, k = tasks in flight per worker; node: the Node.js reference, servers/node). Dots: median across trials; bars: " + calcBars(spread) + "."
	return fig, nil
}

// calcBars is what a calc chart's error bars are, for its caption; spread
// is whether some are the trials' min..max (too few trials for a
// confidence interval).
func calcBars(spread bool) string {
	if spread {
		return "the range of the trials (min to max) where there were too few for a confidence interval, else the 95% confidence interval of the median"
	}
	return "the 95% confidence interval of the median"
}

// Efficiency is the parallel efficiency of one calc batch against the
// batch of the same model, kind and n with one worker, as bench/report
// computes it (report.CalcEfficiencies: trial by trial, then summarised);
// this package only draws it.
type Efficiency struct {
	Batch    string // the batch's name (results.CalcResult.Name)
	Workers  int
	Estimate results.Estimate
}

// calcEfficiencyFigure draws each executor's efficiency against its
// workers, from 1 at one worker (by definition) to the batches that have
// an Efficiency.
func calcEfficiencyFigure(t string, batches []results.CalcResult, effs []Efficiency, pal Palette) (Figure, error) {
	title := "Calc parallel efficiency: " + t
	fig := Figure{Title: title}
	p := newPlot(title, "workers", "parallel efficiency")
	leg := newLegend()
	names, groups := byExecutor(batches)
	var without []string
	drawn, spread := 0, false
	for _, e := range names {
		ps := points{xys: plotter.XYs{{X: 1, Y: 1}}, errs: plotter.YErrors{{}}} // 1 at one worker, by definition
		for _, c := range groups[e] {
			i := slices.IndexFunc(effs, func(ef Efficiency) bool { return ef.Batch == c.Name })
			if i < 0 {
				continue
			}
			ps.add(float64(effs[i].Workers), effs[i].Estimate)
		}
		if len(ps.xys) == 1 {
			without = append(without, e)
			continue
		}
		spread = spread || ps.spread
		if err := seriesPlot(p, &leg, e, ps.xys, ps.errs, pal); err != nil {
			return fig, fmt.Errorf("chart %q: %w", title, err)
		}
		drawn++
	}
	if drawn == 0 {
		fig.Missing = fmt.Sprintf("Parallel efficiency of %s cannot be drawn: no executor ran it both with one worker (the baseline) and with more, the same number of trials each (executors: %s).", t, strings.Join(names, ", "))
		return fig, nil
	}
	perfect, err := plotter.NewLine(plotter.XYs{{X: -1e9, Y: 1}, {X: 1e9, Y: 1}})
	if err != nil {
		return fig, fmt.Errorf("chart %q: %w", title, err)
	}
	perfect.Color, perfect.Width, perfect.Dashes = gray, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(perfect)
	leg.Add("perfect scaling", perfect)
	p.Y.Min, p.Y.Max = 0, max(1.1, p.Y.Max*1.08)
	p.X.Tick.Marker, p.X.Min, p.X.Max = workerTicks(batches)
	p.Add(plotter.NewGrid())
	svg, err := render(p, &leg, chartW, chartH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	fig.Caption = "Parallel efficiency = tasks/s with N workers ÷ (N × tasks/s of the same model with one worker), computed trial by trial (the k-th trials of the two batches paired) and summarised across the trials: dots are the median, bars " + calcBars(spread) + ". " +
		"1 means N workers did N times the work of one; below 1, the master, the hand-off or the machine's cores held them back. The point at one worker is 1 by definition."
	if len(without) > 0 {
		fig.Caption += " Not drawn (no one-worker batch of the same model, task and trial count to pair with): " + strings.Join(without, ", ") + "."
	}
	return fig, nil
}
