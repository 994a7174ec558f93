package report

import (
	"reflect"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

// est is an Estimate of n trials with the interval [lo, hi]; with fewer
// than 6 trials it has no interval, as metrics.Estimate gives it.
func est(median, lo, hi float64, n int) results.Estimate {
	e := results.Estimate{Median: median, Lo: lo, Hi: hi, N: n, Min: lo, Max: hi, Confidence: 0.96875}
	if n < 6 {
		e.Lo, e.Hi, e.Confidence = median, median, 0
	}
	return e
}

// row is a summary row whose three ranked figures are given; the other
// figures stay zero (the verdict reads only these).
func row(server string, level int, tput, p99, cpu results.Estimate) results.Summary {
	return results.Summary{Server: server, Level: level, Trials: tput.N, Throughput: tput, P99Ms: p99, ServerCPUPerReqUs: cpu}
}

func verdictRun(mode string, rows ...results.Summary) *results.Run {
	run := &results.Run{Load: results.LoadInfo{Mode: mode}, Summary: rows}
	for _, s := range rows {
		for i := 1; i <= s.Trials; i++ {
			run.Trials = append(run.Trials, results.Trial{Server: s.Server, Level: s.Level, Trial: i, ClientBound: s.ClientBound && i == 1})
		}
	}
	return run
}

func TestVerdictLines(t *testing.T) {
	none := results.Estimate{N: 6, Confidence: 0.96875} // CPU not measured: median 0
	bound := func(s results.Summary) results.Summary { s.ClientBound = true; return s }
	tests := []struct {
		name string
		run  *results.Run
		want []string
	}{
		{
			name: "real and noise, against the best",
			run: verdictRun("closed",
				row("single", 8, est(1000, 980, 1020, 6), est(2.0, 1.9, 2.1, 6), est(40, 39, 41, 6)),
				row("prefork", 8, est(1500, 1450, 1550, 6), est(1.5, 1.45, 2.05, 6), est(42, 41.5, 43, 6)),
				row("pool", 8, est(1480, 1400, 1520, 6), est(3.0, 2.9, 3.1, 6), est(40, 39.5, 40.5, 6)),
			),
			want: []string{
				"concurrency 8  req/s       prefork 1500, pool 0.99× noise, single 0.67× real",
				"concurrency 8  p99 ms      prefork 1.50, single 1.33× noise, pool 2.00× real",
				"concurrency 8  cpu/req µs  single 40.0, pool 1.00× noise, prefork 1.05× real",
			},
		},
		{
			name: "ties keep the run's order",
			run: verdictRun("closed",
				row("a", 1, est(500, 480, 520, 6), est(1, 0.9, 1.1, 6), est(10, 9, 11, 6)),
				row("b", 1, est(500, 490, 510, 6), est(1, 0.95, 1.05, 6), est(10, 9.5, 10.5, 6)),
				row("c", 1, est(500, 500, 500, 2), est(1, 1, 1, 2), est(10, 10, 10, 2)),
			),
			want: []string{
				"concurrency 1  req/s       a 500, b 1.00× noise, c 1.00× tied",
				"concurrency 1  p99 ms      a 1.00, b 1.00× noise, c 1.00× tied",
				"concurrency 1  cpu/req µs  a 10.0, b 1.00× noise, c 1.00× tied",
			},
		},
		{
			name: "too few trials: said once, no word per server",
			run: verdictRun("open",
				row("single", 500, est(480, 0, 0, 2), est(4, 0, 0, 2), est(40, 0, 0, 2)),
				row("pool", 500, est(500, 0, 0, 3), est(3, 0, 0, 3), est(46, 0, 0, 3)),
			),
			want: []string{
				"rate 500/s  req/s       pool 500, single 0.96×",
				"rate 500/s  p99 ms      pool 3.00, single 1.33×",
				"rate 500/s  cpu/req µs  single 40.0, pool 1.15×",
				"not proven: 2–3 trials per server, too few for a 95% interval (6 needed); the order may be noise",
			},
		},
		{
			name: "too few trials at one level only: said on its lines",
			run: verdictRun("closed",
				row("a", 1, est(900, 880, 920, 6), est(1, 0.9, 1.1, 6), est(10, 9, 11, 6)),
				row("b", 1, est(800, 780, 820, 6), est(1.05, 1, 1.2, 6), est(12, 11.5, 12.5, 6)),
				row("a", 2, est(900, 0, 0, 2), est(1, 0, 0, 2), est(10, 0, 0, 2)),
				row("b", 2, est(800, 0, 0, 2), est(109.3, 0, 0, 2), est(12, 0, 0, 2)),
			),
			want: []string{
				"concurrency 1  req/s       a 900, b 0.89× real",
				"concurrency 1  p99 ms      a 1.00, b 1.05× noise",
				"concurrency 1  cpu/req µs  a 10.0, b 1.20× real",
				"concurrency 2  req/s       a 900, b 0.89× (2 trials: too few for a 95% interval, 6 needed; the order may be noise)",
				"concurrency 2  p99 ms      a 1.00, b 109× (2 trials: too few for a 95% interval, 6 needed; the order may be noise)",
				"concurrency 2  cpu/req µs  a 10.0, b 1.20× (2 trials: too few for a 95% interval, 6 needed; the order may be noise)",
			},
		},
		{
			name: "an interval on one side only",
			run: verdictRun("closed",
				row("a", 4, est(900, 880, 920, 6), est(1, 0.9, 1.1, 6), est(10, 9, 11, 6)),
				row("b", 4, est(800, 0, 0, 1), est(1.2, 0, 0, 1), est(12, 0, 0, 1)),
			),
			want: []string{
				"concurrency 4  req/s       a 900, b 0.89× (no interval)",
				"concurrency 4  p99 ms      a 1.00, b 1.20× (no interval)",
				"concurrency 4  cpu/req µs  a 10.0, b 1.20× (no interval)",
			},
		},
		{
			name: "missing CPU, client-bound, two levels in ascending order",
			run: verdictRun("closed",
				row("node", 64, est(900, 850, 950, 6), est(5, 4.5, 5.5, 6), none),
				row("go", 64, est(2000, 1900, 2100, 6), est(3, 2.8, 3.2, 6), est(30, 29, 31, 6)),
				bound(row("node", 8, est(700, 650, 750, 6), est(2, 1.8, 2.2, 6), none)),
				bound(row("go", 8, est(800, 780, 820, 6), est(1, 0.9, 1.1, 6), none)),
			),
			want: []string{
				"concurrency 8   req/s       go 800 (C), node 0.88× real (C)",
				"concurrency 8   p99 ms      go 1.00 (C), node 2.00× real (C)",
				"concurrency 8   cpu/req µs  not measured",
				"concurrency 64  req/s       go 2000, node 0.45× real",
				"concurrency 64  p99 ms      go 3.00, node 1.67× real",
				"concurrency 64  cpu/req µs  go 30.0; not measured: node",
				"(C) client-bound, the server may be faster than shown: node at concurrency 8 (1 of 6 trials), go at concurrency 8 (1 of 6 trials)",
			},
		},
		{
			name: "a single server: its figures, nothing ranked",
			run: verdictRun("open",
				row("prefork", 500, est(505, 500, 510, 2), est(0.7, 0.69, 0.71, 2), est(40, 40, 40, 2)),
				bound(row("prefork", 2000, est(1700, 0, 0, 1), est(15.8, 0, 0, 1), none)),
			),
			want: []string{
				"rate 500/s: prefork alone: req/s 505 ~1.0%, p99 ms 0.700 ~1.4%, cpu/req µs 40.0 ~0.0%",
				"rate 2000/s: prefork alone: req/s 1700, p99 ms 15.8, cpu/req µs not measured (C)",
				"(C) client-bound, the server may be faster than shown: prefork at rate 2000/s (1 of 1 trials)",
			},
		},
		{
			name: "nothing succeeded anywhere: no ratio",
			run: verdictRun("closed",
				row("a", 1, est(0, 0, 0, 6), est(0, 0, 0, 6), none),
				row("b", 1, est(0, 0, 0, 6), est(0, 0, 0, 6), none),
			),
			want: []string{
				"concurrency 1  req/s       a 0.0, b - noise",
				"concurrency 1  p99 ms      not measured",
				"concurrency 1  cpu/req µs  not measured",
			},
		},
		{
			name: "errors marked where they are: a fast failure can win on latency",
			run: func() *results.Run {
				r := verdictRun("closed",
					row("a", 1, est(900, 880, 920, 6), est(1, 0.9, 1.1, 6), est(10, 9, 11, 6)),
					row("b", 1, est(800, 780, 820, 6), est(0.2, 0.1, 0.3, 6), est(12, 11.5, 12.5, 6)),
				)
				r.Summary[0].SuccessRatio = est(1, 1, 1, 6)
				r.Summary[1].SuccessRatio = results.Estimate{Median: 0.5, Lo: 0.4, Hi: 0.6, Min: 0.3, Max: 0.7, N: 6, Confidence: 0.96875}
				return r
			}(),
			want: []string{
				"concurrency 1  req/s       a 900, b 0.89× real (E)",
				"concurrency 1  p99 ms      b 0.200 (E), a 5.00× real",
				"concurrency 1  cpu/req µs  a 10.0, b 1.20× real (E)",
			},
		},
		{name: "no measurements", run: verdictRun("closed"), want: nil},
	}
	for _, tt := range tests {
		v := VerdictOf(tt.run)
		if got := v.Lines(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

// TestVerdictModel checks the model a renderer other than Lines (the HTML
// report) reads: ranks, ratios, differences, missing figures.
func TestVerdictModel(t *testing.T) {
	run := verdictRun("closed",
		row("single", 8, est(1000, 980, 1020, 6), est(2.0, 1.9, 2.1, 6), results.Estimate{N: 6}),
		row("prefork", 8, est(1500, 1450, 1550, 6), est(1.5, 1.45, 2.05, 6), est(42, 41, 43, 6)),
	)
	run.Summary[0].ClientBound = true
	run.Trials[0].ClientBound = true
	v := VerdictOf(run)
	if len(v.Levels) != 1 || v.Levels[0].Level != 8 || len(v.Levels[0].Rankings) != 3 {
		t.Fatalf("levels %+v; want level 8 with three rankings", v.Levels)
	}
	tput, p99, cpu := v.Levels[0].Rankings[0], v.Levels[0].Rankings[1], v.Levels[0].Rankings[2]
	if tput.Metric != MetricThroughput || !tput.HigherIsBetter || p99.HigherIsBetter || cpu.Metric != MetricCPU {
		t.Errorf("ranking metrics %v %v %v", tput.Metric, p99.Metric, cpu.Metric)
	}
	want := []Ranked{
		{Server: "prefork", Estimate: run.Summary[1].Throughput, Ratio: 1, Versus: Best},
		{Server: "single", Estimate: run.Summary[0].Throughput, Ratio: 1000.0 / 1500, Versus: Real, ClientBound: true},
	}
	if !reflect.DeepEqual(tput.Entries, want) {
		t.Errorf("throughput entries\n%+v\nwant\n%+v", tput.Entries, want)
	}
	if p99.Entries[1].Versus != Noise || p99.Entries[1].Server != "single" {
		t.Errorf("p99: %+v; want single second, within noise", p99.Entries)
	}
	if len(cpu.Entries) != 1 || !reflect.DeepEqual(cpu.Missing, []string{"single"}) {
		t.Errorf("cpu: entries %+v, missing %v; want prefork ranked, single missing", cpu.Entries, cpu.Missing)
	}
	if !reflect.DeepEqual(v.ClientBound, []BoundPoint{{Server: "single", Level: 8, Bound: 1, Trials: 6}}) {
		t.Errorf("client-bound %+v", v.ClientBound)
	}
	if l := v.Legend(); len(l) != 2 {
		t.Errorf("legend %q; want two lines", l)
	}
	if l := VerdictOf(verdictRun("closed", run.Summary[0])).Legend(); l != nil {
		t.Errorf("legend %q for a single server: nothing is ranked, nothing to explain", l)
	}
}
