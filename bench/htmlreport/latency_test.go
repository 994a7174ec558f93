package htmlreport

import (
	"math"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

// TestSpectrum checks a spectrum line against the distribution it was
// drawn from: 100 000 latencies uniform on 1µs..100ms put the value at x
// nines (percentile 100·(1 − 10^−x)) at 100ms·(1 − 10^−x), to the
// histogram's 3 significant digits; the line stops at 5 nines, which
// 100 000 values reach.
func TestSpectrum(t *testing.T) {
	h := metrics.NewLatencyHistogram()
	const n = 100_000
	for i := 1; i <= n; i++ {
		if err := h.RecordValue(int64(i) * int64(time.Millisecond) / 1000); err != nil {
			t.Fatal(err)
		}
	}
	xys := spectrum(h)
	if last := xys[len(xys)-1].X; math.Abs(last-maxNines) > 1e-9 {
		t.Errorf("line ends at x=%v, want %v", last, maxNines)
	}
	checked := 0
	for _, pt := range xys {
		if math.Abs(pt.X-math.Round(pt.X)) > 1e-9 || pt.X > 4 {
			continue
		}
		want := 100 * (1 - math.Pow(10, -pt.X))
		if pt.X == 0 {
			want = 0.001 // the smallest value recorded
		}
		if d := math.Abs(pt.Y-want) / want; d > 0.002 {
			t.Errorf("at x=%v: %v ms, want %v ms ± 0.2%%", pt.X, pt.Y, want)
		}
		checked++
	}
	if checked != 5 {
		t.Errorf("checked %d points, want 5 (x = 0..4)", checked)
	}
}

// TestSpectrumShortTail: with 50 values the tail holds less than one
// value beyond log10(50) ≈ 1.7 nines; the line stops there.
func TestSpectrumShortTail(t *testing.T) {
	h := metrics.NewLatencyHistogram()
	for i := 1; i <= 50; i++ {
		if err := h.RecordValue(int64(i) * int64(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	xys := spectrum(h)
	if last := xys[len(xys)-1].X; last > math.Log10(50) || last < math.Log10(50)-ninesStep {
		t.Errorf("line ends at x=%v, want the last step at or below log10(50)=%.3f", last, math.Log10(50))
	}
	if got := xys[len(xys)-1].Y; got > 50.1 {
		t.Errorf("last point %v ms is above the largest value, 50 ms", got)
	}
}
