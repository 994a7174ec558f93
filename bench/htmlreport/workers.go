package htmlreport

import (
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/clusterbench/clusterbench/bench/results"
)

// workerFigures draws, per server with more than one worker, each
// worker's share of the requests at each level, with Jain's index under
// the level. A server whose every level was answered by one worker gets
// no chart (its share is 100% everywhere); the section intro names it.
func workerFigures(run *results.Run, pal Palette) (figs []Figure, single []string, err error) {
	for _, name := range serverNames(run) {
		rows := series(run, name)
		slots := 0
		for _, s := range rows {
			slots = max(slots, len(s.Workers))
		}
		if slots < 2 {
			single = append(single, name)
			continue
		}
		fig, err := workerFigure(run, name, rows, slots, pal.Colour(name))
		if err != nil {
			return nil, nil, err
		}
		figs = append(figs, fig)
	}
	return figs, single, nil
}

// byID orders workers by their numeric X-Worker-Id, non-numbers last.
func byID(ws []results.Worker) []results.Worker {
	ws = slices.Clone(ws)
	slices.SortStableFunc(ws, func(a, b results.Worker) int {
		ai, aerr := strconv.Atoi(a.ID)
		bi, berr := strconv.Atoi(b.ID)
		switch {
		case aerr == nil && berr == nil:
			return ai - bi
		case aerr == nil:
			return -1
		case berr == nil:
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return ws
}

func workerFigure(run *results.Run, name string, rows []results.Summary, slots int, col color.RGBA) (Figure, error) {
	title := "Requests per worker: " + name
	fig := Figure{Title: title}
	p := newPlot(title, levelAxis(run)+" · Jain's fairness index", "share of requests (%)")
	labels := make([]string, len(rows))
	for i, s := range rows {
		labels[i] = fmt.Sprintf("%d\nJain %.3f", s.Level, s.Fairness.Jain)
	}
	p.NominalX(labels...)
	const groupW = 0.8 // of the distance between two levels
	slotW := vg.Points(float64(chartW-legendW-80) / float64(len(rows)) * groupW / float64(slots))
	expected := slots
	for _, s := range run.Servers {
		if s.Name == name && s.Workers > expected {
			expected = s.Workers
		}
	}
	leg := newLegend()
	for slot := range slots {
		vals := make(plotter.Values, len(rows))
		for i, s := range rows {
			if ws := byID(s.Workers); slot < len(ws) {
				vals[i] = 100 * ws[slot].Share
			}
		}
		bars, err := plotter.NewBarChart(vals, slotW*0.85) // a gap between workers
		if err != nil {
			return fig, fmt.Errorf("chart %q: %w", title, err)
		}
		bars.Color = col
		bars.LineStyle.Color, bars.LineStyle.Width = color.White, vg.Points(0.5)
		bars.Offset = slotW * vg.Length(float64(slot)-float64(slots-1)/2)
		p.Add(bars)
		if slot == 0 {
			leg.Add(name, bars)
		}
	}
	even := 100 / float64(expected)
	line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: even}, {X: float64(len(rows)) - 0.5, Y: even}})
	if err != nil {
		return fig, fmt.Errorf("chart %q: %w", title, err)
	}
	line.Color, line.Width, line.Dashes = gray, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(line)
	leg.Add(fmt.Sprintf("even share (1/%d)", expected), line)
	p.X.Min, p.X.Max = -0.5, float64(len(rows))-0.5
	p.Y.Min, p.Y.Max = 0, 100
	p.Add(plotter.NewGrid())
	svg, err := render(p, &leg, chartW, chartH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	ids := make([]string, 0, slots)
	for _, w := range byID(rows[len(rows)-1].Workers) {
		ids = append(ids, w.ID)
	}
	fig.Caption = fmt.Sprintf("Each bar is one worker's share of the responses that carried its X-Worker-Id, summed over the level's trials; "+
		"bars left to right are workers by id (%s at the highest level). The dashed line is the even share of %d workers. "+
		"Jain's index is 1 for an even split and 1/n when one worker takes everything.", strings.Join(ids, ", "), expected)
	return fig, nil
}
