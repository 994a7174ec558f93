package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
)

// checkHistograms checks the histograms.hlog of a real run directory:
// every trial has its distribution, the percentiles recomputed from it
// equal those summary.json holds, and `report --percentiles` prints them;
// then that a damaged copy of the file is exit 3 naming the file and
// line, with the tables still printed.
func checkHistograms(t *testing.T, dir string, run *results.Run) {
	t.Helper()
	for _, tr := range run.Trials {
		what := tr.Server + "/" + strconv.Itoa(tr.Level) + "/" + strconv.Itoa(tr.Trial)
		if tr.Histogram == nil {
			t.Errorf("trial %s: no histogram read back from %s", what, hlog.FileName)
			continue
		}
		if got := tr.Histogram.TotalCount(); got != tr.Requests {
			t.Errorf("trial %s: histogram holds %d latencies, the trial %d requests", what, got, tr.Requests)
		}
		p := hlog.Percentiles(tr.Histogram, []float64{50, 90, 99, 99.9, 100})
		want := []float64{tr.Latency.P50Ms, tr.Latency.P90Ms, tr.Latency.P99Ms, tr.Latency.P999Ms, tr.Latency.MaxMs}
		for i, q := range []string{"p50", "p90", "p99", "p99.9", "max"} {
			if p[i] != want[i] {
				t.Errorf("trial %s: %s from %s is %v ms, summary.json says %v ms", what, q, hlog.FileName, p[i], want[i])
			}
		}
		if m := tr.Histogram.Mean() / 1e6; m != tr.Latency.MeanMs {
			t.Errorf("trial %s: mean from %s is %v ms, summary.json says %v ms", what, hlog.FileName, m, tr.Latency.MeanMs)
		}
	}

	stdout, stderr, code := runMain("report", dir, "--percentiles", "50,99,99.99")
	if code != 0 {
		t.Fatalf("report --percentiles: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"p50", "p99", "p99.99", "all 2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report --percentiles lacks %q:\n%s", want, stdout)
		}
	}

	// A damaged copy: the tables are still printed, then exit 3.
	bad := t.TempDir()
	for _, f := range []string{report.SummaryJSON} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bad, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, hlog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	last := len(lines) - 2 // the last interval (the file ends in a newline)
	lines[last] = lines[last][:len(lines[last])/2] + "!!" + lines[last][len(lines[last])/2:]
	if err := os.WriteFile(filepath.Join(bad, hlog.FileName), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runMain("report", bad)
	if code != ExitMeasurement {
		t.Errorf("report on a damaged %s: exit %d, want %d", hlog.FileName, code, ExitMeasurement)
	}
	where := filepath.Join(bad, hlog.FileName) + ":" + strconv.Itoa(last+1)
	if !strings.Contains(stderr, where) {
		t.Errorf("error does not name %s:\n%s", where, stderr)
	}
	if !strings.Contains(stdout, "throughput and latency") {
		t.Errorf("the tables were not printed despite the damaged histograms:\n%s", stdout)
	}
}
