package calc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterbench/clusterbench/servers/spawn"
)

// Defaults of ProcessConfig.
const (
	DefaultInflight      = 64
	MaxInflight          = 1024
	DefaultMaxRestarts   = 5
	DefaultRestartWindow = 10 * time.Second
	// DefaultWorkerArg is the argument the running binary is re-executed
	// with when ProcessConfig.Command is empty (`clusterbench calc`, which
	// turns into a worker when it sees WorkerEnv).
	DefaultWorkerArg = "calc"
	// DefaultStartTimeout bounds the wait for a new worker's hello frame.
	DefaultStartTimeout = 10 * time.Second
	// stopGrace is how long Close waits for a worker to exit on EOF before
	// it kills it.
	stopGrace = 2 * time.Second
)

// ProcessConfig configures a ProcessPool. The zero value of every field but
// Workers is a documented default.
type ProcessConfig struct {
	Workers  int // worker processes, ≥ 1
	Inflight int // tasks outstanding per worker (credits); 0 = DefaultInflight, at most MaxInflight
	// Command is the argv of a worker process; it must call RunWorker when
	// it sees WorkerEnv. Empty = the running binary with DefaultWorkerArg.
	Command []string
	Env     []string  // extra KEY=VALUE for the workers
	Stderr  io.Writer // the workers' stderr; nil = discarded
	// Restart budget: at most MaxRestarts restarts within any
	// RestartWindow (0 = the defaults; MaxRestarts < 0 = never restart).
	MaxRestarts   int
	RestartWindow time.Duration
	// KillAfter, when > 0, SIGKILLs the worker that delivered the
	// KillAfter-th result of each Run: a demonstration and test of recovery.
	KillAfter int
	// StartTimeout bounds the wait for a new worker's hello frame (a
	// command that is no calc worker fails here instead of hanging the
	// batch); 0 = DefaultStartTimeout.
	StartTimeout time.Duration
}

// ProcessPool is the Executor whose workers are processes. See the package
// documentation for the protocol and the recovery rules.
type ProcessPool struct {
	cfg   ProcessConfig
	argv  []string
	slots []*slot

	mu       sync.Mutex // guards slot.proc swaps, restarts, broken
	restarts []time.Time
	broken   error
}

// slot is one worker position; its process changes on restart.
type slot struct {
	id   int
	proc *proc // nil once the restart budget is spent
}

// proc is one running worker process and the master's ends of its pipes.
type proc struct {
	pid     int
	child   *spawn.Child
	tasks   *os.File // write end of the task pipe
	results *os.File // read end of the result pipe
	bw      *bufio.Writer
	fr      *frameReader
}

// NewProcessPool starts cfg.Workers worker processes. On error no process
// is left running.
func NewProcessPool(cfg ProcessConfig) (*ProcessPool, error) {
	if err := processPoolUnsupported(); err != nil {
		return nil, err
	}
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("process pool: workers %d out of range (allowed: ≥ 1)", cfg.Workers)
	}
	if cfg.Inflight == 0 {
		cfg.Inflight = DefaultInflight
	}
	if cfg.Inflight < 1 || cfg.Inflight > MaxInflight {
		return nil, fmt.Errorf("process pool: inflight %d out of range (allowed: 1..%d)", cfg.Inflight, MaxInflight)
	}
	if cfg.MaxRestarts == 0 {
		cfg.MaxRestarts = DefaultMaxRestarts
	}
	if cfg.RestartWindow <= 0 {
		cfg.RestartWindow = DefaultRestartWindow
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	p := &ProcessPool{cfg: cfg, argv: cfg.Command}
	if len(p.argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("process pool: find the running binary: %w", err)
		}
		p.argv = []string{exe, DefaultWorkerArg}
	}
	for i := range cfg.Workers {
		pr, err := p.spawn()
		if err != nil {
			_ = p.Close()
			return nil, fmt.Errorf("process pool: start worker %d: %w", i, err)
		}
		p.slots = append(p.slots, &slot{id: i, proc: pr})
	}
	return p, nil
}

// Workers is the number of worker slots.
func (p *ProcessPool) Workers() int { return p.cfg.Workers }

// Pids returns the current process of every slot (0 for a slot whose
// restart budget is spent). Not safe to call during Run.
func (p *ProcessPool) Pids() []int {
	pids := make([]int, len(p.slots))
	for i, s := range p.slots {
		if s.proc != nil {
			pids[i] = s.proc.pid
		}
	}
	return pids
}

// spawn starts one worker through servers/spawn, which forks it from an
// OS thread locked for the worker's life, so that its Pdeathsig (which
// fires when the creating thread ends) fires only when the master is gone.
func (p *ProcessPool) spawn() (*proc, error) {
	taskR, taskW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		taskR.Close()
		taskW.Close()
		return nil, err
	}
	closeAll := func() {
		for _, f := range []*os.File{taskR, taskW, resR, resW} {
			f.Close()
		}
	}
	// The master never blocks on a full task pipe while the worker blocks
	// on a full result pipe, because the credits bound the task bytes in
	// the pipe: make sure the pipe holds them all.
	if err := ensurePipeSize(taskW, p.cfg.Inflight*maxTaskFrame); err != nil {
		closeAll()
		return nil, err
	}
	// A process group of its own (a terminal's Ctrl-C reaches only the
	// master, which then stops the workers itself).
	child, err := spawn.Start(context.Background(), spawn.Spec{
		Argv:       p.argv,
		Env:        append(append(os.Environ(), p.cfg.Env...), WorkerEnv+"="+workerEnvValue),
		ExtraFiles: []*os.File{taskR, resW}, // fds 3 and 4
		Stderr:     p.cfg.Stderr,
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	taskR.Close()
	resW.Close()
	pr := &proc{pid: child.Pid(), child: child, tasks: taskW, results: resR}
	pr.bw = bufio.NewWriterSize(taskW, ioBuffer)
	pr.fr = newFrameReader(resR, ioBuffer)
	if err := pr.hello(p.cfg.StartTimeout); err != nil {
		pr.retire()
		return nil, fmt.Errorf("%w (is %q a clusterbench binary that serves calc workers? process %s)", err, p.argv[0], exitNote(pr.child.Err()))
	}
	return pr, nil
}

// hello waits, at most timeout, for the worker's hello frame.
func (pr *proc) hello(timeout time.Duration) error {
	if err := pr.results.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	body, err := pr.fr.next()
	if err == nil {
		var pid int
		if pid, err = parseHello(body); err == nil && pid != pr.pid {
			err = fmt.Errorf("hello from pid %d, started pid %d", pid, pr.pid)
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("no hello within %s", timeout)
	}
	if err != nil {
		return fmt.Errorf("worker did not start: %w", err)
	}
	return pr.results.SetReadDeadline(time.Time{})
}

func exitNote(waitErr error) string {
	if waitErr == nil {
		return "exited with status 0 or was stopped"
	}
	return waitErr.Error()
}

// retire kills pr if it still runs, closes the master's pipe ends and
// waits until the process is reaped.
func (pr *proc) retire() {
	_ = pr.child.Kill()
	pr.tasks.Close()
	pr.results.Close()
	_ = pr.child.Wait()
}

// Close stops every worker: it closes the task pipes (a worker exits on
// their EOF), kills a worker that has not exited within a grace period,
// and reaps them all. The pool cannot be used afterwards.
func (p *ProcessPool) Close() error {
	p.mu.Lock()
	p.broken = errors.New("process pool: closed")
	p.mu.Unlock()
	for _, s := range p.slots {
		if s.proc != nil {
			s.proc.tasks.Close()
		}
	}
	deadline := time.NewTimer(stopGrace)
	defer deadline.Stop()
	for _, s := range p.slots {
		pr := s.proc
		if pr == nil {
			continue
		}
		select {
		case <-pr.child.Done():
		case <-deadline.C:
			_ = pr.child.Kill()
			_ = pr.child.Wait()
		}
		pr.results.Close()
		s.proc = nil
	}
	return nil
}

// killAll SIGKILLs every current worker (cancellation).
func (p *ProcessPool) killAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.proc != nil {
			_ = s.proc.child.Kill()
		}
	}
}

// allowRestart records a restart if the budget allows one.
func (p *ProcessPool) allowRestart(now time.Time) bool {
	if p.cfg.MaxRestarts < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := p.restarts[:0]
	for _, t := range p.restarts {
		if now.Sub(t) < p.cfg.RestartWindow {
			keep = append(keep, t)
		}
	}
	p.restarts = keep
	if len(p.restarts) >= p.cfg.MaxRestarts {
		return false
	}
	p.restarts = append(p.restarts, now)
	return true
}

// dispatcher hands out task indices: fresh ones from a counter, and the
// re-queued tasks of crashed workers first.
type dispatcher struct {
	n         int64
	next      atomic.Int64
	remaining atomic.Int64
	results   atomic.Int64
	done      chan struct{} // closed when remaining reaches 0

	mu          sync.Mutex
	requeued    []int
	hasRequeued atomic.Bool
	wake        chan struct{} // closed and replaced when tasks are re-queued
	crashes     []Crash
}

func (d *dispatcher) take() (int, bool) {
	if d.hasRequeued.Load() {
		d.mu.Lock()
		if k := len(d.requeued); k > 0 {
			i := d.requeued[k-1]
			d.requeued = d.requeued[:k-1]
			d.hasRequeued.Store(k > 1)
			d.mu.Unlock()
			return i, true
		}
		d.mu.Unlock()
	}
	if i := d.next.Add(1) - 1; i < d.n {
		return int(i), true
	}
	return 0, false
}

func (d *dispatcher) requeue(idx []int, c *Crash) {
	d.mu.Lock()
	d.requeued = append(d.requeued, idx...)
	if len(d.requeued) > 0 {
		d.hasRequeued.Store(true)
	}
	if c != nil {
		d.crashes = append(d.crashes, *c)
	}
	close(d.wake)
	d.wake = make(chan struct{})
	d.mu.Unlock()
}

// waitWork blocks an idle slot until tasks are re-queued (true), the batch
// is done (false) or ctx ends (false).
func (d *dispatcher) waitWork(ctx context.Context) bool {
	d.mu.Lock()
	if len(d.requeued) > 0 {
		d.mu.Unlock()
		return true
	}
	wake := d.wake
	d.mu.Unlock()
	select {
	case <-wake:
		return true
	case <-d.done:
	case <-ctx.Done():
	}
	return false
}

// Run distributes tasks over the worker processes and collects every result
// into out. It returns the crashes it recovered from. After an error
// (cancellation, every worker lost) the pool only accepts Close.
func (p *ProcessPool) Run(ctx context.Context, tasks []Task, out []Result) ([]Crash, error) {
	return p.run(ctx, tasks, out, p.cfg.KillAfter)
}

// Probe sends n no-op tasks through the pool (each worker answers them at
// once, without computing; the KillAfter hook is off) and returns the wall
// time they took: the cost of the IPC alone. The task and result slices
// are allocated before the clock starts. Like Run, Probe is not safe for
// concurrent use.
func (p *ProcessPool) Probe(ctx context.Context, n int) (time.Duration, error) {
	tasks := make([]Task, n)
	for i := range tasks {
		tasks[i] = Task{Kind: noopKind}
	}
	out := make([]Result, n)
	start := time.Now()
	if _, err := p.run(ctx, tasks, out, 0); err != nil {
		return 0, fmt.Errorf("no-op probe: %w", err)
	}
	return time.Since(start), nil
}

// run is Run with the kill-after hook given explicitly (0 for probes).
func (p *ProcessPool) run(ctx context.Context, tasks []Task, out []Result, killAfter int) ([]Crash, error) {
	p.mu.Lock()
	broken := p.broken
	p.mu.Unlock()
	if broken != nil {
		return nil, broken
	}
	if len(out) < len(tasks) {
		return nil, fmt.Errorf("process pool: %d result slots for %d tasks", len(out), len(tasks))
	}
	codes := make([]byte, len(tasks))
	for i, t := range tasks {
		c, err := kindCode(t.Kind)
		if err != nil {
			return nil, fmt.Errorf("process pool: task %d: %w", i, err)
		}
		if t.N < 0 {
			return nil, fmt.Errorf("process pool: task %d: n=%d is negative", i, t.N)
		}
		codes[i] = c
	}
	d := &dispatcher{n: int64(len(tasks)), done: make(chan struct{}), wake: make(chan struct{})}
	d.remaining.Store(int64(len(tasks)))
	if len(tasks) == 0 {
		return nil, nil
	}
	stop := context.AfterFunc(ctx, p.killAll)
	defer stop()
	base := time.Now()
	errs := make([]error, len(p.slots))
	var wg sync.WaitGroup
	for i, s := range p.slots {
		wg.Go(func() { errs[i] = p.pump(ctx, d, s, tasks, codes, out, base, int64(killAfter)) })
	}
	wg.Wait()
	crashes := d.crashes
	if err := ctx.Err(); err != nil {
		p.markBroken(err)
		return crashes, err
	}
	if err := errors.Join(errs...); err != nil {
		p.markBroken(err)
		return crashes, err
	}
	if left := d.remaining.Load(); left > 0 {
		err := fmt.Errorf("process pool: %d of %d tasks left undone: every worker died and the restart budget (%d in %s) is spent",
			left, len(tasks), p.cfg.MaxRestarts, p.cfg.RestartWindow)
		p.markBroken(err)
		return crashes, err
	}
	return crashes, nil
}

func (p *ProcessPool) markBroken(err error) {
	p.mu.Lock()
	if p.broken == nil {
		p.broken = fmt.Errorf("process pool: unusable after an earlier failure: %w", err)
	}
	p.mu.Unlock()
}

// flight is a task sent to a worker and not yet answered.
type flight struct {
	idx  int
	sent int64 // ns since the run's base time
}

// pump is the master's side of one slot: it keeps the worker's credits
// used, reads its results (a worker answers in order), and recovers when
// the worker dies. It returns nil when the batch is done or the slot gave
// up, and an error only for a broken invariant or ctx.
func (p *ProcessPool) pump(ctx context.Context, d *dispatcher, s *slot, tasks []Task, codes []byte, out []Result, base time.Time, killAfter int64) error {
	k := p.cfg.Inflight
	ring := make([]flight, k)
	head, count := 0, 0
	var now int64
	reads := -1
	for {
		pr := s.proc
		if pr == nil {
			return nil
		}
		var fail error
		// Top up the credits before blocking, or once half are free.
		if count <= k/2 || pr.fr.buffered() == 0 {
			sent := int64(-1)
			for count < k {
				i, ok := d.take()
				if !ok {
					break
				}
				if sent < 0 {
					sent = time.Since(base).Nanoseconds()
				}
				_, _ = pr.bw.Write(appendTask(pr.bw.AvailableBuffer(), uint64(i), codes[i], uint64(tasks[i].N)))
				ring[(head+count)%k] = flight{idx: i, sent: sent}
				count++
			}
			if sent >= 0 {
				if fail = pr.bw.Flush(); fail != nil {
					fail = deathCause(pr, fail)
				}
			}
		}
		if fail == nil && count == 0 {
			if !d.waitWork(ctx) {
				return ctx.Err()
			}
			continue
		}
		var body []byte
		if fail == nil {
			body, fail = pr.fr.next()
		}
		var r wireResult
		if fail == nil {
			r, fail = parseResult(body)
		}
		if fail == nil && r.id != uint64(ring[head].idx) {
			fail = frameErr("result for task %d while task %d was next", r.id, ring[head].idx)
		}
		if fail != nil {
			idx := make([]int, 0, count)
			for j := range count {
				idx = append(idx, ring[(head+j)%k].idx)
			}
			head, count = 0, 0
			if err := p.recover(ctx, d, s, pr, fail, idx); err != nil {
				return err
			}
			continue
		}
		if pr.fr.cr.reads != reads {
			reads = pr.fr.cr.reads
			now = time.Since(base).Nanoseconds()
		}
		f := ring[head]
		head = (head + 1) % k
		count--
		res := &out[f.idx]
		if res.Done {
			return fmt.Errorf("process pool: task %d completed twice (worker %d)", f.idx, s.id)
		}
		*res = Result{Worker: s.id, Pid: pr.pid, ComputeNs: int64(r.computeNs), LatencyNs: now - f.sent, Done: true}
		if r.status == statusOK {
			res.Value = string(r.payload)
		} else {
			res.Err = string(r.payload)
		}
		if d.remaining.Add(-1) == 0 {
			close(d.done)
		}
		if killAfter > 0 && d.results.Add(1) == killAfter {
			_ = pr.child.Kill()
		}
	}
}

// deathCause is why a worker whose task pipe failed (writeErr) died: a
// malformed frame it wrote before going says more than the broken pipe
// (which of the two the master sees first is a race). A well-formed
// result read here is dropped; its task is requeued with the others.
func deathCause(pr *proc, writeErr error) error {
	body, err := pr.fr.next()
	if err == nil {
		_, err = parseResult(body)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return writeErr
}

// recover handles the loss of pr: it reaps the process, re-queues its
// in-flight tasks, and restarts the slot if the budget allows.
func (p *ProcessPool) recover(ctx context.Context, d *dispatcher, s *slot, pr *proc, cause error, inflight []int) error {
	pr.retire()
	if ctx.Err() != nil {
		d.requeue(inflight, nil)
		return ctx.Err()
	}
	c := Crash{Worker: s.id, Pid: pr.pid, Requeued: len(inflight)}
	c.Reason = describeExit(cause, pr.child.Err())
	var np *proc
	var spawnErr error
	if p.allowRestart(time.Now()) {
		np, spawnErr = p.spawn()
	}
	p.mu.Lock()
	if np != nil && ctx.Err() != nil {
		// Cancelled while the new worker started: killAll ran before it
		// was in the slot, so it would go on taking tasks until the batch
		// ended. Checked under mu: a later killAll sees it in the slot.
		p.mu.Unlock()
		np.retire()
		d.requeue(inflight, nil)
		return ctx.Err()
	}
	s.proc = np
	p.mu.Unlock()
	if np != nil {
		c.Restarted, c.NewPid = true, np.pid
	} else if spawnErr != nil {
		c.Reason += "; restart failed: " + spawnErr.Error()
	} else {
		c.Reason += "; restart budget spent"
	}
	d.requeue(inflight, &c)
	return nil
}

func describeExit(cause, waitErr error) string {
	what := "results pipe: " + cause.Error()
	if errors.Is(cause, io.EOF) {
		what = "results pipe closed"
	}
	if waitErr == nil {
		return what + "; worker exited with status 0"
	}
	return what + "; worker " + waitErr.Error()
}
