package calc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/montanaflynn/stats"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// Defaults and limits of BatchConfig.
const (
	DefaultTasks  = 10_000
	DefaultTrials = 3
	MaxTasks      = 10_000_000
	MaxWorkers    = 256
	MaxTrials     = 100
)

// ErrMismatch is wrapped by RunBatch's error when a result differed from the
// known answer, was an error, or never arrived.
var ErrMismatch = errors.New("wrong results")

// ConfigError is a BatchConfig field with a value outside what it allows.
type ConfigError struct {
	Field   string // the flag-style name, e.g. "workers"
	Problem string
}

// Error is "field: problem".
func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

// BatchConfig is one calc batch: which executor, which task, how many.
type BatchConfig struct {
	Model    string // inline, goroutine or process
	Workers  int    // 0 = GOMAXPROCS; inline always uses 1
	Kind     string // a workload kind or "mix" (the four kinds in turn)
	N        int64  // the argument of every task
	Tasks    int    // tasks per trial; 0 = DefaultTasks
	Inflight int    // process: credits per worker; 0 = DefaultInflight
	Trials   int    // 0 = DefaultTrials
	// KillWorkerAfter (process only) SIGKILLs a worker after that many
	// results in every trial, to show the recovery; 0 = never.
	KillWorkerAfter int
	// Worker process settings (process only): see ProcessConfig.
	WorkerCommand []string
	WorkerEnv     []string
	WorkerStderr  io.Writer
}

// Estimate is the median of a figure across trials, with the extremes.
type Estimate struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// TrialResult is one measured trial.
type TrialResult struct {
	Trial      int     `json:"trial"` // 1-based
	DurationS  float64 `json:"duration_s"`
	TasksPerS  float64 `json:"tasks_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	Crashes    int     `json:"crashes"`
	Mismatches int64   `json:"mismatches"`
}

// WorkerShare is one worker's part of the batch, summed over the trials.
type WorkerShare struct {
	Worker int     `json:"worker"`
	Pids   []int   `json:"pids"` // more than one: the worker was restarted
	Tasks  int64   `json:"tasks"`
	Share  float64 `json:"share"`   // Tasks / all tasks
	BusyMs float64 `json:"busy_ms"` // sum of the worker's compute time
	// BusyRatio is BusyMs over the summed wall time of the trials: 1 = the
	// worker computed all the time.
	BusyRatio float64 `json:"busy_ratio"`
}

// Report is the outcome of RunBatch: plain data, safe to share read-only.
type Report struct {
	Model      string `json:"model"`
	Kind       string `json:"kind"`
	N          int64  `json:"n"`
	Tasks      int    `json:"tasks"` // per trial
	Workers    int    `json:"workers"`
	Inflight   int    `json:"inflight,omitempty"` // process only
	Trials     int    `json:"trials"`
	GOMAXPROCS int    `json:"gomaxprocs"`

	TasksPerS Estimate `json:"tasks_per_s"`
	P50Ms     Estimate `json:"p50_ms"` // per-task latency: dispatch → result at the master
	P99Ms     Estimate `json:"p99_ms"`
	// ComputeUs is the mean time a worker spent computing one task.
	ComputeUs float64 `json:"compute_us"`
	// IPCUs (process only) is the IPC cost per task: the wall time per task
	// of a batch of no-op tasks (same workers, tasks and inflight) sent
	// through the same pool right after each trial, i.e. the throughput
	// cost of the channel alone; the median over the trials.
	IPCUs float64 `json:"ipc_us,omitempty"`

	TrialResults []TrialResult `json:"trial_results"`
	Shares       []WorkerShare `json:"worker_shares"`
	Crashes      []Crash       `json:"crashes,omitempty"`

	Checked       int64  `json:"checked"`    // results compared with the known answer
	Mismatches    int64  `json:"mismatches"` // wrong, failed or missing results
	FirstMismatch string `json:"first_mismatch,omitempty"`
}

// Validate fills the defaults of c and reports the first bad field.
func (c *BatchConfig) Validate() error {
	if !slices.Contains(Models, c.Model) {
		return &ConfigError{"model", fmt.Sprintf("%q is not a model (allowed: %s)", c.Model, strings.Join(Models, ", "))}
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Model == ModelInline {
		if c.Workers != 1 && c.Workers != runtime.GOMAXPROCS(0) {
			return &ConfigError{"workers", fmt.Sprintf("%d: the inline model has exactly 1 worker (the master)", c.Workers)}
		}
		c.Workers = 1
	}
	if c.Workers < 1 || c.Workers > MaxWorkers {
		return &ConfigError{"workers", fmt.Sprintf("%d out of range (allowed: 1..%d)", c.Workers, MaxWorkers)}
	}
	if _, err := batchKinds(c.Kind, c.N); err != nil {
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
	if c.Model == ModelProcess {
		if c.Inflight == 0 {
			c.Inflight = DefaultInflight
		}
		if c.Inflight < 1 || c.Inflight > MaxInflight {
			return &ConfigError{"inflight", fmt.Sprintf("%d out of range (allowed: 1..%d)", c.Inflight, MaxInflight)}
		}
	} else if c.Inflight != 0 {
		return &ConfigError{"inflight", fmt.Sprintf("%d: only the process model has in-flight credits (allowed: 0 with --model %s)", c.Inflight, c.Model)}
	}
	switch {
	case c.KillWorkerAfter < 0:
		return &ConfigError{"kill-worker-after", fmt.Sprintf("%d is negative (allowed: 0 = never, or 1..tasks-1)", c.KillWorkerAfter)}
	case c.KillWorkerAfter > 0 && c.Model != ModelProcess:
		return &ConfigError{"kill-worker-after", fmt.Sprintf("only the process model has worker processes to kill (got --model %s)", c.Model)}
	case c.KillWorkerAfter >= c.Tasks:
		return &ConfigError{"kill-worker-after", fmt.Sprintf("%d must be below --tasks %d (allowed: 1..%d)", c.KillWorkerAfter, c.Tasks, c.Tasks-1)}
	}
	return nil
}

// batchKinds returns the kinds a batch cycles through, checking n for each.
func batchKinds(kind string, n int64) ([]workload.Kind, error) {
	kinds := []workload.Kind{workload.Kind(kind)}
	if kind == KindMix {
		kinds = workload.Kinds
	} else if _, err := workload.ParseKind(kind); err != nil {
		return nil, &ConfigError{"kind", fmt.Sprintf("%q is not a kind (allowed: factorial, sum, primes, fibonacci, mix)", kind)}
	}
	for _, k := range kinds {
		if err := workload.Check(k, n); err != nil {
			var re *workload.RangeError
			if errors.As(err, &re) && kind == KindMix {
				return nil, &ConfigError{"n", fmt.Sprintf("%d out of range for mix: every kind must accept it (%s allows %d..%d)", n, k, re.Bound.Min, re.Bound.Max)}
			}
			return nil, &ConfigError{"n", err.Error()}
		}
	}
	return kinds, nil
}

// NewExecutor builds the executor c names; c must be validated.
func NewExecutor(c BatchConfig) (Executor, error) {
	switch c.Model {
	case ModelInline:
		return Inline{}, nil
	case ModelGoroutine:
		return GoroutinePool{N: c.Workers}, nil
	default:
		return NewProcessPool(ProcessConfig{
			Workers: c.Workers, Inflight: c.Inflight, Command: c.WorkerCommand,
			Env: c.WorkerEnv, Stderr: c.WorkerStderr, KillAfter: c.KillWorkerAfter,
		})
	}
}

// RunBatch validates cfg, starts the executor, runs cfg.Trials trials of
// cfg.Tasks tasks, checks every result and stops the executor. A
// ConfigError means bad input; an error wrapping ErrMismatch comes with a
// complete Report; any other error is a failure of the run itself.
func RunBatch(ctx context.Context, cfg BatchConfig) (Report, error) {
	reps, err := RunBatches(ctx, []BatchConfig{cfg})
	if len(reps) == 0 {
		return Report{}, err
	}
	return reps[0], err
}

// RunBatches runs several batches with their trials interleaved (A B A B
// …), so that a drift of the machine's load affects them alike; every
// executor is started before the first trial and stopped after the last.
// The configs must agree on Trials. Errors are as for RunBatch.
func RunBatches(ctx context.Context, cfgs []BatchConfig) ([]Report, error) {
	var batches []*Batch
	defer func() {
		for _, b := range batches {
			b.Close()
		}
	}()
	for _, c := range cfgs {
		b, err := NewBatch(ctx, c)
		if err != nil {
			return nil, err
		}
		if len(batches) > 0 && b.cfg.Trials != batches[0].cfg.Trials {
			b.Close()
			return nil, &ConfigError{"trials", fmt.Sprintf("interleaved batches need the same trial count (got %d and %d)", batches[0].cfg.Trials, b.cfg.Trials)}
		}
		batches = append(batches, b)
	}
	var runErr error
	for t := 0; t < cfgs[0].trialsOrDefault() && runErr == nil; t++ {
		for _, b := range batches {
			if runErr = b.Trial(ctx); runErr != nil {
				break
			}
		}
	}
	reps := make([]Report, len(batches))
	var mismatch []error
	for i, b := range batches {
		reps[i] = b.Report()
		if err := b.Err(); err != nil {
			mismatch = append(mismatch, err)
		}
	}
	if runErr != nil {
		return reps, runErr
	}
	return reps, errors.Join(mismatch...)
}

func (c BatchConfig) trialsOrDefault() int {
	if c.Trials == 0 {
		return DefaultTrials
	}
	return c.Trials
}

// Batch is a prepared batch: its tasks, their known answers and a running
// executor. Trial runs one measured trial; Report summarises those run so
// far. A Batch is not safe for concurrent use.
type Batch struct {
	cfg   BatchConfig
	ex    Executor
	tasks []Task
	want  map[workload.Kind]string
	out   []Result
	acc   *accumulator
	rep   Report
	noop  []Task    // process model: the no-op probe batch
	ipc   []float64 // per trial: µs per no-op task
}

// NewBatch validates cfg, computes the known answers, starts the executor
// and, for the process model, measures the IPC cost with a no-op batch
// (which also warms the workers up). Close it when done.
func NewBatch(ctx context.Context, cfg BatchConfig) (*Batch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kinds, _ := batchKinds(cfg.Kind, cfg.N)
	b := &Batch{cfg: cfg, tasks: make([]Task, cfg.Tasks), want: make(map[workload.Kind]string, len(kinds))}
	for i := range b.tasks {
		b.tasks[i] = Task{Kind: kinds[i%len(kinds)], N: cfg.N}
	}
	for _, k := range kinds {
		v, err := workload.Compute(k, cfg.N)
		if err != nil {
			return nil, err
		}
		b.want[k] = v
	}
	ex, err := NewExecutor(cfg)
	if err != nil {
		return nil, err
	}
	b.ex = ex
	b.out = make([]Result, len(b.tasks))
	b.acc = newAccumulator(ex.Workers())
	b.rep = Report{
		Model: cfg.Model, Kind: cfg.Kind, N: cfg.N, Tasks: cfg.Tasks, Workers: ex.Workers(),
		Inflight: cfg.Inflight, GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if _, ok := ex.(*ProcessPool); ok {
		b.noop = make([]Task, len(b.tasks))
		for i := range b.noop {
			b.noop[i] = Task{Kind: noopKind}
		}
		// The first probe warms the workers up; it is not recorded.
		if _, err := b.probe(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// probe sends the no-op batch through the process pool and returns the
// wall time per task in microseconds.
func (b *Batch) probe(ctx context.Context) (float64, error) {
	clear(b.out)
	start := time.Now()
	if _, err := b.ex.(*ProcessPool).run(ctx, b.noop, b.out, 0); err != nil {
		return 0, fmt.Errorf("no-op probe: %w", err)
	}
	return float64(time.Since(start).Nanoseconds()) / 1e3 / float64(len(b.noop)), nil
}

// Trial runs one measured trial and checks its results.
func (b *Batch) Trial(ctx context.Context) error {
	clear(b.out)
	start := time.Now()
	crashes, err := b.ex.Run(ctx, b.tasks, b.out)
	wall := time.Since(start)
	b.rep.Crashes = append(b.rep.Crashes, crashes...)
	trial := len(b.rep.TrialResults) + 1
	if err != nil {
		return fmt.Errorf("%s trial %d: %w", b.cfg.Model, trial, err)
	}
	tr := b.acc.add(trial, wall, b.tasks, b.out, b.want)
	tr.Crashes = len(crashes)
	b.rep.TrialResults = append(b.rep.TrialResults, tr)
	if b.noop != nil {
		us, err := b.probe(ctx)
		if err != nil {
			return fmt.Errorf("%s trial %d: %w", b.cfg.Model, trial, err)
		}
		b.ipc = append(b.ipc, us)
	}
	return nil
}

// Report summarises the trials run so far.
func (b *Batch) Report() Report {
	r := b.rep
	r.Trials = len(r.TrialResults)
	r.TrialResults = slices.Clone(r.TrialResults)
	r.Crashes = slices.Clone(r.Crashes)
	r.IPCUs = EstimateOf(b.ipc).Median
	b.acc.finish(&r)
	return r
}

// Err wraps ErrMismatch when a trial produced a wrong, failed or missing
// result.
func (b *Batch) Err() error {
	r := b.Report()
	if r.Mismatches > 0 {
		return fmt.Errorf("%s: %w: %d of %d results (first: %s)", b.cfg.Model, ErrMismatch, r.Mismatches, r.Checked, r.FirstMismatch)
	}
	return nil
}

// Close stops the executor.
func (b *Batch) Close() error {
	if b.ex == nil {
		return nil
	}
	err := b.ex.Close()
	b.ex = nil
	return err
}

// accumulator folds trials into a Report.
type accumulator struct {
	hist       *hdrhistogram.Histogram
	workers    []WorkerShare
	wallNs     int64
	computeNs  int64
	checked    int64
	mismatches int64
	first      string
}

// Latencies are recorded in nanoseconds, 3 significant digits, up to an hour.
const maxLatencyNs = int64(time.Hour)

func newAccumulator(workers int) *accumulator {
	a := &accumulator{hist: hdrhistogram.New(1, maxLatencyNs, 3), workers: make([]WorkerShare, workers)}
	for i := range a.workers {
		a.workers[i].Worker = i
	}
	return a
}

// add checks and tallies one trial's results.
func (a *accumulator) add(trial int, wall time.Duration, tasks []Task, out []Result, want map[workload.Kind]string) TrialResult {
	a.hist.Reset()
	tr := TrialResult{Trial: trial, DurationS: wall.Seconds()}
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
	return tr
}

func (a *accumulator) finish(rep *Report) {
	var tps, p50, p99 []float64
	for _, t := range rep.TrialResults {
		tps = append(tps, t.TasksPerS)
		p50 = append(p50, t.P50Ms)
		p99 = append(p99, t.P99Ms)
	}
	rep.TasksPerS, rep.P50Ms, rep.P99Ms = EstimateOf(tps), EstimateOf(p50), EstimateOf(p99)
	var total int64
	for _, w := range a.workers {
		total += w.Tasks
	}
	shares := make([]WorkerShare, len(a.workers))
	for i, w := range a.workers {
		w.Pids = slices.Clone(w.Pids)
		sort.Ints(w.Pids)
		if total > 0 {
			w.Share = float64(w.Tasks) / float64(total)
		}
		if a.wallNs > 0 {
			w.BusyRatio = w.BusyMs * 1e6 / float64(a.wallNs)
		}
		shares[i] = w
	}
	if total > 0 {
		rep.ComputeUs = float64(a.computeNs) / float64(total) / 1e3
	}
	rep.Shares = shares
	rep.Checked, rep.Mismatches, rep.FirstMismatch = a.checked, a.mismatches, a.first
}

// EstimateOf is the median (mean of the middle two for an even count), min
// and max of xs.
func EstimateOf(xs []float64) Estimate {
	if len(xs) == 0 {
		return Estimate{}
	}
	m, _ := stats.Median(xs) // montanaflynn/stats; xs is not empty here
	lo, _ := stats.Min(xs)
	hi, _ := stats.Max(xs)
	return Estimate{Median: m, Min: lo, Max: hi}
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return fmt.Sprintf("%s…%s (%d digits)", s[:16], s[len(s)-16:], len(s))
}
