// Package calcbatch measures calc batches: a master hands calculation tasks
// (servers/workload) to the workers of one of servers/calc's executors
// (inline, goroutine pool, process pool over pipes), trial after trial,
// checks every result against the known answer and summarises throughput,
// per-task latency, the IPC cost and the per-worker distribution as a
// results.CalcResult, the saved form every reporter reads.
//
// Across trials a figure is a metrics.Estimate (median, its confidence
// interval from enough trials, min and max), as for HTTP trials. Several
// batches run interleaved, trial by trial (Interleave), so that a
// drift of the machine's load touches them alike.
//
// Concurrency: a Batch is not safe for concurrent use; the package holds
// no global state.
package calcbatch

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/clusterbench/clusterbench/servers/calc"
	"github.com/clusterbench/clusterbench/servers/workload"
)

// Defaults and limits of Config.
const (
	DefaultTasks  = 10_000
	DefaultTrials = 3
	MaxTasks      = 10_000_000
	MaxWorkers    = 256
	MaxTrials     = 100
)

// KindMix is the batch kind that cycles through every calculation.
const KindMix = "mix"

// ErrMismatch is wrapped by a batch's error when a result differed from the
// known answer, was an error, or never arrived.
var ErrMismatch = errors.New("wrong results")

// ConfigError is a Config field with a value outside what it allows.
type ConfigError struct {
	Field   string // the flag-style name, e.g. "workers"
	Problem string
}

// Error is "field: problem".
func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

// Config is one calc batch: which executor, which task, how many.
type Config struct {
	// Name labels the batch in tables; "" = Name(Model, Workers, Kind, N).
	Name     string
	Model    string // calc.ModelInline, calc.ModelGoroutine or calc.ModelProcess
	Workers  int    // 0 = GOMAXPROCS; inline always uses 1
	Kind     string // a workload kind or KindMix (the four kinds in turn)
	N        int64  // the argument of every task
	Tasks    int    // tasks per trial; 0 = DefaultTasks
	Inflight int    // process: credits per worker; 0 = calc.DefaultInflight
	Trials   int    // 0 = DefaultTrials
	// KillWorkerAfter (process only) SIGKILLs a worker after that many
	// results in every trial, to show the recovery; 0 = never.
	KillWorkerAfter int
	// Worker process settings (process only): see calc.ProcessConfig.
	WorkerCommand []string
	WorkerEnv     []string
	WorkerStderr  io.Writer
}

// Name is the default name of a batch: model, workers (when more than the
// inline model's one and known, i.e. > 0), kind and n, e.g.
// "process2-fibonacci-27".
func Name(model string, workers int, kind string, n int64) string {
	if workers > 0 && model != calc.ModelInline {
		return fmt.Sprintf("%s%d-%s-%d", model, workers, kind, n)
	}
	return fmt.Sprintf("%s-%s-%d", model, kind, n)
}

// Validate fills the defaults of c and reports the first bad field.
func (c *Config) Validate() error {
	if !slices.Contains(calc.Models, c.Model) {
		return &ConfigError{"model", fmt.Sprintf("%q is not a model (allowed: %s)", c.Model, strings.Join(calc.Models, ", "))}
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Model == calc.ModelInline {
		if c.Workers != 1 && c.Workers != runtime.GOMAXPROCS(0) {
			return &ConfigError{"workers", fmt.Sprintf("%d: the inline model has exactly 1 worker (the master)", c.Workers)}
		}
		c.Workers = 1
	}
	if c.Workers < 1 || c.Workers > MaxWorkers {
		return &ConfigError{"workers", fmt.Sprintf("%d out of range (allowed: 1..%d)", c.Workers, MaxWorkers)}
	}
	if _, err := kinds(c.Kind, c.N); err != nil {
		return err
	}
	if c.Tasks == 0 {
		c.Tasks = DefaultTasks
	}
	if c.Tasks < 1 || c.Tasks > MaxTasks {
		return &ConfigError{"tasks", fmt.Sprintf("%d out of range (allowed: 1..%d)", c.Tasks, MaxTasks)}
	}
	if c.Trials == 0 {
		c.Trials = DefaultTrials
	}
	if c.Trials < 1 || c.Trials > MaxTrials {
		return &ConfigError{"trials", fmt.Sprintf("%d out of range (allowed: 1..%d)", c.Trials, MaxTrials)}
	}
	if c.Model == calc.ModelProcess {
		if c.Inflight == 0 {
			c.Inflight = calc.DefaultInflight
		}
		if c.Inflight < 1 || c.Inflight > calc.MaxInflight {
			return &ConfigError{"inflight", fmt.Sprintf("%d out of range (allowed: 1..%d)", c.Inflight, calc.MaxInflight)}
		}
	} else if c.Inflight != 0 {
		return &ConfigError{"inflight", fmt.Sprintf("%d: only the process model has in-flight credits (allowed: 0 with --model %s)", c.Inflight, c.Model)}
	}
	switch {
	case c.KillWorkerAfter < 0:
		return &ConfigError{"kill-worker-after", fmt.Sprintf("%d is negative (allowed: 0 = never, or 1..tasks-1)", c.KillWorkerAfter)}
	case c.KillWorkerAfter > 0 && c.Model != calc.ModelProcess:
		return &ConfigError{"kill-worker-after", fmt.Sprintf("only the process model has worker processes to kill (got --model %s)", c.Model)}
	case c.KillWorkerAfter >= c.Tasks:
		return &ConfigError{"kill-worker-after", fmt.Sprintf("%d must be below --tasks %d (allowed: 1..%d)", c.KillWorkerAfter, c.Tasks, c.Tasks-1)}
	}
	if c.Name == "" {
		c.Name = Name(c.Model, c.Workers, c.Kind, c.N)
	}
	return nil
}

// kinds returns the kinds a batch cycles through, checking n for each.
func kinds(kind string, n int64) ([]workload.Kind, error) {
	ks := []workload.Kind{workload.Kind(kind)}
	if kind == KindMix {
		ks = workload.Kinds
	} else if _, err := workload.ParseKind(kind); err != nil {
		return nil, &ConfigError{"kind", fmt.Sprintf("%q is not a kind (allowed: factorial, sum, primes, fibonacci, mix)", kind)}
	}
	for _, k := range ks {
		if err := workload.Check(k, n); err != nil {
			var re *workload.RangeError
			if errors.As(err, &re) && kind == KindMix {
				return nil, &ConfigError{"n", fmt.Sprintf("%d out of range for mix: every kind must accept it (%s allows %d..%d)", n, k, re.Bound.Min, re.Bound.Max)}
			}
			return nil, &ConfigError{"n", err.Error()}
		}
	}
	return ks, nil
}

// newExecutor builds the executor c names; c must be validated.
func newExecutor(c Config) (calc.Executor, error) {
	switch c.Model {
	case calc.ModelInline:
		return calc.Inline{}, nil
	case calc.ModelGoroutine:
		return calc.GoroutinePool{N: c.Workers}, nil
	default:
		return calc.NewProcessPool(calc.ProcessConfig{
			Workers: c.Workers, Inflight: c.Inflight, Command: c.WorkerCommand,
			Env: c.WorkerEnv, Stderr: c.WorkerStderr, KillAfter: c.KillWorkerAfter,
		})
	}
}
