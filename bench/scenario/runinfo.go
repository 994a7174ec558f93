package scenario

import (
	"slices"
	"strconv"

	"github.com/clusterbench/clusterbench/bench/results"
)

// ServeArgs is the argument list, after the binary's name, that starts a
// Go model server s on addr: `serve --model M --addr A` plus each option the
// scenario set (an option left at zero keeps serve's default). It is nil
// for an external server, which runs s.Command instead.
func (s Server) ServeArgs(addr string) []string {
	if s.External() {
		return nil
	}
	args := []string{"serve", "--model", s.Model, "--addr", addr}
	if s.Workers > 0 {
		args = append(args, "--workers", strconv.Itoa(s.Workers))
	}
	if s.Balance != "" {
		args = append(args, "--balance", s.Balance)
	}
	if s.GOMAXPROCS > 0 {
		args = append(args, "--gomaxprocs", strconv.Itoa(s.GOMAXPROCS))
	}
	if s.Burn > 0 {
		args = append(args, "--burn", s.Burn.String())
	}
	if s.Queue > 0 {
		args = append(args, "--queue", strconv.Itoa(s.Queue))
	}
	return args
}

// Info is the scenario as a run records it (results.Run's Scenario and
// Load fields).
func (s *Scenario) Info() (results.ScenarioInfo, results.LoadInfo) {
	reqs := make([]results.Request, len(s.Requests))
	for i, r := range s.Requests {
		reqs[i] = results.Request{Method: r.Method, Path: r.Path, Weight: r.Weight, Headers: r.Headers, BodyBytes: len(r.Body)}
	}
	return results.ScenarioInfo{Name: s.Name, Description: s.Description, File: s.File},
		results.LoadInfo{
			Mode:             s.Load.Mode,
			Levels:           slices.Clone(s.Load.Levels),
			DurationS:        s.Load.Duration.Seconds(),
			WarmupS:          s.Load.Warmup.Seconds(),
			Trials:           s.Load.Trials,
			KeepAlive:        s.Load.KeepAlive,
			Engine:           s.Load.Engine,
			ExpectStatus:     slices.Clone(s.Load.Expect),
			MaxConns:         s.Load.MaxConns,
			RequestsPerTrial: s.Load.Requests,
			Requests:         reqs,
			Faults:           s.faultSpecs(),
		}
}
