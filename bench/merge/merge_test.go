package merge

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/shard"
)

var t0 = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

// shardRun makes shard i of n of an open-loop run at the unsharded rates
// levels, two trials each, whose trial latencies are drawn from rng; all
// records every latency, keyed like the merged trials.
func shardRun(i, n int, levels []int, rng *rand.Rand, all map[string][]int64) *results.Run {
	sp := shard.Spec{Index: i, Count: n}
	mine, err := shard.Levels(levels, sp)
	if err != nil {
		panic(err)
	}
	run := &results.Run{
		Schema: results.Schema, Scenario: results.ScenarioInfo{Name: "load"},
		Started: t0.Add(time.Duration(i) * time.Millisecond), Finished: t0.Add(10 * time.Second),
		Complete: true,
		Env:      results.Environment{Hostname: fmt.Sprintf("pod-%c", 'a'+i), GitCommit: "abc123"},
		Load:     results.LoadInfo{Mode: "open", Levels: mine, DurationS: 2, WarmupS: 0.5, Trials: 2, KeepAlive: true, Engine: "lean"},
		Servers:  []results.Server{{Name: "target", Target: "http://svc:8080"}},
		Shard:    &results.ShardInfo{Index: i, Count: n, RunID: "20261130T200000Z-load", StartAt: t0, Levels: slices.Clone(levels)},
	}
	for li, l := range mine {
		for trial := 1; trial <= 2; trial++ {
			h := metrics.NewLatencyHistogram()
			reqs := int64(l * 2)
			key := keyOf("target", levels[li], trial)
			for range reqs {
				v := int64(50_000 + rng.ExpFloat64()*float64(200_000*(i+1))) // shards differ in their latency
				if err := h.RecordValue(v); err != nil {
					panic(err)
				}
				all[key] = append(all[key], v)
			}
			h.SetStartTimeMs(t0.UnixMilli() + int64(1000*trial))
			h.SetEndTimeMs(t0.UnixMilli() + int64(1000*trial) + 2000)
			tr := results.Trial{
				Server: "target", Level: l, Trial: trial, DurationS: 2 + float64(i)/100,
				Requests: reqs, Successes: reqs - 1, SuccessRatio: float64(reqs-1) / float64(reqs),
				Throughput: float64(reqs-1) / 2, TargetRate: float64(l), AchievedRate: float64(l) - 0.5,
				Latency:     metrics.LatencyOf(h),
				StatusCodes: map[string]int64{"200": reqs - 1, "503": 1},
				Errors:      map[string]int64{"status 503": 1},
				ClientCPUS:  0.1 * float64(i+1), ClientCPUUtil: 0.1 * float64(i+1), ClientWaitS: 0.01,
				Workers:   []results.Worker{{ID: "0", Pids: []int{100}, Requests: reqs - 1, Connections: 2, Errors: 1}},
				Histogram: h,
			}
			run.Trials = append(run.Trials, tr)
		}
	}
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	return run
}

func keyOf(server string, level, trial int) string {
	return fmt.Sprintf("%s/%d/%d", server, level, trial)
}

func shardsOf(n int, levels []int, all map[string][]int64) []Shard {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []Shard
	for i := n - 1; i >= 0; i-- { // any order
		out = append(out, Shard{Dir: fmt.Sprintf("dir%d", i), Run: shardRun(i, n, levels, rng, all)})
	}
	return out
}

func TestMergeIsExact(t *testing.T) {
	all := map[string][]int64{}
	levels := []int{401, 1000}
	shards := shardsOf(4, levels, all)
	run, err := Merge(shards, Options{Args: []string{"clusterbench", "merge", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || run.Incomplete != "" {
		t.Errorf("complete %v %q, want complete", run.Complete, run.Incomplete)
	}
	if !slices.Equal(run.Load.Levels, levels) || run.Shard.Index != -1 || !slices.Equal(run.Shard.Merged, []int{0, 1, 2, 3}) {
		t.Errorf("levels %v, shard %+v", run.Load.Levels, run.Shard)
	}
	if len(run.Trials) != 4 || len(run.Summary) != 2 {
		t.Fatalf("%d trials, %d summary rows; want 4 and 2", len(run.Trials), len(run.Summary))
	}
	for _, tr := range run.Trials {
		want := all[keyOf(tr.Server, tr.Level, tr.Trial)]
		if tr.Requests != int64(len(want)) || tr.Histogram.TotalCount() != int64(len(want)) {
			t.Errorf("trial %d/%d: %d requests, histogram of %d; want %d", tr.Level, tr.Trial, tr.Requests, tr.Histogram.TotalCount(), len(want))
		}
		// the histogram of every request recorded at once
		ref := metrics.NewLatencyHistogram()
		for _, v := range want {
			_ = ref.RecordValue(v)
		}
		for q := 0.0; q <= 100; q += 0.5 {
			if a, b := tr.Histogram.ValueAtQuantile(q), ref.ValueAtQuantile(q); a != b {
				t.Errorf("trial %d/%d: p%g %d, want %d", tr.Level, tr.Trial, q, a, b)
			}
		}
		if tr.Histogram.Max() != ref.Max() || tr.Latency != metrics.LatencyOf(ref) {
			t.Errorf("trial %d/%d: max %d latency %+v; want %d %+v", tr.Level, tr.Trial, tr.Histogram.Max(), tr.Latency, ref.Max(), metrics.LatencyOf(ref))
		}
		var throughput float64 // the shards' throughputs at this level and trial
		for _, s := range shards {
			li := slices.Index(s.Run.Shard.Levels, tr.Level)
			throughput += s.Run.Trials[2*li+tr.Trial-1].Throughput
		}
		if tr.Throughput != throughput || tr.Throughput != float64(tr.Level-2) {
			t.Errorf("trial %d/%d: throughput %g, want the shards' sum %g = %d", tr.Level, tr.Trial, tr.Throughput, throughput, tr.Level-2)
		}
		if tr.TargetRate != float64(tr.Level) || tr.AchievedRate != float64(tr.Level)-2 {
			t.Errorf("trial %d/%d: target %g achieved %g; want %d and %d", tr.Level, tr.Trial, tr.TargetRate, tr.AchievedRate, tr.Level, tr.Level-2)
		}
		if tr.StatusCodes["503"] != 4 || tr.Errors["status 503"] != 4 || tr.StatusCodes["200"] != tr.Requests-4 || tr.Successes != tr.Requests-4 {
			t.Errorf("trial %d/%d: codes %v errors %v successes %d", tr.Level, tr.Trial, tr.StatusCodes, tr.Errors, tr.Successes)
		}
		if len(tr.Workers) != 1 || tr.Workers[0].Requests != tr.Requests-4 || tr.Workers[0].Connections != 8 || tr.Workers[0].Share != 1 {
			t.Errorf("trial %d/%d: workers %+v", tr.Level, tr.Trial, tr.Workers)
		}
		if d := tr.ClientCPUS - (0.1 + 0.2 + 0.3 + 0.4); d > 1e-9 || d < -1e-9 || tr.ClientCPUUtil != 0.4 || tr.DurationS != 2.03 {
			t.Errorf("trial %d/%d: client cpu %g util %g duration %g; want 1.0, 0.4 (the busiest), 2.03 (the longest)", tr.Level, tr.Trial, tr.ClientCPUS, tr.ClientCPUUtil, tr.DurationS)
		}
	}
	// The summary rows stand for the merged trials, worked out here from
	// the inputs: each shard's trial throughput is (2·share-1)/2, so the
	// four shards' sum at level L is L-2 in both trials, and the median of
	// two p99s is their mean.
	for i, level := range levels {
		sum := func(f func(results.Trial) float64) float64 {
			var v float64
			for _, tr := range run.Trials {
				if tr.Level == level {
					v += f(tr)
				}
			}
			return v
		}
		got := run.Summary[i]
		wantP99 := sum(func(tr results.Trial) float64 {
			ref := metrics.NewLatencyHistogram()
			for _, v := range all[keyOf(tr.Server, tr.Level, tr.Trial)] {
				_ = ref.RecordValue(v)
			}
			return float64(ref.ValueAtQuantile(99)) / 1e6
		}) / 2
		if got.Level != level || got.Trials != 2 || got.Throughput.Median != float64(level-2) || math.Abs(got.P99Ms.Median-wantP99) > 1e-9*wantP99 {
			t.Errorf("summary at %d: level %d, %d trials, throughput %g, p99 %gms; want %d, 2, %d, %gms",
				level, got.Level, got.Trials, got.Throughput.Median, got.P99Ms.Median, level, level-2, wantP99)
		}
	}
	if len(run.Shard.Shards) != 4 || run.Shard.Shards[2].Hostname != "pod-c" || len(run.Shard.Shards[2].Trials) != 4 ||
		run.Shard.Shards[0].Trials[0].ShardLevel != 101 || run.Shard.Shards[3].Trials[0].ShardLevel != 100 || run.Shard.Shards[0].Trials[0].Level != 401 {
		t.Errorf("per-shard records %+v", run.Shard.Shards)
	}
	if !slices.Equal(run.Env.Args, []string{"clusterbench", "merge", "x"}) || !run.Started.Equal(t0) {
		t.Errorf("args %v started %v", run.Env.Args, run.Started)
	}
	for _, s := range shards { // inputs untouched
		if s.Run.Trials[0].Histogram.TotalCount() != s.Run.Trials[0].Requests {
			t.Errorf("%s: its histogram changed", s.Dir)
		}
	}
}

func TestMergeClientBoundNamesTheShard(t *testing.T) {
	shards := shardsOf(2, []int{400}, map[string][]int64{})
	shards[0].Run.Trials[1].ClientBound = true // shard 1 (shards are listed in reverse), trial 2
	run, err := Merge(shards, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Trials[0].ClientBound || !run.Trials[1].ClientBound || !run.Summary[0].ClientBound {
		t.Errorf("client-bound trials %v %v, summary %v; want trial 2 only", run.Trials[0].ClientBound, run.Trials[1].ClientBound, run.Summary[0].ClientBound)
	}
	want := "target at rate 400/s trial 2: the load generator of shard 1 (pod-b) may have been the bottleneck"
	if !slices.ContainsFunc(run.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
		t.Errorf("warnings %q lack %q", run.Warnings, want)
	}
}

func TestMergeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func([]Shard) []Shard
		is     error
		msg    string
	}{
		{"run id", func(s []Shard) []Shard { s[1].Run.Shard.RunID = "other"; return s }, ErrMismatch, `dir1 has run id "other" but dir0 has "20261130T200000Z-load" (allowed: shards of one run)`},
		{"scenario", func(s []Shard) []Shard { s[0].Run.Scenario.Name = "hello"; return s }, ErrMismatch, `dir2 has scenario "hello" but dir0 has "load" (allowed: shards of one scenario)`},
		{"commit", func(s []Shard) []Shard { s[0].Run.Env.GitCommit = "def456"; return s }, ErrMismatch, `dir2 has commit "def456" but dir0 has "abc123" (allowed: shards measured by one build)`},
		{"duration", func(s []Shard) []Shard { s[0].Run.Load.DurationS = 3; return s }, ErrMismatch, "has duration 3 but dir0 has 2"},
		{"levels", func(s []Shard) []Shard { s[0].Run.Shard.Levels = []int{800}; return s }, ErrMismatch, "unsharded levels"},
		{"count", func(s []Shard) []Shard { s[0].Run.Shard.Count = 4; return s }, ErrMismatch, "shard count"},
		{"duplicate", func(s []Shard) []Shard { s[0].Run.Shard.Index = 1; return s }, ErrMismatch, "are both shard 1 of 3 (allowed: each index once)"},
		{"missing", func(s []Shard) []Shard { return s[1:] }, ErrMissing, "shards 2 of 3 are missing from run 20261130T200000Z-load (given: 0, 1; allowed: all 3 shards, or --allow-missing"},
		{"not a shard", func(s []Shard) []Shard { s[1].Run.Shard = nil; return s }, ErrMismatch, "dir1: the shards do not belong to one run: not a shard"},
		{"no histogram", func(s []Shard) []Shard { s[1].Run.Trials[1].Histogram = nil; return s }, ErrNoHistogram, "dir1: a trial has no latency histogram: trial target/133/2 has 266 requests but histograms.hlog holds no histogram for it"},
		{"other shape", func(s []Shard) []Shard {
			s[1].Run.Trials[0].Histogram = hdrhistogram.New(1, 1e6, 2)
			return s
		}, ErrNoHistogram, "range 1..1000000ns at 2 digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.change(shardsOf(3, []int{400}, map[string][]int64{})), Options{})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Merge: %v\nwant %v containing %q", err, tc.is, tc.msg)
			}
		})
	}
}

func TestMergeAllowMissing(t *testing.T) {
	shards := shardsOf(3, []int{400}, map[string][]int64{})[1:] // shards 1 and 0
	shards[0].Run.Complete, shards[0].Run.Incomplete = false, "interrupted"
	run, err := Merge(shards, Options{AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || !strings.Contains(run.Incomplete, "shards 2 of 3 missing") || !strings.Contains(run.Incomplete, "shard 1 incomplete: interrupted") {
		t.Errorf("complete %v, incomplete %q", run.Complete, run.Incomplete)
	}
	if !slices.Equal(run.Shard.Missing, []int{2}) || !slices.Equal(run.Shard.Merged, []int{0, 1}) {
		t.Errorf("merged %v missing %v", run.Shard.Merged, run.Shard.Missing)
	}
	if tr := run.Trials[0]; tr.TargetRate != 267 || tr.Level != 400 {
		t.Errorf("target rate %g at level %d; want the two shards' 134+133 at level 400", tr.TargetRate, tr.Level)
	}
}

// TestReportShowsGenerators: the report of a merged run (report.Build,
// so the terminal, Markdown and HTML reports alike) has a table of the
// shards' load generators, one row per shard × trial; a shard's own run
// has none.
func TestReportShowsGenerators(t *testing.T) {
	shards := shardsOf(2, []int{401}, map[string][]int64{})
	shards[1].Run.Trials[0].ClientBound = true // shard 0, trial 1
	run, err := Merge(shards, Options{})
	if err != nil {
		t.Fatal(err)
	}
	generators := func(run *results.Run) []report.Table {
		var ts []report.Table
		for _, tb := range report.Build(run).Tables {
			if strings.Contains(tb.Title, "load generators") {
				ts = append(ts, tb)
			}
		}
		return ts
	}
	ts := generators(run)
	if len(ts) != 1 {
		t.Fatalf("%d generator tables in the report of a merged run, want 1", len(ts))
	}
	var b strings.Builder
	b.WriteString(ts[0].Title + "\n")
	if err := report.RenderTable(&b, ts[0]); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(ts[0].Notes, ts[0].Legend...) {
		b.WriteString("  " + n + "\n")
	}
	golden.Check(t, "testdata/generators.golden", []byte(b.String()))
	if ts := generators(shards[0].Run); len(ts) != 0 {
		t.Errorf("the report of one shard's run has a generator table: %q", ts[0].Title)
	}
}

// BenchmarkMerge merges 8 shards of a 4-level, 2-trial run (64 shard
// trials, each with its latency histogram).
func BenchmarkMerge(b *testing.B) {
	shards := shardsOf(8, []int{800, 1600, 3200, 6400}, map[string][]int64{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(shards, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
