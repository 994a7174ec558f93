package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/clusterbench/clusterbench/bench/calcbatch"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/servers/calc"
)

// Defaults of `clusterbench calc`.
const (
	DefaultCalcModel = calc.ModelProcess
	DefaultCalcKind  = "fibonacci"
	DefaultCalcN     = 27
)

// ModelNode is the --node row of the calc tables.
const ModelNode = "node"

type calcOptions struct {
	models    []string
	workers   []int
	kind      string
	n         int64
	tasks     int
	inflight  int
	trials    int
	killAfter int
	json      bool
	node      string
	nodeBin   string
}

var calcHelp = cmdHelp{
	Usage: "clusterbench calc [flags]",
	About: `Hands calculation tasks (factorial, sum, primes, fibonacci) from a master to workers and
collects the results, the way the Node.js cluster example's master hands work to its workers
over IPC: inline (no workers), a goroutine pool, or a process pool over pipes. Several
executors run interleaved, trial by trial; prints tasks/s, latency and per-worker shares.`,
	Examples: []string{
		"clusterbench calc --model goroutine,process --workers 1,2 --kind fibonacci --n 27",
		"clusterbench calc --model process --kill-worker-after 500   # show a crashed worker's recovery",
		"clusterbench calc --model process --node servers/node/worker-calculation.js",
	},
	Exits: []string{exitOKLine, exitUsageLine, exitMeasurementLine},
}

func parseCalc(stdout io.Writer, args []string) (calcOptions, error) {
	o := calcOptions{}
	fs := newFlags("calc")
	fs.StringSliceVar(&o.models, "model", []string{DefaultCalcModel}, "executor(s), comma-separated: "+strings.Join(calc.Models, ", ")+" (several run interleaved, trial by trial)")
	fs.IntSliceVar(&o.workers, "workers", []int{runtime.GOMAXPROCS(0)}, "worker goroutines or processes, comma-separated for several (inline always has 1)")
	fs.StringVar(&o.kind, "kind", DefaultCalcKind, "calculation: factorial, sum, primes, fibonacci, or mix (the four in turn)")
	fs.Int64Var(&o.n, "n", DefaultCalcN, "argument of every task (mix: must suit every kind, 0..40)")
	fs.IntVar(&o.tasks, "tasks", calcbatch.DefaultTasks, "tasks per trial")
	fs.IntVar(&o.inflight, "inflight", 0, fmt.Sprintf("process and node: tasks in flight per worker (credits); 0 = %d", calc.DefaultInflight))
	fs.IntVar(&o.trials, "trials", calcbatch.DefaultTrials, "measured trials")
	fs.IntVar(&o.killAfter, "kill-worker-after", 0, "process: SIGKILL a worker after this many results in each trial, to show the recovery (0 = never)")
	fs.BoolVar(&o.json, "json", false, "print the reports as JSON instead of tables")
	fs.StringVar(&o.node, "node", "", "also run the Node.js original (path to servers/node/worker-calculation.js) with the same tasks, interleaved")
	fs.StringVar(&o.nodeBin, "node-bin", "node", "the node executable for --node")
	if err := parseFlags(fs, calcHelp, stdout, args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usageError("unexpected argument %q (calc takes flags only)", fs.Arg(0))
	}
	// Zero means "default" to calcbatch.Config, but on the command line a
	// 0 is a mistake.
	for _, w := range o.workers {
		if w < 1 || w > calcbatch.MaxWorkers {
			return o, usageError("--workers: %d out of range (allowed: 1..%d)", w, calcbatch.MaxWorkers)
		}
	}
	switch {
	case o.tasks < 1 || o.tasks > calcbatch.MaxTasks:
		return o, usageError("--tasks: %d out of range (allowed: 1..%d)", o.tasks, calcbatch.MaxTasks)
	case o.trials < 1 || o.trials > calcbatch.MaxTrials:
		return o, usageError("--trials: %d out of range (allowed: 1..%d)", o.trials, calcbatch.MaxTrials)
	case o.inflight < 0 || o.inflight > calc.MaxInflight:
		return o, usageError("--inflight: %d out of range (allowed: 1..%d, or 0 = %d)", o.inflight, calc.MaxInflight, calc.DefaultInflight)
	}
	if o.killAfter > 0 && !slices.Contains(o.models, calc.ModelProcess) {
		return o, usageError("--kill-worker-after needs --model process (got %s)", strings.Join(o.models, ","))
	}
	if o.node != "" {
		if _, err := os.Stat(o.node); err != nil {
			return o, usageError("--node %q: %v", o.node, err)
		}
		if _, err := exec.LookPath(o.nodeBin); err != nil {
			return o, usageError("--node-bin %q: %v (install Node.js or name its executable)", o.nodeBin, err)
		}
	}
	return o, nil
}

// batchConfigs expands the options into one validated config per model and
// worker count (inline once).
func (o calcOptions) batchConfigs() ([]calcbatch.Config, error) {
	var cfgs []calcbatch.Config
	for _, m := range o.models {
		if err := calc.Unsupported(m); err != nil {
			here := slices.DeleteFunc(slices.Clone(calc.Models), func(x string) bool { return calc.Unsupported(x) != nil })
			return nil, usageError("--model %s: %v; allowed here: %s", m, err, strings.Join(here, ", "))
		}
		for _, w := range o.workers {
			c := calcbatch.Config{Model: m, Workers: w, Kind: o.kind, N: o.n, Tasks: o.tasks, Trials: o.trials}
			if m == calc.ModelProcess {
				c.Inflight, c.KillWorkerAfter = o.inflight, o.killAfter
			} else if m == calc.ModelInline {
				c.Workers = 1
			}
			if err := c.Validate(); err != nil {
				var ce *calcbatch.ConfigError
				if errors.As(err, &ce) {
					return nil, usageError("--%s: %s", ce.Field, ce.Problem)
				}
				return nil, usageError("%v", err)
			}
			if m == calc.ModelInline && slices.ContainsFunc(cfgs, func(x calcbatch.Config) bool { return x.Model == m }) {
				continue
			}
			cfgs = append(cfgs, c)
		}
	}
	return cfgs, nil
}

// runCalc is `clusterbench calc`. A process started by a calc process pool
// (calc.WorkerEnv set) serves as a worker instead.
func runCalc(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if calc.IsWorker(os.Getenv) {
		return calc.RunWorker(os.Getenv)
	}
	o, err := parseCalc(stdout, args)
	if err != nil {
		return err
	}
	cfgs, err := o.batchConfigs()
	if err != nil {
		return err
	}
	ctx, stop := interruptible(ctx)
	defer stop()

	var batches []*calcbatch.Batch
	defer func() {
		for _, b := range batches {
			b.Close()
		}
	}()
	for _, c := range cfgs {
		c.WorkerStderr = stderr
		b, err := calcbatch.New(ctx, c)
		if err != nil {
			return measurementError(fmt.Errorf("start %s: %w", c.Model, err))
		}
		batches = append(batches, b)
	}
	var nodes []*nodeRun
	if o.node != "" {
		for _, w := range o.workers {
			nodes = append(nodes, &nodeRun{bin: o.nodeBin, script: o.node, kind: o.kind, n: o.n, tasks: o.tasks,
				workers: w, inflight: cmp.Or(o.inflight, calc.DefaultInflight)})
		}
	}
	var arms []calcbatch.Trialer
	for _, b := range batches {
		arms = append(arms, b)
	}
	for _, nr := range nodes {
		arms = append(arms, nr)
	}
	load := loadAverage()
	runErr := calcbatch.Interleave(ctx, o.trials, arms...)
	var rs []results.CalcResult
	var wrong []error
	for _, b := range batches {
		rs = append(rs, b.Result())
		if err := b.Err(); err != nil {
			wrong = append(wrong, err)
		}
	}
	for _, nr := range nodes {
		r := nr.result()
		rs = append(rs, r)
		if r.Mismatches > 0 {
			wrong = append(wrong, fmt.Errorf("node: %w: %d of %d results (first: %s)", calcbatch.ErrMismatch, r.Mismatches, r.Checked, r.FirstMismatch))
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(calcJSON{
			Env:        runner.Environment(ctx, ".", append([]string{"clusterbench", "calc"}, args...), runner.Pinning{}),
			LoadAvg:    load,
			Calc:       rs,
			Efficiency: report.CalcEfficiencies(rs),
		})
	} else {
		err = report.WriteText(stdout, report.Document{
			Title: "clusterbench calc",
			Meta: [][2]string{
				{"machine", fmt.Sprintf("%d CPUs, GOMAXPROCS %d, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())},
				{"load average", load + " (1, 5, 15 min, at the start)"},
			},
			Tables: report.CalcTables("", rs),
		})
	}
	if err != nil {
		return measurementError(err)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			runErr = fmt.Errorf("interrupted; the tables show the trials completed before: %w", runErr)
		}
		return measurementError(runErr)
	}
	if err := errors.Join(wrong...); err != nil {
		return measurementError(err)
	}
	return nil
}

// calcJSON is what `calc --json` prints: the machine, and the batches in
// their saved form (as in a run's summary.json).
type calcJSON struct {
	Env        results.Environment     `json:"env"`
	LoadAvg    string                  `json:"load_average"` // 1, 5, 15 minutes, at the start
	Calc       []results.CalcResult    `json:"calc"`
	Efficiency []report.CalcEfficiency `json:"efficiency,omitempty"`
}

// loadAverage is the 1, 5 and 15 minute load average, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
