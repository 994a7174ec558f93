package htmlreport

import (
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Arm is one side of a gated metric: its per-trial values and the median
// with its confidence interval (Lo and Hi ±Inf, or NaN, when the arm has
// too few values for one).
type Arm struct {
	Values         []float64
	Median, Lo, Hi float64
	Failed         int // trials that produced no value
}

// GateMetric is one gated metric as the gate chart draws it. The caller
// (bench/gate) fills it from its verdicts; this package knows no
// statistics.
type GateMetric struct {
	Label   string // "p99 latency", with the group when there is one
	Unit    string // "ms"
	Base    Arm
	Head    Arm
	Verdict string // "no change", "REGRESSION", …
	Detail  string // the delta with its interval, the p-value and the reason, in words
}

// gateH is the height of a gate chart, in points.
const gateH = 220

// Names of the two arms in the gate charts' legends.
const (
	BaseName = "base"
	HeadName = "head"
)

// gatePalette gives base and head the first two series colours.
var gatePalette = NewPalette([]string{BaseName, HeadName})

// GateFigure draws one metric: each arm's per-trial values as dots (spread
// sideways in a fixed pattern so equal values stay visible), and beside
// them the arm's median as a bar with its confidence interval; the
// verdict in the title.
func GateFigure(m GateMetric, confidence float64) (Figure, error) {
	title := fmt.Sprintf("%s: %s", m.Label, m.Verdict)
	fig := Figure{Title: title}
	p := newPlot(title, "", fmt.Sprintf("%s (%s)", m.Label, m.Unit))
	p.NominalX(BaseName, HeadName)
	leg := newLegend()
	drawn := false
	for i, arm := range []struct {
		name string
		a    Arm
	}{{BaseName, m.Base}, {HeadName, m.Head}} {
		if len(arm.a.Values) == 0 {
			continue
		}
		drawn = true
		col := gatePalette.Colour(arm.name)
		pts := make(plotter.XYs, len(arm.a.Values))
		for j, v := range arm.a.Values {
			pts[j] = plotter.XY{X: float64(i) - 0.1 + jitter(j), Y: v}
		}
		dots, err := plotter.NewScatter(pts)
		if err != nil {
			return fig, fmt.Errorf("gate chart %q, %s: %w", m.Label, arm.name, err)
		}
		dots.Color, dots.Shape, dots.Radius = col, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(dots)
		leg.Add(fmt.Sprintf("%s: trials (%d)", arm.name, len(arm.a.Values)), dots)

		med := plotter.XYs{{X: float64(i) + 0.2, Y: arm.a.Median}}
		lo, hi := arm.a.Lo, arm.a.Hi
		bounded := !math.IsInf(lo, 0) && !math.IsInf(hi, 0) && !math.IsNaN(lo) && !math.IsNaN(hi)
		if bounded {
			bars, err := plotter.NewYErrorBars(errorPoints{med, plotter.YErrors{{Low: arm.a.Median - lo, High: hi - arm.a.Median}}})
			if err != nil {
				return fig, fmt.Errorf("gate chart %q, %s: %w", m.Label, arm.name, err)
			}
			bars.Color, bars.Width, bars.CapWidth = col, vg.Points(1.5), vg.Points(10)
			p.Add(bars)
		}
		mark, err := plotter.NewScatter(med)
		if err != nil {
			return fig, fmt.Errorf("gate chart %q, %s: %w", m.Label, arm.name, err)
		}
		mark.Color, mark.Shape, mark.Radius = col, draw.BoxGlyph{}, vg.Points(4)
		p.Add(mark)
		what := fmt.Sprintf("%s: median, %.0f%% CI", arm.name, 100*confidence)
		if !bounded {
			what = arm.name + ": median (too few trials for a CI)"
		}
		leg.Add(what, mark)
	}
	if !drawn {
		fig.Missing = fmt.Sprintf("%s: no trial of either arm produced a value (%d base and %d head trials failed): nothing to draw.", m.Label, m.Base.Failed, m.Head.Failed)
		return fig, nil
	}
	p.X.Min, p.X.Max = -0.5, 1.5
	// The y axis fits the data (not from 0): the gate cares about changes
	// of a few percent, which an axis from 0 would flatten.
	pad := (p.Y.Max - p.Y.Min) * 0.15
	if pad == 0 {
		pad = math.Max(math.Abs(p.Y.Max)*0.05, 1e-9)
	}
	p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
	p.Add(plotter.NewGrid())
	svg, err := render(p, &leg, 420+legendW, gateH)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	fig.Caption = m.Detail
	return fig, nil
}

// jitter spreads the j-th value of an arm across 0.16 of the category
// width in a fixed pattern of five columns (no randomness: the same
// samples draw the same picture).
func jitter(j int) float64 { return float64(j%5-2) * 0.04 }
