package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"slices"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
	"github.com/clusterbench/clusterbench/bench/results"
)

// HTMLFile is the charts page of a run directory.
const HTMLFile = "report.html"

// HTML renders the run as one self-contained HTML page (report.html): the
// Document's header and warnings, the charts of bench/htmlreport, and the
// Document's tables as HTML tables.
func HTML(run *results.Run) Reporter {
	return func(w io.Writer) error {
		d := Build(run)
		var effs []htmlreport.Efficiency
		for _, e := range CalcEfficiencies(run.Calc) {
			effs = append(effs, htmlreport.Efficiency{Batch: e.Batch, Workers: e.Workers, Estimate: e.Efficiency})
		}
		secs, err := htmlreport.RunSections(run, effs)
		if err != nil {
			return fmt.Errorf("charts of %s: %w", run.Scenario.Name, err)
		}
		tables, err := HTMLTables(d.Tables)
		if err != nil {
			return err
		}
		return htmlreport.WritePage(w, htmlreport.Page{
			Title: d.Title, Verdict: d.Verdict, VerdictLegend: d.VerdictLegend, Meta: d.Meta, Warnings: d.Warnings, Sections: secs,
			TablesTitle: "Tables", Tables: tables,
		})
	}
}

// HTMLTables renders tables as HTML: a heading, the table (right-aligned
// columns marked with class "r"), its notes and the lines of its legend
// that no table before printed, as the text and Markdown forms do.
func HTMLTables(ts []Table) (template.HTML, error) {
	type cell struct {
		Text  string
		Right bool
	}
	type table struct {
		Title  string
		Header []cell
		Rows   [][]cell
		Notes  []string
	}
	cells := func(t Table, row []string) []cell {
		out := make([]cell, len(row))
		for i, s := range row {
			out[i] = cell{Text: s, Right: i < len(t.Align) && t.Align[i] == Right}
		}
		return out
	}
	view := make([]table, len(ts))
	printed := map[string]bool{}
	for i, t := range ts {
		notes := append(slices.Clone(t.Notes), unprinted(printed, t.Legend)...)
		view[i] = table{Title: t.Title, Header: cells(t, t.Header), Notes: notes}
		for _, r := range t.Rows {
			view[i].Rows = append(view[i].Rows, cells(t, r))
		}
	}
	var buf bytes.Buffer
	if err := htmlTables.Execute(&buf, view); err != nil {
		return "", fmt.Errorf("html tables: %w", err)
	}
	return template.HTML(buf.String()), nil // html/template escaped every cell
}

var htmlTables = template.Must(template.New("tables").Parse(`{{range .}}<h3>{{.Title}}</h3>
<table>
<thead><tr>{{range .Header}}<th{{if .Right}} class="r"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td{{if .Right}} class="r"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{with .Notes}}<div class="tablenotes">{{range .}}{{.}}<br>
{{end}}</div>
{{end}}{{end}}`))
