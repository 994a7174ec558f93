package ab

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/load"
	"github.com/clusterbench/clusterbench/bench/metrics"
)

func TestCPUListAndAutoPin(t *testing.T) {
	allowed := []int{2, 3, 5}
	got, err := CPUList("2-3", allowed)
	if err != nil || !slices.Equal(got, []int{2, 3}) {
		t.Errorf("CPUList(2-3) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "3-2", "-1", "0", "2-5", "9999"} {
		if _, err := CPUList(bad, allowed); err == nil {
			t.Errorf("%q accepted (allowed %v)", bad, allowed)
		}
	}
	// A cpuset that does not start at 0 (a container's): the servers get
	// its first CPU, the generator the rest.
	if s, c := AutoPin(allowed); !slices.Equal(s, []int{2}) || !slices.Equal(c, []int{3, 5}) {
		t.Errorf("AutoPin(%v) = %v, %v", allowed, s, c)
	}
	if s, c := AutoPin([]int{1}); s != nil || c != nil {
		t.Errorf("AutoPin of one CPU = %v, %v; want nothing pinned", s, c)
	}
}

func TestConfigDefaults(t *testing.T) {
	ok := Config{Base: []string{"a"}, Head: []string{"b"}, Requests: []Request{{Path: "/"}}, Duration: time.Second}
	c := ok
	if err := c.defaults(); err != nil || c.Pairs != DefaultPairs || c.Rounds != DefaultRounds {
		t.Fatalf("defaults: %v %+v", err, c)
	}
	for name, mut := range map[string]func(*Config){
		"no base":     func(c *Config) { c.Base = nil },
		"no requests": func(c *Config) { c.Requests = nil },
		"pairs":       func(c *Config) { c.Pairs = 101 },
		"duration":    func(c *Config) { c.Duration = 0 },
		"slices":      func(c *Config) { c.Rounds = 40 }, // 25ms slices
	} {
		c := ok
		mut(&c)
		if err := c.defaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := AutoRounds(500 * time.Millisecond); got != 5 {
		t.Errorf("AutoRounds(500ms) = %d", got)
	}
	if got := AutoRounds(50 * time.Millisecond); got != 1 {
		t.Errorf("AutoRounds(50ms) = %d", got)
	}
}

func TestFailedTrialHasNoRequests(t *testing.T) {
	tr := &trial{arm: Head, n: 3, err: errFake}
	r := tr.result(Config{Level: 8})
	if r.Requests != 0 || r.Server != Head || r.Trial != 3 || r.Level != 8 {
		t.Errorf("failed trial = %+v", r)
	}
}

var errFake = fakeErr("server died")

type fakeErr string

func (e fakeErr) Error() string { return string(e) }

func TestServerArgvKeepsInput(t *testing.T) {
	in := []string{"x", "{addr}"}
	_ = ServerArgv(in, "127.0.0.1:1")
	if strings.Join(in, " ") != "x {addr}" {
		t.Errorf("ServerArgv modified its input: %q", in)
	}
}

// A trial measured in slices reports the percentiles of all its requests:
// one slow slice of three holds a third of the requests, so the pooled p99
// is slow, where the median of the slices' p99s would be fast.
func TestResultPoolsLatency(t *testing.T) {
	slice := func(lat time.Duration) *load.Outcome {
		o := &load.Outcome{Acc: metrics.New(), Wall: 100 * time.Millisecond, Mode: load.Closed, Level: 2}
		start := time.Unix(1, 0)
		for i := range 100 {
			o.Acc.Add(&vegeta.Result{Code: 200, Latency: lat, Timestamp: start.Add(time.Duration(i) * time.Millisecond)})
		}
		return o
	}
	tr := &trial{arm: Base, n: 1, slices: []*load.Outcome{slice(10 * time.Millisecond), slice(time.Millisecond), slice(time.Millisecond)}}
	r := tr.result(Config{Level: 2})
	near := func(got, want float64) bool { return math.Abs(got-want) <= want*0.01 }
	if r.Requests != 300 || !near(r.Latency.P50Ms, 1) || !near(r.Latency.P99Ms, 10) || !near(r.Latency.MaxMs, 10) || !near(r.Latency.MeanMs, 4) {
		t.Errorf("requests %d, latency %+v; want 300, p50 1ms, p99 10ms, max 10ms, mean 4ms", r.Requests, r.Latency)
	}
}
