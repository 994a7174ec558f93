//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// sample is one measurement of a generator against a server in a round.
type sample struct {
	round            int
	server, gen      string
	requests, errors int64
	wall, cpu        time.Duration
}

func (s sample) rps() float64       { return float64(s.requests) / s.wall.Seconds() }
func (s sample) cpuPerReq() float64 { return s.cpu.Seconds() * 1e6 / float64(s.requests) }

// generator runs one closed-loop measurement against url for d.
type generator struct {
	name string
	run  func(ctx context.Context, url string, d time.Duration) (sample, error)
}

type target struct{ name, url string }

func measure(ctx context.Context, w io.Writer, o options) (err error) {
	began := time.Now().UTC()
	pin, clientCPUs, err := planPinning(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pinning: %s\n", pin)
	var gens []generator
	if path, err := exec.LookPath("wrk"); err != nil {
		fmt.Fprintln(w, "wrk: skipped: not on PATH (Debian package wrk: apt-get install wrk); no ratios to wrk")
	} else {
		gens = append(gens, generator{"wrk", func(ctx context.Context, url string, d time.Duration) (sample, error) {
			return runWrk(ctx, path, pin.Client, o.conns, url, d)
		}})
	}
	for _, e := range o.engines {
		gens = append(gens, generator{e, func(ctx context.Context, url string, d time.Duration) (sample, error) {
			return runEngine(ctx, e, clientCPUs, o.conns, url, d)
		}})
	}
	targets, stop, err := startServers(ctx, w, o, pin)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()

	var samples []sample
	for r := 1; r <= o.rounds; r++ {
		for _, t := range targets {
			for _, g := range gens {
				if o.warmup > 0 {
					if _, err := g.run(ctx, t.url, o.warmup); err != nil {
						return fmt.Errorf("round %d: %s warm-up against %s: %w", r, g.name, t.name, err)
					}
				}
				s, err := g.run(ctx, t.url, o.duration)
				if err != nil {
					return fmt.Errorf("round %d: %s against %s: %w", r, g.name, t.name, err)
				}
				s.round, s.server, s.gen = r, t.name, g.name
				samples = append(samples, s)
				fmt.Fprintf(w, "round %d/%d  %-6s %-6s %9.0f req/s %7.1f µs/req %d errors\n",
					r, o.rounds, t.name, g.name, s.rps(), s.cpuPerReq(), s.errors)
			}
		}
	}
	doc := report.Document{
		Title: "\ngenbench: the load generator's cost against wrk",
		Meta: [][2]string{{"pinning", pin.String()}, {"rounds", strconv.Itoa(o.rounds)},
			{"load", fmt.Sprintf("closed loop, %d keep-alive connections, %s after %s warm-up", o.conns, o.duration, o.warmup)}},
		Tables: []report.Table{summarise(samples)},
	}
	if err := report.WriteText(w, doc); err != nil {
		return err
	}
	dir := filepath.Join(report.DefaultRunsDir, began.Format("20060102T150405Z")+"-generator")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var csv bytes.Buffer
	if err := report.WriteCSV(&csv, roundsTable(samples)); err != nil {
		return err
	}
	path := filepath.Join(dir, "rounds.csv")
	if err := os.WriteFile(path, csv.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nper-round rows: %s\n", path)
	return nil
}

// planPinning returns the CPUs of servers and generators, and the client
// CPUs as a list (nil when not pinned: fewer than 2 CPUs).
func planPinning(o options) (runner.Pinning, []int, error) {
	allowed, err := runner.AllowedCPUs()
	if err != nil {
		return runner.Pinning{}, nil, err
	}
	if len(allowed) < 2 {
		return runner.Pinning{Note: fmt.Sprintf("off (only %d CPU available)", len(allowed))}, nil, nil
	}
	pin, err := runner.PlanPinning(scenario.Pin{Server: o.serverCPUs, Client: o.clientCPUs}, allowed)
	if err != nil {
		return pin, nil, err
	}
	pin.Note = "sched_setaffinity, --server-cpus and --client-cpus"
	cpus, err := scenario.ParseCPUList(pin.ClientList)
	return pin, cpus, err
}

// startServers starts the single server and the fast server, each pinned
// to the server CPUs, and waits until both answer /healthz; stop ends them.
func startServers(ctx context.Context, w io.Writer, o options, pin runner.Pinning) (targets []target, stop func() error, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(o.binary); err != nil {
		return nil, nil, fmt.Errorf("server binary: %w (make build makes it)", err)
	}
	var procs []*runner.Proc
	stop = func() error {
		var errs []error
		for _, p := range procs {
			errs = append(errs, p.Stop(runner.DefaultStopGrace))
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, stop())
		}
	}()
	for _, s := range []struct {
		name string
		argv func(addr string) []string
	}{
		{"single", func(a string) []string { return []string{o.binary, "serve", "--model", "single", "--addr", a} }},
		{"fast", func(a string) []string { return []string{self, "--serve-fast", a} }},
	} {
		addr, err := runner.FreeAddr()
		if err != nil {
			return nil, nil, err
		}
		p, err := runner.StartProc(runner.ProcSpec{Name: s.name, Argv: s.argv(addr), Addr: addr, CPUs: pin.Server})
		if err != nil {
			return nil, nil, err
		}
		procs = append(procs, p)
		if err := p.WaitReady(ctx, runner.DefaultStartTimeout); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(w, "server %s: pid %d on %s\n", s.name, p.Pid(), addr)
		targets = append(targets, target{s.name, "http://" + addr + "/"})
	}
	return targets, stop, nil
}

// runEngine measures a bench/load engine in this process, its threads
// pinned to cpus (when given) with GOMAXPROCS set to match.
func runEngine(ctx context.Context, engine string, cpus []int, conns int, url string, d time.Duration) (sample, error) {
	if len(cpus) > 0 {
		restore, err := runner.PinThreads(cpus)
		if err != nil {
			return sample{}, err
		}
		defer restore()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(len(cpus)))
	}
	out, err := load.Run(ctx, load.Config{
		Targets: []load.Target{{URL: url, Weight: 1}}, Mode: load.Closed, Level: conns,
		Duration: d, KeepAlive: true, Engine: engine,
	})
	if err != nil {
		return sample{}, err
	}
	if out.Interrupted {
		return sample{}, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	n := out.Acc.Requests()
	return sample{requests: n, errors: n - out.Acc.Successes(), wall: out.Wall, cpu: out.ClientCPU}, nil
}

// summarise gives one row per server × generator, in the order first
// measured: medians over the rounds, and medians of the per-round ratios
// to wrk against the same server.
func summarise(samples []sample) report.Table {
	type key struct{ server, gen string }
	type values struct {
		rps, cpu, rpsRatio, cpuRatio []float64
		errors                       int64
	}
	wrk := map[key]sample{} // server and round → wrk's sample
	for _, s := range samples {
		if s.gen == "wrk" {
			wrk[key{s.server, strconv.Itoa(s.round)}] = s
		}
	}
	var order []key
	byKey := map[key]*values{}
	for _, s := range samples {
		k := key{s.server, s.gen}
		v := byKey[k]
		if v == nil {
			v = &values{}
			byKey[k], order = v, append(order, k)
		}
		v.rps, v.cpu, v.errors = append(v.rps, s.rps()), append(v.cpu, s.cpuPerReq()), v.errors+s.errors
		if b, ok := wrk[key{s.server, strconv.Itoa(s.round)}]; ok {
			v.rpsRatio = append(v.rpsRatio, s.rps()/b.rps())
			v.cpuRatio = append(v.cpuRatio, s.cpuPerReq()/b.cpuPerReq())
		}
	}
	med := func(xs []float64, prec int) string {
		if e := metrics.Estimate(xs); e.N > 0 {
			return strconv.FormatFloat(e.Median, 'f', prec, 64)
		}
		return "-"
	}
	t := report.Table{
		Title:  "median per server and generator",
		Header: []string{"server", "generator", "req/s", "CPU µs/req", "req/s vs wrk", "CPU/req vs wrk", "errors", "rounds"},
		Align:  []report.Align{report.Left, report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
		Notes:  []string{"vs wrk: median of per-round ratios against the same server (1.00 = parity; CPU/req above 1 costs more than wrk)"},
	}
	for _, k := range order {
		v := byKey[k]
		t.Rows = append(t.Rows, []string{k.server, k.gen, med(v.rps, 0), med(v.cpu, 1), med(v.rpsRatio, 2),
			med(v.cpuRatio, 2), strconv.FormatInt(v.errors, 10), strconv.Itoa(len(v.rps))})
	}
	return t
}

// roundsTable is rounds.csv: one row per measurement, raw numbers.
func roundsTable(samples []sample) report.Table {
	t := report.Table{Title: "rounds.csv", Header: []string{"round", "server", "generator", "requests", "errors",
		"wall_s", "cpu_s", "req_per_s", "cpu_us_per_req"}}
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	for _, s := range samples {
		t.Rows = append(t.Rows, []string{strconv.Itoa(s.round), s.server, s.gen, strconv.FormatInt(s.requests, 10),
			strconv.FormatInt(s.errors, 10), g(s.wall.Seconds()), g(s.cpu.Seconds()), g(s.rps()), g(s.cpuPerReq())})
	}
	return t
}
