package progress

import (
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/scenario"
)

func TestPlanPhases(t *testing.T) {
	warm := Plan{Servers: 2, Levels: 2, Trials: 3, Warmup: time.Second, Duration: 5 * time.Second}
	cold := warm
	cold.Warmup = 0
	ab := Plan{Servers: 1, Levels: 1, Trials: 6, Warmup: time.Second, Warmups: 4, Duration: time.Second}
	for _, c := range []struct {
		p              Plan
		phases         int
		first1         int    // first phase of server 1
		kinds          string // w: warm-up, t: trial, for the first phases
		warmupsOfLevel int
	}{
		// a level is [warm-up, trial 1, 2, 3]: 4 phases, 8 a server
		{warm, 16, 8, "wtttwtttwttt", 1},
		// [trial 1, 2, 3]
		{cold, 12, 6, "tttttt", 0},
		// ab: 4 warm-ups (one per server process), then 6 slices
		{ab, 10, 10, "wwwwtttttt", 4},
	} {
		if got := c.p.Phases(); got != c.phases {
			t.Errorf("%+v: Phases() = %d, want %d", c.p, got, c.phases)
		}
		if got := c.p.first(1); got != c.first1 {
			t.Errorf("%+v: first(1) = %d, want %d", c.p, got, c.first1)
		}
		var kinds strings.Builder
		for i := range len(c.kinds) {
			kinds.WriteString(map[bool]string{true: "w", false: "t"}[c.p.isWarmup(i)])
		}
		if kinds.String() != c.kinds {
			t.Errorf("%+v: phases %s, want %s", c.p, kinds.String(), c.kinds)
		}
		if got := c.p.warmups(); got != c.warmupsOfLevel {
			t.Errorf("%+v: warmups() = %d, want %d", c.p, got, c.warmupsOfLevel)
		}
	}
	sc := &scenario.Scenario{Servers: make([]scenario.Server, 3), Load: scenario.Load{Levels: []int{1, 2}, Trials: 4,
		Warmup: time.Second, Duration: 2 * time.Second, Requests: 7}}
	if got, want := PlanOf(sc), (Plan{Servers: 3, Levels: 2, Trials: 4, Warmup: time.Second, Duration: 2 * time.Second, Requests: 7}); got != want {
		t.Errorf("PlanOf = %+v, want %+v", got, want)
	}
}

// TestRemaining checks the ETA arithmetic on figures worked out by hand.
func TestRemaining(t *testing.T) {
	s := time.Second
	// 2 servers × 2 levels × (1s warm-up + 3 × 5s): 32s of load a server, 16 phases.
	p := Plan{Servers: 2, Levels: 2, Trials: 3, Warmup: s, Duration: 5 * s}
	// 1 server, 1 level, 2 trials of 1000 requests each.
	n := Plan{Servers: 1, Levels: 1, Trials: 2, Duration: time.Hour, Requests: 1000}
	nw := Plan{Servers: 1, Levels: 1, Trials: 1, Warmup: 2 * s, Duration: time.Hour, Requests: 500}
	for _, c := range []struct {
		name string
		p    Plan
		pos  Position
		want time.Duration
		ok   bool
	}{
		{"before anything: the load alone", p, Position{}, 64 * s, true},
		{"first server starting for 2s: the second is expected to take as long",
			p, Position{ServerBusy: true, Current: 2 * s}, 66 * s, true},
		{"2s into trial 1: 3s of it, 10s (trials 2, 3), 1s + 15s (level 2), 32s (server 2), 2s (its start)",
			p, Position{Phase: 1, InPhase: true, PhaseElapsed: 2 * s, ServerBusy: true, Current: 2 * s}, 63 * s, true},
		{"a phase that overran its length counts 0 left of it",
			p, Position{Phase: 15, InPhase: true, PhaseElapsed: 9 * s, ServersDone: 1, Overhead: 3 * s, ServerBusy: true, Current: s}, 2 * s, true},
		{"first server done in 3s of overhead: the second's 32s of load and 3s",
			p, Position{Phase: 8, ServersDone: 1, Overhead: 3 * s}, 35 * s, true},
		{"the second server starting for 5s, longer than the first took: nothing more for it",
			p, Position{Phase: 8, ServersDone: 1, Overhead: 3 * s, ServerBusy: true, Current: 5 * s}, 32 * s, true},
		{"all done", p, Position{Phase: 16, ServersDone: 2, Overhead: 6 * s}, 0, true},
		{"request-bounded, no rate yet: unknown", n, Position{InPhase: true, PhaseRequests: 10}, 0, false},
		{"request-bounded at 100/s, 400 of 1000 done: 6s, then 10s",
			n, Position{InPhase: true, PhaseElapsed: 4 * s, PhaseRequests: 400, Rate: 100, ServerBusy: true, Current: s}, 16 * s, true},
		{"request-bounded, more requests than asked (the last in flight): 0 left of it, then 10s",
			n, Position{InPhase: true, PhaseRequests: 1010, Rate: 100}, 10 * s, true},
		{"request-bounded with a warm-up by time: 1.5s of it, then 500 at 250/s",
			nw, Position{InPhase: true, PhaseElapsed: 500 * time.Millisecond, Rate: 250}, 3500 * time.Millisecond, true},
		{"ab: the 3rd of 4 warm-ups of 1s, half done, then 6 slices of 1s; 2s of start so far",
			Plan{Servers: 1, Levels: 1, Trials: 6, Warmup: s, Warmups: 4, Duration: s},
			Position{Phase: 2, InPhase: true, PhaseElapsed: s / 2, ServerBusy: true, Current: 2 * s}, 7500 * time.Millisecond, true},
		{"a rate so low the estimate saturates", n, Position{Rate: 1e-12}, time.Duration(1<<63 - 1), true},
	} {
		got, ok := Remaining(c.p, c.pos)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: Remaining = %s, %v; want %s, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "0:00",
		1499 * time.Millisecond: "0:01",
		1500 * time.Millisecond: "0:02",
		75 * time.Second:        "1:15",
		time.Hour + 2*time.Minute + 3*time.Second: "1:02:03",
		time.Duration(1<<63 - 1):                  ">99d",
	} {
		if got := clock(d); got != want {
			t.Errorf("clock(%s) = %q, want %q", d, got, want)
		}
	}
}
