package gate

import (
	"fmt"
	"math"

	"github.com/aclements/go-moremath/stats"
)

// What would decide an inconclusive metric. Each cause of Inconclusive
// (decideSamples, decide) has its own answer, computed from the data:
//
//   - too few samples: the trials per side below which no outcome can
//     reach alpha after Holm's correction (exact, from the U test's
//     smallest p);
//   - too noisy: how many trials per side the spread seen would call for
//     (an estimate, below), or, past what is practical, that the noise or
//     the nearness of the threshold is what stands in the way;
//   - head lost more trials than base: why head trials fail;
//   - zero in every trial: a measurement, not more trials.

// practicalTrials is the most trials per side the advice proposes: beyond
// it (and clusterbench ab runs at most 100 pairs) more trials are not a
// remedy, a quieter machine is.
const practicalTrials = 100

// zPower is the standard normal quantile of the chance the advice aims
// at: with the trials it proposes, a change as large as the one seen is
// decided about 80% of the time (the usual power of a sample-size
// estimate), not half of the time.
var zPower = stats.StdNormal.InvCDF(0.8)

// zeroToDecide is what would decide a metric that read 0 everywhere.
const zeroToDecide = "a measurement: the metric is 0 in every trial of both arms, so no number of trials can decide it; check how it is read"

// tooFewToDecide is what would decide a metric with too few samples for
// the test to ever reach alpha over k metrics.
func tooFewToDecide(nb, nh, k int, o Options) string {
	return fmt.Sprintf("needs ≥ %d valid trials per side; ran %d+%d. Below that no outcome can reach α=%s (Holm, K=%d); "+
		"a noisy metric needs more", neededPerArm(k, o.Alpha), nb, nh, formatFloat(o.Alpha), k)
}

// lostTrialsToDecide is what would decide a metric whose head lost more
// trials than its base.
func lostTrialsToDecide(m Metric) string {
	return fmt.Sprintf("head trials that do not fail: %d of %d head trials gave no valid value, against %d of %d base trials; "+
		"find why (a crash, errors, under %s successes) and run again",
		m.HeadFailed, m.HeadFailed+len(m.Head), m.BaseFailed, m.BaseFailed+len(m.Base), formatPct(MinSuccessRatio))
}

// noisyToDecide is what would decide a metric whose change is not
// significant while its interval reaches past the threshold on the worse
// side. The estimate of the trials needed is a textbook sample-size
// estimate on the interval printed: its half-width h (seen with nb and
// nh trials; z the normal quantile of its level) narrows as
// √(1/nb + 1/nh), and the medians are taken to stay where they are.
//
//   - The median is worse beyond the threshold (w): it may be a
//     regression, decided once the one-sided test at α/K (Holm's
//     strictest step, zα) rejects, roughly once the lower side of the
//     interval at that level clears 0: h·(zα+zβ)/z must shrink to w.
//   - The median is within the threshold: decided once the worse side of
//     the interval falls inside the threshold: h·(z+zβ)/z must shrink to
//     threshold − w.
//
// zβ (zPower) asks for an 80% chance of deciding rather than a coin toss.
func noisyToDecide(r Result, k int, o Options) string {
	best, worst := r.worseInterval()
	w := r.Worsening()
	th := o.Threshold + thresholdSlack
	zCI := stats.StdNormal.InvCDF(1 - (1-o.Confidence)/2)
	ci := fmt.Sprintf("%s CI of the change %s … %s", formatPct(o.Confidence), formatSignedPct(r.RatioLo-1), formatSignedPct(r.RatioHi-1))
	signedTh := formatSignedPct(float64(-r.Better) * o.Threshold)
	var head string
	var width, room float64 // the half-width that must shrink, and to what
	near := false           // the spread would do, were the median not so near the threshold
	if w > th {
		zTest := stats.StdNormal.InvCDF(1 - o.Alpha/float64(k))
		head = fmt.Sprintf("worse by %s (%s), beyond the %s threshold, but not significant (p=%s > α=%s): may be a regression",
			formatPct(w), ci, formatPct(o.Threshold), formatP(r.PAdj), formatFloat(o.Alpha))
		width, room = (w-best)*(zTest+zPower)/zCI, w
	} else {
		head = fmt.Sprintf("the %s reaches past the %s threshold", ci, signedTh)
		width, room = (worst-w)*(zCI+zPower)/zCI, th-w
		_, near = trialsFor(len(r.Base), len(r.Head), k, o, width, o.Threshold)
		near = near && w > 0
	}
	nb, nh := len(r.Base), len(r.Head)
	n, ok := trialsFor(nb, nh, k, o, width, room)
	hardly := fmt.Sprintf("more trials hardly help (a rough estimate from the spread: over %d per side, ran %d+%d)", practicalTrials, nb, nh)
	switch {
	case math.IsNaN(width) || math.IsInf(width, 0) || width <= 0:
		return head + "; no estimate of the trials needed (the interval has no finite width on that side: " +
			"too few distinct values, or a median of 0): more trials or a quieter machine"
	case ok:
		return fmt.Sprintf("%s; more trials (about %d per side, ran %d+%d; a rough estimate from the spread, for an 80%% chance) "+
			"or a quieter machine would decide it", head, n, nb, nh)
	case near:
		return fmt.Sprintf("%s; %s: the change, %s, lies so near the %s threshold that only a much narrower interval "+
			"(a quieter machine) could tell which side it is on", head, hardly, formatSignedPct(r.Delta()), signedTh)
	}
	return fmt.Sprintf("%s; %s: the spread is too large, a quieter machine would decide it", head, hardly)
}

// trialsFor is the number of trials per side with which a half-width of
// width, seen with nb and nh samples, narrows to room, assuming it
// scales as √(1/nb + 1/nh); at least one more than either side ran and
// the floor for alpha over k metrics. ok is false beyond practicalTrials
// (or when room ≤ 0: no width is narrow enough).
func trialsFor(nb, nh, k int, o Options, width, room float64) (n int, ok bool) {
	if room <= 0 {
		return 0, false
	}
	// Equal arms of n each have 1/n + 1/n = 2/n; nEff is the n with the
	// same spread as nb+nh (their harmonic mean).
	nEff := 2 / (1/float64(nb) + 1/float64(nh))
	est := math.Ceil(nEff * (width / room) * (width / room))
	if !(est <= practicalTrials) { // also NaN
		return 0, false
	}
	return max(int(est), max(nb, nh)+1, neededPerArm(k, o.Alpha)), true
}

// toDecide is r's ToDecide, or its reason when it has none.
func (r Result) toDecide() string {
	if r.ToDecide != "" {
		return r.ToDecide
	}
	return r.Reason
}

// inconclusiveWarning is the sentence every renderer prints, as a
// warning, when some metric is inconclusive; "" when none is. It says
// that a regression is not ruled out and, when the overall verdict is
// Inconclusive, what the caller does about it (Labels.OnInconclusive).
func inconclusiveWarning(rep Report, l Labels) string {
	n := rep.Count(Inconclusive)
	if n == 0 {
		return ""
	}
	them := "them"
	if n == 1 {
		them = "it"
	}
	s := fmt.Sprintf("inconclusive is not a pass: %d of %d metrics could not be decided, and a regression in %s is not ruled out",
		n, len(rep.Results), them)
	if rep.Verdict() == Inconclusive && l.OnInconclusive != "" {
		s += "; " + l.OnInconclusive
	}
	return s
}

// inconclusiveWarnings are the warnings of the text and HTML forms:
// inconclusiveWarning, then per inconclusive metric what would decide it;
// none when no metric is inconclusive.
func inconclusiveWarnings(rep Report, l Labels) []string {
	warn := inconclusiveWarning(rep, l)
	if warn == "" {
		return nil
	}
	ws := []string{warn}
	for _, r := range rep.Results {
		if r.Verdict == Inconclusive {
			ws = append(ws, fmt.Sprintf("%s inconclusive: %s", r.RowLabel(), r.toDecide()))
		}
	}
	return ws
}
