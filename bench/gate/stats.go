package gate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/aclements/go-moremath/stats"
	mstats "github.com/montanaflynn/stats"

	"github.com/clusterbench/clusterbench/bench/metrics"
)

func ratio(num, den float64) float64 {
	switch {
	case den == 0 && num == 0:
		return 1
	case den == 0:
		return math.Inf(1)
	}
	return num / den
}

// ratioCI is median(head)/median(base) with a percentile-bootstrap
// interval: both arms are resampled with replacement o.Bootstrap times,
// from a PCG seeded with o.Seed, so the interval is reproducible.
func ratioCI(base, head []float64, o Options) (r, lo, hi float64) {
	r = ratio(metrics.Median(head), metrics.Median(base))
	// Resampled from sorted copies: the same seed then gives the same
	// interval whatever order the trials came in.
	b, h := slices.Sorted(slices.Values(base)), slices.Sorted(slices.Values(head))

	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	rb, rh := make([]float64, len(b)), make([]float64, len(h))
	ratios := make([]float64, o.Bootstrap)
	for i := range ratios {
		for j := range rb {
			rb[j] = b[rng.IntN(len(b))]
		}
		for j := range rh {
			rh[j] = h[rng.IntN(len(h))]
		}
		ratios[i] = ratio(metrics.Median(rh), metrics.Median(rb))
	}
	tail := (1 - o.Confidence) / 2
	return r, percentile(ratios, tail), percentile(ratios, 1-tail)
}

// percentile q (0 < q < 1) of xs by linear interpolation between order
// statistics (montanaflynn/stats.Percentile: Hyndman & Fan type 7).
func percentile(xs []float64, q float64) float64 {
	p, _ := mstats.Percentile(xs, 100*q)
	return p
}

// uTest returns the one-sided Mann-Whitney U p-values for "head is worse"
// and "head is better". go-moremath uses the exact distribution (with ties
// up to 25 values per arm) and a normal approximation with tie and
// continuity corrections beyond. When every value is equal the test is
// undefined and both p-values are 1.
//
// Both directions are asked as LocationLess with the arms swapped: with
// ties, go-moremath's exact LocationGreater computes 1 - CDF(U-1) although
// U moves in steps of ½, so it adds P(U = u-½) and overstates p (checked
// against a permutation count in the tests).
func uTest(base, head []float64, better Better) (pWorse, pBetter float64) {
	larger, smaller := oneSidedLess(base, head), oneSidedLess(head, base)
	if better == HigherIsBetter {
		return smaller, larger
	}
	return larger, smaller
}

// oneSidedLess is the p-value of the alternative "x's location is below
// y's" (y is larger); 1 when the test is undefined.
func oneSidedLess(x, y []float64) float64 {
	res, err := stats.MannWhitneyUTest(slices.Clone(x), slices.Clone(y), stats.LocationLess)
	if err != nil {
		return 1
	}
	return res.P
}

// minUTestP is the smallest one-sided p-value the exact U test can give
// with n1 and n2 values and no ties: 1 / C(n1+n2, n1).
func minUTestP(n1, n2 int) float64 {
	// log C(n1+n2, n1) by lgamma, exact enough for a floor.
	a, _ := math.Lgamma(float64(n1 + n2 + 1))
	b, _ := math.Lgamma(float64(n1 + 1))
	c, _ := math.Lgamma(float64(n2 + 1))
	return math.Exp(-(a - b - c))
}

// neededPerArm is the smallest equal number of values per arm with which
// the most extreme outcome passes Holm's first step, alpha/k.
func neededPerArm(k int, alpha float64) int {
	for n := 1; n < 1000; n++ {
		if float64(k)*minUTestP(n, n) <= alpha {
			return n
		}
	}
	return 1000
}

// holm returns Holm's step-down adjusted p-values, in the input order:
// with p sorted ascending, adj(i) = max over j ≤ i of min(1, (K-j)·p(j))
// (0-based). Rejecting adj ≤ alpha is exactly Holm's procedure at alpha.
func holm(ps []float64) []float64 {
	k := len(ps)
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case ps[a] < ps[b]:
			return -1
		case ps[a] > ps[b]:
			return 1
		}
		return 0
	})
	adj := make([]float64, k)
	run := 0.0
	for j, i := range idx {
		v := min(1, float64(k-j)*ps[i])
		run = max(run, v)
		adj[i] = run
	}
	return adj
}

// formatP prints a p-value with the digits that matter.
func formatP(p float64) string {
	switch {
	case p >= 0.01:
		return strconv.FormatFloat(p, 'f', 2, 64)
	case p >= 0.0001:
		return strconv.FormatFloat(p, 'f', 4, 64)
	}
	return strconv.FormatFloat(p, 'e', 1, 64)
}

// formatPct prints a fraction as a percentage: 0.05 → "5%", 0.1234 → "12.3%".
func formatPct(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "∞%"
	}
	s := strconv.FormatFloat(f*100, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s + "%"
}

// formatSignedPct is formatPct with an explicit sign.
func formatSignedPct(f float64) string {
	s := formatPct(f)
	if !strings.HasPrefix(s, "-") && s != "0%" {
		s = "+" + s
	}
	return s
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
