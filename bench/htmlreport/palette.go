package htmlreport

import (
	"image/color"

	"github.com/clusterbench/clusterbench/bench/results"
)

// colours are the series colours, in order: the Okabe–Ito palette, which
// stays distinguishable with the common colour-vision deficiencies (its
// yellow left out: unreadable on white), then four more from Tableau 10.
// None is black or gray, the colours of reference lines and markers.
var colours = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x8C, 0x56, 0x4B, 0xff}, // brown
	{0x76, 0xB7, 0xB2, 0xff}, // teal
	{0x59, 0xA1, 0x4F, 0xff}, // green
	{0xAF, 0x7A, 0xA1, 0xff}, // mauve
}

// Palette gives every series name one colour, the same in every chart of
// a page: the i-th name (in the order given) gets the i-th colour, and
// the colours repeat after len(colours) names.
type Palette struct {
	index map[string]int
}

// NewPalette assigns colours to names in order; a repeated name keeps its
// first colour.
func NewPalette(names []string) Palette {
	p := Palette{index: map[string]int{}}
	for _, n := range names {
		if _, ok := p.index[n]; !ok {
			p.index[n] = len(p.index)
		}
	}
	return p
}

// ServerPalette keys the colours by the run's servers, in run order.
func ServerPalette(run *results.Run) Palette {
	names := make([]string, 0, len(run.Servers))
	for _, s := range run.Servers {
		names = append(names, s.Name)
	}
	for _, s := range run.Summary { // a row naming a server not listed (Check refuses it; be safe)
		names = append(names, s.Server)
	}
	return NewPalette(names)
}

// Colour is the colour of name; a name the palette was not built with
// gets the colour after the last assigned one.
func (p Palette) Colour(name string) color.RGBA {
	i, ok := p.index[name]
	if !ok {
		i = len(p.index)
	}
	return colours[i%len(colours)]
}
