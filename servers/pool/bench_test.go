package pool

import (
	"context"
	"testing"
)

// BenchmarkExecute is the pool's own cost per job (queue hand-off, wake-up,
// done signal) with no work, from parallel callers as an HTTP server has.
func BenchmarkExecute(b *testing.B) {
	p, err := New(2, DefaultQueue)
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

// BenchmarkExecuteQueueTimeout is BenchmarkExecute with the queue timeout
// that Serve uses by default: the cost of arming and stopping the job's
// reused timer.
func BenchmarkExecuteQueueTimeout(b *testing.B) {
	p, err := New(2, DefaultQueue, WithQueueTimeout(DefaultQueueTimeout))
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
