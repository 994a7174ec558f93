package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// CalcFile is the CSV of a run's calc batches (written only when it has some).
const CalcFile = "calc.csv"

// CalcColumns are the columns of calc.csv, one row per calc batch (stable,
// append only). tasks_per_s is the median across trials; ipc_us is the
// process pool's wall time per no-op task; tasks_per_s_lo and _hi are the
// 95% confidence interval of the median (equal to it below 6 trials).
// Numbers are plain decimals at a precision per unit, as in summary.csv.
var CalcColumns = []string{
	"scenario", "name", "model", "workers", "inflight", "kind", "n", "tasks", "trials",
	"tasks_per_s", "tasks_per_s_min", "tasks_per_s_max", "p50_ms", "p99_ms", "compute_us", "ipc_us",
	"crashes", "checked", "mismatches", "tasks_per_s_lo", "tasks_per_s_hi",
}

// CalcTable is calc.csv as a Table of raw numbers.
func CalcTable(run *results.Run) Table {
	t := Table{Header: CalcColumns}
	for _, c := range run.Calc {
		t.Rows = append(t.Rows, []string{
			run.Scenario.Name, c.Name, c.Model, strconv.Itoa(c.Workers), strconv.Itoa(c.Inflight), c.Kind,
			strconv.FormatInt(c.N, 10), strconv.Itoa(c.Tasks), strconv.Itoa(c.Trials),
			csvRate(c.TasksPerS.Median), csvRate(c.TasksPerS.Min), csvRate(c.TasksPerS.Max), csvMs(c.P50Ms.Median), csvMs(c.P99Ms.Median),
			csvUs(c.ComputeUs), csvUs(c.IPCUs), strconv.Itoa(len(c.Crashes)),
			strconv.FormatInt(c.Checked, 10), strconv.FormatInt(c.Mismatches, 10),
			csvRate(c.TasksPerS.Lo), csvRate(c.TasksPerS.Hi),
		})
	}
	return t
}

// CalcCSV writes calc.csv.
func CalcCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, CalcTable(run)) }
}

// CalcTables are the human-readable tables of calc batches, the one
// rendering `clusterbench calc` and a run's report share: what each batch
// ran, its throughput and latency, the per-worker distribution (three
// tables, so that each fits 100 columns), and the parallel efficiency
// when a batch has a 1-worker counterpart (CalcEfficiencies). A prefix
// (the scenario's name) starts every title.
func CalcTables(prefix string, cs []results.CalcResult) []Table {
	if len(cs) == 0 {
		return nil
	}
	if prefix != "" {
		prefix += ": "
	}
	setup := Table{
		Title:  prefix + "calc batches (a master hands tasks to workers)",
		Header: []string{"batch", "model", "workers", "task", "tasks", "trials"},
		Align:  []Align{Left, Left, Right, Left, Right, Right},
		Notes:  []string{"k: tasks in flight per worker process (credits). tasks: per trial."},
	}
	sum := Table{
		Title:  prefix + "calc throughput and latency",
		Header: []string{"batch", "tasks/s", "p50 µs", "p99 µs", "cpu µs", "ipc µs", "crash", "wrong"},
		Align:  []Align{Left, Right, Right, Right, Right, Right, Right, Right},
		Notes: []string{
			"tasks/s: tasks per second of wall time, median across trials: ±: its 95% interval (6+ trials),",
			"  ~: half the min..max spread (fewer trials).",
			"p50/p99: per-task latency from dispatch to the result at the master, median across trials.",
			"  inline/goroutine: dispatch is the pull, so latency = compute time; process: includes the",
			"  pipe round trip and the tasks queued ahead on that worker (up to k-1).",
			"cpu: mean worker compute time per task, measured inside the worker. ipc (process model):",
			"  wall time per task of a no-op batch through the same pool after each trial, median.",
			"crash: worker processes that died mid-batch; their in-flight tasks went to other workers.",
			"wrong: results wrong, failed or missing; every result is checked against the known answer.",
		},
	}
	workers := Table{
		Title:  prefix + "calc tasks per worker (all trials)",
		Header: []string{"batch", "worker", "pids", "tasks", "share", "busy ms", "busy"},
		Align:  []Align{Left, Right, Left, Right, Right, Right, Right},
		Notes:  []string{"busy: the worker's compute time over the trials' wall time. pids: more than one = restarted."},
	}
	for _, c := range cs {
		model, ipc := c.Model, "-"
		if c.Inflight > 0 {
			model += fmt.Sprintf(" k=%d", c.Inflight)
		}
		if c.IPCUs > 0 {
			ipc = fmtMs(c.IPCUs)
		}
		setup.Rows = append(setup.Rows, []string{
			c.Name, model, strconv.Itoa(c.Workers), fmt.Sprintf("%s n=%d", c.Kind, c.N), strconv.Itoa(c.Tasks), strconv.Itoa(c.Trials),
		})
		sum.Rows = append(sum.Rows, []string{
			c.Name, fmtFigure(c.TasksPerS.Median) + spread(c.TasksPerS), fmtFigure(1e3 * c.P50Ms.Median), fmtFigure(1e3 * c.P99Ms.Median),
			fmtMs(c.ComputeUs), ipc, strconv.Itoa(len(c.Crashes)), strconv.FormatInt(c.Mismatches, 10),
		})
		for _, w := range c.WorkerShares {
			workers.Rows = append(workers.Rows, []string{
				c.Name, strconv.Itoa(w.Worker), orDash(joinPids(w.Pids, ",")), strconv.FormatInt(w.Tasks, 10),
				fmtPct(100*w.Share) + "%", fmtMs(w.BusyMs), fmtPct(100*w.BusyRatio) + "%",
			})
		}
		for _, cr := range c.Crashes {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: worker %d (pid %d) died: %s; %d tasks re-queued", c.Name, cr.Worker, cr.Pid, cr.Reason, cr.Requeued))
		}
		if c.Mismatches > 0 {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: WRONG RESULTS: %d of %d (first: %s)", c.Name, c.Mismatches, c.Checked, c.FirstMismatch))
		} else {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: all %d results right", c.Name, c.Checked))
		}
	}
	tables := []Table{setup, sum, workers}
	if effs := CalcEfficiencies(cs); len(effs) > 0 {
		et := Table{
			Title:  prefix + "calc parallel efficiency",
			Header: []string{"batch", "against", "efficiency"},
			Align:  []Align{Left, Left, Right},
			Notes: []string{
				"efficiency: tasks/s with N workers / (N × tasks/s with 1 worker), paired trial by trial",
				"  (the trials are interleaved), median across trials; ± and ~ as for tasks/s.",
			},
		}
		for _, e := range effs {
			et.Rows = append(et.Rows, []string{e.Batch, e.Against, strconv.FormatFloat(e.Efficiency.Median, 'f', 2, 64) + spread(e.Efficiency)})
		}
		tables = append(tables, et)
	}
	return tables
}

// calcTables are the calc tables of a run's report.
func calcTables(run *results.Run) []Table { return CalcTables(run.Scenario.Name, run.Calc) }

// CalcEfficiency is the parallel efficiency of a batch with Workers > 1
// against the batch of the same model, kind and n with 1 worker (Against)
// from the same run: for each trial t, tasks/s(N)[t] / (N × tasks/s(1)[t]),
// summarised across the trials by metrics.Estimate. Pairing trial by trial
// (the trials are interleaved) cancels most of a drift in the machine's
// load.
type CalcEfficiency struct {
	Batch      string           `json:"batch"`
	Against    string           `json:"against"`
	Model      string           `json:"model"`
	Kind       string           `json:"kind"`
	N          int64            `json:"n"`
	Workers    int              `json:"workers"`
	Efficiency results.Estimate `json:"efficiency"`
}

// CalcEfficiencies pairs every batch with more than one worker with the
// first batch of the same model, kind and n with one worker and as many
// trials.
func CalcEfficiencies(cs []results.CalcResult) []CalcEfficiency {
	var out []CalcEfficiency
	for _, r := range cs {
		if r.Workers < 2 || len(r.TrialTasksPerS) == 0 {
			continue
		}
		for _, one := range cs {
			if one.Workers != 1 || one.Model != r.Model || one.Kind != r.Kind || one.N != r.N ||
				len(one.TrialTasksPerS) != len(r.TrialTasksPerS) {
				continue
			}
			var ratios []float64
			for t, v := range r.TrialTasksPerS {
				if base := one.TrialTasksPerS[t]; base > 0 {
					ratios = append(ratios, v/(float64(r.Workers)*base))
				}
			}
			if len(ratios) == 0 {
				continue
			}
			out = append(out, CalcEfficiency{Batch: r.Name, Against: one.Name, Model: r.Model, Kind: r.Kind, N: r.N,
				Workers: r.Workers, Efficiency: metrics.Estimate(ratios)})
			break
		}
	}
	return out
}
