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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/report"
	"github.com/clusterbench/clusterbench/bench/runner"
	"github.com/clusterbench/clusterbench/bench/scenario"
)

// sample is one measurement of a generator against a server in a round.
type sample struct {
	round            int
	mode             string // load.Closed or load.Open
	server, gen      string
	fraction         float64 // open loop: asked / the closed-loop max
	asked            int     // open loop: the rate asked for, req/s
	requests, errors int64
	wall, cpu        time.Duration
	// trial is set for a bench/load engine, whose results.Trial gives
	// the fields below; wrk leaves them zero.
	trial       bool
	clientBound bool
	achieved    float64 // req/s sent (open loop) or received (closed loop)
	shortfall   bool    // open loop: achieved more than 5% under asked
	dropped     int64   // open loop: requests not sent, too late
	p50, p99    float64 // latency, ms (open loop: from the intended send time)
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
			return runEngine(ctx, clientCPUs, load.Config{Mode: load.Closed, Level: o.conns, Engine: e}, url, d)
		}})
	}
	open := o.open && slices.Contains(o.engines, load.EngineLean)
	if o.open && !open {
		fmt.Fprintf(w, "open loop: skipped: --engines has no %s\n", load.EngineLean)
	}
	targets, stop, err := startServers(ctx, w, o, pin)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	fmt.Fprintf(w, "estimate: %s\n", estimate(o, len(targets), len(gens), open))

	var closed, opened []sample
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
				s.round, s.mode, s.server, s.gen = r, load.Closed, t.name, g.name
				closed = append(closed, s)
				fmt.Fprintf(w, "round %d/%d  %-6s %-6s %9.0f req/s %7.1f µs/req %d errors%s\n",
					r, o.rounds, t.name, g.name, s.rps(), s.cpuPerReq(), s.errors, notes(s))
			}
		}
	}
	if open {
		if opened, err = measureOpen(ctx, w, o, clientCPUs, targets, closed); err != nil {
			return err
		}
	}

	doc := report.Document{
		Title: "\ngenbench: the load generator's cost against wrk",
		Meta: [][2]string{{"pinning", pin.String()}, {"rounds", strconv.Itoa(o.rounds)},
			{"load", fmt.Sprintf("closed loop, %d keep-alive connections, %s after %s warm-up", o.conns, o.duration, o.warmup)}},
		Tables: []report.Table{summarise(closed)},
	}
	if open {
		fractions := make([]string, len(o.openFractions))
		for i, f := range o.openFractions {
			fractions[i] = strconv.FormatFloat(f, 'f', 2, 64)
		}
		doc.Meta = append(doc.Meta, [2]string{"open loop", fmt.Sprintf("%s at %s × its median closed-loop req/s, keep-alive, same warm-up and duration; rounds: %d",
			load.EngineLean, strings.Join(fractions, ", "), o.openRounds)})
		doc.Tables = append(doc.Tables, summariseOpen(opened, closed))
	}
	if err := report.WriteText(w, doc); err != nil {
		return err
	}
	dir := filepath.Join(report.DefaultRunsDir, began.Format("20060102T150405Z")+"-generator")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var csv bytes.Buffer
	if err := report.WriteCSV(&csv, roundsTable(append(closed, opened...))); err != nil {
		return err
	}
	path := filepath.Join(dir, "rounds.csv")
	if err := os.WriteFile(path, csv.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nper-round rows: %s\n", path)
	return nil
}

// notes are the flags of a measurement in its progress line.
func notes(s sample) string {
	var b strings.Builder
	if s.shortfall {
		b.WriteString("  shortfall")
	}
	if s.clientBound {
		b.WriteString("  client-bound")
	}
	return b.String()
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

// runEngine measures a bench/load engine in this process for d against
// url, keep-alive, its threads pinned to cpus (when given) with GOMAXPROCS
// set to match; cfg gives the engine, the mode and the level.
func runEngine(ctx context.Context, cpus []int, cfg load.Config, url string, d time.Duration) (sample, error) {
	if len(cpus) > 0 {
		restore, err := runner.PinThreads(cpus)
		if err != nil {
			return sample{}, err
		}
		defer restore()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(len(cpus)))
	}
	cfg.Targets, cfg.Duration, cfg.KeepAlive = []load.Target{{URL: url, Weight: 1}}, d, true
	out, err := load.Run(ctx, cfg)
	if err != nil {
		return sample{}, err
	}
	if out.Interrupted {
		return sample{}, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	// The server name and trial number are not read back: the caller
	// fills them in the sample.
	t := out.Trial("", 1, 0)
	return sample{
		requests: t.Requests, errors: t.Requests - t.Successes, wall: out.Wall, cpu: out.ClientCPU,
		trial: true, clientBound: t.ClientBound, achieved: t.AchievedRate, shortfall: t.RateShortfall,
		dropped: t.Dropped, p50: t.Latency.P50Ms, p99: t.Latency.P99Ms,
	}, nil
}
