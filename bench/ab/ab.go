// Package ab measures two server command lines, base and head, side by
// side for the regression gate.
//
// Design: a trial is one fresh server process. Run starts Pairs base and
// Pairs head servers, warms each up (discarded), then measures in Rounds
// rounds; in every round it walks the pairs in order and, inside each
// pair, attacks base and head one after the other in a random order (AB or
// BA), each for Duration/Rounds. A trial's figures are the sums over its
// slices (requests, server CPU, wall time), so each trial measures
// Duration in total, spread over the whole run. With Rounds = 1 this is
// plain pair-wise interleaving; with more rounds, slow drift of the
// machine (other jobs, thermal, frequency) lands on every trial alike
// instead of on whichever trials ran during it, which narrows the spread
// between trials of one arm: randomized multiple interleaved trials
// (Abedi and Brecht, ICPE 2017).
//
// Server CPU is the CPU time of the server's whole process tree during
// its slices, from metrics.TreeCPU (nanoseconds per process); it needs
// Linux, and elsewhere reads as not measured (0, printed "-"). Latency
// percentiles of a trial are those of all its requests, the slices'
// histograms merged. Servers are started,
// health-checked and stopped by bench/runner: own process group,
// Pdeathsig on Linux, SIGTERM then SIGKILL, reaped.
//
// Run blocks until every trial is done or ctx ends. It pins this
// process's threads when ClientCPUs is set, so run one at a time.
package ab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/runner"
)

// Defaults.
const (
	DefaultPairs        = 10
	DefaultRounds       = 1
	DefaultReadyTimeout = 10 * time.Second
	DefaultGrace        = 5 * time.Second
	// MinSlice is the shortest measured slice Rounds may cut a trial into.
	MinSlice = 50 * time.Millisecond
	// MaxPairs is the most trials per arm (each a server process that
	// stays up for the whole run).
	MaxPairs = 100
)

// ErrConfig is wrapped by Run's errors about an invalid Config (a usage
// error for a CLI), as opposed to a measurement that failed.
var ErrConfig = errors.New("ab: invalid configuration")

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
	Mode      string        // load.Open or load.Closed
	Level     int           // rate/s (open) or concurrency (closed)
	Duration  time.Duration // measured time per trial, summed over its slices
	Warmup    time.Duration // per trial, before its first slice, discarded; 0 = none
	KeepAlive bool
	Timeout   time.Duration // per request; 0 = load's default
	Engine    string        // load.EngineLean ("" too) or load.EngineVegeta
	MaxConns  int           // open loop: connection bound; 0 = load's default

	Pairs        int    // trials per arm; 0 = DefaultPairs
	Rounds       int    // slices per trial; 0 = DefaultRounds
	Seed         uint64 // order of the arms inside each pair
	ReadyTimeout time.Duration
	Grace        time.Duration

	// ServerCPUs and ClientCPUs pin the servers and this process (the
	// load generator); nil = not pinned.
	ServerCPUs, ClientCPUs []int

	// Progress, when set, is called from Run's goroutine as it goes.
	Progress func(string)
	// Events, when set, gets each step from Run's goroutine as it
	// happens, for a live display (bench/progress): starting the servers,
	// each warm-up and slice as a load phase with its running count, and
	// stopping them. A trial that failed skips its phases, which stay in
	// the plan's estimate of the time left.
	Events func(progress.Event)
}

// Result is what Run measured: one results.Trial per trial and arm, and
// the order of each pair in each round ("AB" = base first).
type Result struct {
	Base, Head []results.Trial
	Order      []string
	Errors     []string // why trials failed, "base trial 3: …"
}

func (c *Config) defaults() error {
	if c.Pairs == 0 {
		c.Pairs = DefaultPairs
	}
	if c.Rounds == 0 {
		c.Rounds = DefaultRounds
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	switch {
	case len(c.Base) == 0 || len(c.Head) == 0:
		return fmt.Errorf("%w: base and head commands are required", ErrConfig)
	case len(c.Requests) == 0:
		return fmt.Errorf("%w: no requests", ErrConfig)
	case c.Pairs < 1 || c.Pairs > MaxPairs:
		return fmt.Errorf("%w: %d trials out of range (allowed: 1..%d)", ErrConfig, c.Pairs, MaxPairs)
	case c.Duration <= 0:
		return fmt.Errorf("%w: duration %s (allowed: > 0)", ErrConfig, c.Duration)
	case c.Rounds < 1 || c.Duration/time.Duration(c.Rounds) < MinSlice:
		return fmt.Errorf("%w: %d rounds cut the %s trials into slices shorter than %s (allowed: 1..%d)",
			ErrConfig, c.Rounds, c.Duration, MinSlice, max(1, int(c.Duration/MinSlice)))
	}
	return nil
}

// trial is one server process and what its slices measured.
type trial struct {
	arm    string
	n      int
	proc   *runner.Proc
	addr   string
	err    error // the trial failed: not started, died, unreadable
	slices []*load.Outcome
	cpu    time.Duration
}

// Run measures cfg.Pairs trials of each arm. It returns an error when the
// measurement cannot go on: the first server of an arm does not start,
// ctx ends, the load generator fails. Trials that fail otherwise are
// recorded with no requests and listed in Result.Errors.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if len(cfg.ClientCPUs) > 0 {
		restore, err := runner.PinThreads(cfg.ClientCPUs)
		if err != nil {
			return nil, fmt.Errorf("load generator: %w", err)
		}
		defer restore()
	}
	var cpus []int // nil: the servers run anywhere
	if len(cfg.ServerCPUs) > 0 {
		cpus = cfg.ServerCPUs
	}
	note := func(format string, args ...any) { // a line for cfg.Progress
		if cfg.Progress != nil {
			cfg.Progress(fmt.Sprintf(format, args...))
		}
	}

	event := func(e progress.Event) {
		if cfg.Events != nil {
			cfg.Events(e)
		}
	}
	newLive := func() *load.Live { // a fresh running count per phase, for Events
		if cfg.Events == nil {
			return nil
		}
		return &load.Live{}
	}
	slice := cfg.Duration / time.Duration(cfg.Rounds)
	event(progress.Event{Kind: progress.RunStarts, Name: "ab", Plan: progress.Plan{Servers: 1, Levels: 1,
		Warmup: cfg.Warmup, Warmups: 2 * cfg.Pairs, Trials: 2 * cfg.Pairs * cfg.Rounds, Duration: slice}})
	event(progress.Event{Kind: progress.ServerStarts, Server: fmt.Sprintf("%d servers", 2*cfg.Pairs)})

	// Start every server, pair by pair; stop them all on the way out.
	trials := make([]*trial, 0, 2*cfg.Pairs)
	defer func() {
		if serr := stopAll(trials, cfg.Grace); serr != nil && err == nil {
			err = serr
		}
		event(progress.Event{Kind: progress.ServerEnds})
		event(progress.Event{Kind: progress.RunEnds})
	}()
	for i := 1; i <= cfg.Pairs; i++ {
		for _, arm := range []string{Base, Head} {
			t := &trial{arm: arm, n: i}
			trials = append(trials, t)
			argv := cfg.Base
			if arm == Head {
				argv = cfg.Head
			}
			t.err = start(ctx, t, argv, cfg, cpus)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if t.err != nil && i == 1 {
				return nil, fmt.Errorf("the %s server did not start: %w", arm, t.err)
			}
		}
	}
	note("started %d servers", len(trials))

	// Warm-up, discarded.
	if cfg.Warmup > 0 {
		for _, t := range trials {
			if t.err != nil {
				continue
			}
			live := newLive()
			event(progress.Event{Kind: progress.PhaseStarts, Label: fmt.Sprintf("warm-up: %s %d/%d", t.arm, t.n, cfg.Pairs), Warmup: true, Live: live})
			if _, err := attack(ctx, t, cfg, cfg.Warmup, live); err != nil {
				t.err = fmt.Errorf("warm-up: %w", err)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 0xab))
	res = &Result{}
	for round := 1; round <= cfg.Rounds; round++ {
		for i := 0; i < cfg.Pairs; i++ {
			pair := trials[2*i : 2*i+2]
			order := "AB"
			if rng.IntN(2) == 1 {
				order = "BA"
				pair = []*trial{pair[1], pair[0]}
			}
			res.Order = append(res.Order, order)
			for _, t := range pair {
				if t.err != nil {
					continue
				}
				live := newLive()
				event(progress.Event{Kind: progress.PhaseStarts, Label: fmt.Sprintf("round %d/%d: %s %d/%d", round, cfg.Rounds, t.arm, t.n, cfg.Pairs), Live: live})
				measure(ctx, t, cfg, slice, live)
				if ctx.Err() != nil {
					return nil, fmt.Errorf("interrupted in round %d of %d: %w", round, cfg.Rounds, ctx.Err())
				}
			}
		}
		note("round %d/%d measured", round, cfg.Rounds)
	}
	for _, t := range trials {
		tr := t.result(cfg)
		if t.err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s trial %d: %v", t.arm, t.n, t.err))
		}
		if t.arm == Base {
			res.Base = append(res.Base, tr)
		} else {
			res.Head = append(res.Head, tr)
		}
	}
	return res, nil
}

// stopAll stops every started server at once, so that ending a run (or
// an interrupted one) takes one grace period, not one per server, and
// waits until each is reaped.
func stopAll(trials []*trial, grace time.Duration) error {
	errs := make([]error, len(trials))
	var wg sync.WaitGroup
	for i, t := range trials {
		if t.proc == nil {
			continue
		}
		wg.Go(func() { errs[i] = t.proc.Stop(grace) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// AutoRounds is the default number of slices of a trial: one per 100ms of
// its duration, between 1 and 5.
func AutoRounds(d time.Duration) int {
	return max(1, min(5, int(d/(100*time.Millisecond))))
}

func start(ctx context.Context, t *trial, argv []string, cfg Config, cpus []int) error {
	addr, err := runner.FreeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := runner.StartProc(runner.ProcSpec{
		Name: fmt.Sprintf("%s-%d", t.arm, t.n),
		Argv: ServerArgv(argv, addr),
		Env:  append(slices.Clone(cfg.Env), "PORT="+port, "ADDR="+addr),
		Addr: addr,
		CPUs: cpus,
	})
	if err != nil {
		return err
	}
	t.proc, t.addr = p, addr
	return p.WaitReady(ctx, cfg.ReadyTimeout)
}

func attack(ctx context.Context, t *trial, cfg Config, d time.Duration, live *load.Live) (*load.Outcome, error) {
	targets := make([]load.Target, len(cfg.Requests))
	for i, r := range cfg.Requests {
		targets[i] = load.Target{Method: r.Method, URL: "http://" + t.addr + r.Path, Weight: r.Weight}
	}
	return load.Run(ctx, load.Config{Targets: targets, Mode: cfg.Mode, Level: cfg.Level, Duration: d,
		KeepAlive: cfg.KeepAlive, Timeout: cfg.Timeout, Engine: cfg.Engine, MaxConns: cfg.MaxConns, Name: "clusterbench-ab-" + t.arm,
		Live: live})
}

// measure runs one slice against t, with the server's CPU sampled on
// either side of it (metrics.CPUDuring). Where servers' CPU is not
// measured (ServerCPUUnavailable), it stays 0, printed "-".
func measure(ctx context.Context, t *trial, cfg Config, d time.Duration, live *load.Live) {
	pid := t.proc.Pid()
	cpu := func() (time.Duration, error) { return metrics.TreeCPU(pid) }
	if ServerCPUUnavailable != "" {
		cpu = func() (time.Duration, error) { return 0, nil }
	}
	var out *load.Outcome
	used, err := metrics.CPUDuring(cpu, func() (err error) {
		out, err = attack(ctx, t, cfg, d, live)
		return err
	})
	switch {
	case errors.Is(err, metrics.ErrCPUNotMeasured):
		t.err = fmt.Errorf("server CPU of a slice (did it exit?): %w; %s", err, t.proc.Output())
		return
	case err != nil:
		t.err = fmt.Errorf("attack: %w", err)
		return
	}
	t.slices = append(t.slices, out)
	t.cpu += used
}

// result folds a trial's slices into one results.Trial: sums of counts,
// CPU and wall time; latency percentiles of all its requests (the slices'
// histograms merged). A failed trial has no requests, so every metric
// treats it as failed.
func (t *trial) result(cfg Config) results.Trial {
	r := results.Trial{Server: t.arm, Level: cfg.Level, Trial: t.n}
	if t.err != nil || len(t.slices) == 0 {
		return r
	}
	var wall, client, achieved, util float64
	accs := make([]*metrics.Accumulator, len(t.slices))
	for i, o := range t.slices {
		accs[i] = o.Acc
		st := o.Trial(t.arm, t.n, 0)
		wall += st.DurationS
		client += st.ClientCPUS
		r.Requests += st.Requests
		r.Successes += st.Successes
		achieved += st.AchievedRate * st.DurationS
		util += st.ClientCPUUtil * st.DurationS
		r.ClientBound = r.ClientBound || st.ClientBound
		r.RateShortfall = r.RateShortfall || st.RateShortfall
		r.TargetRate = st.TargetRate
		r.StatusCodes = addCounts(r.StatusCodes, st.StatusCodes)
		r.Errors = addCounts(r.Errors, st.Errors)
	}
	r.DurationS = wall
	r.ClientCPUS = client
	if r.Requests > 0 {
		r.SuccessRatio = float64(r.Successes) / float64(r.Requests)
		r.ServerCPUS = t.cpu.Seconds()
		r.ServerCPUPerReqUs = r.ServerCPUS / float64(r.Requests) * 1e6
	}
	if wall > 0 {
		r.Throughput = float64(r.Successes) / wall
		r.AchievedRate = achieved / wall
		r.ClientCPUUtil = util / wall
	}
	r.Histogram = metrics.PooledHistogram(accs...)
	r.Latency = metrics.LatencyOf(r.Histogram)
	first, last := t.slices[0], t.slices[len(t.slices)-1]
	r.Histogram.SetStartTimeMs(first.Began.UnixMilli())
	r.Histogram.SetEndTimeMs(last.Began.Add(last.Wall).UnixMilli())
	return r
}

func addCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]int64{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}
