package progress

import (
	"math"
	"time"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

// Plan is what a run will do, known before it starts: for each server,
// for each level, Warmups warm-ups (when Warmup > 0) and Trials trials.
type Plan struct {
	Servers, Levels, Trials int
	Warmup                  time.Duration // each; 0 = none
	Warmups                 int           // warm-ups per level when Warmup > 0; 0 means 1
	Duration                time.Duration // per trial; with Requests only a bound
	Requests                int64         // per trial; 0 = a trial lasts Duration
}

// PlanOf is the plan of sc's servers (its calc batches are not in it).
func PlanOf(sc *scenario.Scenario) Plan {
	return Plan{Servers: len(sc.Servers), Levels: len(sc.Load.Levels), Trials: sc.Load.Trials,
		Warmup: sc.Load.Warmup, Duration: sc.Load.Duration, Requests: sc.Load.Requests}
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

// Phases is the number of load phases of the whole run.
func (p Plan) Phases() int { return p.Servers * p.Levels * p.perLevel() }

// first is the index in the run of a server's first phase.
func (p Plan) first(server int) int { return server * p.Levels * p.perLevel() }

// isWarmup reports whether phase i of the run is a warm-up.
func (p Plan) isWarmup(i int) bool { return i%p.perLevel() < p.warmups() }

// Position is where a run stands, as observed so far.
type Position struct {
	// Phase is the index of the load phase under way (InPhase) or of the
	// next one; phases before it are done or were skipped (a server that
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
}

// Remaining estimates the time left until the last server of the plan is
// stopped: the load phases not yet run at their planned length (a
// request-bounded trial at pos.Rate), what is left of the phase under
// way, and for each server not yet stopped the average time outside load
// phases that the stopped ones took (before any has stopped: the busy
// server's so far, and nothing for its own stop). ok is false while a
// request-bounded trial is left and no rate is known.
func Remaining(p Plan, pos Position) (left time.Duration, ok bool) {
	trial := p.Duration.Seconds()
	if p.Requests > 0 {
		if pos.Rate <= 0 {
			return 0, false
		}
		trial = float64(p.Requests) / pos.Rate
	}
	var s float64 // seconds left
	for i := pos.Phase; i < p.Phases(); i++ {
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
	perServer := pos.Current
	if pos.ServersDone > 0 {
		perServer = pos.Overhead / time.Duration(pos.ServersDone)
	}
	waiting := p.Servers - pos.ServersDone // not yet stopped
	if pos.ServerBusy && waiting > 0 {
		s += max(perServer-pos.Current, 0).Seconds()
		waiting--
	}
	s += perServer.Seconds() * float64(max(waiting, 0))
	return seconds(s), true
}

// seconds converts s seconds to a Duration, saturating.
func seconds(s float64) time.Duration {
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}
