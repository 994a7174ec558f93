package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/clusterbench/clusterbench/bench/scenario"
	"github.com/clusterbench/clusterbench/servers/app"
	"github.com/clusterbench/clusterbench/servers/pool"
	"github.com/clusterbench/clusterbench/servers/prefork"
	"github.com/clusterbench/clusterbench/servers/single"
)

// Defaults of `clusterbench serve`.
const (
	DefaultAddr  = "127.0.0.1:3000"
	DefaultGrace = 5 * time.Second
)

type serveOptions struct {
	model      string
	addr       string
	workers    int
	gomaxprocs int
	queue      int
	queueWait  time.Duration
	balance    string
	grace      time.Duration
	faults     bool
	burn       time.Duration
}

var serveHelp = cmdHelp{
	Usage: "clusterbench serve [flags]",
	About: `Serves the HTTP API of the systems under test in one concurrency model until SIGTERM or
SIGINT (then drains within --grace): GET / (names the worker in X-Worker-Id and
X-Worker-Pid), GET /calc/{factorial|sum|primes|fibonacci}?n=N, GET /healthz.
  single   one process, a goroutine per connection
  pool     one process; handlers hand the work to --workers goroutines through a queue bounded
           in count (--queue) and waiting time (--queue-timeout); past either, 503 + Retry-After,
           at once when the expected wait (jobs ahead × average job time) exceeds the timeout
  prefork  a master and --workers child processes sharing the port (--balance); the master
           restarts crashed children, SIGHUP replaces them one at a time
A drain (SIGTERM/SIGINT, and the old prefork children on SIGHUP) first stops accepting, so new
connections are refused; requests arriving on keep-alive connections are answered with
Connection: close, and connections left idle are closed after a short linger (` + app.DrainLinger.String() + `, at most
half of --grace).`,
	Examples: []string{
		"clusterbench serve --model single --addr 127.0.0.1:3000",
		"clusterbench serve --model prefork --workers 4 --balance roundrobin",
		"clusterbench serve --model pool --workers 2 --queue 64 --burn 200us",
	},
	Exits: []string{"0  stopped by SIGTERM or SIGINT after draining", exitUsageLine, "1  the server failed (could not listen, a crash loop)"},
}

func parseServe(stdout io.Writer, args []string) (serveOptions, error) {
	o := serveOptions{}
	fs := newFlags("serve")
	fs.StringVar(&o.model, "model", "single", "server model: "+strings.Join(scenario.Models, ", "))
	fs.StringVar(&o.addr, "addr", DefaultAddr, "listen address HOST:PORT (port 0 picks a free port, logged on stderr)")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "pool worker goroutines or prefork child processes")
	fs.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "single: GOMAXPROCS of the process (0 keeps Go's default; 1 mimics Node's one thread)")
	fs.IntVar(&o.queue, "queue", pool.DefaultQueue, "pool: capacity of the work queue; a full queue answers 503")
	fs.DurationVar(&o.queueWait, "queue-timeout", pool.DefaultQueueTimeout, "pool: longest a request waits in the queue for a worker; then it gets 503, at once when its expected wait is longer (0 = bounded by --queue only)")
	fs.StringVar(&o.balance, "balance", prefork.BalanceShared, "prefork: how connections reach children: "+strings.Join(prefork.Balances, ", "))
	fs.DurationVar(&o.grace, "grace", DefaultGrace, "drain deadline on SIGTERM/SIGINT before in-flight requests are cut")
	fs.BoolVar(&o.faults, "faults", false, "enable the fault hooks /fault/exit, /fault/stall?d=, /fault/panic")
	fs.DurationVar(&o.burn, "burn", 0, "busy-spin this much CPU in every request (inject a known regression)")
	if err := parseFlags(fs, serveHelp, stdout, args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, usageError("unexpected argument %q (serve takes flags only)", fs.Arg(0))
	case !slices.Contains(scenario.Models, o.model):
		return o, usageError("--model %q is not a model (allowed: %s)", o.model, strings.Join(scenario.Models, ", "))
	case o.workers < 1 || o.workers > 1024:
		return o, usageError("--workers %d out of range (allowed: 1..1024)", o.workers)
	case o.gomaxprocs < 0 || o.gomaxprocs > 1024:
		return o, usageError("--gomaxprocs %d out of range (allowed: 0..1024, 0 = Go's default)", o.gomaxprocs)
	case o.queue < 1:
		return o, usageError("--queue %d out of range (allowed: ≥ 1)", o.queue)
	case o.queueWait < 0:
		return o, usageError("--queue-timeout %s is negative (allowed: ≥ 0, 0 = no time bound)", o.queueWait)
	case !slices.Contains(prefork.Balances, o.balance):
		return o, usageError("--balance %q is not a balance mode (allowed: %s)", o.balance, strings.Join(prefork.Balances, ", "))
	case o.grace < 0:
		return o, usageError("--grace %s is negative (allowed: ≥ 0)", o.grace)
	case o.burn < 0 || o.burn > time.Second:
		return o, usageError("--burn %s out of range (allowed: 0..1s)", o.burn)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return o, usageError("--addr %q is not HOST:PORT: %v", o.addr, err)
	}
	if err := prefork.Unsupported(); err != nil && o.model == "prefork" {
		here := slices.DeleteFunc(slices.Clone(scenario.Models), func(m string) bool { return m == "prefork" })
		return o, usageError("--model prefork: %v; allowed here: %s", err, strings.Join(here, ", "))
	}
	return o, nil
}

func runServe(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	o, err := parseServe(stdout, args)
	if err != nil {
		return err
	}
	// The first SIGINT or SIGTERM drains; a second takes the default action
	// (a second Ctrl-C ends a drain that hangs; prefork children die with
	// their master by Pdeathsig).
	ctx, stop := interruptible(ctx)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	appCfg := app.Config{Burn: o.burn, Faults: o.faults}

	if o.model == "prefork" {
		return servePrefork(ctx, log, o, appCfg, args)
	}
	ln, err := listen(o.addr)
	if err != nil {
		return err
	}
	if o.model == "single" && o.gomaxprocs > 0 {
		// Restored on return: tests run Main in their own process.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.gomaxprocs))
	}
	log.Info("listening", "model", o.model, "addr", ln.Addr().String(), "workers", o.workers, "gomaxprocs", runtime.GOMAXPROCS(0))
	switch o.model {
	case "single":
		err = single.Serve(ctx, ln, single.Config{App: appCfg, Grace: o.grace})
	case "pool":
		wait := o.queueWait
		if wait == 0 {
			wait = pool.NoQueueTimeout
		}
		err = pool.Serve(ctx, ln, pool.Config{App: appCfg, Workers: o.workers, Queue: o.queue, QueueTimeout: wait, Grace: o.grace})
	}
	if err != nil {
		return fmt.Errorf("%s server: %w", o.model, err)
	}
	log.Info("stopped", "model", o.model)
	return nil
}

// servePrefork runs the prefork master, or the child when the environment
// says this process is one. Children re-run this binary with the same
// serve arguments; SIGHUP replaces them one at a time.
func servePrefork(ctx context.Context, log *slog.Logger, o serveOptions, appCfg app.Config, args []string) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	err := prefork.Serve(ctx, prefork.Config{
		Addr: o.addr, Workers: o.workers, Balance: o.balance, Grace: o.grace,
		App: appCfg, Logger: log, Reload: hup,
		Args: append([]string{"serve"}, args...),
	})
	var le *prefork.ListenError
	switch {
	case errors.As(err, &le) && errors.Is(err, syscall.EADDRINUSE):
		return usageError("address %s is already in use (choose another --addr, or port 0 for a free one)", le.Addr)
	case errors.As(err, &le):
		return usageError("%v", err)
	case err != nil:
		return fmt.Errorf("prefork server: %w", err)
	}
	return nil
}

// listen binds addr; a port in use is a usage error (exit 2).
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, usageError("address %s is already in use (choose another --addr, or port 0 for a free one)", addr)
	}
	if err != nil {
		return nil, usageError("cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}
