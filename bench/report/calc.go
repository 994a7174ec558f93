package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/bench/results"
)

// CalcFile is the CSV of a run's calc batches (written only when it has some).
const CalcFile = "calc.csv"

// CalcColumns are the columns of calc.csv, one row per calc batch (stable,
// append only). tasks_per_s is the median across trials; ipc_us is the
// process pool's wall time per no-op task. Numbers are written as in
// summary.csv (plain decimals, a precision per unit).
var CalcColumns = []string{
	"scenario", "name", "model", "workers", "inflight", "kind", "n", "tasks", "trials",
	"tasks_per_s", "tasks_per_s_min", "tasks_per_s_max", "p50_ms", "p99_ms", "compute_us", "ipc_us",
	"crashes", "checked", "mismatches",
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
		})
	}
	return t
}

// CalcCSV writes calc.csv.
func CalcCSV(run *results.Run) Reporter {
	return func(w io.Writer) error { return WriteCSV(w, CalcTable(run)) }
}

// calcTables are the human-readable tables of the calc batches: what each
// batch ran, its throughput and latency, and the per-worker distribution
// (three tables, so that each fits 100 columns).
func calcTables(run *results.Run) []Table {
	if len(run.Calc) == 0 {
		return nil
	}
	setup := Table{
		Title:  fmt.Sprintf("%s: calc batches (a master hands tasks to workers)", run.Scenario.Name),
		Header: []string{"batch", "model", "workers", "task", "tasks", "trials"},
		Align:  []Align{Left, Left, Right, Left, Right, Right},
		Legend: []string{"k: tasks in flight per worker process (credits). tasks: per trial."},
	}
	sum := Table{
		Title:  fmt.Sprintf("%s: calc throughput and latency", run.Scenario.Name),
		Header: []string{"batch", "tasks/s", "p50 µs", "p99 µs", "cpu µs", "ipc µs", "crash", "wrong"},
		Align:  []Align{Left, Right, Right, Right, Right, Right, Right, Right},
		Legend: []string{
			"tasks/s: tasks per second of wall time, median across trials, with its spread as in the table above.",
			"p50/p99: per-task latency from dispatch to the result at the master, median across trials.",
			"cpu: mean worker compute time per task. ipc (process model): wall time per no-op task through the pool.",
			"crash: worker processes that died mid-batch. wrong: results wrong, failed or missing.",
		},
	}
	workers := Table{
		Title:  fmt.Sprintf("%s: calc tasks per worker (all trials)", run.Scenario.Name),
		Header: []string{"batch", "worker", "pids", "tasks", "share", "busy ms", "busy"},
		Align:  []Align{Left, Right, Left, Right, Right, Right, Right},
		Legend: []string{"busy: the worker's compute time over the trials' wall time."},
	}
	for _, c := range run.Calc {
		model, ipc := c.Model, "-"
		if c.Inflight > 0 {
			model += fmt.Sprintf(" k=%d", c.Inflight)
		}
		if c.IPCUs > 0 {
			ipc = fmtUs(c.IPCUs)
		}
		setup.Rows = append(setup.Rows, []string{
			c.Name, model, strconv.Itoa(c.Workers), fmt.Sprintf("%s n=%d", c.Kind, c.N), strconv.Itoa(c.Tasks), strconv.Itoa(c.Trials),
		})
		sum.Rows = append(sum.Rows, []string{
			c.Name, fmtRate(c.TasksPerS.Median) + spread(c.TasksPerS), fmtUs(1e3 * c.P50Ms.Median), fmtUs(1e3 * c.P99Ms.Median),
			fmtUs(c.ComputeUs), ipc, strconv.Itoa(len(c.Crashes)), strconv.FormatInt(c.Mismatches, 10),
		})
		for _, w := range c.WorkerShares {
			pids := make([]string, len(w.Pids))
			for i, p := range w.Pids {
				pids[i] = strconv.Itoa(p)
			}
			workers.Rows = append(workers.Rows, []string{
				c.Name, strconv.Itoa(w.Worker), orDash(strings.Join(pids, ",")), strconv.FormatInt(w.Tasks, 10),
				fmtPct(100*w.Share) + "%", fmtMs(w.BusyMs), fmtPct(100*w.BusyRatio) + "%",
			})
		}
		for _, cr := range c.Crashes {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: worker %d (pid %d) died: %s; %d tasks re-queued", c.Name, cr.Worker, cr.Pid, cr.Reason, cr.Requeued))
		}
		if c.Mismatches > 0 {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: WRONG RESULTS: %d of %d (first: %s)", c.Name, c.Mismatches, c.Checked, c.FirstMismatch))
		}
	}
	return []Table{setup, sum, workers}
}
