package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/shard"
)

// TestShardFlagsBadInput: each bad --shard, --start-at or --run-id is a
// usage error (exit 2) that says what is allowed, and nothing is measured.
func TestShardFlagsBadInput(t *testing.T) {
	t.Setenv(shard.EnvIndex, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached the server: %s", r.URL)
	}))
	defer srv.Close()
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load", srv.URL, "-r", "400", "--shard", "3/2", "--start-at", future}, `index "3" is out of range (allowed: 0..1 for 2 shards)`},
		{[]string{"load", srv.URL, "-r", "400", "--shard", "0/0", "--start-at", future}, `count "0" is out of range (allowed: 1..1000)`},
		{[]string{"load", srv.URL, "-r", "400", "--shard", "auto/2", "--start-at", future}, "JOB_COMPLETION_INDEX is not set (allowed: auto/N inside a Kubernetes Indexed Job"},
		{[]string{"load", srv.URL, "-r", "400", "--shard", "0/2", "--start-at", past, "--warmup", "1s"}, "in the past (allowed: a time in the future, or past by at most the warm-up, 1s)"},
		{[]string{"load", srv.URL, "-r", "400", "--start-at", "tomorrow"}, `--start-at "tomorrow" is not an RFC 3339 time`},
		{[]string{"load", srv.URL, "-r", "400", "--shard", "0/2"}, "--shard without --start-at or --run-id"},
		{[]string{"load", srv.URL, "-r", "400", "--run-id", "x"}, "--run-id without --shard"},
		{[]string{"load", srv.URL, "-r", "3", "--shard", "0/4", "--run-id", "x"}, "--rate: level 3 split 4 ways leaves shard 3 with 0: a shard's share is 0 (allowed: levels ≥ 4 with 4 shards)"},
		{[]string{"load", srv.URL, "-c", "2", "--shard", "0/4", "--run-id", "x"}, "--concurrency: level 2 split 4 ways"},
		{[]string{"load", srv.URL, "-c", "8", "-n", "3", "--shard", "1/4", "--run-id", "x"}, "--requests 3 leaves shard 3 with none (allowed: at least 4 requests with 4 shards)"},
		{[]string{"run", "hello", "--shard", "0/2", "--run-id", "x"}, "scenario hello starts server single itself"},
		{[]string{"run", "hello", "quick", "--shard", "0/2", "--run-id", "x"}, "--shard with 2 scenarios (allowed: one scenario per sharded run)"},
	} {
		out := t.TempDir()
		_, stderr, code := mainIn(t, append(tc.args, "-o", out)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if dirs := runDirs(t, out); len(dirs) != 0 {
			t.Errorf("%q: run directories %v written", tc.args, dirs)
		}
	}
}

// TestShardAutoIndex: --shard auto/N takes the index from
// JOB_COMPLETION_INDEX and records the shard in summary.json.
func TestShardAutoIndex(t *testing.T) {
	t.Setenv(shard.EnvIndex, "2")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	defer srv.Close()
	out := t.TempDir()
	stdout, stderr, code := mainIn(t, "load", srv.URL, "-c", "7,14", "-d", "200ms", "--warmup", "0", "--shard", "auto/4", "--run-id", "job-1", "-o", out, "-q")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := report.ReadRun(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	want := results.ShardInfo{Index: 2, Count: 4, RunID: "job-1", Levels: []int{7, 14}}
	if s := run.Shard; s == nil || s.Index != want.Index || s.Count != want.Count || s.RunID != want.RunID || !slices.Equal(s.Levels, want.Levels) || !s.StartAt.IsZero() {
		t.Errorf("shard %+v, want %+v", run.Shard, want)
	}
	if !slices.Equal(run.Load.Levels, []int{2, 3}) || run.Trials[0].Level != 2 || run.Trials[1].Level != 3 {
		t.Errorf("levels %v, trials at %d and %d; want shard 2's shares of 7 and 14: 2 and 3", run.Load.Levels, run.Trials[0].Level, run.Trials[1].Level)
	}
}

// TestShardsMergeEndToEnd runs N = 2 and 4 shard processes (the real
// binary, each its own process) against a server the test runs, in an
// open loop of 400 req/s in all, started together by --start-at, then
// merges them and checks the merged run: its requests are exactly those
// the server counted (no request lost or counted twice by sharding; the
// case without warm-up, whose requests are all measured), the merged
// histogram is the histogram of every shard's requests (built here from
// the shards' bucket counts, independently of Merge), and the merged rate
// is the asked one within 2%.
//
// All shards share this host's loopback, 127.0.0.1. Running each shard in
// its own network namespace, as separate pods are, is not built: creating
// one needs CAP_SYS_ADMIN (unshare), which a test cannot count on.
func TestShardsMergeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs 6 generator processes for about 20s")
	}
	const rate = 400
	for _, tc := range []struct {
		n      int
		warmup string
	}{{4, "0s"}, {2, "1s"}} {
		t.Run(strconv.Itoa(tc.n), func(t *testing.T) {
			var served atomic.Int64 // every request the server answered, warm-up included
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Add(1)
				w.Header().Set("X-Worker-Id", "0")
				_, _ = io.WriteString(w, "ok\n")
			}))
			t.Cleanup(srv.Close) // after the shard processes are reaped
			n := tc.n
			dir := t.TempDir()
			// Far enough ahead that every process has started and read
			// its flags on a busy machine: a shard that began after the
			// start time by more than its warm-up would refuse to run.
			startAt := time.Now().Add(5 * time.Second).UTC().Format(time.RFC3339Nano)
			type proc struct {
				wait           func() error
				stdout, stderr interface{ String() string }
			}
			var procs []proc
			for i := range n {
				cmd, stdout, stderr := clusterbench(t, dir, "load", srv.URL+"/", "-r", strconv.Itoa(rate), "-d", "2s", "--warmup", tc.warmup,
					"--shard", fmt.Sprintf("%d/%d", i, n), "--start-at", startAt, "-o", filepath.Join(dir, "shards"), "-q")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				var once sync.Once
				var werr error
				wait := func() error { once.Do(func() { werr = cmd.Wait() }); return werr }
				// Should the test stop early, end and reap the shard; after
				// a normal Wait, Kill does nothing and wait returns at once.
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = wait() })
				procs = append(procs, proc{wait, stdout, stderr})
			}
			var dirs []string
			for i, p := range procs {
				if code := exitCodeOf(t, p.wait()); code != ExitOK {
					t.Errorf("shard %d: exit %d\n%s\n%s", i, code, p.stdout, p.stderr)
					continue
				}
				dirs = append(dirs, strings.TrimSpace(p.stdout.String()))
			}
			if t.Failed() {
				return
			}
			stdout, stderr, code := mainIn(t, append(append([]string{"merge"}, dirs...), "-o", filepath.Join(dir, "merged"), "-q")...)
			if code != ExitOK {
				t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
			}
			merged, err := report.ReadRun(strings.TrimSpace(stdout))
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			pooled := make([]int64, len(metrics.NewLatencyHistogram().Export().Counts))
			var maxV int64
			for _, d := range dirs {
				r, err := report.ReadRun(d)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Trials) != 1 || r.Trials[0].Histogram == nil {
					t.Fatalf("%s: %d trials; want 1 with its histogram", d, len(r.Trials))
				}
				sum += r.Trials[0].Requests
				snap := r.Trials[0].Histogram.Export()
				for i, c := range snap.Counts {
					pooled[i] += c
				}
				maxV = max(maxV, r.Trials[0].Histogram.Max())
			}
			ref := hdrhistogram.Import(&hdrhistogram.Snapshot{
				LowestTrackableValue: metrics.NewLatencyHistogram().LowestTrackableValue(), HighestTrackableValue: metrics.NewLatencyHistogram().HighestTrackableValue(),
				SignificantFigures: metrics.NewLatencyHistogram().SignificantFigures(), Counts: pooled,
			})
			if !merged.Complete || len(merged.Trials) != 1 || merged.Shard == nil || len(merged.Shard.Merged) != n {
				t.Fatalf("merged run: complete %v (%s), %d trials, shard %+v", merged.Complete, merged.Incomplete, len(merged.Trials), merged.Shard)
			}
			tr := merged.Trials[0]
			if tr.Requests != sum || tr.Level != rate || !slices.Equal(merged.Load.Levels, []int{rate}) {
				t.Errorf("merged: %d requests at level %d (levels %v); want the shards' sum %d at %d", tr.Requests, tr.Level, merged.Load.Levels, sum, rate)
			}
			h := tr.Histogram
			if h == nil || h.TotalCount() != sum || ref.TotalCount() != sum || h.Max() != ref.Max() || ref.Max() != maxV {
				t.Fatalf("merged histogram: %v total, max %v; want %d, max %d", h.TotalCount(), h.Max(), sum, ref.Max())
			}
			for q := 0.0; q <= 100; q += 0.1 {
				if a, b := h.ValueAtQuantile(q), ref.ValueAtQuantile(q); a != b {
					t.Errorf("merged p%.1f = %dns, the shards' requests together give %dns", q, a, b)
				}
			}
			// Every shard has ended, so has every request it sent.
			switch got := served.Load(); {
			case tc.warmup == "0s" && got != tr.Requests:
				t.Errorf("the server answered %d requests, the merged run counts %d", got, tr.Requests)
			case got < tr.Requests: // the warm-up's requests come on top
				t.Errorf("the server answered %d requests, fewer than the merged run's %d", got, tr.Requests)
			}
			if tr.TargetRate != rate || math.Abs(tr.AchievedRate-rate)/rate > 0.02 {
				t.Errorf("merged rate %.1f/s (target %g), want %d/s within 2%%", tr.AchievedRate, tr.TargetRate, rate)
			}
			if out, _, code := mainIn(t, "report", strings.TrimSpace(stdout)); code != ExitOK || !strings.Contains(out, "target") {
				t.Errorf("report of the merged run: exit %d\n%s", code, out)
			}
		})
	}
}

// TestShardRunTargetScenario: run --shard splits the rates of a scenario
// whose server is a target: and records the unsharded ones.
func TestShardRunTargetScenario(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	defer srv.Close()
	dir := t.TempDir()
	sc := writeScenario(t, dir, "split", fmt.Sprintf(`name: split
servers:
  - name: mine
    target: %q
requests:
  - path: /
load:
  rate: [21, 40]
  duration: 200ms
  warmup: 0s
  trials: 1
`, srv.URL))
	stdout, stderr, code := mainIn(t, "run", sc, "--shard", "1/2", "--run-id", "r", "-o", filepath.Join(dir, "runs"), "-q")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	run, err := report.ReadRun(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(run.Load.Levels, []int{10, 20}) || run.Shard == nil || !slices.Equal(run.Shard.Levels, []int{21, 40}) || run.Trials[0].TargetRate != 10 {
		t.Errorf("levels %v, shard %+v, first target rate %g; want shard 1's 10 and 20 of 21 and 40", run.Load.Levels, run.Shard, run.Trials[0].TargetRate)
	}
}
