package calcbatch

import (
	"fmt"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/servers/calc"
	"github.com/clusterbench/clusterbench/servers/workload"
)

// accumulator folds a batch's trials: adding one is a pass over its
// results; finish computes the summary.
type accumulator struct {
	hist       *hdrhistogram.Histogram
	trials     []results.CalcTrial
	workers    []results.CalcWorker
	crashes    []calc.Crash
	wallNs     int64
	computeNs  int64
	checked    int64
	mismatches int64
	first      string
}

// Latencies are recorded in nanoseconds, 3 significant digits, up to an hour.
const maxLatencyNs = int64(time.Hour)

func newAccumulator(workers int) *accumulator {
	a := &accumulator{hist: hdrhistogram.New(1, maxLatencyNs, 3), workers: make([]results.CalcWorker, workers)}
	for i := range a.workers {
		a.workers[i].Worker = i
	}
	return a
}

// add checks and tallies one trial's results.
func (a *accumulator) add(trial int, wall time.Duration, crashes int, tasks []calc.Task, out []calc.Result, want map[workload.Kind]string) {
	a.hist.Reset()
	tr := results.CalcTrial{Trial: trial, DurationS: wall.Seconds(), Crashes: crashes}
	if wall > 0 {
		tr.TasksPerS = float64(len(tasks)) / wall.Seconds()
	}
	a.wallNs += wall.Nanoseconds()
	for i := range out {
		r := &out[i]
		a.checked++
		bad := ""
		switch {
		case !r.Done:
			bad = "no result"
		case r.Err != "":
			bad = "error: " + r.Err
		case r.Value != want[tasks[i].Kind]:
			bad = fmt.Sprintf("got %s, want %s", clip(r.Value), clip(want[tasks[i].Kind]))
		}
		if bad != "" {
			tr.Mismatches++
			a.mismatches++
			if a.first == "" {
				a.first = fmt.Sprintf("trial %d task %d (%s n=%d): %s", trial, i, tasks[i].Kind, tasks[i].N, bad)
			}
			if !r.Done {
				continue
			}
		}
		_ = a.hist.RecordValue(min(max(r.LatencyNs, 1), maxLatencyNs))
		a.computeNs += r.ComputeNs
		if r.Worker >= 0 && r.Worker < len(a.workers) {
			w := &a.workers[r.Worker]
			w.Tasks++
			w.BusyMs += float64(r.ComputeNs) / 1e6
			if !slices.Contains(w.Pids, r.Pid) {
				w.Pids = append(w.Pids, r.Pid)
			}
		}
	}
	tr.P50Ms = float64(a.hist.ValueAtQuantile(50)) / 1e6
	tr.P99Ms = float64(a.hist.ValueAtQuantile(99)) / 1e6
	a.trials = append(a.trials, tr)
}

// finish fills r's trials, estimates, shares, crashes and checks.
func (a *accumulator) finish(r *results.CalcResult) {
	r.Trials = len(a.trials)
	r.TrialResults = slices.Clone(a.trials)
	var tps, p50, p99 []float64
	for _, t := range a.trials {
		tps, p50, p99 = append(tps, t.TasksPerS), append(p50, t.P50Ms), append(p99, t.P99Ms)
	}
	r.TrialTasksPerS = tps
	r.TasksPerS, r.P50Ms, r.P99Ms = metrics.Estimate(tps), metrics.Estimate(p50), metrics.Estimate(p99)
	var total int64
	for _, w := range a.workers {
		total += w.Tasks
	}
	r.WorkerShares = make([]results.CalcWorker, len(a.workers))
	for i, w := range a.workers {
		w.Pids = slices.Sorted(slices.Values(w.Pids))
		if total > 0 {
			w.Share = float64(w.Tasks) / float64(total)
		}
		if a.wallNs > 0 {
			w.BusyRatio = w.BusyMs * 1e6 / float64(a.wallNs)
		}
		r.WorkerShares[i] = w
	}
	if total > 0 {
		r.ComputeUs = float64(a.computeNs) / float64(total) / 1e3
	}
	r.Crashes = nil
	for _, c := range a.crashes {
		r.Crashes = append(r.Crashes, results.CalcCrash{Worker: c.Worker, Pid: c.Pid, Reason: c.Reason,
			Requeued: c.Requeued, Restarted: c.Restarted, NewPid: c.NewPid})
	}
	r.Checked, r.Mismatches, r.FirstMismatch = a.checked, a.mismatches, a.first
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return fmt.Sprintf("%s…%s (%d digits)", s[:16], s[len(s)-16:], len(s))
}
