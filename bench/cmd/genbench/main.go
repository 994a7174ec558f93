//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/bench/load"
)

// Defaults of genbench.
const (
	DefaultRounds     = 5
	DefaultDuration   = 3 * time.Second
	DefaultWarmup     = time.Second
	DefaultConns      = 64
	DefaultEngines    = load.EngineLean
	DefaultBinary     = "bin/clusterbench"
	DefaultServerCPUs = "0"
	DefaultClientCPUs = "1"
	// DefaultOpenRounds bounds the open-loop section: with the defaults
	// above the whole run takes about 2m45s on 2 CPUs.
	DefaultOpenRounds = 3
)

// DefaultOpenFractions are the open-loop rates, as fractions of the lean
// engine's median closed-loop req/s against the same server.
func DefaultOpenFractions() []float64 { return []float64{0.5, 0.8, 1.0} }

type options struct {
	rounds                 int
	duration, warmup       time.Duration
	conns                  int
	engines                []string
	binary                 string
	serverCPUs, clientCPUs string
	open                   bool
	openRounds             int
	openFractions          []float64
	serveFast              string // child mode: serve the fast server on this address
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(code)
}

func parse(stderr io.Writer, args []string) (options, error) {
	var o options
	fs := pflag.NewFlagSet("genbench", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", DefaultRounds, "interleaved rounds (each measures every generator against every server)")
	fs.DurationVar(&o.duration, "duration", DefaultDuration, "length of one measurement (whole seconds: wrk takes seconds)")
	fs.DurationVar(&o.warmup, "warmup", DefaultWarmup, "warm-up before each measurement, same generator (whole seconds; 0 = none)")
	fs.IntVar(&o.conns, "conns", DefaultConns, "keep-alive connections (closed loop)")
	fs.StringSliceVar(&o.engines, "engines", []string{DefaultEngines}, "bench/load engines to measure: "+load.EngineLean+", "+load.EngineVegeta)
	fs.StringVar(&o.binary, "binary", DefaultBinary, "clusterbench binary serving the single model")
	fs.StringVar(&o.serverCPUs, "server-cpus", DefaultServerCPUs, "CPU list of the servers")
	fs.StringVar(&o.clientCPUs, "client-cpus", DefaultClientCPUs, "CPU list of the generators")
	fs.BoolVar(&o.open, "open", true, "after the closed loop, measure the lean engine open loop at fractions of its closed-loop req/s")
	fs.IntVar(&o.openRounds, "open-rounds", DefaultOpenRounds, "interleaved rounds of the open loop (each measures every fraction against every server)")
	fs.Float64SliceVar(&o.openFractions, "open-fractions", DefaultOpenFractions(), "open-loop rates as fractions of the lean engine's median closed-loop req/s against the same server")
	fs.StringVar(&o.serveFast, "serve-fast", "", "run as the fast hello server on this 127.0.0.1 address")
	_ = fs.MarkHidden("serve-fast")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.rounds < 1 || o.rounds > 1000:
		return o, fmt.Errorf("--rounds %d out of range (allowed: 1..1000)", o.rounds)
	case o.openRounds < 1 || o.openRounds > 1000:
		return o, fmt.Errorf("--open-rounds %d out of range (allowed: 1..1000)", o.openRounds)
	case o.conns < 1 || o.conns > 10000:
		return o, fmt.Errorf("--conns %d out of range (allowed: 1..10000)", o.conns)
	case o.duration < time.Second || o.duration%time.Second != 0:
		return o, fmt.Errorf("--duration %s: want whole seconds ≥ 1s", o.duration)
	case o.warmup < 0 || o.warmup%time.Second != 0:
		return o, fmt.Errorf("--warmup %s: want whole seconds ≥ 0", o.warmup)
	}
	for _, f := range o.openFractions {
		if !(f > 0 && f <= 10) {
			return o, fmt.Errorf("--open-fractions: %g out of range (allowed: 0 < f ≤ 10)", f)
		}
	}
	for _, e := range o.engines {
		if e != load.EngineLean && e != load.EngineVegeta {
			return o, fmt.Errorf("--engines: %q (allowed: %s, %s)", e, load.EngineLean, load.EngineVegeta)
		}
	}
	return o, nil
}

// run returns the exit code: 0 done, 2 usage, 1 the measurement failed.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) int {
	o, err := parse(stderr, args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "genbench:", err)
		return 2
	}
	if o.serveFast != "" {
		err = serveFastChild(o.serveFast)
	} else {
		err = measure(ctx, stdout, o)
	}
	if err != nil {
		fmt.Fprintln(stderr, "genbench:", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}
