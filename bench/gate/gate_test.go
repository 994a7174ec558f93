package gate

import (
	"math"
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
			ms := []Metric{tt.m}
			for i := range tt.others {
				ms = append(ms, Metric{Def: def(t, P99), Base: noisy(uint64(100+i), len(tt.m.Base), 10, 0.01), Head: noisy(uint64(200+i), len(tt.m.Base), 10, 0.01)})
			}
			rep, err := Evaluate(ms, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Results[0]
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
	got := holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("holm = %v, want %v", got, want)
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
