package calcbatch

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/servers/calc"
	"github.com/clusterbench/clusterbench/servers/workload"
)

// Trialer is one arm of interleaved trials: a Batch, or an outside program
// measured alongside (the Node.js original of `clusterbench calc`).
type Trialer interface {
	Trial(ctx context.Context) error
}

// Interleave runs trials rounds, each one trial of every arm in turn (A B
// A B …), and stops at the first error, which it returns.
func Interleave(ctx context.Context, trials int, arms ...Trialer) error {
	for range trials {
		for _, a := range arms {
			if err := a.Trial(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Batch is a prepared batch: its tasks, their known answers and a running
// executor. Trial runs one measured trial; Result summarises those run so
// far. A Batch is not safe for concurrent use.
type Batch struct {
	cfg   Config
	ex    calc.Executor
	tasks []calc.Task
	want  map[workload.Kind]string
	out   []calc.Result
	acc   *accumulator
	ipc   []float64 // process model, per trial: µs per no-op task
}

// New validates cfg, computes the known answers, starts the executor and,
// for the process model, sends a no-op batch through the pool once (it
// warms the workers up and is not recorded). Close it when done.
func New(ctx context.Context, cfg Config) (*Batch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ks, _ := kinds(cfg.Kind, cfg.N)
	b := &Batch{cfg: cfg, tasks: make([]calc.Task, cfg.Tasks), want: make(map[workload.Kind]string, len(ks))}
	for i := range b.tasks {
		b.tasks[i] = calc.Task{Kind: ks[i%len(ks)], N: cfg.N}
	}
	for _, k := range ks {
		v, err := workload.Compute(k, cfg.N)
		if err != nil {
			return nil, err
		}
		b.want[k] = v
	}
	ex, err := newExecutor(cfg)
	if err != nil {
		return nil, err
	}
	b.ex = ex
	b.out = make([]calc.Result, len(b.tasks))
	b.acc = newAccumulator(ex.Workers())
	if pp, ok := ex.(*calc.ProcessPool); ok {
		if _, err := pp.Probe(ctx, len(b.tasks)); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Trial runs one measured trial and checks its results. For the process
// model it then measures the IPC cost: the wall time per task of a batch
// of no-op tasks (same workers, tasks and inflight) through the same pool.
func (b *Batch) Trial(ctx context.Context) error {
	clear(b.out)
	start := time.Now()
	crashes, err := b.ex.Run(ctx, b.tasks, b.out)
	wall := time.Since(start)
	b.acc.crashes = append(b.acc.crashes, crashes...)
	trial := len(b.acc.trials) + 1
	if err != nil {
		return fmt.Errorf("%s trial %d: %w", b.cfg.Model, trial, err)
	}
	b.acc.add(trial, wall, len(crashes), b.tasks, b.out, b.want)
	if pp, ok := b.ex.(*calc.ProcessPool); ok {
		d, err := pp.Probe(ctx, len(b.tasks))
		if err != nil {
			return fmt.Errorf("%s trial %d: %w", b.cfg.Model, trial, err)
		}
		b.ipc = append(b.ipc, float64(d.Nanoseconds())/1e3/float64(len(b.tasks)))
	}
	return nil
}

// Last is the figures of the latest trial, in O(1) (for progress after
// each trial; Result summarises them all); false before the first trial
// that completed.
func (b *Batch) Last() (results.CalcTrial, bool) {
	if len(b.acc.trials) == 0 {
		return results.CalcTrial{}, false
	}
	return b.acc.trials[len(b.acc.trials)-1], true
}

// Result summarises the trials run so far.
func (b *Batch) Result() results.CalcResult {
	r := results.CalcResult{
		Name: b.cfg.Name, Model: b.cfg.Model, Workers: len(b.acc.workers), Inflight: b.cfg.Inflight,
		Kind: b.cfg.Kind, N: b.cfg.N, Tasks: b.cfg.Tasks, GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if len(b.ipc) > 0 {
		r.IPCUs = metrics.Estimate(b.ipc).Median
	}
	b.acc.finish(&r)
	return r
}

// Err wraps ErrMismatch when a trial produced a wrong, failed or missing
// result.
func (b *Batch) Err() error {
	if a := b.acc; a.mismatches > 0 {
		return fmt.Errorf("%s: %w: %d of %d results (first: %s)", b.cfg.Model, ErrMismatch, a.mismatches, a.checked, a.first)
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
