// Package calc is the master→workers calculation example of the Node.js
// cluster docs, rebuilt in Go and made measurable: a master hands
// calculation tasks (servers/workload) to workers and collects the exact
// results.
//
// Three Executors run a batch of tasks:
//
//   - Inline: the master computes every task itself, on one goroutine.
//   - GoroutinePool: N goroutines pull tasks from a shared counter.
//   - ProcessPool: N worker processes (re-executions of the running binary,
//     recognised by WorkerEnv) talk to the master over two pipes with a
//     compact length-prefixed binary protocol (frame.go). Workers pull work
//     by credit: the master keeps at most Inflight tasks outstanding per
//     worker and sends more as results come back, many frames per syscall.
//     A worker that dies mid-batch has its in-flight tasks re-queued for the
//     others, is restarted within a restart budget, and is reported as a
//     Crash. Workers die with the master (Pdeathsig from a locked OS thread,
//     and exit on EOF of their task pipe). Linux only: elsewhere
//     NewProcessPool fails with the reason Unsupported gives.
//
// The measurement of a batch (trials, checking every result, throughput,
// latency, per-worker shares) is the harness's: bench/calcbatch. This
// package holds what a worker process and the master's executors need at
// run time, and nothing of the harness.
//
// Concurrency: an Executor runs one batch at a time (Run must not be called
// concurrently on the same Executor); Close must be called once, after the
// last Run returns. The package holds no global state.
package calc

import (
	"context"
	"fmt"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// Models of execution.
const (
	ModelInline    = "inline"
	ModelGoroutine = "goroutine"
	ModelProcess   = "process"
)

// Models lists the models in a stable order.
var Models = []string{ModelInline, ModelGoroutine, ModelProcess}

// Unsupported returns why model cannot run on this system, or nil where it
// can: the process pool needs Linux; inline and goroutine run everywhere.
func Unsupported(model string) error {
	if model == ModelProcess {
		return processPoolUnsupported()
	}
	return nil
}

// Task is one calculation to run.
type Task struct {
	Kind workload.Kind
	N    int64
}

// Result is the outcome of one task, stored at the task's index.
type Result struct {
	Value  string // exact decimal result; empty when Err is set
	Err    string // the worker's error computing the task, if any
	Worker int    // slot of the worker that ran it (0-based)
	Pid    int    // process that ran it
	// ComputeNs is the worker's own time computing the task; LatencyNs is
	// the time from the master dispatching it to the master holding the
	// result (for the process pool this includes the pipe round trip and
	// the tasks queued ahead of it on that worker).
	ComputeNs int64
	LatencyNs int64
	// Done is set once the result arrived; a task is never completed twice.
	Done bool
}

// Crash is a worker process that died while the master needed it.
type Crash struct {
	Worker    int    `json:"worker"`
	Pid       int    `json:"pid"`
	Reason    string `json:"reason"`    // what the master saw and how the process ended
	Requeued  int    `json:"requeued"`  // in-flight tasks handed to other workers
	Restarted bool   `json:"restarted"` // false when the restart budget was spent
	NewPid    int    `json:"new_pid,omitempty"`
}

// Executor runs a batch of tasks and fills out[i] with the result of
// tasks[i]. It returns the worker crashes it recovered from. Run is not
// safe for concurrent use; Close releases the workers.
type Executor interface {
	Run(ctx context.Context, tasks []Task, out []Result) ([]Crash, error)
	Workers() int
	Close() error
}

// Wire codes of the kinds; kindNoop answers at once with an empty value and
// measures the round trip alone.
const (
	kindNoop      byte = 0
	kindFactorial byte = 1
	kindSum       byte = 2
	kindPrimes    byte = 3
	kindFibonacci byte = 4
)

// noopKind is the Task.Kind of a no-op probe task.
const noopKind workload.Kind = "noop"

func kindCode(k workload.Kind) (byte, error) {
	switch k {
	case workload.Factorial:
		return kindFactorial, nil
	case workload.Sum:
		return kindSum, nil
	case workload.Primes:
		return kindPrimes, nil
	case workload.Fibonacci:
		return kindFibonacci, nil
	case noopKind:
		return kindNoop, nil
	}
	return 0, fmt.Errorf("unknown kind %q", k)
}

func kindOf(code byte) (workload.Kind, bool) {
	switch code {
	case kindFactorial:
		return workload.Factorial, true
	case kindSum:
		return workload.Sum, true
	case kindPrimes:
		return workload.Primes, true
	case kindFibonacci:
		return workload.Fibonacci, true
	case kindNoop:
		return noopKind, true
	}
	return "", false
}

// compute runs one task; the no-op kind returns an empty value.
func compute(kind workload.Kind, n int64) (string, error) {
	if kind == noopKind {
		return "", nil
	}
	return workload.Compute(kind, n)
}
