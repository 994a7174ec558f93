package report

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/htmlreport"
)

// TestWriteRunHTML: every run directory gets report.html, the same page
// `report --format html` prints, with the run's charts and tables.
func TestWriteRunHTML(t *testing.T) {
	run := closedFixture()
	dir, err := WriteRun(t.TempDir(), run)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatalf("run directory has no %s: %v", HTMLFile, err)
	}
	rep, err := For("html", run)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := rep(&want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s differs from what --format html renders", HTMLFile)
	}
	page := string(got)
	for _, s := range []string{"<!DOCTYPE html>", "<title>clusterbench run: fixture</title>",
		">" + htmlreport.SectionThroughput + "<", ">" + htmlreport.SectionWorkers + "<"} {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", HTMLFile, s)
		}
	}
	// the verdict opens the page, before the charts, each line escaped
	d := Build(run)
	if len(d.Verdict) == 0 {
		t.Fatal("the fixture has no verdict to check")
	}
	at := strings.Index(page, `<pre class="verdict">`)
	if at < 0 || at > strings.Index(page, ">"+htmlreport.SectionThroughput+"<") {
		t.Errorf("%s does not open with the verdict", HTMLFile)
	}
	for _, l := range d.Verdict {
		if !strings.Contains(page, html.EscapeString(l)) {
			t.Errorf("%s lacks the verdict line %q", HTMLFile, l)
		}
	}
	for _, tb := range d.Tables {
		if !strings.Contains(page, "<h3>"+tb.Title+"</h3>") {
			t.Errorf("%s lacks the table %q", HTMLFile, tb.Title)
		}
	}
	// a legend line shows once, under the first table that has it, as in
	// the text and Markdown forms: the level column's "conc" is in four
	// of the fixture's tables
	for _, l := range append(levelLegend("closed"), "conns: the new connections whose first response came from the worker.") {
		if n := strings.Count(page, html.EscapeString(l)); n != 1 {
			t.Errorf("%s shows the legend line %q %d times, want once", HTMLFile, l, n)
		}
	}
}
