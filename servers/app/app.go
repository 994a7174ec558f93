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
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
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
// error (see PanicError), never crash the process. When Execute returns, fn
// has finished or will never run: the handler reuses what fn writes to.
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
	h := newHandler(cfg)
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

// cachedWorkerIDs is how many X-Worker-Id values a handler prepares (the
// CLI's limit on workers): a response of one of them allocates no header.
const cachedWorkerIDs = 1024

// handler serves the routes. Its fields are set by newHandler and only read
// afterwards. Header values are shared, never-modified slices of length 1,
// assigned into each response's header map: the hot path allocates no
// header (net/http only reads them, and an Add copies a full slice).
type handler struct {
	cfg       Config
	pid       string
	pidHdr    []string
	workerHdr [][]string // index = worker ID
	textHdr   []string
	tasks     sync.Pool // of *task
}

func newHandler(cfg Config) *handler {
	h := &handler{cfg: cfg, pid: strconv.Itoa(cfg.Pid), textHdr: []string{"text/plain; charset=utf-8"}}
	h.pidHdr = []string{h.pid}
	h.workerHdr = make([][]string, cachedWorkerIDs)
	for i := range h.workerHdr {
		h.workerHdr[i] = []string{strconv.Itoa(i)}
	}
	h.tasks.New = func() any {
		t := &task{h: h}
		t.fn = t.run // bound once: handing it to the Executor allocates nothing
		return t
	}
	return h
}

// setIdentity sets the identity headers of a response worker produced.
func (h *handler) setIdentity(w http.ResponseWriter, worker int) {
	hdr := w.Header()
	if worker >= 0 && worker < len(h.workerHdr) {
		hdr[HeaderWorkerID] = h.workerHdr[worker]
	} else {
		hdr[HeaderWorkerID] = []string{strconv.Itoa(worker)}
	}
	hdr[HeaderWorkerPid] = h.pidHdr
}

// task is one request's work as handed to the Executor. Tasks are pooled;
// one belongs to a single request from get to put.
type task struct {
	h      *handler
	fn     func(worker int) // t.run
	work   func(worker int) // the route's work; nil for none
	worker int
	ran    bool
	buf    []byte // the hello body, reused
}

func (t *task) run(worker int) {
	t.worker, t.ran = worker, true
	if t.h.cfg.Burn > 0 {
		Spin(t.h.cfg.Burn)
	}
	if t.work != nil {
		t.work(worker)
	}
}

func (h *handler) getTask(work func(worker int)) *task {
	t := h.tasks.Get().(*task)
	t.work, t.worker, t.ran = work, 0, false
	return t
}

func (h *handler) putTask(t *task) {
	t.work = nil
	h.tasks.Put(t)
}

// run executes work on a worker, adds the burn, sets the identity headers
// (also on a panic's 500, which names the worker that panicked) and maps
// executor errors to responses. It reports whether work ran to completion
// and, if so, the worker.
func (h *handler) run(w http.ResponseWriter, r *http.Request, work func(worker int)) (int, bool) {
	t := h.getTask(work)
	defer h.putTask(t)
	return h.exec(w, r, t)
}

func (h *handler) exec(w http.ResponseWriter, r *http.Request, t *task) (int, bool) {
	err := h.cfg.Exec.Execute(r.Context(), t.fn)
	if t.ran {
		h.setIdentity(w, t.worker)
	}
	switch {
	case err == nil:
		return t.worker, true
	case errors.Is(err, ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "request abandoned before a worker took it")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
	return 0, false
}

// hello answers GET /. It allocates nothing of its own: the body is built in
// the pooled task's buffer and net/http sets Content-Length for a body
// written whole.
func (h *handler) hello(w http.ResponseWriter, r *http.Request) {
	t := h.getTask(nil)
	defer h.putTask(t)
	worker, ok := h.exec(w, r, t)
	if !ok {
		return
	}
	b := append(t.buf[:0], "Hello from worker "...)
	b = strconv.AppendInt(b, int64(worker), 10)
	b = append(b, " (pid "...)
	b = append(b, h.pid...)
	b = append(b, ")\n"...)
	t.buf = b
	w.Header()["Content-Type"] = h.textHdr
	_, _ = w.Write(b)
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
	if _, ok := h.run(w, r, func(worker int) {
		start := time.Now()
		res.Result, _ = workload.Compute(kind, n) // bounds checked by ParseCalc
		res.ComputeNs = time.Since(start).Nanoseconds()
		res.Worker = worker
	}); !ok {
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header()[HeaderWorkerPid] = h.pidHdr
	w.Header()["Content-Type"] = h.textHdr
	_, _ = io.WriteString(w, "ok\n")
}

func (h *handler) faultExit(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.run(w, r, nil); !ok {
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
	if _, ok := h.run(w, r, func(int) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"fault": "stall", "d": d.String()})
}

func (h *handler) faultPanic(w http.ResponseWriter, r *http.Request) {
	_, _ = h.run(w, r, func(int) { panic("fault hook /fault/panic") })
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
