package gate

import (
	"bytes"
	"html"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/bench/report"
)

// The wording of what would decide a noisy metric, from hand-set
// intervals (the trial counts worked out by hand in the comments, from
// z(0.975) = 1.960, z(0.99) = 2.326, z(0.8) = 0.842).
func TestNoisyToDecideWording(t *testing.T) {
	cpu, thr := def(t, CPU), def(t, Throughput)
	ten := make([]float64, 10)
	twenty := make([]float64, 20)
	tests := []struct {
		name                    string
		def                     Def
		base, head              []float64
		ratio, lo, hi, p, pBetr float64
		k                       int
		want                    string
	}{
		{
			// Median beyond the threshold, not significant: the lower
			// half-width 11% at 95%, taken to the one-sided 1% level with
			// 80% power, is 0.11·(2.326+0.842)/1.960 = 0.178; it must
			// shrink to 0.08: 10·(0.178/0.08)² = 49.4 → 50.
			name: "worse beyond the threshold, not significant", def: cpu, base: ten, head: ten,
			ratio: 1.08, lo: 0.97, hi: 1.14, p: 0.03, pBetr: 0.97, k: 1,
			want: "worse by 8% (95% CI of the change -3% … +14%), beyond the 5% threshold, but not significant (p=0.03 > α=0.01): " +
				"may be a regression; more trials (about 50 per side, ran 10+10; a rough estimate from the spread, for an 80% chance) " +
				"or a quieter machine would decide it",
		},
		{
			// The same over K=3: Holm's first step tests at 1%/3
			// (z=2.713): 62.2 → 63.
			name: "Holm's stricter level asks for more", def: cpu, base: ten, head: ten,
			ratio: 1.08, lo: 0.97, hi: 1.14, p: 0.03, pBetr: 0.97, k: 3,
			want: "about 63 per side",
		},
		{
			// Median within, interval past the threshold: the upper
			// half-width 9% with 80% power is 0.09·(1.960+0.842)/1.960 =
			// 0.129; it must shrink to 0.05: 10·(0.129/0.05)² = 66.2 → 67.
			name: "interval past the threshold", def: cpu, base: ten, head: ten,
			ratio: 1, lo: 0.97, hi: 1.09, p: 0.5, pBetr: 0.5, k: 1,
			want: "the 95% CI of the change -3% … +9% reaches past the +5% threshold; more trials (about 67 per side, ran 10+10; " +
				"a rough estimate from the spread, for an 80% chance) or a quieter machine would decide it",
		},
		{
			// Higher is better: the worse side is the lower end, and the
			// threshold is a loss of 5%.
			name: "higher is better", def: thr, base: ten, head: ten,
			ratio: 1, lo: 0.91, hi: 1.03, p: 0.5, pBetr: 0.5, k: 1,
			want: "the 95% CI of the change -9% … +3% reaches past the -5% threshold; more trials (about 67 per side, ran 10+10;",
		},
		{
			// Unequal arms count as their harmonic mean, 13.3: 88.3 → 89.
			name: "unequal arms", def: cpu, base: ten, head: twenty,
			ratio: 1, lo: 0.97, hi: 1.09, p: 0.5, pBetr: 0.5, k: 1,
			want: "about 89 per side, ran 10+20",
		},
		{
			// 0.064 to shrink to 0.005: 1655 per side; to 0.05 it would
			// take 17, so the nearness of the threshold is what limits.
			name: "median near the threshold", def: cpu, base: ten, head: ten,
			ratio: 1.045, lo: 1.0, hi: 1.09, p: 0.02, pBetr: 0.98, k: 1,
			want: "the 95% CI of the change 0% … +9% reaches past the +5% threshold; more trials hardly help " +
				"(a rough estimate from the spread: over 100 per side, ran 10+10): the change, +4.5%, lies so near the +5% threshold " +
				"that only a much narrower interval (a quieter machine) could tell which side it is on",
		},
		{
			// 0.43 to shrink to 0.05: 736 per side.
			name: "spread too large", def: cpu, base: ten, head: ten,
			ratio: 1, lo: 0.8, hi: 1.3, p: 0.5, pBetr: 0.5, k: 1,
			want: "the 95% CI of the change -20% … +30% reaches past the +5% threshold; more trials hardly help " +
				"(a rough estimate from the spread: over 100 per side, ran 10+10): the spread is too large, a quieter machine would decide it",
		},
		{
			name: "no width to estimate from", def: cpu, base: ten, head: ten,
			ratio: 1.08, lo: 1.08, hi: 1.08, p: 0.03, pBetr: 0.97, k: 1,
			want: "may be a regression; no estimate of the trials needed (the interval has no finite width on that side: " +
				"too few distinct values, or a median of 0): more trials or a quieter machine",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{Metric: Metric{Def: tt.def, Base: tt.base, Head: tt.head}, Ratio: tt.ratio, RatioLo: tt.lo, RatioHi: tt.hi,
				P: tt.p, PAdj: tt.p, PBetter: tt.pBetr, PBetterAdj: tt.pBetr}
			got := noisyToDecide(r, tt.k, Options{}.withDefaults())
			if !strings.Contains(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Every inconclusive metric says what would decide it; no other does.
func TestToDecideByCause(t *testing.T) {
	cpu := def(t, CPU)
	tests := []struct {
		name   string
		m      Metric
		others int // extra unchanged metrics in the Holm family
		want   string
	}{
		{
			name: "too few samples",
			m:    Metric{Def: cpu, Base: []float64{100, 101, 99}, Head: []float64{150, 151, 149}},
			want: "needs ≥ 5 valid trials per side; ran 3+3. Below that no outcome can reach α=0.01 (Holm, K=1); a noisy metric needs more",
		},
		{
			name:   "too few samples for Holm over 3",
			m:      Metric{Def: cpu, Base: noisy(13, 5, 100, 0.01), Head: noisy(14, 5, 150, 0.01)},
			others: 2,
			want:   "needs ≥ 6 valid trials per side; ran 5+5. Below that no outcome can reach α=0.01 (Holm, K=3)",
		},
		{
			name: "head lost more trials",
			m:    Metric{Def: cpu, Base: noisy(20, 10, 100, 0.01), Head: noisy(21, 7, 100, 0.01), HeadFailed: 3},
			want: "head trials that do not fail: 3 of 10 head trials gave no valid value, against 0 of 10 base trials; " +
				"find why (a crash, errors, under 95% successes) and run again",
		},
		{
			name: "not measured",
			m:    Metric{Def: cpu, Base: make([]float64, 8), Head: make([]float64, 8)},
			want: zeroToDecide,
		},
		{
			name: "noisy",
			m:    Metric{Def: cpu, Base: noisy(18, 10, 100, 0.15), Head: noisy(19, 10, 104, 0.15)},
			want: "reaches past the +5% threshold; more trials",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluateAmong(t, tt.m, tt.others)
			if r.Verdict != Inconclusive {
				t.Fatalf("verdict %v (%s), want inconclusive", r.Verdict, r.Reason)
			}
			if !strings.Contains(r.ToDecide, tt.want) {
				t.Errorf("to decide:\n got  %s\n want %s", r.ToDecide, tt.want)
			}
		})
	}
	rep, _ := fixture(t)
	for _, r := range rep.Results {
		if (r.Verdict == Inconclusive) != (r.ToDecide != "") {
			t.Errorf("%s: %v with ToDecide %q", r.Label, r.Verdict, r.ToDecide)
		}
	}
}

func TestTrialsFor(t *testing.T) {
	o := Options{}.withDefaults()
	for _, c := range []struct {
		nb, nh, k   int
		width, room float64
		want        int
		ok          bool
	}{
		{10, 10, 1, 0.2, 0.1, 40, true},      // 10·2² = 40
		{10, 10, 1, 0.2, 0.2, 11, true},      // 10 is what ran: at least one more
		{3, 3, 3, 0.1, 0.2, 6, true},         // the floor for α=0.01 over K=3
		{10, 30, 1, 0.2, 0.1, 60, true},      // harmonic mean 15 · 4
		{10, 10, 1, 0.2, 0.0625, 0, false},   // 102.4 → 103 > 100
		{10, 10, 1, 0.2, 0, 0, false},        // no room: never narrow enough
		{10, 10, 1, 0.2, -0.01, 0, false},    // (a median past the threshold)
		{100, 100, 1, 0.1, 0.1, 101, true},   // ran 100 already: the estimate (100) is not past the limit
		{10, 10, 1, 1e300, 1e-300, 0, false}, // overflows to +Inf
	} {
		n, ok := trialsFor(c.nb, c.nh, c.k, o, c.width, c.room)
		if n != c.want || ok != c.ok {
			t.Errorf("trialsFor(%d, %d, K=%d, %g, %g) = %d, %v; want %d, %v", c.nb, c.nh, c.k, c.width, c.room, n, ok, c.want, c.ok)
		}
	}
}

// The estimate is honest in the way it claims: where it advises N trials
// per side, fresh gates of N trials per side from the same distributions
// decide most of the time (it aims at 80%). Deterministic: fixed seeds.
func TestAdvisedTrialsDecide(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates a few hundred gates")
	}
	about := regexp.MustCompile(`about (\d+) per side`)
	cpu := def(t, CPU)
	for _, c := range []struct {
		name         string
		sigma, shift float64
	}{{"unchanged, 5% noise", 0.05, 0}, {"8% worse, 8% noise", 0.08, 0.08}} {
		t.Run(c.name, func(t *testing.T) {
			var advised []int
			for seed := uint64(0); seed < 60 && len(advised) < 15; seed++ {
				m := Metric{Def: cpu, Base: noisy(1000+2*seed, 10, 100, c.sigma), Head: noisy(1001+2*seed, 10, 100*(1+c.shift), c.sigma)}
				rep, err := Evaluate([]Metric{m}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if sub := about.FindStringSubmatch(rep.Results[0].ToDecide); sub != nil {
					n, _ := strconv.Atoi(sub[1])
					advised = append(advised, n)
				}
			}
			if len(advised) < 5 {
				t.Fatalf("only %d gates with advice", len(advised))
			}
			slices.Sort(advised)
			n := advised[len(advised)/2]
			decided := 0
			const gates = 40
			for seed := range uint64(gates) {
				m := Metric{Def: cpu, Base: noisy(5000+2*seed, n, 100, c.sigma), Head: noisy(5001+2*seed, n, 100*(1+c.shift), c.sigma)}
				rep, _ := Evaluate([]Metric{m}, Options{})
				if rep.Results[0].Verdict != Inconclusive {
					decided++
				}
			}
			t.Logf("median advice %d per side (of %v): %d of %d fresh gates decided", n, advised, decided, gates)
			if decided < gates*6/10 {
				t.Errorf("with the %d trials per side advised, only %d of %d gates decided", n, decided, gates)
			}
		})
	}
}

// Every renderer warns about an inconclusive metric and says what would
// decide it; the caller's consequence is said only when the overall
// verdict is inconclusive (a regression decides the exit otherwise).
func TestInconclusiveWarnedEverywhere(t *testing.T) {
	renderers := map[string]func(io.Writer, Report, Labels) error{
		"text": WriteText, "markdown": WriteMarkdown, "junit": WriteJUnit, "annotations": WriteAnnotations, "html": WriteHTML,
	}
	const consequence = "CONSEQUENCE"
	for _, c := range []struct {
		name      string
		mk        func(*testing.T) (Report, Labels)
		sayExitOf bool
	}{{"inconclusive overall", undecided, true}, {"regressed overall", fixture, false}} {
		rep, l := c.mk(t)
		l.OnInconclusive = consequence
		for name, render := range renderers {
			var buf bytes.Buffer
			if err := render(&buf, rep, l); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if name == "html" {
				out = html.UnescapeString(out) // html/template escapes more than html.EscapeString (+ among them)
			}
			for _, r := range rep.Results {
				if r.Verdict == Inconclusive && !strings.Contains(out, xmlish(name, r.ToDecide)) {
					t.Errorf("%s, %s: %s lacks what would decide %s", c.name, name, out, r.Label)
				}
			}
			if name != "annotations" && !strings.Contains(strings.ToLower(out), "inconclusive is not a pass") {
				t.Errorf("%s, %s: no warning:\n%s", c.name, name, out)
			}
			if name != "annotations" && strings.Contains(out, consequence) != c.sayExitOf {
				t.Errorf("%s, %s: consequence said %v, want %v", c.name, name, !c.sayExitOf, c.sayExitOf)
			}
		}
	}
	var buf bytes.Buffer
	rep, l := passing(t)
	if err := WriteText(&buf, rep, l); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "WARNING") {
		t.Errorf("a decided report warns:\n%s", buf.String())
	}
}

// xmlish escapes s as encoding/xml writes it in an attribute, for the
// JUnit renderer.
func xmlish(renderer, s string) string {
	switch renderer {
	case "junit":
		return strings.NewReplacer(">", "&gt;", "<", "&lt;", "&", "&amp;", `"`, "&#34;").Replace(s)
	case "annotations":
		return annotationEscape(s)
	case "markdown":
		return report.MarkdownText(s)
	}
	return s
}
