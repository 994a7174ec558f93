package metrics

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/bench/results"
)

// Bounds of a timeline.
const (
	// TimelineBucket is the width of a timeline's buckets, unless the
	// trial is so long that MaxTimelineBuckets of it would not cover it
	// (then the width is the smallest multiple of it that does).
	TimelineBucket = 100 * time.Millisecond
	// MaxTimelineBuckets bounds a timeline's buckets (about 1 KiB each).
	MaxTimelineBuckets = 1200
	// TimelinePids is how many distinct worker pids a bucket keeps.
	TimelinePids = 16
	// TimelineFirstSeen is how many worker pids a timeline keeps the
	// first answer of.
	TimelineFirstSeen = 64
)

// The latency histogram of a bucket: log-scale bins, latSub per octave,
// from 2^latMinOctave ns (about 1µs; below falls in bin 0) to 2^(latMinOctave+latOctaves) ns
// (about 69s; above falls in the last bin). A bin's upper edge is at most
// 1/8 above any value in it.
const (
	latSubBits   = 3
	latSub       = 1 << latSubBits
	latMinOctave = 10
	latOctaves   = 26
	latBins      = latOctaves*latSub + 1
)

// Kinds of failed request a timeline counts.
const (
	failRefused = iota
	failReset
	failClosed
	failTimeout
	fail5xx
	failOther
	failKinds
)

type tlBucket struct {
	ok    uint32
	fail  [failKinds]uint32
	lat   [latBins]uint32
	pids  [TimelinePids]int32
	npids uint8
	more  bool
}

type pidSeen struct {
	pid int32
	at  time.Duration
}

// timeline tallies a trial by completion time. It is part of an
// Accumulator and shares its owner.
type timeline struct {
	start    time.Time // the trial's start: Add's results are placed from it
	width    time.Duration
	buckets  []tlBucket
	seen     [TimelineFirstSeen]pidSeen
	nseen    int
	seenFull bool
}

// EnableTimeline makes the accumulator also tally a timeline of the trial
// that began at start and whose requests complete within span of it: per
// bucket of completion time, successes, failures by kind, a coarse
// latency histogram and the worker pids that answered. Call it before the
// first Add; it allocates the buckets once, so that Add and AddSample
// still do not allocate. A sample's place is Sample.At; a vegeta result's
// is the completion time given to AddDone (for Add, its timestamp plus
// its latency), from start.
func (a *Accumulator) EnableTimeline(start time.Time, span time.Duration) {
	n := int((span+TimelineBucket-1)/TimelineBucket) + 2
	width := TimelineBucket
	if n > MaxTimelineBuckets {
		per := span / (MaxTimelineBuckets - 2)
		width = (per/TimelineBucket + 1) * TimelineBucket
		n = int((span+width-1)/width) + 2
	}
	a.tl = &timeline{start: start, width: width, buckets: make([]tlBucket, n)}
}

// add places one request completed at offset at.
func (tl *timeline) add(at, latency time.Duration, code int, err string, pid int, ok bool) {
	i := 0
	if at > 0 {
		i = min(int(at/tl.width), len(tl.buckets)-1)
	}
	b := &tl.buckets[i]
	switch {
	case ok:
		b.ok++
		b.lat[latBin(int64(latency))]++
	default:
		b.fail[failKind(code, err)]++
	}
	if pid > 0 && code != 0 {
		tl.answered(b, int32(pid), at)
	}
}

// answered notes that pid answered in bucket b, at offset at.
func (tl *timeline) answered(b *tlBucket, pid int32, at time.Duration) {
	if b.addPid(pid) {
		tl.firstSeen(pid, at)
	}
}

func (tl *timeline) firstSeen(pid int32, at time.Duration) {
	for i := range tl.seen[:tl.nseen] {
		if s := &tl.seen[i]; s.pid == pid {
			s.at = min(s.at, at)
			return
		}
	}
	if tl.nseen < len(tl.seen) {
		tl.seen[tl.nseen] = pidSeen{pid, at}
		tl.nseen++
		return
	}
	tl.seenFull = true
}

// failKind sorts a failed request: by its error when it has one (a
// lean-engine failure or a Go error message), else by its status code.
func failKind(code int, err string) int {
	switch {
	case err == "":
		if code >= 500 && code < 600 {
			return fail5xx
		}
		return failOther
	case strings.Contains(err, "refused"):
		return failRefused
	case strings.Contains(err, "reset"), strings.Contains(err, "broken pipe"):
		return failReset
	case strings.Contains(err, "timeout"), strings.Contains(err, "Timeout"), strings.Contains(err, "deadline exceeded"):
		return failTimeout
	case strings.Contains(err, "closed"), strings.Contains(err, "EOF"):
		return failClosed
	}
	return failOther
}

func latBin(ns int64) int {
	if ns < 1<<latMinOctave {
		return 0
	}
	o := bits.Len64(uint64(ns)) - 1
	if o >= latMinOctave+latOctaves {
		return latBins - 1
	}
	sub := int(ns>>(o-latSubBits)) & (latSub - 1)
	return 1 + (o-latMinOctave)*latSub + sub
}

// latUpper is the upper edge of bin i, in ns.
func latUpper(i int) int64 {
	if i == 0 {
		return 1 << latMinOctave
	}
	i--
	o := latMinOctave + i/latSub
	return int64(latSub+i%latSub+1) << (o - latSubBits)
}

// merge adds b's tallies to tl (same start and bucket width: the
// accumulators of one trial).
func (tl *timeline) merge(b *timeline) {
	if len(b.buckets) > len(tl.buckets) {
		tl.buckets = append(tl.buckets, make([]tlBucket, len(b.buckets)-len(tl.buckets))...)
	}
	for i := range b.buckets {
		x, y := &tl.buckets[i], &b.buckets[i]
		x.ok += y.ok
		for k := range x.fail {
			x.fail[k] += y.fail[k]
		}
		for k := range x.lat {
			x.lat[k] += y.lat[k]
		}
		for _, p := range y.pids[:y.npids] {
			x.addPid(p)
		}
		x.more = x.more || y.more
	}
	for _, s := range b.seen[:b.nseen] {
		tl.firstSeen(s.pid, s.at)
	}
	tl.seenFull = tl.seenFull || b.seenFull
}

// addPid notes pid among the bucket's pids, or marks the bucket as having
// more than it keeps; it reports false when pid was already noted.
func (b *tlBucket) addPid(pid int32) bool {
	if slices.Contains(b.pids[:b.npids], pid) {
		return false
	}
	if int(b.npids) < len(b.pids) {
		b.pids[b.npids] = pid
		b.npids++
	} else {
		b.more = true
	}
	return true
}

func (tl *timeline) clone() *timeline {
	c := *tl
	c.buckets = slices.Clone(tl.buckets)
	return &c
}

// quantile is the upper edge, in ms, of the bin that holds quantile q
// (0..1) of the bucket's successful latencies; 0 with none.
func (b *tlBucket) quantile(q float64) float64 {
	if b.ok == 0 {
		return 0
	}
	rank := uint64(q*float64(b.ok) + 0.999999)
	rank = max(rank, 1)
	var sum uint64
	for i, n := range b.lat {
		sum += uint64(n)
		if sum >= rank {
			return ms(latUpper(i))
		}
	}
	return ms(latUpper(latBins - 1))
}

func (b *tlBucket) maxMs() float64 {
	for i := latBins - 1; i >= 0; i-- {
		if b.lat[i] > 0 {
			return ms(latUpper(i))
		}
	}
	return 0
}

// Timeline returns the trial's timeline up to its last non-empty bucket,
// or nil when EnableTimeline was not called.
func (a *Accumulator) Timeline() *results.Timeline {
	tl := a.tl
	if tl == nil {
		return nil
	}
	last := -1
	for i := range tl.buckets {
		b := &tl.buckets[i]
		if b.ok > 0 || b.npids > 0 || b.fail != [failKinds]uint32{} {
			last = i
		}
	}
	w := tl.width.Seconds()
	out := &results.Timeline{BucketMs: ms(int64(tl.width)), Buckets: make([]results.TimelineBucket, last+1),
		FirstSeen: make([]results.PidSeen, tl.nseen), FirstSeenFull: tl.seenFull}
	for i := range out.Buckets {
		b := &tl.buckets[i]
		rb := results.TimelineBucket{
			StartMs: ms(int64(i) * int64(tl.width)), OK: int64(b.ok), OKPerS: float64(b.ok) / w,
			Refused: int64(b.fail[failRefused]), Reset: int64(b.fail[failReset]), Closed: int64(b.fail[failClosed]),
			Timeout: int64(b.fail[failTimeout]), Status5xx: int64(b.fail[fail5xx]), Other: int64(b.fail[failOther]),
			P50Ms: b.quantile(0.50), P99Ms: b.quantile(0.99), MaxMs: b.maxMs(),
			Pids: make([]int, b.npids), MorePids: b.more,
		}
		for k, p := range b.pids[:b.npids] {
			rb.Pids[k] = int(p)
		}
		slices.Sort(rb.Pids)
		out.Buckets[i] = rb
	}
	for i, s := range tl.seen[:tl.nseen] {
		out.FirstSeen[i] = results.PidSeen{Pid: int(s.pid), AtMs: ms(int64(s.at))}
	}
	slices.SortFunc(out.FirstSeen, func(x, y results.PidSeen) int {
		return cmp.Or(cmp.Compare(x.AtMs, y.AtMs), cmp.Compare(x.Pid, y.Pid))
	})
	return out
}
