package pool

import (
	"context"
	"testing"
)

// BenchmarkExecute is the pool's own cost per job (queue hand-off, wake-up,
// done signal) with no work, from parallel callers as an HTTP server has.
func BenchmarkExecute(b *testing.B) { benchExecute(b) }

// BenchmarkExecuteQueueTimeout is BenchmarkExecute with the queue timeout
// that Serve uses by default: the cost of arming and stopping the job's
// reused timer.
func BenchmarkExecuteQueueTimeout(b *testing.B) {
	benchExecute(b, WithQueueTimeout(DefaultQueueTimeout))
}

// benchExecute runs empty jobs from parallel callers through a pool of 2
// workers with the default queue and opts.
func benchExecute(b *testing.B, opts ...Option) {
	p, err := New(2, DefaultQueue, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	fn := func(int) {}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.Execute(ctx, fn); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
