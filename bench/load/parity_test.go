package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
)

// TestEnginesAgree: against a server with a fixed service time, the lean
// engine and vegeta's attacker measure the same throughput (within 3%) and
// median latency (within 5%), and the lean engine's p99 is true to the
// server: never below the server's own p99 for the same requests (each
// request's latency at the client contains its time in the handler, so
// no quantile can be lower; 0.5% is left for the histogram's resolution),
// and not more than 5% above vegeta's (a client that adds its own delays,
// as the event loops did while they held every P in epoll_wait, fails
// here). Vegeta's p99 is the reference only from above: over the
// server's own p99 it added 0.6–3.6 ms here, the lean engine 0.5–1.8 ms.
// Trials are long against the service time: vegeta starts a request its
// pacer released before the end even when the connection frees after it,
// which lengthens its trial by up to a service time (1.3% here). The two
// run back to back, in turn first, and rounds are compared by the median
// of their ratios, so that one round a busy machine bent does not decide
// while a bias of either engine shows in every round. Only rounds in which
// the machine let the server keep its service time count (its own p99 of
// time.Sleep(40ms) within 10%, for both engines' requests): on a
// saturated machine the tail is the scheduler's, and the client with the
// larger CPU cost per request (vegeta) loses throughput to the
// starvation, not to a measuring error. Up to 5 rounds until 3 count;
// with fewer than 2 the test is skipped and says why.
func TestEnginesAgree(t *testing.T) {
	skipUnderRace(t)
	const service = 40 * time.Millisecond
	var mu sync.Mutex
	var slept []time.Duration
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		time.Sleep(service)
		d := time.Since(start)
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer s.Close()
	// measure runs one engine and returns its trial and the server's own
	// p99 for the requests of that trial.
	measure := func(engine string) (results.Trial, time.Duration) {
		mu.Lock()
		slept = slept[:0]
		mu.Unlock()
		out, err := Run(context.Background(), Config{
			Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 32,
			Duration: 3 * time.Second, KeepAlive: true, Engine: engine,
		})
		if err != nil {
			t.Fatal(err)
		}
		tr := out.Trial(engine, 1, 0)
		if tr.SuccessRatio != 1 {
			t.Fatalf("%s: success ratio %v, errors %v: want all answered", engine, tr.SuccessRatio, tr.Errors)
		}
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(slept)
		return tr, slept[len(slept)*99/100]
	}
	var rps, p50, p99 []float64
	var busy []string
	for round := 1; round <= 5 && len(rps) < 3; round++ {
		var l, v results.Trial
		var lOwn, vOwn time.Duration
		if round%2 == 1 { // neither competes with the other's goroutines for the test's CPUs
			l, lOwn = measure(EngineLean)
			v, vOwn = measure(EngineVegeta)
		} else {
			v, vOwn = measure(EngineVegeta)
			l, lOwn = measure(EngineLean)
		}
		t.Logf("round %d: lean %.1f req/s (%d in %.3fs) p50 %.3f p99 %.3f (server's own p99 %v); vegeta %.1f req/s (%d in %.3fs) p50 %.3f p99 %.3f (server's own p99 %v)", round,
			l.Throughput, l.Requests, l.DurationS, l.Latency.P50Ms, l.Latency.P99Ms, lOwn, v.Throughput, v.Requests, v.DurationS, v.Latency.P50Ms, v.Latency.P99Ms, vOwn)
		if own := max(lOwn, vOwn); own > service+service/10 {
			busy = append(busy, own.Round(time.Millisecond).String())
			continue
		}
		if ownMs := float64(lOwn) / float64(time.Millisecond); l.Latency.P99Ms < 0.995*ownMs {
			t.Errorf("round %d: lean p99 %.3f ms, below the server's own p99 %.3f ms for the same requests: the client cannot see less", round, l.Latency.P99Ms, ownMs)
		}
		rps = append(rps, l.Throughput/v.Throughput)
		p50 = append(p50, l.Latency.P50Ms/v.Latency.P50Ms)
		p99 = append(p99, l.Latency.P99Ms/v.Latency.P99Ms)
	}
	if len(rps) < 2 {
		t.Skipf("not compared: the machine was too busy for the server to keep its 40ms service time in %d of %d rounds (its own p99: %v)",
			len(busy), len(busy)+len(rps), busy)
	}
	for _, c := range []struct {
		name   string
		ratios []float64
		lo, hi float64
	}{{"req/s", rps, 0.97, 1.03}, {"p50", p50, 0.95, 1.05}, {"p99", p99, 0, 1.05}} {
		slices.Sort(c.ratios)
		if m := c.ratios[len(c.ratios)/2]; m < c.lo || m > c.hi {
			t.Errorf("%s: lean/vegeta median ratio %.3f (rounds %.3f): want %.2f to %.2f", c.name, m, c.ratios, c.lo, c.hi)
		}
	}
}

// TestCoordinatedOmission: a server that holds every request arriving in
// the first 500 ms of each 2 s period until the period's 500 ms mark,
// driven open loop: latency from the intended send time gives the exact
// distribution (a quarter of the requests wait 0–500 ms, uniformly), so
// p90 = 300 ms and p99 = 480 ms. Never less (a client that measured from
// its actual send, or skipped sends while the server was frozen, would
// report less): asserted always, to 5%. Not more than 5% above either when
// the machine let the server release its held requests on time (p99 of
// its own lateness within 10 ms); a saturated machine adds its own delay.
func TestCoordinatedOmission(t *testing.T) {
	skipUnderRace(t)
	const (
		period = 2 * time.Second
		freeze = 500 * time.Millisecond
	)
	var mu sync.Mutex
	var late []time.Duration
	t0 := time.Now()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if phase := time.Since(t0) % period; phase < freeze {
			release := time.Now().Add(freeze - phase)
			time.Sleep(freeze - phase)
			mu.Lock()
			late = append(late, time.Since(release))
			mu.Unlock()
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer s.Close()
	out, err := Run(context.Background(), Config{
		Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Open, Level: 400,
		Duration: 2 * period, KeepAlive: true, Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := out.Trial("s", 1, 0)
	if tr.SuccessRatio != 1 || out.Dropped != 0 {
		t.Fatalf("success ratio %v, errors %v, dropped %d: want every request answered", tr.SuccessRatio, tr.Errors, out.Dropped)
	}
	mu.Lock()
	slices.Sort(late)
	ownLate := late[len(late)*99/100]
	mu.Unlock()
	quiet := ownLate <= 10*time.Millisecond
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p90", tr.Latency.P90Ms, 300}, {"p99", tr.Latency.P99Ms, 480}} {
		if c.got < 0.95*c.want || (quiet && c.got > 1.05*c.want) {
			t.Errorf("%s %.1f ms, want %.0f ms ± 5%% (the server released its held requests late by %v at p99)", c.name, c.got, c.want, ownLate)
		}
	}
	t.Logf("requests %d, dials %d, p50 %.2f p90 %.1f p99 %.1f max %.1f ms; server's release lateness p99 %v (upper bound checked: %v)",
		tr.Requests, out.Dials, tr.Latency.P50Ms, tr.Latency.P90Ms, tr.Latency.P99Ms, tr.Latency.MaxMs, ownLate, quiet)
}

// skipUnderRace skips a timing comparison in the race-detector build:
// there the detector's own cost, not the engine, sets the tail latency.
// make test runs these tests again without -race.
func skipUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("timing comparison: runs in the build without -race (make test runs it there: go test -run 'TestEnginesAgree|TestCoordinatedOmission' ./bench/load)")
	}
}
