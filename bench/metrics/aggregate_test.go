package metrics

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestEstimate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		in   []float64
		want results.Estimate
	}{
		{"none", nil, results.Estimate{}},
		{"only non-finite", []float64{nan, inf, -inf}, results.Estimate{}},
		{"n=1", []float64{5}, results.Estimate{Median: 5, Lo: 5, Hi: 5, N: 1, Min: 5, Max: 5}},
		{"n=2 median is the mean", []float64{3, 1}, results.Estimate{Median: 2, Lo: 2, Hi: 2, N: 2, Min: 1, Max: 3}},
		{"n=3 no interval yet", []float64{30, 10, 20}, results.Estimate{Median: 20, Lo: 20, Hi: 20, N: 3, Min: 10, Max: 30}},
		{"n=5 still no interval", []float64{5, 4, 3, 2, 1}, results.Estimate{Median: 3, Lo: 3, Hi: 3, N: 5, Min: 1, Max: 5}},
		// 6 values: the 1st and 6th order statistics, coverage 1-2/2⁶.
		{"n=6 first interval", []float64{6, 5, 4, 3, 2, 1}, results.Estimate{Median: 3.5, Lo: 1, Hi: 6, N: 6, Min: 1, Max: 6, Confidence: 1 - 2.0/64}},
		// 10 values: the 2nd and 9th order statistics, coverage 1-2·11/1024.
		{"n=10", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, results.Estimate{Median: 5.5, Lo: 2, Hi: 9, N: 10, Min: 1, Max: 10, Confidence: 1 - 22.0/1024}},
		{"non-finite ignored", []float64{nan, 4, inf}, results.Estimate{Median: 4, Lo: 4, Hi: 4, N: 1, Min: 4, Max: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := Estimate(in)
			if !estimateClose(got, tt.want) {
				t.Errorf("Estimate(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] && !(math.IsNaN(in[i]) && math.IsNaN(tt.in[i])) {
					t.Fatalf("Estimate modified its input: %v, was %v", in, tt.in)
				}
			}
		})
	}
}

// TestEstimateAt: a higher level needs more values for an interval
// (at 99%, 6 values are too few: the 1st and 6th order statistics cover
// the median with probability 0.969 only), and below that the estimate
// is not Bounded, as at 95%.
func TestEstimateAt(t *testing.T) {
	six := []float64{6, 5, 4, 3, 2, 1}
	if e := EstimateAt(six, 0.99); e.Bounded() || e.Lo != 3.5 || e.Hi != 3.5 || e.N != 6 || e.Min != 1 || e.Max != 6 {
		t.Errorf("EstimateAt(6 values, 0.99) = %+v, want no interval", e)
	}
	if e := EstimateAt(six, 0.95); !e.Bounded() || !estimateClose(e, Estimate(six)) {
		t.Errorf("EstimateAt(6 values, 0.95) = %+v, want Estimate's %+v", e, Estimate(six))
	}
	ten := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	// 10 values at 99%: the 1st and 10th order statistics, coverage 1-2/1024.
	want := results.Estimate{Median: 5.5, Lo: 1, Hi: 10, N: 10, Min: 1, Max: 10, Confidence: 1 - 2.0/1024}
	if e := EstimateAt(ten, 0.99); !e.Bounded() || !estimateClose(e, want) {
		t.Errorf("EstimateAt(10 values, 0.99) = %+v, want %+v", e, want)
	}
}

func estimateClose(a, b results.Estimate) bool {
	return a.N == b.N && close(a.Median, b.Median) && close(a.Lo, b.Lo) && close(a.Hi, b.Hi) &&
		close(a.Min, b.Min) && close(a.Max, b.Max) && close(a.Confidence, b.Confidence)
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

func TestExpectedWorkers(t *testing.T) {
	tests := []struct {
		s    results.Server
		want int
	}{
		{results.Server{Model: "single", Workers: 8}, 1},
		{results.Server{Model: "pool", Workers: 4}, 4},
		{results.Server{Model: "prefork", Workers: 2}, 2},
		{results.Server{Model: "prefork", Workers: -1}, 0},
		{results.Server{Command: []string{"node", "cluster.js"}}, 0},
	}
	for _, tt := range tests {
		if got := ExpectedWorkers(tt.s); got != tt.want {
			t.Errorf("ExpectedWorkers(%+v) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func trial(server string, level, n int, tput, p99 float64, ws ...results.Worker) results.Trial {
	return results.Trial{
		Server: server, Level: level, Trial: n, Throughput: tput, AchievedRate: tput,
		SuccessRatio: 1, Latency: results.Latency{P50Ms: p99 / 2, P90Ms: p99 * 0.9, P99Ms: p99, P999Ms: p99 * 2, MaxMs: p99 * 3},
		ServerCPUPerReqUs: 10, ClientCPUUtil: 0.5, Workers: ws,
	}
}

func TestSummarize(t *testing.T) {
	w := func(id string, req int64) results.Worker {
		return results.Worker{ID: id, Pids: []int{100}, Requests: req, Connections: 1, P50Ms: 1, P99Ms: 2}
	}
	trials := []results.Trial{
		trial("pool", 1, 1, 100, 4, w("0", 60), w("1", 40)),
		trial("prefork", 1, 1, 300, 2, w("0", 300)),
		trial("pool", 1, 2, 300, 8, w("0", 60), w("1", 40)),
		trial("pool", 8, 1, 900, 1),
		trial("pool", 1, 3, 200, 6, w("0", 80), w("1", 120)),
	}
	trials[1].ClientBound = true
	trials[2].RateShortfall = true
	servers := []results.Server{{Name: "pool", Model: "pool", Workers: 2}, {Name: "prefork", Model: "prefork", Workers: 2}}

	got := Summarize(trials, servers)
	var keys []string
	for _, s := range got {
		keys = append(keys, s.Server+"/"+string(rune('0'+s.Level)))
	}
	if want := []string{"pool/1", "prefork/1", "pool/8"}; !slices.Equal(keys, want) {
		t.Fatalf("summary order = %v, want %v (first appearance)", keys, want)
	}
	pool := got[0]
	if pool.Trials != 3 || pool.Throughput.Median != 200 || pool.Throughput.Min != 100 || pool.Throughput.Max != 300 {
		t.Errorf("pool/1 throughput = %+v over %d trials, want median 200 of 100..300 over 3", pool.Throughput, pool.Trials)
	}
	if pool.P99Ms.Median != 6 || pool.P50Ms.Median != 3 || pool.MaxMs.Median != 18 || pool.P999Ms.Median != 12 {
		t.Errorf("pool/1 latency = p50 %v p99 %v p99.9 %v max %v, want 3, 6, 12, 18", pool.P50Ms.Median, pool.P99Ms.Median, pool.P999Ms.Median, pool.MaxMs.Median)
	}
	if !pool.RateShortfall || pool.ClientBound {
		t.Errorf("pool/1 flags: shortfall %v client-bound %v, want true false", pool.RateShortfall, pool.ClientBound)
	}
	if len(pool.Workers) != 2 || pool.Workers[0].Requests != 200 || pool.Workers[1].Requests != 200 || pool.Workers[0].Connections != 3 {
		t.Errorf("pool/1 workers = %+v, want 2 workers with 200 requests and 3 connections each", pool.Workers)
	}
	if pool.Fairness != (results.Fairness{Workers: 2, MaxOverMean: 1, Jain: 1}) {
		t.Errorf("pool/1 fairness = %+v, want perfectly even", pool.Fairness)
	}
	pf := got[1]
	// One of two expected children answered everything.
	if !pf.ClientBound || pf.Fairness.Workers != 1 || pf.Fairness.MaxOverMean != 2 || pf.Fairness.Jain != 0.5 {
		t.Errorf("prefork/1 = client-bound %v fairness %+v, want true {1 2 0.5}", pf.ClientBound, pf.Fairness)
	}
	if p8 := got[2]; p8.Trials != 1 || len(p8.Workers) != 0 || p8.Fairness != (results.Fairness{}) {
		t.Errorf("pool/8 = %+v, want one trial, no workers, zero fairness", p8)
	}
	if s := Summarize(nil, nil); len(s) != 0 {
		t.Errorf("Summarize(nil) = %v, want empty", s)
	}
}

func TestSummarizeUnknownServerCountsSeenWorkers(t *testing.T) {
	got := Summarize([]results.Trial{trial("node", 1, 1, 10, 1, results.Worker{ID: "1", Requests: 30}, results.Worker{ID: "2", Requests: 10})}, nil)
	want := results.Fairness{Workers: 2, MaxOverMean: 1.5, Jain: 0.8}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Fairness, want) {
		t.Fatalf("fairness = %+v, want %+v", got, want)
	}
}

// TestSummarizeLeavesOutCutTrials: a trial cut short by an interruption
// does not enter the medians when whole trials exist; when every trial
// was cut, the figures are theirs and say so.
func TestSummarizeLeavesOutCutTrials(t *testing.T) {
	tr := func(n int, rps float64, cut bool) results.Trial {
		return results.Trial{Server: "s", Level: 1, Trial: n, Throughput: rps, SuccessRatio: 1, Cut: cut}
	}
	s := Summarize([]results.Trial{tr(1, 100, false), tr(2, 110, false), tr(3, 7, true)}, nil)[0]
	if s.Trials != 2 || s.CutTrials != 1 || s.OnlyCut || s.Throughput.Median != 105 {
		t.Errorf("two whole trials and a cut one: trials %d, cut %d, only cut %v, median %v; want 2, 1, false, 105",
			s.Trials, s.CutTrials, s.OnlyCut, s.Throughput.Median)
	}
	s = Summarize([]results.Trial{tr(1, 7, true)}, nil)[0]
	if s.Trials != 1 || s.CutTrials != 1 || !s.OnlyCut || s.Throughput.Median != 7 {
		t.Errorf("only a cut trial: trials %d, cut %d, only cut %v, median %v; want 1, 1, true, 7",
			s.Trials, s.CutTrials, s.OnlyCut, s.Throughput.Median)
	}
	if got := Measured([]results.Trial{tr(1, 1, true), tr(2, 2, false)}); len(got) != 1 || got[0].Trial != 2 {
		t.Errorf("Measured = %+v, want trial 2 only", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5}, // the mean of the middle two
		{[]float64{-1, -1, 5}, -1},
	} {
		in := slices.Clone(tt.in)
		if got := Median(in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("Median modified its input: %v, was %v", in, tt.in)
		}
	}
	for _, none := range [][]float64{nil, {}} {
		if got := Median(none); !math.IsNaN(got) {
			t.Errorf("Median(%#v) = %v, want NaN for no values", none, got)
		}
	}
}
