package gate

import (
	"fmt"
	"io"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
	"github.com/clusterbench/clusterbench/bench/report"
)

// WriteHTML renders the gate as one self-contained HTML page (gate.html):
// the verdict on top, what was compared, then per metric a chart of base
// against head (every trial's value, each arm's median with its
// confidence interval) and below them the verdict table.
func WriteHTML(w io.Writer, rep Report, l Labels) error {
	title := "clusterbench gate"
	if l.Title != "" {
		title += ": " + l.Title
	}
	page := htmlreport.Page{
		Title:    title,
		Headline: rep.Headline(),
		Bad:      rep.Verdict() == Regressed || rep.Verdict() == Failed,
		Notes:    l.Notes,
	}
	if l.Base != "" || l.Head != "" {
		page.Meta = [][2]string{{htmlreport.BaseName, l.Base}, {htmlreport.HeadName, l.Head}}
	}
	page.Meta = append(page.Meta, l.Config...)
	page.Warnings = inconclusiveWarnings(rep, l)
	sec := htmlreport.Section{
		Title: "Base against head, per metric",
		Intro: fmt.Sprintf("Dots: each trial's value; squares: each arm's median, with its %s confidence interval (order statistics). "+
			"The y axis fits the values, it does not start at 0. %s.", formatPct(rep.Options.Confidence), rep.Method()),
	}
	for _, r := range rep.Results {
		fig, err := htmlreport.GateFigure(htmlreport.GateMetric{
			Label:   r.RowLabel(),
			Unit:    r.Unit,
			Base:    htmlreport.Arm{Values: r.Base, Median: r.BaseEst.Median, Lo: r.BaseEst.Lo, Hi: r.BaseEst.Hi, Failed: r.BaseFailed},
			Head:    htmlreport.Arm{Values: r.Head, Median: r.HeadEst.Median, Lo: r.HeadEst.Lo, Hi: r.HeadEst.Hi, Failed: r.HeadFailed},
			Verdict: r.Verdict.String(),
			Detail: fmt.Sprintf("Direction: %s is better. Delta of the median, head against base: %s; p = %s. %s: %s",
				r.Better, formatDelta(r), formatShownP(r), r.Verdict, r.Reason),
		}, rep.Options.Confidence)
		if err != nil {
			return fmt.Errorf("gate.html: %w", err)
		}
		sec.Figures = append(sec.Figures, fig)
	}
	page.Sections = []htmlreport.Section{sec}
	t := verdictTable(rep)
	t.Title = "Verdict per metric"
	t.Notes = []string{methodNote(rep) + "."}
	tables, err := report.HTMLTables([]report.Table{t})
	if err != nil {
		return fmt.Errorf("gate.html: %w", err)
	}
	page.TablesTitle, page.Tables = "Table", tables
	return htmlreport.WritePage(w, page)
}
