package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

func TestSchedule(t *testing.T) {
	for _, c := range []struct {
		weights []int
		want    []int
	}{
		{[]int{1}, []int{0}},
		{[]int{1, 1}, []int{0, 1}},
		{[]int{3, 1}, []int{0, 0, 1, 0}},
		{[]int{2, 1, 1}, []int{0, 1, 2, 0}},
		{[]int{5, 2}, []int{0, 1, 0, 0, 0, 1, 0}},
	} {
		var ts []Target
		for _, w := range c.weights {
			ts = append(ts, Target{URL: "http://127.0.0.1:1/", Weight: w})
		}
		got, err := Schedule(ts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Schedule(weights %v) = %v, want %v", c.weights, got, c.want)
		}
	}
	for _, bad := range [][]Target{
		nil,
		{{URL: "http://x/", Weight: 0}},
		{{URL: "", Weight: 1}},
		{{URL: "http://x/", Weight: MaxTotalWeight}, {URL: "http://y/", Weight: 1}},
	} {
		if _, err := Schedule(bad); err == nil {
			t.Errorf("Schedule(%+v) succeeded, want an error", bad)
		}
	}
}

func TestTargeterFollowsSchedule(t *testing.T) {
	tr, err := NewTargeter([]Target{{URL: "http://a/", Weight: 3}, {Method: "POST", URL: "http://b/", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var tgt vegeta.Target
	for range 400 {
		if err := tr(&tgt); err != nil {
			t.Fatal(err)
		}
		counts[tgt.Method+" "+tgt.URL]++
	}
	want := map[string]int{"GET http://a/": 300, "POST http://b/": 100}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("400 targets: %v, want %v", counts, want)
	}
	if n := testing.AllocsPerRun(100, func() { _ = tr(&tgt) }); n != 0 {
		t.Errorf("targeter allocates %v per call, want 0", n)
	}
}

func TestFromIntended(t *testing.T) {
	began := time.Unix(100, 0)
	iv := 10 * time.Millisecond
	for _, c := range []struct {
		name    string
		seq     uint64
		sentAt  time.Duration // after began
		latency time.Duration
		want    time.Duration
	}{
		// vegeta schedules hit Seq=5 (the sixth) at 6 intervals = 60ms.
		{"on schedule", 5, 60 * time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond},
		{"picked up 30ms late", 5, 90 * time.Millisecond, 2 * time.Millisecond, 32 * time.Millisecond},
		{"picked up early", 5, 55 * time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond},
		{"first hit on schedule", 0, 10 * time.Millisecond, 1 * time.Millisecond, 1 * time.Millisecond},
	} {
		r := &vegeta.Result{Seq: c.seq, Timestamp: began.Add(c.sentAt), Latency: c.latency}
		if got := FromIntended(r, began, iv); got != c.want {
			t.Errorf("%s: FromIntended = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestOpenLoopShortfallFlag(t *testing.T) {
	for _, c := range []struct {
		sentPerSec int
		flagged    bool
	}{{100, false}, {96, false}, {90, true}, {50, true}} {
		o := &Outcome{Acc: metrics.New(), Mode: Open, Level: 100, Wall: time.Second, AllowedCPUs: 1}
		t0 := time.Unix(100, 0)
		for i := range c.sentPerSec + 1 {
			o.Acc.Add(&vegeta.Result{Code: 200, Latency: time.Millisecond, Timestamp: t0.Add(time.Duration(i) * time.Second / time.Duration(c.sentPerSec))})
		}
		tr := o.Trial("s", 1, 0)
		if tr.RateShortfall != c.flagged || tr.TargetRate != 100 {
			t.Errorf("asked 100/s, sent %d/s: achieved %.1f, shortfall %v; want shortfall %v",
				c.sentPerSec, tr.AchievedRate, tr.RateShortfall, c.flagged)
		}
	}
}

// server is a test server naming two workers by request parity and
// recording the peak number of requests in flight.
type server struct {
	*httptest.Server
	n, inflight, peak atomic.Int64
	block             func(n int64) bool // requests for which it returns true wait for release
	release           chan struct{}
	blocked           chan struct{}
	once              sync.Once
}

func newServer(t *testing.T, delay time.Duration, block func(int64) bool) *server {
	s := &server{block: block, release: make(chan struct{}), blocked: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.n.Add(1)
		in := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		for p := s.peak.Load(); in > p && !s.peak.CompareAndSwap(p, in); p = s.peak.Load() {
		}
		if s.block != nil && s.block(n) {
			s.once.Do(func() { close(s.blocked) })
			select {
			case <-s.release:
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		}
		time.Sleep(delay)
		w.Header().Set(metrics.HeaderWorkerID, strconv.FormatInt(n%2, 10))
		w.Header().Set(metrics.HeaderWorkerPid, "4242")
		_, _ = w.Write([]byte("hello\n"))
	}))
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

func TestClosedLoopKeepAlive(t *testing.T) {
	s := newServer(t, time.Millisecond, nil)
	out, err := Run(context.Background(), Config{
		Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 4,
		Duration: 300 * time.Millisecond, KeepAlive: true, Name: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Acc
	if a.Requests() == 0 || a.Successes() != a.Requests() {
		t.Fatalf("requests %d, successes %d: want some, all successful (errors %v)", a.Requests(), a.Successes(), a.Errors())
	}
	if p := s.peak.Load(); p > 4 {
		t.Errorf("peak in flight at the server %d, want ≤ 4 (closed loop of 4)", p)
	}
	if out.Dials != 4 || a.NewConnections() != 4 {
		t.Errorf("dials %d, new connections %d: want 4 and 4 with keep-alive", out.Dials, a.NewConnections())
	}
	tr := out.Trial("srv", 1, 0)
	var sum int64
	var conns int64
	for _, w := range tr.Workers {
		sum += w.Requests
		conns += w.Connections
		if !reflect.DeepEqual(w.Pids, []int{4242}) {
			t.Errorf("worker %s pids %v, want [4242]", w.ID, w.Pids)
		}
	}
	if len(tr.Workers) != 2 || sum != tr.Requests || conns != 4 {
		t.Errorf("workers %+v: want 2 workers summing to %d requests and 4 connections", tr.Workers, tr.Requests)
	}
	if tr.Throughput <= 0 || tr.DurationS < 0.3 || tr.Latency.P50Ms <= 0 {
		t.Errorf("trial %+v: want throughput > 0, duration ≥ 0.3s, p50 > 0", tr)
	}
}

func TestClosedLoopNoKeepAlive(t *testing.T) {
	s := newServer(t, 0, nil)
	out, err := Run(context.Background(), Config{
		Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 2,
		Duration: 200 * time.Millisecond, KeepAlive: false,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Acc
	if a.Requests() < 2 || a.NewConnections() != a.Requests() || out.Dials != a.Requests() {
		t.Errorf("requests %d, new connections %d, dials %d: without keep-alive every request opens a connection of its own",
			a.Requests(), a.NewConnections(), out.Dials)
	}
}

func TestOpenLoop(t *testing.T) {
	s := newServer(t, 0, nil)
	out, err := Run(context.Background(), Config{
		Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Open, Level: 100,
		Duration: 500 * time.Millisecond, KeepAlive: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := out.Trial("srv", 1, 0)
	// 100/s for 0.5s: vegeta sends hits 0..50 on schedule (at most 51).
	if tr.Requests < 10 || tr.Requests > 51 || tr.TargetRate != 100 {
		t.Errorf("open loop 100/s for 0.5s sent %d requests (target %v), want 10..51", tr.Requests, tr.TargetRate)
	}
}

func TestInterruptKeepsWhatWasMeasured(t *testing.T) {
	s := newServer(t, 0, func(n int64) bool { return n > 20 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.blocked
		cancel()
	}()
	start := time.Now()
	out, err := Run(ctx, Config{
		Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 2,
		Duration: time.Minute, Timeout: time.Minute, KeepAlive: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Run took %v after the interruption; in-flight requests should be cut at once", took)
	}
	a := out.Acc
	if !out.Interrupted || a.Requests() < 18 || a.Requests() > 20 || a.Errors() != nil {
		t.Errorf("interrupted %v, requests %d, errors %v: want true, the 18..20 answered before, no errors",
			out.Interrupted, a.Requests(), a.Errors())
	}
}

func TestConfigErrors(t *testing.T) {
	good := Config{Targets: []Target{{URL: "http://127.0.0.1:1/", Weight: 1}}, Mode: Closed, Level: 1, Duration: time.Second}
	for _, mut := range []func(*Config){
		func(c *Config) { c.Targets = nil },
		func(c *Config) { c.Mode = "sideways" },
		func(c *Config) { c.Level = 0 },
		func(c *Config) { c.Duration = 0 },
		func(c *Config) { c.Timeout = -1 },
	} {
		c := good
		mut(&c)
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v) succeeded, want an error", c)
		}
	}
}

func TestClientBound(t *testing.T) {
	for _, c := range []struct {
		cpu, wait time.Duration
		cpus      int
		bound     bool
	}{
		{300 * time.Millisecond, 0, 1, false},
		{900 * time.Millisecond, 0, 1, true},
		{300 * time.Millisecond, 600 * time.Millisecond, 1, true}, // starved: wanted 90%
		{300 * time.Millisecond, 400 * time.Millisecond, 1, false},
		{900 * time.Millisecond, 0, 2, false}, // half of two CPUs
	} {
		o := &Outcome{Acc: metrics.New(), Mode: Closed, Level: 1, Wall: time.Second, AllowedCPUs: c.cpus, ClientCPU: c.cpu, ClientWait: c.wait}
		if tr := o.Trial("s", 1, 0); tr.ClientBound != c.bound {
			t.Errorf("cpu %v wait %v on %d CPUs: client bound %v, want %v", c.cpu, c.wait, c.cpus, tr.ClientBound, c.bound)
		}
	}
}

// TestDroppedIsAShortfall: requests an open loop dropped count against
// its achieved rate, wherever in the trial they fell.
func TestDroppedIsAShortfall(t *testing.T) {
	o := &Outcome{Acc: metrics.New(), Mode: Open, Level: 100, Wall: time.Second, AllowedCPUs: 1, Dropped: 50}
	t0 := time.Now()
	for i := range 50 { // 50 sent evenly at 100/s: the span alone looks on time
		o.Acc.Add(&vegeta.Result{Code: 200, Latency: time.Millisecond, Timestamp: t0.Add(time.Duration(i) * 10 * time.Millisecond)})
	}
	tr := o.Trial("s", 1, 0)
	if !tr.RateShortfall || tr.Dropped != 50 || tr.AchievedRate > 51 {
		t.Errorf("achieved %.1f/s, shortfall %v, dropped %d: want about 50/s, flagged, 50", tr.AchievedRate, tr.RateShortfall, tr.Dropped)
	}
}

// TestEndIsNotACut: closing Config.End ends the trial at once, like an
// interruption, but the trial is not cut; the timeline it recorded has
// the answers, placed from the instant OnStart was given.
func TestEndIsNotACut(t *testing.T) {
	for _, engine := range []string{EngineLean, "goroutines", EngineVegeta} {
		t.Run(engine, func(t *testing.T) {
			goroutines := engine == "goroutines"
			if goroutines {
				engine = EngineLean
			}
			s := newServer(t, 0, func(n int64) bool { return n > 20 })
			end := make(chan struct{})
			go func() {
				<-s.blocked
				close(end)
			}()
			var began time.Time
			out, err := Run(context.Background(), Config{
				Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 2, Engine: engine,
				Duration: time.Minute, Timeout: time.Minute, KeepAlive: true, Timeline: true, End: end,
				OnStart: func(t time.Time) { began = t }, goroutines: goroutines,
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.Interrupted || !out.Ended || !out.Began.Equal(began) || began.IsZero() {
				t.Errorf("interrupted %v, ended %v, began %v (OnStart %v): want false, true, the same instant",
					out.Interrupted, out.Ended, out.Began, began)
			}
			tl := out.Acc.Timeline()
			if tl == nil {
				t.Fatal("no timeline")
			}
			var ok int64
			for _, b := range tl.Buckets {
				ok += b.OK
			}
			if ok != out.Acc.Successes() || ok < 18 {
				t.Errorf("timeline has %d successes, the trial %d: want the same, at least 18", ok, out.Acc.Successes())
			}
		})
	}
}

// TestRecordPlacesAtCompletion: on the open-loop vegeta path a result
// sent late counts its latency from its intended send time, yet stays on
// the timeline where it completed, not at its timestamp plus that
// corrected latency (which would be after it completed).
func TestRecordPlacesAtCompletion(t *testing.T) {
	began := time.Unix(1000, 0)
	const iv = 100 * time.Millisecond
	acc := metrics.New()
	acc.EnableTimeline(began, 2*time.Second)
	// hit 0 was meant for 100ms, sent at 350ms, answered in 10ms: done at 360ms
	res := &vegeta.Result{Seq: 0, Code: 200, Timestamp: began.Add(350 * time.Millisecond), Latency: 10 * time.Millisecond}
	record(acc, nil, res, began, iv)
	if res.Latency != 260*time.Millisecond {
		t.Fatalf("latency %v, want 260ms (from the intended send time)", res.Latency)
	}
	tl := acc.Timeline()
	for i, b := range tl.Buckets {
		want := int64(0)
		if i == 3 { // 300-400ms: where it completed; timestamp + 260ms would be bucket 6
			want = 1
		}
		if b.OK != want {
			t.Errorf("bucket %d (%gms) has %d successes, want %d", i, b.StartMs, b.OK, want)
		}
	}
}
