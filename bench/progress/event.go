package progress

// Kind says which step of a run an Event reports.
type Kind int

// The steps of a run, in the order a run reports them: RunStarts; for
// each server ServerStarts, its load phases (PhaseStarts, then PhaseEnds
// or the next PhaseStarts), ServerEnds; the calc batches' trials
// (PhaseStarts and PhaseEnds with Calc set); RunEnds.
const (
	RunStarts    Kind = iota + 1 // Name and Plan say what will run
	ServerStarts                 // a server is being started (or reached)
	PhaseStarts                  // a warm-up or a measured trial begins; Live counts it
	PhaseEnds                    // a measured trial ended; Rate is its requests/s
	ServerEnds                   // the server is stopped, or failed and left
	RunEnds                      // every server and calc batch is done
)

// Counter is the running count of the load phase under way (load.Live):
// the requests completed so far and how many of them failed.
type Counter interface {
	Count() (requests, errors int64)
}

// Event is a step of a run. Fields that do not apply to the Kind are
// zero. A run (bench/runner, bench/ab) sends its events in order, from
// one goroutine.
type Event struct {
	Kind Kind
	Name string // RunStarts: what runs (the scenario's name)
	Plan Plan   // RunStarts

	Server  string // ServerStarts: its name
	ServerN int    // ServerStarts, ServerEnds: its index in the plan

	Label  string  // PhaseStarts: what the phase is, e.g. "concurrency 64 trial 2/3"
	Warmup bool    // PhaseStarts: a warm-up (its rate does not stand for a trial's)
	Live   Counter // PhaseStarts: its running count; nil = not counted
	Rate   float64 // PhaseEnds: the trial's requests/s (for the ETA of request-bounded trials), or a calc trial's tasks/s; 0 = none measured

	Calc  bool // PhaseStarts, PhaseEnds: a calc batch's trial, not a load phase
	CalcN int  // PhaseStarts, PhaseEnds with Calc: the batch's index in Plan.Calc
	Trial int  // PhaseStarts with Calc: the trial's number, from 1
}
