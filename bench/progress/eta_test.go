package progress

import (
	"reflect"
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
		Warmup: time.Second, Duration: 2 * time.Second, Requests: 7},
		Calc: []scenario.Calc{{Name: "a", Tasks: 100, Trials: 3}, {Name: "b", Tasks: 5, Trials: 1}}}
	if got, want := PlanOf(sc), (Plan{Servers: 3, Levels: 2, Trials: 4, Warmup: time.Second, Duration: 2 * time.Second, Requests: 7,
		Calc: []CalcPlan{{Trials: 3, Tasks: 100}, {Trials: 1, Tasks: 5}}}); !reflect.DeepEqual(got, want) {
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
		est := Remaining(c.p, c.pos)
		if got, ok := est.Left, est.OK; ok && got != c.want || ok != c.ok || est.CalcUnknown {
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

// TestCalcPhases: the calc trials follow the load phases, round by round
// (every batch's trial 1, then the trial 2 of those that have one, …), as
// the runner interleaves them.
func TestCalcPhases(t *testing.T) {
	p := Plan{Servers: 1, Levels: 1, Trials: 2, Duration: time.Second, // load phases 0, 1
		Calc: []CalcPlan{{Trials: 2, Tasks: 10}, {Trials: 1, Tasks: 20}, {Trials: 3, Tasks: 30}}}
	if got := p.Phases(); got != 2+6 {
		t.Errorf("Phases() = %d, want 8", got)
	}
	want := []calcTrial{{0, 1}, {1, 1}, {2, 1}, {0, 2}, {2, 2}, {2, 3}}
	if got := p.calcOrder(); !reflect.DeepEqual(got, want) {
		t.Errorf("calcOrder() = %v, want %v", got, want)
	}
	for k, ct := range want {
		if got := p.calcPhase(ct.batch, ct.trial); got != 2+k {
			t.Errorf("calcPhase(%d, %d) = %d, want %d", ct.batch, ct.trial, got, 2+k)
		}
	}
	if got := p.calcPhase(1, 2); got != p.Phases() {
		t.Errorf("calcPhase of a trial not in the plan = %d, want Phases() = %d", got, p.Phases())
	}
}

// TestRemainingCalc checks the ETA of calc trials and of the runs of an
// invocation, on figures worked out by hand.
func TestRemainingCalc(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	// 1 server × 1 level × 2 trials of 5s (phases 0, 1); batch 0: 2 trials
	// of 1000 tasks, batch 1: 1 trial of 100 tasks. Calc phases: 2 = (0,1),
	// 3 = (1,1), 4 = (0,2).
	p := Plan{Servers: 1, Levels: 1, Trials: 2, Duration: 5 * s, Calc: []CalcPlan{{Trials: 2, Tasks: 1000}, {Trials: 1, Tasks: 100}}}
	for _, c := range []struct {
		name    string
		p       Plan
		pos     Position
		want    time.Duration
		unknown bool
	}{
		{"before anything, no calc trial seen: the load, the calc left out", p, Position{}, 10 * s, true},
		{"before anything, 1ms a task from an earlier run: 10s of load, 2100 tasks of 1ms",
			p, Position{TaskTime: ms}, 12100 * ms, false},
		{"the server done in 1s, batch 0's trial 1 at 500 tasks/s, 1.5s in: 0.5s of it; 100 tasks at 2ms (no rate of its own); 2s",
			p, Position{Phase: 2, InPhase: true, PhaseElapsed: 1500 * ms, ServersDone: 1, Overhead: s, CalcRates: []float64{500, 0}, TaskTime: 2 * ms},
			2500*ms + 200*ms, false},
		{"batch 0 ran at 500/s, batch 1 at 1000/s: 0.1s of batch 1, 2s of batch 0's trial 2",
			p, Position{Phase: 3, ServersDone: 1, Overhead: s, CalcRates: []float64{500, 1000}, TaskTime: ms}, 2100 * ms, false},
		{"batch 1 failed (its trial skipped): batch 0's trial 2 under way for 3s, longer than its estimate",
			p, Position{Phase: 4, InPhase: true, PhaseElapsed: 3 * s, ServersDone: 1, Overhead: s, CalcRates: []float64{500, 0}}, 0, false},
		{"request-bounded trials behind, no rate known: the calc is still estimated",
			Plan{Servers: 1, Levels: 1, Trials: 1, Duration: time.Hour, Requests: 10, Calc: []CalcPlan{{Trials: 1, Tasks: 10}}},
			Position{Phase: 1, ServersDone: 1, CalcRates: []float64{5}}, 2 * s, false},
		{"a run to come: 3s a server from earlier runs, for each of its 2 servers",
			Plan{Servers: 2, Levels: 1, Trials: 1, Duration: 4 * s}, Position{PerServer: 3 * s}, 14 * s, false},
		{"its first server busy 1s: 2s more for it, 3s for the second",
			Plan{Servers: 2, Levels: 1, Trials: 1, Duration: 4 * s}, Position{PerServer: 3 * s, ServerBusy: true, Current: s}, 13 * s, false},
	} {
		est := Remaining(c.p, c.pos)
		if !est.OK || est.Left != c.want || est.CalcUnknown != c.unknown {
			t.Errorf("%s: Remaining = %+v; want Left %s, OK, CalcUnknown %v", c.name, est, c.want, c.unknown)
		}
	}
	sum := Estimate{Left: 3 * s, OK: true}.Plus(Estimate{Left: 4 * s, OK: true, CalcUnknown: true})
	if sum != (Estimate{Left: 7 * s, OK: true, CalcUnknown: true}) {
		t.Errorf("Plus = %+v, want 7s, OK, calc unknown", sum)
	}
	if sum := (Estimate{Left: s, OK: true}).Plus(Estimate{}); sum.OK {
		t.Errorf("Plus of an unknown estimate = %+v, want not OK", sum)
	}
}
