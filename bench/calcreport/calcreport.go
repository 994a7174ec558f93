// Package calcreport renders the outcome of a calc batch (calc.Report) as
// terminal tables and as JSON, and converts it to the saved results form.
// Rendering is a pure function of the report; nothing here is shared or
// mutable, so every function is safe for concurrent use.
package calcreport

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/servers/calc"
)

// newTable is an ASCII table with headers as written and the given column
// alignments.
func newTable(w io.Writer, align ...tw.Align) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
	)
}

// Text writes the throughput table, the per-worker table, the crashes (if
// any) and a legend for one or more reports.
func Text(w io.Writer, reps ...calc.Report) error {
	t := newTable(w, tw.AlignLeft, tw.AlignRight, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight,
		tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight)
	t.Header("model", "workers", "kind", "n", "tasks", "trials", "tasks/s", "min..max", "p50 µs", "p99 µs", "compute µs", "ipc µs/task")
	for _, r := range reps {
		ipc := "-"
		if r.Model == calc.ModelProcess {
			ipc = f2(r.IPCUs)
		}
		model := r.Model
		if r.Inflight > 0 {
			model += " k=" + strconv.Itoa(r.Inflight)
		}
		if err := t.Append(model, strconv.Itoa(r.Workers), r.Kind, strconv.FormatInt(r.N, 10),
			strconv.Itoa(r.Tasks), strconv.Itoa(r.Trials), f0(r.TasksPerS.Median),
			f0(r.TasksPerS.Min)+".."+f0(r.TasksPerS.Max), f1(1e3*r.P50Ms.Median), f1(1e3*r.P99Ms.Median),
			f2(r.ComputeUs), ipc); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, r := range reps {
		fmt.Fprintf(w, "\nper worker: %s, %d workers, %s n=%d, %d trials\n", r.Model, r.Workers, r.Kind, r.N, r.Trials)
		wt := newTable(w, tw.AlignRight, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight)
		wt.Header("worker", "pids", "tasks", "share", "busy ms", "busy")
		for _, s := range r.Shares {
			if err := wt.Append(strconv.Itoa(s.Worker), pids(s.Pids), strconv.FormatInt(s.Tasks, 10),
				pct(s.Share), f1(s.BusyMs), pct(s.BusyRatio)); err != nil {
				return err
			}
		}
		if err := wt.Render(); err != nil {
			return err
		}
		if len(r.Crashes) > 0 {
			fmt.Fprintf(w, "\ncrashes: %d worker process deaths; their in-flight tasks were re-queued to other workers\n", len(r.Crashes))
			ct := newTable(w, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft)
			ct.Header("worker", "pid", "new pid", "re-queued", "reason")
			for _, c := range r.Crashes {
				np := "-"
				if c.Restarted {
					np = strconv.Itoa(c.NewPid)
				}
				if err := ct.Append(strconv.Itoa(c.Worker), strconv.Itoa(c.Pid), np, strconv.Itoa(c.Requeued), c.Reason); err != nil {
					return err
				}
			}
			if err := ct.Render(); err != nil {
				return err
			}
		}
		if r.Mismatches > 0 {
			fmt.Fprintf(w, "\nWRONG RESULTS: %d of %d (first: %s)\n", r.Mismatches, r.Checked, r.FirstMismatch)
		} else {
			fmt.Fprintf(w, "all %d results checked against the known answers: ok\n", r.Checked)
		}
	}
	if effs := Efficiencies(reps); len(effs) > 0 {
		fmt.Fprintln(w, "\nparallel efficiency: tasks/s with N workers / (N × tasks/s with 1 worker), per interleaved trial")
		et := newTable(w, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight)
		et.Header("model", "workers", "efficiency", "min..max")
		for _, e := range effs {
			if err := et.Append(e.Model, strconv.Itoa(e.Workers), f2(e.Median), f2(e.Min)+".."+f2(e.Max)); err != nil {
				return err
			}
		}
		if err := et.Render(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, Legend)
	return err
}

// Efficiency is the parallel efficiency of a model with Workers workers
// against the same model with 1 worker, from the same run: for each trial
// t, tasks/s(N)[t] / (N × tasks/s(1)[t]); the median and extremes over the
// trials. Pairing trial by trial (the trials are interleaved) cancels most
// of a drift in the machine's load.
type Efficiency struct {
	Model   string  `json:"model"`
	Kind    string  `json:"kind"`
	N       int64   `json:"n"`
	Workers int     `json:"workers"`
	Median  float64 `json:"median"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
}

// Efficiencies pairs every report with more than one worker with the report
// of the same model, kind and n with one worker (same trial count).
func Efficiencies(reps []calc.Report) []Efficiency {
	var out []Efficiency
	for _, r := range reps {
		if r.Workers < 2 {
			continue
		}
		for _, one := range reps {
			if one.Workers != 1 || one.Model != r.Model || one.Kind != r.Kind || one.N != r.N ||
				len(one.TrialResults) != len(r.TrialResults) || len(r.TrialResults) == 0 {
				continue
			}
			var ratios []float64
			for t := range r.TrialResults {
				if base := one.TrialResults[t].TasksPerS; base > 0 {
					ratios = append(ratios, r.TrialResults[t].TasksPerS/(float64(r.Workers)*base))
				}
			}
			if len(ratios) == 0 {
				continue
			}
			e := calc.EstimateOf(ratios)
			out = append(out, Efficiency{Model: r.Model, Kind: r.Kind, N: r.N, Workers: r.Workers, Median: e.Median, Min: e.Min, Max: e.Max})
			break
		}
	}
	return out
}

// Legend explains the columns of Text.
const Legend = `
tasks/s: tasks per second of wall time, median over the trials (min..max across them).
p50/p99 µs: per-task latency from dispatch to the result at the master, over every task of a trial,
  median over the trials. inline/goroutine: dispatch is the pull, so latency = compute time.
  process: includes the pipe round trip and the tasks queued ahead on that worker (up to k-1).
compute µs: mean time a worker spent computing one task (measured inside the worker).
ipc µs/task: process only: wall time per task of a batch of no-op tasks through the same pool
  (same workers, tasks and k) after each trial, median: the throughput cost of the IPC alone.
busy: the worker's compute time over the trials' wall time (1 worker fully busy = 100%).
`

// Env is where a calc command ran, recorded beside its reports.
type Env struct {
	CPUs       int      `json:"cpus"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	GoVersion  string   `json:"go_version"`
	LoadAvg    string   `json:"load_average"` // 1, 5, 15 minutes, at the start
	Args       []string `json:"args"`
}

// JSON writes env and the reports as one indented JSON document:
// {"env": ..., "calc": [...], "efficiency": [...]}.
func JSON(w io.Writer, env Env, reps ...calc.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Env        Env           `json:"env"`
		Calc       []calc.Report `json:"calc"`
		Efficiency []Efficiency  `json:"efficiency,omitempty"`
	}{env, reps, Efficiencies(reps)})
}

func pids(p []int) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func f0(v float64) string  { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string  { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string  { return strconv.FormatFloat(v, 'f', 2, 64) }
func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

// Result converts a calc report into the saved form of a run's calc batch.
func Result(name string, r calc.Report) results.CalcResult {
	var tps, p50, p99 []float64
	for _, t := range r.TrialResults {
		tps, p50, p99 = append(tps, t.TasksPerS), append(p50, t.P50Ms), append(p99, t.P99Ms)
	}
	out := results.CalcResult{
		Name: name, Model: r.Model, Workers: r.Workers, Inflight: r.Inflight, Kind: r.Kind, N: r.N,
		Tasks: r.Tasks, Trials: r.Trials,
		// The same estimator as the HTTP summaries: median, its 95%
		// interval from 6 trials on, min and max.
		TasksPerS: metrics.Estimate(tps), P50Ms: metrics.Estimate(p50), P99Ms: metrics.Estimate(p99),
		ComputeUs: r.ComputeUs, IPCUs: r.IPCUs, Checked: r.Checked, Mismatches: r.Mismatches,
		FirstMismatch: r.FirstMismatch, TrialTasksPerS: append([]float64{}, tps...),
	}
	for _, s := range r.Shares {
		out.WorkerShares = append(out.WorkerShares, results.CalcWorker{Worker: s.Worker, Pids: slices.Clone(s.Pids),
			Tasks: s.Tasks, Share: s.Share, BusyMs: s.BusyMs, BusyRatio: s.BusyRatio})
	}
	for _, c := range r.Crashes {
		out.Crashes = append(out.Crashes, results.CalcCrash{Worker: c.Worker, Pid: c.Pid, Reason: c.Reason,
			Requeued: c.Requeued, Restarted: c.Restarted, NewPid: c.NewPid})
	}
	return out
}
