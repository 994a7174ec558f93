package metrics

import (
	"slices"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Response headers the accumulator reads.
const (
	HeaderWorkerID  = "X-Worker-Id"
	HeaderWorkerPid = "X-Worker-Pid"
	// HeaderNewConn is set by the load generator (bench/load) on the
	// result of the first request sent on each new connection; it never
	// travels on the wire.
	HeaderNewConn = "X-Clusterbench-New-Conn"
)

// Bounds of the accumulator's memory.
const (
	// MaxWorkers is the number of distinct X-Worker-Id values tallied
	// separately; responses from further IDs are tallied as OtherWorker.
	MaxWorkers = 256
	// MaxErrorKinds is the number of distinct normalised error messages
	// kept; further kinds are counted under OtherErrors.
	MaxErrorKinds = 32
	// maxPids is the number of distinct pids remembered per worker slot.
	maxPids = 16
	// MaxLatency is the largest latency the histograms track; longer ones
	// are recorded as MaxLatency (a request timeout is far below it).
	MaxLatency = time.Minute
)

// Names of the catch-all tallies.
const (
	UnknownWorker = "?"     // a response without X-Worker-Id
	OtherWorker   = "other" // beyond MaxWorkers distinct IDs
	OtherErrors   = "other errors"
)

// codeSlots counts status codes 0..599; slot 600 holds anything else.
const codeSlots = 601

// The histograms record nanoseconds with a resolution of 1µs: 3
// significant digits for the trial, 2 for each worker (p50/p99 only).
const (
	histLowest    = int64(time.Microsecond)
	trialSigFigs  = 3
	workerSigFigs = 2
	histHighest   = int64(MaxLatency)
)

type worker struct {
	id       string
	requests int64
	errors   int64
	conns    int64
	pids     [maxPids]int
	npids    int
	lat      *hdrhistogram.Histogram
}

// Accumulator tallies the vegeta results of one trial: an HdrHistogram of
// latency, status codes, a small normalised error set, and per-server-worker
// tallies (requests, errors, new connections, distinct pids, a latency
// histogram each). Add is O(1) and does not allocate once every worker ID
// and error kind of the trial has been seen; memory is bounded whatever the
// length of the run (a fixed-size histogram per worker, at most MaxWorkers
// worker tallies and MaxErrorKinds error kinds).
//
// An Accumulator is not safe for concurrent use: one goroutine, the
// consumer of the attack's results channel, owns it. The zero value is not
// usable; call New.
type Accumulator struct {
	lat       *hdrhistogram.Histogram
	requests  int64
	successes int64
	codes     [codeSlots]int64
	errs      map[string]*int64
	errBuf    []byte
	workers   map[string]*worker
	newConns  int64
	earliest  time.Time
	latest    time.Time
}

// New returns an empty Accumulator.
func New() *Accumulator {
	return &Accumulator{
		lat:     hdrhistogram.New(histLowest, histHighest, trialSigFigs),
		errs:    make(map[string]*int64),
		errBuf:  make([]byte, 0, 256),
		workers: make(map[string]*worker),
	}
}

// Add tallies one result. It uses r.Latency as the latency (the open-loop
// driver has already moved it to the intended send time), r.Code, r.Error,
// r.Timestamp and r.Headers; it keeps no reference to r.
func (a *Accumulator) Add(r *vegeta.Result) {
	a.requests++
	lat := clampLatency(r.Latency)
	_ = a.lat.RecordValue(lat) // cannot fail: clamped into range
	if a.earliest.IsZero() || r.Timestamp.Before(a.earliest) {
		a.earliest = r.Timestamp
	}
	if r.Timestamp.After(a.latest) {
		a.latest = r.Timestamp
	}
	ok := r.Code >= 200 && r.Code < 300
	if ok {
		a.successes++
	}
	if r.Code < codeSlots-1 {
		a.codes[r.Code]++
	} else {
		a.codes[codeSlots-1]++
	}
	if r.Error != "" {
		a.addError(r.Error)
	}
	if _, fresh := r.Headers[HeaderNewConn]; fresh {
		a.newConns++
	}
	if r.Code == 0 {
		return // no response: no worker answered
	}
	w := a.worker(first(r.Headers[HeaderWorkerID]))
	w.requests++
	if !ok {
		w.errors++
	}
	if _, fresh := r.Headers[HeaderNewConn]; fresh {
		w.conns++
	}
	_ = w.lat.RecordValue(lat)
	if pid, err := strconv.Atoi(first(r.Headers[HeaderWorkerPid])); err == nil {
		w.addPid(pid)
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func clampLatency(d time.Duration) int64 {
	switch {
	case d < time.Duration(histLowest):
		return histLowest
	case d > MaxLatency:
		return histHighest
	}
	return int64(d)
}

func (a *Accumulator) worker(id string) *worker {
	if id == "" {
		id = UnknownWorker
	}
	if w, ok := a.workers[id]; ok {
		return w
	}
	if len(a.workers) >= MaxWorkers {
		id = OtherWorker
		if w, ok := a.workers[id]; ok {
			return w
		}
	}
	w := &worker{id: id, lat: hdrhistogram.New(histLowest, histHighest, workerSigFigs)}
	a.workers[id] = w
	return w
}

func (w *worker) addPid(pid int) {
	for _, p := range w.pids[:w.npids] {
		if p == pid {
			return
		}
	}
	if w.npids < len(w.pids) {
		w.pids[w.npids] = pid
		w.npids++
	}
}

func (a *Accumulator) addError(msg string) {
	a.errBuf = NormalizeError(a.errBuf[:0], msg)
	if n, ok := a.errs[string(a.errBuf)]; ok { // no allocation: a map lookup by converted bytes
		*n++
		return
	}
	key := string(a.errBuf)
	if len(a.errs) >= MaxErrorKinds {
		key = OtherErrors
		if n, ok := a.errs[key]; ok {
			*n++
			return
		}
	}
	n := int64(1)
	a.errs[key] = &n
}

// Requests is the number of results added so far.
func (a *Accumulator) Requests() int64 { return a.requests }

// Successes is the number of 2xx responses added so far.
func (a *Accumulator) Successes() int64 { return a.successes }

// NewConnections is the number of results that opened a new connection.
func (a *Accumulator) NewConnections() int64 { return a.newConns }

// SendSpan returns the earliest and latest send timestamps seen.
func (a *Accumulator) SendSpan() (earliest, latest time.Time) { return a.earliest, a.latest }

// SentRate is the rate at which the results were sent: (n−1) sends over the
// span from the first to the last (exact for evenly spaced sends), or 0
// with fewer than two results.
func (a *Accumulator) SentRate() float64 {
	span := a.latest.Sub(a.earliest)
	if a.requests < 2 || span <= 0 {
		return 0
	}
	return float64(a.requests-1) / span.Seconds()
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// Latency summarises the trial's latency histogram in milliseconds.
func (a *Accumulator) Latency() results.Latency { return latencyOf(a.lat) }

// PooledLatency summarises the latencies of several accumulators as one
// (their histograms merged): a trial measured in slices, whose percentiles
// are those of all its requests, not a mix of the slices' percentiles.
func PooledLatency(accs ...*Accumulator) results.Latency {
	h := hdrhistogram.New(histLowest, histHighest, trialSigFigs)
	for _, a := range accs {
		h.Merge(a.lat) // same range and precision: nothing is dropped
	}
	return latencyOf(h)
}

func latencyOf(h *hdrhistogram.Histogram) results.Latency {
	if h.TotalCount() == 0 {
		return results.Latency{}
	}
	return results.Latency{
		MeanMs: h.Mean() / 1e6,
		P50Ms:  ms(h.ValueAtQuantile(50)),
		P90Ms:  ms(h.ValueAtQuantile(90)),
		P99Ms:  ms(h.ValueAtQuantile(99)),
		P999Ms: ms(h.ValueAtQuantile(99.9)),
		MaxMs:  ms(h.Max()),
	}
}

// StatusCodes returns the count of each status code seen ("0" = no
// response, "other" = a code outside 0..599).
func (a *Accumulator) StatusCodes() map[string]int64 {
	m := make(map[string]int64)
	for code, n := range a.codes {
		if n == 0 {
			continue
		}
		k := strconv.Itoa(code)
		if code == codeSlots-1 {
			k = "other"
		}
		m[k] = n
	}
	return m
}

// Errors returns the normalised error set, or nil when there was none.
func (a *Accumulator) Errors() map[string]int64 {
	if len(a.errs) == 0 {
		return nil
	}
	m := make(map[string]int64, len(a.errs))
	for k, v := range a.errs {
		m[k] = *v
	}
	return m
}

// Workers returns the per-worker tallies ordered by worker ID (numeric IDs
// in numeric order, then the others), with each worker's share of the
// requests that carried a worker.
func (a *Accumulator) Workers() []results.Worker {
	out := make([]results.Worker, 0, len(a.workers))
	for _, w := range a.workers {
		rw := results.Worker{
			ID:          w.id,
			Pids:        slices.Clone(w.pids[:w.npids]),
			Requests:    w.requests,
			Connections: w.conns,
			P50Ms:       ms(w.lat.ValueAtQuantile(50)),
			P99Ms:       ms(w.lat.ValueAtQuantile(99)),
			Errors:      w.errors,
		}
		slices.Sort(rw.Pids)
		out = append(out, rw)
	}
	SetShares(out)
	SortWorkers(out)
	return out
}
