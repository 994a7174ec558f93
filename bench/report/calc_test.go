package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/internal/golden"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// calcFixture is the closed fixture with two hand-made calc batches (every
// number invented), one with a crash and a wrong result.
func calcFixture() *results.Run {
	run := closedFixture()
	run.Calc = []results.CalcResult{
		{
			Name: "goroutine2-fibonacci-27", Model: "goroutine", Workers: 2, Kind: "fibonacci", N: 27, Tasks: 2000, Trials: 3,
			TasksPerS: results.Estimate{Median: 2500, Min: 2400, Max: 2600, Lo: 2500, Hi: 2500, N: 3},
			P50Ms:     results.Estimate{Median: 0.8, N: 3}, P99Ms: results.Estimate{Median: 1.25, N: 3},
			ComputeUs: 799.5, TrialTasksPerS: []float64{2400, 2500, 2600}, Checked: 6000,
			WorkerShares: []results.CalcWorker{{Worker: 0, Pids: []int{100}, Tasks: 3010, Share: 0.5017, BusyMs: 2406, BusyRatio: 0.99},
				{Worker: 1, Pids: []int{100}, Tasks: 2990, Share: 0.4983, BusyMs: 2390, BusyRatio: 0.98}},
		},
		{
			Name: "process2-sum-1", Model: "process", Workers: 2, Inflight: 64, Kind: "sum", N: 1, Tasks: 100000, Trials: 3,
			TasksPerS: results.Estimate{Median: 1900000, Min: 1800000, Max: 2000000, Lo: 1900000, Hi: 1900000, N: 3},
			P50Ms:     results.Estimate{Median: 0.049, N: 3}, P99Ms: results.Estimate{Median: 0.216, N: 3},
			ComputeUs: 0.17, IPCUs: 0.85, TrialTasksPerS: []float64{1800000, 1900000, 2000000}, Checked: 300000, Mismatches: 1,
			FirstMismatch: "trial 2 task 7 (sum n=1): got 2, want 1",
			WorkerShares: []results.CalcWorker{{Worker: 0, Pids: []int{201, 205}, Tasks: 149000, Share: 0.4967, BusyMs: 25, BusyRatio: 0.16},
				{Worker: 1, Pids: []int{202}, Tasks: 151000, Share: 0.5033, BusyMs: 26, BusyRatio: 0.165}},
			Crashes: []results.CalcCrash{{Worker: 0, Pid: 201, Reason: "results pipe closed; worker signal: killed", Requeued: 63, Restarted: true, NewPid: 205}},
		},
	}
	return run
}

func TestCalcGolden(t *testing.T) {
	run := calcFixture()
	var b bytes.Buffer
	if err := Text(run)(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	i := strings.Index(text, "calc batches")
	if i < 0 {
		t.Fatalf("no calc tables in:\n%s", text)
	}
	for n, line := range strings.Split(text, "\n") {
		if (strings.HasPrefix(line, "+") || strings.HasPrefix(line, "|")) && len([]rune(line)) > 100 {
			t.Errorf("line %d is %d columns wide: %s", n+1, len([]rune(line)), line)
		}
	}
	// Only the calc tables: the rest belongs to the fixture's own goldens.
	start := strings.LastIndex(text[:i], "\n") + 1
	golden.Check(t, filepath.Join("testdata", "calc.table.golden"), []byte(text[start:]))
	b.Reset()
	if err := CalcCSV(run)(&b); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "calc.csv.golden"), b.Bytes())
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 3 || len(rows[0]) != len(CalcColumns) || rows[2][9] != "1900000.0" || rows[2][16] != "1" || rows[2][19] != "1900000.0" {
		t.Errorf("calc.csv rows %v, %v", rows, err)
	}
}

func TestWriteRunCalcFile(t *testing.T) {
	dir, err := WriteRun(t.TempDir(), calcFixture())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, CalcFile)); err != nil {
		t.Errorf("run with calc batches: %v", err)
	}
	back, err := ReadRun(dir)
	if err != nil || len(back.Calc) != 2 || back.Calc[1].Crashes[0].NewPid != 205 {
		t.Fatalf("read back: %v, %+v", err, back)
	}
	dir, err = WriteRun(t.TempDir(), closedFixture())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, CalcFile)); !os.IsNotExist(err) {
		t.Errorf("run without calc batches has %s (%v)", CalcFile, err)
	}
}

// efficiencyFixture is the goroutine model at 1 and 2 workers, three
// interleaved trials each (every number invented).
func efficiencyFixture() []results.CalcResult {
	mk := func(workers int, tps ...float64) results.CalcResult {
		return results.CalcResult{Name: fmt.Sprintf("goroutine%d-fibonacci-27", workers), Model: "goroutine", Kind: "fibonacci",
			N: 27, Tasks: 100, Workers: workers, Trials: len(tps), TrialTasksPerS: tps, TasksPerS: metrics.Estimate(tps),
			Checked: int64(100 * len(tps))}
	}
	return []results.CalcResult{mk(1, 1000, 800, 1200), mk(2, 1900, 1600, 2000)}
}

func TestCalcEfficiencies(t *testing.T) {
	got := CalcEfficiencies(efficiencyFixture())
	// Ratios per trial: 0.95, 1.00, 0.8333.
	if len(got) != 1 {
		t.Fatalf("efficiencies = %+v, want one", got)
	}
	e := got[0]
	if e.Batch != "goroutine2-fibonacci-27" || e.Against != "goroutine1-fibonacci-27" || e.Workers != 2 ||
		e.Efficiency.Median != 0.95 || e.Efficiency.Min < 0.833 || e.Efficiency.Min > 0.834 || e.Efficiency.Max != 1 || e.Efficiency.N != 3 {
		t.Errorf("efficiency = %+v, want goroutine2 against goroutine1, median 0.95, min 0.833, max 1, n 3", e)
	}
	if e := CalcEfficiencies(calcFixture().Calc); len(e) != 0 {
		t.Errorf("no 1-worker baseline, yet efficiencies %+v", e)
	}
	// Trials that cannot be paired (different counts) give none.
	fx := efficiencyFixture()
	fx[1].TrialTasksPerS = fx[1].TrialTasksPerS[:2]
	if e := CalcEfficiencies(fx); len(e) != 0 {
		t.Errorf("unpaired trials, yet efficiencies %+v", e)
	}
	var b bytes.Buffer
	if err := WriteText(&b, Document{Title: "clusterbench calc", Tables: CalcTables("", efficiencyFixture())}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "calc-efficiency.table.golden"), b.Bytes())
}
