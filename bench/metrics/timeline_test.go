package metrics

import (
	"reflect"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/clusterbench/clusterbench/bench/results"
)

func TestLatBin(t *testing.T) {
	// every value lies in its bin: above the previous bin's upper edge,
	// at most its own, and the edge is at most 1/8 above the value
	for _, ns := range []int64{1024, 1025, 1151, 1152, 1279, 1280, 2047, 2048, 999_999, 1_000_000, 5e9, 60e9} {
		i := latBin(ns)
		up := latUpper(i)
		if ns >= up || (i > 0 && ns < latUpper(i-1)) {
			t.Errorf("latBin(%d) = %d with edges (%d, %d]", ns, i, latUpper(i-1), up)
		}
		if float64(up) > float64(ns)*1.125+1 {
			t.Errorf("latBin(%d): upper edge %d is more than 1/8 above", ns, up)
		}
	}
	if latBin(10) != 0 || latBin(1<<40) != latBins-1 {
		t.Errorf("latBin(10) = %d, latBin(2^40) = %d; want 0 and %d", latBin(10), latBin(1<<40), latBins-1)
	}
}

func TestFailKind(t *testing.T) {
	tests := []struct {
		code int
		err  string
		want int
	}{
		{503, "", fail5xx},
		{404, "", failOther},
		{0, "connection refused", failRefused},
		{0, "dial tcp ADDR: connect: connection refused", failRefused},
		{0, "connection reset before any response byte", failReset},
		{0, "connection reset mid-response", failReset},
		{0, "connection closed before any response byte", failClosed},
		{0, "EOF", failClosed},
		{0, "timeout", failTimeout},
		{0, "Get \"http://x\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", failTimeout},
		{0, "malformed response: status line", failOther},
	}
	for _, tt := range tests {
		if got := failKind(tt.code, tt.err); got != tt.want {
			t.Errorf("failKind(%d, %q) = %d, want %d", tt.code, tt.err, got, tt.want)
		}
	}
}

// sample is a lean-engine sample completed at offset at.
func sample(at time.Duration, code int, err string, pid int, lat time.Duration) *Sample {
	return &Sample{At: at, Code: code, Err: err, Pid: pid, Latency: lat, WorkerID: []byte("0")}
}

func TestTimeline(t *testing.T) {
	start := time.Unix(1000, 0)
	a, b := New(), New()
	a.EnableTimeline(start, time.Second)
	b.EnableTimeline(start, time.Second)
	for i := range 10 {
		a.AddSample(sample(time.Duration(i)*time.Millisecond, 200, "", 11, time.Millisecond))
	}
	a.AddSample(sample(120*time.Millisecond, 0, "connection reset mid-response", 0, time.Millisecond))
	b.AddSample(sample(150*time.Millisecond, 503, "", 12, 3*time.Millisecond))
	b.AddSample(sample(250*time.Millisecond, 200, "", 12, 40*time.Millisecond))
	b.AddSample(sample(230*time.Millisecond, 0, "connection refused", 0, time.Millisecond))
	a.Merge(b)
	got := a.Timeline()
	if got.BucketMs != 100 || len(got.Buckets) != 3 {
		t.Fatalf("timeline of %d buckets of %vms, want 3 of 100ms: %+v", len(got.Buckets), got.BucketMs, got)
	}
	b0, b1, b2 := got.Buckets[0], got.Buckets[1], got.Buckets[2]
	if b0.OK != 10 || b0.OKPerS != 100 || b0.Failed() != 0 || !reflect.DeepEqual(b0.Pids, []int{11}) {
		t.Errorf("bucket 0 = %+v, want 10 ok (100/s) from pid 11", b0)
	}
	if b0.P50Ms < 1 || b0.P50Ms > 1.125 || b0.P99Ms != b0.P50Ms {
		t.Errorf("bucket 0 p50 %v p99 %v, want both the bin of 1ms (1..1.125)", b0.P50Ms, b0.P99Ms)
	}
	if b1.OK != 0 || b1.Reset != 1 || b1.Status5xx != 1 || b1.Failed() != 2 || !reflect.DeepEqual(b1.Pids, []int{12}) {
		t.Errorf("bucket 1 = %+v, want a reset and a 503 from pid 12", b1)
	}
	if b2.OK != 1 || b2.Refused != 1 || b2.MaxMs < 40 || b2.MaxMs > 45 {
		t.Errorf("bucket 2 = %+v, want 1 ok of 40ms and 1 refused", b2)
	}
	want := []results.PidSeen{{Pid: 11, AtMs: 0}, {Pid: 12, AtMs: 150}}
	if !reflect.DeepEqual(got.FirstSeen, want) {
		t.Errorf("first seen %+v, want %+v", got.FirstSeen, want)
	}
	if New().Timeline() != nil {
		t.Error("an accumulator without EnableTimeline has a timeline")
	}
}

func TestTimelineBounds(t *testing.T) {
	a := New()
	a.EnableTimeline(time.Now(), time.Hour)
	if n := len(a.tl.buckets); n > MaxTimelineBuckets || a.tl.width <= TimelineBucket || a.tl.width%TimelineBucket != 0 {
		t.Errorf("an hour: %d buckets of %s, want at most %d of a multiple of %s", n, a.tl.width, MaxTimelineBuckets, TimelineBucket)
	}
	if span := time.Duration(len(a.tl.buckets)) * a.tl.width; span < time.Hour {
		t.Errorf("the buckets cover %s, want the hour", span)
	}
	// late completions land in the last bucket; more pids than a bucket
	// keeps set MorePids
	a = New()
	a.EnableTimeline(time.Now(), 200*time.Millisecond)
	for pid := 1; pid <= TimelinePids+1; pid++ {
		a.AddSample(sample(time.Hour, 200, "", pid, time.Millisecond))
	}
	tl := a.Timeline()
	last := tl.Buckets[len(tl.Buckets)-1]
	if len(tl.Buckets) != 4 || last.OK != TimelinePids+1 || !last.MorePids || len(last.Pids) != TimelinePids {
		t.Errorf("%d buckets, last %+v; want 4, the last with every sample and MorePids", len(tl.Buckets), last)
	}
}

func TestTimelineVegeta(t *testing.T) {
	start := time.Unix(1000, 0)
	a := New()
	a.EnableTimeline(start, time.Second)
	a.Add(&vegeta.Result{Code: 200, Timestamp: start.Add(290 * time.Millisecond), Latency: 20 * time.Millisecond,
		Headers: hdr(HeaderWorkerPid, "77")})
	tl := a.Timeline()
	if len(tl.Buckets) != 4 || tl.Buckets[3].OK != 1 || !reflect.DeepEqual(tl.Buckets[3].Pids, []int{77}) {
		t.Errorf("timeline %+v, want the result completed at 310ms in bucket 3", tl)
	}
}

func TestAddSampleTimelineDoesNotAllocate(t *testing.T) {
	a := New()
	a.EnableTimeline(time.Now(), 10*time.Second)
	ok := sample(time.Second, 200, "", 4242, time.Millisecond)
	bad := sample(2*time.Second, 0, "connection reset mid-response", 0, time.Millisecond)
	a.AddSample(ok)
	a.AddSample(bad)
	if n := testing.AllocsPerRun(1000, func() { a.AddSample(ok); a.AddSample(bad) }); n != 0 {
		t.Errorf("AddSample with a timeline allocates %v times per call, want 0", n)
	}
}

// BenchmarkAddSample and BenchmarkAddSampleTimeline give the timeline's
// cost per request as a ratio.
func BenchmarkAddSample(b *testing.B) {
	a := New()
	s := sample(time.Second, 200, "", 4242, 800*time.Microsecond)
	b.ReportAllocs()
	for b.Loop() {
		a.AddSample(s)
	}
}

func BenchmarkAddSampleTimeline(b *testing.B) {
	a := New()
	a.EnableTimeline(time.Now(), 10*time.Second)
	s := sample(time.Second, 200, "", 4242, 800*time.Microsecond)
	b.ReportAllocs()
	for b.Loop() {
		a.AddSample(s)
	}
}
