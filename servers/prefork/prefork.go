// Package prefork is the multi-process pre-fork model: a master and N child
// processes (re-executions of the binary) sharing one port, the Go rebuild of
// Node's cluster module.
//
// Serve runs the master, or the child when the environment marks the process
// as one (EnvSlot). Each child runs Go code on one thread (GOMAXPROCS 1),
// as a Node worker does. The master binds the port before it starts any child, so
// a port in use fails at once with a *ListenError and nothing is left
// running. It then starts one child per slot and supervises them:
//
//   - --balance decides how connections reach children: BalanceReusePort
//     (one SO_REUSEPORT socket per slot, kernel hash), BalanceShared (one
//     socket inherited by every child, children race to accept) or
//     BalanceRoundRobin (the master accepts and passes each connection to the
//     next child over a Unix socket with SCM_RIGHTS; the child acknowledges
//     it, and connections a dead child never acknowledged go to another
//     child). The master keeps its copy of every listening socket, so
//     connections queued on it survive a child's death or replacement.
//   - A child that exits without being asked is restarted with a per-slot
//     exponential backoff. Exits soon after start are unstable; too many of
//     them within a sliding window trip the crash-loop budget and Serve
//     returns a *CrashLoopError.
//   - When ctx is done the master drains: it stops accepting (it closes its
//     copies of the listening sockets, so a new connection is refused once
//     the children have closed theirs; roundrobin first passes what is
//     still queued on its socket to the children), tells every child to
//     stop (SIGTERM and the close of its control socket), and a child still
//     alive after Grace (plus KillSlack) is killed. A clean drain returns
//     nil.
//   - A stopping child drains without losing a request (app.Server.Drain):
//     it takes what its listener's queue holds and closes it, answers the
//     requests that arrive on its keep-alive connections with
//     Connection: close, and closes a connection that stayed idle only
//     after Linger.
//   - Each value received from Config.Reload replaces the children one slot
//     at a time: the new child starts, and only once it is ready is the old
//     one drained.
//   - Children die with the master even when it is SIGKILLed: they are
//     started with Pdeathsig=SIGKILL from an OS-thread-locked goroutine, and
//     each child also treats EOF on its control socket as the master's death.
//
// Lifecycle events are logged on Config.Logger: "child started", "child
// restarted", "child ready", "child stopping", "child exited", "child
// killed", with slot, pid and reason, and "listening" with the address once,
// when every child is ready.
//
// Serve owns every goroutine and process it starts and returns only after
// all of them have ended and been reaped. The package is Linux-only:
// elsewhere Serve fails with the reason Unsupported gives.
package prefork

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/servers/app"
)

// Balance modes: how connections reach children.
const (
	BalanceReusePort  = "reuseport"
	BalanceShared     = "shared"
	BalanceRoundRobin = "roundrobin"
)

// Balances lists the balance modes.
var Balances = []string{BalanceReusePort, BalanceShared, BalanceRoundRobin}

// Unsupported returns why the model cannot run on this system, or nil on
// Linux: it needs SO_REUSEPORT, Unix-socket descriptor passing and
// Pdeathsig as Linux provides them.
func Unsupported() error {
	if runtime.GOOS == "linux" {
		return nil
	}
	return fmt.Errorf("prefork needs Linux (this is %s)", runtime.GOOS)
}

// Environment of a child process. EnvSlot marks the process as a child and
// names its slot; the other two carry what the master decided.
const (
	EnvSlot    = "CLUSTERBENCH_PREFORK_SLOT"
	EnvAddr    = "CLUSTERBENCH_PREFORK_ADDR"
	EnvBalance = "CLUSTERBENCH_PREFORK_BALANCE"
)

// Defaults used when the corresponding Config field is zero.
const (
	DefaultGrace          = 5 * time.Second
	DefaultCrashWindow    = 30 * time.Second
	DefaultCrashPerWorker = 3 // budget = DefaultCrashPerWorker × Workers
	DefaultMinUptime      = time.Second
	DefaultBackoffMin     = 100 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultReadyTimeout   = 15 * time.Second
	// KillSlack is how long after Grace the master waits before it SIGKILLs
	// a stopping child, so that a child whose drain ends at the deadline is
	// not killed while it exits.
	KillSlack = time.Second
)

// Config configures Serve. The zero value of every field except Addr is a
// documented default.
type Config struct {
	Addr    string        // host:port to listen on; port 0 picks one free port for all children
	Workers int           // child processes; zero means runtime.GOMAXPROCS(0)
	Balance string        // one of Balances; empty means shared
	Grace   time.Duration // drain deadline of each child; zero means DefaultGrace
	App     app.Config    // Exec is replaced by each child (Inline{ID: slot})
	Logger  *slog.Logger  // lifecycle events; nil means slog.Default()

	// Linger is how long a draining child keeps reading idle keep-alive
	// connections (answering with Connection: close) before it closes
	// them; zero means app.Linger(Grace). It must be below Grace.
	Linger time.Duration

	// Reload: every value received replaces the children one at a time
	// (the CLI feeds it SIGHUP). Nil means never.
	Reload <-chan os.Signal

	// Command and Args start a child: Command is the executable (empty means
	// os.Executable()), Args its arguments without argv[0] (nil means
	// os.Args[1:]). The child must call Serve with the same Config.
	Command string
	Args    []string
	// Env is added to the children's environment (after os.Environ()).
	Env []string

	// Supervision. A child that exits unasked before it was ready, or less
	// than MinUptime after it started, is unstable: its slot backs off
	// exponentially from BackoffMin to BackoffMax, and more than CrashBudget
	// unstable exits within CrashWindow make Serve give up with a
	// *CrashLoopError. A stable exit restarts the slot at once.
	CrashBudget  int           // zero means DefaultCrashPerWorker × Workers
	CrashWindow  time.Duration // zero means DefaultCrashWindow
	MinUptime    time.Duration // zero means DefaultMinUptime
	BackoffMin   time.Duration // zero means DefaultBackoffMin
	BackoffMax   time.Duration // zero means DefaultBackoffMax
	ReadyTimeout time.Duration // a child not ready this long after start is killed; zero means DefaultReadyTimeout
}

// ListenError is a failure to bind the listening address; nothing was
// started. The CLI maps it to a usage error.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

// CrashLoopError reports that children kept exiting soon after start: more
// than Budget unstable exits within Window. Every child has been stopped.
type CrashLoopError struct {
	Exits  int
	Budget int
	Window time.Duration
	Last   string // the last exit: slot, pid, status
}

func (e *CrashLoopError) Error() string {
	return fmt.Sprintf("crash loop: %d children exited soon after start within %s (budget %d); last: %s; giving up",
		e.Exits, e.Window, e.Budget, e.Last)
}

// ErrNotDrained reports that a child had to be killed, or exited with an
// error, while the master was stopping it.
var ErrNotDrained = errors.New("children did not drain cleanly")

// Serve runs the master (or, in a re-executed child, the child) until ctx is
// done or the master gives up, and returns nil after a clean drain.
func Serve(ctx context.Context, cfg Config) error {
	if slot, ok := os.LookupEnv(EnvSlot); ok {
		return serveChild(ctx, cfg, slot)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	return serveMaster(ctx, cfg)
}

// withDefaults validates cfg and fills in the zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Balance == "" {
		cfg.Balance = BalanceShared
	}
	if !slices.Contains(Balances, cfg.Balance) {
		return cfg, fmt.Errorf("prefork: balance %q is not a balance mode (allowed: %s)", cfg.Balance, strings.Join(Balances, ", "))
	}
	if cfg.Workers == 0 {
		cfg.Workers = defaultWorkers()
	}
	if cfg.Workers < 1 || cfg.Workers > 1024 {
		return cfg, fmt.Errorf("prefork: workers %d out of range (allowed: 1..1024)", cfg.Workers)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"grace", &cfg.Grace, DefaultGrace},
		{"crash window", &cfg.CrashWindow, DefaultCrashWindow},
		{"min uptime", &cfg.MinUptime, DefaultMinUptime},
		{"backoff min", &cfg.BackoffMin, DefaultBackoffMin},
		{"backoff max", &cfg.BackoffMax, DefaultBackoffMax},
		{"ready timeout", &cfg.ReadyTimeout, DefaultReadyTimeout},
	} {
		if *d.v < 0 {
			return cfg, fmt.Errorf("prefork: %s %s is negative (allowed: ≥ 0, 0 = default %s)", d.name, *d.v, d.def)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	switch {
	case cfg.Linger < 0:
		return cfg, fmt.Errorf("prefork: linger %s is negative (allowed: 0 = default, or below grace %s)", cfg.Linger, cfg.Grace)
	case cfg.Linger >= cfg.Grace:
		return cfg, fmt.Errorf("prefork: linger %s is not below grace %s (allowed: 0 = default, or below grace)", cfg.Linger, cfg.Grace)
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		return cfg, fmt.Errorf("prefork: backoff max %s is below backoff min %s", cfg.BackoffMax, cfg.BackoffMin)
	}
	if cfg.CrashBudget < 0 {
		return cfg, fmt.Errorf("prefork: crash budget %d is negative (allowed: ≥ 0, 0 = %d per worker)", cfg.CrashBudget, DefaultCrashPerWorker)
	}
	if cfg.CrashBudget == 0 {
		cfg.CrashBudget = DefaultCrashPerWorker * cfg.Workers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Command == "" {
		exe, err := os.Executable()
		if err != nil {
			return cfg, fmt.Errorf("prefork: cannot find the executable to re-run as a child: %w", err)
		}
		cfg.Command = exe
	}
	if cfg.Args == nil {
		cfg.Args = os.Args[1:]
	}
	return cfg, nil
}

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
