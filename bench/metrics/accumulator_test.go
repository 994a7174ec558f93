package metrics

import (
	"maps"
	"net/http"
	"reflect"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/results"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = []string{kv[i+1]}
	}
	return h
}

func res(code uint16, lat time.Duration, h http.Header, errMsg string) *vegeta.Result {
	return &vegeta.Result{Code: code, Latency: lat, Headers: h, Error: errMsg, Timestamp: time.Unix(1000, 0)}
}

func TestAccumulator(t *testing.T) {
	w0 := hdr(HeaderWorkerID, "0", HeaderWorkerPid, "100")
	w0new := hdr(HeaderWorkerID, "0", HeaderWorkerPid, "100", HeaderNewConn, "1")
	w1restarted := hdr(HeaderWorkerID, "1", HeaderWorkerPid, "201")
	w1 := hdr(HeaderWorkerID, "1", HeaderWorkerPid, "200", HeaderNewConn, "1")
	w10 := hdr(HeaderWorkerID, "10", HeaderWorkerPid, "300")
	tests := []struct {
		name        string
		in          []*vegeta.Result
		requests    int64
		successes   int64
		newConns    int64
		codes       map[string]int64
		errors      map[string]int64
		workers     []results.Worker
		wantLatency results.Latency
	}{
		{
			name:   "empty",
			codes:  map[string]int64{},
			errors: nil, workers: []results.Worker{},
		},
		{
			name: "workers, restarts, connections and errors",
			in: []*vegeta.Result{
				res(200, 1*time.Millisecond, w0new, ""),
				res(200, 1*time.Millisecond, w0, ""),
				res(200, 2*time.Millisecond, w1, ""),
				res(200, 2*time.Millisecond, w1restarted, ""),
				res(503, 3*time.Millisecond, hdr(), "503 Service Unavailable"),
				res(500, 4*time.Millisecond, w10, "500 Internal Server Error"),
				res(0, 5*time.Millisecond, nil, `Get "http://127.0.0.1:3000/": dial tcp 127.0.0.1:3000: connect: connection refused`),
				res(0, 5*time.Millisecond, nil, `Get "http://127.0.0.1:3000/": dial tcp 127.0.0.1:3000: connect: connection refused`),
			},
			requests: 8, successes: 4, newConns: 2,
			codes: map[string]int64{"0": 2, "200": 4, "500": 1, "503": 1},
			errors: map[string]int64{
				"503 Service Unavailable":                                        1,
				"500 Internal Server Error":                                      1,
				`Get "http://ADDR/": dial tcp ADDR: connect: connection refused`: 2,
			},
			workers: []results.Worker{
				{ID: "0", Pids: []int{100}, Requests: 2, Connections: 1, Share: 2.0 / 6, P50Ms: 1, P99Ms: 1},
				{ID: "1", Pids: []int{200, 201}, Requests: 2, Connections: 1, Share: 2.0 / 6, P50Ms: 2, P99Ms: 2},
				{ID: "10", Pids: []int{300}, Requests: 1, Share: 1.0 / 6, P50Ms: 4, P99Ms: 4, Errors: 1},
				{ID: "?", Pids: []int{}, Requests: 1, Share: 1.0 / 6, P50Ms: 3, P99Ms: 3, Errors: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New()
			for _, r := range tc.in {
				a.Add(r)
			}
			if a.Requests() != tc.requests || a.Successes() != tc.successes || a.NewConnections() != tc.newConns {
				t.Errorf("requests, successes, new conns = %d, %d, %d; want %d, %d, %d",
					a.Requests(), a.Successes(), a.NewConnections(), tc.requests, tc.successes, tc.newConns)
			}
			if got := a.StatusCodes(); !reflect.DeepEqual(got, tc.codes) {
				t.Errorf("status codes = %v, want %v", got, tc.codes)
			}
			if got := a.Errors(); !reflect.DeepEqual(got, tc.errors) {
				t.Errorf("errors = %v, want %v", got, tc.errors)
			}
			got := a.Workers()
			// per-worker percentiles are exact to 2 significant digits
			for i := range got {
				if i < len(tc.workers) {
					approx(t, "worker "+got[i].ID+" p50", got[i].P50Ms, tc.workers[i].P50Ms, 0.01)
					approx(t, "worker "+got[i].ID+" p99", got[i].P99Ms, tc.workers[i].P99Ms, 0.01)
					got[i].P50Ms, got[i].P99Ms = tc.workers[i].P50Ms, tc.workers[i].P99Ms
				}
			}
			if !reflect.DeepEqual(got, tc.workers) {
				t.Errorf("workers =\n%+v\nwant\n%+v", got, tc.workers)
			}
		})
	}
}

func approx(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	d := got - want
	if d < 0 {
		d = -d
	}
	if d > rel*want {
		t.Errorf("%s = %g, want %g ± %.1f%%", what, got, want, rel*100)
	}
}

func TestLatencyPercentiles(t *testing.T) {
	a := New()
	// 1..1000 ms, one each: p50 = 500, p90 = 900, p99 = 990, p99.9 = 999, max = 1000.
	for i := 1; i <= 1000; i++ {
		a.Add(res(200, time.Duration(i)*time.Millisecond, nil, ""))
	}
	l := a.Latency()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", l.P50Ms, 500}, {"p90", l.P90Ms, 900}, {"p99", l.P99Ms, 990},
		{"p99.9", l.P999Ms, 999}, {"max", l.MaxMs, 1000}, {"mean", l.MeanMs, 500.5},
	} {
		approx(t, c.name, c.got, c.want, 0.001) // 3 significant digits
	}
}

func TestLatencyClamped(t *testing.T) {
	a := New()
	a.Add(res(200, 0, nil, ""))
	a.Add(res(200, 2*MaxLatency, nil, ""))
	l := a.Latency()
	approx(t, "max", l.MaxMs, float64(MaxLatency/time.Millisecond), 0.001)
	if l.P50Ms <= 0 || l.P50Ms > 0.002 {
		t.Errorf("p50 = %gms, want the 1µs floor", l.P50Ms)
	}
}

func TestSentRate(t *testing.T) {
	a := New()
	t0 := time.Unix(1000, 0)
	for i := range 11 {
		r := res(200, time.Millisecond, nil, "")
		r.Timestamp = t0.Add(time.Duration(i) * 10 * time.Millisecond) // 100/s
		a.Add(r)
	}
	approx(t, "sent rate", a.SentRate(), 100, 1e-9)
	if New().SentRate() != 0 {
		t.Error("sent rate of an empty trial is not 0")
	}
}

func TestBoundedTallies(t *testing.T) {
	a := New()
	for i := range MaxWorkers + 10 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		a.Add(res(200, time.Millisecond, hdr(HeaderWorkerID, id), ""))
	}
	for i := range MaxErrorKinds + 5 {
		a.Add(res(0, time.Millisecond, nil, "error kind "+string(rune('A'+i))))
	}
	if n := len(a.Workers()); n != MaxWorkers+1 {
		t.Errorf("%d worker tallies, want %d (the cap plus %q)", n, MaxWorkers+1, OtherWorker)
	}
	errs := a.Errors()
	if len(errs) != MaxErrorKinds+1 || errs[OtherErrors] != 5 {
		t.Errorf("%d error kinds, %d under %q; want %d and 5", len(errs), errs[OtherErrors], OtherErrors, MaxErrorKinds+1)
	}
}

func TestAddDoesNotAllocate(t *testing.T) {
	a := New()
	ok := res(200, time.Millisecond, hdr(HeaderWorkerID, "3", HeaderWorkerPid, "4242", HeaderNewConn, "1"), "")
	bad := res(0, time.Millisecond, nil, "read tcp 127.0.0.1:40000->127.0.0.1:3000: read: connection reset by peer")
	bad2 := res(0, time.Millisecond, nil, "read tcp 127.0.0.1:40001->127.0.0.1:3000: read: connection reset by peer")
	a.Add(ok)
	a.Add(bad) // first sight of the worker and the error kind may allocate
	if n := testing.AllocsPerRun(1000, func() { a.Add(ok); a.Add(bad2) }); n != 0 {
		t.Errorf("Add allocates %v times per call once worker and error kind are known, want 0", n)
	}
}

func BenchmarkAccumulatorAdd(b *testing.B) {
	a := New()
	r := res(200, 800*time.Microsecond, hdr(HeaderWorkerID, "1", HeaderWorkerPid, "4242"), "")
	b.ReportAllocs()
	for b.Loop() {
		a.Add(r)
	}
}

func BenchmarkAccumulatorAddError(b *testing.B) {
	a := New()
	r := res(0, 800*time.Microsecond, nil, "read tcp 127.0.0.1:40000->127.0.0.1:3000: read: connection reset by peer")
	b.ReportAllocs()
	for b.Loop() {
		a.Add(r)
	}
}

// BenchmarkVegetaMetricsAdd is the reference: vegeta's own Metrics.Add
// (t-digest) on the same result, for the ratio in the docs.
func BenchmarkVegetaMetricsAdd(b *testing.B) {
	var m vegeta.Metrics
	r := res(200, 800*time.Microsecond, hdr(HeaderWorkerID, "1", HeaderWorkerPid, "4242"), "")
	b.ReportAllocs()
	for b.Loop() {
		m.Add(r)
	}
}

// TestPooledLatency: the latency of a trial measured in slices is that of
// their pooled histogram (LatencyOf(PooledHistogram(...))).
func TestPooledLatency(t *testing.T) {
	if got := LatencyOf(PooledHistogram()); got != (results.Latency{}) {
		t.Errorf("pooled nothing = %+v", got)
	}
	a := New()
	for i := range 50 {
		a.Add(&vegeta.Result{Code: 200, Latency: time.Duration(i+1) * time.Millisecond})
	}
	if got, want := LatencyOf(PooledHistogram(a)), a.Latency(); got != want {
		t.Errorf("pooled one = %+v, want its own %+v", got, want)
	}
}

// TestWorkerErrors: a worker's errors are its responses that are not
// successes, whichever way the sample came (AddSample, the lean engine's;
// Add, vegeta's), the first response of each worker included.
func TestWorkerErrors(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	lean, veg := New(), New()
	for i, c := range []struct {
		id   string
		code int
	}{{"0", 200}, {"1", 200}, {"0", 200}, {"1", 503}, {"1", 200}, {"0", 204}} {
		sent := t0.Add(time.Duration(i) * time.Millisecond)
		lean.AddSample(&Sample{Sent: sent, Latency: time.Millisecond, Code: c.code, WorkerID: []byte(c.id), Pid: 100, At: time.Duration(i) * time.Millisecond})
		veg.Add(&vegeta.Result{Timestamp: sent, Latency: time.Millisecond, Code: uint16(c.code),
			Headers: http.Header{HeaderWorkerID: {c.id}}})
	}
	for name, a := range map[string]*Accumulator{"AddSample": lean, "Add": veg} {
		got := map[string][2]int64{}
		for _, w := range a.Workers() {
			got[w.ID] = [2]int64{w.Requests, w.Errors}
		}
		if want := map[string][2]int64{"0": {3, 0}, "1": {3, 1}}; !maps.Equal(got, want) {
			t.Errorf("%s: workers {requests, errors} %v, want %v", name, got, want)
		}
	}
}
