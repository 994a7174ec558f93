package htmlreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// The percentile axis: x = -log10(1 - q), so x = 0, 1, 2, … are the
// percentiles 0, 90, 99, 99.9, … ("nines"); it ends at five nines.
const (
	maxNines  = 5
	ninesStep = 0.05 // x resolution of a spectrum line
)

// NoHistograms is the sentence that replaces the latency spectra of a run
// whose trials carry no latency histogram.
const NoHistograms = "The latency percentile spectrum cannot be drawn: no trial of this run has a latency histogram. " +
	"The spectrum needs each trial's full latency distribution, saved in " + hlog.FileName + " beside summary.json; " +
	"a run directory written before clusterbench saved that file has none (nor has one whose file could not be read), " +
	"and summary.json holds only the p50, p90, p99, p99.9 and max of each trial, which the tables below show."

// ninesTicks labels x = 0..maxNines with the percentile each stands for.
func ninesTicks() plot.ConstantTicks {
	t := plot.ConstantTicks{{Value: 0, Label: "0"}}
	for k := 1; k <= maxNines; k++ {
		t = append(t, plot.Tick{Value: float64(k), Label: strconv.FormatFloat(100-100*math.Pow10(-k), 'f', max(k-2, 0), 64)})
	}
	return t
}

// spectrum is the points of one latency spectrum line: x in nines, y in
// ms, up to maxNines or until the tail holds less than one request.
func spectrum(h *hdrhistogram.Histogram) plotter.XYs {
	count := h.TotalCount()
	if count == 0 {
		return nil
	}
	last := math.Min(maxNines, math.Log10(float64(count)))
	var xs, qs []float64
	for i := 0; ; i++ {
		x := float64(i) * ninesStep
		if x > last+1e-9 {
			break
		}
		xs = append(xs, x)
		qs = append(qs, 100*(1-math.Pow(10, -x)))
	}
	ms := hlog.Percentiles(h, qs)
	xys := make(plotter.XYs, len(xs))
	for i := range xs {
		xys[i] = plotter.XY{X: xs[i], Y: math.Max(ms[i], 1e-3)} // a log axis cannot show 0
	}
	return xys
}

// latencySection draws one spectrum per level, a line per server.
func latencySection(run *results.Run, pal Palette) (Section, error) {
	sec := Section{Title: SectionLatency}
	has := false
	for _, t := range run.Trials {
		has = has || t.Histogram != nil
	}
	if !has {
		sec.Figures = []Figure{{Title: "Latency percentile spectra", Missing: NoHistograms}}
		return sec, nil
	}
	from := "the time each request was sent"
	if run.Load.Mode == "open" {
		from = "the time each request was due to be sent (open loop: a late send counts as latency, no coordinated omission)"
	}
	sec.Intro = "One chart per level. Each line is one server's latency at every percentile, from one histogram merging all the level's measured trials " +
		"(HdrHistogram, exact to 3 significant digits; trials cut short by an interruption left out). " +
		"x: the percentile on a \"nines\" scale, x = −log10(1 − q): each step right is ten times rarer. y: latency in milliseconds on a log scale, from " + from + ". " +
		"A line ends at five nines, or earlier where less than one request of the level lies further in the tail."
	for _, level := range levels(run) {
		fig, err := spectrumFigure(run, level, pal)
		if err != nil {
			return sec, err
		}
		sec.Figures = append(sec.Figures, fig)
	}
	return sec, nil
}

func spectrumFigure(run *results.Run, level int, pal Palette) (Figure, error) {
	title := "Latency by percentile at " + results.LevelName(run.Load.Mode, level)
	fig := Figure{Title: title}
	p := newPlot(title, "percentile (%)", "latency (ms, log scale)")
	leg := newLegend()
	var partial, without []string
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, name := range serverNames(run) {
		ts := metrics.RowTrials(run.Trials, name, level)
		if len(ts) == 0 {
			continue
		}
		h, n := metrics.TrialsHistogram(ts)
		if n == 0 || h.TotalCount() == 0 {
			without = append(without, name)
			continue
		}
		if n < len(ts) {
			partial = append(partial, fmt.Sprintf("%s (%d of %d trials)", name, n, len(ts)))
		}
		xys := spectrum(h)
		for _, pt := range xys {
			lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fig, fmt.Errorf("chart %q, server %s: %w", title, name, err)
		}
		line.Color, line.Width = pal.Colour(name), vg.Points(1.5)
		p.Add(line)
		leg.Add(name, line)
	}
	if math.IsInf(lo, 0) {
		fig.Missing = fmt.Sprintf("No latency histogram at %s: no trial of any server at this level has one.", results.LevelName(run.Load.Mode, level))
		return fig, nil
	}
	p.X.Min, p.X.Max = 0, maxNines
	p.X.Tick.Marker = ninesTicks()
	p.Y.Scale = plot.LogScale{}
	p.Y.Min, p.Y.Max = lo/1.2, hi*1.2
	p.Y.Tick.Marker = logTicks{}
	p.Add(plotter.NewGrid())
	svg, err := render(p, &leg, chartW, chartH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	fig.Caption = fmt.Sprintf("Latency at each percentile, %s, per server (merged measured trials).", results.LevelName(run.Load.Mode, level))
	if len(partial) > 0 {
		fig.Caption += " Merged from fewer trials (the others have no histogram): " + strings.Join(partial, ", ") + "."
	}
	if len(without) > 0 {
		fig.Caption += " No histogram, no line: " + strings.Join(without, ", ") + "."
	}
	return fig, nil
}

// logTicks marks a log axis at 1, 2 and 5 times each power of ten,
// labelling each (a decade-only axis would leave most charts with two
// labels).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	if len(ts) < 2 { // a narrow range: fall back to gonum's linear ticks
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	return ts
}
