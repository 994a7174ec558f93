package faults

import (
	"cmp"
	"math"
	"slices"

	"github.com/clusterbench/clusterbench/bench/metrics"
	"github.com/clusterbench/clusterbench/bench/results"
)

// Recovery criteria: throughput is back once RecoveryHold consecutive
// buckets each have at least RecoveryShare of the median rate before the
// fault. A trial that ends before that could be seen (fewer buckets left
// after the fault, or a rise cut by the end) is too late to tell
// (FaultEvent.TooLate), never "not recovered".
const (
	RecoveryShare = 0.9
	RecoveryHold  = 3
)

// Annotate fills the timeline figures of a trial's fault events (applied
// ones; evs in plan order) from tl. durationMs is how long the trial sent
// requests (its duration, or less when a drain ended it): buckets past it
// are left out of the rates, kept for the failures.
//
// Per fault, bucket fb holds its time. The baseline is the median rate of
// the buckets before fb, from the second bucket of the trial (the first
// holds the ramp-up) or from where the previous fault's recovery ended.
// Failures are counted from fb up to the next applied fault's bucket.
// A fault after which the server exited (a drain, ExitMs) has no recovery.
// A crash loop's recovery, worst latency and replacement count from its
// last kill (its failures and baseline from its first, AtMs).
func Annotate(evs []results.FaultEvent, tl *results.Timeline, durationMs float64) {
	if tl == nil || tl.BucketMs <= 0 {
		return
	}
	order := make([]int, 0, len(evs))
	for i, ev := range evs {
		if ev.Applied {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(evs[a].AtMs, evs[b].AtMs) })
	w := tl.BucketMs
	full := min(int(durationMs/w), len(tl.Buckets)) // buckets [0, full) lie within the trial
	from := 1                                       // where the next baseline starts; -1: reuse the last
	baseline := 0.0
	for n, i := range order {
		ev := &evs[i]
		fb := int(ev.AtMs / w)
		next, until := len(tl.Buckets), math.Inf(1)
		if n+1 < len(order) {
			until = evs[order[n+1]].AtMs
			next = max(fb+1, int(until/w))
		}
		ev.Failed = failures(tl.Buckets, fb, next)
		if from >= 0 {
			var rates []float64
			for k := from; k < min(fb, full); k++ {
				rates = append(rates, tl.Buckets[k].OKPerS)
			}
			if len(rates) > 0 { // else the last baseline (0 before the first)
				baseline = metrics.Median(rates)
			}
		}
		ev.BaselineOKPerS = baseline
		last := lastAction(ev)
		lb := max(fb, int(last/w))
		rec := -1 // the bucket from which the rate held
		ev.TooLate = false
		if baseline > 0 && ev.ExitMs == nil { // a drained server does not recover
			end := min(full, next)
			rec = recovered(tl.Buckets, lb, end, RecoveryShare*baseline)
			// only the trial's end cuts short what a later bucket would tell;
			// the next fault's does not (not recovered before it)
			ev.TooLate = rec < 0 && end == full && undecided(tl.Buckets, lb, end, RecoveryShare*baseline)
		}
		worstTo := next
		if rec >= 0 {
			d := math.Max(0, float64(rec)*w-last)
			ev.RecoveryMs = &d
			worstTo = max(rec+1, lb+1) // the first bucket back holds the backlog's completions
			from = max(rec, lb+1)
		} else {
			from = -1 // not recovered: the next fault is measured against the same baseline
		}
		ev.WorstMs = 0
		for k := fb; k < min(worstTo, len(tl.Buckets)); k++ {
			ev.WorstMs = math.Max(ev.WorstMs, tl.Buckets[k].MaxMs)
		}
		replacement(ev, tl, until)
	}
}

// failures adds up the failures of buckets [from, to).
func failures(bs []results.TimelineBucket, from, to int) results.Failures {
	var f results.Failures
	for k := max(from, 0); k < min(to, len(bs)); k++ {
		b := bs[k]
		f.Refused += b.Refused
		f.Reset += b.Reset
		f.Closed += b.Closed
		f.Timeout += b.Timeout
		f.Status5xx += b.Status5xx
		f.Other += b.Other
	}
	return f
}

// recovered returns the first bucket k in [fb, end) from which
// RecoveryHold buckets, all before end, each have a rate of at least
// floor; -1 when none.
func recovered(bs []results.TimelineBucket, fb, end int, floor float64) int {
	end = min(end, len(bs))
	for k := max(fb, 0); k+RecoveryHold <= end; k++ {
		held := true
		for j := k; j < k+RecoveryHold; j++ {
			if bs[j].OKPerS < floor {
				held = false
				break
			}
		}
		if held {
			return k
		}
	}
	return -1
}

// undecided reports whether buckets [fb, end), in which no recovery
// held, leave it open: fewer than RecoveryHold of them, or a run of
// buckets at floor or above that end cuts before it held.
func undecided(bs []results.TimelineBucket, fb, end int, floor float64) bool {
	end = min(end, len(bs))
	if end-max(fb, 0) < RecoveryHold {
		return true
	}
	return bs[end-1].OKPerS >= floor
}

// lastAction is when the fault's last action happened: a crash loop's
// last kill, else AtMs.
func lastAction(ev *results.FaultEvent) float64 {
	if n := len(ev.KillsAtMs); n > 0 {
		return ev.KillsAtMs[n-1]
	}
	return ev.AtMs
}

// replacement finds the worker pids that first answered after the fault
// (and before the next one) and were not among the server's workers just
// before it: the replacements of a killed worker or of a rolling restart;
// for a crash loop, those after its last kill that it did not kill.
func replacement(ev *results.FaultEvent, tl *results.Timeline, until float64) {
	ev.ReplacementMs, ev.NewPids = nil, nil
	if len(ev.WorkersBefore) == 0 {
		return // no workers to replace (a single-process server)
	}
	last := lastAction(ev)
	for _, s := range tl.FirstSeen {
		if s.AtMs < last || s.AtMs >= until || slices.Contains(ev.WorkersBefore, s.Pid) || s.Pid == ev.Pid || slices.Contains(ev.KilledPids, s.Pid) {
			continue
		}
		if ev.ReplacementMs == nil {
			d := s.AtMs - last
			ev.ReplacementMs = &d
		}
		ev.NewPids = append(ev.NewPids, s.Pid)
	}
}
