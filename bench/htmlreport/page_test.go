package htmlreport_test

import (
	"bytes"
	"fmt"
	"image/color"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
)

// fixtureDir is bench/report's closed-loop fixture: four servers (single
// with one worker, pool, prefork with an uneven split, node-rr without a
// CPU reading at level 1 and client-bound at level 8), levels 1 and 8, six
// trials each. Its summary.json has no histograms.hlog beside it.
const fixtureDir = "../report/testdata/closed"

func readFixture(t *testing.T) *results.Run {
	t.Helper()
	run, err := report.ReadRun(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// latencyUs is the i-th of 1000 recorded latencies (µs) of a trial of
// the server at index si: uniform on (0, (si+1)·level·5ms].
func latencyUs(si, level, i int) int64 { return int64((si + 1) * level * (i + 1) * 5) }

// withHistograms gives every trial of run a histogram of 1000 values
// (latencyUs), and run a few calc batches, so that every chart has data.
func withHistograms(run *results.Run) {
	for ti := range run.Trials {
		tr := &run.Trials[ti]
		si := slices.IndexFunc(run.Servers, func(s results.Server) bool { return s.Name == tr.Server })
		h := metrics.NewLatencyHistogram()
		for i := range 1000 {
			if err := h.RecordValue(latencyUs(si, tr.Level, i) * 1000); err != nil {
				panic(err)
			}
		}
		tr.Histogram = h
	}
	est := func(v float64) results.Estimate {
		return results.Estimate{Median: v, Lo: 0.95 * v, Hi: 1.04 * v, N: 6, Min: 0.9 * v, Max: 1.1 * v, Confidence: 0.97}
	}
	batch := func(model string, workers int, kind string, n int64, rate float64) results.CalcResult {
		trials := make([]float64, 6)
		for i := range trials {
			trials[i] = rate * (0.97 + 0.01*float64(i))
		}
		return results.CalcResult{Name: fmt.Sprintf("%s-%d-%s", model, workers, kind), Model: model, Workers: workers,
			Kind: kind, N: n, Tasks: 1000, Trials: 6, TasksPerS: est(rate), TrialTasksPerS: trials}
	}
	run.Calc = []results.CalcResult{
		batch("inline", 0, "sum", 1, 9e6),
		batch("goroutine", 2, "sum", 1, 3e6),
		batch("process", 2, "sum", 1, 2e5),
		batch("goroutine", 1, "fibonacci", 27, 1000),
		batch("goroutine", 2, "fibonacci", 27, 1900),
		batch("process", 1, "fibonacci", 27, 950),
		batch("process", 2, "fibonacci", 27, 1700),
		batch("node", 1, "fibonacci", 27, 700),
		batch("node", 2, "fibonacci", 27, 1300),
	}
}

// A page as the tests read it.
type page struct {
	doc     *html.Node
	h2      []string // section titles, in order
	figures []figure
	tables  int
}

// figure is one <figure>: its SVG's texts and drawing styles, or the
// sentence that replaces a chart.
type figure struct {
	title   string   // the SVG's first text (the plot title), or the <h3> of a missing chart
	texts   []string // every <text> of the SVG, in document order
	fills   []string // the fill colour (#RRGGBB) of every filled <path>
	strokes []string // the stroke colour of every stroked <path>
	missing string
	caption string
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// styleProp reads one property of a style attribute ("fill:#0072B2;…").
func styleProp(style, prop string) string {
	for p := range strings.SplitSeq(style, ";") {
		if k, v, ok := strings.Cut(p, ":"); ok && strings.TrimSpace(k) == prop {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func find(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func parsePage(t *testing.T, data []byte) page {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	p := page{doc: doc}
	for _, h := range find(doc, "h2") {
		p.h2 = append(p.h2, textOf(h))
	}
	for _, fn := range find(doc, "figure") {
		var f figure
		if svgs := find(fn, "svg"); len(svgs) == 1 {
			for _, tx := range find(svgs[0], "text") {
				f.texts = append(f.texts, textOf(tx))
			}
			if len(f.texts) > 0 {
				f.title = f.texts[0]
			}
			for _, path := range find(svgs[0], "path") {
				st := attr(path, "style")
				if fill := styleProp(st, "fill"); fill != "" && fill != "none" {
					f.fills = append(f.fills, fill)
				}
				if s := styleProp(st, "stroke"); s != "" && s != "none" {
					f.strokes = append(f.strokes, s)
				}
			}
		} else if len(svgs) > 1 {
			t.Fatalf("a figure holds %d SVGs", len(svgs))
		}
		for _, m := range find(fn, "p") {
			if attr(m, "class") == "missing" {
				f.missing = textOf(m)
			}
		}
		if f.missing != "" {
			if h3 := find(fn, "h3"); len(h3) > 0 {
				f.title = textOf(h3[0])
			}
		}
		for _, c := range find(fn, "figcaption") {
			f.caption = textOf(c)
		}
		p.figures = append(p.figures, f)
	}
	p.tables = len(find(doc, "table"))
	return p
}

func (p page) figure(t *testing.T, title string) figure {
	t.Helper()
	for _, f := range p.figures {
		if f.title == title {
			return f
		}
	}
	var have []string
	for _, f := range p.figures {
		have = append(have, f.title)
	}
	t.Fatalf("no figure titled %q; figures: %q", title, have)
	return figure{}
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func render(t *testing.T, run *results.Run) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.HTML(run)(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// legend returns the texts of f that are among names, in order: the
// legend entries (a server name appears nowhere else in a chart).
func legend(f figure, names []string) []string {
	var out []string
	for _, tx := range f.texts {
		if slices.Contains(names, tx) {
			out = append(out, tx)
		}
	}
	return out
}

func serverNames(run *results.Run) []string {
	var ns []string
	for _, s := range run.Servers {
		ns = append(ns, s.Name)
	}
	return ns
}

func levelsOf(run *results.Run, server string, keep func(results.Summary) bool) []string {
	var ls []string
	for _, s := range run.Summary {
		if s.Server == server && (keep == nil || keep(s)) {
			ls = append(ls, fmt.Sprint(s.Level))
		}
	}
	return ls
}

func TestReportHTMLCharts(t *testing.T) {
	run := readFixture(t)
	withHistograms(run)
	p := parsePage(t, render(t, run))
	pal := htmlreport.ServerPalette(run)
	names := serverNames(run)

	wantH2 := []string{"Verdict", htmlreport.SectionThroughput, htmlreport.SectionLatency, htmlreport.SectionCPU,
		htmlreport.SectionWorkers, htmlreport.SectionCalc, "Tables"}
	if !slices.Equal(p.h2, wantH2) {
		t.Errorf("section titles %q, want %q", p.h2, wantH2)
	}

	// Throughput: a line with a dot per level for every server, legend in
	// run order, the client-bound point ringed and in the legend.
	tp := p.figure(t, "Throughput")
	if got := legend(tp, names); !slices.Equal(got, names) {
		t.Errorf("throughput legend %q, want the servers %q", got, names)
	}
	for _, want := range []string{"concurrency (connections)", "throughput (req/s)", "client-bound", "1", "8"} {
		if !slices.Contains(tp.texts, want) {
			t.Errorf("throughput chart has no text %q (texts: %q)", want, tp.texts)
		}
	}
	for _, s := range names {
		// One filled dot per level, and one in the legend.
		if got, want := count(tp.fills, hex(pal.Colour(s))), len(levelsOf(run, s, nil))+1; got != want {
			t.Errorf("throughput: %d filled marks in %s's colour, want %d (one per level and the legend's)", got, s, want)
		}
	}

	// Latency: one chart per level, one line per server, the nines axis.
	for _, level := range run.Load.Levels {
		f := p.figure(t, fmt.Sprintf("Latency by percentile at concurrency %d", level))
		if got := legend(f, names); !slices.Equal(got, names) {
			t.Errorf("latency at %d: legend %q, want %q", level, got, names)
		}
		for _, want := range []string{"percentile (%)", "latency (ms, log scale)", "0", "90", "99", "99.9", "99.99", "99.999"} {
			if !slices.Contains(f.texts, want) {
				t.Errorf("latency at %d: no text %q (texts: %q)", level, want, f.texts)
			}
		}
		for _, s := range names {
			// The spectrum line and its legend thumbnail (no dots, no bars).
			if got := count(f.strokes, hex(pal.Colour(s))); got != 2 {
				t.Errorf("latency at %d: %d strokes in %s's colour, want 2 (its line and the legend's)", level, got, s)
			}
		}
	}

	// Server CPU: node-rr has no reading at level 1; the caption says so.
	cpu := p.figure(t, "Server CPU per request")
	if got := legend(cpu, names); !slices.Equal(got, names) {
		t.Errorf("cpu legend %q, want %q", got, names)
	}
	for _, s := range names {
		want := len(levelsOf(run, s, func(r results.Summary) bool { return r.ServerCPUPerReqUs.Median > 0 })) + 1
		if got := count(cpu.fills, hex(pal.Colour(s))); got != want {
			t.Errorf("cpu: %d filled marks in %s's colour, want %d", got, s, want)
		}
	}
	if !strings.Contains(cpu.caption, "node-rr at concurrency 1") {
		t.Errorf("cpu caption does not name the point without a reading: %q", cpu.caption)
	}

	// Workers: a chart per server with more than one worker, a bar per
	// worker and level, Jain's index under each level.
	for _, s := range run.Servers {
		rows := levelsOf(run, s.Name, nil)
		var slots int
		var jains []string
		for _, r := range run.Summary {
			if r.Server == s.Name {
				slots = max(slots, len(r.Workers))
				jains = append(jains, fmt.Sprintf("Jain %.3f", r.Fairness.Jain))
			}
		}
		title := "Requests per worker: " + s.Name
		if slots < 2 {
			for _, f := range p.figures {
				if f.title == title {
					t.Errorf("%s had one worker but has a worker chart", s.Name)
				}
			}
			continue
		}
		f := p.figure(t, title)
		if got, want := count(f.fills, hex(pal.Colour(s.Name))), slots*len(rows)+1; got != want {
			t.Errorf("%s: %d bars in its colour, want %d (%d workers × %d levels, and the legend's)", title, got, want, slots, len(rows))
		}
		for _, j := range jains {
			if !slices.Contains(f.texts, j) {
				t.Errorf("%s: no tick label %q (texts %q)", title, j, f.texts)
			}
		}
	}

	// Calc: per task, tasks/s and efficiency, a series per executor.
	rate := p.figure(t, "Calc throughput: fibonacci n=27")
	execs := []string{"goroutine", "process", "node"}
	if got := legend(rate, execs); !slices.Equal(got, execs) {
		t.Errorf("calc legend %q, want %q", got, execs)
	}
	eff := p.figure(t, "Calc parallel efficiency: fibonacci n=27")
	if got := legend(eff, execs); !slices.Equal(got, execs) {
		t.Errorf("efficiency legend %q, want %q", got, execs)
	}
	calcPal := htmlreport.NewPalette(append(slices.Clone(names), "inline", "goroutine", "process", "node"))
	for _, e := range execs {
		// A dot at 1 worker (1 by definition), one at 2, and the legend's.
		if got := count(eff.fills, hex(calcPal.Colour(e))); got != 3 {
			t.Errorf("efficiency: %d filled marks in %s's colour, want 3", got, e)
		}
	}
	if !strings.Contains(eff.caption, "tasks/s with N workers ÷ (N × tasks/s of the same model with one worker)") {
		t.Errorf("efficiency caption does not define it: %q", eff.caption)
	}
	// sum n=1: inline ran with one worker only, the pools with two only:
	// no executor has both, so no efficiency.
	if f := p.figure(t, "Calc parallel efficiency: sum n=1"); !strings.Contains(f.missing, "cannot be drawn") {
		t.Errorf("sum efficiency: want the sentence that it cannot be drawn, got %+v", f)
	}
	// Millions of tasks per second are labelled 2M, not 2000000.
	sumRate := p.figure(t, "Calc throughput: sum n=1")
	if !slices.ContainsFunc(sumRate.texts, func(s string) bool { return strings.HasSuffix(s, "M") }) {
		t.Errorf("sum throughput: no tick labelled in millions: %q", sumRate.texts)
	}

	// The tables of the text report, every one, as HTML tables.
	if want := len(report.Build(run).Tables); p.tables != want {
		t.Errorf("%d tables, want %d (report.Build's)", p.tables, want)
	}
}

func TestReportHTMLWithoutHistograms(t *testing.T) {
	run := readFixture(t) // as saved: no histograms.hlog
	p := parsePage(t, render(t, run))
	var missing []figure
	drawn := 0
	for _, f := range p.figures {
		if f.missing != "" {
			missing = append(missing, f)
		} else if len(f.texts) > 0 {
			drawn++
		}
	}
	if len(missing) != 1 || missing[0].missing != htmlreport.NoHistograms {
		t.Fatalf("figures replaced by a sentence: %+v, want the latency spectra only, saying %q", missing, htmlreport.NoHistograms)
	}
	// Throughput, CPU, and the worker charts of pool, prefork and node-rr.
	if drawn != 5 {
		t.Errorf("%d charts drawn, want 5 (throughput, server CPU, 3 worker charts)", drawn)
	}
}

// TestSelfContained: nothing in the page is fetched: no script, no
// stylesheet or font link, no URL in an attribute or the CSS, no
// embedded font that names a URL.
func TestSelfContained(t *testing.T) {
	run := readFixture(t)
	withHistograms(run)
	data := render(t, run)
	p := parsePage(t, data)
	for _, tag := range []string{"script", "link", "iframe", "img", "object", "embed"} {
		if n := len(find(p.doc, tag)); n > 0 {
			t.Errorf("page has %d <%s> elements", n, tag)
		}
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				if (k == "href" || k == "src" || strings.HasSuffix(k, ":href") || k == "xmlns" || strings.HasPrefix(k, "xmlns:")) && !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s %s=%q>: a reference outside the page", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	for _, st := range find(p.doc, "style") {
		css := textOf(st)
		for _, bad := range []string{"url(", "@import", "@font-face"} {
			if strings.Contains(css, bad) {
				t.Errorf("the page's CSS has %q", bad)
			}
		}
	}
	// The fixture names no URL anywhere, so any would be the renderer's.
	for _, u := range []string{"http://", "https://"} {
		if i := bytes.Index(data, []byte(u)); i >= 0 {
			t.Errorf("the page contains %q: …%s…", u, data[max(0, i-60):min(len(data), i+60)])
		}
	}
	if !bytes.Contains(data, []byte("font-family:Liberation Sans")) {
		t.Errorf("the charts name no font family; want Liberation Sans (gonum/plot's metrics)")
	}
}

// TestReportHTMLOpenLoop: an open-loop run is drawn against the requested
// rate; its interrupted run's warnings follow the verdict at the top.
func TestReportHTMLOpenLoop(t *testing.T) {
	run, err := report.ReadRun("../report/testdata/open")
	if err != nil {
		t.Fatal(err)
	}
	withHistograms(run)
	p := parsePage(t, render(t, run))
	if len(p.h2) < 2 || p.h2[0] != "Verdict" || p.h2[1] != "Warnings" {
		t.Errorf("sections %q, want the verdict, then the warnings (the run was interrupted)", p.h2)
	}
	tp := p.figure(t, "Throughput")
	for _, want := range []string{"requested rate (req/s)", "500", "2000", "client-bound"} {
		if !slices.Contains(tp.texts, want) {
			t.Errorf("throughput chart has no text %q (texts %q)", want, tp.texts)
		}
	}
	for _, level := range run.Load.Levels {
		p.figure(t, fmt.Sprintf("Latency by percentile at rate %d/s", level))
	}
	text := textOf(p.doc)
	if !strings.Contains(text, "intended") && !strings.Contains(text, "due to be sent") {
		t.Errorf("the open-loop latency section does not say latency counts from the intended send time")
	}
}
