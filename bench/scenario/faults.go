package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Fault actions of the faults: section.
const (
	FaultKill   = "kill"   // SIGKILL one worker process
	FaultStall  = "stall"  // SIGSTOP one worker process, SIGCONT after For
	FaultSignal = "signal" // a signal to the server's master (its leader process)
	// FaultCrashLoop SIGKILLs one worker process, then each replacement the
	// master starts for it as soon as it appears (at least Every apart),
	// Times kills in all.
	FaultCrashLoop = "crash_loop"
)

// Ways a kill:, stall: or crash_loop: fault picks its (first) worker.
const (
	PickRandom  = "random"  // any live worker process (the default)
	PickBusiest = "busiest" // the worker that used the most CPU since the trial began
	PickID      = "id"      // the worker answering with X-Worker-Id N (pick: id N)
)

// FaultSignals are the signals a signal: fault may send to a server's
// master, by name without SIG. TERM and INT end the server (a drain): the
// trial ends when it exits and the server is started again for the next;
// every server handles them. HUP (a rolling restart) applies to prefork and
// command: servers only, USR1 and USR2 to command: servers only: the other
// Go models do not handle them, and Go's default action for them ends the
// process (see SignalApplies).
var FaultSignals = []string{"HUP", "TERM", "INT", "USR1", "USR2"}

// SignalApplies reports whether a signal: fault sending sig (a name of
// FaultSignals) applies to sv, and if not, which servers it applies to.
func SignalApplies(sig string, sv Server) (ok bool, allowed string) {
	switch sig {
	case "HUP":
		return sv.External() || sv.Model == "prefork", "servers that handle SIGHUP: model prefork or a command:"
	case "USR1", "USR2":
		return sv.External(), "servers that handle SIG" + sig + ": a command:"
	}
	return true, ""
}

// Bounds of the faults: section.
const (
	MaxFaults = 32
	MaxStall  = time.Minute
	// MaxCrashLoop bounds times: of a crash_loop: fault (at least 1);
	// MaxCrashEvery bounds its every: (at least 0, the default: each
	// replacement is killed as soon as it appears).
	MaxCrashLoop  = 100
	MaxCrashEvery = time.Minute
)

// Fault is one timed event of the faults: section, applied to each server
// during every measured trial (never during the warm-up), At after the
// trial began.
type Fault struct {
	At     time.Duration
	Action string        // FaultKill, FaultStall or FaultSignal
	Signal string        // FaultSignal: one of FaultSignals
	Pick   string        // kill and stall: PickRandom, PickBusiest or PickID
	ID     int           // PickID: the X-Worker-Id of the worker
	For    time.Duration // stall: how long the worker stays stopped
	Times  int           // crash_loop: kills in all (the first worker and Times-1 replacements)
	Every  time.Duration // crash_loop: the least time between two kills
	Line   int           // where the fault is declared
}

// Ends reports whether the fault ends the server (a drain): the trial ends
// when the server exits.
func (f Fault) Ends() bool {
	return f.Action == FaultSignal && (f.Signal == "TERM" || f.Signal == "INT")
}

// OnWorker reports whether the fault acts on one worker process (rather
// than on the master).
func (f Fault) OnWorker() bool {
	return f.Action == FaultKill || f.Action == FaultStall || f.Action == FaultCrashLoop
}

// Span is how long after At a fault's last action is due at the earliest:
// (Times-1)·Every for a crash loop, 0 for the others.
func (f Fault) Span() time.Duration {
	if f.Action != FaultCrashLoop || f.Times < 1 {
		return 0
	}
	return time.Duration(f.Times-1) * f.Every
}

// String names the fault as tables show it: "kill -9 worker (random)",
// "stall worker 500ms (busiest)", "crash loop 5× (random)", "crash loop
// 5× every 200ms (busiest)", "SIGHUP".
func (f Fault) String() string {
	pick := f.Pick
	if f.Pick == PickID {
		pick = "id " + strconv.Itoa(f.ID)
	}
	switch f.Action {
	case FaultKill:
		return "kill -9 worker (" + pick + ")"
	case FaultStall:
		return "stall worker " + fmtDur(f.For) + " (" + pick + ")"
	case FaultCrashLoop:
		every := ""
		if f.Every > 0 {
			every = " every " + fmtDur(f.Every)
		}
		return "crash loop " + strconv.Itoa(f.Times) + "×" + every + " (" + pick + ")"
	}
	return "SIG" + f.Signal
}

const faultsAllowed = "a list of faults, each with at: and one of kill: worker, stall: worker (with for:), " +
	"crash_loop: worker (with times:), signal: HUP|TERM|INT|USR1|USR2"

// faults reads the faults: section. Checks that need the other sections
// (the trial's duration, the servers' models) are in checkFaults.
func (p *parser) faults(n *yaml.Node) []Fault {
	var out []Fault
	if n.Kind == yaml.SequenceNode && len(n.Content) > MaxFaults {
		p.errorf(n, "faults", fmt.Sprintf("at most %d faults", MaxFaults), "too many faults")
		return nil
	}
	p.list(n, "faults", faultsAllowed, func(i int, item *yaml.Node) {
		path := fmt.Sprintf("faults[%d]", i)
		f := Fault{Line: item.Line}
		var atNode, forNode, pickNode, timesNode, everyNode *yaml.Node
		var actions []string
		worker := func(v *yaml.Node, action string) {
			actions = append(actions, action)
			f.Action = action
			if w, ok := p.str(v, path+"."+action); ok && w != "worker" {
				p.errorf(v, path+"."+action, "worker", "%q is not a fault target", w)
			}
		}
		p.mapping(item, path, []field{
			{"at", func(v *yaml.Node) { atNode = v; f.At, _ = p.durIn(v, path+".at", 0, MaxDuration) }},
			{"kill", func(v *yaml.Node) { worker(v, FaultKill) }},
			{"stall", func(v *yaml.Node) { worker(v, FaultStall) }},
			{"crash_loop", func(v *yaml.Node) { worker(v, FaultCrashLoop) }},
			{"signal", func(v *yaml.Node) {
				actions = append(actions, FaultSignal)
				f.Action = FaultSignal
				s, ok := p.str(v, path+".signal")
				s = strings.TrimPrefix(strings.ToUpper(s), "SIG")
				if ok && !slices.Contains(FaultSignals, s) {
					p.errorf(v, path+".signal", strings.Join(FaultSignals, ", "), "%q is not a signal a fault may send", v.Value)
				}
				f.Signal = s
			}},
			{"for", func(v *yaml.Node) { forNode = v; f.For, _ = p.durIn(v, path+".for", time.Millisecond, MaxStall) }},
			{"times", func(v *yaml.Node) { timesNode = v; f.Times, _ = p.intIn(v, path+".times", 1, MaxCrashLoop) }},
			{"every", func(v *yaml.Node) { everyNode = v; f.Every, _ = p.durIn(v, path+".every", 0, MaxCrashEvery) }},
			{"pick", func(v *yaml.Node) {
				pickNode = v
				f.Pick, f.ID = p.pick(v, path+".pick")
			}},
		})
		if item.Kind != yaml.MappingNode {
			return
		}
		if atNode == nil {
			p.errorf(item, path+".at", "a time from the trial's start such as 3s", "missing")
		}
		switch {
		case len(actions) == 0:
			p.errorf(item, path, "one of kill: worker, stall: worker, crash_loop: worker, signal: NAME", "missing what the fault does")
		case len(actions) > 1:
			p.errorf(item, path, "one of kill:, stall:, crash_loop:, signal: per fault", "has %s", strings.Join(actions, " and "))
		}
		if f.Action == FaultStall && forNode == nil {
			p.errorf(item, path+".for", "how long the worker stays stopped, such as 500ms", "missing")
		}
		if forNode != nil && f.Action != FaultStall && len(actions) == 1 {
			p.errorf(forNode, path+".for", "for: with stall: worker", "only for stall:")
		}
		if f.Action == FaultCrashLoop && timesNode == nil {
			p.errorf(item, path+".times", fmt.Sprintf("how many kills in all, 1..%d", MaxCrashLoop), "missing")
		}
		if timesNode != nil && f.Action != FaultCrashLoop && len(actions) == 1 {
			p.errorf(timesNode, path+".times", "times: with crash_loop: worker", "only for crash_loop:")
		}
		if everyNode != nil && f.Action != FaultCrashLoop && len(actions) == 1 {
			p.errorf(everyNode, path+".every", "every: with crash_loop: worker", "only for crash_loop:")
		}
		if pickNode != nil && !f.OnWorker() && len(actions) == 1 {
			p.errorf(pickNode, path+".pick", "pick: with kill: worker, stall: worker or crash_loop: worker", "only for a fault on a worker")
		}
		if f.OnWorker() && f.Pick == "" {
			f.Pick = PickRandom
		}
		// kept even when bad, so that its index is its place in the
		// file for the checks that follow (the scenario is refused anyway)
		out = append(out, f)
	})
	return out
}

// pick reads "busiest", "random" or "id N".
func (p *parser) pick(n *yaml.Node, name string) (string, int) {
	const allowed = "busiest, random, id N (N: the worker's X-Worker-Id)"
	v, ok := p.str(n, name)
	if !ok {
		return "", 0
	}
	switch v {
	case PickBusiest, PickRandom:
		return v, 0
	}
	if rest, ok := strings.CutPrefix(v, PickID+" "); ok {
		id, err := strconv.Atoi(strings.TrimSpace(rest))
		if err == nil && id >= 0 && id < MaxWorkers {
			return PickID, id
		}
	}
	p.errorf(n, name, allowed, "%q is not a way to pick a worker", v)
	return "", 0
}

// checkFaults checks the faults against the rest of the scenario: each
// happens within the trial, acts on a server that has what it needs, and
// none follows a fault that ends the server.
func (p *parser) checkFaults(s *Scenario) {
	for _, err := range faultErrors(s, p.engineLine) {
		err.File = p.file
		p.errs = append(p.errs, err)
	}
}

// faultErrors are the problems of s.Faults given s's servers and load,
// each at its fault's line, and the engine's at engineLine (File left to
// the caller).
func faultErrors(s *Scenario, engineLine int) Errors {
	var errs Errors
	if len(s.Faults) > 0 && s.Load.Engine == load.EngineVegeta {
		// vegeta runs over net/http, whose Transport silently retries an
		// idempotent request that failed on a reused connection: the very
		// failures a fault causes would not be counted.
		errs = append(errs, &Error{Line: max(engineLine, 1), Field: "load.engine", Problem: "faults need a client that never retries",
			Allowed: load.EngineLean})
	}
	add := func(f Fault, i int, field, allowed, format string, args ...any) {
		path := fmt.Sprintf("faults[%d]", i)
		if field != "" {
			path += "." + field
		}
		errs = append(errs, &Error{Line: max(f.Line, 1), Field: path, Problem: fmt.Sprintf(format, args...), Allowed: allowed})
	}
	ender := -1 // the earliest fault that ends the server
	for i, f := range s.Faults {
		if f.Ends() && (ender < 0 || f.At < s.Faults[ender].At) {
			ender = i
		}
	}
	for i, f := range s.Faults {
		switch {
		case f.At >= s.Load.Duration:
			add(f, i, "at", "less than the trial's duration ("+fmtDur(s.Load.Duration)+")", "%s is beyond the trial's duration", fmtDur(f.At))
		case f.At+f.Span() >= s.Load.Duration:
			add(f, i, "every", "at + every × (times - 1) less than the trial's duration ("+fmtDur(s.Load.Duration)+")",
				"the last of %d kills %s apart from %s is due at %s, beyond the trial's duration", f.Times, fmtDur(f.Every), fmtDur(f.At), fmtDur(f.At+f.Span()))
		}
		if e := ender; e >= 0 && i != e && f.At+f.Span() >= s.Faults[e].At {
			add(f, i, "at", "faults before the one that ends the server", "comes after the SIG%s at %s (line %d), which ends the server",
				s.Faults[e].Signal, fmtDur(s.Faults[e].At), s.Faults[e].Line)
		}
		// a crash loop takes any new worker process for the replacement of
		// its last kill, and its figures count from that kill: no other
		// fault may act while its kills are due (one that ends the server
		// is the ender check's)
		for j, c := range s.Faults {
			if j == i || c.Action != FaultCrashLoop || f.Ends() || f.At < c.At || f.At > c.At+c.Span() ||
				(f.Action == FaultCrashLoop && f.At == c.At && i < j) { // two loops at once: one error, on the later
				continue
			}
			add(f, i, "at", "after a crash loop's last kill: at + every × (times - 1)", "%s falls within the crash loop at %s (line %d), whose last kill is due at %s at the earliest",
				fmtDur(f.At), fmtDur(c.At), c.Line, fmtDur(c.At+c.Span()))
			break
		}
		for _, sv := range s.Servers {
			switch {
			case sv.IsTarget():
				add(f, i, "", "servers the runner starts (model: or command:)", "server %s is a target: the runner does not own its processes", sv.Name)
			case f.OnWorker() && (sv.Model == "single" || sv.Model == "pool"):
				add(f, i, f.Action, "servers with worker processes: model prefork or a command:", "server %s (model %s) has no worker processes", sv.Name, sv.Model)
			case f.Action == FaultSignal:
				if ok, allowed := SignalApplies(f.Signal, sv); !ok {
					add(f, i, "signal", allowed, "server %s (model %s) does not handle SIG%s (its default action ends the process)", sv.Name, sv.Model, f.Signal)
				}
			}
		}
		if f.Pick == PickID && s.Load.Warmup == 0 {
			add(f, i, "pick", "pick: id N with a warm-up (its answers map worker ids to pids), or busiest, random", "load.warmup is 0")
		}
	}
	return errs
}

// overrideFaultErrors checks the faults against the duration and warm-up
// the overrides o would set, naming the flag.
func (s *Scenario) overrideFaultErrors(o Overrides) Errors {
	if len(s.Faults) == 0 || (o.Duration == 0 && o.Warmup == nil && o.Requests == 0 && o.Engine == "") {
		return nil
	}
	c := *s
	switch {
	case o.Requests > 0:
		c.Load.Duration = MaxDuration
	case o.Duration != 0:
		c.Load.Duration = o.Duration
	}
	if o.Warmup != nil {
		c.Load.Warmup = *o.Warmup
	}
	if o.Engine != "" {
		c.Load.Engine = o.Engine
	}
	var errs Errors
	for _, e := range faultErrors(&c, 0) {
		switch {
		case e.Field == "load.engine":
			if o.Engine == "" {
				continue // the file's own engine, checked when it was parsed
			}
			e.Field, e.Line = "--engine", 0
		case strings.HasSuffix(e.Field, ".pick") && o.Warmup != nil:
			e.Problem = fmt.Sprintf("%s: %s (line %d)", e.Field, e.Problem, e.Line)
			e.Field, e.Line = "--warmup", 0
		case (strings.HasSuffix(e.Field, ".at") || strings.HasSuffix(e.Field, ".every")) && (o.Duration != 0 || o.Requests > 0):
			e.Problem = fmt.Sprintf("%s: %s (line %d)", e.Field, e.Problem, e.Line)
			e.Field, e.Line = "--duration", 0
		default:
			continue // not caused by an override: the file was checked when parsed
		}
		errs = append(errs, e)
	}
	return errs
}

// faultSpecs is the faults as a run records them.
func (s *Scenario) faultSpecs() []results.FaultSpec {
	var out []results.FaultSpec
	for _, f := range s.Faults {
		out = append(out, results.FaultSpec{AtMs: float64(f.At) / 1e6, Action: f.Action, Signal: f.Signal,
			Pick: f.Pick, ID: f.ID, ForMs: float64(f.For) / 1e6, Times: f.Times, EveryMs: float64(f.Every) / 1e6, Name: f.String()})
	}
	return out
}

// HasFaults reports whether the scenario applies faults.
func (s *Scenario) HasFaults() bool { return len(s.Faults) > 0 }
