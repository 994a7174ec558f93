// Package ab measures two server command lines, base and head, side by
// side for the regression gate: trials alternate in pairs, the order
// inside each pair drawn at random (AB or BA), every trial against a fresh
// server process started from its command line, with a warm-up attack that
// is discarded before the measured one.
//
// A trial starts the server in its own process group (Pdeathsig: it dies
// with this process), waits for GET /healthz, warms up, samples the CPU
// time of the whole process group (nanosecond schedstat), runs the
// measured attack through bench/load, samples the CPU again, and stops the
// group (SIGTERM, grace, SIGKILL, reaped). A server that fails to start
// fails its trial; a server that never starts fails the run.
//
// Run blocks until every trial is done or ctx ends; it is not safe to run
// two at once in one process when pinning is on (it sets the CPU affinity
// of the process's threads).
package ab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Defaults.
const (
	DefaultPairs        = 10
	DefaultReadyTimeout = 10 * time.Second
	DefaultGrace        = 5 * time.Second
	// MaxStartFailures is how many consecutive trials of one arm may fail
	// to start before the run gives up.
	MaxStartFailures = 3
)

// Arm names.
const (
	Base = "base"
	Head = "head"
)

// Request is one entry of the request mix, by path.
type Request struct {
	Method string
	Path   string // starts with '/'
	Weight int
}

// Config is one A/B measurement. Base, Head, Requests, Mode, Level and
// Duration are required.
type Config struct {
	Base, Head []string // argv of the two servers (see ServerArgv)
	Env        []string // extra KEY=VALUE for both servers

	Requests  []Request
	Mode      string // load.Open or load.Closed
	Level     int    // rate/s (open) or concurrency (closed)
	Duration  time.Duration
	Warmup    time.Duration // per trial, discarded; 0 = none
	KeepAlive bool
	Timeout   time.Duration // per request; 0 = load's default

	Pairs        int    // trials per arm; 0 = DefaultPairs
	Seed         uint64 // order of the arms inside each pair
	ReadyTimeout time.Duration
	Grace        time.Duration

	// ServerCPUs and ClientCPUs pin the servers and this process (the
	// load generator); nil = not pinned.
	ServerCPUs, ClientCPUs []int

	// Progress, when set, is called after every trial from Run's goroutine.
	Progress func(Progress)
}

// Progress reports one finished trial.
type Progress struct {
	Pair, Pairs int
	Arm         string
	Trial       results.Trial
	Err         error // the trial failed (the server did not start, …)
}

// Result is what Run measured: one results.Trial per trial and arm, in
// run order within each arm, and the order of each pair ("AB" or "BA").
type Result struct {
	Base, Head []results.Trial
	Order      []string
	Errors     []string // why trials failed, "arm trial N: …"
}

func (c *Config) defaults() error {
	if c.Pairs == 0 {
		c.Pairs = DefaultPairs
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	switch {
	case len(c.Base) == 0 || len(c.Head) == 0:
		return errors.New("ab: base and head commands are required")
	case len(c.Requests) == 0:
		return errors.New("ab: no requests")
	case c.Pairs < 1 || c.Pairs > 1000:
		return fmt.Errorf("ab: %d trials out of range (allowed: 1..1000)", c.Pairs)
	case c.Duration <= 0:
		return fmt.Errorf("ab: duration %s (allowed: > 0)", c.Duration)
	}
	return nil
}

// Run measures cfg.Pairs trials of each arm, interleaved. It returns an
// error when the run cannot go on (a server never starts, ctx ends, the
// generator fails); trials that fail are recorded with no requests and
// listed in Result.Errors.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if len(cfg.ClientCPUs) > 0 {
		restore, err := pinProcess(cfg.ClientCPUs)
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xab))
	res := &Result{}
	fails := map[string]int{}
	started := map[string]bool{}
	for pair := 1; pair <= cfg.Pairs; pair++ {
		order := []string{Base, Head}
		if rng.IntN(2) == 1 {
			order = []string{Head, Base}
		}
		if order[0] == Base {
			res.Order = append(res.Order, "AB")
		} else {
			res.Order = append(res.Order, "BA")
		}
		for _, arm := range order {
			argv := cfg.Base
			if arm == Head {
				argv = cfg.Head
			}
			t, err := runTrial(ctx, cfg, arm, argv, pair)
			if ctx.Err() != nil {
				return res, fmt.Errorf("interrupted at trial %d of %d: %w", pair, cfg.Pairs, ctx.Err())
			}
			if arm == Base {
				res.Base = append(res.Base, t)
			} else {
				res.Head = append(res.Head, t)
			}
			if cfg.Progress != nil {
				cfg.Progress(Progress{Pair: pair, Pairs: cfg.Pairs, Arm: arm, Trial: t, Err: err})
			}
			if err == nil {
				fails[arm] = 0
				started[arm] = true
				continue
			}
			res.Errors = append(res.Errors, fmt.Sprintf("%s trial %d: %v", arm, pair, err))
			var se *startError
			if !errors.As(err, &se) {
				continue
			}
			fails[arm]++
			if !started[arm] || fails[arm] >= MaxStartFailures {
				return res, fmt.Errorf("the %s server did not start: %w", arm, err)
			}
		}
	}
	return res, nil
}

// startError is a server that could not be started or never became ready.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// runTrial is one fresh server, one warm-up, one measured attack. The OS
// thread stays locked from the fork to the reaping, so Pdeathsig (tied to
// the forking thread) holds for the server's whole life.
func runTrial(ctx context.Context, cfg Config, arm string, argv []string, n int) (t results.Trial, err error) {
	t = results.Trial{Server: arm, Level: cfg.Level, Trial: n}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	srv, err := startServer(argv, cfg.Env, cfg.ServerCPUs)
	if err != nil {
		return t, &startError{err}
	}
	defer func() {
		if serr := srv.stop(cfg.Grace); serr != nil && err == nil {
			err = serr
		}
	}()
	if err := srv.waitReady(ctx, cfg.ReadyTimeout); err != nil {
		return t, &startError{err}
	}
	targets := make([]load.Target, len(cfg.Requests))
	for i, r := range cfg.Requests {
		targets[i] = load.Target{Method: r.Method, URL: "http://" + srv.addr + r.Path, Weight: r.Weight}
	}
	lc := load.Config{Targets: targets, Mode: cfg.Mode, Level: cfg.Level, KeepAlive: cfg.KeepAlive,
		Timeout: cfg.Timeout, Name: "clusterbench-ab-" + arm}
	if cfg.Warmup > 0 {
		wc := lc
		wc.Duration = cfg.Warmup
		if _, err := load.Run(ctx, wc); err != nil {
			return t, fmt.Errorf("warm-up: %w", err)
		}
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return t, fmt.Errorf("server CPU before the trial: %w", err)
	}
	lc.Duration = cfg.Duration
	out, err := load.Run(ctx, lc)
	if err != nil {
		return t, fmt.Errorf("attack: %w", err)
	}
	cpu1, cerr := srv.cpu()
	t = out.Trial(arm, n)
	if cerr != nil {
		return t, fmt.Errorf("server CPU after the trial (did it exit?): %w; %s", cerr, srv.stderr)
	}
	t.ServerCPUS = (cpu1 - cpu0).Seconds()
	if t.Requests > 0 {
		t.ServerCPUPerReqUs = t.ServerCPUS / float64(t.Requests) * 1e6
	}
	return t, nil
}
