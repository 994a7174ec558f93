// Package pool is the goroutine-pool model: handlers hand each request's work
// to N worker goroutines through a bounded queue. A full queue refuses work at
// once (app.ErrOverloaded → 503 with Retry-After) instead of queueing without
// bound, and a panic fails only the request whose work panicked.
package pool

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
)

// DefaultQueue is the queue capacity when Config.Queue is zero.
const DefaultQueue = 1024

type job struct {
	ctx  context.Context
	fn   func(worker int)
	err  error
	done chan struct{}
}

// Pool is a fixed set of worker goroutines fed by a bounded queue. It
// implements app.Executor. Execute and Close are safe for concurrent use;
// an Execute after Close refuses the work (ErrClosed).
type Pool struct {
	queue  chan *job
	wg     sync.WaitGroup
	jobs   sync.Pool
	mu     sync.RWMutex // held for reading while a job is queued; Close takes it to close queue
	closed bool
}

// ErrClosed is returned by Execute after Close. It wraps
// app.ErrOverloaded, so a handler answers 503 with Retry-After.
var ErrClosed = fmt.Errorf("pool: closed: %w", app.ErrOverloaded)

// New starts workers goroutines behind a queue of capacity queue.
func New(workers, queue int) (*Pool, error) {
	if workers < 1 {
		return nil, fmt.Errorf("pool: workers must be at least 1, got %d", workers)
	}
	if queue < 1 {
		return nil, fmt.Errorf("pool: queue must be at least 1, got %d", queue)
	}
	p := &Pool{queue: make(chan *job, queue)}
	p.jobs.New = func() any { return &job{done: make(chan struct{}, 1)} }
	p.wg.Add(workers)
	for i := range workers {
		go p.work(i)
	}
	return p, nil
}

func (p *Pool) work(id int) {
	defer p.wg.Done()
	for j := range p.queue {
		if err := j.ctx.Err(); err != nil {
			j.err = err // abandoned while queued: do not run it
		} else {
			j.err = app.Inline{ID: id}.Execute(j.ctx, j.fn)
		}
		j.done <- struct{}{}
	}
}

// Execute queues fn and waits until a worker has run it. It returns
// app.ErrOverloaded at once when the queue is full, and ctx.Err() when the
// request was abandoned before a worker took it. When Execute returns, fn
// has either finished or will never run.
func (p *Pool) Execute(ctx context.Context, fn func(worker int)) error {
	j := p.jobs.Get().(*job)
	j.ctx, j.fn, j.err = ctx, fn, nil
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		p.put(j)
		return ErrClosed
	}
	select {
	case p.queue <- j:
		p.mu.RUnlock()
	default:
		p.mu.RUnlock()
		p.put(j)
		return app.ErrOverloaded
	}
	<-j.done
	err := j.err
	p.put(j)
	return err
}

func (p *Pool) put(j *job) {
	j.ctx, j.fn, j.err = nil, nil, nil
	p.jobs.Put(j)
}

// Close stops the workers after the queued work is done and waits for them.
// Later calls only wait.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Config configures Serve.
type Config struct {
	App     app.Config    // Exec is replaced by the pool
	Workers int           // worker goroutines; must be ≥ 1
	Queue   int           // queue capacity; zero means DefaultQueue
	Grace   time.Duration // drain deadline on shutdown; zero means 5s
}

// Serve serves the API on ln through a pool until ctx is done, then drains
// the HTTP server and stops the workers. It returns after every worker has
// ended, also when the drain was cut short at Grace (a handler still
// running then gets ErrClosed, a 503, for work it had not yet queued).
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Grace == 0 {
		cfg.Grace = 5 * time.Second
	}
	p, err := New(cfg.Workers, cfg.Queue)
	if err != nil {
		return err
	}
	cfg.App.Exec = p
	err = app.Serve(ctx, ln, app.Handler(cfg.App), cfg.Grace)
	p.Close()
	return err
}
