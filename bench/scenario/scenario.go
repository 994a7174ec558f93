// Package scenario reads and validates scenario files: which servers to
// compare, which requests to send, and what load to apply.
//
// The types here are the contract between the parser and the runner.
// LoadFile (a file) and Parse (bytes) return a Scenario whose every field
// is valid and defaulted; the runner never re-validates. Override applies
// command-line overrides with the same rules. Validation errors read
// `file:line: field: problem (allowed: ...)`, all of them at once (Errors).
// scenarios/example.yaml (every field, with its default) and
// scenarios/REFERENCE.md describe the file format.
//
// Everything here is pure or reads one file; a Scenario is plain data,
// safe to share read-only across goroutines.
package scenario

import (
	"net/http"
	"time"

	"github.com/clusterbench/clusterbench/bench/threshold"
)

// Defaults applied when a scenario file leaves a field out.
const (
	DefaultDuration = 5 * time.Second
	DefaultWarmup   = 1 * time.Second
	DefaultTrials   = 3
	DefaultTimeout  = 5 * time.Second // per request
)

// Scenario is one validated scenario file.
type Scenario struct {
	Name        string
	Description string
	File        string // path it was read from
	// Dir is the directory the scenario's relative paths (command:,
	// body_file:) are taken from: the file's; "" for a scenario built into
	// the binary or made from flags (then the current directory).
	Dir      string
	Servers  []Server
	Requests []Request // at least one
	Load     Load
	Pin      Pin
	Calc     []Calc // the calc: section; empty when absent
	// Faults are applied to each server during every measured trial, in
	// file order (the faults: section; empty when absent).
	Faults []Fault
	// Thresholds fail the run (exit 1) when a figure breaks them.
	Thresholds []threshold.Threshold
}

// Server is a system under test: either a Go model of `clusterbench serve`
// or an external command (the Node.js reference).
type Server struct {
	Name string // unique within the scenario; [a-z0-9._-]+

	// Go model (Model != ""): started as `clusterbench serve --model ...`.
	Model      string // single | pool | prefork
	Workers    int    // 0 = the serve default
	Balance    string // prefork only: reuseport | shared | roundrobin
	GOMAXPROCS int    // 0 = default
	Burn       time.Duration
	Queue      int // pool only; 0 = default

	// External command (Command != nil): gets PORT and ADDR in its env.
	Command []string
	Env     map[string]string
	// Health is the path the runner polls until it answers 200 before
	// measuring a command: server ("" = /healthz); HealthNone waits only
	// until the port accepts a connection. ReadyTimeout bounds the wait
	// (0 = the runner's default).
	Health       string
	ReadyTimeout time.Duration

	// Target (a URL's scheme and host, e.g. http://127.0.0.1:8080): a
	// server the user runs. The runner neither starts nor stops it; it
	// checks that it accepts connections first, and measures its CPU only
	// when Pid names its process. A target whose host is not loopback is
	// refused before anything is measured unless AllowRemote
	// (allow_remote: true) or the command line allows it.
	Target      string
	Pid         int
	Insecure    bool // https target: do not verify its certificate
	AllowRemote bool // target may be another host, not only loopback

	// Line is where the server is declared, for later error messages.
	Line int
}

// External reports whether s is an external command rather than a Go model.
func (s Server) External() bool { return len(s.Command) > 0 }

// IsTarget reports whether s is a server the user runs (target:).
func (s Server) IsTarget() bool { return s.Target != "" }

// HealthNone as a server's health: ready once its port accepts a connection.
const HealthNone = "none"

// Request is one entry of the request mix: sent with probability
// Weight / sum(Weights).
type Request struct {
	Method  string // GET (default)
	Path    string // starts with '/', e.g. "/calc/fibonacci?n=25"
	Weight  int    // ≥ 1, default 1
	Headers http.Header
	Body    []byte // from body: or body_file: (read when the scenario is loaded)
}

// Load modes.
const (
	Closed = "closed" // Levels are concurrency (connections, each a request at a time)
	Open   = "open"   // Levels are rates per second
)

// Load is how the servers are driven.
type Load struct {
	Mode      string // Closed or Open
	Levels    []int  // concurrency levels (closed) or rates/s (open), each ≥ 1
	Duration  time.Duration
	Warmup    time.Duration // 0 = no warm-up
	Trials    int
	KeepAlive bool          // default true
	Timeout   time.Duration // per-request timeout; 0 = 5s
	Engine    string        // load.EngineLean (default) or load.EngineVegeta
	MaxConns  int           // open loop: at most this many connections; 0 = rate × timeout, ≤ 4096
	Requests  int64         // stop each trial after this many requests; 0 = no count (run -n)
	Expect    []int         // status codes that count as successes; nil = 2xx
}

// Pin confines the servers and the load generator to CPU lists (Linux
// sched_setaffinity / taskset syntax, e.g. "0" and "1", or "0-3"). Empty
// strings mean "auto": on a machine with ≥ 2 CPUs the runner splits them;
// Disabled turns pinning off.
type Pin struct {
	Server   string
	Client   string
	Disabled bool
}

// Calc is one batch of the optional calc: section: a master hands Tasks
// calculation tasks (Kind with argument N) to Workers workers of Model and
// collects the results, Trials times (servers/calc). The runner runs the
// batches after the servers, unpinned, and stores them in results.Run.Calc.
type Calc struct {
	Name     string // unique among the batches; default model-kind-n
	Model    string // inline | goroutine | process
	Workers  int    // 0 = GOMAXPROCS of the runner (inline: always 1)
	Kind     string // factorial | sum | primes | fibonacci | mix
	N        int64
	Tasks    int // ≥ 1, default calcbatch.DefaultTasks
	Inflight int // process only: tasks in flight per worker; 0 = calc.DefaultInflight
	Trials   int // ≥ 1, default calcbatch.DefaultTrials
	Line     int // where the batch is declared
}
