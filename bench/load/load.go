package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Load modes (the same words as bench/scenario).
const (
	Closed = "closed"
	Open   = "open"
)

// Engines: how requests are sent.
const (
	// EngineLean is the default: this package's HTTP/1.1 client on raw
	// connections (an epoll event loop on Linux for http, a goroutine per
	// connection for https and on other systems), zero allocations per
	// request, never retrying.
	EngineLean = "lean"
	// EngineVegeta is vegeta's Attacker over net/http, kept as a
	// cross-check (and for HTTP/2). Note that net/http retries an
	// idempotent request that failed on a reused connection.
	EngineVegeta = "vegeta"
)

// Defaults and bounds.
const (
	DefaultTimeout = 5 * time.Second
	// MaxRequestsPerSecond bounds the request count of a trial at this rate
	// times its duration: far above what a loopback server answers, it only
	// guards against a runaway loop.
	MaxRequestsPerSecond = 1_000_000
)

// Config is one trial. Targets, Mode, Level and Duration are required.
type Config struct {
	Targets   []Target
	Mode      string        // Closed or Open
	Level     int           // concurrency (closed) or requests per second (open), ≥ 1
	Duration  time.Duration // > 0
	KeepAlive bool
	Timeout   time.Duration // per request; 0 means DefaultTimeout
	Name      string        // attack name, sent as X-Vegeta-Attack
	Engine    string        // EngineLean (default when "") or EngineVegeta
	// MaxConns bounds the connections of an open-loop trial on the lean
	// engine; 0 means rate × timeout, at most DefaultMaxOpenConns.
	MaxConns int
	// Requests stops the trial after this many requests (0: no limit);
	// Duration still bounds it.
	Requests int64
	// ExpectStatus lists the status codes that count as successes; nil
	// means 2xx.
	ExpectStatus []int
	// Insecure skips the verification of the server's TLS certificate.
	Insecure bool
	// Live, when set, counts the trial's requests and errors while it
	// runs, for a progress display; nil costs nothing.
	Live *Live
	// Timeline records the trial's timeline (Outcome.Acc.Timeline):
	// metrics.TimelineBucket buckets by completion time from the start.
	Timeline bool
	// OnStart, when set, is called once as the trial begins, with the
	// instant its timeline and every offset of it count from
	// (Outcome.Began).
	OnStart func(began time.Time)
	// End, when closed, ends the trial at once, as an interruption does,
	// but the trial is not marked cut (Outcome.Ended): a fault scenario
	// ends a trial when the server it drained has exited. Requests in
	// flight then are not recorded.
	End <-chan struct{}

	goroutines bool // tests: the goroutine-per-connection engine for http too
}

// Outcome is what one trial measured.
type Outcome struct {
	Acc         *metrics.Accumulator
	Began       time.Time     // when the attack started
	Wall        time.Duration // from the start of the attack to its last result (or the interruption)
	ClientCPU   time.Duration // this process's CPU time over Wall
	ClientWait  time.Duration // time its working threads waited, runnable, for a CPU (metrics.WorkWait)
	AllowedCPUs int           // CPUs this process could use
	Dials       int64         // TCP connections the generator opened
	Interrupted bool          // ctx was cancelled: the trial was cut short
	Ended       bool          // Config.End was closed: the trial ended early (not cut)
	// Dropped counts open-loop requests the lean engine did not send: by
	// the time a connection was free they were MaxScheduleLag late.
	Dropped int64
	Engine  string // the engine that ran the trial
	Mode    string
	Level   int
}

func (c *Config) validate() error {
	switch {
	case len(c.Targets) == 0:
		return errors.New("load: no targets")
	case c.Mode != Closed && c.Mode != Open:
		return fmt.Errorf("load: mode %q (allowed: %s, %s)", c.Mode, Closed, Open)
	case c.Level < 1:
		return fmt.Errorf("load: level %d (allowed: ≥ 1)", c.Level)
	case c.Duration <= 0:
		return fmt.Errorf("load: duration %s (allowed: > 0)", c.Duration)
	case c.Timeout < 0:
		return fmt.Errorf("load: timeout %s (allowed: ≥ 0)", c.Timeout)
	case c.Requests < 0:
		return fmt.Errorf("load: requests %d (allowed: ≥ 0)", c.Requests)
	case c.MaxConns < 0:
		return fmt.Errorf("load: max connections %d (allowed: ≥ 0)", c.MaxConns)
	case c.Engine != "" && c.Engine != EngineLean && c.Engine != EngineVegeta:
		return fmt.Errorf("load: engine %q (allowed: %s, %s)", c.Engine, EngineLean, EngineVegeta)
	}
	return nil
}

// Run performs one trial and returns what it measured. An error means the
// trial could not be set up; failed requests are measured, not errors.
func Run(ctx context.Context, cfg Config) (*Outcome, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Engine == EngineVegeta {
		return runVegeta(ctx, cfg)
	}
	return runLean(ctx, cfg)
}

// runVegeta runs one trial on vegeta's Attacker.
func runVegeta(ctx context.Context, cfg Config) (*Outcome, error) {
	tr, err := NewTargeter(cfg.Targets)
	if err != nil {
		return nil, err
	}
	conns := newConnTracker()
	client := newClient(conns, cfg)
	opts := []func(*vegeta.Attacker){
		// Client first: vegeta.Client replaces the attacker's whole
		// http.Client, so options set before it (proxy, timeout, body
		// limit) would be discarded. Keep-alive is set on our transport
		// itself: vegeta's KeepAlive(false) would also swap our dialer
		// (which tracks connections) for its own.
		vegeta.Client(client),
		vegeta.Proxy(nil), // vegeta's default honours HTTP_PROXY: never route loopback load through a proxy
		vegeta.MaxBody(0), // keep no body bytes in results (vegeta keeps every body by default); they are still read and counted
		vegeta.Timeout(cfg.Timeout),
	}
	var pacer vegeta.Pacer
	var interval time.Duration
	if cfg.Mode == Closed {
		n := uint64(cfg.Level)
		opts = append(opts, vegeta.Workers(n), vegeta.MaxWorkers(n))
		pacer = vegeta.Rate{Freq: 0}
	} else {
		interval = time.Second / time.Duration(cfg.Level)
		maxWorkers := uint64(math.Ceil(float64(cfg.Level)*cfg.Timeout.Seconds())) + 1
		opts = append(opts, vegeta.Workers(min(uint64(vegeta.DefaultWorkers), maxWorkers)), vegeta.MaxWorkers(maxWorkers))
		pacer = vegeta.Rate{Freq: cfg.Level, Per: time.Second}
	}
	maxHits := uint64(math.Ceil(cfg.Duration.Seconds()*MaxRequestsPerSecond)) + 1
	if cfg.Requests > 0 {
		maxHits = min(maxHits, uint64(cfg.Requests))
	}
	atk := vegeta.NewAttacker(opts...)

	out := &Outcome{Acc: metrics.New(), AllowedCPUs: metrics.AllowedCPUs(), Mode: cfg.Mode, Level: cfg.Level, Engine: EngineVegeta}
	out.Acc.Expect(cfg.ExpectStatus)
	live := slot(cfg.Live.begin(1), 0)
	var (
		interrupted atomic.Bool
		ended       atomic.Bool
		stopAt      atomic.Int64 // unix ns of the interruption
		watcher     sync.WaitGroup
		done        = make(chan struct{})
	)
	watcher.Add(1)
	go func() { // stops the attack on cancellation; owned and waited by Run
		defer watcher.Done()
		select {
		case <-ctx.Done():
			stopAt.Store(time.Now().UnixNano())
			interrupted.Store(true)
			atk.Stop()
			conns.closeAll() // cut in-flight requests now, not after Timeout
		case <-cfg.End:
			stopAt.Store(time.Now().UnixNano())
			ended.Store(true)
			interrupted.Store(true) // results from here on are not recorded
			atk.Stop()
			conns.closeAll()
		case <-done:
		}
	}()

	cpu0, err := metrics.SelfCPU()
	if err != nil {
		close(done)
		watcher.Wait()
		return nil, err
	}
	sched0, schedErr := metrics.SelfSched()
	began := time.Now()
	if cfg.Timeline {
		out.Acc.EnableTimeline(began, timelineSpan(cfg))
	}
	if cfg.OnStart != nil {
		cfg.OnStart(began)
	}
	for res := range atk.Attack(tr, &boundedPacer{Pacer: pacer, max: maxHits}, cfg.Duration, cfg.Name) {
		if interrupted.Load() {
			continue // cut short by the interruption: not a measurement
		}
		record(out.Acc, conns, res, began, interval)
		live.publish(out.Acc)
	}
	end := time.Now()
	cpu1, _ := metrics.SelfCPU()
	if sched1, err := metrics.SelfSched(); err == nil && schedErr == nil {
		out.ClientWait = metrics.WorkWait(sched0, sched1)
	}
	close(done)
	watcher.Wait()
	out.Ended = ended.Load()
	out.Interrupted = interrupted.Load() && !out.Ended
	if interrupted.Load() {
		end = time.Unix(0, stopAt.Load())
	}
	out.Began, out.Wall = began, end.Sub(began)
	out.ClientCPU = cpu1 - cpu0
	out.Dials = conns.dials.Load()
	client.CloseIdleConnections()
	return out, nil
}

// timelineSpan is how long after a trial's start its requests may
// complete: its duration, a request's timeout, and the open loop's lag.
func timelineSpan(cfg Config) time.Duration {
	return cfg.Duration + cfg.Timeout + MaxScheduleLag
}

// record tallies one vegeta result in acc. In open loop (interval > 0)
// its latency counts from its intended send time (FromIntended); its
// place on the timeline stays when it completed, taken before that
// correction moves the latency.
func record(acc *metrics.Accumulator, conns *connTracker, res *vegeta.Result, began time.Time, interval time.Duration) {
	done := res.Timestamp.Add(res.Latency)
	if interval > 0 {
		res.Latency = FromIntended(res, began, interval)
	}
	if conns != nil && conns.FirstOnConn(res.Seq) {
		markNewConn(res)
	}
	acc.AddDone(res, done)
}

// FromIntended returns the latency of an open-loop result measured from
// its intended send time, began + (Seq+1) × interval (vegeta's constant
// pacer schedules hit k, counted from 0, at (k+1) intervals), rather than from the
// moment a worker picked it up: a hit that waited for a free worker or for
// the pacer to catch up counts that wait. It never returns less than
// res.Latency.
func FromIntended(res *vegeta.Result, began time.Time, interval time.Duration) time.Duration {
	intended := began.Add(time.Duration(res.Seq+1) * interval)
	if d := res.Timestamp.Add(res.Latency).Sub(intended); d > res.Latency {
		return d
	}
	return res.Latency
}

// boundedPacer stops the attack after max hits, whatever the inner pacer says.
type boundedPacer struct {
	vegeta.Pacer
	max uint64
}

func (p *boundedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.max {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

// Trial turns the outcome into a results.Trial of the given server and
// 1-based trial number. Server CPU is left to the caller; Fairness is over
// the workers that answered.
func (o *Outcome) Trial(server string, trial, expectedWorkers int) results.Trial {
	a := o.Acc
	t := results.Trial{
		Server:      server,
		Level:       o.Level,
		Trial:       trial,
		DurationS:   o.Wall.Seconds(),
		Requests:    a.Requests(),
		Successes:   a.Successes(),
		Latency:     a.Latency(),
		Histogram:   a.Histogram(),
		StatusCodes: a.StatusCodes(),
		Errors:      a.Errors(),
		Workers:     a.Workers(),
		ClientCPUS:  o.ClientCPU.Seconds(),
		Dropped:     o.Dropped,
		Cut:         o.Interrupted,
	}
	if t.Requests > 0 {
		t.SuccessRatio = float64(t.Successes) / float64(t.Requests)
	}
	t.ClientWaitS = o.ClientWait.Seconds()
	if o.Wall > 0 {
		t.Throughput = float64(t.Successes) / o.Wall.Seconds()
		cpus := float64(max(o.AllowedCPUs, 1))
		t.ClientCPUUtil = o.ClientCPU.Seconds() / o.Wall.Seconds() / cpus
		t.ClientBound = (o.ClientCPU+o.ClientWait).Seconds()/o.Wall.Seconds()/cpus >= metrics.ClientBoundUtil
	}
	if h := t.Histogram; h != nil && !o.Began.IsZero() {
		h.SetStartTimeMs(o.Began.UnixMilli())
		h.SetEndTimeMs(o.Began.Add(o.Wall).UnixMilli())
	}
	t.Fairness = metrics.WorkerFairness(t.Workers, expectedWorkers)
	if o.Mode == Open {
		t.TargetRate = float64(o.Level)
		t.AchievedRate = a.SentRate()
		if o.Dropped > 0 && t.Requests > 0 {
			// the span of sends does not see requests dropped at either
			// end: scale by the share actually sent
			t.AchievedRate *= float64(t.Requests) / float64(t.Requests+o.Dropped)
		}
		t.RateShortfall = metrics.RateShortfall(t.TargetRate, t.AchievedRate)
	} else if o.Wall > 0 {
		t.AchievedRate = float64(t.Requests) / o.Wall.Seconds()
	}
	return t
}
