package load

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
)

// TestEnginesAgree: against a server with a fixed service time, the lean
// engine and vegeta's attacker measure the same throughput (within 3%) and
// latency (p50 and p99 within 5%). The two run at the same time against
// the same server, so whatever a busy machine does to the server's timing
// it does to both.
func TestEnginesAgree(t *testing.T) {
	skipUnderRace(t)
	const service = 40 * time.Millisecond
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(service)
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer s.Close()
	engines := []string{EngineLean, EngineVegeta}
	trials := make([]results.Trial, len(engines))
	errs := make([]error, len(engines))
	var wg sync.WaitGroup
	for i, engine := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := Run(context.Background(), Config{
				Targets: []Target{{URL: s.URL + "/", Weight: 1}}, Mode: Closed, Level: 32,
				Duration: 2 * time.Second, KeepAlive: true, Engine: engine,
			})
			if err != nil {
				errs[i] = err
				return
			}
			trials[i] = out.Trial(engine, 1, 0)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	l, v := trials[0], trials[1]
	if l.SuccessRatio != 1 || v.SuccessRatio != 1 {
		t.Fatalf("success ratios %v and %v, errors %v and %v: want all answered", l.SuccessRatio, v.SuccessRatio, l.Errors, v.Errors)
	}
	for _, c := range []struct {
		name      string
		lean, veg float64
		tolerance float64
	}{
		{"req/s", l.Throughput, v.Throughput, 0.03},
		{"p50", l.Latency.P50Ms, v.Latency.P50Ms, 0.05},
		{"p99", l.Latency.P99Ms, v.Latency.P99Ms, 0.05},
	} {
		if math.Abs(c.lean/c.veg-1) > c.tolerance {
			t.Errorf("%s: lean %.3f, vegeta %.3f: differ by more than %.0f%%", c.name, c.lean, c.veg, 100*c.tolerance)
		}
	}
	t.Logf("lean %.1f req/s p50 %.3f p99 %.3f; vegeta %.1f req/s p50 %.3f p99 %.3f",
		l.Throughput, l.Latency.P50Ms, l.Latency.P99Ms, v.Throughput, v.Latency.P50Ms, v.Latency.P99Ms)
}

// TestCoordinatedOmission: a server that holds every request arriving in
// the first 500 ms of each 2 s period until the period's 500 ms mark,
// driven open loop: latency from the intended send time gives the exact
// distribution (a quarter of the requests wait 0–500 ms, uniformly), so
// p90 = 300 ms and p99 = 480 ms, within 5%.
func TestCoordinatedOmission(t *testing.T) {
	skipUnderRace(t)
	const (
		period = 2 * time.Second
		freeze = 500 * time.Millisecond
	)
	t0 := time.Now()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if phase := time.Since(t0) % period; phase < freeze {
			time.Sleep(freeze - phase)
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
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p90", tr.Latency.P90Ms, 300}, {"p99", tr.Latency.P99Ms, 480}} {
		if math.Abs(c.got/c.want-1) > 0.05 {
			t.Errorf("%s %.1f ms, want %.0f ms ± 5%%", c.name, c.got, c.want)
		}
	}
	t.Logf("requests %d, dials %d, p50 %.2f p90 %.1f p99 %.1f max %.1f ms", tr.Requests, out.Dials,
		tr.Latency.P50Ms, tr.Latency.P90Ms, tr.Latency.P99Ms, tr.Latency.MaxMs)
}

// skipUnderRace skips a timing comparison in the race-detector build:
// there the detector's own cost, not the engine, sets the tail latency.
// make test runs these tests again without -race.
func skipUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("timing comparison: runs in the build without -race (make test runs it there: go test -run 'TestEnginesAgree|TestCoordinatedOmission' ./bench/load)")
	}
}
