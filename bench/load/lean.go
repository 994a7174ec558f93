package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// Sizes and bounds of the lean engine.
const (
	// ReadBuffer is the read buffer of a connection. A status or header
	// line longer than it is a malformed response; bodies of any length
	// are read through it and discarded.
	ReadBuffer = 16 << 10
	// DefaultMaxOpenConns bounds the connections an open-loop trial opens
	// when Config.MaxConns is 0: enough for 2,000 req/s against a server
	// that freezes for half a second, far fewer than vegeta's rate × timeout.
	DefaultMaxOpenConns = 4096
	// MaxScheduleLag is how far an open loop may fall behind its schedule.
	// A request whose send time is further in the past when a connection
	// is finally free is not sent but counted as dropped (Outcome.Dropped):
	// the run degrades by sending less, flagged as a rate shortfall, rather
	// than by piling up seconds of queueing of its own making.
	MaxScheduleLag = time.Second
	// checkEvery is how often timeouts and interruptions are checked.
	checkEvery = 10 * time.Millisecond
	// spinBelow: an event loop polls rather than sleeps when its next
	// send is due sooner than this.
	spinBelow = 20 * time.Microsecond
	// maxConnecting bounds an open loop's connects in progress per event
	// loop, and is how many connections it opens before its first send.
	maxConnecting = 16
)

// leanTrial is one trial of the lean engine: what every event loop or
// connection goroutine of the trial shares. Fields are set before the
// loops start and read-only after, except the atomics.
type leanTrial struct {
	cfg      Config
	ep       endpoint
	targets  []wireTarget
	sched    []int // the weighted order of targets
	began    time.Time
	end      time.Duration // stop sending at this offset from began
	timeout  time.Duration
	open     bool
	pacer    vegeta.Pacer // open loop
	maxConns int          // open loop: connections per trial
	stop     atomic.Bool  // interrupted or ended: drop what is in flight and return
	ended    atomic.Bool  // Config.End closed (stop is set too)
	dials    atomic.Int64
	dropped  atomic.Int64
	issued   atomic.Int64 // requests begun, against cfg.Requests
}

// newAcc returns an accumulator for one event loop or shard of the trial.
func (t *leanTrial) newAcc() *metrics.Accumulator {
	acc := metrics.New()
	acc.Expect(t.cfg.ExpectStatus)
	if t.cfg.Timeline {
		acc.EnableTimeline(t.began, timelineSpan(t.cfg))
	}
	return acc
}

// claim takes one request from the trial's count (Config.Requests); it
// reports false once the count is spent.
func (t *leanTrial) claim() bool {
	return t.cfg.Requests == 0 || t.issued.Add(1) <= t.cfg.Requests
}

// unclaim gives back a claimed request that was not sent after all.
func (t *leanTrial) unclaim() {
	if t.cfg.Requests != 0 {
		t.issued.Add(-1)
	}
}

// exhausted reports whether the request count is spent.
func (t *leanTrial) exhausted() bool {
	return t.cfg.Requests != 0 && t.issued.Load() >= t.cfg.Requests
}

func newLeanTrial(cfg Config, ep endpoint, targets []wireTarget, sched []int) *leanTrial {
	t := &leanTrial{cfg: cfg, ep: ep, targets: targets, sched: sched, end: cfg.Duration,
		timeout: cfg.Timeout, open: cfg.Mode == Open}
	if t.open {
		t.pacer = vegeta.ConstantPacer{Freq: cfg.Level, Per: time.Second}
		t.maxConns = cfg.MaxConns
		if t.maxConns == 0 {
			t.maxConns = int(min(math.Ceil(float64(cfg.Level)*cfg.Timeout.Seconds())+1, DefaultMaxOpenConns))
		}
	}
	return t
}

// since is the offset of now from the start of the trial (monotonic).
func (t *leanTrial) since() time.Duration { return time.Since(t.began) }

// pace is an open loop's schedule: which global hits a loop sends and when
// the next is due. Loop i of n sends hits i, i+n, i+2n, ... of the pacer's
// schedule, so n loops together send it exactly.
type pace struct {
	pacer  vegeta.Pacer
	hits   uint64        // global hits scheduled so far
	next   time.Duration // intended send time of hit number hits
	stride uint64
	offset uint64
	ended  bool
	end    time.Duration
}

func newPace(p vegeta.Pacer, end time.Duration, offset, stride int) *pace {
	ps := &pace{pacer: p, stride: uint64(stride), offset: uint64(offset), end: end}
	ps.advance(0)
	ps.skipOthers()
	return ps
}

// advance computes the intended time of hit ps.hits from the time of the
// previous hit: the pacer's wait from there.
func (ps *pace) advance(from time.Duration) {
	wait, stop := ps.pacer.Pace(from, ps.hits)
	ps.next = from + wait
	if stop || ps.next >= ps.end {
		ps.ended = true
	}
}

func (ps *pace) skipOthers() {
	for !ps.ended && ps.hits%ps.stride != ps.offset {
		ps.hits++
		ps.advance(ps.next)
	}
}

// take marks the due hit sent (or dropped) and schedules this loop's next.
func (ps *pace) take() {
	ps.hits++
	ps.advance(ps.next)
	ps.skipOthers()
}

// conn is the protocol state of one connection, shared by the event loop
// and the goroutine-per-connection engine: the read buffer, the response
// parser and the request in flight. It is owned by one goroutine.
type conn struct {
	buf    []byte
	r, w   int // unparsed bytes are buf[r:w]
	p      respParser
	cursor int // position in the trial's schedule
	tgt    *wireTarget
	sent   time.Duration // when the request in flight was written
	origin time.Duration // latency is measured from here: the intended send time
	got    bool          // a byte of the response in flight arrived
	fresh  bool          // no request has completed on this connection yet
	wpos   int           // bytes of the request written so far
}

// begin prepares the next request of the schedule, intended at origin.
func (c *conn) begin(t *leanTrial, now, origin time.Duration) {
	c.tgt = &t.targets[t.sched[c.cursor]]
	c.cursor++
	if c.cursor == len(t.sched) {
		c.cursor = 0
	}
	c.p.reset(c.tgt.head)
	c.sent, c.origin, c.got, c.wpos = now, origin, false, 0
}

// parse feeds the buffered bytes to the parser. It returns a failure kind
// for a malformed response; otherwise done reports whether the response
// is complete. Bytes after a complete response stay buffered.
func (c *conn) parse() (done bool, f failure) {
	n, f := c.p.feed(c.buf[c.r:c.w])
	c.r += n
	if f != "" {
		return false, f
	}
	if c.r == c.w { // everything parsed: the next read starts at the front
		c.r, c.w = 0, 0
	} else if c.w == len(c.buf) {
		if c.r == 0 {
			return false, failLineTooLong
		}
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	return c.p.done(), ""
}

// readFailure names how a read that ended the connection failed the
// request in flight: eof for an orderly close, reset for a reset.
func (c *conn) readFailure(reset bool) failure {
	switch {
	case reset && c.got:
		return failResetMid
	case reset:
		return failResetBefore
	case c.got:
		return failClosedMid
	}
	return failClosedBefore
}

// record adds the completed or failed request to acc.
func (c *conn) record(t *leanTrial, acc *metrics.Accumulator, now time.Duration, f failure) {
	s := metrics.Sample{Sent: t.began.Add(c.sent), Latency: now - c.origin, NewConn: c.fresh, At: now}
	if f == "" {
		s.Code, s.WorkerID, s.Pid = c.p.code, c.p.worker(), c.p.pid
	} else {
		s.Err = string(f)
	}
	acc.AddSample(&s)
	c.fresh = false
}

// reconnect resets the per-connection state for a new connection.
func (c *conn) reconnect() {
	if c.buf == nil {
		c.buf = make([]byte, ReadBuffer)
	}
	c.r, c.w, c.fresh = 0, 0, true
}

// shards are accumulators for the goroutine-per-connection engine: each
// connection adds to one of them under its lock, and they are merged when
// the trial ends.
type shards struct {
	s []shard
}

type shard struct {
	mu   sync.Mutex
	acc  *metrics.Accumulator
	live *liveSlot // Config.Live's count of this shard; nil = none
	_    [32]byte  // keep neighbouring locks off one cache line
}

func newShards(n int, t *leanTrial) *shards {
	s := &shards{s: make([]shard, n)}
	for i := range s.s {
		s.s[i].acc = t.newAcc()
	}
	return s
}

// runLean runs one trial on the lean engine.
func runLean(ctx context.Context, cfg Config) (*Outcome, error) {
	ep, targets, err := buildRequests(cfg.Targets, cfg.KeepAlive)
	if err != nil {
		return nil, err
	}
	sched, err := Schedule(cfg.Targets)
	if err != nil {
		return nil, err
	}
	t := newLeanTrial(cfg, ep, targets, sched)
	out := &Outcome{AllowedCPUs: metrics.AllowedCPUs(), Mode: cfg.Mode, Level: cfg.Level, Engine: EngineLean}
	var (
		stopAt  atomic.Int64
		watcher sync.WaitGroup
		done    = make(chan struct{})
	)
	cpu0, err := metrics.SelfCPU()
	if err != nil {
		return nil, err
	}
	sched0, schedErr := metrics.SelfSched()
	t.began = time.Now()
	if cfg.OnStart != nil {
		cfg.OnStart(t.began)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watcher.Add(1)
	go func() { // marks the interruption or the end; owned and waited by runLean
		defer watcher.Done()
		select {
		case <-ctx.Done():
		case <-cfg.End:
			t.ended.Store(true)
		case <-done:
			return
		}
		stopAt.Store(int64(t.since()))
		t.stop.Store(true)
		cancel() // the goroutine engine closes its connections on ctx
	}()
	acc, last, err := t.run(ctx)
	cpu1, _ := metrics.SelfCPU()
	if sched1, err := metrics.SelfSched(); err == nil && schedErr == nil {
		out.ClientWait = metrics.WorkWait(sched0, sched1)
	}
	close(done)
	watcher.Wait()
	if err != nil {
		return nil, err
	}
	out.Acc = acc
	out.Began, out.Wall = t.began, last
	out.Ended = t.ended.Load()
	out.Interrupted = t.stop.Load() && !out.Ended
	if t.stop.Load() {
		out.Wall = time.Duration(stopAt.Load())
	}
	out.ClientCPU = cpu1 - cpu0
	out.Dials = t.dials.Load()
	out.Dropped = t.dropped.Load()
	return out, nil
}

// loops is how many event loops or connection groups a trial uses: one
// per CPU the Go scheduler runs on, never more than the connections.
func loops(conns, procs int) int {
	return max(1, min(conns, procs))
}
