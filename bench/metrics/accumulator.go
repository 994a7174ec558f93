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

// Accumulator tallies the requests of one trial (vegeta results or the
// lean engine's samples): an HdrHistogram of
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
	expect    *[codeSlots]bool // nil: 2xx are successes
	tl        *timeline        // nil: no timeline (EnableTimeline)
}

// success reports whether a status code counts as a success: 2xx, or
// the codes Expect named.
func (a *Accumulator) success(code int) bool {
	if a.expect == nil {
		return code >= 200 && code < 300
	}
	return code > 0 && code < codeSlots-1 && a.expect[code]
}

// Expect makes exactly these status codes count as successes (instead of
// 2xx); nil or empty keeps 2xx. Call it before the first Add.
func (a *Accumulator) Expect(codes []int) {
	if len(codes) == 0 {
		a.expect = nil
		return
	}
	a.expect = new([codeSlots]bool)
	for _, c := range codes {
		if c > 0 && c < codeSlots-1 {
			a.expect[c] = true
		}
	}
}

// New returns an empty Accumulator.
func New() *Accumulator {
	return &Accumulator{
		lat:     NewLatencyHistogram(),
		errs:    make(map[string]*int64),
		errBuf:  make([]byte, 0, 256),
		workers: make(map[string]*worker),
	}
}

// Sample is one request as a load engine saw it: what Add reads from a
// vegeta result, without the header map. WorkerID is read only during
// AddSample (it may point into a connection's read buffer).
type Sample struct {
	Sent     time.Time     // when the request was sent
	Latency  time.Duration // from the intended send time in open loop
	Code     int           // status code; 0 when no response was received
	Err      string        // "" or the kind of failure (kept as a tally key)
	WorkerID []byte        // X-Worker-Id; empty when the response had none
	Pid      int           // X-Worker-Pid; 0 when the response had none
	NewConn  bool          // the first request sent on its connection
	At       time.Duration // when it completed, from the trial's start (the timeline's place)
}

// Add tallies one result as AddDone does, completed at r.Timestamp +
// r.Latency: for a result whose latency is as vegeta measured it.
func (a *Accumulator) Add(r *vegeta.Result) { a.AddDone(r, r.Timestamp.Add(r.Latency)) }

// AddDone tallies one result that completed at done. It uses r.Latency as
// the latency (the open-loop driver has already moved it to the intended
// send time, so r.Timestamp + r.Latency is not when it completed: done
// is, and places it on the timeline), r.Code, r.Error, r.Timestamp and
// r.Headers; it keeps no reference to r.
func (a *Accumulator) AddDone(r *vegeta.Result, done time.Time) {
	_, fresh := r.Headers[HeaderNewConn]
	pid := ParsePid(first(r.Headers[HeaderWorkerPid]))
	ok := a.success(int(r.Code))
	a.add(r.Timestamp, r.Latency, int(r.Code), ok, r.Error, fresh)
	if a.tl != nil {
		a.tl.add(done.Sub(a.tl.start), r.Latency, int(r.Code), r.Error, pid, ok)
	}
	if r.Code != 0 {
		a.addWorker(a.worker(first(r.Headers[HeaderWorkerID])), ok, fresh, r.Latency, pid)
	}
}

// AddSample tallies one sample. It does not allocate once every worker ID
// and error kind of the trial has been seen.
func (a *Accumulator) AddSample(s *Sample) {
	ok := a.success(s.Code)
	a.add(s.Sent, s.Latency, s.Code, ok, s.Err, s.NewConn)
	if a.tl != nil {
		a.tl.add(s.At, s.Latency, s.Code, s.Err, s.Pid, ok)
	}
	if s.Code == 0 {
		return // no response: no worker answered
	}
	w, seen := a.workers[string(s.WorkerID)] // no allocation: a lookup by converted bytes
	if !seen {
		w = a.worker(string(s.WorkerID))
	}
	a.addWorker(w, ok, s.NewConn, s.Latency, s.Pid)
}

// add tallies what every request has; ok is a.success(code), decided
// once per request by the caller.
func (a *Accumulator) add(sent time.Time, latency time.Duration, code int, ok bool, errKind string, fresh bool) {
	a.requests++
	_ = a.lat.RecordValue(clampLatency(latency)) // cannot fail: clamped into range
	if a.earliest.IsZero() || sent.Before(a.earliest) {
		a.earliest = sent
	}
	if sent.After(a.latest) {
		a.latest = sent
	}
	if ok {
		a.successes++
	}
	if code >= 0 && code < codeSlots-1 {
		a.codes[code]++
	} else {
		a.codes[codeSlots-1]++
	}
	if errKind != "" {
		a.addError(errKind)
	}
	if fresh {
		a.newConns++
	}
}

func (a *Accumulator) addWorker(w *worker, ok, fresh bool, latency time.Duration, pid int) {
	w.requests++
	if !ok {
		w.errors++
	}
	if fresh {
		w.conns++
	}
	_ = w.lat.RecordValue(clampLatency(latency))
	if pid > 0 {
		w.addPid(pid)
	}
}

// Merge adds everything b tallied to a (b is left unchanged): the
// accumulators of several connections or event loops become one trial.
// Histograms are added exactly, so a percentile of the merged accumulator
// is the percentile of all the requests.
func (a *Accumulator) Merge(b *Accumulator) {
	if b.requests == 0 {
		return
	}
	a.lat.Merge(b.lat)
	a.requests += b.requests
	a.successes += b.successes
	for i, n := range b.codes {
		a.codes[i] += n
	}
	for k, n := range b.errs {
		a.addErrorKind(k, *n)
	}
	a.newConns += b.newConns
	switch {
	case b.tl == nil:
	case a.tl == nil:
		a.tl = b.tl.clone()
	default:
		a.tl.merge(b.tl)
	}
	if !b.earliest.IsZero() && (a.earliest.IsZero() || b.earliest.Before(a.earliest)) {
		a.earliest = b.earliest
	}
	if b.latest.After(a.latest) {
		a.latest = b.latest
	}
	for id, bw := range b.workers {
		w := a.worker(id)
		w.requests += bw.requests
		w.errors += bw.errors
		w.conns += bw.conns
		w.lat.Merge(bw.lat)
		for _, p := range bw.pids[:bw.npids] {
			w.addPid(p)
		}
	}
}

// ParsePid returns the process id written in decimal in s (a string or a
// byte slice), or 0 when s is not a positive decimal number that fits an
// int. It does not allocate.
func ParsePid[S ~string | ~[]byte](s S) int {
	if len(s) == 0 || len(s) > 10 {
		return 0
	}
	pid := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		pid = pid*10 + int(c-'0')
	}
	return pid
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
	a.addErrorKind(string(a.errBuf), 1)
}

// addErrorKind adds n to the tally of an already normalised error kind;
// past MaxErrorKinds kinds, new ones go to OtherErrors.
func (a *Accumulator) addErrorKind(key string, n int64) {
	if c, ok := a.errs[key]; ok {
		*c += n
		return
	}
	if len(a.errs) >= MaxErrorKinds {
		key = OtherErrors
		if c, ok := a.errs[key]; ok {
			*c += n
			return
		}
	}
	c := new(int64) // only for a kind not seen before
	*c = n
	a.errs[key] = c
}

// Requests is the number of results added so far.
func (a *Accumulator) Requests() int64 { return a.requests }

// Successes is the number of successful responses added so far: 2xx, or
// the codes Expect named.
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

// NewLatencyHistogram returns an empty histogram of the shape every
// trial's latencies are recorded in: nanoseconds from 1µs to MaxLatency,
// 3 significant digits. Histograms of one shape merge without loss.
func NewLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, trialSigFigs)
}

// Histogram returns the trial's latency histogram itself (not a copy):
// the accumulator must not record more once it is handed on.
func (a *Accumulator) Histogram() *hdrhistogram.Histogram { return a.lat }

// Latency summarises the trial's latency histogram in milliseconds.
func (a *Accumulator) Latency() results.Latency { return LatencyOf(a.lat) }

// TrialsHistogram merges the latency histograms of trials into a new one
// of the trial shape (NewLatencyHistogram), leaving the trials as they
// are; n counts the trials that had a histogram (a run directory written
// before histograms were saved has none: then h is nil).
func TrialsHistogram(trials []results.Trial) (h *hdrhistogram.Histogram, n int) {
	for _, t := range trials {
		if t.Histogram == nil {
			continue
		}
		if h == nil {
			h = NewLatencyHistogram()
		}
		h.Merge(t.Histogram)
		n++
	}
	return h, n
}

// PooledHistogram merges the latency histograms of several accumulators
// into a new one.
func PooledHistogram(accs ...*Accumulator) *hdrhistogram.Histogram {
	h := NewLatencyHistogram()
	for _, a := range accs {
		h.Merge(a.lat) // same range and precision: nothing is dropped
	}
	return h
}

// LatencyOf summarises a latency histogram (nanoseconds) as a trial's
// Latency, in milliseconds: the figures of a trial pooled from several
// histograms (clusterbench merge) are those of all its requests.
func LatencyOf(h *hdrhistogram.Histogram) results.Latency {
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
