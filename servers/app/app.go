// Package app is the HTTP API that every Go server model serves: the hello
// route, the four calculations, a health check and, when enabled, fault hooks.
//
// The routes are the same in every model; a model differs only in how it runs
// a request's work, which it supplies as an Executor. Handler is safe for
// concurrent use.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/servers/workload"
)

// Header names of the worker identity, present on every response that a
// worker produced.
const (
	HeaderWorkerID  = "X-Worker-Id"
	HeaderWorkerPid = "X-Worker-Pid"
)

// Limits of the fault hooks.
const MaxStall = 30 * time.Second

// ErrOverloaded is returned by an Executor that refuses work (a full queue);
// the handler answers 503 with Retry-After.
var ErrOverloaded = errors.New("server overloaded: work queue full")

// Executor runs fn on a worker and reports which worker ran it. It returns
// ErrOverloaded when it refuses the work, or ctx.Err() when the request was
// abandoned before a worker took it. A panic in fn must be returned as an
// error (see PanicError), never crash the process.
type Executor interface {
	Execute(ctx context.Context, fn func(worker int)) error
}

// Inline is an Executor that runs the work on the calling goroutine and
// names every request with the same worker ID (single model, prefork child).
type Inline struct{ ID int }

// Execute runs fn on the caller's goroutine, turning a panic into a PanicError.
func (in Inline) Execute(_ context.Context, fn func(worker int)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	fn(in.ID)
	return nil
}

// PanicError is a panic recovered from a request's work.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("panic in worker: %v", e.Value) }

// Config configures Handler. The zero value serves with an Inline{0}
// executor, no burn and no fault hooks.
type Config struct {
	// Exec runs each request's work. Nil means Inline{ID: 0}.
	Exec Executor
	// Burn is a busy-spin of CPU added to every request's work (for
	// injecting a known regression). Zero means none.
	Burn time.Duration
	// Faults enables /fault/exit, /fault/stall and /fault/panic.
	Faults bool
	// Exit is called by /fault/exit after the response is written; nil
	// means os.Exit.
	Exit func(code int)
	// Pid is reported in X-Worker-Pid; zero means os.Getpid().
	Pid int
}

// Handler returns the API of the server contract.
func Handler(cfg Config) http.Handler {
	if cfg.Exec == nil {
		cfg.Exec = Inline{}
	}
	if cfg.Pid == 0 {
		cfg.Pid = os.Getpid()
	}
	if cfg.Exit == nil {
		cfg.Exit = os.Exit
	}
	h := &handler{cfg: cfg, pid: strconv.Itoa(cfg.Pid)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.hello)
	mux.HandleFunc("GET /calc/{kind}", h.calc)
	mux.HandleFunc("GET /healthz", h.healthz)
	if cfg.Faults {
		mux.HandleFunc("GET /fault/exit", h.faultExit)
		mux.HandleFunc("GET /fault/stall", h.faultStall)
		mux.HandleFunc("GET /fault/panic", h.faultPanic)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s (routes: GET /, GET /calc/{kind}?n=N, GET /healthz)", r.Method, r.URL.Path))
	})
	return mux
}

type handler struct {
	cfg Config
	pid string
}

// run executes work on a worker, adds the burn, sets the identity headers
// and maps executor errors to responses. It reports whether work ran.
func (h *handler) run(w http.ResponseWriter, r *http.Request, work func(worker int)) bool {
	err := h.cfg.Exec.Execute(r.Context(), func(worker int) {
		w.Header().Set(HeaderWorkerID, strconv.Itoa(worker))
		w.Header().Set(HeaderWorkerPid, h.pid)
		if h.cfg.Burn > 0 {
			Spin(h.cfg.Burn)
		}
		work(worker)
	})
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "request abandoned before a worker took it")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
	return false
}

func (h *handler) hello(w http.ResponseWriter, r *http.Request) {
	var body string
	if !h.run(w, r, func(worker int) {
		body = fmt.Sprintf("Hello from worker %d (pid %s)\n", worker, h.pid)
	}) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write([]byte(body))
}

// CalcResult is the JSON body of a /calc answer.
type CalcResult struct {
	Kind      workload.Kind `json:"kind"`
	N         int64         `json:"n"`
	Result    string        `json:"result"` // exact decimal
	Worker    int           `json:"worker"`
	Pid       int           `json:"pid"`
	ComputeNs int64         `json:"compute_ns"`
}

func (h *handler) calc(w http.ResponseWriter, r *http.Request) {
	kind, n, err := ParseCalc(r.PathValue("kind"), r.URL.RawQuery)
	if err != nil {
		status := http.StatusBadRequest
		var uk *UnknownKindError
		if errors.As(err, &uk) {
			status = http.StatusNotFound
		}
		writeError(w, status, err.Error())
		return
	}
	res := CalcResult{Kind: kind, N: n, Pid: h.cfg.Pid}
	if !h.run(w, r, func(worker int) {
		start := time.Now()
		res.Result, _ = workload.Compute(kind, n) // bounds checked by ParseCalc
		res.ComputeNs = time.Since(start).Nanoseconds()
		res.Worker = worker
	}) {
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set(HeaderWorkerPid, h.pid)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (h *handler) faultExit(w http.ResponseWriter, r *http.Request) {
	if !h.run(w, r, func(int) {}) {
		return
	}
	w.Header().Set("Connection", "close")
	writeJSON(w, http.StatusOK, map[string]string{"fault": "exit"})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	h.cfg.Exit(1)
}

func (h *handler) faultStall(w http.ResponseWriter, r *http.Request) {
	d, err := ParseStall(r.URL.Query().Get("d"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.run(w, r, func(int) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"fault": "stall", "d": d.String()})
}

func (h *handler) faultPanic(w http.ResponseWriter, r *http.Request) {
	if !h.run(w, r, func(int) { panic("fault hook /fault/panic") }) {
		return
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "status": status})
}

// Spin busy-loops on the CPU for d (not a sleep: it costs CPU time). It is
// safe for concurrent use: the loop's work stays in a local variable.
func Spin(d time.Duration) {
	var acc uint64
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for i := range uint64(256) {
			acc += i
		}
	}
	runtime.KeepAlive(acc) // keeps the inner loop from being optimised away
}
