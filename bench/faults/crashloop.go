package faults

import (
	"fmt"
	"slices"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// CrashLoopWait bounds how long a crash loop waits after a kill for the
// master to start a replacement; none by then (while the trial still
// runs) means the master gave up restarting. It is twice the longest
// restart delay of the shipped masters (5 s: prefork's BackoffMax, the
// Node.js reference's cap).
const CrashLoopWait = 10 * time.Second

// outcome is how a wait for a replacement ended.
type outcome int

const (
	replaced    outcome = iota // a new worker process appeared
	noneCame                   // none within CrashLoopWait: the master gave up
	serverGone                 // the server exited
	trialOver                  // the trial ended first
	interrupted                // the run was interrupted
)

// crashLoop kills w, then each replacement that master starts as soon as
// it appears (and at least f.Every after the previous kill), f.Times
// kills in all, filling ev. Only children of master are killed. It sends
// no kill once the trial has ended or the run is interrupted, and it
// stops when the server exits (ending the trial, as exited does) or its
// master starts no replacement within CrashLoopWait.
func (r *run) crashLoop(f scenario.Fault, master int, w metrics.ProcStat, ev *results.FaultEvent) {
	defer r.wg.Done()
	defer r.looping.Store(nil)
	known := slices.Clone(ev.WorkersBefore) // every worker pid seen so far
	stopped := func(format string, args ...any) {
		ev.Reason = fmt.Sprintf("stopped after %d of %d kills: ", ev.Kills, f.Times) + fmt.Sprintf(format, args...)
	}
	for {
		if ev.Kills > 0 { // a replacement seen as the trial ended is not killed
			select {
			case <-r.tr.Done:
				stopped("the trial ended")
				return
			case <-r.ctx.Done():
				stopped("the run was interrupted")
				return
			default:
			}
		}
		if Gone(r.srv.Pid, r.srv.Exited) {
			stopped("the server had exited")
			return
		}
		if !metrics.Alive(w) {
			stopped("worker pid %d had exited before its kill", w.Pid)
			return
		}
		at := time.Now()
		if err := send(w.Pid, "KILL"); err != nil {
			stopped("%v", err)
			return
		}
		ev.Kills++
		ev.KillsAtMs = append(ev.KillsAtMs, ms(at.Sub(r.began)))
		ev.KilledPids = append(ev.KilledPids, w.Pid)
		if ev.Kills == 1 {
			ev.Applied, ev.AtMs = true, ev.KillsAtMs[0]
		}
		next, how := r.replacementOf(master, known, at)
		switch how {
		case replaced:
			d := ms(time.Since(at))
			ev.RestartMs = append(ev.RestartMs, d)
			known = append(known, next.Pid)
			if ev.Kills == f.Times {
				ev.RespawnMs = &d
			}
		case serverGone:
			d := ms(time.Since(at))
			ev.ExitMs, ev.GaveUp = &d, true
			if r.tr.End != nil {
				r.tr.End()
			}
			if ev.Kills < f.Times {
				stopped("the server exited %s after kill %d instead of starting a new worker", msDur(d), ev.Kills)
			}
			return
		case noneCame:
			ev.GaveUp = true
			if ev.Kills < f.Times {
				stopped("no new worker process within %s of kill %d: the master gave up", CrashLoopWait, ev.Kills)
			}
			return
		case trialOver:
			if ev.Kills < f.Times {
				stopped("the trial ended before a new worker process followed kill %d", ev.Kills)
			}
			return
		case interrupted:
			if ev.Kills < f.Times {
				stopped("the run was interrupted")
			}
			return
		}
		if ev.Kills == f.Times {
			return
		}
		if wait := time.Until(at.Add(f.Every)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.tr.Done:
				t.Stop()
				stopped("the trial ended")
				return
			case <-r.ctx.Done():
				t.Stop()
				stopped("the run was interrupted")
				return
			}
		}
		w = next
	}
}

// replacementOf waits for a child of master whose pid is not in known,
// reading the process tree every poll from a kill at at, and returns
// it. A tree whose master reads as another process is not taken for a
// replacement: a master that wraps its one worker's master (sh -c, npm
// start) reads so while that worker is gone, and would otherwise offer
// the master itself to the next kill.
func (r *run) replacementOf(master int, known []int, at time.Time) (metrics.ProcStat, outcome) {
	deadline := time.NewTimer(time.Until(at.Add(CrashLoopWait)))
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	look := func() (metrics.ProcStat, outcome, bool) {
		if Gone(r.srv.Pid, r.srv.Exited) {
			return metrics.ProcStat{}, serverGone, true
		}
		m, ws, err := Workers(r.srv.Pid)
		if err != nil || m != master {
			return metrics.ProcStat{}, 0, false // read as the server exited, or no worker left: the next look says
		}
		for _, w := range ws {
			if !slices.Contains(known, w.Pid) && w.State != 'Z' && w.State != 'X' {
				return w, replaced, true
			}
		}
		return metrics.ProcStat{}, 0, false
	}
	for {
		if w, how, ok := look(); ok {
			return w, how
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			if w, how, ok := look(); ok {
				return w, how
			}
			return metrics.ProcStat{}, noneCame
		case <-r.tr.Done:
			if w, how, ok := look(); ok {
				return w, how
			}
			return metrics.ProcStat{}, trialOver
		case <-r.ctx.Done():
			return metrics.ProcStat{}, interrupted
		}
	}
}

func msDur(v float64) string { return time.Duration(v * 1e6).Round(time.Millisecond).String() }
