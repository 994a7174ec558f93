// Package runner runs a scenario: for each server it starts the process in
// its own process group (pinned to the server CPUs, killed if this process
// dies), waits for /healthz, warms up, measures every level × trial with a
// fresh load engine (bench/load), stops the server (SIGTERM, grace,
// SIGKILL) and checks that no process of it is left. It returns the run as
// bench/results records it.
//
// A server that fails to start or to stop is reported in the run's
// warnings and the run goes on with the next server, marked incomplete.
// Cancelling the context (Ctrl-C) stops the current trial at once, stops
// the server and returns what was measured, marked incomplete.
//
// The scenario's calc batches (servers/calc) run after the servers, in this
// process and unpinned; they land in results.Run.Calc.
//
// Runner.Progress gets a line per step (servers started, each trial's
// figures); Runner.Events gets each step as an event with the running
// count of the warm-up or trial under way, for a live display
// (bench/progress).
//
// Run pins the calling process's threads to the load generator's CPUs for
// its duration and restores them afterwards; do not run two at once in one
// process. A Runner's fields are read-only during Run.
//
// Linux is the platform that measures everything. Elsewhere (macOS,
// Windows) a run goes unpinned and says so (PinningUnavailable), a
// server's CPU reads as not measured, Stop signals the server's process
// group (on Windows it kills the server) without following descendants
// through /proc, and a server outlives this process if that is killed.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/faults"
	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// Runner runs scenarios. Binary is required when a scenario has a Go model.
type Runner struct {
	Binary       string               // the clusterbench executable for `serve`
	Dir          string               // working directory of external servers; "" = this process's
	Args         []string             // the exact command line, recorded in the environment
	Progress     io.Writer            // a line per trial as it ends; nil = silent
	Events       func(progress.Event) // each step as it happens, from Run's goroutine; nil = none
	StartTimeout time.Duration        // 0 = DefaultStartTimeout
	StopGrace    time.Duration        // 0 = DefaultStopGrace
	// StartAt: Run records the environment and pins itself, then waits
	// until this instant before it reaches the first server and warms it
	// up, so that shards started apart begin together (run/load
	// --start-at). Zero = start at once.
	StartAt time.Time
}

// ErrNotStarted is Run's error when the context was cancelled while it
// waited for StartAt: nothing was measured.
var ErrNotStarted = errors.New("interrupted while waiting for the start time; nothing was measured")

// ServerError is a server that could not be started, became unhealthy, or
// left processes behind. The run goes on without it.
type ServerError struct {
	Server string
	Err    error
}

// Error names the server and says what went wrong.
func (e *ServerError) Error() string { return fmt.Sprintf("server %s: %v", e.Server, e.Err) }

// Unwrap returns the cause.
func (e *ServerError) Unwrap() error { return e.Err }

// Outcome is a run plus what went wrong in it.
type Outcome struct {
	Run         *results.Run
	Failed      []*ServerError // servers that failed, in order
	Interrupted bool           // ctx was cancelled
}

// Err summarises the failures, or nil when the run is complete.
func (o *Outcome) Err() error {
	var errs []error
	if o.Interrupted {
		errs = append(errs, errors.New("interrupted"))
	}
	for _, f := range o.Failed {
		errs = append(errs, f)
	}
	return errors.Join(errs...)
}

// Run runs sc. The error is for a run that could not begin (bad pinning,
// no binary); everything else is in the Outcome.
func (r *Runner) Run(ctx context.Context, sc *scenario.Scenario) (*Outcome, error) {
	pin, err := planPinning(sc.Pin)
	if err != nil {
		return nil, err
	}
	for _, s := range sc.Servers {
		if s.Model != "" && r.Binary == "" {
			return nil, fmt.Errorf("server %s is a Go model but the clusterbench binary is unknown", s.Name)
		}
	}
	restore := func() {}
	if pin.Client != nil {
		rs, err := pinSelf(pin.Client)
		if err != nil {
			return nil, err
		}
		restore = rs
		if os.Getenv("GOMAXPROCS") == "" {
			// The runtime would follow the new CPU set only about a
			// second later (measured): the first trial would run with
			// the old GOMAXPROCS, and the calc batches after restore
			// with the pinned one. Set it now, and back to the default
			// for the restored set.
			runtime.GOMAXPROCS(len(pin.Client))
			restore = func() { rs(); runtime.SetDefaultGOMAXPROCS() }
		}
	}
	defer func() { restore() }()
	info, loadInfo := sc.Info()
	run := &results.Run{
		Schema:   results.Schema,
		Scenario: info,
		Env:      Environment(ctx, r.dirOrDot(), r.Args, pin),
		Load:     loadInfo,
		Servers:  []results.Server{},
		Trials:   []results.Trial{},
	}
	// The environment (git) and pinning above take a host-dependent
	// time: wait only now, right before the first server and its
	// warm-up, so that shards started apart begin their trials together.
	late := time.Since(r.StartAt)
	if err := waitUntil(ctx, r.StartAt); err != nil {
		return nil, err
	}
	run.Started = time.Now().UTC()
	out := &Outcome{Run: run}
	if !r.StartAt.IsZero() && late > 0 {
		run.Warnings = append(run.Warnings, fmt.Sprintf("started %s after the start time %s, which had passed", late.Round(time.Millisecond), r.StartAt.UTC().Format(time.RFC3339Nano)))
	}
	r.progress("%s: pinning: %s\n", sc.Name, pin)
	r.event(progress.Event{Kind: progress.RunStarts, Name: sc.Name, Plan: progress.PlanOf(sc)})
	for i, s := range sc.Servers {
		if ctx.Err() != nil {
			break
		}
		r.event(progress.Event{Kind: progress.ServerStarts, Server: s.Name, ServerN: i})
		if err := r.runServer(ctx, sc, s, pin, out); err != nil {
			se := &ServerError{Server: s.Name, Err: err}
			out.Failed = append(out.Failed, se)
			run.Warnings = append(run.Warnings, se.Error())
			r.progress("%s: %v\n", sc.Name, se)
		}
		r.event(progress.Event{Kind: progress.ServerEnds, ServerN: i})
	}
	// The generator's GOMAXPROCS as its trials ran: read it before
	// unpinning (read after the calc batches, it was the unpinned figure).
	run.Env.GOMAXPROCS = runtime.GOMAXPROCS(0)
	// Calc batches use every CPU (master and workers): unpin first.
	restore()
	restore = func() {}
	r.runCalc(ctx, sc, out)
	r.event(progress.Event{Kind: progress.RunEnds})
	out.Interrupted = ctx.Err() != nil
	run.Finished = time.Now().UTC()
	run.Summary = metrics.Summarize(run.Trials, run.Servers)
	run.Faults = faults.Summarize(run.Trials)
	run.Warnings = append(run.Warnings, TrialWarnings(run.Trials)...)
	var why []string
	if out.Interrupted {
		why = append(why, "interrupted")
	}
	for _, f := range out.Failed {
		why = append(why, "server "+f.Server+" failed")
	}
	run.Complete = len(why) == 0
	run.Incomplete = strings.Join(why, "; ")
	return out, nil
}

// waitUntil returns at t (at once when t is zero or past), or with
// ErrNotStarted when ctx is cancelled first.
func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if t.IsZero() || d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (start time %s)", ErrNotStarted, t.UTC().Format(time.RFC3339Nano))
	}
}

func (r *Runner) dirOrDot() string {
	if r.Dir == "" {
		return "."
	}
	return r.Dir
}

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format, args...)
	}
}

// procSpec is how to start server s on addr.
func (r *Runner) procSpec(s scenario.Server, dir, addr string, pin Pinning) (ProcSpec, results.Server) {
	spec := ProcSpec{Name: s.Name, Addr: addr, Dir: r.Dir, CPUs: pin.Server}
	if s.External() && dir != "" {
		spec.Dir = dir // a command's relative paths are the scenario file's
	}
	rec := results.Server{Name: s.Name, Model: s.Model, Workers: s.Workers, Balance: s.Balance}
	if s.External() {
		_, port, _ := strings.Cut(addr, ":")
		spec.Argv = append([]string(nil), s.Command...)
		spec.Env = []string{"PORT=" + port, "ADDR=" + addr}
		for k, v := range s.Env {
			spec.Env = append(spec.Env, k+"="+v)
			rec.Env = append(rec.Env, k+"="+v)
		}
		slices.Sort(rec.Env)
	} else {
		spec.Argv = append([]string{r.Binary}, s.ServeArgs(addr)...)
	}
	rec.Command = spec.Argv
	return spec, rec
}

// startServer starts s on a free port and waits until it is healthy,
// retrying with another port when the first was taken meanwhile.
func (r *Runner) startServer(ctx context.Context, s scenario.Server, dir string, pin Pinning) (*Proc, results.Server, error) {
	timeout := r.StartTimeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	if s.ReadyTimeout > 0 {
		timeout = s.ReadyTimeout
	}
	health := "/healthz"
	if s.Health != "" {
		health = s.Health
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := FreeAddr()
		if err != nil {
			return nil, results.Server{}, err
		}
		spec, rec := r.procSpec(s, dir, addr, pin)
		if err := missingFiles(spec); err != nil {
			return nil, rec, err
		}
		p, err := StartProc(spec)
		if err != nil {
			return nil, rec, err
		}
		err = p.WaitHealthy(ctx, timeout, health)
		if err == nil {
			return p, rec, nil
		}
		if stopErr := p.Stop(r.grace()); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		lastErr = err
		if !strings.Contains(strings.ToLower(p.Output()), "in use") {
			return nil, rec, err
		}
	}
	return nil, results.Server{}, lastErr
}

func (r *Runner) grace() time.Duration {
	if r.StopGrace == 0 {
		return DefaultStopGrace
	}
	return r.StopGrace
}

// server is what a trial needs of a server: where to send requests, its
// CPU time (an error when not measured), whether it died, and how to stop
// it (nothing to do for a target: the user runs it).
type server struct {
	base   string // scheme://host:port the requests' paths are appended to
	pid    int    // the process the runner started (0 for a target)
	cpu    func() (time.Duration, error)
	exited func() bool
	note   func() string // the tail of its output, for an error message
	stop   func() error
}

// Reachable checks that the server at a target URL accepts a TCP
// connection (within 3s), naming the address when it does not.
func Reachable(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return fmt.Errorf("target %s does not accept connections: %w", target, err)
	}
	return c.Close()
}

// missingFiles checks the arguments of an external command that name
// files by a relative path (a "/" in them, no "://", not a flag): each
// must exist beside the scenario (the command's directory), else the
// error names where it was looked for.
func missingFiles(spec ProcSpec) error {
	for _, a := range spec.Argv[1:] {
		if strings.HasPrefix(a, "-") || !strings.Contains(a, "/") || strings.Contains(a, "://") || filepath.IsAbs(a) {
			continue
		}
		p := filepath.Join(spec.Dir, a)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s not found (looked for %s; a command's relative paths are taken from the scenario file's directory, or the current directory for a scenario built into the binary: run it from a clone of the repository, or give the path)",
				a, p)
		}
	}
	return nil
}

// errNoPid: a target server's CPU is measured only when its pid is given.
var errNoPid = errors.New("no pid: server CPU not measured")

// reach starts server s (a Go model or a command) and waits until it is
// ready, or, for a target: server, checks that it accepts connections.
func (r *Runner) reach(ctx context.Context, sc *scenario.Scenario, s scenario.Server, pin Pinning) (*server, results.Server, error) {
	if s.IsTarget() {
		r.progress("%s: measuring %s at %s (not started by clusterbench)\n", sc.Name, s.Name, s.Target)
		rec := results.Server{Name: s.Name, Target: s.Target}
		if err := Reachable(s.Target); err != nil {
			return nil, rec, err
		}
		h := &server{base: s.Target, exited: func() bool { return false }, note: func() string { return "" },
			stop: func() error { return nil }, cpu: func() (time.Duration, error) { return 0, errNoPid }}
		if s.Pid > 0 {
			h.cpu = func() (time.Duration, error) { return metrics.TreeCPU(s.Pid) }
		}
		return h, rec, nil
	}
	r.progress("%s: starting %s\n", sc.Name, s.Name)
	p, rec, err := r.startServer(ctx, s, sc.Dir, pin)
	if err != nil {
		return nil, rec, err
	}
	return &server{
		base:   "http://" + p.spec.Addr,
		pid:    p.Pid(),
		cpu:    func() (time.Duration, error) { return metrics.TreeCPU(p.Pid()) },
		exited: p.Exited,
		note:   p.outputNote,
		stop:   func() error { return p.Stop(r.grace()) },
	}, rec, nil
}

// runServer measures one server at every level and trial, appending to
// out.Run; its error says why the server failed (the trials measured
// before are kept).
func (r *Runner) runServer(ctx context.Context, sc *scenario.Scenario, s scenario.Server, pin Pinning, out *Outcome) (err error) {
	h, rec, err := r.reach(ctx, sc, s, pin)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting: not the server's fault
		}
		return err
	}
	out.Run.Servers = append(out.Run.Servers, rec)
	defer func() {
		if stopErr := h.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
	}()
	expected := metrics.ExpectedWorkers(rec)
	answered := map[string][]int{} // worker id → pids seen answering, for faults
	for li, level := range sc.Load.Levels {
		cfg := load.Config{
			Targets: targetsOf(sc, h), Mode: sc.Load.Mode, Level: level, KeepAlive: sc.Load.KeepAlive,
			Timeout: sc.Load.Timeout, Engine: sc.Load.Engine, MaxConns: sc.Load.MaxConns,
			Requests: sc.Load.Requests, ExpectStatus: sc.Load.Expect, Insecure: s.Insecure,
		}
		if sc.Load.Warmup > 0 {
			cfg.Duration, cfg.Name = sc.Load.Warmup, fmt.Sprintf("%s/%s/%d/warmup", sc.Name, s.Name, level)
			cfg.Live = r.newLive()
			r.event(progress.Event{Kind: progress.PhaseStarts, Label: results.LevelName(sc.Load.Mode, level) + " warm-up",
				Warmup: true, Live: cfg.Live})
			w, err := load.Run(ctx, cfg)
			if err != nil {
				return err
			}
			noteAnswers(answered, w.Acc.Workers())
		}
		for trial := 1; trial <= sc.Load.Trials; trial++ {
			if ctx.Err() != nil {
				return nil
			}
			cfg.Duration, cfg.Name = sc.Load.Duration, fmt.Sprintf("%s/%s/%d/%d", sc.Name, s.Name, level, trial)
			if len(sc.Faults) > 0 && faults.Gone(h.pid, h.exited) {
				// it died of the last trial's faults after that trial ended
				out.Run.Warnings = append(out.Run.Warnings, fmt.Sprintf("%s at %s: the server exited after trial %d had ended; started again for trial %d", s.Name, results.LevelName(sc.Load.Mode, level), trial-1, trial))
				if err := r.restart(ctx, sc, s, pin, h, &cfg, answered); err != nil {
					return err
				}
			}
			cfg.Live = r.newLive()
			r.event(progress.Event{Kind: progress.PhaseStarts, Live: cfg.Live,
				Label: fmt.Sprintf("%s trial %d/%d", results.LevelName(sc.Load.Mode, level), trial, sc.Load.Trials)})
			var o *load.Outcome
			var evs []results.FaultEvent
			cpu, err := metrics.CPUDuring(h.cpu, func() (err error) {
				o, evs, err = r.measure(ctx, cfg, sc.Faults, h, answered)
				return err
			})
			if err != nil && !errors.Is(err, metrics.ErrCPUNotMeasured) {
				return err
			}
			t := o.Trial(s.Name, trial, expected)
			r.noteFaults(sc, s, &t, o, evs, cfg, answered)
			if err == nil { // else the trial stands, its server CPU not measured
				t.ServerCPUS = cpu.Seconds()
				if t.Requests > 0 {
					t.ServerCPUPerReqUs = t.ServerCPUS / float64(t.Requests) * 1e6
				}
			}
			out.Run.Trials = append(out.Run.Trials, t)
			r.progress("%s: %-14s %-16s  trial %d/%d  %9.0f req/s  p50 %7.3fms  p99 %7.3fms  ok %5.1f%%\n",
				sc.Name, s.Name, results.LevelName(sc.Load.Mode, level), trial, sc.Load.Trials,
				t.Throughput, t.Latency.P50Ms, t.Latency.P99Ms, 100*t.SuccessRatio)
			if t.DurationS > 0 {
				r.event(progress.Event{Kind: progress.PhaseEnds, Rate: float64(t.Requests) / t.DurationS})
			}
			if o.Interrupted {
				return nil
			}
			faulted := len(sc.Faults) > 0 && faults.Gone(h.pid, h.exited)
			if faulted && !endsServer(sc.Faults) {
				out.Run.Warnings = append(out.Run.Warnings, exitWarning(s.Name, results.LevelName(sc.Load.Mode, level), trial, t.Faults))
			}
			if (freshServer(sc.Faults) || faulted) && (trial < sc.Load.Trials || li < len(sc.Load.Levels)-1) {
				// a fault ended the server (or a crash loop left it with a
				// backoff to remember): start it again for the next trial
				if err := r.restart(ctx, sc, s, pin, h, &cfg, answered); err != nil {
					return err
				}
				continue
			}
			if h.exited() && len(sc.Faults) == 0 {
				return fmt.Errorf("exited during %s trial %d%s", results.LevelName(sc.Load.Mode, level), trial, h.note())
			}
		}
	}
	return nil
}

// TrialWarnings summarises, per server and level, the trials in which an
// open loop fell short of its rate or dropped requests: one line each, in
// the order the trials ran. Client-bound trials get no warning here: each
// trial records it (ClientBound, with ClientCPUUtil and ClientWaitS), and
// the report states every client-bound point on one verdict line.
func TrialWarnings(trials []results.Trial) []string {
	type key struct {
		server string
		level  int
	}
	type tally struct {
		n, short int
		rateLo   float64
		dropped  int64
	}
	var order []key
	tallies := map[key]*tally{}
	for _, t := range trials {
		k := key{t.Server, t.Level}
		tl, ok := tallies[k]
		if !ok {
			tl = &tally{rateLo: math.Inf(1)}
			tallies[k] = tl
			order = append(order, k)
		}
		tl.n++
		if t.RateShortfall {
			tl.short++
			tl.rateLo = math.Min(tl.rateLo, t.AchievedRate)
		}
		tl.dropped += t.Dropped
	}
	var out []string
	for _, k := range order {
		tl := tallies[k]
		if tl.dropped > 0 {
			out = append(out, fmt.Sprintf("%s at rate %d/s: %d requests not sent: all connections were busy or the generator was behind until they were over %s late (counted as errors by thresholds)",
				k.server, k.level, tl.dropped, load.MaxScheduleLag))
		}
		if tl.short > 0 {
			out = append(out, fmt.Sprintf("%s at rate %d/s: achieved rate short of the asked one by more than %.0f%% in %d of %d trials (lowest %.0f/s)",
				k.server, k.level, 100*metrics.ShortfallTolerance, tl.short, tl.n, tl.rateLo))
		}
	}
	return out
}
