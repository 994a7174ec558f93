package faults

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// Watch bounds how long Run watches the process tree after a fault for a
// new worker process or for a drained server to exit.
const Watch = 5 * time.Second

// poll is how often the process tree is read while watching.
const poll = 5 * time.Millisecond

// Server is the server a trial's faults act on.
type Server struct {
	Pid    int         // the leader of its process group, as the runner started it
	Exited func() bool // whether that leader has exited
	// Answered maps each X-Worker-Id to the pids seen answering as it so
	// far (oldest first), for pick: id N.
	Answered map[string][]int
}

// Trial connects Run to the trial it acts in.
type Trial struct {
	// Began delivers the trial's start instant (load.Config.OnStart);
	// fault times count from it.
	Began <-chan time.Time
	// Done is closed when the trial is over: faults not yet due are
	// recorded as not applied, a stalled worker is continued.
	Done <-chan struct{}
	// End ends the trial early (load.Config.End); Run calls it once a
	// server drained by TERM or INT has exited.
	End func()
}

// Run applies plan (in order of time) to srv during one trial and returns
// an event per fault, in plan order. It returns once the trial is Done
// (or ctx is cancelled) and everything it started has finished; no worker
// is left stopped. A fault due while a crash loop is still under way is
// not applied, and says so: it would act on the loop's workers, or the
// loop would take its new worker for a replacement.
func Run(ctx context.Context, plan []scenario.Fault, srv Server, tr Trial) []results.FaultEvent {
	evs := make([]results.FaultEvent, len(plan))
	for i, f := range plan {
		evs[i] = results.FaultEvent{Index: i, Name: f.String(), PlannedMs: ms(f.At), Reason: "not due before the trial ended"}
	}
	var began time.Time
	select {
	case began = <-tr.Began:
	case <-tr.Done:
		return evs
	case <-ctx.Done():
		return evs
	}
	r := &run{ctx: ctx, srv: srv, tr: tr, began: began, rnd: rand.New(rand.NewPCG(uint64(began.UnixNano()), 0))}
	defer r.wg.Wait()
	r.cpu0 = map[int]time.Duration{}
	if _, ws, err := Workers(srv.Pid); err == nil {
		for _, w := range ws {
			r.cpu0[w.Pid] = w.CPU
		}
	}
	order := make([]int, len(plan))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(plan[a].At, plan[b].At) })
	for _, i := range order {
		f := plan[i]
		t := time.NewTimer(time.Until(began.Add(f.At)))
		select {
		case <-t.C:
		case <-tr.Done:
			t.Stop()
			return evs
		case <-ctx.Done():
			t.Stop()
			evs[i].Reason = "the run was interrupted first"
			return evs
		}
		evs[i].Reason = ""
		if c := r.looping.Load(); c != nil { // faults act one at a time
			r.notApplied(&evs[i], "the %s at %s was still under way (its kills end when the master has restarted its last worker)",
				c.String(), results.MsText(ms(c.At)))
			continue
		}
		r.apply(f, &evs[i])
	}
	return evs
}

type run struct {
	ctx   context.Context
	srv   Server
	tr    Trial
	began time.Time
	cpu0  map[int]time.Duration
	rnd   *rand.Rand
	wg    sync.WaitGroup // the watchers, stalls and crash loops started
	// looping is the crash loop under way, nil when none is
	looping atomic.Pointer[scenario.Fault]
}

func (r *run) since() float64 { return ms(time.Since(r.began)) }

func (r *run) notApplied(ev *results.FaultEvent, format string, args ...any) {
	ev.AtMs = r.since()
	ev.Reason = fmt.Sprintf(format, args...)
}

// apply applies f now and fills ev; watchers it starts fill the rest of
// ev before Run returns.
func (r *run) apply(f scenario.Fault, ev *results.FaultEvent) {
	if Gone(r.srv.Pid, r.srv.Exited) {
		r.notApplied(ev, "the server had exited")
		return
	}
	master, workers, err := Workers(r.srv.Pid)
	switch {
	case err == nil:
	case f.OnWorker() || errors.Is(err, errServerGone):
		r.notApplied(ev, "%v", err)
		return
	default: // no process tree (not Linux): the leader is the master
		master = r.srv.Pid
	}
	ev.WorkersBefore = pids(workers)
	if !f.OnWorker() {
		ev.AtMs, ev.Pid = r.since(), master
		if err := send(master, f.Signal); err != nil {
			ev.Reason = err.Error()
			return
		}
		ev.Applied = true
		if f.Ends() {
			r.watchExit(ev)
		} else {
			r.watchRespawn(ev)
		}
		return
	}
	if len(workers) == 0 {
		r.notApplied(ev, "no worker process in the server's process tree (master pid %d)", master)
		return
	}
	w, err := pick(f, workers, r.cpu0, r.srv.Answered, r.rnd)
	if err != nil {
		r.notApplied(ev, "%v", err)
		return
	}
	ev.AtMs, ev.Pid = r.since(), w.Pid
	if !metrics.Alive(w) {
		ev.Reason = fmt.Sprintf("worker pid %d had exited", w.Pid)
		return
	}
	switch f.Action {
	case scenario.FaultKill:
		if err := send(w.Pid, "KILL"); err != nil {
			ev.Reason = err.Error()
			return
		}
		ev.Applied = true
		r.watchRespawn(ev)
	case scenario.FaultCrashLoop:
		r.wg.Add(1)
		r.looping.Store(&f)
		go r.crashLoop(f, master, w, ev)
	case scenario.FaultStall:
		if err := send(w.Pid, "STOP"); err != nil {
			ev.Reason = err.Error()
			return
		}
		ev.Applied = true
		r.wg.Add(1)
		go r.stall(w, f.For)
	}
}

// stall continues the stopped worker after d, or at once when the trial
// ends or the run is interrupted.
func (r *run) stall(w metrics.ProcStat, d time.Duration) {
	defer r.wg.Done()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.tr.Done:
	case <-r.ctx.Done():
	}
	if metrics.Alive(w) {
		_ = send(w.Pid, "CONT") // it may have exited meanwhile: nothing then to continue
	}
}

// watchRespawn records when a worker process that was not there before
// the fault first appears (Watch at most, or until the trial ends). A
// server that exits instead (one that does not survive the fault) ends
// the trial, as a drain does.
func (r *run) watchRespawn(ev *results.FaultEvent) {
	before, at := slices.Clone(ev.WorkersBefore), r.began.Add(time.Duration(ev.AtMs*1e6))
	r.watch(func() bool {
		if r.exited(ev, at) {
			return true
		}
		_, ws, err := Workers(r.srv.Pid)
		if err != nil {
			return false // the tree was read as the server exited: the next look says
		}
		for _, w := range ws {
			if !slices.Contains(before, w.Pid) {
				d := ms(time.Since(at))
				ev.RespawnMs = &d
				return true
			}
		}
		return false
	})
}

// watchExit records when the server exits after a drain, and then ends
// the trial.
func (r *run) watchExit(ev *results.FaultEvent) {
	at := r.began.Add(time.Duration(ev.AtMs * 1e6))
	r.watch(func() bool { return r.exited(ev, at) })
}

// exited reports whether the server has exited; the first time, it
// records when (from the fault at at) and ends the trial.
func (r *run) exited(ev *results.FaultEvent, at time.Time) bool {
	if !Gone(r.srv.Pid, r.srv.Exited) {
		return false
	}
	d := ms(time.Since(at))
	ev.ExitMs = &d
	if r.tr.End != nil {
		r.tr.End()
	}
	return true
}

// watch calls done every poll until it returns true, for Watch at most,
// in a goroutine that Run waits for.
func (r *run) watch(done func() bool) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		deadline := time.NewTimer(Watch)
		defer deadline.Stop()
		tick := time.NewTicker(poll)
		defer tick.Stop()
		for !done() {
			select {
			case <-tick.C:
			case <-deadline.C:
				return
			case <-r.tr.Done:
				done()
				return
			case <-r.ctx.Done():
				return
			}
		}
	}()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
