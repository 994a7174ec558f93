// Package pool is the goroutine-pool model: handlers hand each request's work
// to N worker goroutines through a queue bounded twice, in count and in
// waiting time. A full queue refuses work at once; so does a queue whose
// expected wait (the jobs ahead, over the workers, times the running
// average of job durations) exceeds the queue timeout; and work that no
// worker took within the queue timeout all the same is refused as soon as
// that time has passed (all three app.ErrOverloaded → 503 with
// Retry-After), instead of queueing without bound; a panic fails only the
// request whose work panicked.
package pool

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
)

// Defaults used when the corresponding Config field is zero.
const (
	// DefaultQueue is the queue capacity.
	DefaultQueue = 1024
	// DefaultQueueTimeout is the longest a job waits in the queue for a
	// worker before it is refused.
	DefaultQueueTimeout = time.Second
)

// NoQueueTimeout as Config.QueueTimeout bounds the queue by count only.
const NoQueueTimeout time.Duration = -1

// States of a queued job: a worker takes it, or its caller gives up waiting
// (the queue timeout), whichever comes first.
const (
	jobQueued uint32 = iota
	jobTaken
	jobGivenUp
)

type job struct {
	ctx   context.Context
	fn    func(worker int)
	err   error
	done  chan struct{}
	state atomic.Uint32
	timer *time.Timer // the queue timeout; stopped when not in use
}

// Pool is a fixed set of worker goroutines fed by a bounded queue. It
// implements app.Executor. Execute and Close are safe for concurrent use;
// an Execute after Close refuses the work (ErrClosed).
type Pool struct {
	queue   chan *job
	timeout time.Duration // queue timeout; ≤ 0 means none
	workers int
	busy    atomic.Int64 // jobs running on a worker (counted with a queue timeout only)
	// est is the running average of job durations in nanoseconds (an
	// exponentially weighted one, weight 1/estWeight for the newest
	// job); zero until a job has run. Workers update it without a lock:
	// an update lost to a concurrent one only delays the average.
	est atomic.Int64
	// givenUp counts the jobs in the queue whose callers gave up waiting
	// (the queue timeout): wouldWait leaves them out, since a worker
	// drops them without running them. It may dip below zero for an
	// instant, when a worker drops a job before its caller counts it.
	givenUp atomic.Int64
	wg      sync.WaitGroup
	jobs    sync.Pool
	mu      sync.RWMutex // held for reading while a job is queued; Close takes it to close queue
	closed  bool
}

// ErrClosed is returned by Execute after Close. It wraps
// app.ErrOverloaded, so a handler answers 503 with Retry-After.
var ErrClosed = fmt.Errorf("pool: closed: %w", app.ErrOverloaded)

// ErrQueueTimeout is returned by Execute when no worker took the job within
// the queue timeout. It wraps app.ErrOverloaded, so a handler answers 503
// with Retry-After.
var ErrQueueTimeout = fmt.Errorf("pool: no worker free within the queue timeout: %w", app.ErrOverloaded)

// ErrExpectedWait is returned by Execute, at once, when the queue's
// expected wait exceeds the queue timeout: a worker is busy with every
// slot, and (jobs queued / workers + 1) × the average job duration is more
// than the timeout. It wraps app.ErrOverloaded, so a handler answers 503
// with Retry-After.
var ErrExpectedWait = fmt.Errorf("pool: the queue's expected wait exceeds the queue timeout: %w", app.ErrOverloaded)

// estWeight is the inverse weight of the newest job in the average of job
// durations.
const estWeight = 8

// Option tunes New.
type Option func(*Pool)

// WithQueueTimeout refuses a job that waited d in the queue without a worker
// taking it (ErrQueueTimeout). d ≤ 0 means no time bound, the default of New.
func WithQueueTimeout(d time.Duration) Option { return func(p *Pool) { p.timeout = d } }

// New starts workers goroutines behind a queue of capacity queue.
func New(workers, queue int, opts ...Option) (*Pool, error) {
	if workers < 1 {
		return nil, fmt.Errorf("pool: workers must be at least 1, got %d", workers)
	}
	if queue < 1 {
		return nil, fmt.Errorf("pool: queue must be at least 1, got %d", queue)
	}
	p := &Pool{queue: make(chan *job, queue), workers: workers}
	for _, o := range opts {
		o(p)
	}
	p.jobs.New = func() any {
		j := &job{done: make(chan struct{}, 1)}
		if p.timeout > 0 {
			j.timer = time.NewTimer(p.timeout)
			j.timer.Stop()
		}
		return j
	}
	p.wg.Add(workers)
	for i := range workers {
		go p.work(i)
	}
	return p, nil
}

func (p *Pool) work(id int) {
	defer p.wg.Done()
	for j := range p.queue {
		if !j.state.CompareAndSwap(jobQueued, jobTaken) {
			p.givenUp.Add(-1)
			continue // its caller stopped waiting for it: nobody reads it
		}
		if err := j.ctx.Err(); err != nil {
			j.err = err // abandoned while queued: do not run it
		} else {
			j.err = p.run(id, j)
		}
		j.done <- struct{}{}
	}
}

// run runs j on worker id. Only a pool with a queue timeout counts busy
// workers and times the job: wouldWait reads neither without one.
func (p *Pool) run(id int, j *job) error {
	if p.timeout <= 0 {
		return app.Inline{ID: id}.Execute(j.ctx, j.fn)
	}
	p.busy.Add(1)
	start := time.Now()
	err := app.Inline{ID: id}.Execute(j.ctx, j.fn) // recovers a panic: never unwinds
	p.observe(time.Since(start))
	p.busy.Add(-1)
	return err
}

// observe adds the duration of a job that ran to the average.
func (p *Pool) observe(d time.Duration) {
	old := p.est.Load()
	if old == 0 {
		p.est.Store(max(int64(d), 1))
		return
	}
	p.est.Store(max(old+(int64(d)-old)/estWeight, 1))
}

// wouldWait reports whether a job queued now is expected to wait longer
// than the queue timeout: every worker is busy or spoken for, and the jobs
// queued ahead of it, shared among the workers, plus the running ones,
// take longer than the timeout at the average job duration. Jobs whose
// callers gave up are not counted: a worker drops them without running
// them. An idle worker with no live job queued always admits.
func (p *Pool) wouldWait() bool {
	est := p.est.Load()
	if p.timeout <= 0 || est == 0 {
		return false
	}
	queued := max(int64(len(p.queue))-p.givenUp.Load(), 0)
	if queued+p.busy.Load() < int64(p.workers) {
		return false
	}
	return (queued/int64(p.workers)+1)*est > int64(p.timeout)
}

// Execute queues fn and waits until a worker has run it. It returns
// app.ErrOverloaded at once when the queue is full, ErrExpectedWait at once
// when the queue's expected wait exceeds the queue timeout (wouldWait),
// ErrQueueTimeout as soon as fn has waited the queue timeout without a
// worker taking it, and
// ctx.Err() when the request was abandoned before a worker took it. When
// Execute returns, fn has either finished or will never run.
func (p *Pool) Execute(ctx context.Context, fn func(worker int)) error {
	j := p.jobs.Get().(*job)
	j.ctx, j.fn, j.err = ctx, fn, nil
	j.state.Store(jobQueued)
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		p.put(j)
		return ErrClosed
	}
	if p.wouldWait() {
		p.mu.RUnlock()
		p.put(j)
		return ErrExpectedWait
	}
	select {
	case p.queue <- j:
		p.mu.RUnlock()
	default:
		p.mu.RUnlock()
		p.put(j)
		return app.ErrOverloaded
	}
	if j.timer != nil {
		j.timer.Reset(p.timeout)
		select {
		case <-j.done:
			j.timer.Stop()
		case <-j.timer.C:
			if j.state.CompareAndSwap(jobQueued, jobGivenUp) {
				p.givenUp.Add(1)
				// The queue still holds j: it is not reused, and the
				// worker that dequeues it drops it.
				return ErrQueueTimeout
			}
			<-j.done // a worker took it in the meantime
		}
	} else {
		<-j.done
	}
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
	// QueueTimeout is the longest a job waits in the queue for a worker
	// before its request gets 503, and a job whose expected wait is longer
	// gets it at once; zero means DefaultQueueTimeout,
	// NoQueueTimeout (or any negative value) means no time bound.
	QueueTimeout time.Duration
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
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	p, err := New(cfg.Workers, cfg.Queue, WithQueueTimeout(cfg.QueueTimeout))
	if err != nil {
		return err
	}
	cfg.App.Exec = p
	err = app.Serve(ctx, ln, app.Handler(cfg.App), cfg.Grace)
	p.Close()
	return err
}
