package calc

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ctxCheckEvery is how many tasks an in-process worker runs between checks
// of its context.
const ctxCheckEvery = 256

// Inline is the Executor in which the master computes every task itself on
// the calling goroutine: worker 0, no hand-off at all.
type Inline struct{}

// Workers is always 1.
func (Inline) Workers() int { return 1 }

// Close does nothing.
func (Inline) Close() error { return nil }

// Run computes the tasks in order.
func (Inline) Run(ctx context.Context, tasks []Task, out []Result) ([]Crash, error) {
	pid := os.Getpid()
	for i := range tasks {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		runLocal(&tasks[i], &out[i], 0, pid)
	}
	return nil, nil
}

// GoroutinePool is the Executor with N worker goroutines that pull the next
// task from a shared atomic counter (pull-based, one task at a time), the
// in-process analogue of Node's worker_threads.
type GoroutinePool struct{ N int }

// Workers is the number of goroutines.
func (g GoroutinePool) Workers() int { return max(g.N, 1) }

// Close does nothing: the goroutines live only inside Run.
func (GoroutinePool) Close() error { return nil }

// Run starts the goroutines and waits for all of them.
func (g GoroutinePool) Run(ctx context.Context, tasks []Task, out []Result) ([]Crash, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	pid := os.Getpid()
	for w := range g.Workers() {
		wg.Go(func() {
			for k := 0; ; k++ {
				if k%ctxCheckEvery == 0 && ctx.Err() != nil {
					return
				}
				i := next.Add(1) - 1
				if i >= int64(len(tasks)) {
					return
				}
				runLocal(&tasks[i], &out[i], w, pid)
			}
		})
	}
	wg.Wait()
	return nil, ctx.Err()
}

// runLocal computes t in this process; dispatch is the pull itself, so the
// latency equals the compute time.
func runLocal(t *Task, r *Result, worker, pid int) {
	start := time.Now()
	v, err := compute(t.Kind, t.N)
	ns := time.Since(start).Nanoseconds()
	*r = Result{Value: v, Worker: worker, Pid: pid, ComputeNs: ns, LatencyNs: ns, Done: true}
	if err != nil {
		r.Err = err.Error()
	}
}
