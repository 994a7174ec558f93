package progress

import (
	"math"
	"time"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

// Plan is what a run will do, known before it starts: for each server,
// for each level, Warmups warm-ups (when Warmup > 0) and Trials trials;
// then the calc batches, their trials interleaved (every batch's trial 1,
// then every batch's trial 2, …, as bench/runner runs them).
type Plan struct {
	Servers, Levels, Trials int
	Warmup                  time.Duration // each; 0 = none
	Warmups                 int           // warm-ups per level when Warmup > 0; 0 means 1
	Duration                time.Duration // per trial; with Requests only a bound
	Requests                int64         // per trial; 0 = a trial lasts Duration
	Calc                    []CalcPlan    // the calc batches, in the scenario's order
}

// CalcPlan is a calc batch of a plan: Trials trials of Tasks tasks each.
type CalcPlan struct{ Trials, Tasks int }

// PlanOf is the plan of sc: its servers, then its calc batches.
func PlanOf(sc *scenario.Scenario) Plan {
	p := Plan{Servers: len(sc.Servers), Levels: len(sc.Load.Levels), Trials: sc.Load.Trials,
		Warmup: sc.Load.Warmup, Duration: sc.Load.Duration, Requests: sc.Load.Requests}
	for _, c := range sc.Calc {
		p.Calc = append(p.Calc, CalcPlan{Trials: c.Trials, Tasks: c.Tasks})
	}
	return p
}

// warmups is the number of warm-ups of a level.
func (p Plan) warmups() int {
	if p.Warmup <= 0 {
		return 0
	}
	return max(p.Warmups, 1)
}

// perLevel is the number of load phases (warm-ups and trials) of a level.
func (p Plan) perLevel() int { return p.warmups() + p.Trials }

// loadPhases is the number of load phases of the whole run; the calc
// phases follow them.
func (p Plan) loadPhases() int { return p.Servers * p.Levels * p.perLevel() }

// Phases is the number of phases of the whole run: load phases, then one
// per calc trial.
func (p Plan) Phases() int {
	n := p.loadPhases()
	for _, c := range p.Calc {
		n += c.Trials
	}
	return n
}

// first is the index in the run of a server's first phase.
func (p Plan) first(server int) int { return server * p.Levels * p.perLevel() }

// isWarmup reports whether load phase i of the run is a warm-up.
func (p Plan) isWarmup(i int) bool { return i%p.perLevel() < p.warmups() }

// calcTrial is a calc phase: the batch (index in Plan.Calc) and its trial
// (from 1).
type calcTrial struct{ batch, trial int }

// calcOrder lists the calc phases in the order they run: round by round,
// each batch that has that many trials.
func (p Plan) calcOrder() []calcTrial {
	rounds := 0
	for _, c := range p.Calc {
		rounds = max(rounds, c.Trials)
	}
	var order []calcTrial
	for t := 1; t <= rounds; t++ {
		for b, c := range p.Calc {
			if t <= c.Trials {
				order = append(order, calcTrial{b, t})
			}
		}
	}
	return order
}

// calcPhase is the index in the run of batch's trial (from 1); Phases()
// when the plan has no such trial.
func (p Plan) calcPhase(batch, trial int) int {
	for k, ct := range p.calcOrder() {
		if ct == (calcTrial{batch, trial}) {
			return p.loadPhases() + k
		}
	}
	return p.Phases()
}

// Position is where a run stands, as observed so far, and what earlier
// runs of the same invocation taught.
type Position struct {
	// Phase is the index of the phase under way (InPhase) or of the next
	// one; phases before it are done or were skipped (a server that
	// failed leaves its remaining phases undone).
	Phase   int
	InPhase bool
	// PhaseElapsed and PhaseRequests: how long the phase under way has
	// run and the requests it completed.
	PhaseElapsed  time.Duration
	PhaseRequests int64
	// Rate is the requests/s a request-bounded trial is expected to run
	// at (Plan.Requests > 0); 0 = not known yet.
	Rate float64
	// ServersDone have been stopped (or failed); the next server, if
	// ServerBusy, is being started, measured or stopped.
	ServersDone int
	ServerBusy  bool
	// Overhead is the time outside load phases (starting, checking and
	// stopping servers) of the ServersDone servers together; Current is
	// that of the busy server so far.
	Overhead, Current time.Duration
	// PerServer is the average time outside load phases of the servers
	// of earlier runs of the invocation; it stands for this plan's
	// servers until one of them has stopped. 0 = none.
	PerServer time.Duration
	// CalcRates are the tasks/s of the last trial of each calc batch of
	// the plan (indexed as Plan.Calc); 0 or absent = none has run.
	CalcRates []float64
	// TaskTime is the average time of a calc task over every calc trial
	// run so far (any batch, any run of the invocation); it stands for a
	// batch with no trial of its own yet. 0 = none has run.
	TaskTime time.Duration
}

// Estimate is the time left of a run, or of several.
type Estimate struct {
	Left time.Duration
	// OK is false while a request-bounded trial is left and no rate is
	// known; Left means nothing then.
	OK bool
	// CalcUnknown: calc trials are left whose time is not known yet (no
	// calc trial has run, so no time per task); Left leaves them out.
	CalcUnknown bool
}

// Plus adds the estimate of what follows e.
func (e Estimate) Plus(f Estimate) Estimate {
	return Estimate{Left: seconds(e.Left.Seconds() + f.Left.Seconds()), OK: e.OK && f.OK, CalcUnknown: e.CalcUnknown || f.CalcUnknown}
}

// Remaining estimates the time left until p ends: the load phases not yet
// run at their planned length (a request-bounded trial at pos.Rate), what
// is left of the phase under way, for each server not yet stopped the
// average time outside load phases that the stopped ones took (before
// any has stopped: pos.PerServer, else the busy server's so far, and
// nothing for its own stop), and each calc trial left: its batch's tasks
// at the tasks/s of that batch's last trial, or, before the batch has
// run one, at pos.TaskTime a task (the batches differ, so this is a guess
// until each has run once; round 1 runs every batch). The time to start a
// calc batch's workers is not counted.
func Remaining(p Plan, pos Position) Estimate {
	est := Estimate{OK: true}
	trial := p.Duration.Seconds()
	if p.Requests > 0 {
		if pos.Rate <= 0 {
			est.OK = false
		} else {
			trial = float64(p.Requests) / pos.Rate
		}
	}
	var s float64 // seconds left
	for i := pos.Phase; i < p.loadPhases() && est.OK; i++ {
		length := trial
		if p.isWarmup(i) {
			length = p.Warmup.Seconds()
		}
		if i == pos.Phase && pos.InPhase {
			if p.Requests > 0 && !p.isWarmup(i) {
				length = float64(max(p.Requests-pos.PhaseRequests, 0)) / pos.Rate
			} else {
				length = max(length-pos.PhaseElapsed.Seconds(), 0)
			}
		}
		s += length
	}
	if pos.Phase >= p.loadPhases() {
		est.OK = true // the request-bounded trials are behind
	}
	if !est.OK {
		return est
	}
	for k, ct := range p.calcOrder() {
		i := p.loadPhases() + k
		if i < pos.Phase {
			continue
		}
		perTask := pos.TaskTime.Seconds()
		if ct.batch < len(pos.CalcRates) && pos.CalcRates[ct.batch] > 0 {
			perTask = 1 / pos.CalcRates[ct.batch]
		}
		if perTask <= 0 {
			est.CalcUnknown = true
			continue
		}
		length := perTask * float64(p.Calc[ct.batch].Tasks)
		if i == pos.Phase && pos.InPhase {
			length = max(length-pos.PhaseElapsed.Seconds(), 0)
		}
		s += length
	}
	perServer := pos.Current
	if pos.PerServer > 0 {
		perServer = pos.PerServer
	}
	if pos.ServersDone > 0 {
		perServer = pos.Overhead / time.Duration(pos.ServersDone)
	}
	waiting := p.Servers - pos.ServersDone // not yet stopped
	if pos.ServerBusy && waiting > 0 {
		s += max(perServer-pos.Current, 0).Seconds()
		waiting--
	}
	s += perServer.Seconds() * float64(max(waiting, 0))
	est.Left = seconds(s)
	return est
}

// seconds converts s seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}
