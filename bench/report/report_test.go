package report

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"reflect"
	"strconv"
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

// TestTextWidth: the terminal tables fit 100 columns and carry no colour.
func TestTextWidth(t *testing.T) {
	for name, build := range fixtures {
		var b bytes.Buffer
		if err := Text(build())(&b); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(b.String(), '\x1b') {
			t.Errorf("%s: the text report holds terminal escape codes", name)
		}
		for i, line := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(line, "+") || strings.HasPrefix(line, "|") {
				if n := len([]rune(line)); n > 100 {
					t.Errorf("%s line %d is %d columns wide: %s", name, i+1, n, line)
				}
			}
		}
	}
}

// TestCSVAgreesWithJSON: summary.csv carries the same numbers as the run.
func TestCSVAgreesWithJSON(t *testing.T) {
	run := closedFixture()
	var b bytes.Buffer
	if err := SummaryCSV(run)(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	trials, medians := 0, 0
	for _, r := range recs[1:] {
		if len(r) != len(SummaryColumns) {
			t.Fatalf("row has %d fields, want %d", len(r), len(SummaryColumns))
		}
		level, _ := strconv.Atoi(r[col["level"]])
		tput, _ := strconv.ParseFloat(r[col["throughput_rps"]], 64)
		p99, _ := strconv.ParseFloat(r[col["p99_ms"]], 64)
		switch r[col["row"]] {
		case "trial":
			trials++
			n, _ := strconv.Atoi(r[col["trial"]])
			for _, tr := range run.Trials {
				if tr.Server == r[col["server"]] && tr.Level == level && tr.Trial == n && (tr.Throughput != tput || tr.Latency.P99Ms != p99) {
					t.Errorf("trial row %v disagrees with %+v", r, tr)
				}
			}
		case "median":
			medians++
			for _, s := range run.Summary {
				if s.Server == r[col["server"]] && s.Level == level && (s.Throughput.Median != tput || s.P99Ms.Median != p99) {
					t.Errorf("median row %v disagrees with %+v", r, s)
				}
			}
		}
	}
	if trials != len(run.Trials) || medians != len(run.Summary) {
		t.Errorf("csv has %d trial and %d median rows, want %d and %d", trials, medians, len(run.Trials), len(run.Summary))
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
		{"pdf", nil, `--format: "pdf" is not a format (allowed: table, md, csv, workers, json, html)`},
		{"csv,", nil, `--format: "" is not a format (allowed: table, md, csv, workers, json, html)`},
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
