package gate

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Labels name what a report compared, for the renderers. The gate's
// statistics do not depend on them.
type Labels struct {
	Title string   // what was gated, e.g. "ab scenarios/gate.yaml @ 400 req/s"
	Bench string   // benchmark name in the Go benchmark format, e.g. "Gate/scenario=gate/rate=400"; "" = "Gate"
	Base  string   // the base arm: a command line, a run directory
	Head  string   // the head arm
	Notes []string // caveats printed under the verdict (different machines, …)
	// Config is written as file-level `key: value` lines in the Go
	// benchmark format (keys: lower-case, no spaces).
	Config [][2]string
	// BaseConfig and HeadConfig are written, in the Go benchmark format,
	// before the samples of their arm only (e.g. each arm's own scenario
	// and commit).
	BaseConfig, HeadConfig [][2]string
	// OnInconclusive says what the caller does when the overall verdict
	// is Inconclusive (e.g. "exit status 0 all the same"); it ends the
	// warning every renderer prints then. "" = nothing said.
	OnInconclusive string
}

// formatValue prints a metric value with 4 significant digits and no
// exponent for the magnitudes the gate meets.
func formatValue(v float64, unit string) string {
	var s string
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a >= 1000:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 4, 64)
	}
	return s + " " + unit
}

// formatEstimate prints "median ± half-width%" like benchstat, "± ∞" when
// the interval is unbounded (too few values).
func formatEstimate(e results.Estimate, unit string) string {
	if e.N == 0 {
		return "—"
	}
	v := formatValue(e.Median, unit)
	if !e.Bounded() {
		return v + " ± ∞"
	}
	if e.Median == 0 {
		return v
	}
	half := max(e.Hi-e.Median, e.Median-e.Lo) / math.Abs(e.Median)
	return v + " ± " + formatPct(half)
}

// formatDelta prints the change of the median with its interval.
func formatDelta(r Result) string {
	if r.Verdict == Failed {
		return "—"
	}
	return fmt.Sprintf("%s [%s, %s]", formatSignedPct(r.Delta()), formatSignedPct(r.RatioLo-1), formatSignedPct(r.RatioHi-1))
}

func formatShownP(r Result) string {
	if r.Verdict == Failed {
		return "—"
	}
	return formatP(r.ShownP())
}

// WriteText renders the terminal form: the one-line verdict, a WARNING
// line for inconclusive metrics and one per such metric saying what would
// decide it, what was compared, notes, a table and the reason for every
// metric.
func WriteText(w io.Writer, rep Report, l Labels) error {
	var b strings.Builder
	b.WriteString(rep.Headline() + "\n")
	for _, warn := range inconclusiveWarnings(rep, l) {
		fmt.Fprintf(&b, "WARNING: %s\n", warn)
	}
	if l.Title != "" {
		fmt.Fprintf(&b, "gate: %s\n", l.Title)
	}
	if l.Base != "" || l.Head != "" {
		fmt.Fprintf(&b, "base: %s\nhead: %s\n", l.Base, l.Head)
	}
	for _, n := range l.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("\n")
	if err := report.RenderTable(&b, verdictTable(rep)); err != nil {
		return err
	}
	b.WriteString("\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "%s: %s: %s\n", r.RowLabel(), r.Verdict, r.Reason)
	}
	fmt.Fprintf(&b, "(%s)\n", methodNote(rep))
	_, err := io.WriteString(w, b.String())
	return err
}

// methodNote says what p and CI in the verdict table are, for the text
// and HTML forms.
func methodNote(rep Report) string {
	return fmt.Sprintf("p: one-sided Mann-Whitney U in the direction the median moved, Holm-corrected over K=%d; "+
		"CI: %s, median by order statistics, delta by bootstrap of the ratio of medians", rep.K, formatPct(rep.Options.Confidence))
}

// verdictTable is the table of every metric's estimates, delta, p-value
// and verdict, as the terminal and the HTML page show it.
func verdictTable(rep Report) report.Table {
	t := report.Table{
		Header: []string{"metric", "base median ± CI", "head median ± CI", "delta [CI]", "p", "verdict"},
		Align:  []report.Align{report.Left, report.Right, report.Right, report.Right, report.Right, report.Left},
	}
	for _, r := range rep.Results {
		t.Rows = append(t.Rows, []string{r.RowLabel(), formatEstimate(r.BaseEst, r.Unit), formatEstimate(r.HeadEst, r.Unit),
			formatDelta(r), formatShownP(r), r.Verdict.String()})
	}
	return t
}

var verdictIcon = map[Verdict]string{
	Regressed:    "❌",
	Failed:       "🛑",
	Inconclusive: "⚠️",
	Improved:     "✅",
	NoChange:     "➖",
}

// WriteMarkdown renders GitHub-flavoured Markdown for a step summary
// ($GITHUB_STEP_SUMMARY): the verdict first, then a warning alert when
// some metric is inconclusive (what would decide each), then the table,
// then the reasons folded in a <details>.
func WriteMarkdown(w io.Writer, rep Report, l Labels) error {
	var b strings.Builder
	v := rep.Verdict()
	fmt.Fprintf(&b, "### %s %s\n\n", verdictIcon[v], report.MarkdownText(rep.Headline()))
	if warn := inconclusiveWarning(rep, l); warn != "" {
		// A GitHub alert: rendered as a yellow "Warning" box.
		fmt.Fprintf(&b, "> [!WARNING]\n> **%s** What would decide:\n>\n", report.MarkdownText(strings.ToUpper(warn[:1])+warn[1:]+"."))
		for _, r := range rep.Results {
			if r.Verdict == Inconclusive {
				fmt.Fprintf(&b, "> - **%s**: %s\n", report.MarkdownText(r.RowLabel()), report.MarkdownText(r.toDecide()))
			}
		}
		b.WriteString("\n")
	}
	if l.Title != "" {
		fmt.Fprintf(&b, "**gate:** %s  \n", report.MarkdownText(l.Title))
	}
	if l.Base != "" || l.Head != "" {
		fmt.Fprintf(&b, "**base:** `%s`  \n**head:** `%s`\n", strings.ReplaceAll(l.Base, "`", "'"), strings.ReplaceAll(l.Head, "`", "'"))
	}
	for _, n := range l.Notes {
		fmt.Fprintf(&b, "\n> ⚠️ %s\n", report.MarkdownText(n))
	}
	b.WriteString("\n| metric | base median ± CI | head median ± CI | delta [CI] | p | verdict |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s %s |\n", report.MarkdownText(r.RowLabel()), formatEstimate(r.BaseEst, r.Unit),
			formatEstimate(r.HeadEst, r.Unit), formatDelta(r), formatShownP(r), verdictIcon[r.Verdict], r.Verdict)
	}
	b.WriteString("\n<details><summary>Reasons and method</summary>\n\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "- **%s** (%s): %s\n", report.MarkdownText(r.RowLabel()), r.Verdict, report.MarkdownText(r.Reason))
	}
	fmt.Fprintf(&b, "\n%s. p: one-sided in the direction the median moved, Holm-corrected. "+
		"CI at %s: medians by order statistics (x/perf benchmath), delta by a bootstrap of the ratio of medians.\n\n</details>\n",
		report.MarkdownText(rep.Method()), formatPct(rep.Options.Confidence))
	_, err := io.WriteString(w, b.String())
	return err
}

// annotationEscape escapes a workflow-command message.
func annotationEscape(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// annotationPropEscape escapes a workflow-command property value.
func annotationPropEscape(s string) string {
	s = annotationEscape(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// MaxAnnotations is how many error and how many warning annotations
// GitHub shows per step; the rest would be dropped silently, so the
// renderer stops there and says how many it left out.
const MaxAnnotations = 10

// WriteAnnotations writes GitHub Actions workflow commands: ::error for a
// regression or a failed measurement, ::warning for an inconclusive
// metric (saying what would decide it), worst regression first, at most
// MaxAnnotations of each.
func WriteAnnotations(w io.Writer, rep Report, l Labels) error {
	var errs, warns []Result
	for _, r := range rep.Results {
		switch r.Verdict {
		case Regressed, Failed:
			errs = append(errs, r)
		case Inconclusive:
			warns = append(warns, r)
		}
	}
	// Regressions first, the largest worsening first.
	sortResults(errs)
	var b strings.Builder
	title := "clusterbench gate"
	if l.Title != "" {
		title += ": " + l.Title
	}
	emit := func(kind string, rs []Result) {
		for i, r := range rs {
			if i == MaxAnnotations {
				fmt.Fprintf(&b, "::%s title=%s::%s\n", kind, annotationPropEscape(title),
					annotationEscape(fmt.Sprintf("%d more not shown; see the step summary", len(rs)-MaxAnnotations)))
				break
			}
			var msg string
			switch r.Verdict {
			case Failed:
				msg = fmt.Sprintf("%s %s: %s", r.RowLabel(), r.Verdict, r.Reason)
			case Inconclusive:
				msg = fmt.Sprintf("%s inconclusive, a regression is not ruled out: %s", r.RowLabel(), r.toDecide())
			default:
				msg = fmt.Sprintf("%s %s %s (p=%s): %s", r.RowLabel(), r.Verdict, formatSignedPct(r.Delta()), formatP(r.ShownP()), r.Reason)
			}
			fmt.Fprintf(&b, "::%s title=%s::%s\n", kind, annotationPropEscape(title), annotationEscape(msg))
		}
	}
	emit("error", errs)
	emit("warning", warns)
	_, err := io.WriteString(w, b.String())
	return err
}

// sortResults orders regressions before failures, larger worsening first.
func sortResults(rs []Result) {
	slices.SortStableFunc(rs, func(a, b Result) int {
		if a.Verdict != b.Verdict {
			return cmp.Compare(b.Verdict, a.Verdict)
		}
		return cmp.Compare(b.Worsening(), a.Worsening())
	})
}
