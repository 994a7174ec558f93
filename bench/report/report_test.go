package report

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

var fixtures = map[string]func() *results.Run{"closed": closedFixture, "open": openFixture}

// TestFixtureFiles keeps testdata/<fixture>/summary.json equal to the
// hand-made runs (and so checks the JSON renderer's bytes).
func TestFixtureFiles(t *testing.T) {
	for name, build := range fixtures {
		var b bytes.Buffer
		if err := JSON(build())(&b); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", name, SummaryJSON), b.Bytes())
	}
}

// TestGoldenFormats renders every format from the saved fixtures, read
// back through ReadRun.
func TestGoldenFormats(t *testing.T) {
	for name, build := range fixtures {
		run, err := ReadRun(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(run, build()) && !golden.Updating() {
			t.Errorf("%s: the run read back differs from the fixture", name)
		}
		for _, f := range Formats {
			if f == "html" { // SVG charts: checked by structure (html_test.go, bench/htmlreport), not byte for byte
				continue
			}
			rep, err := For(f, run)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := rep(&b); err != nil {
				t.Fatalf("%s %s: %v", name, f, err)
			}
			golden.Check(t, filepath.Join("testdata", name+"."+f+".golden"), b.Bytes())
		}
	}
}

// TestTextWidth: the terminal tables and the verdict fit 100 columns and
// carry no colour.
func TestTextWidth(t *testing.T) {
	for name, build := range fixtures {
		var b bytes.Buffer
		if err := Text(build())(&b); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(b.String(), '\x1b') {
			t.Errorf("%s: the text report holds terminal escape codes", name)
		}
		verdict := false
		for i, line := range strings.Split(b.String(), "\n") {
			verdict = line == "verdict:" || verdict && line != ""
			if verdict || strings.HasPrefix(line, "+") || strings.HasPrefix(line, "|") {
				if n := len([]rune(line)); n > 100 {
					t.Errorf("%s line %d is %d columns wide: %s", name, i+1, n, line)
				}
			}
		}
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"", []string{"table"}, ""},
		{"table", []string{"table"}, ""},
		{"md, csv,md", []string{"md", "csv"}, ""},
		{"json,workers", []string{"json", "workers"}, ""},
		{"json,html", []string{"json", "html"}, ""},
		{"pdf", nil, `--format: "pdf" is not a format (allowed: table, md, csv, trials, workers, json, html)`},
		{"csv,", nil, `--format: "" is not a format (allowed: table, md, csv, trials, workers, json, html)`},
	}
	for _, tt := range tests {
		got, err := ParseFormats(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseFormats(%q) error %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := For("xml", closedFixture()); err == nil {
		t.Error("For(xml) succeeded")
	}
}

// TestNoWorkerIDs: a server whose responses carry no X-Worker-Id gets one
// line saying so, not a fairness index of 0.
func TestNoWorkerIDs(t *testing.T) {
	run := closedFixture()
	for i := range run.Trials {
		run.Trials[i].Workers = []results.Worker{{ID: metrics.UnknownWorker, Requests: run.Trials[i].Requests, Share: 1}}
		run.Trials[i].Fairness = metrics.WorkerFairness(run.Trials[i].Workers, 0)
	}
	run.Summary = metrics.Summarize(run.Trials, nil)
	var b strings.Builder
	for _, tbl := range workerTables(run) {
		if len(tbl.Rows) != 0 || len(tbl.Notes) != 1 || !strings.Contains(tbl.Notes[0], "reports no worker ids") {
			t.Errorf("%s: rows %v, notes %q; want no rows and the one note", tbl.Title, tbl.Rows, tbl.Notes)
		}
		b.WriteString(strings.Join(tbl.Notes, "\n"))
	}
	if strings.Contains(b.String(), "Jain") {
		t.Errorf("a fairness figure for a server without worker ids: %s", b.String())
	}
}

// TestTextWriterLegendOnce: scenarios printed one after another on one
// TextWriter carry each legend line once, under the first table (or
// verdict) that has it; every document still opens with its verdict.
func TestTextWriterLegendOnce(t *testing.T) {
	docs := []Document{Build(closedFixture()), Build(openFixture()), Build(closedFixture())}
	var b bytes.Buffer
	tw := NewTextWriter(&b)
	var legend []string
	for _, d := range docs {
		if err := tw.Write(d); err != nil {
			t.Fatal(err)
		}
		legend = append(legend, d.VerdictLegend...)
		for _, tbl := range d.Tables {
			legend = append(legend, tbl.Legend...)
		}
	}
	out := b.String()
	if len(legend) < 5 {
		t.Fatalf("the fixtures carry %d legend lines; the test needs the summary table's", len(legend))
	}
	for _, l := range legend {
		if n := strings.Count(out, "  "+l+"\n"); n != 1 {
			t.Errorf("legend line printed %d times: %s", n, l)
		}
	}
	for _, d := range docs {
		title := strings.Index(out, d.Title+"\n")
		verdict := strings.Index(out[title:], "verdict:\n")
		table := strings.Index(out[title:], "\n+-")
		if title < 0 || verdict < 0 || table < verdict {
			t.Errorf("%s: verdict at %d, first table at %d (after the title); want the verdict first", d.Title, verdict, table)
		}
	}
	// One document on its own (Text, report.md) has every legend line.
	var one bytes.Buffer
	if err := WriteText(&one, docs[1]); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range docs[1].Tables {
		for _, l := range tbl.Legend {
			if !strings.Contains(one.String(), l) {
				t.Errorf("%s printed alone lacks its legend line %q", docs[1].Title, l)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	long := "conc 64  req/s       prefork-shared 51183, prefork-rr 0.98× noise, node-none 0.90× real, " +
		"node-rr 0.88× real, single 0.70× real, pool 0.69× real (C)"
	tests := []struct {
		line  string
		width int
		want  []string
	}{
		{"short line, kept", 98, []string{"short line, kept"}},
		{long, 98, []string{
			"conc 64  req/s       prefork-shared 51183, prefork-rr 0.98× noise, node-none 0.90× real,",
			"                     node-rr 0.88× real, single 0.70× real, pool 0.69× real (C)",
		}},
		{long, 60, []string{
			"conc 64  req/s       prefork-shared 51183,",
			"                     prefork-rr 0.98× noise,",
			"                     node-none 0.90× real,",
			"                     node-rr 0.88× real, single 0.70× real,",
			"                     pool 0.69× real (C)",
		}},
		{"(C) client-bound, the server may be faster than shown: a at conc 1 (1 of 2 trials), b at conc 8 (2 of 2 trials)", 60, []string{
			"(C) client-bound, the server may be faster than shown: a at",
			"    conc 1 (1 of 2 trials), b at conc 8 (2 of 2 trials)",
		}},
		{strings.Repeat("x", 120), 98, []string{strings.Repeat("x", 120)}},
	}
	for _, tt := range tests {
		if got := wrap(tt.line, tt.width); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("wrap(%q, %d) =\n%s\nwant\n%s", tt.line, tt.width, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}
