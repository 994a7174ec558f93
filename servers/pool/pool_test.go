package pool

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
	"github.com/clusterbench/clusterbench/servers/servertest"
)

func TestContract(t *testing.T) {
	base := servertest.Start(t, func(ctx context.Context, ln net.Listener) error {
		return Serve(ctx, ln, Config{Workers: 3})
	})
	servertest.Run(t, base, servertest.Options{Workers: 3})
}

func TestDrain(t *testing.T) {
	servertest.Drain(t, func(ctx context.Context, ln net.Listener) error {
		return Serve(ctx, ln, Config{Workers: 3})
	})
}

func TestNewRejectsBadSizes(t *testing.T) {
	if _, err := New(0, 1); err == nil {
		t.Error("New(0, 1) succeeded, want an error")
	}
	if _, err := New(1, 0); err == nil {
		t.Error("New(1, 0) succeeded, want an error")
	}
}

// TestFullQueueRefusesAtOnce fills the only worker and the queue, then checks
// that one more job is refused with ErrOverloaded without waiting.
func TestFullQueueRefusesAtOnce(t *testing.T) {
	p, err := New(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	running := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // occupies the worker
		defer wg.Done()
		_ = p.Execute(context.Background(), func(int) { close(running); <-release })
	}()
	<-running
	queued := make(chan error, 1)
	go func() { // occupies the queue slot
		defer wg.Done()
		queued <- p.Execute(context.Background(), func(int) {})
	}()
	// Wait until the second job sits in the queue.
	for len(p.queue) == 0 {
		select {
		case err := <-queued:
			t.Fatalf("second job returned %v before the worker was free", err)
		default:
		}
		runtime.Gosched()
	}
	if err := p.Execute(context.Background(), func(int) { t.Error("refused job ran") }); !errors.Is(err, app.ErrOverloaded) {
		t.Fatalf("Execute on a full queue = %v, want ErrOverloaded", err)
	}
	close(release)
	wg.Wait()
	if err := <-queued; err != nil {
		t.Errorf("queued job = %v, want nil", err)
	}
	p.Close()
}

func TestPanicFailsOnlyItsJob(t *testing.T) {
	p, err := New(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var pe *app.PanicError
	if err := p.Execute(context.Background(), func(int) { panic("boom") }); !errors.As(err, &pe) {
		t.Fatalf("Execute(panic) = %v, want PanicError", err)
	}
	var ran atomic.Bool
	if err := p.Execute(context.Background(), func(w int) { ran.Store(w == 0) }); err != nil || !ran.Load() {
		t.Fatalf("Execute after a panic = %v (ran=%v), want the same worker to run it", err, ran.Load())
	}
}

func TestAbandonedJobDoesNotRun(t *testing.T) {
	p, err := New(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	release := make(chan struct{})
	running := make(chan struct{})
	go func() { _ = p.Execute(context.Background(), func(int) { close(running); <-release }) }()
	<-running
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Execute(ctx, func(int) { t.Error("abandoned job ran") }) }()
	for len(p.queue) == 0 {
		runtime.Gosched()
	}
	cancel()
	close(release)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute of an abandoned job = %v, want context.Canceled", err)
	}
}

// startedExec wraps an Executor and reports on started each time a job
// begins to run on a worker: the readiness signal of the overload test.
type startedExec struct {
	app.Executor
	started chan<- struct{}
}

func (e startedExec) Execute(ctx context.Context, fn func(worker int)) error {
	return e.Executor.Execute(ctx, func(w int) {
		e.started <- struct{}{}
		fn(w)
	})
}

// TestHTTPOverloadAndPanic checks the HTTP mapping: 503 with Retry-After on
// a full queue, 500 on a panic, and the worker serving afterwards.
//
// The worker and the queue are filled with stalls in a known order (the
// first stall is seen running, then the second is seen queued) before the
// one probe that must be refused, so no probe can slip into the queue
// behind a stall and wait for it.
func TestHTTPOverloadAndPanic(t *testing.T) {
	p, err := New(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close) // after the server's cleanup below: cleanups run last first
	started := make(chan struct{}, 8)
	h := app.Handler(app.Config{Exec: startedExec{Executor: p, started: started}, Faults: true})
	base := servertest.Start(t, func(ctx context.Context, ln net.Listener) error { return app.Serve(ctx, ln, h, 5*time.Second) })

	resp, _ := servertest.Get(t, base, "/fault/panic")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /fault/panic = %d, want 500", resp.StatusCode)
	}
	if resp, _ := servertest.Get(t, base, "/"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Worker-Id") != "0" {
		t.Fatalf("GET / after a panic = %d worker %q, want 200 from worker 0", resp.StatusCode, resp.Header.Get("X-Worker-Id"))
	}
	for len(started) > 0 { // the two requests above
		<-started
	}

	// Occupy the worker, then the queue, with long stalls; the test cancels
	// them once it has its answer (a stall ends when its request's context
	// does).
	stallCtx, stopStalls := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stall := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(stallCtx, http.MethodGet, base+"/fault/stall?d=30s", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				stopStalls()
				wg.Wait()
				t.Fatalf("%s: not within 20s", what)
			}
			time.Sleep(time.Millisecond) // polls pool state, which has no signal
		}
	}
	stall()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first stall did not reach the worker within 20s")
	}
	stall()
	waitFor("the second stall queued", func() bool { return len(p.queue) == 1 })

	resp, body := servertest.Get(t, base, "/")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET / with the worker and the queue full = %d %s, want 503", resp.StatusCode, body)
	} else if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	stopStalls()
	wg.Wait()
}

// TestExecuteAfterClose: a handler that outlives a forced shutdown gets a
// refusal, not a panic on the closed queue; Close may be called again.
func TestExecuteAfterClose(t *testing.T) {
	p, err := New(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := p.Execute(context.Background(), func(int) { t.Error("job ran after Close") }); !errors.Is(err, ErrClosed) || !errors.Is(err, app.ErrOverloaded) {
		t.Errorf("Execute after Close = %v, want ErrClosed (an ErrOverloaded)", err)
	}
	p.Close()
}

// TestQueueTimeout: with the only worker busy, a queued job is refused with
// ErrQueueTimeout (an ErrOverloaded) while the busy job is still running,
// that is, without waiting for a worker, and the refused job never runs.
func TestQueueTimeout(t *testing.T) {
	p, err := New(1, 4, WithQueueTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	refusedRan, err := behindBusy(t, p)
	if !errors.Is(err, ErrQueueTimeout) || !errors.Is(err, app.ErrOverloaded) {
		t.Fatalf("Execute behind a busy worker = %v, want ErrQueueTimeout (an ErrOverloaded)", err)
	}
	// The worker is free again: it dequeues the refused job (and drops it)
	// before it runs this one.
	if err := p.Execute(context.Background(), func(int) {}); err != nil {
		t.Fatalf("Execute on a free worker = %v, want nil", err)
	}
	p.Close()
	if refusedRan.Load() {
		t.Error("a job refused for its queue timeout ran")
	}
}

// TestHTTPQueueTimeout: over HTTP, a request queued behind a stalled one
// gets 503 with Retry-After while the stall is still running.
func TestHTTPQueueTimeout(t *testing.T) {
	p, err := New(1, 4, WithQueueTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	started := make(chan struct{}, 1)
	h := app.Handler(app.Config{Exec: startedExec{Executor: p, started: started}, Faults: true})
	base := servertest.Start(t, func(ctx context.Context, ln net.Listener) error { return app.Serve(ctx, ln, h, 5*time.Second) })

	stallCtx, stopStall := context.WithCancel(context.Background())
	stallDone := make(chan struct{})
	go func() {
		defer close(stallDone)
		req, _ := http.NewRequestWithContext(stallCtx, http.MethodGet, base+"/fault/stall?d=30s", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the stall did not reach the worker within 20s")
	}
	resp, body := servertest.Get(t, base, "/")
	select {
	case <-stallDone:
		t.Error("the stall ended before the queued request was answered")
	default:
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("GET / behind a stalled worker = %d (Retry-After %q) %s, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	stopStall()
	<-stallDone
}

// TestExpectedWait: once jobs are known to take longer than the queue
// timeout, a job that would queue behind a busy worker is refused at once
// (ErrExpectedWait, before the busy job ends: it ends only when the test
// releases it), never runs, and a free worker still takes the next job.
func TestExpectedWait(t *testing.T) {
	const timeout = 20 * time.Millisecond
	p, err := New(1, 4, WithQueueTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// One job of at least 4× the timeout (a sleep lasts at least its
	// duration): the average of job durations is above the timeout.
	if err := p.Execute(context.Background(), func(int) { time.Sleep(4 * timeout) }); err != nil {
		t.Fatal(err)
	}
	refusedRan, err := behindBusy(t, p)
	if !errors.Is(err, ErrExpectedWait) || !errors.Is(err, app.ErrOverloaded) {
		t.Fatalf("Execute behind a busy worker, jobs slower than the queue timeout = %v, want ErrExpectedWait (an ErrOverloaded) at once", err)
	}
	if err := p.Execute(context.Background(), func(int) {}); err != nil {
		t.Fatalf("Execute on a free worker = %v, want nil: an idle worker admits whatever the average", err)
	}
	if refusedRan.Load() {
		t.Error("a job refused for its expected wait ran")
	}
}

// TestExpectedWaitAdmitsShortJobs: with jobs far shorter than the timeout,
// a job queued behind a busy worker is admitted and runs.
func TestExpectedWaitAdmitsShortJobs(t *testing.T) {
	p, err := New(1, 4, WithQueueTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Execute(context.Background(), func(int) {}); err != nil {
		t.Fatal(err)
	}
	release, first := occupy(p)
	second := make(chan error, 1)
	ran := make(chan struct{})
	go func() { second <- p.Execute(context.Background(), func(int) { close(ran) }) }()
	for len(p.queue) == 0 { // queued: pool state has no signal
		select {
		case err := <-second:
			t.Fatalf("a job behind a busy worker returned %v before it was queued, want it queued", err)
		default:
			runtime.Gosched()
		}
	}
	close(release)
	<-ran
	if err := <-second; err != nil {
		t.Fatalf("queued job = %v, want nil", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestExpectedWaitSkipsGivenUpJobs: a job whose caller gave up (the queue
// timeout) still sits in the queue until a worker drops it; the expected
// wait of the next job leaves it out. With one busy worker and a 15ms
// average against a 20ms timeout, a queue holding only the given-up job
// admits (counting it would make the wait 30ms and refuse).
func TestExpectedWaitSkipsGivenUpJobs(t *testing.T) {
	const timeout = 20 * time.Millisecond
	p, err := New(1, 4, WithQueueTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	release, first := occupy(p)
	if err := p.Execute(context.Background(), func(int) { t.Error("a job refused for its queue timeout ran") }); !errors.Is(err, ErrQueueTimeout) {
		close(release)
		t.Fatalf("Execute behind a busy worker = %v, want ErrQueueTimeout", err)
	}
	// The busy job has not ended, so no worker updates the average now.
	p.est.Store(int64(15 * time.Millisecond))
	if got := len(p.queue); got != 1 {
		close(release)
		t.Fatalf("queue holds %d jobs, want the given-up one", got)
	}
	if p.wouldWait() {
		t.Error("wouldWait counted the given-up job: want admit (one busy worker, 15ms average, 20ms timeout)")
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("busy job = %v, want nil", err)
	}
}

// behindBusy occupies p's only worker, submits a job behind it, then
// releases the busy job; it returns a flag that the job behind sets if it
// ever runs, and that job's Execute error. It fails t when the busy job
// ended before that Execute returned, or ended with an error.
func behindBusy(t *testing.T, p *Pool) (*atomic.Bool, error) {
	t.Helper()
	release, first := occupy(p)
	ran := new(atomic.Bool)
	err := p.Execute(context.Background(), func(int) { ran.Store(true) })
	select {
	case err := <-first:
		t.Fatalf("the busy job ended (%v) before the queued one was refused", err)
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("busy job = %v, want nil", err)
	}
	return ran, err
}

// occupy runs a job on a worker of p and returns once it runs: closing
// release ends it, and first yields its Execute's error.
func occupy(p *Pool) (release chan struct{}, first <-chan error) {
	release = make(chan struct{})
	running := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p.Execute(context.Background(), func(int) { close(running); <-release }) }()
	<-running
	return release, done
}
