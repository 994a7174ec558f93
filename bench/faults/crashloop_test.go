package faults

import (
	"math"
	"reflect"
	"testing"

	"github.com/clusterbench/clusterbench/bench/results"
)

// TestAnnotateCrashLoop: a crash loop's failures count from its first
// kill, its recovery and its replacement from its last; the pids it
// killed (which answered between kills) are not its replacement.
func TestAnnotateCrashLoop(t *testing.T) {
	tl := flat(50, 1000, 11, 12) // 5s at 1000/s
	// kills at 1020 (pid 12), 1130 (21), 1350 (22), 1760 (23); the rate
	// dips from bucket 10 to 19, failures in 10, 13 and 17
	for k := 10; k < 20; k++ {
		tl.Buckets[k].OKPerS = 600
		tl.Buckets[k].MaxMs = 20
	}
	tl.Buckets[15].MaxMs = 300
	tl.Buckets[10].Reset, tl.Buckets[13].Refused, tl.Buckets[17].Reset = 2, 1, 3
	tl.Buckets[20].MaxMs = 1500 // the first bucket back: the requests queued meanwhile complete
	tl.Buckets[21].MaxMs = 1900 // after it: not the worst
	// pids 21..23 answered between kills, 24 after the last
	tl.FirstSeen = append(tl.FirstSeen, results.PidSeen{Pid: 21, AtMs: 1100}, results.PidSeen{Pid: 22, AtMs: 1300},
		results.PidSeen{Pid: 23, AtMs: 1700}, results.PidSeen{Pid: 24, AtMs: 2610})
	ev := results.FaultEvent{Index: 0, Applied: true, AtMs: 1020, Pid: 12, WorkersBefore: []int{11, 12},
		Kills: 4, KillsAtMs: []float64{1020, 1130, 1350, 1760}, KilledPids: []int{12, 21, 22, 23}, RestartMs: []float64{3, 105, 210, 820}}
	evs := []results.FaultEvent{ev}
	Annotate(evs, tl, 5000)
	ev = evs[0]
	if ev.BaselineOKPerS != 1000 {
		t.Errorf("baseline %v, want 1000 (before the first kill)", ev.BaselineOKPerS)
	}
	if want := (results.Failures{Reset: 5, Refused: 1}); ev.Failed != want {
		t.Errorf("failed %+v, want %+v (from the first kill on)", ev.Failed, want)
	}
	if ev.RecoveryMs == nil || math.Abs(*ev.RecoveryMs-240) > 1e-9 {
		t.Errorf("recovery %v, want 240ms (bucket 20 starts 240ms after the last kill)", ptr(ev.RecoveryMs))
	}
	if ev.WorstMs != 1500 {
		t.Errorf("worst %v, want 1500 (from the first kill to the first bucket back)", ev.WorstMs)
	}
	if ev.ReplacementMs == nil || math.Abs(*ev.ReplacementMs-850) > 1e-9 || !reflect.DeepEqual(ev.NewPids, []int{24}) {
		t.Errorf("replacement %v new pids %v, want 850ms and [24] (the killed 21..23 left out)", ptr(ev.ReplacementMs), ev.NewPids)
	}
}

// TestAnnotateCrashLoopNoRecovery: a loop whose rate stays down after
// its last kill has not recovered, even though it was up again between
// the first and the last kill.
func TestAnnotateCrashLoopNoRecovery(t *testing.T) {
	tl := flat(40, 1000, 11, 12)
	for k := 25; k < 40; k++ {
		tl.Buckets[k].OKPerS = 500
	}
	evs := []results.FaultEvent{{Index: 0, Applied: true, AtMs: 1000, Pid: 12, WorkersBefore: []int{11, 12},
		Kills: 2, KillsAtMs: []float64{1000, 2500}, KilledPids: []int{12, 21}, RestartMs: []float64{4}, GaveUp: true}}
	Annotate(evs, tl, 4000)
	if evs[0].RecoveryMs != nil || evs[0].TooLate || evs[0].ReplacementMs != nil {
		t.Errorf("recovery %v, too late %v, replacement %v; want none, false, none", ptr(evs[0].RecoveryMs), evs[0].TooLate, ptr(evs[0].ReplacementMs))
	}
}

func TestSummarizeCrashLoop(t *testing.T) {
	exit := 40.0
	trial := func(n int, ev results.FaultEvent) results.Trial {
		ev.Index, ev.Name = 0, "crash loop 5× (random)"
		return results.Trial{Server: "pf", Level: 1000, Trial: n, Faults: []results.FaultEvent{ev}}
	}
	ts := []results.Trial{
		trial(1, results.FaultEvent{Applied: true, Kills: 5, RestartMs: []float64{2, 101, 203, 405, 810}}),
		trial(2, results.FaultEvent{Applied: true, Kills: 5, RestartMs: []float64{3, 99, 900, 402}}),
		trial(3, results.FaultEvent{Applied: true, Kills: 3, RestartMs: []float64{4, 98}, GaveUp: true, ExitMs: &exit, Reason: "stopped"}),
		trial(4, results.FaultEvent{Reason: "the server had exited"}),
	}
	s := Summarize(ts)[0]
	if s.Kills.Median != 5 || s.Kills.Min != 3 || s.Kills.N != 3 || s.NotApplied != 1 || s.GaveUp != 1 {
		t.Errorf("kills %+v, not applied %d, gave up %d; want median 5, min 3 of 3 trials, 1, 1", s.Kills, s.NotApplied, s.GaveUp)
	}
	if s.FirstRestartMs.Median != 3 || s.LastRestartMs.Median != 402 || s.MaxRestartMs.Median != 810 || s.MaxRestartMs.Max != 900 {
		t.Errorf("restarts first %+v last %+v max %+v; want medians 3, 402, 810 (max 900)", s.FirstRestartMs, s.LastRestartMs, s.MaxRestartMs)
	}
	if s.ExitMs.N != 1 || s.ExitMs.Median != 40 {
		t.Errorf("exit %+v, want 40 of 1", s.ExitMs)
	}
}
