package runner

import (
	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// EventKind says which step of a run an Event reports.
type EventKind int

// The steps of a run, in the order Run reports them: RunStarts; for each
// server ServerStarts, then per level WarmupStarts (when the scenario
// has a warm-up) and TrialStarts/TrialEnds per trial, then ServerEnds;
// RunEnds once every server is done (before the calc batches).
const (
	RunStarts    EventKind = iota + 1 // Scenario holds the plan
	ServerStarts                      // the server is being started (or, for a target, reached)
	WarmupStarts                      // a level's warm-up begins; Live counts it
	TrialStarts                       // a measured trial begins; Live counts it
	TrialEnds                         // a measured trial ended; Result is it
	ServerEnds                        // the server is stopped, or failed and left
	RunEnds                           // every server is done
)

// LiveCount is the running count of the warm-up or trial under way
// (load.Live): requests completed so far and how many of them failed.
type LiveCount interface {
	Count() (requests, errors int64)
}

// Event is a step of a run, for a live progress display (Runner.Events).
// Fields that do not apply to the Kind are zero.
//
// A nil *load.Live in Live (no Events) is a non-nil LiveCount that counts 0.
type Event struct {
	Kind     EventKind
	Scenario *scenario.Scenario
	Server   string
	ServerN  int // index of the server in Scenario.Servers
	Level    int // the load level (concurrency or rate)
	LevelN   int // index of the level in Scenario.Load.Levels
	Trial    int // 1-based, for TrialStarts and TrialEnds
	Live     LiveCount
	Result   *results.Trial
}

// newLive returns a running count for the next warm-up or trial (a fresh
// one each time, so that it reads 0, not the last trial's count, until
// the load begins), or nil when nobody listens.
func (r *Runner) newLive() *load.Live {
	if r.Events == nil {
		return nil
	}
	return &load.Live{}
}

// event hands e to r.Events, when set.
func (r *Runner) event(e Event) {
	if r.Events != nil {
		r.Events(e)
	}
}
