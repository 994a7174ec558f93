package calc

import (
	"context"
	"runtime"
	"testing"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// The per-task IPC overhead: the same tiny task (sum n=1) through each
// executor, b.N tasks in one batch. Compare ns/op of ProcessPoolTiny with
// GoroutinePoolTiny (same workers): the difference is the cost of the pipe
// protocol per task.

func benchTiny(b *testing.B, ex Executor, kind workload.Kind) {
	tasks := make([]Task, b.N)
	for i := range tasks {
		tasks[i] = Task{Kind: kind, N: 1}
	}
	out := make([]Result, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := ex.Run(context.Background(), tasks, out); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	for i := range out {
		if !out[i].Done || out[i].Err != "" {
			b.Fatalf("task %d: %+v", i, out[i])
		}
	}
}

func benchWorkers() int { return runtime.GOMAXPROCS(0) }

func BenchmarkInlineTiny(b *testing.B) { benchTiny(b, Inline{}, workload.Sum) }

func BenchmarkGoroutinePoolTiny(b *testing.B) {
	benchTiny(b, GoroutinePool{N: benchWorkers()}, workload.Sum)
}

func newBenchPool(b *testing.B, workers int) *ProcessPool {
	p, err := NewProcessPool(ProcessConfig{Workers: workers, Command: selfCommand()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func BenchmarkProcessPoolTiny(b *testing.B) {
	benchTiny(b, newBenchPool(b, benchWorkers()), workload.Sum)
}

// BenchmarkProcessPoolTiny1 is one worker process: the master and the
// worker each get a core.
func BenchmarkProcessPoolTiny1(b *testing.B) {
	benchTiny(b, newBenchPool(b, 1), workload.Sum)
}

// BenchmarkProcessPoolNoop is the round trip alone (the worker answers
// without computing).
func BenchmarkProcessPoolNoop(b *testing.B) {
	benchTiny(b, newBenchPool(b, benchWorkers()), noopKind)
}
