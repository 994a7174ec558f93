package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/load"
)

// Overrides are command-line changes to a scenario (`clusterbench run
// --servers a,b --concurrency 1,8,64 ...`). Zero values keep what the file
// says. Setting Concurrency switches the load to a closed loop, Rate to an
// open loop; setting both is an error.
type Overrides struct {
	Servers     []string       // keep only these servers (by name), in the file's order
	Concurrency []int          // closed-loop levels
	Rate        []int          // open-loop levels (requests/s)
	Duration    time.Duration  // 0 = keep
	Warmup      *time.Duration // nil = keep; 0 = no warm-up
	Trials      int            // 0 = keep
	Engine      string         // "" = keep
	// Requests stops each trial after this many requests (0 = keep); the
	// trial's duration becomes MaxDuration, a bound rather than a length.
	Requests int64
}

// Override applies o to s with the rules of the file format, checking
// every field before changing any: on error s is left as it was and the
// error is Errors naming each flag, e.g.
//
//	--concurrency: 0 is out of range (allowed: 1..10000)
//	--servers: "nginx" is not a server of scenario hello (allowed: single, pool, prefork)
func (s *Scenario) Override(o Overrides) error {
	var errs Errors
	bad := func(flag, allowed, format string, args ...any) {
		errs = append(errs, &Error{Field: flag, Problem: fmt.Sprintf(format, args...), Allowed: allowed})
	}
	levels := func(flag string, vs []int, hi int) {
		if len(vs) > MaxLevels {
			bad(flag, fmt.Sprintf("at most %d levels", MaxLevels), "too many levels")
		}
		for i, v := range vs {
			switch {
			case v < 1 || v > hi:
				bad(flag, fmt.Sprintf("1..%d", hi), "%d is out of range", v)
			case slices.Contains(vs[:i], v):
				bad(flag, "each level once", "%d is listed twice", v)
			}
		}
	}
	names := make([]string, len(s.Servers))
	for i, sv := range s.Servers {
		names[i] = sv.Name
	}
	for i, n := range o.Servers {
		switch {
		case !slices.Contains(names, n):
			bad("--servers", strings.Join(names, ", "), "%q is not a server of scenario %s", n, s.Name)
		case slices.Contains(o.Servers[:i], n):
			bad("--servers", "each server once", "%q is listed twice", n)
		}
	}
	if len(o.Concurrency) > 0 && len(o.Rate) > 0 {
		bad("--rate", "--concurrency for a closed loop or --rate for an open loop, not both", "given together with --concurrency")
	}
	levels("--concurrency", o.Concurrency, MaxConcurrency)
	levels("--rate", o.Rate, MaxRate)
	if o.Duration != 0 && (o.Duration < MinDuration || o.Duration > MaxDuration) {
		bad("--duration", fmt.Sprintf("%s..%s", fmtDur(MinDuration), fmtDur(MaxDuration)), "%s is out of range", fmtDur(o.Duration))
	}
	if o.Warmup != nil && (*o.Warmup < 0 || *o.Warmup > MaxWarmup) {
		bad("--warmup", fmt.Sprintf("%s..%s", fmtDur(0), fmtDur(MaxWarmup)), "%s is out of range", fmtDur(*o.Warmup))
	}
	if o.Trials != 0 && (o.Trials < 1 || o.Trials > MaxTrials) {
		bad("--trials", fmt.Sprintf("1..%d", MaxTrials), "%d is out of range", o.Trials)
	}
	if o.Engine != "" && o.Engine != load.EngineLean && o.Engine != load.EngineVegeta {
		bad("--engine", load.EngineLean+", "+load.EngineVegeta, "%q is not an engine", o.Engine)
	}
	errs = append(errs, s.overrideFaultErrors(o)...)
	if len(errs) > 0 {
		return errs
	}

	if len(o.Servers) > 0 {
		kept := s.Servers[:0:0]
		for _, sv := range s.Servers {
			if slices.Contains(o.Servers, sv.Name) {
				kept = append(kept, sv)
			}
		}
		s.Servers = kept
	}
	if len(o.Concurrency) > 0 {
		s.Load.Mode, s.Load.Levels = Closed, slices.Clone(o.Concurrency)
	}
	if len(o.Rate) > 0 {
		s.Load.Mode, s.Load.Levels = Open, slices.Clone(o.Rate)
	}
	if o.Duration != 0 {
		s.Load.Duration = o.Duration
	}
	if o.Warmup != nil {
		s.Load.Warmup = *o.Warmup
	}
	if o.Trials != 0 {
		s.Load.Trials = o.Trials
	}
	if o.Engine != "" {
		s.Load.Engine = o.Engine
	}
	if o.Requests > 0 {
		s.Load.Requests, s.Load.Duration = o.Requests, MaxDuration
	}
	return nil
}
