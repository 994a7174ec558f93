package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/hlog"
	"github.com/clusterbench/clusterbench/bench/progress"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/results"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/bench/threshold"
	"github.com/clusterbench/clusterbench/scenarios"
)

// GeneratorGCPercent is the garbage collector's target for `clusterbench
// run` itself, the load generator, unless GOGC is set: each request
// allocates a few KiB, and collecting less often cut the generator's CPU
// per request by 5–13% in 6 of 6 interleaved pairs against GOGC=100
// (README: Measured on the development machine), for a few MiB more heap. Servers are other processes
// and keep their own setting.
const GeneratorGCPercent = 400

// ScenariosDir is where `clusterbench run NAME` looks for NAME.yaml.
const ScenariosDir = "scenarios"

type runOptions struct {
	files        []string
	overrides    scenario.Overrides
	out          string
	formats      []string
	quiet        bool
	progress     progressFlag
	startTimeout time.Duration
	thresholds   []threshold.Threshold // --fail-on, besides the scenario's
	scenariosDir string
	shardFlags   shardFlags
	shard        *results.ShardInfo // --shard: this shard of the run
	startAt      time.Time          // --start-at: when the runner begins
	allowRemote  bool               // --allow-remote: targets may be other hosts
}

var runHelp = cmdHelp{
	Usage: "clusterbench run SCENARIO... [flags]",
	About: `Runs each scenario (a YAML file, or a NAME: ./scenarios/NAME.yaml, then --scenarios DIR,
then the scenarios built into the binary): starts every server,
warms it up, measures every level × trial, stops it; prints the tables and writes
results/runs/<UTC time>-<scenario>/: report.md and report.html (charts: open it in a browser),
summary.json, summary.csv, trials.csv, workers.csv, histograms.hlog (every trial's latency
distribution), and calc.csv or timeline.csv when the scenario has calc batches or faults.
Flags override the file; scenarios/example.yaml documents every field. A target: server
must be on this machine (127.0.0.0/8, ::1, localhost) unless the server says allow_remote:
true or --allow-remote is given. The load generator and the servers are pinned to different
CPUs when there are two or more. Ctrl-C stops at once and keeps what was measured, marked
incomplete.`,
	Examples: []string{
		"clusterbench run hello                        # scenarios/hello.yaml",
		"clusterbench run hello -c 1,64 -d 3s --servers single,prefork",
		"clusterbench run scenarios/calc-mix.yaml -r 500,1000 -o /tmp/runs",
		"clusterbench run hello --engine vegeta -q     # cross-check with vegeta; print only the run directory",
	},
	Exits: []string{exitOKLine, exitUsageLine, exitMeasurementLine + " (what was measured is still written)"},
}

func parseRun(stdout io.Writer, args []string) (runOptions, error) {
	var o runOptions
	var format string
	var warmup time.Duration
	fs := newFlags("run")
	fs.StringSliceVar(&o.overrides.Servers, "servers", nil, "run only these servers of the scenario (names, comma-separated)")
	fs.IntSliceVarP(&o.overrides.Concurrency, "concurrency", "c", nil, "closed loop at these concurrency levels (e.g. 1,8,64)")
	fs.IntSliceVarP(&o.overrides.Rate, "rate", "r", nil, "open loop at these rates, requests/s (e.g. 500,1000)")
	fs.DurationVarP(&o.overrides.Duration, "duration", "d", 0, "measured time per trial (e.g. 5s)")
	fs.Int64VarP(&o.overrides.Requests, "requests", "n", 0, "stop each trial after this many requests (not with --duration; the trial is then bounded by 1h)")
	fs.DurationVar(&warmup, "warmup", 0, "unmeasured load before each level (0 = none)")
	fs.IntVar(&o.overrides.Trials, "trials", 0, "trials per server × level")
	fs.StringVar(&o.overrides.Engine, "engine", "", "load generator engine: lean (default: raw HTTP/1.1, never retries) or vegeta (net/http, a cross-check)")
	fs.StringVarP(&o.out, "out", "o", report.DefaultRunsDir, "directory the run directories are written under")
	addFormatFlag(fs, &format)
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the run directories (no tables; no progress without --progress)")
	addProgressFlag(fs, &o.progress)
	fs.DurationVar(&o.startTimeout, "start-timeout", runner.DefaultStartTimeout, "how long a server may take to answer /healthz")
	fs.StringVar(&o.scenariosDir, "scenarios", "", "directory searched for a scenario NAME after ./scenarios (default $"+EnvScenarios+"), before the built-in ones")
	var failOn []string
	addFailOnFlag(fs, &failOn)
	addAllowRemoteFlag(fs, &o.allowRemote)
	addShardFlags(fs, &o.shardFlags)
	if err := parseFlags(fs, runHelp, stdout, args); err != nil {
		return o, err
	}
	if err := o.progress.check(fs); err != nil {
		return o, err
	}
	var err error
	if o.thresholds, err = parseFailOn(failOn); err != nil {
		return o, err
	}
	if err := checkRequestsFlag(fs, o.overrides.Requests); err != nil {
		return o, err
	}
	if fs.Changed("warmup") {
		o.overrides.Warmup = &warmup
	}
	if fs.NArg() == 0 {
		return o, usageError("no scenario given (usage: clusterbench run SCENARIO... [flags]; scenarios are YAML files, or names in %s/)", ScenariosDir)
	}
	if fs.Changed("duration") && o.overrides.Duration == 0 {
		return o, usageError("--duration: 0 is out of range (allowed: %s..%s)", shortDuration(scenario.MinDuration), shortDuration(scenario.MaxDuration))
	}
	if fs.Changed("trials") && o.overrides.Trials == 0 {
		return o, usageError("--trials: 0 is out of range (allowed: 1..%d)", scenario.MaxTrials)
	}
	if o.startTimeout <= 0 {
		return o, usageError("--start-timeout %s must be positive", o.startTimeout)
	}
	if o.out == "" {
		return o, usageError("--out: empty directory name")
	}
	if o.formats, err = report.ParseFormats(format); err != nil {
		return o, usageError("%v", err)
	}
	o.files = fs.Args()
	return o, nil
}

// shortDuration writes d without zero trailing units: 1h, not 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// EnvScenarios names a directory of scenario files, searched after
// ./scenarios (as --scenarios does).
const EnvScenarios = "CLUSTERBENCH_SCENARIOS"

// loadScenario reads a scenario: a path is read as given; a bare NAME is
// looked for as ./scenarios/NAME.yaml, then DIR/NAME.yaml (--scenarios, or
// $CLUSTERBENCH_SCENARIOS), then among the scenarios built into the binary.
func loadScenario(arg, dir string) (*scenario.Scenario, error) {
	if _, err := os.Stat(arg); err == nil || strings.ContainsAny(arg, "/.") {
		return scenario.LoadFile(arg)
	}
	tried := []string{filepath.Join(ScenariosDir, arg+".yaml")}
	if dir == "" {
		dir = os.Getenv(EnvScenarios)
	}
	if dir != "" {
		tried = append(tried, filepath.Join(dir, arg+".yaml"))
	}
	for _, p := range tried {
		if _, err := os.Stat(p); err == nil {
			return scenario.LoadFile(p)
		}
	}
	if data, err := scenarios.Files.ReadFile(arg + ".yaml"); err == nil {
		return scenario.Parse(scenario.EmbeddedPrefix+arg+".yaml", data)
	}
	var builtIn []string
	ents, _ := scenarios.Files.ReadDir(".")
	for _, e := range ents {
		builtIn = append(builtIn, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return nil, fmt.Errorf("scenario %q: %w, and not found as %s or among the built-in scenarios (allowed: a YAML file, or a name: %s)",
		arg, errNoScenario, strings.Join(tried, ", "), strings.Join(builtIn, ", "))
}

// errNoScenario is loadScenario's error for a name found nowhere here; a
// path that does not exist is os.ErrNotExist, from scenario.LoadFile.
var errNoScenario = errors.New("no such file")

// loadScenarios loads the scenarios of o.files (loadScenario) with the
// flags' overrides applied: those that load, and an error for each that
// does not, in the order given.
func (o *runOptions) loadScenarios() ([]*scenario.Scenario, []error) {
	scs := make([]*scenario.Scenario, 0, len(o.files))
	var errs []error
	for _, f := range o.files {
		sc, err := loadScenario(f, o.scenariosDir)
		if err == nil {
			err = sc.Override(o.overrides)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		scs = append(scs, sc)
	}
	return scs, errs
}

func runRun(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseRun(stdout, args)
	if err != nil {
		return err
	}
	scs, errs := o.loadScenarios()
	if len(errs) > 0 {
		return usageError("%v", errors.Join(errs...))
	}
	for _, sc := range scs {
		if err := checkTargets(ctx, sc, o.allowRemote); err != nil {
			return err
		}
	}
	if err := o.applyShard(o.shardFlags, scs, time.Now(), os.Getenv); err != nil {
		return err
	}
	return runScenarios(ctx, stdout, stderr, o, scs, append([]string{"clusterbench", "run"}, args...))
}

// addFormatFlag adds --format, what run, load and merge print (parsed by
// report.ParseFormats).
func addFormatFlag(fs *pflag.FlagSet, format *string) {
	fs.StringVar(format, "format", "table", "what to print: comma-separated "+strings.Join(report.Formats, ", "))
}

// addFailOnFlag adds --fail-on, the thresholds of run and load besides a
// scenario's; parseFailOn reads them.
func addFailOnFlag(fs *pflag.FlagSet, exprs *[]string) {
	fs.StringArrayVar(exprs, "fail-on", nil, "threshold, e.g. 'p99<200ms', 'errors<0.1%', 'rps>5000', 'NAME:p50<1ms' (repeatable): exit 1 when broken")
}

// parseFailOn parses the --fail-on expressions: a usage error names the
// first that is not a threshold.
func parseFailOn(exprs []string) ([]threshold.Threshold, error) {
	var ts []threshold.Threshold
	for _, e := range exprs {
		t, err := threshold.Parse(e)
		if err != nil {
			return nil, usageError("--fail-on: %v", err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// checkRequestsFlag refuses --requests with --duration, or below 1 (run
// and load).
func checkRequestsFlag(fs *pflag.FlagSet, requests int64) error {
	switch {
	case fs.Changed("requests") && fs.Changed("duration"):
		return usageError("--requests and --duration together (allowed: one of them: a trial stops after N requests, or after a duration)")
	case fs.Changed("requests") && requests < 1:
		return usageError("--requests: %d is out of range (allowed: ≥ 1)", requests)
	}
	return nil
}

// addAllowRemoteFlag adds --allow-remote, the opt-in to load a target
// that is not on this machine.
func addAllowRemoteFlag(fs *pflag.FlagSet, allow *bool) {
	fs.BoolVar(allow, "allow-remote", false, "let a target be another host (default: only "+runner.LoopbackAllowed+", so a mistyped address loads no one else's server)")
}

// checkTargets refuses, before anything is measured, each target: server
// of sc whose host is not loopback, unless allowRemote or the server's
// allow_remote: exit 2. A name that does not resolve is an unreachable
// target: exit 3. The error names the scenario file and the server's line;
// a scenario built from flags (load) names only the target.
func checkTargets(ctx context.Context, sc *scenario.Scenario, allowRemote bool) error {
	for _, sv := range sc.Servers {
		if !sv.IsTarget() {
			continue
		}
		err := runner.CheckTargetHost(ctx, sv.Target, allowRemote || sv.AllowRemote)
		if err == nil {
			continue
		}
		if sc.File != "" {
			err = fmt.Errorf("%s:%d: server %s: %w", sc.File, sv.Line, sv.Name, err)
		}
		if errors.Is(err, runner.ErrRemoteTarget) {
			return usageError("%v (nothing was measured)", err)
		}
		return measurementError(fmt.Errorf("%w (nothing was measured)", err))
	}
	return nil
}

// runScenarios measures each scenario in turn (run and load): it checks
// the output directory first, then runs, prints and saves each, and
// turns failures into exit codes; argv is recorded in the run.
func runScenarios(ctx context.Context, stdout, stderr io.Writer, o runOptions, scs []*scenario.Scenario, argv []string) error {
	if err := report.CheckDir(o.out); err != nil {
		return usageError("--out: %v (nothing was measured)", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return measurementError(fmt.Errorf("find the clusterbench binary for `serve`: %w", err))
	}
	cwd, err := os.Getwd()
	if err != nil {
		return measurementError(err)
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(GeneratorGCPercent))
	}
	r := &runner.Runner{
		Binary:       exe,
		Dir:          runner.RepoRoot(ctx, cwd),
		Args:         argv,
		StartTimeout: o.startTimeout,
		StartAt:      o.startAt,
	}
	if d := o.progress.start(stderr, o.quiet); d != nil {
		defer func() { _ = d.Close() }()
		r.Progress, r.Events = d, d.Event
		plans := make([]progress.Plan, len(scs))
		for i, sc := range scs {
			plans[i] = progress.PlanOf(sc)
		}
		d.Expect(plans...) // one elapsed time and ETA for all the scenarios
	}
	var failures, broken []error
	text := report.NewTextWriter(stdout) // prints each table legend once for all the scenarios
	for _, sc := range scs {
		out, err := r.Run(ctx, sc)
		if err != nil {
			return measurementError(fmt.Errorf("%s: %w", sc.Name, err))
		}
		out.Run.Shard = o.shard
		dir, werr := report.SaveRun(o.out, out.Run)
		if dir == "" {
			return measurementError(fmt.Errorf("%s: save the run: %w", sc.Name, werr))
		}
		if werr != nil {
			failures = append(failures, fmt.Errorf("%s: the run could not be written under %s (%w); it was saved to %s instead", sc.Name, o.out, werr, dir))
			fmt.Fprintf(stderr, "clusterbench run: %s: could not write under %s: %v\nclusterbench run: %s: the run was saved to %s instead\n", sc.Name, o.out, werr, sc.Name, dir)
		}
		if err := printRun(stdout, text, o, out, dir); err != nil {
			return err
		}
		violations, unknown := threshold.Check(append(slices.Clone(sc.Thresholds), o.thresholds...), out.Run)
		for _, u := range unknown {
			broken = append(broken, errors.New(u))
		}
		for _, v := range violations {
			broken = append(broken, fmt.Errorf("%s: %s", sc.Name, v))
		}
		if runErr := out.Err(); runErr != nil {
			failures = append(failures, fmt.Errorf("%s: %w (what was measured is in %s, marked incomplete)", sc.Name, runErr, dir))
		}
		if out.Interrupted {
			break
		}
	}
	if len(failures) > 0 {
		return measurementError(errors.Join(append(failures, broken...)...))
	}
	if len(broken) > 0 {
		return regressionError(errors.Join(broken...))
	}
	return nil
}

func printRun(w io.Writer, text *report.TextWriter, o runOptions, out *runner.Outcome, dir string) error {
	if o.quiet {
		_, err := fmt.Fprintln(w, dir)
		return err
	}
	for _, f := range o.formats {
		rep, err := report.For(f, out.Run)
		if err != nil {
			return usageError("%v", err)
		}
		if f == "table" {
			rep = func(io.Writer) error { return text.Write(report.Build(out.Run)) }
		}
		if err := rep(w); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	files := report.HTMLFile + ", " + report.SummaryJSON + ", " + report.SummaryFile + ", " + report.TrialsFile + ", " +
		report.WorkersFile + ", " + hlog.FileName
	if len(out.Run.Calc) > 0 {
		files += ", " + report.CalcFile
	}
	if report.HasTimeline(out.Run) {
		files += ", " + report.TimelineFile
	}
	_, err := fmt.Fprintf(w, "report: %s (%s)\n", filepath.Join(dir, report.ReportFile), files)
	return err
}
