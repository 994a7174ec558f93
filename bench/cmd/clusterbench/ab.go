package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/ab"
	"github.com/clusterbench/clusterbench/bench/gate"
	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

type abOptions struct {
	gate         gateOptions
	scenario     string
	base, head   string
	trials       int
	rounds       int
	rate         []int
	concurrency  []int
	duration     time.Duration
	warmup       time.Duration
	seed         uint64
	serverCPUs   string
	clientCPUs   string
	noPin        bool
	confirm      bool
	readyTimeout time.Duration
	quiet        bool
	progress     progressFlag
	histograms   string // --histograms: write every trial's latency histogram here

	baseArgv, headArgv []string
	warmupSet          bool
}

var abHelp = cmdHelp{
	Usage: `clusterbench ab SCENARIO --base "CMD" --head "CMD" [flags]`,
	About: `Runs the scenario's load against two server command lines, alternating base and head
trials in pairs (random order inside each pair), a fresh server per trial, and gates the
per-trial samples: a one-sided test per metric (Holm-corrected), failing only a significant
worsening beyond --threshold. Each server gets PORT and ADDR in its environment; {addr},
{host} and {port} in a command are replaced; a clusterbench command without --addr gets
--addr appended. Commands are split like a shell's simple command (quotes, backslash) and
executed directly, without a shell. ab gates one load level: --concurrency or --rate takes
one value here.`,
	Examples: []string{
		`clusterbench ab scenarios/gate.yaml --base "/tmp/old/clusterbench serve --model single" --head "bin/clusterbench serve --model single"`,
		`clusterbench ab scenarios/gate.yaml --base "$OLD serve" --head "$NEW serve" -r 2000 --strict --summary "$GITHUB_STEP_SUMMARY"`,
	},
	Exits: []string{exitOKLine + ": no regression (or inconclusive, without --strict)", exitRegressionLine, exitUsageLine,
		exitMeasurementLine + "; or inconclusive under --strict"},
}

func parseAB(stdout io.Writer, args []string) (abOptions, error) {
	var o abOptions
	fs := newFlags("ab")
	fs.StringVar(&o.base, "base", "", "command line of the base server (required)")
	fs.StringVar(&o.head, "head", "", "command line of the head server (required)")
	fs.IntVar(&o.trials, "trials", 0, "trials per arm, run in base/head pairs (default: the scenario's trials)")
	fs.IntVar(&o.rounds, "rounds", 0, "cut each trial into this many slices, spread over the whole run in rounds of interleaved pairs (default: one slice per 100ms of duration, 1..5)")
	fs.IntSliceVarP(&o.rate, "rate", "r", nil, "open-loop rate in requests/s (overrides the scenario's load; one level)")
	fs.IntSliceVarP(&o.concurrency, "concurrency", "c", nil, "closed-loop concurrency (overrides the scenario's load; one level)")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "measured duration of each trial (default: the scenario's)")
	fs.DurationVar(&o.warmup, "warmup", 0, "discarded warm-up of each trial (default: the scenario's)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the order inside each pair (0 = random; the seed used is printed)")
	fs.StringVar(&o.serverCPUs, "server-cpus", "", "pin servers to this CPU list (default: the scenario's pin, auto = CPU 0 of ≥ 2)")
	fs.StringVar(&o.clientCPUs, "client-cpus", "", "pin the load generator to this CPU list (default: the scenario's pin, auto = the other CPUs)")
	fs.BoolVar(&o.noPin, "no-pin", false, "do not pin servers or load generator")
	fs.BoolVar(&o.confirm, "confirm", false, "when the gate fails, re-run all trials and fail only if the same metrics regress again")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", ab.DefaultReadyTimeout, "how long a server may take to answer /healthz")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no per-trial table on stderr; no progress without --progress")
	addProgressFlag(fs, &o.progress)
	fs.StringVar(&o.histograms, "histograms", "", "write every base and head trial's latency histogram to this file (HdrHistogram log, tags base|head/LEVEL/TRIAL)")
	addGateFlags(fs, &o.gate)
	if err := parseFlags(fs, abHelp, stdout, args); err != nil {
		return o, err
	}
	if err := o.progress.check(fs); err != nil {
		return o, err
	}
	o.warmupSet = fs.Changed("warmup")
	switch {
	case fs.NArg() != 1:
		return o, usageError("ab takes one argument, the scenario file (got %d)", fs.NArg())
	case o.base == "" || o.head == "":
		return o, usageError("--base and --head are required: the command lines of the two servers")
	case o.trials < 0 || o.trials > ab.MaxPairs:
		return o, usageError("--trials %d out of range (allowed: 1..%d)", o.trials, ab.MaxPairs)
	case o.rounds < 0 || o.rounds > 100:
		return o, usageError("--rounds %d out of range (allowed: 1..100, 0 = auto)", o.rounds)
	case len(o.rate) > 1 || len(o.concurrency) > 1:
		return o, usageError("--rate and --concurrency take one level in ab (got %v%v; allowed: one value: ab gates one level, run it once per level)", o.rate, o.concurrency)
	case len(o.rate) > 0 && len(o.concurrency) > 0:
		return o, usageError("--rate and --concurrency together (allowed: one of them)")
	case slices.ContainsFunc(append(slices.Clone(o.rate), o.concurrency...), func(v int) bool { return v < 1 }):
		return o, usageError("--rate and --concurrency must be positive")
	case o.readyTimeout <= 0:
		return o, usageError("--ready-timeout %s out of range (allowed: > 0)", o.readyTimeout)
	case o.noPin && (o.serverCPUs != "" || o.clientCPUs != ""):
		return o, usageError("--no-pin contradicts --server-cpus/--client-cpus")
	}
	o.scenario = fs.Arg(0)
	var err error
	if o.baseArgv, err = ab.SplitCommand(o.base); err != nil {
		return o, usageError("--base: %v", err)
	}
	if o.headArgv, err = ab.SplitCommand(o.head); err != nil {
		return o, usageError("--head: %v", err)
	}
	return o, o.gate.validate()
}

// loadScenario reads the scenario and applies the command-line overrides.
func (o *abOptions) loadScenario() (*scenario.Scenario, error) {
	sc, err := scenario.LoadFile(o.scenario)
	if err != nil {
		return nil, usageError("%v", err)
	}
	var ov scenario.Overrides
	ov.Rate, ov.Concurrency = o.rate, o.concurrency
	ov.Duration = o.duration
	if o.warmupSet {
		ov.Warmup = &o.warmup
	}
	ov.Trials = o.trials
	if err := sc.Override(ov); err != nil {
		return nil, usageError("%v", err)
	}
	return sc, nil
}

// pinning resolves the CPU lists: flags, else the scenario's pin, else
// auto (servers on the first CPU this process may use, the generator on
// the rest, with ≥ 2 CPUs).
func (o *abOptions) pinning(sc *scenario.Scenario) (server, client []int, desc string, err error) {
	flags := o.serverCPUs != "" || o.clientCPUs != ""
	if o.noPin || (sc.Pin.Disabled && !flags) {
		return nil, nil, "not pinned", nil
	}
	if runner.PinningUnavailable != "" {
		if flags {
			return nil, nil, "", usageError("--server-cpus, --client-cpus: %s (allowed here: --no-pin, or neither flag)", runner.PinningUnavailable)
		}
		return nil, nil, "not pinned (" + runner.PinningUnavailable + ")", nil
	}
	allowed, err := runner.AllowedCPUs()
	if err != nil {
		return nil, nil, "", measurementError(err)
	}
	s, c := sc.Pin.Server, sc.Pin.Client
	if o.serverCPUs != "" {
		s = o.serverCPUs
	}
	if o.clientCPUs != "" {
		c = o.clientCPUs
	}
	if s == "" && c == "" {
		server, client = ab.AutoPin(allowed)
		if server == nil {
			return nil, nil, fmt.Sprintf("not pinned (%d CPU)", len(allowed)), nil
		}
		s, c = runner.FormatCPUList(server), runner.FormatCPUList(client)
	}
	if s != "" {
		if server, err = ab.CPUList(s, allowed); err != nil {
			return nil, nil, "", usageError("server CPUs: %v", err)
		}
	}
	if c != "" {
		if client, err = ab.CPUList(c, allowed); err != nil {
			return nil, nil, "", usageError("client CPUs: %v", err)
		}
	}
	for _, x := range server {
		if slices.Contains(client, x) {
			return nil, nil, "", usageError("server CPUs %q and client CPUs %q share CPU %d (allowed: disjoint lists)", s, c, x)
		}
	}
	return server, client, fmt.Sprintf("servers on CPUs %s, load generator on %s", orAll(s), orAll(c)), nil
}

// gatedMetrics returns the metrics to gate: --metrics, or the defaults of
// the load mode. Where servers' CPU is not measured
// (ab.ServerCPUUnavailable), cpu is a usage error when asked for and is
// left out of the defaults, with a note that says so.
func (o *abOptions) gatedMetrics(mode string) ([]gate.Def, []string, error) {
	defs := o.gate.defs(mode)
	i := slices.IndexFunc(defs, func(d gate.Def) bool { return d.Name == gate.CPU })
	if ab.ServerCPUUnavailable == "" || i < 0 {
		return defs, nil, nil
	}
	if o.gate.metrics != "" {
		here := slices.DeleteFunc(gate.MetricNames(), func(n string) bool { return n == gate.CPU })
		return nil, nil, usageError("--metrics %s: %s (allowed here: %s)", o.gate.metrics, ab.ServerCPUUnavailable, strings.Join(here, ", "))
	}
	return slices.Delete(defs, i, i+1), []string{ab.ServerCPUUnavailable + ": the gate leaves out cpu"}, nil
}

func orAll(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

func runAB(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseAB(stdout, args)
	if err != nil {
		return err
	}
	sc, err := o.loadScenario()
	if err != nil {
		return err
	}
	for _, f := range []struct{ flag, path string }{{"--summary", o.gate.summary}, {"--benchfmt", o.gate.benchfmt}, {"--junit", o.gate.junit}, {"--histograms", o.histograms}, {"--html", o.gate.html}} {
		if f.path == "" {
			continue
		}
		if err := report.CheckDir(filepath.Dir(f.path)); err != nil {
			return usageError("%s %s: %v (nothing was measured)", f.flag, f.path, err)
		}
	}
	serverCPUs, clientCPUs, pinDesc, err := o.pinning(sc)
	if err != nil {
		return err
	}
	defs, notes, err := o.gatedMetrics(sc.Load.Mode)
	if err != nil {
		return err
	}
	if o.seed == 0 {
		o.seed = randomSeed()
	}
	// A second Ctrl-C takes the default action instead of waiting for the
	// servers' drain; they die with us (Pdeathsig, on Linux only:
	// elsewhere they may outlive us).
	ctx, stop := interruptible(ctx)
	defer stop()

	level := sc.Load.Levels[0]
	if len(sc.Load.Levels) > 1 {
		notes = append(notes, fmt.Sprintf("the scenario has levels %v; the gate uses the first, %d (choose with --rate or --concurrency)", sc.Load.Levels, level))
	}
	reqs := make([]ab.Request, len(sc.Requests))
	for i, r := range sc.Requests {
		reqs[i] = ab.Request{Method: r.Method, Path: r.Path, Weight: r.Weight}
	}
	cfg := ab.Config{
		Base: o.baseArgv, Head: o.headArgv, Requests: reqs,
		Mode: sc.Load.Mode, Level: level, Duration: sc.Load.Duration, Warmup: sc.Load.Warmup,
		KeepAlive: sc.Load.KeepAlive, Timeout: sc.Load.Timeout, Engine: sc.Load.Engine, MaxConns: sc.Load.MaxConns,
		Pairs: sc.Load.Trials, Rounds: rounds(o.rounds, sc.Load.Duration), Seed: o.seed, ReadyTimeout: o.readyTimeout,
		ServerCPUs: serverCPUs, ClientCPUs: clientCPUs,
	}
	if d := o.progress.start(stderr, o.quiet); d != nil {
		defer func() { _ = d.Close() }()
		cfg.Progress = func(msg string) { fmt.Fprintln(d, "ab:", msg) }
		cfg.Events = d.Event
	}
	labels := gate.Labels{
		Title: fmt.Sprintf("ab %s at %s (%s loop, %s trials in %d slices + %s warm-up, %d pairs, seed %d)",
			sc.Name, results.LevelName(sc.Load.Mode, level), sc.Load.Mode, sc.Load.Duration, cfg.Rounds, sc.Load.Warmup, sc.Load.Trials, o.seed),
		Bench: fmt.Sprintf("AB/scenario=%s/%s=%d", sc.Name, map[string]string{scenario.Open: "rate", scenario.Closed: "conns"}[sc.Load.Mode], level),
		Base:  o.base,
		Head:  o.head,
		Config: [][2]string{{"scenario", sc.Name}, {"mode", sc.Load.Mode}, {"level", fmt.Sprint(level)},
			{"seed", fmt.Sprint(o.seed)}},
	}
	res, err := ab.Run(ctx, cfg)
	if errors.Is(err, ab.ErrConfig) {
		return usageError("%v", err)
	}
	if err != nil {
		return measurementError(err)
	}
	if !o.quiet {
		printTrials(stderr, res)
	}
	started := time.Now().UTC()
	if err := o.writeHistograms(sc.Name, started, res, nil); err != nil {
		return measurementError(err)
	}
	rep, err := gate.Evaluate(gate.FromTrials(defs, res.Base, res.Head), o.gate.opts)
	if err != nil {
		return measurementError(err)
	}
	labels.Notes = append(notes, runNotes(res, pinDesc)...)
	if !o.confirm || rep.Verdict() != gate.Regressed {
		return o.gate.emit(stdout, rep, labels)
	}

	// Confirmation: the first gate goes to the terminal only; the
	// flagged metrics are gated again on fresh trials, and that verdict
	// (and its files) decides.
	if err := gate.WriteText(stdout, rep, labels); err != nil {
		return err
	}
	var flagged []gate.Def
	for _, r := range rep.Results {
		if r.Verdict == gate.Regressed {
			flagged = append(flagged, r.Def)
		}
	}
	fmt.Fprintf(stdout, "\nconfirming %d flagged metric(s) with %d fresh pairs…\n\n", len(flagged), sc.Load.Trials)
	cfg.Seed = o.seed + 1
	res2, err := ab.Run(ctx, cfg)
	if err != nil {
		return measurementError(fmt.Errorf("confirmation: %w", err))
	}
	if !o.quiet {
		printTrials(stderr, res2)
	}
	if err := o.writeHistograms(sc.Name, started, res, res2); err != nil {
		return measurementError(err)
	}
	rep2, err := gate.Evaluate(gate.FromTrials(flagged, res2.Base, res2.Head), o.gate.opts)
	if err != nil {
		return measurementError(err)
	}
	labels.Title = "confirmation of " + labels.Title
	labels.Notes = append(runNotes(res2, pinDesc), fmt.Sprintf("initial gate: %s", rep.Headline()))
	return o.gate.emit(stdout, rep2, labels)
}

// writeHistograms writes the trials' latency histograms to --histograms,
// if given: base and head, and those of the confirmation (tagged
// "base-confirm" and "head-confirm") when there was one.
func (o *abOptions) writeHistograms(name string, started time.Time, res, confirm *ab.Result) error {
	if o.histograms == "" {
		return nil
	}
	run := &results.Run{Scenario: results.ScenarioInfo{Name: name}, Started: started}
	run.Trials = append(append(run.Trials, res.Base...), res.Head...)
	if confirm != nil {
		for _, ts := range [][]results.Trial{confirm.Base, confirm.Head} {
			for _, t := range ts {
				t.Server += "-confirm"
				run.Trials = append(run.Trials, t)
			}
		}
	}
	return gate.WriteFile(o.histograms, func(w io.Writer) error { return hlog.Write(w, run) })
}

// rounds is the --rounds flag, or one slice per 100ms of the trial
// duration, between 1 and 5.
func rounds(flag int, d time.Duration) int {
	if flag > 0 {
		return flag
	}
	return ab.AutoRounds(d)
}

func printTrials(w io.Writer, res *ab.Result) {
	for i := range max(len(res.Base), len(res.Head)) {
		for _, ts := range [][]results.Trial{res.Base, res.Head} {
			if i >= len(ts) {
				continue
			}
			t := ts[i]
			fmt.Fprintf(w, "trial %2d %s: %d req, %.0f req/s, p50 %.3fms, p99 %.3fms, server CPU %.2fµs/req\n",
				t.Trial, t.Server, t.Requests, t.Throughput, t.Latency.P50Ms, t.Latency.P99Ms, t.ServerCPUPerReqUs)
		}
	}
}

// runNotes lists what weakens the measurement: the order, failed trials,
// rate shortfalls, a saturated load generator.
func runNotes(res *ab.Result, pin string) []string {
	ab_, ba := 0, 0
	for _, o := range res.Order {
		if o == "AB" {
			ab_++
		} else {
			ba++
		}
	}
	notes := []string{fmt.Sprintf("interleaved pairs: %d base-first, %d head-first slices; a fresh server per trial; %s", ab_, ba, pin)}
	for i, e := range res.Errors {
		if i == 3 {
			notes = append(notes, fmt.Sprintf("… and %d more failed trials", len(res.Errors)-3))
			break
		}
		notes = append(notes, "failed trial: "+e)
	}
	var short, bound int
	for _, ts := range [][]results.Trial{res.Base, res.Head} {
		for _, t := range ts {
			if t.RateShortfall {
				short++
			}
			if t.ClientBound {
				bound++
			}
		}
	}
	if short > 0 {
		notes = append(notes, fmt.Sprintf("%d trial(s) fell short of the asked rate: the server or the generator could not keep up", short))
	}
	if bound > 0 {
		notes = append(notes, fmt.Sprintf("the load generator was near 100%% CPU in %d trial(s): figures may be the generator's limit", bound))
	}
	return notes
}
