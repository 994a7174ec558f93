package calcreport

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/servers/calc"
)

// sample is a fixed report set covering every part of the output: a
// process pool with a crash, an in-process model, and wrong results.
func sample() []calc.Report {
	return []calc.Report{
		{
			Model: "goroutine", Kind: "fibonacci", N: 27, Tasks: 1000, Workers: 2, Trials: 3, GOMAXPROCS: 2,
			TasksPerS: calc.Estimate{Median: 2500, Min: 2400, Max: 2600},
			P50Ms:     calc.Estimate{Median: 0.8, Min: 0.79, Max: 0.81}, P99Ms: calc.Estimate{Median: 1.25, Min: 1.2, Max: 1.3},
			ComputeUs: 799.5, Checked: 3000,
			Shares: []calc.WorkerShare{{Worker: 0, Pids: []int{100}, Tasks: 1510, Share: 0.5033, BusyMs: 1207.2, BusyRatio: 0.99},
				{Worker: 1, Pids: []int{100}, Tasks: 1490, Share: 0.4967, BusyMs: 1190.1, BusyRatio: 0.98}},
		},
		{
			Model: "process", Kind: "sum", N: 1, Tasks: 100000, Workers: 2, Inflight: 64, Trials: 2, GOMAXPROCS: 2,
			TasksPerS: calc.Estimate{Median: 1900000, Min: 1800000, Max: 2000000},
			P50Ms:     calc.Estimate{Median: 0.049}, P99Ms: calc.Estimate{Median: 0.216},
			ComputeUs: 0.17, IPCUs: 0.85, Checked: 200000, Mismatches: 1,
			FirstMismatch: "trial 2 task 7 (sum n=1): got 2, want 1",
			Shares: []calc.WorkerShare{{Worker: 0, Pids: []int{201, 205}, Tasks: 99000, Share: 0.495, BusyMs: 17, BusyRatio: 0.16},
				{Worker: 1, Pids: []int{202}, Tasks: 101000, Share: 0.505, BusyMs: 17.5, BusyRatio: 0.165}},
			Crashes: []calc.Crash{{Worker: 0, Pid: 201, Reason: "results pipe closed; worker signal: killed", Requeued: 63, Restarted: true, NewPid: 205}},
		},
	}
}

// efficiencySample is the goroutine model at 1 and 2 workers, three
// interleaved trials each.
func efficiencySample() []calc.Report {
	mk := func(workers int, tps ...float64) calc.Report {
		r := calc.Report{Model: "goroutine", Kind: "fibonacci", N: 27, Tasks: 100, Workers: workers, Trials: len(tps)}
		for i, v := range tps {
			r.TrialResults = append(r.TrialResults, calc.TrialResult{Trial: i + 1, TasksPerS: v})
		}
		r.TasksPerS = calc.EstimateOf(tps)
		return r
	}
	return []calc.Report{mk(1, 1000, 800, 1200), mk(2, 1900, 1600, 2000)}
}

func TestEfficiencies(t *testing.T) {
	got := Efficiencies(efficiencySample())
	// Ratios per trial: 0.95, 1.00, 0.8333.
	if len(got) != 1 || got[0].Workers != 2 || got[0].Median != 0.95 || got[0].Min < 0.833 || got[0].Min > 0.834 || got[0].Max != 1 {
		t.Fatalf("efficiencies = %+v, want one, median 0.95, min 0.833, max 1", got)
	}
	if e := Efficiencies(sample()); len(e) != 0 {
		t.Errorf("no 1-worker baseline, yet efficiencies %+v", e)
	}
	var b bytes.Buffer
	if err := Text(&b, efficiencySample()...); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "efficiency.golden", b.Bytes())
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, sample()...); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "text.golden", b.Bytes())
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, Env{CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26.8", LoadAvg: "0.50 0.40 0.30", Args: []string{"clusterbench", "calc"}}, sample()...); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "json.golden", b.Bytes())
	var back struct{ Calc []calc.Report }
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Calc) != 2 || back.Calc[1].Crashes[0].NewPid != 205 || back.Calc[1].IPCUs != 0.85 {
		t.Errorf("JSON does not round-trip: %+v", back.Calc)
	}
}
