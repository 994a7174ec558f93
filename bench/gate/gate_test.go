package gate

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// noisy returns n values around center with multiplicative Gaussian noise
// of relative size sigma, from a fixed seed (deterministic).
func noisy(seed uint64, n int, center, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = center * (1 + sigma*rng.NormFloat64())
	}
	return xs
}

func def(t *testing.T, name string) Def {
	t.Helper()
	d, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEvaluateVerdicts(t *testing.T) {
	cpu, thr := def(t, CPU), def(t, Throughput)
	tests := []struct {
		name    string
		m       Metric
		others  int // extra unchanged metrics in the Holm family
		want    Verdict
		reasons []string // substrings the reason must contain
	}{
		{
			name: "clear regression lower-is-better",
			m:    Metric{Def: cpu, Base: noisy(1, 10, 100, 0.01), Head: noisy(2, 10, 110, 0.01)},
			want: Regressed, reasons: []string{"worse by", "beyond the 5% threshold"},
		},
		{
			name: "clear regression higher-is-better",
			m:    Metric{Def: thr, Base: noisy(3, 10, 1000, 0.01), Head: noisy(4, 10, 880, 0.01)},
			want: Regressed, reasons: []string{"worse by 1"},
		},
		{
			name: "throughput rise is an improvement",
			m:    Metric{Def: thr, Base: noisy(5, 10, 1000, 0.01), Head: noisy(6, 10, 1150, 0.01)},
			want: Improved, reasons: []string{"better by"},
		},
		{
			name: "cpu drop is an improvement",
			m:    Metric{Def: cpu, Base: noisy(7, 10, 100, 0.01), Head: noisy(8, 10, 80, 0.01)},
			want: Improved,
		},
		{
			name: "A/A same distribution",
			m:    Metric{Def: cpu, Base: noisy(9, 10, 100, 0.01), Head: noisy(10, 10, 100, 0.01)},
			want: NoChange, reasons: []string{"no significant change"},
		},
		{
			name: "significant but within threshold",
			m:    Metric{Def: cpu, Base: noisy(11, 10, 100, 0.002), Head: noisy(12, 10, 102, 0.002)},
			want: NoChange, reasons: []string{"significant but within the 5% threshold"},
		},
		{
			name: "too few samples says how many",
			m:    Metric{Def: cpu, Base: []float64{100, 101, 99}, Head: []float64{150, 151, 149}},
			want: Inconclusive, reasons: []string{"too few samples", "n=3+3", "need ≥ 5 valid trials per arm"},
		},
		{
			name:   "too few samples for Holm over 3",
			m:      Metric{Def: cpu, Base: noisy(13, 5, 100, 0.01), Head: noisy(14, 5, 150, 0.01)},
			others: 2,
			want:   Inconclusive, reasons: []string{"K=3", "need ≥ 6 valid trials per arm"},
		},
		{
			name: "zero variance identical",
			m:    Metric{Def: cpu, Base: []float64{5, 5, 5, 5, 5, 5}, Head: []float64{5, 5, 5, 5, 5, 5}},
			want: NoChange, reasons: []string{"identical", "zero variance"},
		},
		{
			name: "zero variance in each arm but different",
			m:    Metric{Def: cpu, Base: []float64{5, 5, 5, 5, 5, 5}, Head: []float64{6, 6, 6, 6, 6, 6}},
			want: Regressed, reasons: []string{"worse by 20%"},
		},
		{
			name: "all zeros was not measured",
			m:    Metric{Def: cpu, Base: make([]float64, 8), Head: make([]float64, 8)},
			want: Inconclusive, reasons: []string{"not measured"},
		},
		{
			name: "ties (quantized values) still detect a shift",
			m: Metric{Def: def(t, P50),
				Base: []float64{1, 1, 1, 1.1, 1, 1, 1.1, 1, 1, 1},
				Head: []float64{1.2, 1.2, 1.3, 1.2, 1.2, 1.2, 1.3, 1.2, 1.2, 1.2}},
			want: Regressed,
		},
		{
			name: "ties across arms not significant",
			m: Metric{Def: def(t, P50),
				Base: []float64{1, 1, 1, 1.1, 1, 1, 1.1, 1, 1, 1},
				Head: []float64{1, 1, 1.1, 1, 1, 1, 1, 1.1, 1, 1}},
			want: NoChange,
		},
		{
			name: "every head trial failed",
			m:    Metric{Def: cpu, Base: noisy(15, 10, 100, 0.01), HeadFailed: 10},
			want: Failed, reasons: []string{"every head trial failed (10 of 10)"},
		},
		{
			name: "every trial failed on both sides",
			m:    Metric{Def: cpu, BaseFailed: 4, HeadFailed: 4},
			want: Failed, reasons: []string{"every base trial failed", "every head trial failed"},
		},
		{
			name: "some trials failed are left out and said",
			m:    Metric{Def: cpu, Base: noisy(16, 9, 100, 0.01), Head: noisy(17, 10, 111, 0.01), BaseFailed: 1},
			want: Regressed, reasons: []string{"failed trials left out: 1 base, 0 head"},
		},
		{
			name: "noisy: not significant but cannot rule out a regression",
			m:    Metric{Def: cpu, Base: noisy(18, 10, 100, 0.15), Head: noisy(19, 10, 104, 0.15)},
			want: Inconclusive, reasons: []string{"too noisy to rule out a regression"},
		},
		{
			name: "head lost more trials than base is not a pass",
			m:    Metric{Def: cpu, Base: noisy(20, 10, 100, 0.01), Head: noisy(21, 7, 100, 0.01), HeadFailed: 3},
			want: Inconclusive, reasons: []string{"head lost more trials than base (3 vs 0 failed)", "no change"},
		},
		{
			name: "head that improves while losing trials is not an improvement",
			m:    Metric{Def: cpu, Base: noisy(22, 10, 100, 0.01), Head: noisy(23, 8, 80, 0.01), HeadFailed: 2},
			want: Inconclusive, reasons: []string{"head lost more trials", "improvement"},
		},
		{
			name: "base losing trials does not block a pass",
			m:    Metric{Def: cpu, Base: noisy(24, 8, 100, 0.01), Head: noisy(25, 10, 100, 0.01), BaseFailed: 2},
			want: NoChange, reasons: []string{"failed trials left out: 2 base, 0 head"},
		},
		{
			// U=3 with 6+6 values: one-sided p = 7/924 = 0.0076 ≤ 0.01
			// alone, 0.023 after Holm over three metrics.
			name:   "Holm demotes a marginal p",
			m:      Metric{Def: cpu, Base: []float64{100, 101, 102, 103, 104, 112}, Head: []float64{109, 110, 111, 115, 116, 117}},
			others: 2,
			want:   Inconclusive, reasons: []string{"not significant (p=0.02)"},
		},
		{
			name: "the same marginal p alone is a regression",
			m:    Metric{Def: cpu, Base: []float64{100, 101, 102, 103, 104, 112}, Head: []float64{109, 110, 111, 115, 116, 117}},
			want: Regressed, reasons: []string{"p=0.0076"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluateAmong(t, tt.m, tt.others)
			if r.Verdict != tt.want {
				t.Errorf("verdict %v, want %v (reason: %s; p=%g padj=%g ratio=%g [%g, %g])", r.Verdict, tt.want, r.Reason, r.P, r.PAdj, r.Ratio, r.RatioLo, r.RatioHi)
			}
			for _, s := range tt.reasons {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q lacks %q", r.Reason, s)
				}
			}
			if r.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

func TestHolm(t *testing.T) {
	// By hand: sorted 0.005, 0.01, 0.03, 0.04 get ×4, ×3, ×2, ×1 =
	// 0.02, 0.03, 0.06, 0.04, then the running maximum: 0.02, 0.03, 0.06,
	// 0.06. With ties and a step that would fall below its predecessor
	// (0.004 ×3 = 0.012, 0.004 ×2 = 0.008 → 0.012; 0.03 ×1 = 0.03), and a
	// single p (unchanged).
	for _, c := range []struct{ ps, want []float64 }{
		{[]float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		{[]float64{0.03, 0.004, 0.004}, []float64{0.03, 0.012, 0.012}},
		{[]float64{0.007}, []float64{0.007}},
	} {
		got := holm(c.ps)
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Fatalf("holm(%v) = %v, want %v", c.ps, got, c.want)
			}
		}
	}
	if got := holm([]float64{0.6, 0.9}); got[0] != 1 || got[1] != 1 {
		t.Errorf("holm caps at 1: %v", got)
	}
}

func TestMinUTestP(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		want   float64
	}{{3, 3, 1.0 / 20}, {4, 4, 1.0 / 70}, {5, 5, 1.0 / 252}, {6, 6, 1.0 / 924}, {5, 6, 1.0 / 462}} {
		if got := minUTestP(c.n1, c.n2); math.Abs(got-c.want)/c.want > 1e-9 {
			t.Errorf("minUTestP(%d,%d) = %g, want %g", c.n1, c.n2, got, c.want)
		}
	}
	for _, c := range []struct {
		k     int
		alpha float64
		want  int
	}{{1, 0.05, 3}, {1, 0.01, 5}, {3, 0.01, 6}, {4, 0.01, 6}, {4, 0.001, 8}} {
		if got := neededPerArm(c.k, c.alpha); got != c.want {
			t.Errorf("neededPerArm(%d, %g) = %d, want %d", c.k, c.alpha, got, c.want)
		}
	}
}

// The minimum p of the exact test matches what the library computes for
// complete separation, so the "too few samples" floor is the real one.
func TestMinPMatchesUTest(t *testing.T) {
	for n := 3; n <= 8; n++ {
		base, head := make([]float64, n), make([]float64, n)
		for i := range n {
			base[i], head[i] = float64(i), float64(100+i)
		}
		p, _ := uTest(base, head, LowerIsBetter)
		if math.Abs(p-minUTestP(n, n))/p > 1e-9 {
			t.Errorf("n=%d: U test p %g, floor %g", n, p, minUTestP(n, n))
		}
	}
}

func TestRatioCIDeterministicAndCovers(t *testing.T) {
	b, h := noisy(1, 10, 100, 0.02), noisy(2, 10, 110, 0.02)
	o := Options{}.withDefaults()
	r1, lo1, hi1 := ratioCI(b, h, o)
	r2, lo2, hi2 := ratioCI(b, h, o)
	if r1 != r2 || lo1 != lo2 || hi1 != hi2 {
		t.Fatal("bootstrap not reproducible")
	}
	if !(lo1 <= r1 && r1 <= hi1) || lo1 < 1.0 || hi1 > 1.25 {
		t.Errorf("ratio %g CI [%g, %g] does not look right for a 10%% shift", r1, lo1, hi1)
	}
}

func TestOverallVerdict(t *testing.T) {
	mk := func(vs ...Verdict) Report {
		var r Report
		for _, v := range vs {
			r.Results = append(r.Results, Result{Verdict: v})
		}
		return r
	}
	for _, c := range []struct {
		r    Report
		want Verdict
	}{
		{mk(NoChange, NoChange), NoChange},
		{mk(NoChange, Improved), Improved},
		{mk(Improved, Inconclusive), Inconclusive},
		{mk(Inconclusive, Failed), Failed},
		{mk(Failed, Regressed, Improved), Regressed},
		{mk(), Failed},
	} {
		if got := c.r.Verdict(); got != c.want {
			t.Errorf("%v: got %v, want %v", c.r.Results, got, c.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{Alpha: 0.7}, {Alpha: -1}, {Threshold: 1.5}, {Threshold: -0.1}, {Confidence: 1}, {Bootstrap: 10}} {
		if o.Validate() == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if _, err := Evaluate(nil, Options{}); err == nil {
		t.Error("empty metric list accepted")
	}
}

func TestParseMetrics(t *testing.T) {
	ds, err := ParseMetrics("cpu, p99")
	if err != nil || len(ds) != 2 || ds[0].Name != CPU || ds[1].Name != P99 {
		t.Fatalf("ParseMetrics = %v, %v", ds, err)
	}
	for _, bad := range []string{"", "cpu,cpu", "latency"} {
		if _, err := ParseMetrics(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// permutationP is the exact one-sided p-value of "head is larger than
// base" by brute force: the share of all C(n1+n2, n1) ways to split the
// pooled values into arms whose U statistic (pairs base < head, ties
// counting one half) is at least the observed one.
func permutationP(base, head []float64) float64 {
	pool := append(append([]float64(nil), base...), head...)
	u := func(mask int) float64 {
		s := 0.0
		for i, x := range pool {
			if mask&(1<<i) == 0 {
				continue // i is in head
			}
			for j, y := range pool {
				if mask&(1<<j) != 0 {
					continue
				}
				switch {
				case x < y:
					s++
				case x == y:
					s += 0.5
				}
			}
		}
		return s
	}
	observed := u(1<<len(base) - 1) // the first len(base) pooled values are base
	hits, all := 0, 0
	for mask := range 1 << len(pool) {
		if bits.OnesCount(uint(mask)) != len(base) {
			continue
		}
		all++
		if u(mask) >= observed-1e-9 {
			hits++
		}
	}
	return float64(hits) / float64(all)
}

// The one-sided p-values are exact and point the right way for both
// directions of improvement, ties included: checked against a brute-force
// permutation count on small random samples with many ties.
func TestUTestMatchesPermutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n1, n2 := 3+rng.IntN(5), 3+rng.IntN(5)
		levels := 2 + rng.IntN(6)
		base, head := make([]float64, n1), make([]float64, n2)
		for i := range base {
			base[i] = float64(rng.IntN(levels))
		}
		for i := range head {
			head[i] = float64(rng.IntN(levels) + rng.IntN(2)) // head a little larger
		}
		if identical(base, head) {
			continue
		}
		larger, smaller := permutationP(base, head), permutationP(head, base)
		// Lower is better (CPU, latency): head larger is worse.
		worse, better := uTest(base, head, LowerIsBetter)
		if math.Abs(worse-larger) > 1e-9 || math.Abs(better-smaller) > 1e-9 {
			t.Fatalf("lower-is-better base=%v head=%v: p worse %g better %g, permutation %g %g", base, head, worse, better, larger, smaller)
		}
		// Higher is better (throughput): head smaller is worse.
		worse, better = uTest(base, head, HigherIsBetter)
		if math.Abs(worse-smaller) > 1e-9 || math.Abs(better-larger) > 1e-9 {
			t.Fatalf("higher-is-better base=%v head=%v: p worse %g better %g, permutation %g %g", base, head, worse, better, smaller, larger)
		}
	}
}

// decide never calls a median that worsened beyond the threshold "no
// change", even when the bootstrap interval (which need not contain the
// point estimate) stays inside it; and the p in the reason is the one the
// table prints.
func TestDecideWorseMedianNeverPasses(t *testing.T) {
	m := Metric{Def: def(t, CPU), Base: noisy(1, 10, 100, 0.01), Head: noisy(2, 10, 100, 0.01)}
	r := Result{Metric: m, Ratio: 1.08, RatioLo: 0.99, RatioHi: 1.04, P: 0.2, PAdj: 0.2, PBetter: 0.8, PBetterAdj: 0.8}
	v, why, _ := decide(r, 1, Options{}.withDefaults())
	if v != Inconclusive || !strings.Contains(why, "reaches 8% worse") || !strings.Contains(why, "p=0.20") {
		t.Errorf("verdict %v: %s", v, why)
	}
	// Median better, interval reaching past the threshold on the worse
	// side: the reason cites the p of the direction the median moved.
	r = Result{Metric: m, Ratio: 0.98, RatioLo: 0.9, RatioHi: 1.07, P: 0.84, PAdj: 0.84, PBetter: 0.62, PBetterAdj: 0.62}
	v, why, _ = decide(r, 1, Options{}.withDefaults())
	if v != Inconclusive || !strings.Contains(why, "p="+formatP(r.ShownP())) {
		t.Errorf("verdict %v: %s (table p %s)", v, why, formatP(r.ShownP()))
	}
}

// evaluateAmong evaluates m with others unchanged p99 metrics (same trial
// count) in its Holm family, and returns m's result.
func evaluateAmong(t *testing.T, m Metric, others int) Result {
	t.Helper()
	ms := []Metric{m}
	for i := range others {
		ms = append(ms, Metric{Def: def(t, P99), Base: noisy(uint64(100+i), len(m.Base), 10, 0.01), Head: noisy(uint64(200+i), len(m.Base), 10, 0.01)})
	}
	rep, err := Evaluate(ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Results[0]
}
