package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/bench/threshold"
)

// Defaults of `clusterbench load`: a one-line load test, hey/oha style.
const (
	DefaultLoadConcurrency = 8
	DefaultLoadDuration    = 5 * time.Second
	DefaultLoadWarmup      = time.Second
)

var loadHelp = cmdHelp{
	Usage: "clusterbench load URL [flags]",
	About: `Load-tests a server you run, from its URL: no scenario file. Prints the same
throughput/latency table as run, a status-code table when anything but 2xx came back, and
a per-worker table when responses carry X-Worker-Id; writes the same run directory, so
'clusterbench report' and 'compare' work on it. The server is not started or stopped; its
CPU is measured when --pid names its process. The URL's host must be this machine
(127.0.0.0/8, ::1, or a name that resolves only to them, such as localhost) unless
--allow-remote; anything else is refused before a connection is made. A list in -c or -r
is a sweep. --save-scenario writes the equivalent scenario file. --fail-on makes the run
exit 1, after writing everything, when a figure breaks a limit (k6-style thresholds).`,
	Examples: []string{
		"clusterbench load http://127.0.0.1:8080/ -c 8 -d 3s",
		"clusterbench load http://127.0.0.1:8080/api -c 1,8,64 --fail-on 'p99<200ms' --fail-on 'errors<1%'",
		`clusterbench load http://127.0.0.1:8080/items -m POST -H 'Content-Type: application/json' --body '{"a":1}' -r 500`,
		"clusterbench load http://127.0.0.1:8080/ -n 10000 -c 16 --save-scenario mine.yaml",
	},
	Exits: []string{exitOKLine, "1  a --fail-on threshold failed", exitUsageLine,
		exitMeasurementLine + "; the target does not accept connections"},
}

type loadOptions struct {
	run          runOptions
	url          string
	method       string
	headers      []string
	body         string
	timeout      time.Duration
	keepAlive    bool
	warmup       time.Duration
	pid          int
	expect       []int
	insecure     bool
	saveScenario string
}

func parseLoad(stdout io.Writer, args []string) (loadOptions, *scenario.Scenario, error) {
	var o loadOptions
	var format string
	var failOn []string
	fs := newFlags("load")
	fs.IntSliceVarP(&o.run.overrides.Concurrency, "concurrency", "c", []int{DefaultLoadConcurrency}, "closed loop: connections, each sending its next request when the answer is read (a list is a sweep)")
	fs.IntSliceVarP(&o.run.overrides.Rate, "rate", "r", nil, "open loop: requests per second, latency from the intended send time (a list is a sweep)")
	fs.DurationVarP(&o.run.overrides.Duration, "duration", "d", DefaultLoadDuration, "measured time per trial")
	fs.Int64VarP(&o.run.overrides.Requests, "requests", "n", 0, "stop each trial after this many requests (not with --duration)")
	fs.DurationVar(&o.warmup, "warmup", DefaultLoadWarmup, "unmeasured load before each level (0 = none)")
	fs.IntVar(&o.run.overrides.Trials, "trials", 1, "trials per level")
	fs.StringVarP(&o.method, "method", "m", http.MethodGet, "request method: "+strings.Join(scenario.Methods, ", "))
	fs.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	fs.StringVar(&o.body, "body", "", "request body: text, or @FILE for a file's contents")
	fs.DurationVar(&o.timeout, "timeout", scenario.DefaultTimeout, "per-request timeout")
	fs.BoolVar(&o.keepAlive, "keepalive", true, "reuse connections (--keepalive=false: a new connection per request)")
	fs.StringVar(&o.run.overrides.Engine, "engine", load.EngineLean, "load generator engine: lean or vegeta")
	fs.IntSliceVar(&o.expect, "expect-status", nil, "status codes that count as successes, e.g. 200,204 (default: any 2xx)")
	fs.BoolVarP(&o.insecure, "insecure", "k", false, "https: do not verify the server's certificate")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, to measure its CPU (with its children)")
	addFailOnFlag(fs, &failOn)
	fs.StringVar(&o.saveScenario, "save-scenario", "", "write the equivalent scenario file (YAML) to `FILE`")
	fs.StringVarP(&o.run.out, "out", "o", report.DefaultRunsDir, "directory the run directories are written under")
	addFormatFlag(fs, &format)
	fs.BoolVarP(&o.run.quiet, "quiet", "q", false, "print only the run directory (no tables; no progress without --progress)")
	addProgressFlag(fs, &o.run.progress)
	addAllowRemoteFlag(fs, &o.run.allowRemote)
	addShardFlags(fs, &o.run.shardFlags)
	if err := parseFlags(fs, loadHelp, stdout, args); err != nil {
		return o, nil, err
	}
	if err := o.run.progress.check(fs); err != nil {
		return o, nil, err
	}
	if fs.NArg() != 1 {
		return o, nil, usageError("load takes one URL, got %d arguments (usage: %s)", fs.NArg(), loadHelp.Usage)
	}
	if err := checkRequestsFlag(fs, o.run.overrides.Requests); err != nil {
		return o, nil, err
	}
	switch {
	case fs.Changed("rate") && fs.Changed("concurrency"):
		return o, nil, usageError("--rate and --concurrency together (allowed: --concurrency for a closed loop or --rate for an open loop)")
	case fs.Changed("duration") && o.run.overrides.Duration <= 0:
		return o, nil, usageError("--duration %s out of range (allowed: %s..%s)", o.run.overrides.Duration, scenario.MinDuration, scenario.MaxDuration)
	case fs.Changed("trials") && o.run.overrides.Trials < 1:
		return o, nil, usageError("--trials %d out of range (allowed: 1..%d)", o.run.overrides.Trials, scenario.MaxTrials)
	case o.saveScenario != "" && fs.Changed("requests"):
		return o, nil, usageError("--save-scenario with --requests: a scenario file has no request count (allowed: --save-scenario with --duration)")
	case o.saveScenario != "" && o.run.shardFlags.spec != "":
		// the scenario is written after --shard has cut the load to this shard's share
		return o, nil, usageError("--save-scenario with --shard: the file would hold this shard's share of the load, not the whole (allowed: --save-scenario without --shard)")
	case o.warmup < 0:
		return o, nil, usageError("--warmup %s out of range (allowed: ≥ 0)", o.warmup)
	case o.pid < 0:
		return o, nil, usageError("--pid %d out of range (allowed: a process id ≥ 1)", o.pid)
	}
	if fs.Changed("rate") {
		o.run.overrides.Concurrency = nil
	}
	if fs.Changed("requests") {
		o.run.overrides.Duration = 0 // Override makes it the bound
	}
	o.run.overrides.Warmup = &o.warmup
	o.run.startTimeout = runner.DefaultStartTimeout
	o.url = fs.Arg(0)
	var err error
	if o.run.formats, err = report.ParseFormats(format); err != nil {
		return o, nil, usageError("%v", err)
	}
	if o.run.thresholds, err = parseFailOn(failOn); err != nil {
		return o, nil, err
	}
	sc, err := o.scenario()
	if err != nil {
		return o, nil, err
	}
	if err := o.run.applyShard(o.run.shardFlags, []*scenario.Scenario{sc}, time.Now(), os.Getenv); err != nil {
		return o, nil, err
	}
	return o, sc, nil
}

// scenario builds the scenario the flags describe, checked as a file
// would be.
func (o *loadOptions) scenario() (*scenario.Scenario, error) {
	base, path, err := scenario.SplitURL(o.url)
	if err != nil {
		return nil, usageError("URL: %v", err)
	}
	method := strings.ToUpper(o.method)
	if !slices.Contains(scenario.Methods, method) {
		return nil, usageError("--method %q is not a method (allowed: %s)", o.method, strings.Join(scenario.Methods, ", "))
	}
	req := scenario.Request{Method: method, Path: path, Weight: 1}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, usageError("--header %q is not 'Name: value' (allowed: a header name, a colon, its value)", h)
		}
		if req.Headers == nil {
			req.Headers = http.Header{}
		}
		req.Headers.Add(name, strings.TrimSpace(value))
	}
	if f, ok := strings.CutPrefix(o.body, "@"); ok {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usageError("--body @%s: %v (allowed: text, or @FILE naming a readable file)", f, err)
		}
		if len(b) > scenario.MaxBody {
			return nil, usageError("--body @%s: %d bytes (allowed: at most %d)", f, len(b), scenario.MaxBody)
		}
		req.Body = b
	} else if o.body != "" {
		req.Body = []byte(o.body)
	}
	sc := &scenario.Scenario{
		Name:        "load",
		Description: method + " " + o.url,
		Servers:     []scenario.Server{{Name: "target", Target: base, Pid: o.pid, Insecure: o.insecure, AllowRemote: o.run.allowRemote}},
		Requests:    []scenario.Request{req},
		Load: scenario.Load{Mode: scenario.Closed, Levels: []int{DefaultLoadConcurrency}, Duration: DefaultLoadDuration,
			Warmup: DefaultLoadWarmup, Trials: 1, KeepAlive: o.keepAlive, Timeout: o.timeout, Engine: load.EngineLean, Expect: o.expect},
	}
	for _, c := range o.expect {
		if c < 100 || c > 599 {
			return nil, usageError("--expect-status %d is not a status code (allowed: 100..599)", c)
		}
	}
	if o.timeout < scenario.MinTimeout || o.timeout > scenario.MaxTimeout {
		return nil, usageError("--timeout %s out of range (allowed: %s..%s)", o.timeout, scenario.MinTimeout, scenario.MaxTimeout)
	}
	if err := sc.Override(o.run.overrides); err != nil {
		return nil, usageError("%v", err)
	}
	return sc, nil
}

func runLoad(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	o, sc, err := parseLoad(stdout, args)
	if err != nil {
		return err
	}
	if err := checkTargets(ctx, sc, o.run.allowRemote); err != nil {
		return err
	}
	if err := runner.Reachable(sc.Servers[0].Target); err != nil {
		return measurementError(fmt.Errorf("%w (nothing was measured)", err))
	}
	if o.saveScenario != "" {
		if err := saveScenario(o.saveScenario, sc, o.run.thresholds); err != nil {
			return usageError("--save-scenario: %v", err)
		}
	}
	return runScenarios(ctx, stdout, stderr, o.run, []*scenario.Scenario{sc}, append([]string{"clusterbench", "load"}, args...))
}

// saveScenario writes sc as a scenario file that `clusterbench run`
// reads back to the same scenario.
func saveScenario(path string, sc *scenario.Scenario, ts []threshold.Threshold) error {
	type request struct {
		Method  string            `yaml:"method"`
		Path    string            `yaml:"path"`
		Headers map[string]string `yaml:"headers,omitempty"`
		Body    string            `yaml:"body,omitempty"`
	}
	type server struct {
		Name        string `yaml:"name"`
		Target      string `yaml:"target"`
		Pid         int    `yaml:"pid,omitempty"`
		Insecure    bool   `yaml:"insecure,omitempty"`
		AllowRemote bool   `yaml:"allow_remote,omitempty"`
	}
	l := sc.Load
	ld := map[string]any{"duration": l.Duration.String(), "warmup": l.Warmup.String(), "trials": l.Trials,
		"keepalive": l.KeepAlive, "timeout": l.Timeout.String(), "engine": l.Engine}
	if len(l.Expect) > 0 {
		ld["expect_status"] = l.Expect
	}
	if l.Mode == scenario.Open {
		ld["rate"] = l.Levels
	} else {
		ld["concurrency"] = l.Levels
	}
	var reqs []request
	for _, r := range sc.Requests {
		q := request{Method: r.Method, Path: r.Path, Body: string(r.Body)}
		for k, v := range r.Headers {
			if q.Headers == nil {
				q.Headers = map[string]string{}
			}
			q.Headers[k] = strings.Join(v, ", ")
		}
		reqs = append(reqs, q)
	}
	doc := map[string]any{
		"name":        sc.Name,
		"description": sc.Description,
		"servers": []server{{Name: sc.Servers[0].Name, Target: sc.Servers[0].Target, Pid: sc.Servers[0].Pid, Insecure: sc.Servers[0].Insecure,
			AllowRemote: sc.Servers[0].AllowRemote}},
		"requests": reqs,
		"load":     ld,
	}
	if len(ts) > 0 {
		var exprs []string
		for _, t := range ts {
			exprs = append(exprs, t.Expr)
		}
		doc["thresholds"] = exprs
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# written by: clusterbench load %s\n", sc.Description)
	return os.WriteFile(path, append([]byte(header), b...), 0o644)
}
