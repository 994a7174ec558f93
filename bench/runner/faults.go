package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clusterbench/clusterbench/bench/faults"
	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// targetsOf is the scenario's request mix aimed at server h.
func targetsOf(sc *scenario.Scenario, h *server) []load.Target {
	targets := make([]load.Target, len(sc.Requests))
	for i, q := range sc.Requests {
		targets[i] = load.Target{Method: q.Method, URL: h.base + q.Path, Weight: q.Weight, Header: q.Headers, Body: q.Body}
	}
	return targets
}

// measure runs one measured trial; with faults, it records the trial's
// timeline and applies the faults to h meanwhile (bench/faults), ending
// the trial early once a server drained by TERM or INT has exited.
func (r *Runner) measure(ctx context.Context, cfg load.Config, plan []scenario.Fault, h *server, answered map[string][]int) (*load.Outcome, []results.FaultEvent, error) {
	if len(plan) == 0 {
		o, err := load.Run(ctx, cfg)
		return o, nil, err
	}
	began := make(chan time.Time, 1)
	end := make(chan struct{})
	var endOnce sync.Once
	cfg.Timeline = true
	cfg.OnStart = func(t time.Time) { began <- t }
	cfg.End = end
	done := make(chan struct{})
	evc := make(chan []results.FaultEvent, 1)
	go func() { // owned here: its result is read below before returning
		srv := faults.Server{Pid: h.pid, Exited: h.exited, Answered: answered}
		evc <- faults.Run(ctx, plan, srv, faults.Trial{Began: began, Done: done, End: func() { endOnce.Do(func() { close(end) }) }})
	}()
	o, err := load.Run(ctx, cfg)
	close(done)
	evs := <-evc
	return o, evs, err
}

// noteFaults adds the trial's timeline and fault events, with their
// figures, to t, prints a line per fault, and notes which pids answered
// as which worker for the next trial's pick: id N.
func (r *Runner) noteFaults(sc *scenario.Scenario, s scenario.Server, t *results.Trial, o *load.Outcome, evs []results.FaultEvent, cfg load.Config, answered map[string][]int) {
	if evs == nil {
		return
	}
	t.Timeline = o.Acc.Timeline()
	faults.Annotate(evs, t.Timeline, float64(min(o.Wall, cfg.Duration))/1e6)
	t.Faults = evs
	noteAnswers(answered, t.Workers)
	for _, ev := range evs {
		r.progress("%s: %-14s   %s\n", sc.Name, s.Name, FaultLine(ev))
	}
}

// FaultLine describes what one fault did in one trial, in a line; a
// crash loop's recovery, new worker and exit count from its last kill.
func FaultLine(ev results.FaultEvent) string {
	if !ev.Applied {
		return fmt.Sprintf("%s at %s: not applied: %s", ev.Name, results.MsText(ev.PlannedMs), ev.Reason)
	}
	parts := []string{fmt.Sprintf("%s at %s: pid %d", ev.Name, results.MsText(ev.AtMs), ev.Pid)}
	if ev.Kills > 0 {
		parts = append(parts, crashLoopText(ev))
	}
	f := ev.Failed
	fail := fmt.Sprintf("%d failed", f.Total())
	if kinds := f.Kinds(); len(kinds) > 0 {
		fail += " (" + strings.Join(kinds, ", ") + ")"
	}
	parts = append(parts, fail)
	switch {
	case ev.RecoveryMs != nil && ev.Kills > 0:
		parts = append(parts, "recovered "+results.MsText(*ev.RecoveryMs)+" after the last kill")
	case ev.RecoveryMs != nil:
		parts = append(parts, "recovered in "+results.MsText(*ev.RecoveryMs))
	case ev.TooLate:
		parts = append(parts, "too late in the trial to tell whether it recovered")
	case ev.ExitMs == nil:
		parts = append(parts, "not recovered")
	}
	after := func(v float64) string {
		if ev.Kills > 0 {
			return results.MsText(v) + " after the last kill"
		}
		return "after " + results.MsText(v)
	}
	if ev.ReplacementMs != nil {
		parts = append(parts, "new worker answered "+after(*ev.ReplacementMs))
	}
	if ev.ExitMs != nil {
		parts = append(parts, "server exited "+after(*ev.ExitMs))
	}
	if ev.Reason != "" { // a crash loop stopped short
		parts = append(parts, ev.Reason)
	}
	return strings.Join(parts, ", ")
}

// crashLoopText is a crash loop's kills and restarts: "5 kills, restarts
// 2ms 101ms 203ms 405ms 810ms", and "master gave up" when it did.
func crashLoopText(ev results.FaultEvent) string {
	out := fmt.Sprintf("%d kills", ev.Kills)
	if len(ev.RestartMs) > 0 {
		ds := make([]string, len(ev.RestartMs))
		for i, d := range ev.RestartMs {
			ds[i] = results.MsText(d)
		}
		out += ", restarts " + strings.Join(ds, " ")
	}
	if ev.GaveUp {
		out += ", master gave up"
	}
	return out
}

// noteAnswers adds the pids each worker answered with to answered.
func noteAnswers(answered map[string][]int, ws []results.Worker) {
	for _, w := range ws {
		for _, p := range w.Pids {
			if !slices.Contains(answered[w.ID], p) {
				answered[w.ID] = append(answered[w.ID], p)
			}
		}
	}
}

// exitWarning says that a server exited after a fault that was not meant
// to end it (a signal it does not handle, a crash of its master).
func exitWarning(server, level string, trial int, evs []results.FaultEvent) string {
	var after []string
	for _, ev := range evs {
		switch n := len(ev.KillsAtMs); {
		case !ev.Applied || ev.ExitMs == nil:
		case n > 0: // a crash loop: ExitMs counts from its last kill
			after = append(after, fmt.Sprintf("%s at %s, exited %s after its last kill (at %s)", ev.Name, results.MsText(ev.AtMs),
				results.MsText(*ev.ExitMs), results.MsText(ev.KillsAtMs[n-1])))
		default:
			after = append(after, fmt.Sprintf("%s at %s, exited %s later", ev.Name, results.MsText(ev.AtMs), results.MsText(*ev.ExitMs)))
		}
	}
	why := "after a fault"
	if len(after) > 0 {
		why = "after " + strings.Join(after, "; ")
	}
	return fmt.Sprintf("%s at %s trial %d: the server exited %s; the trial ended there and the server was started again for the next", server, level, trial, why)
}

// endsServer reports whether a trial of plan ends the server (a drain).
func endsServer(plan []scenario.Fault) bool {
	return slices.ContainsFunc(plan, scenario.Fault.Ends)
}

// freshServer reports whether each trial of plan needs a server started
// again (and warmed up) after the previous trial: one that a drain ended,
// or one that a crash loop left in a state the next trial would inherit
// (a master's backoff and crash budget remember recent exits: prefork's
// for 30s, the Node.js reference's for 10s), so that every trial's loop
// meets a master in the same state.
func freshServer(plan []scenario.Fault) bool {
	return endsServer(plan) || slices.ContainsFunc(plan, func(f scenario.Fault) bool { return f.Action == scenario.FaultCrashLoop })
}

// restart stops h (drained, or still draining) and starts server s again
// in its place, warmed up, for the next trial; cfg is aimed at it.
func (r *Runner) restart(ctx context.Context, sc *scenario.Scenario, s scenario.Server, pin Pinning, h *server, cfg *load.Config, answered map[string][]int) error {
	if err := h.stop(); err != nil {
		return err
	}
	h.stop = func() error { return nil } // stopped: nothing to do if the start below fails
	fresh, _, err := r.reach(ctx, sc, s, pin)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("start again for the next trial: %w", err)
	}
	*h = *fresh
	cfg.Targets = targetsOf(sc, h)
	clear(answered)
	if sc.Load.Warmup > 0 {
		w := *cfg
		w.Duration, w.Name, w.Live = sc.Load.Warmup, cfg.Name+"/warmup", nil
		o, err := load.Run(ctx, w)
		if err != nil {
			return err
		}
		noteAnswers(answered, o.Acc.Workers())
	}
	return nil
}
