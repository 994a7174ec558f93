package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
)

// writeShard writes shard i of n of an open-loop run at 400 req/s (one
// trial, latencies i+1 .. i+200 ms) under parent and returns its
// directory; change edits the run first.
func writeShard(t *testing.T, parent string, i, n int, change func(*results.Run)) string {
	t.Helper()
	start := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	share := 400 / n
	h := metrics.NewLatencyHistogram()
	for v := range 200 {
		if err := h.RecordValue(int64(i+v+1) * 1e6); err != nil {
			t.Fatal(err)
		}
	}
	run := &results.Run{
		Schema: results.Schema, Scenario: results.ScenarioInfo{Name: "load"}, Started: start, Finished: start.Add(3 * time.Second), Complete: true,
		Env:     results.Environment{Hostname: "pod", GitCommit: "abc"},
		Load:    results.LoadInfo{Mode: "open", Levels: []int{share}, DurationS: 2, Trials: 1, KeepAlive: true, Engine: "lean"},
		Servers: []results.Server{{Name: "target", Target: "http://svc"}},
		Trials: []results.Trial{{Server: "target", Level: share, Trial: 1, DurationS: 2, Requests: 200, Successes: 200, SuccessRatio: 1,
			Throughput: 100, TargetRate: float64(share), AchievedRate: float64(share), Latency: metrics.LatencyOf(h),
			StatusCodes: map[string]int64{"200": 200}, Histogram: h}},
		Shard: &results.ShardInfo{Index: i, Count: n, RunID: "r1", StartAt: start, Levels: []int{400}},
	}
	if change != nil {
		change(run)
	}
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	dir, err := report.WriteRun(filepath.Join(parent, "shard"+string(rune('0'+i))), run)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := writeShard(t, dir, 0, 2, nil), writeShard(t, dir, 1, 2, nil)
	out := filepath.Join(dir, "merged")
	stdout, stderr, code := mainIn(t, "merge", b, a, "-o", out)
	if code != ExitOK || !strings.Contains(stdout, "merged 2 of 2 shards of run r1 into "+out) || !strings.Contains(stdout, "target") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	dirs := runDirs(t, out)
	if len(dirs) != 1 {
		t.Fatalf("merged directories %v", dirs)
	}
	run, err := report.ReadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if tr := run.Trials[0]; tr.Requests != 400 || tr.Histogram.TotalCount() != 400 || tr.Level != 400 || tr.Latency.MaxMs < 200 || run.Shard.Index != -1 {
		t.Errorf("merged trial %+v, shard %+v", tr, run.Shard)
	}
	if s, _, code := mainIn(t, "report", dirs[0], "--percentiles", "50,99"); code != ExitOK || !strings.Contains(s, "target") {
		t.Errorf("report of the merged run: exit %d\n%s", code, s)
	}
	// The shards' generator table is part of the report: merge prints it
	// once, and report, report.md and report.html show it.
	const generators = "load: load generators of the 2 shards of run r1"
	if n := strings.Count(stdout, generators); n != 1 {
		t.Errorf("merge printed the generator table %d times, want 1\n%s", n, stdout)
	}
	if s, _, code := mainIn(t, "report", dirs[0]); code != ExitOK || !strings.Contains(s, generators) || !strings.Contains(s, "bound: the generator may have been the bottleneck") {
		t.Errorf("report of the merged run: exit %d, no generator table\n%s", code, s)
	}
	for _, f := range []string{report.ReportFile, report.HTMLFile} {
		b, err := os.ReadFile(filepath.Join(dirs[0], f))
		if err != nil || !strings.Contains(string(b), generators) || !strings.Contains(string(b), "gen cpu s") {
			t.Errorf("%s of the merged run: %v, no generator table", f, err)
		}
	}
	// one trial a side decides nothing, but compare reads the merged run
	if s, e, code := mainIn(t, "compare", dirs[0], dirs[0], "--metrics", "p50,p99"); code != ExitOK || !strings.Contains(s, "compared target@400") {
		t.Errorf("compare of the merged run with itself: exit %d\n%s\n%s", code, s, e)
	}
}

// TestMergeBadInput: shards that are not of one run are a usage error
// (exit 2) naming the directory and what is allowed; a damaged
// histograms.hlog is exit 3 naming the file.
func TestMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	a, b := writeShard(t, dir, 0, 2, nil), writeShard(t, dir, 1, 2, nil)
	otherScenario := writeShard(t, dir, 1, 2, func(r *results.Run) { r.Scenario.Name = "hello" })
	otherCommit := writeShard(t, dir, 1, 2, func(r *results.Run) { r.Env.GitCommit = "def" })
	otherRun := writeShard(t, dir, 1, 2, func(r *results.Run) { r.Shard.RunID = "r2" })
	dup := writeShard(t, dir, 0, 2, nil)
	truncated := writeShard(t, dir, 1, 2, nil)
	hf := filepath.Join(truncated, hlog.FileName)
	data, err := os.ReadFile(hf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hf, data[:len(data)-len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{a, otherScenario}, ExitUsage, otherScenario + ` has scenario "hello" but ` + a + ` has "load" (allowed: shards of one scenario)`},
		{[]string{a, otherCommit}, ExitUsage, otherCommit + ` has commit "def" but ` + a + ` has "abc" (allowed: shards measured by one build)`},
		{[]string{a, otherRun}, ExitUsage, otherRun + ` has run id "r2"`},
		{[]string{a, dup, b}, ExitUsage, a + " and " + dup + " are both shard 0 of 2 (allowed: each index once)"},
		{[]string{a}, ExitUsage, "shards 1 of 2 are missing from run r1 (given: 0; allowed: all 2 shards, or --allow-missing"},
		{[]string{a, truncated}, ExitMeasurement, hf + ":"},
		{[]string{a, filepath.Join(dir, "nope")}, ExitUsage, "nope: no such shard directory"},
		{[]string{}, ExitUsage, "no shard directories given"},
	} {
		_, stderr, code := mainIn(t, append(append([]string{"merge"}, tc.args...), "-o", filepath.Join(dir, "out"))...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("merge %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		if dirs := runDirs(t, filepath.Join(dir, "out")); len(dirs) != 0 {
			t.Errorf("refused merges wrote %v", dirs)
		}
	}

	// --allow-missing merges what there is, marked incomplete
	stdout, stderr, code := mainIn(t, "merge", a, "--allow-missing", "-o", filepath.Join(dir, "partial"), "-q")
	if code != ExitOK {
		t.Fatalf("--allow-missing: exit %d\n%s", code, stderr)
	}
	run, err := report.ReadRun(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || !strings.Contains(run.Incomplete, "shards 1 of 2 missing") || len(run.Shard.Missing) != 1 {
		t.Errorf("complete %v, incomplete %q, missing %v", run.Complete, run.Incomplete, run.Shard.Missing)
	}
}

// TestStartAtInterrupted: interrupted while it waits for --start-at, a
// shard measures nothing, writes nothing and says so (exit 3).
func TestStartAtInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached the server: %s", r.URL)
	}))
	defer srv.Close()
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as Ctrl-C does through interruptible, before or during the wait alike
	var stdout, stderr strings.Builder
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code := Main(ctx, &stdout, &stderr, []string{"load", srv.URL, "-r", "10", "--shard", "0/1", "--start-at", at, "-o", out})
	if code != ExitMeasurement || !strings.Contains(stderr.String(), "interrupted while waiting for the start time; nothing was measured") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if dirs := runDirs(t, out); len(dirs) != 0 {
		t.Errorf("run directories %v written", dirs)
	}
}
