package htmlreport

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure sizes, in points (1/72 inch). A chart is drawn at this size and
// scaled by the page's CSS to the width of the window.
const (
	chartW  = 640
	chartH  = 300
	legendW = 150 // the column right of the plot that holds the legend
)

// sans is the typeface of every chart: gonum/plot lays text out with the
// Liberation Sans metrics, which match Arial's, so a browser without
// Liberation that falls back to Arial (the page's CSS asks for it) keeps
// the layout.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot is a plot with a title, axis labels and the project's fonts.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	return p
}

// legend is a legend drawn in its own column beside the plot (so it never
// covers data), entries top to bottom; it tracks its widest text so that
// the column fits long series names.
type legend struct {
	plot.Legend
	textW vg.Length
}

func newLegend() legend {
	l := legend{Legend: plot.NewLegend()}
	l.TextStyle.Font = font.From(sans, 9)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(20)
	l.Padding = vg.Points(4)
	return l
}

// Add adds an entry (gonum's Legend.Add) and widens the column to fit it.
func (l *legend) Add(name string, thumbs ...plot.Thumbnailer) {
	l.Legend.Add(name, thumbs...)
	l.textW = max(l.textW, l.TextStyle.Width(name))
}

// render draws p, and l in a column to its right when it is not nil,
// into an SVG fragment fit to be inlined in an HTML page: the XML prelude
// and the namespace declarations are dropped (HTML parses <svg> without
// them), so the page names no URL at all. The legend column is legendW
// wide, or as wide as its longest text needs, up to half the chart.
func render(p *plot.Plot, l *legend, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	if l != nil {
		lw := min(max(legendW, l.ThumbnailWidth+l.textW+vg.Points(16)), w/2)
		p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
		l.Draw(draw.Crop(dc, w-lw+vg.Points(8), 0, 0, -vg.Points(24)))
	} else {
		p.Draw(dc)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render chart %q: %w", p.Title.Text, err)
	}
	return template.HTML(inlineSVG(buf.Bytes())), nil
}

var (
	xmlPrelude = regexp.MustCompile(`^\s*<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	svgNS      = regexp.MustCompile(`\s+xmlns(:xlink)?="[^"]*"`)
)

// inlineSVG strips what a standalone SVG file needs and inline SVG does not.
func inlineSVG(svg []byte) []byte {
	svg = xmlPrelude.ReplaceAll(svg, nil)
	if i := bytes.Index(svg, []byte("<svg")); i >= 0 {
		end := i + bytes.IndexByte(svg[i:], '>')
		head := svgNS.ReplaceAll(svg[i:end], nil)
		svg = append(append(append([]byte{}, svg[:i]...), head...), svg[end:]...)
	}
	return svg
}

// errorPoints joins points and their errors for NewYErrorBars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// seriesPlot adds one series' points (a line with dots, and error
// bars when errs is not nil) to p and leg.
func seriesPlot(p *plot.Plot, leg *legend, name string, xys plotter.XYs, errs plotter.YErrors, pal Palette) error {
	col := pal.Colour(name)
	line, dots, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("series %s: %w", name, err)
	}
	line.Color, line.Width = col, vg.Points(1.5)
	dots.Color, dots.Shape, dots.Radius = col, draw.CircleGlyph{}, vg.Points(3)
	if errs != nil {
		bars, err := plotter.NewYErrorBars(errorPoints{xys, errs})
		if err != nil {
			return fmt.Errorf("series %s: %w", name, err)
		}
		bars.Color, bars.Width, bars.CapWidth = col, vg.Points(1), vg.Points(6)
		p.Add(bars)
	}
	p.Add(line, dots)
	leg.Add(name, line, dots)
	return nil
}

// levelTicks marks exactly the levels measured, labelled as integers.
func levelTicks(levels []int) plot.ConstantTicks {
	t := make(plot.ConstantTicks, len(levels))
	for i, l := range levels {
		t[i] = plot.Tick{Value: float64(l), Label: strconv.Itoa(l)}
	}
	return t
}

// spreadX chooses a log x axis when the levels span a factor of 8 or more
// (1, 8, 64 clients): a linear one would crowd the low levels into a
// corner.
func spreadX(p *plot.Plot, levels []int) {
	if len(levels) == 0 {
		return
	}
	lo, hi := levels[0], levels[0]
	for _, l := range levels {
		lo, hi = min(lo, l), max(hi, l)
	}
	p.X.Tick.Marker = levelTicks(levels)
	if lo > 0 && hi >= 8*lo {
		p.X.Scale = plot.LogScale{}
		// Room on either side so the end points' bars and glyphs show.
		p.X.Min, p.X.Max = float64(lo)/1.25, float64(hi)*1.25
		return
	}
	pad := float64(hi-lo) * 0.06
	if pad == 0 {
		pad = math.Max(1, float64(lo)*0.1)
	}
	p.X.Min, p.X.Max = float64(lo)-pad, float64(hi)+pad
}

// fromZero makes the y axis start at 0 and leaves 8% headroom, so that
// ratios between points read true.
func fromZero(p *plot.Plot) {
	p.Y.Min = 0
	p.Y.Max *= 1.08
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
}

// gray is the colour of reference lines and markers that are no series.
var gray = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}

// compactTicks are gonum's default ticks labelled compactly: 5000, 20k,
// 1.5M (a rate axis would otherwise read 10000000).
type compactTicks struct{}

func (compactTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = compact(ts[i].Value)
		}
	}
	return ts
}

// compact prints v with a k or M suffix from 10 000 up.
func compact(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
