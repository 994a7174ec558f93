// Package htmlreport draws clusterbench's charts and lays them out in
// self-contained HTML pages: report.html of a run directory (throughput,
// latency percentile spectra, server CPU per request, per-worker shares,
// calc batches) and gate.html of `ab` and `compare` (base against head per
// metric, the verdict on top).
//
// Charts are drawn with gonum.org/v1/plot to SVG (vg/vgsvg) and inlined in
// the page; the page has no script, no external stylesheet or font and no
// URL, so it opens the same from a file:// URL, an archived CI artifact or
// a mail attachment. Text in the charts names the font family Liberation
// Sans (whose metrics gonum/plot lays out with); the page's CSS falls back
// to the metric-compatible Arial.
//
// Every function here is a pure function of its arguments: it reads no
// file, keeps no state and is safe for concurrent use. A chart that the
// data cannot support (no latency histograms in an older run directory,
// no one-worker baseline for an efficiency) is replaced by a Figure whose
// Missing says why, never dropped silently.
package htmlreport

import (
	"fmt"
	"html/template"
	"io"
)

// Page is one HTML page: a title, an optional headline (the gate's
// verdict), a header of label/value pairs, warnings, sections of figures,
// and tables rendered by the caller (bench/report renders its table model
// as HTML; this package has no table model of its own).
type Page struct {
	Title string
	// Headline is shown above everything in a box; Bad colours it as a
	// failure.
	Headline string
	Bad      bool
	// Verdict is what the run found, a line each, shown first (in a
	// monospace block: its columns line up); VerdictLegend explains it.
	Verdict       []string
	VerdictLegend []string
	Meta          [][2]string
	Warnings      []string
	Notes         []string
	Sections      []Section
	// TablesTitle heads Tables; Tables is trusted HTML.
	TablesTitle string
	Tables      template.HTML
}

// WritePage writes p as a complete HTML document.
func WritePage(w io.Writer, p Page) error {
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("html page %q: %w", p.Title, err)
	}
	return nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.3em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
.headline { font-size: 1.15em; font-weight: bold; padding: 0.6em 0.8em; border-radius: 4px; background: #e7f3ea; border: 1px solid #59a14f; }
.headline.bad { background: #fbeaea; border-color: #d55e00; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; font-size: 0.92em; }
dl.meta dt { font-weight: bold; color: #555; }
dl.meta dd { margin: 0; font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
ul.warnings li { color: #8a3b00; }
pre.verdict { font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 0.9em; background: #f6f8fa; padding: 0.6em 0.8em; border-left: 3px solid #4e79a7; overflow-x: auto; }
figure { margin: 1em 0 2em; }
figure svg { width: 100%; max-width: 60em; height: auto; display: block; }
figure svg text { font-family: "Liberation Sans", Arial, Helvetica, sans-serif !important; }
figcaption { font-size: 0.9em; color: #444; max-width: 60em; }
p.missing { font-style: italic; color: #8a3b00; background: #fff6ec; padding: 0.5em 0.8em; border-left: 3px solid #e69f00; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; }
th { background: #f2f2f2; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
.tablenotes { font-size: 0.85em; color: #444; margin: 0 0 1.5em; }
nav ul { columns: 2; font-size: 0.92em; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Headline}}<p class="headline{{if $.Bad}} bad{{end}}">{{.}}</p>
{{end}}{{with .Verdict}}<h2 id="verdict">Verdict</h2>
<pre class="verdict">{{range .}}{{.}}
{{end}}</pre>
{{with $.VerdictLegend}}<p class="tablenotes">{{range .}}{{.}} {{end}}</p>
{{end}}{{end}}{{with .Meta}}<dl class="meta">
{{range .}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>
{{end}}</dl>
{{end}}{{with .Warnings}}<h2 id="warnings">Warnings</h2>
<ul class="warnings">
{{range .}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{with .Notes}}<ul class="notes">
{{range .}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{if .Sections}}<nav><ul>
{{range $i, $s := .Sections}}<li><a href="#s{{$i}}">{{$s.Title}}</a></li>
{{end}}{{if .Tables}}<li><a href="#tables">{{.TablesTitle}}</a></li>
{{end}}</ul></nav>
{{end}}{{range $i, $s := .Sections}}<section>
<h2 id="s{{$i}}">{{$s.Title}}</h2>
{{with $s.Intro}}<p>{{.}}</p>
{{end}}{{range $s.Figures}}<figure>
{{if .Missing}}<h3>{{.Title}}</h3>
<p class="missing">{{.Missing}}</p>
{{else}}{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
{{end}}</figure>
{{end}}</section>
{{end}}{{if .Tables}}<section>
<h2 id="tables">{{.TablesTitle}}</h2>
{{.Tables}}
</section>
{{end}}<footer>Written by clusterbench. This page is self-contained: no scripts, no fonts or stylesheets fetched, no network.</footer>
</body>
</html>
`))
