package faults

import (
	"math"
	"reflect"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

// flat is a timeline of n 100ms buckets at rate ok/s, answered by pids.
func flat(n int, rate float64, pids ...int) *results.Timeline {
	tl := &results.Timeline{BucketMs: 100}
	for i := range n {
		tl.Buckets = append(tl.Buckets, results.TimelineBucket{StartMs: float64(i) * 100, OK: int64(rate / 10), OKPerS: rate, MaxMs: 2, Pids: pids})
	}
	for _, p := range pids {
		tl.FirstSeen = append(tl.FirstSeen, results.PidSeen{Pid: p, AtMs: 0})
	}
	return tl
}

func TestAnnotateKill(t *testing.T) {
	tl := flat(50, 1000, 11, 12) // 5s at 1000/s
	tl.Buckets[0].OKPerS = 300   // the ramp-up: not part of the baseline
	// kill at 3050ms: buckets 30..32 dip, failures in 30 and 31, a new
	// pid answers first at 3230ms
	tl.Buckets[30].OKPerS, tl.Buckets[30].Reset, tl.Buckets[30].MaxMs = 700, 3, 40
	tl.Buckets[31].OKPerS, tl.Buckets[31].Refused, tl.Buckets[31].MaxMs = 400, 2, 90
	tl.Buckets[32].OKPerS, tl.Buckets[32].MaxMs = 850, 30
	tl.Buckets[33].MaxMs = 5 // after the recovery: not the worst
	tl.Buckets[40].Timeout = 1
	tl.FirstSeen = append(tl.FirstSeen, results.PidSeen{Pid: 13, AtMs: 3230})
	evs := []results.FaultEvent{{Index: 0, Applied: true, AtMs: 3050, Pid: 12, WorkersBefore: []int{11, 12}}}
	Annotate(evs, tl, 5000)
	ev := evs[0]
	if ev.BaselineOKPerS != 1000 {
		t.Errorf("baseline %v, want 1000 (the ramp-up bucket left out)", ev.BaselineOKPerS)
	}
	if want := (results.Failures{Reset: 3, Refused: 2, Timeout: 1}); ev.Failed != want {
		t.Errorf("failed %+v, want %+v (every failure from the fault's bucket on)", ev.Failed, want)
	}
	if ev.RecoveryMs == nil || *ev.RecoveryMs != 250 {
		t.Errorf("recovery %v, want 250ms (bucket 33 starts at 3300ms)", ptr(ev.RecoveryMs))
	}
	if ev.WorstMs != 90 {
		t.Errorf("worst %v, want 90 (buckets 30..32)", ev.WorstMs)
	}
	if ev.ReplacementMs == nil || math.Abs(*ev.ReplacementMs-180) > 1e-9 || !reflect.DeepEqual(ev.NewPids, []int{13}) {
		t.Errorf("replacement %v new pids %v, want 180ms and [13]", ptr(ev.ReplacementMs), ev.NewPids)
	}
}

func TestAnnotateTwoFaults(t *testing.T) {
	tl := flat(60, 1000, 11, 12)
	// the first fault (1s) never recovers before the second (3s): the
	// second is measured against the first's baseline, and each counts
	// its own failures
	for k := 10; k < 60; k++ {
		tl.Buckets[k].OKPerS = 500
	}
	tl.Buckets[12].Reset = 4
	tl.Buckets[31].Closed = 2
	tl.FirstSeen = append(tl.FirstSeen, results.PidSeen{Pid: 20, AtMs: 3100})
	evs := []results.FaultEvent{
		{Index: 0, Applied: true, AtMs: 1000, Pid: 11, WorkersBefore: []int{11, 12}},
		{Index: 1, Applied: false, AtMs: 2000, Reason: "gone"},
		{Index: 2, Applied: true, AtMs: 3000, Pid: 100, WorkersBefore: []int{12, 13}},
	}
	Annotate(evs, tl, 6000)
	if evs[0].RecoveryMs != nil || evs[2].RecoveryMs != nil {
		t.Errorf("recoveries %v, %v; want none", ptr(evs[0].RecoveryMs), ptr(evs[2].RecoveryMs))
	}
	if evs[2].BaselineOKPerS != 1000 || evs[0].BaselineOKPerS != 1000 {
		t.Errorf("baselines %v, %v; want 1000 both", evs[0].BaselineOKPerS, evs[2].BaselineOKPerS)
	}
	if evs[0].Failed.Total() != 4 || evs[2].Failed.Total() != 2 || evs[1].Failed.Total() != 0 {
		t.Errorf("failed %d, %d, %d; want 4, 0 (not applied), 2", evs[0].Failed.Total(), evs[1].Failed.Total(), evs[2].Failed.Total())
	}
	if evs[0].ReplacementMs != nil || evs[2].ReplacementMs == nil || *evs[2].ReplacementMs != 100 {
		t.Errorf("replacements %v, %v; want none (pid 20 answered after the next fault), 100ms", ptr(evs[0].ReplacementMs), ptr(evs[2].ReplacementMs))
	}
}

func TestAnnotateNoDip(t *testing.T) {
	tl := flat(30, 1000, 7)
	evs := []results.FaultEvent{{Index: 0, Applied: true, AtMs: 1550, Pid: 1}} // a signal to a single-process server
	Annotate(evs, tl, 3000)
	if evs[0].RecoveryMs == nil || *evs[0].RecoveryMs != 0 || evs[0].ReplacementMs != nil {
		t.Errorf("recovery %v, replacement %v; want 0 and none (no workers before it)", ptr(evs[0].RecoveryMs), ptr(evs[0].ReplacementMs))
	}
}

// TestAnnotateNearEnd: a recovery must hold RecoveryHold buckets within
// the trial; a trial that ends before that can be seen is too late to
// tell, never "not recovered".
func TestAnnotateNearEnd(t *testing.T) {
	tests := []struct {
		name     string
		atMs     float64
		low      []int // buckets below 90% of the baseline
		recovery float64
		tooLate  bool // else, without a recovery: not recovered
	}{
		{"no dip, room to hold", 2550, nil, 0, false},
		{"dip, then held 3 buckets up to the end", 2550, []int{25, 26}, 150, false},
		{"rise cut by the end", 2550, []int{25, 26, 27}, -1, true},
		{"2 buckets left, no dip", 2850, nil, -1, true},
		{"fault in the last bucket", 2950, nil, -1, true},
		{"fault past the end", 3050, nil, -1, true},
		{"down to the end", 2050, []int{20, 21, 22, 23, 24, 25, 26, 27, 28, 29}, -1, false},
		{"one bucket up, then down at the end", 2050, []int{20, 21, 22, 23, 24, 25, 26, 27, 29}, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := flat(33, 1000, 11, 12) // 3s of trial, then buckets past its end
			for k := 30; k < 33; k++ {
				tl.Buckets[k].OKPerS = 0 // nothing sent after the end
			}
			for _, k := range tt.low {
				tl.Buckets[k].OKPerS = 500
			}
			evs := []results.FaultEvent{{Index: 0, Applied: true, AtMs: tt.atMs, Pid: 11, WorkersBefore: []int{11, 12}}}
			Annotate(evs, tl, 3000)
			ev := evs[0]
			switch {
			case tt.recovery >= 0 && (ev.RecoveryMs == nil || *ev.RecoveryMs != tt.recovery):
				t.Errorf("recovery %v, want %v", ptr(ev.RecoveryMs), tt.recovery)
			case tt.recovery < 0 && ev.RecoveryMs != nil:
				t.Errorf("recovery %v, want none", *ev.RecoveryMs)
			}
			if ev.TooLate != tt.tooLate {
				t.Errorf("too late %v, want %v", ev.TooLate, tt.tooLate)
			}
			s := Summarize([]results.Trial{{Server: "pf", Level: 1000, Trial: 1, Faults: evs}})[0]
			wantNot, wantLate := 0, 0
			switch {
			case tt.tooLate:
				wantLate = 1
			case tt.recovery < 0:
				wantNot = 1
			}
			if s.NotRecovered != wantNot || s.TooLate != wantLate {
				t.Errorf("summary: %d not recovered, %d too late; want %d, %d", s.NotRecovered, s.TooLate, wantNot, wantLate)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	rec := func(v float64) *float64 { return &v }
	trial := func(n int, cut bool, ev results.FaultEvent) results.Trial {
		return results.Trial{Server: "pf", Level: 1000, Trial: n, Cut: cut, Faults: []results.FaultEvent{ev}}
	}
	ts := []results.Trial{
		trial(1, false, results.FaultEvent{Index: 0, Name: "k", Applied: true, Failed: results.Failures{Reset: 2}, RecoveryMs: rec(100), ReplacementMs: rec(50)}),
		trial(2, false, results.FaultEvent{Index: 0, Name: "k", Applied: true, Failed: results.Failures{Reset: 4, Refused: 2}}),
		trial(3, false, results.FaultEvent{Index: 0, Name: "k", Reason: "gone"}),
		trial(4, true, results.FaultEvent{Index: 0, Name: "k", Applied: true, Failed: results.Failures{Reset: 100}}),
	}
	got := Summarize(ts)
	if len(got) != 1 {
		t.Fatalf("%d summaries, want 1", len(got))
	}
	s := got[0]
	if s.Trials != 3 || s.NotApplied != 1 || s.Failed.Median != 4 || s.Failed.N != 2 || s.Reset.Median != 3 {
		t.Errorf("summary %+v: want 3 trials (the cut one left out), 1 not applied, failed median 4 of 2, reset 3", s)
	}
	if s.RecoveryMs.N != 1 || s.RecoveryMs.Median != 100 || s.NotRecovered != 1 || s.ReplacementMs.Median != 50 || s.NotReplaced != 1 {
		t.Errorf("recovery %+v (not %d), replacement %+v (not %d); want 100 of 1, 1; 50 of 1, 1", s.RecoveryMs, s.NotRecovered, s.ReplacementMs, s.NotReplaced)
	}
}

func ptr(p *float64) any {
	if p == nil {
		return "none"
	}
	return *p
}
