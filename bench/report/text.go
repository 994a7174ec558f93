package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Text renders the run as terminal tables: ASCII borders and no colour, so
// the same bytes read well in a terminal and in a CI log; the tables fit a
// 100-column terminal for server names up to about 16 characters.
func Text(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteText(w, Build(run)) }
}

// WriteText renders d with tablewriter.
func WriteText(w io.Writer, d Document) error { return NewTextWriter(w).Write(d) }

// TextWriter renders documents one after another on one stream (the
// scenarios of one `clusterbench run`), printing every legend line once:
// under the first table or verdict that carries it. It is not safe for
// concurrent use.
type TextWriter struct {
	w       io.Writer
	printed map[string]bool
}

// NewTextWriter returns a TextWriter that writes to w.
func NewTextWriter(w io.Writer) *TextWriter {
	return &TextWriter{w: w, printed: map[string]bool{}}
}

// Write renders d: title, verdict, warnings, metadata, then the tables.
func (tw *TextWriter) Write(d Document) error {
	bw := bufio.NewWriter(tw.w)
	fmt.Fprintf(bw, "%s\n", d.Title)
	if len(d.Verdict) > 0 {
		bw.WriteString("verdict:\n")
		for _, l := range d.Verdict {
			for _, part := range wrap(l, textWidth-2) {
				fmt.Fprintf(bw, "  %s\n", part)
			}
		}
		tw.legend(bw, d.VerdictLegend)
		bw.WriteString("\n")
	}
	for _, warn := range d.Warnings {
		fmt.Fprintf(bw, "WARNING: %s\n", warn)
	}
	width := 0
	for _, m := range d.Meta {
		width = max(width, len(m[0])+1)
	}
	for _, m := range d.Meta {
		fmt.Fprintf(bw, "  %-*s  %s\n", width, m[0]+":", m[1])
	}
	for _, t := range d.Tables {
		fmt.Fprintf(bw, "\n%s\n", t.Title)
		if err := renderText(bw, t); err != nil {
			return err
		}
		for _, n := range t.Notes {
			fmt.Fprintf(bw, "  %s\n", n)
		}
		tw.legend(bw, t.Legend)
	}
	return bw.Flush()
}

// textWidth is the terminal width the text report fits (tables and
// verdict).
const textWidth = 100

// wrap cuts a line longer than width (in runes) after a ", " or "; "
// (at a space when there is none in the second half of the width),
// indenting what follows to where the line's text starts after its
// labels (the end of its last run of two spaces within the first 30
// runes), or by four spaces. A line with no place to cut stays whole.
func wrap(line string, width int) []string {
	r := []rune(line)
	if len(r) <= width {
		return []string{line}
	}
	indent := 4
	for i := min(len(r), 30) - 1; i > 0; i-- {
		if r[i] == ' ' && r[i-1] == ' ' {
			indent = i + 1
			break
		}
	}
	var out []string
	pad, lo := "", indent // the first cut comes after the labels
	for len(r) > width-len(pad) {
		room := width - len(pad)
		cut, space := -1, -1
		for i := room - 1; i > lo && cut < 0; i-- {
			switch {
			case (r[i-1] == ',' || r[i-1] == ';') && r[i] == ' ':
				cut = i
			case r[i] == ' ' && space < 0:
				space = i
			}
		}
		if cut < room/2 { // no ", " in the second half of the room: cut at a space
			cut = max(cut, space)
		}
		if cut < 0 {
			break
		}
		out = append(out, pad+string(r[:cut]))
		r = r[cut+1:]
		pad, lo = strings.Repeat(" ", indent), 0
	}
	return append(out, pad+string(r))
}

// legend prints the lines not printed before.
func (tw *TextWriter) legend(w io.Writer, lines []string) {
	for _, l := range unprinted(tw.printed, lines) {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// unprinted returns the lines not in printed, and adds them to it.
func unprinted(printed map[string]bool, lines []string) []string {
	var out []string
	for _, l := range lines {
		if !printed[l] {
			printed[l] = true
			out = append(out, l)
		}
	}
	return out
}

// RenderTable writes one table the way every terminal table of the
// project is written (tablewriter, ASCII borders); its title and notes
// are the caller's to print.
func RenderTable(w io.Writer, t Table) error { return renderText(w, t) }

func renderText(w io.Writer, t Table) error {
	align := make([]tw.Align, len(t.Align))
	for i, a := range t.Align {
		align[i] = tw.AlignLeft
		if a == Right {
			align[i] = tw.AlignRight
		}
	}
	tbl := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	tbl.Header(t.Header)
	if err := tbl.Bulk(t.Rows); err != nil {
		return fmt.Errorf("report: table %q: %w", t.Title, err)
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("report: table %q: %w", t.Title, err)
	}
	return nil
}
